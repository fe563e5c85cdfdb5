/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vmm: what the x86 common code (x86.c, emulate.c, mmu.c) shares with the
 * hardware backends (svm/, later vmx/).
 */
#ifndef _ARCH_X86_VMM_X86_H
#define _ARCH_X86_VMM_X86_H

#include <linux/static_call.h>
#include <vmm/vmm_host.h>

/* Without a guest CPUID table, KVM assumes a 36-bit physical address. */
#define VMM_GUEST_MAXPHYADDR	36

/* Debug register reset values and writable bits (SDM vol. 3, 18.2). */
#define VMM_DR6_INIT		0xffff0ff0UL
#define VMM_DR6_FIXED_1		0xfffe0ff0UL
#define VMM_DR6_VOLATILE	0x0001e80fUL
#define VMM_DR7_INIT		0x400UL
#define VMM_DR7_VOLATILE	0xffff2bffUL

/* General-purpose registers, in the order of the x86 instruction encoding. */
enum vmm_x86_reg {
	VMM_REG_RAX, VMM_REG_RCX, VMM_REG_RDX, VMM_REG_RBX,
	VMM_REG_RSP, VMM_REG_RBP, VMM_REG_RSI, VMM_REG_RDI,
	VMM_REG_R8, VMM_REG_R9, VMM_REG_R10, VMM_REG_R11,
	VMM_REG_R12, VMM_REG_R13, VMM_REG_R14, VMM_REG_R15,
	VMM_NR_GPRS,
	VMM_REG_RIP = VMM_NR_GPRS,
	VMM_NR_REGS,
	/* Cached like the registers, but not in regs[]. */
	VMM_EXREG_RFLAGS = VMM_NR_REGS,
};

/* What the last exit to user space left for the next VMM_RUN to finish. */
enum vmm_x86_pending {
	VMM_PENDING_NONE,
	VMM_PENDING_PIO_IN,	/* IN/INS: take data from the run area */
	VMM_PENDING_PIO_OUT,	/* OUTS: advance RSI/RCX */
	VMM_PENDING_MMIO_LOAD,	/* MMIO load: write run->mmio.data to a reg */
	VMM_PENDING_MMIO_STORE,	/* the second MMIO part of a split store */
};

/* The memory operand of INS (ES:rDI) or OUTS (DS or override:rSI). */
struct vmm_x86_str_op {
	u8 addr_size;		/* 2, 4 or 8 */
	bool mode64;		/* no limits, base only for FS and GS */
	bool real;		/* real mode: CR0.PE = 0 */
	bool ss;		/* a limit violation is #SS, not #GP */
	struct vmm_segment seg;
};

struct vmm_x86_pio {
	u16 port;
	u8 size;
	bool in;
	bool string;
	bool rep;
	bool down;		/* RFLAGS.DF */
	u8 addr_size;		/* 2, 4 or 8 */
	unsigned long seg_base;	/* of the memory operand */
	unsigned long lin_mask;	/* linear addresses wrap at 4 GiB outside 64-bit mode */
	u32 count;		/* elements of this exit */
	unsigned long rip;	/* of the I/O instruction */
	unsigned long next_rip;
};

struct vmm_x86_mmio_load {
	u8 reg;
	u8 len;			/* bytes read */
	u8 dst_size;		/* operand size written to reg */
	bool sign_extend;
	bool high_byte;		/* AH/CH/DH/BH */
	unsigned long next_rip;
	/* An access split at a page boundary: its MMIO parts, in order. */
	u8 nr_frags;		/* 0: not split */
	u8 cur_frag;
	bool write;
	u8 frag_off[2];
	u8 frag_len[2];
	gpa_t frag_gpa[2];
	u8 buf[8];		/* the whole access */
};

/* An exception for the guest, as KVM's struct kvm_queued_exception. */
struct vmm_x86_exception {
	bool pending;		/* raised, not yet injected */
	bool injected;		/* in delivery: injected again if cut short */
	u8 vector;
	bool has_error;
	u32 error;
	/* CR2 of a #PF, written when the exception is injected. */
	bool has_payload;
	unsigned long payload;
};

