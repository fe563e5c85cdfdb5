/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Real-mode and 32-bit protected-mode guest code for the vmm selftests.
 * Each snippet is position independent; tests copy it to guest memory
 * (usually GUEST_SNIPPET_GPA) with vm_load_snippet().  See snippets.h.
 */

	.section .rodata, "a"

/* real mode: write 0x1234 to port 0x10, halt */
	.globl rm_out_start, rm_out_end
	.code16
rm_out_start:
	mov	$0x1234, %ax
	out	%ax, $0x10
	hlt
rm_out_end:

/* real mode: load an IVT with limit 0 from (zeroed) 0x9000, INT3 */
	.globl rm_triple_start, rm_triple_end
rm_triple_start:
	lidt	0x9000
	int3
	hlt
rm_triple_end:

/* 32-bit: store 0xdeadbeef at 0x9000, write it to port 0x11, halt */
	.globl pm_out_start, pm_out_end
	.code32
pm_out_start:
	mov	$0xdeadbeef, %eax
	mov	%eax, 0x9000
	out	%eax, $0x11
	hlt
pm_out_end:

/* 32-bit: write each page's address to offset 0x800 of it, 0..2 MiB, halt */
	.globl pm_touch_start, pm_touch_end
pm_touch_start:
	xor	%eax, %eax
1:	mov	%eax, 0x800(%eax)
	add	$0x1000, %eax
	cmp	$0x200000, %eax
	jb	1b
	hlt
pm_touch_end:

	.code64
	.section .note.GNU-stack, "", @progbits
