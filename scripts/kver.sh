#!/bin/bash
# Print the KVER of the installed Debian amd64 kernel image (not `uname -r`):
# the highest /boot/vmlinuz-*-amd64 that also has /usr/src/linux-headers-$KVER.
set -euo pipefail

best=
for f in /boot/vmlinuz-*-amd64; do
	[[ -e $f ]] || continue
	k=${f#/boot/vmlinuz-}
	[[ -d /usr/src/linux-headers-$k ]] || continue
	best+="$k"$'\n'
done
best=$(printf '%s' "$best" | sort -V | tail -n1)
if [[ -z $best ]]; then
	echo "kver: no /boot/vmlinuz-*-amd64 with matching linux-headers (run scripts/deps.sh)" >&2
	exit 1
fi
echo "$best"
