/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vmm: the x86 part of the /dev/vmm ABI, included by <linux/vmm.h>.
 *
 * The counterpart of KVM's arch/x86/include/uapi/asm/kvm.h: the same
 * layouts with a vmm_/VMM_ prefix (checked by the abi_compat selftest).
 */
#ifndef _UAPI_ASM_X86_VMM_H
#define _UAPI_ASM_X86_VMM_H

#include <linux/types.h>

#define VMM_NR_INTERRUPTS 256

struct vmm_regs {
	/* out (VMM_GET_REGS) / in (VMM_SET_REGS) */
	__u64 rax, rbx, rcx, rdx;
	__u64 rsi, rdi, rsp, rbp;
	__u64 r8,  r9,  r10, r11;
	__u64 r12, r13, r14, r15;
	__u64 rip, rflags;
};

struct vmm_segment {
	__u64 base;
	__u32 limit;
	__u16 selector;
	__u8  type;
	__u8  present, dpl, db, s, l, g, avl;
	__u8  unusable;
	__u8  padding;
};

struct vmm_dtable {
	__u64 base;
	__u16 limit;
	__u16 padding[3];
};

struct vmm_sregs {
	/* out (VMM_GET_SREGS) / in (VMM_SET_SREGS) */
	struct vmm_segment cs, ds, es, fs, gs, ss;
	struct vmm_segment tr, ldt;
	struct vmm_dtable gdt, idt;
	__u64 cr0, cr2, cr3, cr4, cr8;
	__u64 efer;
	__u64 apic_base;
	__u64 interrupt_bitmap[(VMM_NR_INTERRUPTS + 63) / 64];
};

#endif /* _UAPI_ASM_X86_VMM_H */
