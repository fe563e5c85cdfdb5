#!/bin/bash
# Install the Debian packages the project needs, only those that are missing.
# Silent and fast (<1 s) when everything is already there.
set -euo pipefail

pkgs=(qemu-system-x86 linux-image-amd64 linux-headers-amd64 busybox-static cpio
      kmod sparse linux-source-6.1 xz-utils gcc make libc6-dev)

# One dpkg-query call; packages it does not know are simply absent from the output.
installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${pkgs[@]}" 2>/dev/null || true)
missing=()
for p in "${pkgs[@]}"; do
	grep -qx "$p ii *" <<<"$installed" || missing+=("$p")
done
((${#missing[@]})) || exit 0

echo "deps: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
