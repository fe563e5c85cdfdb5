#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build vmm.ko in-tree, as CONFIG_VMM=m in a full Debian linux-source-6.1
# tree with Debian's amd64 config, to prove that Kconfig and Kbuild work
# there as they do out of tree.  The sources are copied to drivers/vmm and
# hooked into drivers/Kconfig and drivers/Makefile, exactly as a kernel
# developer would carry them.
#
#   scripts/intree-build.sh [WORKDIR]	(default build/intree)
#
# The first run extracts the tree and runs modules_prepare (about a minute
# on two cores); later runs only refresh drivers/vmm and rebuild vmm.ko.
# vmlinux is not built, so modpost warns that vmlinux.o is missing and that
# some kernel symbols are undefined: expected, and not a failure here.  Any
# compiler warning in drivers/vmm (W=1) is.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(realpath -m "${1:-$top/build/intree}")
tarball=/usr/src/linux-source-6.1.tar.xz
config=/usr/src/linux-config-6.1/config.amd64_none_amd64.xz
tree=$work/linux-source-6.1
say() { echo "intree: $*" >&2; }

"$top/scripts/deps.sh"
for f in "$tarball" "$config"; do
	[[ -f $f ]] || { say "$f missing (apt-get install linux-source-6.1 linux-config-6.1)"; exit 1; }
done

if [[ ! $tree/.intree-src -nt $tarball ]]; then
	say "extracting $tarball into $work"
	rm -rf "$tree"
	mkdir -p "$work"
	tar -xJf "$tarball" -C "$work"
	touch "$tree/.intree-src"
fi

# the module's sources, as drivers/vmm
rm -rf "$tree/drivers/vmm"
mkdir -p "$tree/drivers/vmm"
(cd "$top" && git ls-files -z -- Kconfig Kbuild virt arch include |
	xargs -0 cp --parents -t "$tree/drivers/vmm")
grep -q 'drivers/vmm/Kconfig' "$tree/drivers/Kconfig" ||
	sed -i '/^endmenu/i source "drivers/vmm/Kconfig"\n' "$tree/drivers/Kconfig"
if ! grep -q 'CONFIG_VMM' "$tree/drivers/Makefile"; then
	# shellcheck disable=SC2016 # a literal make variable
	echo 'obj-$(CONFIG_VMM)		+= vmm/' >>"$tree/drivers/Makefile"
fi

if [[ ! -f $tree/.intree-prepared ]]; then
	say "configuring (Debian amd64 config + CONFIG_VMM=m) and modules_prepare"
	xz -dc "$config" >"$tree/.config"
	# no signing keys or BTF in this throwaway tree
	"$tree/scripts/config" --file "$tree/.config" -m VMM \
		--set-str SYSTEM_TRUSTED_KEYS '' --set-str SYSTEM_REVOCATION_KEYS '' \
		-d DEBUG_INFO_BTF -d MODULE_SIG_ALL
	make -C "$tree" -s olddefconfig
	make -C "$tree" -s -j"$(nproc)" modules_prepare
	touch "$tree/.intree-prepared"
fi
grep -qx 'CONFIG_VMM=m' "$tree/.config" || { say "CONFIG_VMM=m did not stick"; exit 1; }

say "make drivers/vmm/vmm.ko"
rm -f "$tree/drivers/vmm/vmm.ko"
make -C "$tree" -j"$(nproc)" W=1 drivers/vmm/vmm.ko 2>&1 | tee "$work/build.log"
[[ -f $tree/drivers/vmm/vmm.ko ]] || { say "no vmm.ko"; exit 1; }
if grep -E 'warning:|error:' "$work/build.log" | grep -q 'drivers/vmm/'; then
	say "warnings in drivers/vmm (see $work/build.log)"
	exit 1
fi
modinfo "$tree/drivers/vmm/vmm.ko" | grep -E '^(name|vermagic):'
say "ok: $tree/drivers/vmm/vmm.ko"
