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
 *
 * Speculation hygiene follows kvm_amd's __svm_vcpu_run() on this kernel,
 * with the kernel's own macros, so the alternatives patched into the
 * module match the host's mitigation choices: CPU buffers are cleared
 * before VMRUN (VM_CLEAR_CPU_BUFFERS), and right after #VMEXIT, before
 * the first RET, the RSB is stuffed (FILL_RETURN_BUFFER), the return
 * predictor is untrained (UNTRAIN_RET: Retbleed, SRSO) and an IBPB is
 * issued where the host chose IBPB-on-VMEXIT.  Every GPR is zeroed
 * before the host's callee-saved values are popped, so no guest value
 * is left for speculation to use.  The guest cannot touch SPEC_CTRL (the
 * MSR is intercepted and not offered): it runs with the host's value, or
 * with 0 from the VMCB on CPUs with V_SPEC_CTRL, which restore the host's
 * at #VMEXIT, as under kvm_amd for a guest that never wrote the MSR.
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>

#define REG(n)	(n * 8)

.section .noinstr.text, "ax"

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

	/* Clobbers EFLAGS.ZF. */
	VM_CLEAR_CPU_BUFFERS

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

#ifdef CONFIG_RETPOLINE
	/* Stuff the RSB right after #VMEXIT, before any RET. */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RETPOLINE
#endif

	/*
	 * Retbleed and SRSO: untrain the return predictor before the first
	 * RET and before IRQs (whose handlers do not) can run.
	 */
	UNTRAIN_RET

	ALTERNATIVE "", "call entry_ibpb", X86_FEATURE_IBPB_ON_VMEXIT

	/* Leave no guest value in any register, callee-saved ones included. */
	xor %eax, %eax
	xor %ecx, %ecx
	xor %edx, %edx
	xor %ebx, %ebx
	xor %ebp, %ebp
	xor %esi, %esi
	xor %edi, %edi
	xor %r8d, %r8d
	xor %r9d, %r9d
	xor %r10d, %r10d
	xor %r11d, %r11d
	xor %r12d, %r12d
	xor %r13d, %r13d
	xor %r14d, %r14d
	xor %r15d, %r15d

	add $24, %rsp
	pop %rbx
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rbp
	RET
SYM_FUNC_END(__vmm_svm_run)
