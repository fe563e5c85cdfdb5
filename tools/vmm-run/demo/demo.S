/* SPDX-License-Identifier: GPL-2.0 */
/*
 * demo.bin: a bare-metal guest for vmm-run.
 *
 * Starts in real mode at LOAD_ADDR with CS = LOAD_ADDR >> 4, prints over the
 * 16550 UART at 0x3f8, switches to 32-bit protected mode, then to 64-bit
 * long mode with identity-mapped 2 MiB pages, computes fib(90) and the
 * CRC32 of a string, prints them and reports through the exit port:
 *
 *   0  success (both values as expected)
 *   3  a computed value is wrong
 *   4  the UART scratch register did not read back what was written
 *   5  EFER.LMA is not set after enabling paging
 *
 * Only CR4.PAE is set (no OSFXSR/OSXSAVE, no SSE).  EFER.LME is set by
 * writing vmm-run's port 0xf5 (WRMSR is the fallback).  There is no IDT:
 * any exception ends in a triple fault (a SHUTDOWN exit).
 */

#define COM1		0x3f8
#define UART_THR	0
#define UART_IER	1
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_SCR	7
#define UART_LSR_THRE	0x20

#define EXIT_PORT	0xf4
#define LME_PORT	0xf5
#define EXIT_OK		0
#define EXIT_BAD_RESULT	3
#define EXIT_BAD_UART	4
#define EXIT_NO_LMA	5

#define CODE32_SEL	0x08
#define DATA_SEL	0x10
#define CODE64_SEL	0x18

#define CR0_PE		0x00000001
#define CR0_NW		0x20000000
#define CR0_CD		0x40000000
#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100
#define EFER_LMA	0x00000400

#define PTE_P		0x001
#define PTE_RW		0x002
#define PTE_PS		0x080

#define EXPECTED_FIB90	2880067194370816120
#define EXPECTED_CRC	0x414fa339

/* real-mode offset of a symbol: CS = DS = SS = LOAD_ADDR >> 4 */
#define RM(sym)		((sym) - LOAD_ADDR)

/* putc: print %al, waiting for THR empty; clobbers nothing else */
.macro define_putc name, ra, rd
\name:
	push	%\rd
	push	%\ra
	mov	$(COM1 + UART_LSR), %dx
1:	inb	%dx, %al
	testb	$UART_LSR_THRE, %al
	jz	1b
	pop	%\ra
	mov	$(COM1 + UART_THR), %dx
	outb	%al, %dx
	pop	%\rd
	ret
.endm

/* puts: print the NUL-terminated string at DS:%si / %esi / %rsi */
.macro define_puts name, putc, ra, rs
\name:
	push	%\rs
	push	%\ra
1:	lodsb
	testb	%al, %al
	jz	2f
	call	\putc
	jmp	1b
2:	pop	%\ra
	pop	%\rs
	ret
.endm

	.section .text.start, "ax"

/* ------------------------------------------------------------------ */
	.code16
	.globl	_start
_start:
	cli
	cld
	mov	%cs, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$RM(stack_top), %sp

	/* 115200 8N1, FIFOs on, no interrupts (a polling driver) */
	mov	$(COM1 + UART_IER), %dx
	xor	%al, %al
	outb	%al, %dx
	mov	$(COM1 + UART_LCR), %dx
	mov	$0x80, %al			/* DLAB */
	outb	%al, %dx
	mov	$(COM1 + UART_THR), %dx		/* DLL */
	mov	$1, %al
	outb	%al, %dx
	mov	$(COM1 + UART_IER), %dx		/* DLM */
	xor	%al, %al
	outb	%al, %dx
	mov	$(COM1 + UART_LCR), %dx
	mov	$0x03, %al
	outb	%al, %dx
	mov	$(COM1 + UART_FCR), %dx
	mov	$0xc7, %al
	outb	%al, %dx
	mov	$(COM1 + UART_MCR), %dx
	mov	$0x03, %al
	outb	%al, %dx

	/* the scratch register must keep what is written to it */
	mov	$(COM1 + UART_SCR), %dx
	mov	$0x5a, %al
	outb	%al, %dx
	xor	%al, %al
	inb	%dx, %al
	cmp	$0x5a, %al
	je	1f
	mov	$EXIT_BAD_UART, %al
	outb	%al, $EXIT_PORT
	jmp	halt16
1:
	mov	$RM(msg_real), %si
	call	puts16

	/* to 32-bit protected mode, with caching enabled */
	lgdtl	RM(gdt_desc)
	mov	%cr0, %eax
	and	$~(CR0_CD | CR0_NW), %eax
	or	$CR0_PE, %eax
	mov	%eax, %cr0
	ljmpl	$CODE32_SEL, $pm32

halt16:
	hlt
	jmp	halt16

	define_putc putc16, ax, dx
	define_puts puts16, putc16, ax, si

/* ------------------------------------------------------------------ */
	.code32
pm32:
	mov	$DATA_SEL, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %fs
	mov	%ax, %gs
	mov	%ax, %ss
	mov	$stack_top, %esp

	mov	$msg_pm32, %esi
	call	puts32

	/* identity map the first 1 GiB with 2 MiB pages */
	mov	$pml4, %edi
	mov	$((pt_end - pml4) / 4), %ecx
	xor	%eax, %eax
	rep stosl
	movl	$(pdpt + PTE_P + PTE_RW), pml4
	movl	$(pd + PTE_P + PTE_RW), pdpt
	mov	$pd, %edi
	mov	$(PTE_P + PTE_RW + PTE_PS), %eax
	mov	$512, %ecx