struct vmm_x86_vcpu {
	struct vmm_vcpu vcpu;		/* embedded: container_of() */
	/*
	 * The register cache, as KVM's regs_avail/regs_dirty: regs[] and
	 * rflags hold the guest's values where their bit (enum vmm_x86_reg)
	 * is set in regs_avail; the others are fetched by the vendor's
	 * cache_reg() on first use.  A bit in regs_dirty tells the vendor to
	 * write the value back before the next entry.  Use the accessors
	 * below, never the fields, outside the vendor's entry code.
	 */
	unsigned long regs[VMM_NR_REGS];
	unsigned long rflags;
	unsigned long regs_avail;
	unsigned long regs_dirty;

	enum vmm_x86_pending pending;
	struct vmm_x86_pio pio;
	struct vmm_x86_mmio_load mmio;

	/*
	 * Events for the next entry.  What an exit cut short in delivery
	 * comes back from the vendor as injected (complete_interrupts in
	 * KVM); the common code injects it again before anything new.
	 */
	struct vmm_x86_exception exc;
	struct {
		bool injected;	/* SET_SREGS' interrupt_bitmap, or cut short */
		u8 nr;
	} irq;

	/* Debug registers: guest accesses are intercepted and emulated. */
	unsigned long db[4];
	unsigned long dr6;
	unsigned long dr7;

	u64 efer;		/* as the guest sees it; see svm_sync_efer() */
	u64 pat;
	u64 apic_base;
	u8 tpr;			/* CR8 */

	/* The emulator's copy of the paging state for a guest page walk. */
	struct vmm_sregs *walk_sregs;

	/* x87/SSE state of the guest (FXSAVE image, 16-byte aligned). */
	struct fxregs_state *fpu;

	u64 stat_exits;		/* guest exits, handled anywhere */
};

static inline struct vmm_x86_vcpu *to_x86(struct vmm_vcpu *vcpu)
{
	return container_of(vcpu, struct vmm_x86_vcpu, vcpu);
}

/*
 * The interface of a hardware backend.  The common code owns the entry
 * (x86.c, vmm_x86_enter_guest()): requests, events, FPU, guest timing and
 * vcpu->mode; the vendor enters the guest once with vcpu_run() and
 * handles the exit with handle_exit(): > 0 to re-enter, 0 to return to
 * user space with vcpu->run filled in, < 0 for an error of VMM_RUN.
 */
struct vmm_x86_ops {
	const char *name;
	/*
	 * The vendor's VM and vCPU structures, which embed struct
	 * vmm_x86_vm and struct vmm_x86_vcpu at offset 0 (svm_vcpu.xv, ...).
	 */
	size_t vm_size;
	size_t vcpu_size;
	int (*init)(void);
	void (*exit)(void);
	int (*hardware_enable)(void);
	void (*hardware_disable)(void);

	int (*vm_init)(struct vmm_vm *vm);
	void (*vm_destroy)(struct vmm_vm *vm);
	int (*vcpu_create)(struct vmm_x86_vcpu *xv);
	void (*vcpu_destroy)(struct vmm_x86_vcpu *xv);
	/* See vmm_arch_ops.vcpu_load/vcpu_put. */
	void (*vcpu_load)(struct vmm_x86_vcpu *xv, int cpu);
	void (*vcpu_put)(struct vmm_x86_vcpu *xv);
	/* Architectural reset state of everything but the GPRs. */
	void (*vcpu_reset)(struct vmm_x86_vcpu *xv);

	void (*get_sregs)(struct vmm_x86_vcpu *xv, struct vmm_sregs *sregs);
	/* @sregs has been validated by the common code. */
	void (*set_sregs)(struct vmm_x86_vcpu *xv, const struct vmm_sregs *sregs);
	int (*get_cpl)(struct vmm_x86_vcpu *xv);
	/*
	 * Guest state for the common exit handlers (exit.c).  The setters
	 * store what the common code validated; the vendor may defer the
	 * effect to the next entry.
	 */
	unsigned long (*get_cr0)(struct vmm_x86_vcpu *xv);
	void (*set_cr0)(struct vmm_x86_vcpu *xv, unsigned long cr0);
	unsigned long (*get_cr4)(struct vmm_x86_vcpu *xv);
	void (*set_cr4)(struct vmm_x86_vcpu *xv, unsigned long cr4);
	void (*set_efer)(struct vmm_x86_vcpu *xv, u64 efer);
	void (*set_pat)(struct vmm_x86_vcpu *xv, u64 pat);
	void (*get_cs_db_l_bits)(struct vmm_x86_vcpu *xv, int *db, int *l);
	/* STI / MOV SS interrupt shadow of the next instruction. */
	bool (*get_interrupt_shadow)(struct vmm_x86_vcpu *xv);
	void (*set_interrupt_shadow)(struct vmm_x86_vcpu *xv, bool shadow);

