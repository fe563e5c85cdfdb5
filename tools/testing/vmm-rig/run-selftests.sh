#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
#   run-selftests.sh [--module PATH_TO_vmm.ko] [--kvm-only] [--timeout S]
#                    [--smp N] [--kvm-smp N] [--tests "name ..."]
#                    OUTDIR LOGFILE
#
# Build tools/testing/selftests/vmm into OUTDIR/bin, pack the binaries,
# tests.list and vmm.ko into OUTDIR/payload and run them in the QEMU rig
# (rig.sh).  Every test binary runs against /dev/vmm (when the module is
# given and exists, and not --kvm-only) and, when tests.list marks it "kvm",
# against /dev/kvm (Debian's kvm-amd, the reference).
#
# Each (binary, device) run is one line "ok N name [dev]" ("not ok ...", or
# "ok N name [dev] # SKIP" when the binary exits 4 = KSFT_SKIP), followed by
# the binary's own output indented by four spaces.  The last line of stdout
# (and of LOGFILE) is "N passed, N failed, N skipped".  The exit status is
# nonzero on any failed run, a rig failure or a missing summary.
#
# Boots: every test runs against /dev/vmm in a boot with --smp N vCPUs
# (default 2).  The tests marked "kvm" run against /dev/vmm and /dev/kvm in
# one boot with --kvm-smp N vCPUs (default 1); when the two numbers are
# equal, that is the same boot, else a second one.  The reason for one vCPU:
# with two, Debian's KVM under QEMU 7.2 TCG (nested SVM) wedges the whole
# rig guest after a random few dozen to few hundred VMRUN-using VMs (no
# console output, no RCU stall report); with one it does not.  vmm does not
# trigger it.  The rig boots with mitigations=off, for speed; the tests
# marked "spec" run against /dev/vmm once more in a boot with
# mitigations=auto, so that vmm's world switch runs with the kernel's
# speculation mitigations patched in (the boot lists what the kernel
# enabled).  LOGFILE is the concatenation of the boots' serial logs
# (LOGFILE.boot1, ...) plus the total summary line.
#
# tests.list: one test a line, its name and marks: "kvm" (also on
# /dev/kvm), "spec" (also in the mitigations boot).
set -euo pipefail

usage() {
	echo "usage: ${0##*/} [--module PATH] [--kvm-only] [--timeout S] [--smp N] [--kvm-smp N] [--tests \"name ...\"] OUTDIR LOGFILE" >&2
	exit 2
}

module='' kvm_only=0 timeout=1200 only='' smp=2 kvm_smp=1
while (($#)); do
	case $1 in
	--module) module=${2:?}; shift 2 ;;
	--kvm-only) kvm_only=1; shift ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--smp) smp=${2:?}; shift 2 ;;
	--kvm-smp) kvm_smp=${2:?}; shift 2 ;;
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
mkdir -p "$payload/bin" "$(dirname "$log")"
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

have_vmm=0
if ((!kvm_only)) && [[ -n $module ]]; then
	if [[ -f $module ]]; then
		cp "$module" "$payload/vmm.ko"
		have_vmm=1
	else
		echo "run-selftests: $module does not exist, running the kvm pass only" >&2
	fi
fi

cat >"$payload/run.sh" <<'GUEST'
#!/bin/sh
# Guest side of run-selftests.sh (busybox sh).  ./config sets $passes
# ("vmm", "kvm" or "vmm kvm"), $vmm_tests ("all", or a mark: only the
# tests with that mark run on /dev/vmm) and $first, the number of the first
# result.
cd /payload || exit 1
. ./config
n=$((first - 1)) pass=0 fail=0 skip=0

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

has_mark() {	# has_mark MARK: is MARK among the current test's marks?
	case " $mark " in *" $1 "*) return 0 ;; esac
	return 1
}

echo "# passes: $passes, $(nproc) CPUs"
if [ "$vmm_tests" = spec ]; then
	for f in /sys/devices/system/cpu/vulnerabilities/*; do
		echo "# ${f##*/}: $(cat "$f")"
	done
fi
vmm=0
case " $passes " in
*" vmm "*)
	if insmod ./vmm.ko && [ -c /dev/vmm ]; then
		vmm=1
	else
		result fail insmod vmm.ko "vmm.ko did not load or no /dev/vmm"
	fi ;;
esac
kvm=0
if /rig/load-kvm.sh; then
	case " $passes " in *" kvm "*) kvm=1 ;; esac
else
	result fail load-kvm.sh /dev/kvm
fi

while read -r name mark; do
	[ -n "$name" ] || continue
	[ $vmm = 1 ] && { [ "$vmm_tests" = all ] || has_mark "$vmm_tests"; } &&
		run_one "$name" /dev/vmm
	[ $kvm = 1 ] && has_mark kvm && run_one "$name" /dev/kvm
done <tests.list

echo "$pass passed, $fail failed, $skip skipped"
[ $fail = 0 ] && [ $n -ge $first ]
GUEST
chmod +x "$payload/run.sh"

# boot plan: "PASSES SMP VMM_TESTS [KERNEL_PARAMS]" per boot
boots=()
if ((have_vmm)); then
	if [[ $smp == "$kvm_smp" ]]; then
		boots+=("vmm,kvm $smp all")
	else
		boots+=("vmm $smp all" "vmm,kvm $kvm_smp kvm")
	fi
	if grep -q -E '^[^ ]+ .*\<spec\>' "$payload/tests.list"; then
		boots+=("vmm $smp spec mitigations=auto")
	fi
else
	boots+=("kvm $kvm_smp all")
fi

rc=0 first=1 total_pass=0 total_fail=0 total_skip=0 i=0
: >"$log"
for boot in "${boots[@]}"; do
	i=$((i + 1))
	read -r passes boot_smp vmm_tests params <<<"$boot"
	printf 'passes="%s"\nvmm_tests=%s\nfirst=%d\n' "${passes/,/ }" \
		"$vmm_tests" "$first" >"$payload/config"
	echo "run-selftests: boot $i: ${passes/,/ } pass, $boot_smp vCPUs," \
		"$vmm_tests tests on vmm${params:+, $params}" >&2
	set +e
	"$here/rig.sh" --payload "$payload" --log "$log.boot$i" \
		--timeout "$timeout" --smp "$boot_smp" \
		${params:+--append "$params"}
	rig_rc=$?
	set -e
	cat "$log.boot$i" >>"$log"
	if ((rig_rc)); then
		echo "run-selftests: rig failed (status $rig_rc)" >&2
		rc=1
	fi
	if summary=$("$here/summarize.sh" "$log.boot$i" 2>/dev/null); then
		read -r p _ f _ s _ <<<"$summary"
	else
		# the guest did not finish: count what it reported, plus
		# one failure for the boot itself
		echo "run-selftests: boot $i has no summary line" >&2
		rc=1
		p=$(grep -a -c -E '^ok [0-9]+ .*\]$' "$log.boot$i" || true)
		s=$(grep -a -c -E '^ok [0-9]+ .*\] # SKIP' "$log.boot$i" || true)
		f=$(($(grep -a -c -E '^not ok [0-9]+ ' "$log.boot$i" || true) + 1))
	fi
	total_pass=$((total_pass + p)) total_fail=$((total_fail + f))
	total_skip=$((total_skip + s))
	first=$((first + p + f + s))
done

summary="$total_pass passed, $total_fail failed, $total_skip skipped"
echo "$summary" >>"$log"
((total_fail == 0)) || rc=1
if ((rc)); then
	echo "run-selftests: FAILED (see $log)" >&2
fi
echo "$summary"
exit $rc
