#!/bin/bash
# Boot Debian's amd64 kernel under QEMU TCG (SVM via -cpu EPYC) with a busybox
# initramfs and run a payload in it. See Documentation / DESIGN.md section 4.
#
#   rig.sh --payload DIR --log FILE [--timeout SECS] [--smp N] [--mem SIZE]
#          [--append "PARAM ..."]
#
# DIR must hold an executable run.sh; it is copied to /payload in the guest and
# run there as `cd /payload && ./run.sh`. The guest also has /kvm/*.ko (Debian's
# irqbypass, kvm, ccp, kvm-amd) and /rig/load-kvm.sh, which loads them in order.
# The serial console is streamed to stdout and written to FILE.  --append adds
# kernel parameters after the rig's own, so that they win (mitigations=auto).
# Exit 0 only if run.sh exited 0 and no kernel splat was seen.
set -euo pipefail

usage() { echo "usage: ${0##*/} --payload DIR --log FILE [--timeout SECS] [--smp N] [--mem SIZE] [--append PARAMS]" >&2; exit 2; }
fail() { echo "rig: FAIL: $*" >&2; exit 1; }

payload='' log='' timeout=600 smp=2 mem=1G extra=''
while (($#)); do
	case $1 in
	--append) extra=${2:?}; shift 2 ;;
	--payload) payload=${2:?}; shift 2 ;;
	--log) log=${2:?}; shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--smp) smp=${2:?}; shift 2 ;;
	--mem) mem=${2:?}; shift 2 ;;
	*) usage ;;
	esac
done
[[ -n $payload && -n $log ]] || usage
[[ -x $payload/run.sh ]] || fail "$payload/run.sh missing or not executable"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../../.." && pwd)
kver=$("$top/scripts/kver.sh")
cache=$top/build/rig
mkdir -p "$cache" "$(dirname "$log")"

# --- uncompressed kernel (microvm boots it through its PVH entry point) ---
vmlinux=$cache/vmlinux-$kver
if [[ ! -s $vmlinux ]]; then
	src=$top/build/linux-source
	"$top/scripts/linux-src.sh" "$src"
	sh "$src/scripts/extract-vmlinux" "/boot/vmlinuz-$kver" >"$vmlinux.tmp"
	mv "$vmlinux.tmp" "$vmlinux"
fi

