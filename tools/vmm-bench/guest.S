/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest code of vmm-bench.
 *
 * Each snippet is position independent 64-bit code that the host copies to
 * BENCH_CODE in guest memory and enters at CPL 0 in long mode with the
 * registers described above it.  None of them uses the stack or takes an
 * interrupt.  The snippets only live in the host binary's read-only data;
 * they are never executed on the host.
 */
#include "bench.h"

	.section .rodata.guest, "a"
	.code64

/*
 * One exit to user space per iteration: OUT to BENCH_PORT_LOOP forever.
 * The host decides how many iterations it runs.
 */
	.globl	guest_io, guest_io_end
guest_io:
1:	outb	%al, $BENCH_PORT_LOOP
	jmp	1b
guest_io_end:

/*
 * r8 = iterations.  Executes CPUID (leaf 0, subleaf 0) r8 times, an exit
 * that the kernel handles without returning to user space.
 */
	.globl	guest_cpuid, guest_cpuid_end
guest_cpuid:
	outb	%al, $BENCH_PORT_SYNC
1:	xorl	%eax, %eax
	xorl	%ecx, %ecx
	cpuid
	decq	%r8
	jnz	1b
	outb	%al, $BENCH_PORT_DONE
	hlt
guest_cpuid_end:

/*
 * r8 = iterations.  Executes VMMCALL with an unknown hypercall number r8
 * times; KVM answers -KVM_ENOSYS in rax without leaving the kernel.  The
 * last rax is left for the host to read at BENCH_PORT_DONE.
 */
	.globl	guest_vmmcall, guest_vmmcall_end
guest_vmmcall:
	outb	%al, $BENCH_PORT_SYNC
1:	movl	$BENCH_HC_UNKNOWN, %eax
	xorl	%ebx, %ebx
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	xorl	%esi, %esi
	vmmcall
	decq	%r8
	jnz	1b
	outb	%al, $BENCH_PORT_DONE
	hlt
guest_vmmcall_end:

/*
 * r8 = iterations.  Executes VMMCALL with vmm's floor hypercall number r8
 * times: with bench_floor=1 vmm resumes the guest right after the #VMEXIT,
 * so this times a bare VMRUN/#VMEXIT round trip.  Only the registers the
 * vmmcall loop sets are set, so the two loops differ in rax only.
 */
	.globl	guest_floor, guest_floor_end
guest_floor:
	outb	%al, $BENCH_PORT_SYNC
1:	movabsq	$BENCH_HC_FLOOR, %rax
	xorl	%ebx, %ebx
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	xorl	%esi, %esi
	vmmcall
	decq	%r8
	jnz	1b
	outb	%al, $BENCH_PORT_DONE
	hlt
guest_floor_end:

/*
 * rdi = first address, r8 = pages.  Writes one byte to each 4 KiB page of
 * [rdi, rdi + r8 * 4096): the first touch of a page the nested page table
 * does not map yet.
 */
	.globl	guest_touch, guest_touch_end
guest_touch:
	outb	%al, $BENCH_PORT_SYNC
1:	movb	$1, (%rdi)
	addq	$BENCH_PAGE_SIZE, %rdi
	decq	%r8
	jnz	1b
	outb	%al, $BENCH_PORT_DONE
	hlt
guest_touch_end:

	.section .note.GNU-stack, "", @progbits
