/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Assembly pieces of the guest side of the vmm selftests library.
 */

	.text
	.code64

/*
 * A 64-bit guest function entered by vcpu_set_entry() returns here, with
 * RSP 16-byte aligned; the call gives guest_finish() the ABI's alignment.
 */
	.globl guest_exit_stub
	.type guest_exit_stub, @function
guest_exit_stub:
	call	guest_finish
	.size guest_exit_stub, . - guest_exit_stub

/*
 * uint64_t guest_reg_spin(const struct guest_reg_pattern *p, uint64_t iters,
 *			   bool xmm)
 *
 * Load p->gpr[] into rbx, rdx, rsi, rdi and r8-r15 (with @xmm, p->xmm[]
 * into xmm0-15 too), count @iters down to 0, and return 0 if every loaded
 * register still holds its pattern, 1 if one does not.  The offsets are
 * those of struct guest_reg_pattern (guest.h).  The vector part needs
 * CR4.OSFXSR, which the default guest has.
 */
	.macro reg_check off, reg
	cmp	\off(%rax), %\reg
	jne	2f
	.endm

	.macro xmm_load n
	movdqu	0x80 + \n * 16(%rax), %xmm\n
	.endm

	/* both quadwords; the register is clobbered */
	.macro xmm_check n
	movq	%xmm\n, %rcx
	cmp	0x80 + \n * 16(%rax), %rcx
	jne	2f
	punpckhqdq %xmm\n, %xmm\n
	movq	%xmm\n, %rcx
	cmp	0x88 + \n * 16(%rax), %rcx
	jne	2f
	.endm

	.globl guest_reg_spin
	.type guest_reg_spin, @function
guest_reg_spin:
	push	%rbp
	push	%rbx
	push	%r12
	push	%r13
	push	%r14
	push	%r15
	mov	%rdi, %rax
	mov	%rsi, %rcx
	movzbl	%dl, %ebp
	mov	0x00(%rax), %rbx
	mov	0x08(%rax), %rdx
	mov	0x10(%rax), %rsi
	mov	0x18(%rax), %rdi
	mov	0x20(%rax), %r8
	mov	0x28(%rax), %r9
	mov	0x30(%rax), %r10
	mov	0x38(%rax), %r11
	mov	0x40(%rax), %r12
	mov	0x48(%rax), %r13
	mov	0x50(%rax), %r14
	mov	0x58(%rax), %r15
	test	%ebp, %ebp
	jz	1f
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	xmm_load \n
	.endr
1:	dec	%rcx
	jnz	1b
	reg_check 0x00, rbx
	reg_check 0x08, rdx
	reg_check 0x10, rsi
	reg_check 0x18, rdi
	reg_check 0x20, r8
	reg_check 0x28, r9
	reg_check 0x30, r10
	reg_check 0x38, r11
	reg_check 0x40, r12
	reg_check 0x48, r13
	reg_check 0x50, r14
	reg_check 0x58, r15
	test	%ebp, %ebp
	jz	3f
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	xmm_check \n
	.endr
3:	xor	%eax, %eax
	jmp	4f
2:	mov	$1, %eax
4:	pop	%r15
	pop	%r14
	pop	%r13
	pop	%r12
	pop	%rbx
	pop	%rbp
	ret
	.size guest_reg_spin, . - guest_reg_spin

/*
 * An absolute symbol at GUEST_MMIO_RIP_GPA for RIP-relative MMIO accesses.
 * It lives in another object than its users: the assembler would take
 * "sym(%rip)" with a symbol it resolves itself as a plain displacement.
 */
	.globl guest_mmio_rip
	.set guest_mmio_rip, 0x30000040

	.section .note.GNU-stack, "", @progbits