# --- base initramfs (busybox, KVM modules, /init), cached; rebuilt when this
# script, busybox or the kernel changes ---
base=$cache/base-$kver.cpio
kmods=(virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko drivers/crypto/ccp/ccp.ko arch/x86/kvm/kvm-amd.ko)
# zram swap for tests that need reclaim to swap (mmu_young): /rig/swap-on.sh
swapmods=(mm/zsmalloc.ko drivers/block/zram/zram.ko)
if [[ ! -s $base || $0 -nt $base || /bin/busybox -nt $base || /boot/vmlinuz-$kver -nt $base ]]; then
	[[ $(id -u) == 0 ]] || fail "building the initramfs needs root (mknod /dev/console)"
	r=$(mktemp -d "$cache/base.XXXXXX")
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,kvm,mods,rig,payload}
	cp /bin/busybox "$r/bin/busybox"
	for a in $(/bin/busybox --list-full); do
		[[ -e $r/$a ]] || ln -s /bin/busybox "$r/$a"
	done
	mknod -m 600 "$r/dev/console" c 5 1
	mknod -m 666 "$r/dev/null" c 1 3
	for m in "${kmods[@]}"; do
		cp "/lib/modules/$kver/kernel/$m" "$r/kvm/"
	done
	for m in "${swapmods[@]}"; do
		cp "/lib/modules/$kver/kernel/$m" "$r/mods/"
	done
	cat >"$r/rig/swap-on.sh" <<-'EOF'
	#!/bin/sh
	# A 256 MiB zram swap device, for tests that need reclaim to swap.
	grep -q zram0 /proc/swaps && exit 0
	[ -e /sys/block/zram0 ] || { insmod /mods/zsmalloc.ko && insmod /mods/zram.ko; } || exit 1
	echo 256M >/sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null && swapon /dev/zram0
	EOF
	cat >"$r/rig/load-kvm.sh" <<-'EOF'
	#!/bin/sh
	# Load Debian's KVM (SVM) next to whatever the payload loaded.
	for m in irqbypass kvm ccp kvm-amd; do
		insmod /kvm/$m.ko || { echo "load-kvm: insmod $m.ko failed" >&2; exit 1; }
	done
	[ -c /dev/kvm ] || { echo "load-kvm: /dev/kvm did not appear" >&2; exit 1; }
	EOF
	cat >"$r/init" <<-'EOF'
	#!/bin/sh
	export PATH=/rig:/bin:/sbin:/usr/bin:/usr/sbin HOME=/tmp
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mount -t tmpfs tmpfs /tmp
	cd /payload && ./run.sh
	rc=$?
	echo "=== DMESG BEGIN ==="
	dmesg
	echo "=== DMESG END ==="
	echo "RIG-DONE rc=$rc"
	sleep 0.2
	poweroff -f
	EOF
	chmod +x "$r/init" "$r/rig/load-kvm.sh" "$r/rig/swap-on.sh"
	(cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$base.tmp"
	mv "$base.tmp" "$base"
	rm -rf "$r"
fi

# --- per-call initramfs: base + payload (concatenated newc archives) ---
work=$(mktemp -d "$cache/run.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/payload"
cp -a "$payload/." "$work/payload/"
(cd "$work" && find payload | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$work/payload.cpio"
cat "$base" "$work/payload.cpio" >"$work/initrd"

# --- boot ---
# microvm + uncompressed vmlinux: ~1.3 s boot-to-poweroff vs ~5.5 s for pc +
# bzImage. microvm's ACPI tables give SMP and the power-off; ttyS0 is its ISA
# serial port. stdin is /dev/null: under `timeout` QEMU is not in the
# terminal's foreground group and would stop on SIGTTIN reading a tty.
# QEMU's stderr goes to ours, less the expected "TCG doesn't support" noise.
# page_poison=1: freed pages are filled with 0xaa, so a guest still mapping
# one (memslot_race) reads the poison instead of its data.
append="console=ttyS0 panic=-1 oops=panic panic_on_warn=1 page_poison=1 mitigations=off"
append+=" lpj=4000000"
append+=" tsc=reliable cryptomgr.notests nokaslr no_timer_check pci=off quiet"
# TCG's TSC ticks at the host's rate.  The guest's own quick PIT calibration
# fails when the host is busy, and microvm has no HPET/PM timer to fall back
# on: the kernel then runs with an unknown TSC rate and hangs at boot.  Hand
# it the host's rate instead.
khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
[[ -n $khz && $khz -gt 0 ]] && append+=" tsc_early_khz=$khz"
[[ -z $extra ]] || append+=" $extra"
start=$EPOCHREALTIME
set +e
timeout -k 5 "$timeout" qemu-system-x86_64 \
	-machine microvm -accel tcg -cpu EPYC -smp "$smp" -m "$mem" \
	-nographic -no-reboot -nodefaults -no-user-config -monitor none -serial stdio \
	-kernel "$vmlinux" -initrd "$work/initrd" -append "$append" </dev/null 2> >(grep -v "TCG doesn't support requested feature" >&2) |
	sed -u 's/\r$//' | tee "$log"
qrc=${PIPESTATUS[0]}
set -e
awk -v a="$start" -v b="$EPOCHREALTIME" -v rc="$qrc" 'BEGIN { printf "rig: qemu exit %d after %.2f s\n", rc, b - a }' >&2

# --- verdict ---
((qrc != 124 && qrc != 137)) || fail "timeout after ${timeout}s"
((qrc == 0)) || fail "qemu exited with status $qrc"
# A test that triggers backtraces on purpose (preempt's NMI test) brackets
# them with kernel log records "rig: expected backtraces begin" and "... end";
# in between, "Call Trace" is allowed, the rest of the check still applies.
# With mitigations on, the SRSO code prints an advisory "WARNING:" at boot
# (no microcode under TCG); it is not a splat.
if m=$(awk '
	/rig: expected backtraces begin/ { expected = 1 }
	/rig: expected backtraces end/ { expected = 0 }
	/Speculative Return Stack Overflow: WARNING: See/ { next }
	/WARNING:|BUG:|Oops|general protection fault|Kernel panic/ ||
	(!expected && /Call Trace/) { print NR ":" $0; found = 1; exit }
	END { exit !found }' "$log"); then
	fail "kernel splat in log, line $m"
fi
done_line=$(grep -a '^RIG-DONE rc=' "$log" | tail -n1 || true)
[[ -n $done_line ]] || fail "no RIG-DONE marker (guest crashed or powered off early)"
[[ $done_line == "RIG-DONE rc=0" ]] || fail "run.sh failed: $done_line"
exit 0
