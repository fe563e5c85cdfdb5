#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
#   run-selftests.sh [--module PATH_TO_vmm.ko] [--kvm-only] [--timeout S]
#                    [--tests "name ..."] OUTDIR LOGFILE
#
# Build tools/testing/selftests/vmm into OUTDIR/bin, pack the binaries,
# tests.list and vmm.ko into OUTDIR/payload and run them in the QEMU rig
# (rig.sh).  In the guest every test binary runs against /dev/vmm (when the
# module is given and exists, and not --kvm-only) and, when tests.list marks
# it "kvm", against /dev/kvm (Debian's kvm-amd, the reference).  Each
# (binary, device) run is one TAP-ish line "ok N name [dev]" (or "not ok",
# or "ok N name [dev] # SKIP" when the binary exits 4 = KSFT_SKIP), followed
# by the binary's own output indented by four spaces.  The last line of
# stdout is "N passed, N failed, N skipped".  Exit status is nonzero on any
# failed run, a rig failure or a missing summary.
set -euo pipefail

usage() {
	echo "usage: ${0##*/} [--module PATH] [--kvm-only] [--timeout S] [--tests \"name ...\"] OUTDIR LOGFILE" >&2
	exit 2
}

module='' kvm_only=0 timeout=1200 only=''
while (($#)); do
	case $1 in
	--module) module=${2:?}; shift 2 ;;
	--kvm-only) kvm_only=1; shift ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--tests) only=${2:?}; shift 2 ;;
	-*) usage ;;
	*) break ;;
	esac
done
(($# == 2)) || usage
outdir=$(realpath -m "$1")
log=$(realpath -m "$2")

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../../.." && pwd)

make -s -C "$top/tools/testing/selftests/vmm" OUTPUT="$outdir/bin" -j2

payload=$outdir/payload
rm -rf "$payload"
mkdir -p "$payload/bin"
# tests.list, less the tests not selected with --tests
while read -r name mark; do
	[[ -n $name ]] || continue
	if [[ -n $only && " $only " != *" $name "* ]]; then
		continue
	fi
	cp "$outdir/bin/$name" "$payload/bin/"
	echo "$name${mark:+ $mark}" >>"$payload/tests.list"
done <"$outdir/bin/tests.list"
[[ -s $payload/tests.list ]] || { echo "run-selftests: no tests selected" >&2; exit 2; }

if ((!kvm_only)) && [[ -n $module ]]; then
	if [[ -f $module ]]; then
		cp "$module" "$payload/vmm.ko"
	else
		echo "run-selftests: $module does not exist, running the kvm pass only" >&2
	fi
fi

cat >"$payload/run.sh" <<'GUEST'
#!/bin/sh
# Guest side of run-selftests.sh (busybox sh).
cd /payload || exit 1
n=0 pass=0 fail=0 skip=0

result() {	# result STATUS NAME DEV [COMMENT]
	n=$((n + 1))
	case $1 in
	ok) pass=$((pass + 1)); echo "ok $n $2 [$3]" ;;
	skip) skip=$((skip + 1)); echo "ok $n $2 [$3] # SKIP${4:+ $4}" ;;
	*) fail=$((fail + 1)); echo "not ok $n $2 [$3]${4:+ # $4}" ;;
	esac
}

run_one() {	# run_one NAME DEV
	echo "# running $1 [$2]"
	# stream the output, indented; the exit status goes through a file
	{ VMM_DEV=$2 timeout -s KILL 900 ./bin/$1 2>&1; echo $? >/tmp/rc; } |
		sed 's/^/    /'
	rc=$(cat /tmp/rc)
	case $rc in
	0) result ok "$1" "$2" ;;
	4) result skip "$1" "$2" ;;
	*) result fail "$1" "$2" "exit status $rc" ;;
	esac
}

vmm=0
if [ -f vmm.ko ]; then
	if insmod ./vmm.ko && [ -c /dev/vmm ]; then
		vmm=1
	else
		result fail insmod vmm.ko "vmm.ko did not load or no /dev/vmm"
	fi
fi
kvm=0
if /rig/load-kvm.sh; then
	kvm=1
else
	result fail load-kvm.sh /dev/kvm
fi

while read -r name mark; do
	[ -n "$name" ] || continue
	[ $vmm = 1 ] && run_one "$name" /dev/vmm
	[ $kvm = 1 ] && [ "$mark" = kvm ] && run_one "$name" /dev/kvm
done <tests.list

echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ] && [ $n -gt 0 ]
GUEST
chmod +x "$payload/run.sh"

set +e
"$here/rig.sh" --payload "$payload" --log "$log" --timeout "$timeout"
rig_rc=$?
set -e
summary=$("$here/summarize.sh" "$log") || summary=''
rc=0
if ((rig_rc)); then
	echo "run-selftests: rig failed (status $rig_rc)" >&2
	rc=1
fi
if [[ -z $summary ]]; then
	echo "run-selftests: no summary line in $log" >&2
	exit 1
fi
[[ $summary == *" 0 failed,"* ]] || rc=1
echo "$summary"
exit $rc
