#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build vmm-run and demo.bin, then run the demo in the QEMU rig
# (tools/testing/vmm-rig/rig.sh) on /dev/vmm (if --module is given) and on
# Debian's /dev/kvm, and compare the two runs with each other and with
# demo/expected-output.txt.
#
# Arguments: [--module /path/vmm.ko] [--timeout SECS] OUTDIR
#
# Both halves run: vmm-run no longer presets EFER.LME in real mode (the
# state that hung KVM's SVM under QEMU TCG); the demo asks for LME through
# port 0xf5 from protected mode instead, see README.rst.
#
# The guest gets one vCPU, as the rig's KVM runs do everywhere: with two,
# Debian's KVM under QEMU TCG now and then wedges the whole guest.
#
# OUTDIR receives build/ (vmm-run, demo.bin), payload/ (what the guest gets)
# and rig.log (the guest's serial console). Exit status 0 means success.
set -euo pipefail

usage() {
	echo "usage: ${0##*/} [--module /path/vmm.ko] [--timeout SECS] OUTDIR" >&2
	exit 2
}
fail() { echo "run-demo: FAIL: $*" >&2; exit 1; }

module='' timeout=300 outdir=''
while (($#)); do
	case $1 in
	--module) module=${2:-}; [[ -n $module ]] || usage; shift 2 ;;
	--timeout) timeout=${2:-}; [[ -n $timeout ]] || usage; shift 2 ;;
	-h|--help) usage ;;
	-*) usage ;;
	*) [[ -z $outdir ]] || usage; outdir=$1; shift ;;
	esac
done
[[ -n $outdir ]] || usage
[[ -z $module || -f $module ]] || fail "module '$module' not found"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
rig=$here/../testing/vmm-rig/rig.sh
mkdir -p "$outdir"
outdir=$(cd "$outdir" && pwd)

make -s -C "$here" OUTPUT="$outdir/build"

payload=$outdir/payload
rm -rf "$payload"
mkdir -p "$payload"
cp "$outdir/build/vmm-run" "$outdir/build/demo.bin" \
	"$here/demo/expected-output.txt" "$payload/"
[[ -z $module ]] || cp "$module" "$payload/vmm.ko"

cat >"$payload/run.sh" <<'GUEST'
#!/bin/sh
# Runs in the rig guest (busybox sh), in /payload.
status=0
bad() { echo "run-demo: FAIL: $*"; status=1; }

# run DEV: run demo.bin on DEV (at most 60 s), print its labeled output and
# exit status, keep them in /tmp
run() {
	name=${1##*/}
	echo "===== vmm-run --dev $1 demo.bin ====="
	timeout 60 ./vmm-run --dev "$1" demo.bin >"/tmp/out.$name" 2>"/tmp/err.$name"
	rc=$?
	echo "$rc" >"/tmp/rc.$name"
	echo "----- $1: stdout -----"
	cat "/tmp/out.$name"
	echo "----- $1: stderr -----"
	cat "/tmp/err.$name"
	echo "----- $1: exit status $rc -----"
	[ "$rc" = 0 ] || bad "vmm-run on $1 exited with $rc"
	cmp -s "/tmp/out.$name" expected-output.txt ||
		bad "output on $1 is not demo/expected-output.txt"
}

echo "===== usage error (expect exit status 2) ====="
./vmm-run --no-such-option demo.bin
rc=$?
echo "exit status $rc"
[ "$rc" = 2 ] || bad "usage error exited with $rc, not 2"

echo "===== bad image (expect exit status 1) ====="
: >/tmp/empty.bin
./vmm-run --dev /dev/kvm /tmp/empty.bin
rc=$?
echo "exit status $rc"
[ "$rc" = 1 ] || bad "bad image exited with $rc, not 1"

if [ -f vmm.ko ]; then
	echo "===== insmod vmm.ko ====="
	if insmod ./vmm.ko && [ -c /dev/vmm ]; then
		run /dev/vmm
		echo "===== rmmod vmm ====="
		rmmod vmm || bad "rmmod vmm failed"
	else
		bad "insmod vmm.ko failed or /dev/vmm did not appear"
	fi
fi

echo "===== load KVM ====="
/rig/load-kvm.sh || bad "loading KVM failed"
run /dev/kvm

if [ -f vmm.ko ]; then
	echo "===== compare /dev/vmm with /dev/kvm ====="
	if [ -f /tmp/out.vmm ] && cmp -s /tmp/out.vmm /tmp/out.kvm &&
	   cmp -s /tmp/rc.vmm /tmp/rc.kvm; then
		echo "outputs match"
	else
		echo "outputs DIFFER"
		[ -f /tmp/out.vmm ] && diff -u /tmp/out.kvm /tmp/out.vmm
		status=1
	fi
fi

[ "$status" = 0 ] && echo "run-demo: PASS" || echo "run-demo: FAIL"
exit $status
GUEST
chmod +x "$payload/run.sh"

# one QEMU at a time on this machine: wait for anybody else's to finish
while pgrep -x qemu-system-x86 >/dev/null; do
	echo "run-demo: another QEMU is running, waiting" >&2
	sleep 10
done

echo "run-demo: payload in $payload, log in $outdir/rig.log" >&2
log=$outdir/rig.log
rc=0
"$rig" --payload "$payload" --log "$log" --timeout "$timeout" --smp 1 \
	>/dev/null || rc=$?
# what run.sh printed, without the boot messages and the dmesg dump
sed -n '/^===== usage error/,/^=== DMESG BEGIN ===$/{/^=== DMESG BEGIN ===$/d;p}' "$log"
if ((rc)); then
	echo "run-demo: the rig failed (exit $rc); the end of $log:" >&2
	tail -n 30 "$log" >&2
fi
exit "$rc"
