#!/bin/bash
# Extract the parts of Debian's linux-source-6.1 the project needs into DESTDIR
# (leading "linux-source-6.1/" stripped). Re-extracts only when DESTDIR/.stamp
# is missing or older than the tarball. One tar pass (~1 min: xz reads it all).
set -euo pipefail

dest=${1:?usage: linux-src.sh DESTDIR}
tarball=/usr/src/linux-source-6.1.tar.xz
top=linux-source-6.1

[[ -f $tarball ]] || { echo "linux-src: $tarball missing (run scripts/deps.sh)" >&2; exit 1; }
[[ $dest/.stamp -nt $tarball ]] && exit 0

members=(
	tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest_harness.h
	scripts/checkpatch.pl
	scripts/spelling.txt
	scripts/const_structs.checkpatch
	scripts/extract-vmlinux
	tools/testing/selftests/kvm
	tools/include
	tools/lib
	tools/arch/x86
	tools/scripts
	tools/build
	include/uapi
	arch/x86/include/uapi
)

mkdir -p "$dest"
echo "linux-src: extracting into $dest" >&2
tar -xJf "$tarball" -C "$dest" --strip-components=1 "${members[@]/#/$top/}"
touch "$dest/.stamp"