	/*
	 * Interrupts are not blocked by RFLAGS.IF, an interrupt shadow or
	 * (later, nested) GIF.
	 */
	bool (*interrupt_allowed)(struct vmm_x86_vcpu *xv);
	/* Fetch a register whose bit is clear in xv->regs_avail. */
	void (*cache_reg)(struct vmm_x86_vcpu *xv, enum vmm_x86_reg reg);

	/* Program xv->exc or xv->irq for delivery at the next entry. */
	void (*inject_exception)(struct vmm_x86_vcpu *xv);
	void (*inject_irq)(struct vmm_x86_vcpu *xv, bool reinjected);
	/* Exit as soon as the guest can take an interrupt. */
	void (*enable_irq_window)(struct vmm_x86_vcpu *xv);
	/*
	 * With IRQs off, before vcpu_run(): drop the vCPU's guest-physical
	 * translations (its nested page tables changed), or only what the
	 * guest's own page tables map (CR3/CR4/EFER changed under it).
	 */
	void (*flush_tlb_all)(struct vmm_x86_vcpu *xv);
	void (*flush_tlb_guest)(struct vmm_x86_vcpu *xv);
	/*
	 * Enter the guest, with IRQs off and vcpu->mode IN_GUEST_MODE, and
	 * come back with the exit recorded.  Returns the number of exits
	 * (more than one only with the bench floor).
	 */
	u32 (*vcpu_run)(struct vmm_x86_vcpu *xv);
	int (*handle_exit)(struct vmm_x86_vcpu *xv);
};

extern const struct vmm_x86_ops vmm_svm_ops;
extern const struct vmm_x86_ops *vmm_x86;

/* Direct calls to the vendor, patched in at module load (x86-ops.h). */
#define VMM_X86_OP(func)						\
	DECLARE_STATIC_CALL(vmm_x86_##func, *(((struct vmm_x86_ops *)0)->func))
#include "x86-ops.h"

#define vmm_x86_call(func)	static_call(vmm_x86_##func)

/* Requests of the x86 code (KVM_REQ_TLB_FLUSH_GUEST). */
#define VMM_REQ_TLB_FLUSH_GUEST	VMM_ARCH_REQ(0)

/* ---- the register cache ------------------------------------------------ */

static inline unsigned long vmm_reg_read(struct vmm_x86_vcpu *xv, int reg)
{
	if (!test_bit(reg, &xv->regs_avail))
		vmm_x86_call(cache_reg)(xv, reg);
	return xv->regs[reg];
}

static inline void vmm_reg_write(struct vmm_x86_vcpu *xv, int reg,
				 unsigned long val)
{
	xv->regs[reg] = val;
	__set_bit(reg, &xv->regs_avail);
	__set_bit(reg, &xv->regs_dirty);
}

static inline unsigned long vmm_rip_read(struct vmm_x86_vcpu *xv)
{
	return vmm_reg_read(xv, VMM_REG_RIP);
}

static inline void vmm_rip_write(struct vmm_x86_vcpu *xv, unsigned long val)
{
	vmm_reg_write(xv, VMM_REG_RIP, val);
}

static inline unsigned long vmm_rflags_read(struct vmm_x86_vcpu *xv)
{
	if (!test_bit(VMM_EXREG_RFLAGS, &xv->regs_avail))
		vmm_x86_call(cache_reg)(xv, VMM_EXREG_RFLAGS);
	return xv->rflags;
}

static inline void vmm_rflags_write(struct vmm_x86_vcpu *xv,
				    unsigned long val)
{
	xv->rflags = val;
	__set_bit(VMM_EXREG_RFLAGS, &xv->regs_avail);
	__set_bit(VMM_EXREG_RFLAGS, &xv->regs_dirty);
}

/* exit.c */
int vmm_x86_inject_gp(struct vmm_x86_vcpu *xv);
int vmm_x86_inject_ud(struct vmm_x86_vcpu *xv);
bool vmm_x86_long_mode(struct vmm_x86_vcpu *xv);
int vmm_x86_handle_cpuid(struct vmm_x86_vcpu *xv);
int vmm_x86_handle_hlt(struct vmm_x86_vcpu *xv);
int vmm_x86_handle_hypercall(struct vmm_x86_vcpu *xv);
int vmm_x86_handle_msr(struct vmm_x86_vcpu *xv, bool write);
int vmm_x86_handle_cr_write(struct vmm_x86_vcpu *xv, int exit_cr);
int vmm_x86_handle_dr(struct vmm_x86_vcpu *xv, bool write);

/* x86.c */
void vmm_x86_queue_exception(struct vmm_x86_vcpu *xv, u8 vector,
			     bool has_error, u32 error);
void vmm_x86_queue_pf(struct vmm_x86_vcpu *xv, u32 error, unsigned long cr2);
int vmm_x86_handle_io(struct vmm_x86_vcpu *xv, u16 port, u8 size, bool in,
		      bool rep, const struct vmm_x86_str_op *op,
		      unsigned long next_rip);
void vmm_x86_vcpu_reset(struct vmm_x86_vcpu *xv);
bool vmm_x86_valid_cr4(unsigned long cr4);
bool vmm_x86_valid_cr0(unsigned long cr0);
bool vmm_x86_valid_apic_base(u64 apic_base);
void vmm_x86_internal_error(struct vmm_x86_vcpu *xv, u32 suberror,
			    int ndata, const u64 *data);
void vmm_x86_complete_insn(struct vmm_x86_vcpu *xv, unsigned long next_rip);
void vmm_x86_mmio_load_done(struct vmm_x86_vcpu *xv, unsigned long val);

/*
 * emulate.c.  The guest memory accessors return 0 on success,
 * VMM_X86_EXCEPTION when they queued a fault for the guest (re-enter it),
 * VMM_X86_RETRY when other vCPUs kept changing the guest's page tables
 * under the walk (re-enter the guest, which executes the instruction
 * again), or -EFAULT when the guest address is not backed by a memslot.
 */
#define VMM_X86_EXCEPTION	1
#define VMM_X86_RETRY		2
int vmm_x86_read_guest_virt(struct vmm_x86_vcpu *xv, unsigned long gva,
			    void *buf, unsigned int len);
int vmm_x86_write_guest_virt(struct vmm_x86_vcpu *xv, unsigned long gva,
			     const void *buf, unsigned int len);
int vmm_x86_emulate_mmio(struct vmm_x86_vcpu *xv, gpa_t gpa);
void vmm_x86_mmio_frag_exit(struct vmm_x86_vcpu *xv);
int vmm_x86_skip_insn(struct vmm_x86_vcpu *xv, unsigned int opcode_len);
int vmm_x86_decode_string_io(struct vmm_x86_vcpu *xv, bool in,
			     struct vmm_x86_str_op *op);
/* On success, the RIP after the instruction is in xv->mmio.next_rip. */
int vmm_x86_decode_mov_crdr(struct vmm_x86_vcpu *xv, u8 opcode, int *crdr,
			    int *gpr);
int vmm_x86_decode_cr_write(struct vmm_x86_vcpu *xv, unsigned long cr0,
			    int *cr, unsigned long *val);

/* user_msr.c: MSRs restored to the host's values on return to user space */
int vmm_user_msr_add(u32 msr);
void vmm_user_msr_cpu_enable(void);
void vmm_user_msr_cpu_disable(void);
int vmm_user_msr_set(unsigned int slot, u64 value, u64 mask);

/* mmu.c: second-stage (nested/extended) page tables */
struct vmm_tdp;
struct vmm_tdp *vmm_tdp_create(int levels);
void vmm_tdp_destroy(struct vmm_tdp *tdp);
u64 vmm_tdp_root_pa(struct vmm_tdp *tdp);
/*
 * Resolve a guest page fault at @gpa.  Returns 1 when the guest can be
 * re-entered, 0 when the access is MMIO (caller emulates), < 0 on error.
 */
int vmm_tdp_page_fault(struct vmm_vm *vm, struct vmm_tdp *tdp, gpa_t gpa,
		       bool write);
bool vmm_tdp_unmap_range(struct vmm_tdp *tdp, gfn_t start, gfn_t end);
gfn_t vmm_tdp_max_gfn(struct vmm_tdp *tdp);
bool vmm_tdp_age_range(struct vmm_tdp *tdp, gfn_t start, gfn_t end, bool clear);

/* The VM's x86 state. */
struct vmm_x86_vm {
	struct vmm_vm vm;		/* embedded: container_of() */
	struct vmm_tdp *tdp;
};

static inline struct vmm_x86_vm *to_x86_vm(struct vmm_vm *vm)
{
	return container_of(vm, struct vmm_x86_vm, vm);
}

#endif /* _ARCH_X86_VMM_X86_H */
