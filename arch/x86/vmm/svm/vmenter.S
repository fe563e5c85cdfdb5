/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vmm: enter an SVM guest.
 *
 * void __vmm_svm_run(u64 vmcb_pa, unsigned long *regs, u64 host_save_pa)
 *
 * Called with GIF=0 and RFLAGS.IF=1 (V_INTR_MASKING makes the host's IF
 * gate physical interrupts while the guest runs).  Saves the host state
 * that VMRUN does not (FS/GS/TR/LDTR, syscall MSRs) with VMSAVE, loads the
 * guest's with VMLOAD, runs the guest, and undoes both.  @regs holds the
 * guest GPRs in encoding order; RAX and RSP live in the VMCB.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#define REG(n)	(n * 8)


SYM_FUNC_START(__vmm_svm_run)
	push %rbp
	mov %rsp, %rbp
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbx

	push %rdx		/* host save area, 16(%rsp) */
	push %rsi		/* regs,            8(%rsp) */
	push %rdi		/* vmcb,            0(%rsp) */

	mov %rdx, %rax
	vmsave %rax
	mov (%rsp), %rax
	vmload %rax

	mov 8(%rsp), %rax
	mov REG(1)(%rax), %rcx
	mov REG(2)(%rax), %rdx
	mov REG(3)(%rax), %rbx
	mov REG(5)(%rax), %rbp
	mov REG(6)(%rax), %rsi
	mov REG(7)(%rax), %rdi
	mov REG(8)(%rax), %r8
	mov REG(9)(%rax), %r9
	mov REG(10)(%rax), %r10
	mov REG(11)(%rax), %r11
	mov REG(12)(%rax), %r12
	mov REG(13)(%rax), %r13
	mov REG(14)(%rax), %r14
	mov REG(15)(%rax), %r15
	mov (%rsp), %rax

	vmrun %rax

	/* RAX is the VMCB address again; the rest is guest state. */
	mov 8(%rsp), %rax
	mov %rcx, REG(1)(%rax)
	mov %rdx, REG(2)(%rax)
	mov %rbx, REG(3)(%rax)
	mov %rbp, REG(5)(%rax)
	mov %rsi, REG(6)(%rax)
	mov %rdi, REG(7)(%rax)
	mov %r8, REG(8)(%rax)
	mov %r9, REG(9)(%rax)
	mov %r10, REG(10)(%rax)
	mov %r11, REG(11)(%rax)
	mov %r12, REG(12)(%rax)
	mov %r13, REG(13)(%rax)
	mov %r14, REG(14)(%rax)
	mov %r15, REG(15)(%rax)

	mov (%rsp), %rax
	vmsave %rax
	mov 16(%rsp), %rax
	vmload %rax

	/* Do not leave guest values in registers. */
	xor %ecx, %ecx
	xor %edx, %edx
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d

	add $24, %rsp
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET
SYM_FUNC_END(__vmm_svm_run)