1:	mov	%eax, (%edi)
	add	$0x200000, %eax
	add	$8, %edi
	loop	1b

	mov	%cr4, %eax
	or	$CR4_PAE, %eax
	mov	%eax, %cr4
	mov	$pml4, %eax
	mov	%eax, %cr3

	/*
	 * EFER.LME: ask vmm-run first (the port write is harmless elsewhere),
	 * WRMSR only if that did not work: without a CPUID table that says
	 * long mode, KVM answers WRMSR(EFER.LME) with #GP.
	 */
	outb	%al, $LME_PORT
	mov	$MSR_EFER, %ecx
	rdmsr
	test	$EFER_LME, %eax
	jnz	2f
	or	$EFER_LME, %eax
	wrmsr
2:
	mov	%cr0, %eax
	or	$CR0_PG, %eax
	mov	%eax, %cr0
	ljmp	$CODE64_SEL, $lm64

	define_putc putc32, eax, edx
	define_puts puts32, putc32, eax, esi

/* ------------------------------------------------------------------ */
	.code64
lm64:
	mov	$DATA_SEL, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$stack_top, %rsp

	mov	$MSR_EFER, %ecx
	rdmsr
	test	$EFER_LMA, %eax
	jnz	1f
	mov	$EXIT_NO_LMA, %al
	jmp	exit64
1:
	lea	msg_lm64(%rip), %rsi
	call	puts64

	/* fib(90) needs 62 bits */
	xor	%eax, %eax
	mov	$1, %edx
	mov	$90, %ecx
2:	lea	(%rax, %rdx), %r8
	mov	%rdx, %rax
	mov	%r8, %rdx
	loop	2b
	mov	%rax, %rbx
	lea	msg_fib(%rip), %rsi
	call	puts64
	mov	%rbx, %rax
	call	putdec64
	mov	$'\n', %al
	call	putc64

	lea	msg_crc(%rip), %rsi
	call	puts64
	lea	crc_input(%rip), %rsi
	mov	$(crc_input_end - crc_input), %ecx
	call	crc32
	mov	%eax, %r12d
	lea	msg_result(%rip), %rsi
	call	puts64
	mov	%r12d, %eax
	call	puthex32
	mov	$'\n', %al
	call	putc64

	mov	$EXIT_BAD_RESULT, %al
	movabs	$EXPECTED_FIB90, %rdx
	cmp	%rdx, %rbx
	jne	exit64
	cmp	$EXPECTED_CRC, %r12d
	jne	exit64
	mov	$EXIT_OK, %al
exit64:
	outb	%al, $EXIT_PORT
3:	hlt
	jmp	3b

/* CRC32 (IEEE 802.3, reflected) of %ecx bytes at %rsi, into %eax */
crc32:
	mov	$0xffffffff, %eax
1:	jrcxz	4f
	movzbl	(%rsi), %edx
	xor	%edx, %eax
	mov	$8, %edx
2:	shr	$1, %eax
	jnc	3f
	xor	$0xedb88320, %eax
3:	dec	%edx
	jnz	2b
	inc	%rsi
	dec	%ecx
	jmp	1b
4:	not	%eax
	ret

/* print %eax as 0x%08x */
puthex32:
	mov	%eax, %edx
	mov	$'0', %al
	call	putc64
	mov	$'x', %al
	call	putc64
	mov	$8, %ecx
1:	rol	$4, %edx
	mov	%edx, %eax
	and	$0xf, %eax
	lea	hexdigits(%rip), %rsi
	mov	(%rsi, %rax), %al
	call	putc64
	loop	1b
	ret

/* print %rax in decimal */
putdec64:
	lea	decbuf_end(%rip), %rsi
	movb	$0, (%rsi)
	mov	$10, %ecx
1:	xor	%edx, %edx
	div	%rcx
	add	$'0', %dl
	dec	%rsi
	mov	%dl, (%rsi)
	test	%rax, %rax
	jnz	1b
	jmp	puts64

	define_putc putc64, rax, rdx
	define_puts puts64, putc64, rax, rsi

/* ------------------------------------------------------------------ */
	.section .rodata, "a"
	.p2align 3
gdt:
	.quad	0				/* null */
	.quad	0x00cf9b000000ffff		/* 0x08: code, 32-bit, 4 GiB */
	.quad	0x00cf93000000ffff		/* 0x10: data, 4 GiB */
	.quad	0x00af9b000000ffff		/* 0x18: code, 64-bit */
gdt_end:
gdt_desc:
	.word	gdt_end - gdt - 1
	.long	gdt

msg_real:
	.asciz	"Hello from a vmm guest (real mode)\n"
msg_pm32:
	.asciz	"Hello from a vmm guest (32-bit protected mode)\n"
msg_lm64:
	.asciz	"Hello from a vmm guest (64-bit long mode)\n"
msg_fib:
	.asciz	"fib(90) = "
msg_crc:
	.asciz	"crc32(\"The quick brown fox jumps over the lazy dog\")\n"
msg_result:
	.asciz	"result: "
crc_input:
	.ascii	"The quick brown fox jumps over the lazy dog"
crc_input_end:
hexdigits:
	.ascii	"0123456789abcdef"

/* ------------------------------------------------------------------ */
	.section .bss, "aw", @nobits
	.p2align 12
pml4:
	.skip	4096
pdpt:
	.skip	4096
pd:
	.skip	4096
pt_end:
decbuf:
	.skip	32
decbuf_end:
	.skip	1
	.p2align 4
stack:
	.skip	4096
	.globl	stack_top
stack_top:
