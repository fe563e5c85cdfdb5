// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm: x86 common code.  Implements the arch ops interface of virt/vmm on
 * top of a hardware backend (struct vmm_x86_ops): the register and
 * interrupt ioctls with their validation, the VMM_RUN loop with the guest
 * entry (requests, event injection, FPU, guest timing), and the
 * completion of port I/O and MMIO that went to user space.
 */
#define pr_fmt(fmt) "vmm: " fmt

#include <linux/module.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/sched.h>
#include <linux/kvm_host.h>		/* guest_timing_enter_irqoff() */
#include <asm/fpu/api.h>
#include <asm/apicdef.h>
#include <asm/processor-flags.h>
#include <asm/msr-index.h>
#include <asm/fpu/types.h>
#include <asm/trapnr.h>
#include <asm/debugreg.h>
#include "x86.h"

/* The hardware backend chosen at module load. */
const struct vmm_x86_ops *vmm_x86;

#define VMM_X86_OP(func)						\
	DEFINE_STATIC_CALL_NULL(vmm_x86_##func,				\
				*(((struct vmm_x86_ops *)0)->func))
#include "x86-ops.h"

/* CR4 bits that need no CPUID feature; see kvm_is_valid_cr4(). */
#define VMM_CR4_VALID	(X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD |	\
			 X86_CR4_DE | X86_CR4_PSE | X86_CR4_PAE |	\
			 X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE |	\
			 X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT)

#define VMM_PIO_DATA_OFFSET	PAGE_SIZE

/*
 * Raise an exception in the guest at the next entry.  One that was in
 * delivery is replaced, as kvm_multiple_exception() does for a benign
 * pair; the CPU raises it again when the instruction is re-executed.  No
 * #DF is formed: vmm raises exceptions only from emulated instructions
 * and intercepted #DB and #AC, so only #DB and #AC can meet an exception
 * in delivery, and both are benign.
 */
void vmm_x86_queue_exception(struct vmm_x86_vcpu *xv, u8 vector,
			     bool has_error, u32 error)
{
	xv->exc.injected = false;
	xv->exc.pending = true;
	xv->exc.vector = vector;
	xv->exc.has_error = has_error;
	xv->exc.error = error;
	xv->exc.has_payload = false;
}

/* A #PF for @cr2, which the guest sees in CR2 only once it is injected. */
void vmm_x86_queue_pf(struct vmm_x86_vcpu *xv, u32 error, unsigned long cr2)
{
	vmm_x86_queue_exception(xv, X86_TRAP_PF, true, error);
	xv->exc.has_payload = true;
	xv->exc.payload = cr2;
}

void vmm_x86_internal_error(struct vmm_x86_vcpu *xv, u32 suberror,
			    int ndata, const u64 *data)
{
	struct vmm_run *run = xv->vcpu.run;
	int i;

	run->exit_reason = VMM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	ndata = min_t(int, ndata, ARRAY_SIZE(run->internal.data));
	run->internal.ndata = ndata;
	for (i = 0; i < ndata; i++)
		run->internal.data[i] = data[i];
}

/*
 * The instruction at RIP was emulated or skipped: go on at @next_rip.  As
 * kvm_skip_emulated_instruction(), this ends an STI or MOV SS interrupt
 * shadow, which covered only the instruction just completed.
 */
void vmm_x86_complete_insn(struct vmm_x86_vcpu *xv, unsigned long next_rip)
{
	vmm_rip_write(xv, next_rip);
	vmm_x86_call(set_interrupt_shadow)(xv, false);
	/*
	 * RFLAGS.TF: the single-step trap the CPU would raise after the
	 * instruction (kvm_vcpu_do_singlestep()): #DB with DR6.BS.
	 */
	if ((vmm_rflags_read(xv) & X86_EFLAGS_TF) && !xv->exc.pending) {
		xv->dr6 = (xv->dr6 & ~(unsigned long)DR_TRAP_BITS) | DR_STEP;
		vmm_x86_queue_exception(xv, X86_TRAP_DB, false, 0);
	}
}

/* ---- registers --------------------------------------------------------- */

static void vmm_x86_get_regs(struct vmm_x86_vcpu *xv, struct vmm_regs *r)
{
	r->rax = vmm_reg_read(xv, VMM_REG_RAX);
	r->rbx = vmm_reg_read(xv, VMM_REG_RBX);
	r->rcx = vmm_reg_read(xv, VMM_REG_RCX);
	r->rdx = vmm_reg_read(xv, VMM_REG_RDX);
	r->rsi = vmm_reg_read(xv, VMM_REG_RSI);
	r->rdi = vmm_reg_read(xv, VMM_REG_RDI);
	r->rsp = vmm_reg_read(xv, VMM_REG_RSP);
	r->rbp = vmm_reg_read(xv, VMM_REG_RBP);
	r->r8 = vmm_reg_read(xv, VMM_REG_R8);
	r->r9 = vmm_reg_read(xv, VMM_REG_R9);
	r->r10 = vmm_reg_read(xv, VMM_REG_R10);
	r->r11 = vmm_reg_read(xv, VMM_REG_R11);
	r->r12 = vmm_reg_read(xv, VMM_REG_R12);
	r->r13 = vmm_reg_read(xv, VMM_REG_R13);
	r->r14 = vmm_reg_read(xv, VMM_REG_R14);
	r->r15 = vmm_reg_read(xv, VMM_REG_R15);
	r->rip = vmm_rip_read(xv);
	r->rflags = vmm_rflags_read(xv);
}

static void vmm_x86_set_regs(struct vmm_x86_vcpu *xv, const struct vmm_regs *r)
{
	vmm_reg_write(xv, VMM_REG_RAX, r->rax);
	vmm_reg_write(xv, VMM_REG_RBX, r->rbx);
	vmm_reg_write(xv, VMM_REG_RCX, r->rcx);
	vmm_reg_write(xv, VMM_REG_RDX, r->rdx);
	vmm_reg_write(xv, VMM_REG_RSI, r->rsi);
	vmm_reg_write(xv, VMM_REG_RDI, r->rdi);
	vmm_reg_write(xv, VMM_REG_RSP, r->rsp);
	vmm_reg_write(xv, VMM_REG_RBP, r->rbp);
	vmm_reg_write(xv, VMM_REG_R8, r->r8);
	vmm_reg_write(xv, VMM_REG_R9, r->r9);
	vmm_reg_write(xv, VMM_REG_R10, r->r10);
	vmm_reg_write(xv, VMM_REG_R11, r->r11);
	vmm_reg_write(xv, VMM_REG_R12, r->r12);
	vmm_reg_write(xv, VMM_REG_R13, r->r13);
	vmm_reg_write(xv, VMM_REG_R14, r->r14);
	vmm_reg_write(xv, VMM_REG_R15, r->r15);
	vmm_rip_write(xv, r->rip);
	/* Bit 1 of RFLAGS always reads as 1. */
	vmm_rflags_write(xv, r->rflags | X86_EFLAGS_FIXED);
	/* Like KVM: a new register state cancels a queued exception. */
	xv->exc.pending = false;
}

bool vmm_x86_valid_cr4(unsigned long cr4)
{
	return !(cr4 & ~(unsigned long)VMM_CR4_VALID);
}

/* The architectural CR0 checks of kvm_is_valid_cr0(); #GP for the guest. */
bool vmm_x86_valid_cr0(unsigned long cr0)
{
	if (cr0 >> 32)
		return false;
	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return false;
	return !((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE));
}

/* IA32_APIC_BASE: no x2APIC without CPUID, MAXPHYADDR 36. */
bool vmm_x86_valid_apic_base(u64 apic_base)
{
	return !(apic_base & (GENMASK_ULL(63, VMM_GUEST_MAXPHYADDR) | 0x6ff));
}

static bool vmm_x86_valid_sregs(const struct vmm_sregs *s)
{
	if ((s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG)) {
		if (!(s->cr4 & X86_CR4_PAE) || !(s->efer & EFER_LMA))
			return false;
		if (s->cr3 >> VMM_GUEST_MAXPHYADDR)
			return false;
	} else if ((s->efer & EFER_LMA) || s->cs.l) {
		return false;
	}
	if (!vmm_x86_valid_cr4(s->cr4) || !vmm_x86_valid_cr0(s->cr0))
		return false;
	/*
	 * EFER is not checked, as in KVM: a host-initiated write may set any
	 * bit, and state the CPU rejects ends in VMM_EXIT_FAIL_ENTRY.
	 */
	return vmm_x86_valid_apic_base(s->apic_base) && s->cr8 <= 15;
}

static void vmm_x86_get_sregs(struct vmm_x86_vcpu *xv, struct vmm_sregs *s)
{
	memset(s, 0, sizeof(*s));
	vmm_x86_call(get_sregs)(xv, s);
	s->cr8 = xv->tpr;
	s->apic_base = xv->apic_base;
	if (xv->irq.injected)
		__set_bit(xv->irq.nr, (unsigned long *)s->interrupt_bitmap);
}

static int vmm_x86_set_sregs(struct vmm_x86_vcpu *xv, const struct vmm_sregs *s)
{
	int i, irq = -1;

	if (!vmm_x86_valid_sregs(s))
		return -EINVAL;
	for (i = 0; i < VMM_NR_INTERRUPTS; i++) {
		if (test_bit(i, (const unsigned long *)s->interrupt_bitmap)) {
			irq = i;
			break;
		}
	}
	vmm_x86_call(set_sregs)(xv, s);
	/* New CR3/CR4/EFER: translations cached for the old ones are stale. */
	vmm_make_request(VMM_REQ_TLB_FLUSH_GUEST, &xv->vcpu);
	xv->tpr = s->cr8;
	xv->apic_base = s->apic_base;
	/*
	 * As KVM's __set_sregs(): the bitmap holds an interrupt that was in
	 * delivery (GET_SREGS reports it so), injected at the next entry
	 * whatever RFLAGS.IF says.
	 */
	xv->irq.injected = irq >= 0;
	xv->irq.nr = irq >= 0 ? irq : 0;
	return 0;
}

/*
 * VMM_INTERRUPT without an in-kernel irqchip, as KVM 6.1: the interrupt is
 * injected at the next entry whatever RFLAGS.IF says, replacing one queued
 * before; user space waits for ready_for_interrupt_injection first.
 */
static int vmm_x86_interrupt(struct vmm_x86_vcpu *xv,
			     const struct vmm_interrupt *irq)
{
	if (irq->irq >= VMM_NR_INTERRUPTS)
		return -EINVAL;
	xv->irq.injected = true;
	xv->irq.nr = irq->irq;
	return 0;
}

static long vmm_x86_vcpu_ioctl(struct vmm_vcpu *vcpu, unsigned int ioctl,
			       unsigned long arg)
{
	struct vmm_x86_vcpu *xv = to_x86(vcpu);
	void __user *argp = (void __user *)arg;
	long r;

	switch (ioctl) {
	case VMM_GET_REGS: {
		struct vmm_regs regs;

		vmm_x86_get_regs(xv, &regs);
		return copy_to_user(argp, &regs, sizeof(regs)) ? -EFAULT : 0;
	}
	case VMM_SET_REGS: {
		struct vmm_regs regs;

		if (copy_from_user(&regs, argp, sizeof(regs)))
			return -EFAULT;
		vmm_x86_set_regs(xv, &regs);
		return 0;
	}
	case VMM_GET_SREGS: {
		struct vmm_sregs *sregs = kmalloc(sizeof(*sregs), GFP_KERNEL);

		if (!sregs)
			return -ENOMEM;
		vmm_x86_get_sregs(xv, sregs);
		r = copy_to_user(argp, sregs, sizeof(*sregs)) ? -EFAULT : 0;
		kfree(sregs);
		return r;
	}
	case VMM_SET_SREGS: {
		struct vmm_sregs *sregs = memdup_user(argp, sizeof(*sregs));

		if (IS_ERR(sregs))
			return PTR_ERR(sregs);
		r = vmm_x86_set_sregs(xv, sregs);
		kfree(sregs);
		return r;
	}
	case VMM_INTERRUPT: {
		struct vmm_interrupt irq;

		if (copy_from_user(&irq, argp, sizeof(irq)))
			return -EFAULT;
		return vmm_x86_interrupt(xv, &irq);
	}
	default:
		/* KVM on x86 answers unknown vCPU ioctls with -EINVAL. */
		return -EINVAL;
	}
}

/* ---- port I/O ---------------------------------------------------------- */

static void *vmm_pio_data(struct vmm_x86_vcpu *xv)
{
	return page_address(xv->vcpu.mmap_pages[1]);
}

static unsigned long vmm_addr_mask(u8 addr_size)
{
	return addr_size == 8 ? ~0UL : (1UL << (addr_size * 8)) - 1;
}

/* Write @val to the low @size bytes of a register, as the CPU would. */
static void vmm_reg_write_sized(struct vmm_x86_vcpu *xv, int reg, u8 size,
				unsigned long val)
{
	unsigned long mask;

	if (size >= 4) {
		/* 32-bit writes zero-extend. */
		vmm_reg_write(xv, reg, size == 8 ? val : (u32)val);
		return;
	}
	mask = (1UL << (size * 8)) - 1;
	vmm_reg_write(xv, reg, (vmm_reg_read(xv, reg) & ~mask) | (val & mask));
}

/* Advance an index register of a string instruction by @delta bytes. */
static void vmm_reg_advance(struct vmm_x86_vcpu *xv, int reg, u8 addr_size,
			    long delta)
{
	vmm_reg_write_sized(xv, reg, addr_size, vmm_reg_read(xv, reg) + delta);
}

/*
 * A string I/O operand could not be accessed: a queued #PF, or a page
 * walk that lost its race with other vCPUs too often, re-enters the
 * guest; memory outside every memslot is not emulated.
 */
static int vmm_x86_string_io_failed(struct vmm_x86_vcpu *xv, int r)
{
	u64 data[2] = { vmm_rip_read(xv), xv->pio.port };

	if (r == VMM_X86_EXCEPTION || r == VMM_X86_RETRY)
		return 1;
	if (r != -EFAULT)
		return r;
	vmm_x86_internal_error(xv, VMM_INTERNAL_ERROR_EMULATION, 2, data);
	return 0;
}

/*
 * Check the first element (@size bytes at offset @off) of a string
 * operand as the CPU does, as KVM's __linearize(): in 64-bit mode the
 * linear address must be canonical; otherwise the segment must be usable,
 * writable data for INS (@write; in real mode only its W bit counts),
 * readable for OUTS (not an execute-only code segment), and hold the
 * element within its limit.  A fault is #SS(0) for an SS-based operand,
 * #GP(0) otherwise.  Returns how many bytes from @off are within the
 * segment (at least @size), or 0 after queueing the fault.
 */
static unsigned long vmm_x86_str_check(struct vmm_x86_vcpu *xv,
				       const struct vmm_x86_str_op *op,
				       unsigned long off, u8 size, bool write)
{
	const struct vmm_segment *seg = &op->seg;
	unsigned long lo = 0, hi = seg->limit;

	if (op->mode64) {
		unsigned long la = seg->base + off;

		/* No LA57 for the guest: 48-bit linear addresses. */
		if (!__is_canonical_address(la, 48) ||
		    !__is_canonical_address(la + size - 1, 48))
			goto fault;
		return ~0UL;
	}
	if (seg->unusable)
		goto fault;
	/* code segment outside real mode, or read-only data */
	if (write && ((!op->real && (seg->type & 8)) || !(seg->type & 2)))
		goto fault;
	/* execute-only code segment */
	if (!write && (seg->type & 8) && !(seg->type & 2))
		goto fault;
	/* A data segment with the expand-down bit: valid above the limit. */
	if ((seg->type & 0xc) == 0x4) {
		lo = (unsigned long)seg->limit + 1;
		hi = seg->db ? 0xffffffffUL : 0xffffUL;
	}
	if (off < lo || off > hi || hi - off < size - 1)
		goto fault;
	return hi - off + 1;
fault:
	vmm_x86_queue_exception(xv, op->ss ? X86_TRAP_SS : X86_TRAP_GP,
				true, 0);
	return 0;
}

/*
 * IN or OUT that a device on the in-kernel PIO bus handles (an ioeventfd,
 * ...) completes here, without an exit.  Returns 0 if it did.
 */
static int vmm_x86_pio_bus(struct vmm_x86_vcpu *xv, u16 port, u8 size,
			   bool in, unsigned long next_rip)
{
	unsigned long val = 0;
	int r;

	if (in) {
		r = vmm_io_bus_read(&xv->vcpu, VMM_PIO_BUS, port, size, &val);
		if (!r)
			vmm_reg_write_sized(xv, VMM_REG_RAX, size, val);
	} else {
		val = vmm_reg_read(xv, VMM_REG_RAX);
		r = vmm_io_bus_write(&xv->vcpu, VMM_PIO_BUS, port, size, &val);
	}
	if (!r)
		vmm_x86_complete_insn(xv, next_rip);
	return r;
}

static int vmm_x86_complete_pio(struct vmm_x86_vcpu *xv);

/*
 * String I/O at a port where a device on the PIO bus sits, as KVM's
 * emulator does it: OUTS goes one element at a time, and the first one no
 * device takes exits alone; INS reads all of xv->pio.count elements from
 * the devices if one takes the first (later ones refused read as 0).
 * What the devices did completes here, as far as it goes.  -EOPNOTSUPP:
 * the exit to user space is set up in xv->pio, @data holds the OUTS data.
 */
static int vmm_x86_string_pio_bus(struct vmm_x86_vcpu *xv, void *data)
{
	struct vmm_x86_pio *pio = &xv->pio;
	u32 i;
	int r;

	if (!vmm_io_bus_has_dev(xv->vcpu.vm, VMM_PIO_BUS, pio->port,
				pio->size))
		return -EOPNOTSUPP;
	for (i = 0; i < pio->count; i++) {
		void *p = data + i * pio->size;

		if (pio->in)
			r = vmm_io_bus_read(&xv->vcpu, VMM_PIO_BUS, pio->port,
					    pio->size, p);
		else
			r = vmm_io_bus_write(&xv->vcpu, VMM_PIO_BUS, pio->port,
					     pio->size, p);
		if (r)
			break;
	}
	if (!i) {
		if (!pio->in)
			pio->count = 1;
		return -EOPNOTSUPP;
	}
	if (pio->in)
		memset(data + i * pio->size, 0, (pio->count - i) * pio->size);
	else
		pio->count = i;
	return vmm_x86_complete_pio(xv);
}

int vmm_x86_handle_io(struct vmm_x86_vcpu *xv, u16 port, u8 size, bool in,
		      bool rep, const struct vmm_x86_str_op *op,
		      unsigned long next_rip)
{
	struct vmm_run *run = xv->vcpu.run;
	struct vmm_x86_pio *pio = &xv->pio;
	unsigned long count = 1;
	void *data = vmm_pio_data(xv);
	int r;

	if (!op && !vmm_x86_pio_bus(xv, port, size, in, next_rip))
		return 1;

	pio->port = port;
	pio->size = size;
	pio->in = in;
	pio->string = op != NULL;
	pio->rep = rep;
	pio->down = !!(vmm_rflags_read(xv) & X86_EFLAGS_DF);
	pio->addr_size = op ? op->addr_size : 0;
	pio->rip = vmm_rip_read(xv);
	pio->next_rip = next_rip;

	if (op) {
		int reg = in ? VMM_REG_RDI : VMM_REG_RSI;
		unsigned long mask = vmm_addr_mask(op->addr_size);
		unsigned long off = vmm_reg_read(xv, reg) & mask;
		unsigned long addr, avail;

		if (rep) {
			count = vmm_reg_read(xv, VMM_REG_RCX) &
				vmm_addr_mask(op->addr_size);
			if (!count) {
				vmm_x86_complete_insn(xv, next_rip);
				return 1;
			}
		}
		avail = vmm_x86_str_check(xv, op, off, size, in);
		if (!avail)
			return 1;
		pio->lin_mask = op->mode64 ? ~0UL : 0xffffffffUL;
		pio->seg_base = op->seg.base;
		addr = (pio->seg_base + off) & pio->lin_mask;
		/*
		 * Stay within one guest page, the data page and the segment
		 * limit.
		 */
		if (pio->down)
			count = 1;
		else
			count = min(count, (PAGE_SIZE - offset_in_page(addr)) / size);
		count = min(count, avail / size);
		/*
		 * With a 16- or 32-bit address size, rSI/rDI wraps within the
		 * segment: the elements after the wrap are at its start, not
		 * after these.  Stop at the wrap.
		 */
		if (!pio->down && op->addr_size != 8)
			count = min(count, (mask - off) / size + 1);
		count = max(count, 1UL);
		count = min(count, PAGE_SIZE / size);
		if (!in) {
			r = vmm_x86_read_guest_virt(xv, addr, data, count * size);
			if (r)
				return vmm_x86_string_io_failed(xv, r);
		}
	} else if (!in) {
		unsigned long rax = vmm_reg_read(xv, VMM_REG_RAX);

		memcpy(data, &rax, size);
	}

	pio->count = count;
	if (op) {
		r = vmm_x86_string_pio_bus(xv, data);
		if (r != -EOPNOTSUPP)
			return r;
	}
	xv->pending = in ? VMM_PENDING_PIO_IN : VMM_PENDING_PIO_OUT;
	run->exit_reason = VMM_EXIT_IO;
	run->io.direction = in ? VMM_EXIT_IO_IN : VMM_EXIT_IO_OUT;
	run->io.size = size;
	run->io.port = port;
	run->io.count = pio->count;
	run->io.data_offset = VMM_PIO_DATA_OFFSET;
	return 0;
}

/* Finish the I/O instruction the last exit handed to user space. */
static int vmm_x86_complete_pio(struct vmm_x86_vcpu *xv)
{
	struct vmm_x86_pio *pio = &xv->pio;
	void *data = vmm_pio_data(xv);
	long delta = (long)pio->count * pio->size;
	int r, reg;

	/*
	 * User space moved RIP (SET_REGS) after the exit: the instruction is
	 * abandoned, not completed, as KVM's complete_fast_pio_*() do.
	 */
	if (vmm_rip_read(xv) != pio->rip)
		return 1;
	if (!pio->string) {
		if (pio->in) {
			unsigned long val = 0;

			memcpy(&val, data, pio->size);
			vmm_reg_write_sized(xv, VMM_REG_RAX, pio->size, val);
		}
		vmm_x86_complete_insn(xv, pio->next_rip);
		return 1;
	}

	reg = pio->in ? VMM_REG_RDI : VMM_REG_RSI;
	if (pio->in) {
		unsigned long addr = (pio->seg_base + (vmm_reg_read(xv, reg) &
				      vmm_addr_mask(pio->addr_size))) &
				     pio->lin_mask;

		r = vmm_x86_write_guest_virt(xv, addr, data, delta);
		if (r)
			return vmm_x86_string_io_failed(xv, r);
	}
	vmm_reg_advance(xv, reg, pio->addr_size, pio->down ? -delta : delta);
	if (pio->rep) {
		vmm_reg_advance(xv, VMM_REG_RCX, pio->addr_size, -(long)pio->count);
		/* Re-execute the instruction until RCX is exhausted. */
		if (vmm_reg_read(xv, VMM_REG_RCX) & vmm_addr_mask(pio->addr_size)) {
			vmm_x86_call(set_interrupt_shadow)(xv, false);
			return 1;
		}
	}
	vmm_x86_complete_insn(xv, pio->next_rip);
	return 1;
}

/* Write the loaded @val to the destination register, go past the load. */
void vmm_x86_mmio_load_done(struct vmm_x86_vcpu *xv, unsigned long val)
{
	struct vmm_x86_mmio_load *m = &xv->mmio;

	if (m->sign_extend) {
		if (m->len == 1)
			val = (long)(s8)val;
		else if (m->len == 2)
			val = (long)(s16)val;
		else if (m->len == 4)
			val = (long)(s32)val;
	}
	if (m->high_byte)
		vmm_reg_write(xv, m->reg,
			      (vmm_reg_read(xv, m->reg) & ~0xff00UL) |
			      ((val & 0xff) << 8));
	else
		vmm_reg_write_sized(xv, m->reg, m->dst_size, val);
	vmm_x86_complete_insn(xv, m->next_rip);
}

static int vmm_x86_complete_mmio_load(struct vmm_x86_vcpu *xv)
{
	struct vmm_x86_mmio_load *m = &xv->mmio;
	unsigned long val = 0;

	if (m->nr_frags) {
		/* A load split at a page boundary: one part per exit. */
		memcpy(m->buf + m->frag_off[m->cur_frag],
		       xv->vcpu.run->mmio.data, m->frag_len[m->cur_frag]);
		if (++m->cur_frag < m->nr_frags) {
			vmm_x86_mmio_frag_exit(xv);
			xv->pending = VMM_PENDING_MMIO_LOAD;
			return 0;
		}
		memcpy(&val, m->buf, m->len);
	} else {
		memcpy(&val, xv->vcpu.run->mmio.data, m->len);
	}
	vmm_x86_mmio_load_done(xv, val);
	return 1;
}

static int vmm_x86_complete_userspace(struct vmm_x86_vcpu *xv)
{
	enum vmm_x86_pending pending = xv->pending;

	xv->pending = VMM_PENDING_NONE;
	switch (pending) {
	case VMM_PENDING_PIO_IN:
	case VMM_PENDING_PIO_OUT:
		return vmm_x86_complete_pio(xv);
	case VMM_PENDING_MMIO_LOAD:
		return vmm_x86_complete_mmio_load(xv);
	case VMM_PENDING_MMIO_STORE:
		/* The store's second MMIO part; RIP is already past it. */
		xv->mmio.cur_frag = 1;
		vmm_x86_mmio_frag_exit(xv);
		return 0;
	default:
		return 1;
	}
}

/* ---- VMM_RUN ----------------------------------------------------------- */

/*
 * As kvm_vcpu_ready_for_interrupt_injection(): user space may inject an
 * interrupt now.  Interrupts are not blocked, none is queued or in
 * delivery, and no exception is pending, so that user space may also
 * change the registers to deliver one itself.
 */
static bool vmm_x86_ready_for_interrupt(struct vmm_x86_vcpu *xv)
{
	return vmm_x86_call(interrupt_allowed)(xv) && !xv->irq.injected &&
	       !xv->exc.injected && !xv->exc.pending;
}

static void vmm_x86_post_run(struct vmm_x86_vcpu *xv)
{
	struct vmm_run *run = xv->vcpu.run;

	run->if_flag = !!(vmm_rflags_read(xv) & X86_EFLAGS_IF);
	run->cr8 = xv->tpr;
	run->apic_base = xv->apic_base;
	run->ready_for_interrupt_injection = vmm_x86_ready_for_interrupt(xv);
}

/*
 * Events for the next entry, as KVM's kvm_check_and_inject_events(): what
 * an exit cut short in delivery goes again first, then a new exception.
 * A pending exception goes before an interrupt in delivery, which is
 * dropped as KVM drops it: the injection holds one event.
 */
static void vmm_x86_inject_events(struct vmm_x86_vcpu *xv)
{
	if (xv->exc.injected)
		vmm_x86_call(inject_exception)(xv);
	else if (!xv->exc.pending && xv->irq.injected)
		vmm_x86_call(inject_irq)(xv, true);

	if (xv->exc.pending) {
		xv->exc.pending = false;
		xv->exc.injected = true;
		vmm_x86_call(inject_exception)(xv);
	}
}

/*
 * One entry into the guest and its exit, as KVM's vcpu_enter_guest():
 * > 0 to go round again, 0 for user space, < 0 for an error.
 */
static int vmm_x86_enter_guest(struct vmm_x86_vcpu *xv)
{
	struct vmm_vcpu *vcpu = &xv->vcpu;
	u32 exits;

	/* Disables preemption until kernel_fpu_end(). */
	kernel_fpu_begin();
	local_irq_disable();
	/*
	 * The hardware is on in every online CPU while a VM exists, but this
	 * CPU may be on its way down (the hotplug teardown turned it off and
	 * the scheduler has not moved us yet) or up, or the host is
	 * rebooting.  Entering would #UD: wait for the scheduler instead.
	 */
	if (unlikely(!vmm_hardware_enabled_this_cpu())) {
		local_irq_enable();
		kernel_fpu_end();
		if (vmm_hardware_rebooting())
			return -EIO;
		schedule_timeout_uninterruptible(1);
		return 1;
	}
	WRITE_ONCE(vcpu->cpu, smp_processor_id());
	WRITE_ONCE(vcpu->mode, VMM_IN_GUEST_MODE);
	/*
	 * Mode before requests, pairs with vmm_vcpu_exiting_guest_mode(): a
	 * kick either sees IN_GUEST_MODE and sends its IPI (taken as an
	 * exit right after the entry), or its request is seen below.  A
	 * kick that lands between the mode write and here leaves
	 * EXITING_GUEST_MODE: go round the loop once more.
	 */
	smp_mb();
	if (vmm_vcpu_work_pending() ||
	    READ_ONCE(vcpu->mode) == VMM_EXITING_GUEST_MODE) {
		WRITE_ONCE(vcpu->mode, VMM_OUTSIDE_GUEST_MODE);
		local_irq_enable();
		kernel_fpu_end();
		return 1;
	}
	/*
	 * Requests are consumed here, after IN_GUEST_MODE is visible, so
	 * none is lost: one made earlier is seen, one made later comes with
	 * an IPI (vmm_vcpu_kick()).  Every request vmm defines is handled
	 * here; a new one must be too.
	 */
	if (vmm_check_request(vcpu, VMM_REQ_TLB_FLUSH))
		vmm_x86_call(flush_tlb_all)(xv);
	if (vmm_check_request(vcpu, VMM_REQ_TLB_FLUSH_GUEST))
		vmm_x86_call(flush_tlb_guest)(xv);
	vmm_x86_inject_events(xv);
	/*
	 * User space asks to be told when it may inject (dm_request_for_irq_
	 * injection() in KVM): have the guest exit as soon as it can take an
	 * interrupt, unless one is already queued.
	 */
	if (vcpu->run->request_interrupt_window && !xv->irq.injected)
		vmm_x86_call(enable_irq_window)(xv);

	asm volatile("fxrstor64 %0" : : "m" (*xv->fpu));
	/* Ticks from here to guest_timing_exit_irqoff() are guest time. */
	guest_timing_enter_irqoff();
	exits = vmm_x86_call(vcpu_run)(xv);
	asm volatile("fxsave64 %0" : "=m" (*xv->fpu));

	WRITE_ONCE(vcpu->mode, VMM_OUTSIDE_GUEST_MODE);
	/*
	 * Take the interrupt that caused the exit, and any tick since, while
	 * PF_VCPU still charges the tick to the guest (vcpu_enter_guest()
	 * does the same).  STI's shadow needs one instruction before CLI.
	 */
	local_irq_enable();
	xv->stat_exits += exits;
	local_irq_disable();
	guest_timing_exit_irqoff();
	local_irq_enable();
	kernel_fpu_end();

	return vmm_x86_call(handle_exit)(xv);
}

static int vmm_x86_vcpu_run(struct vmm_vcpu *vcpu)
{
	struct vmm_x86_vcpu *xv = to_x86(vcpu);
	struct vmm_run *run = vcpu->run;
	int r;

	run->flags = 0;
	if (run->kvm_valid_regs || run->kvm_dirty_regs) {
		r = -EINVAL;
		goto out;
	}
	if (run->cr8 > 15) {
		r = -EINVAL;
		goto out;
	}
	xv->tpr = run->cr8;

	if (xv->pending != VMM_PENDING_NONE) {
		r = vmm_x86_complete_userspace(xv);
		if (r <= 0)
			goto out;
	}
	if (READ_ONCE(run->immediate_exit)) {
		r = -EINTR;
		goto out;
	}

	for (;;) {
		r = vmm_vcpu_handle_work(vcpu);
		if (r)
			break;
		r = vmm_x86_enter_guest(xv);
		if (r <= 0)
			break;
		if (run->request_interrupt_window &&
		    vmm_x86_ready_for_interrupt(xv)) {
			run->exit_reason = VMM_EXIT_IRQ_WINDOW_OPEN;
			r = 0;
			break;
		}
	}
out:
	vmm_x86_post_run(xv);
	return r;
}

/* ---- VMs and vCPUs ----------------------------------------------------- */

void vmm_x86_vcpu_reset(struct vmm_x86_vcpu *xv)
{
	memset(xv->regs, 0, sizeof(xv->regs));
	xv->regs_avail = ~0UL;
	xv->regs_dirty = ~0UL;
	/* EDX holds the CPUID.1 signature at reset, 0x600 without CPUID. */
	vmm_reg_write(xv, VMM_REG_RDX, 0x600);
	vmm_rip_write(xv, 0xfff0);
	vmm_rflags_write(xv, X86_EFLAGS_FIXED);
	xv->pending = VMM_PENDING_NONE;
	memset(&xv->exc, 0, sizeof(xv->exc));
	memset(&xv->irq, 0, sizeof(xv->irq));
	memset(xv->db, 0, sizeof(xv->db));
	xv->dr6 = VMM_DR6_INIT;
	xv->dr7 = VMM_DR7_INIT;
	/* As KVM without an in-kernel APIC: enabled, BSP for vCPU 0. */
	xv->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE |
			(xv->vcpu.vcpu_id == 0 ? MSR_IA32_APICBASE_BSP : 0);
	xv->tpr = 0;
	xv->efer = 0;
	xv->pat = 0x0007040600070406ULL;	/* the power-on default */
	memset(xv->fpu, 0, sizeof(*xv->fpu));
	xv->fpu->cwd = 0x37f;
	xv->fpu->mxcsr = MXCSR_DEFAULT;
	vmm_x86_call(vcpu_reset)(xv);
}

static struct vmm_vcpu *vmm_x86_vcpu_alloc(void)
{
	struct vmm_x86_vcpu *xv = kzalloc(vmm_x86->vcpu_size,
					  GFP_KERNEL_ACCOUNT);

	return xv ? &xv->vcpu : NULL;
}

static void vmm_x86_vcpu_free(struct vmm_vcpu *vcpu)
{
	kfree(to_x86(vcpu));
}

static struct vmm_vm *vmm_x86_vm_alloc(void)
{
	struct vmm_x86_vm *xvm = kzalloc(vmm_x86->vm_size, GFP_KERNEL_ACCOUNT);

	return xvm ? &xvm->vm : NULL;
}

static void vmm_x86_vm_free(struct vmm_vm *vm)
{
	kfree(to_x86_vm(vm));
}

static int vmm_x86_vcpu_create(struct vmm_vcpu *vcpu)
{
	struct vmm_x86_vcpu *xv = to_x86(vcpu);
	int r;

	/* kmalloc of a power-of-two size is naturally aligned. */
	BUILD_BUG_ON(sizeof(struct fxregs_state) != 512);
	xv->fpu = kzalloc(sizeof(*xv->fpu), GFP_KERNEL_ACCOUNT);
	xv->walk_sregs = kzalloc(sizeof(*xv->walk_sregs), GFP_KERNEL_ACCOUNT);
	if (!xv->fpu || !xv->walk_sregs) {
		r = -ENOMEM;
		goto err;
	}
	r = vmm_x86_call(vcpu_create)(xv);
	if (r)
		goto err;
	vmm_x86_vcpu_reset(xv);
	return 0;
err:
	kfree(xv->walk_sregs);
	kfree(xv->fpu);
	return r;
}

static void vmm_x86_vcpu_destroy(struct vmm_vcpu *vcpu)
{
	struct vmm_x86_vcpu *xv = to_x86(vcpu);

	vmm_x86_call(vcpu_destroy)(xv);
	kfree(xv->walk_sregs);
	kfree(xv->fpu);
}

static int vmm_x86_vm_init(struct vmm_vm *vm, unsigned long type)
{
	/* x86 has one VM type, 0 (KVM_X86_DEFAULT_VM). */
	if (type)
		return -EINVAL;
	return vmm_x86_call(vm_init)(vm);
}

static void vmm_x86_vm_destroy(struct vmm_vm *vm)
{
	vmm_x86_call(vm_destroy)(vm);
}

static long vmm_x86_check_extension(struct vmm_vm *vm, long ext)
{
	switch (ext) {
	case VMM_CAP_HLT:
	case VMM_CAP_IOEVENTFD:
	case VMM_CAP_IOEVENTFD_NO_LENGTH:
		return 1;
	default:
		return 0;
	}
}

static int vmm_x86_vm_enable_cap(struct vmm_vm *vm, struct vmm_enable_cap *cap)
{
	/* No capability can be enabled yet. */
	return -EINVAL;
}

static long vmm_x86_vm_ioctl(struct vmm_vm *vm, unsigned int ioctl,
			     unsigned long arg)
{
	return -ENOTTY;
}

static bool vmm_x86_unmap_gfn_range(struct vmm_vm *vm, gfn_t start, gfn_t end)
{
	struct vmm_x86_vm *xvm = to_x86_vm(vm);

	return xvm->tdp ? vmm_tdp_unmap_range(xvm->tdp, start, end) : false;
}

/* None yet; KVM on x86 answers unknown system ioctls with -EINVAL. */
static long vmm_x86_dev_ioctl(unsigned int ioctl, unsigned long arg)
{
	return -EINVAL;
}

static void vmm_x86_vcpu_load(struct vmm_vcpu *vcpu, int cpu)
{
	vmm_x86_call(vcpu_load)(to_x86(vcpu), cpu);
}

static void vmm_x86_vcpu_put(struct vmm_vcpu *vcpu)
{
	vmm_x86_call(vcpu_put)(to_x86(vcpu));
}

static bool vmm_x86_age_gfn_range(struct vmm_vm *vm, gfn_t start, gfn_t end,
				  bool clear)
{
	struct vmm_x86_vm *xvm = to_x86_vm(vm);

	return xvm->tdp ? vmm_tdp_age_range(xvm->tdp, start, end, clear) :
			  false;
}

/*
 * As kvm_arch_prepare_memory_region(): a slot must lie within host
 * MAXPHYADDR and what the NPT's levels can translate (48 or 57 bits), as
 * kvm_mmu_max_gfn() says.  No per-slot data yet.
 */
static int vmm_x86_prepare_memory_region(struct vmm_vm *vm,
					 const struct vmm_memslot *old,
					 struct vmm_memslot *new,
					 enum vmm_mr_change change)
{
	struct vmm_x86_vm *xvm = to_x86_vm(vm);

	if (change == VMM_MR_DELETE)
		return 0;
	if (!xvm->tdp ||
	    new->base_gfn + new->npages - 1 > vmm_tdp_max_gfn(xvm->tdp))
		return -EINVAL;
	return 0;
}

static void vmm_x86_commit_memory_region(struct vmm_vm *vm,
					 struct vmm_memslot *old,
					 const struct vmm_memslot *new,
					 enum vmm_mr_change change)
{
}

static int vmm_x86_hardware_enable(void)
{
	return vmm_x86->hardware_enable();
}

static void vmm_x86_hardware_disable(void)
{
	vmm_x86->hardware_disable();
}

static int vmm_x86_init(void)
{
	vmm_x86 = &vmm_svm_ops;
#define VMM_X86_OP(func)	static_call_update(vmm_x86_##func, vmm_x86->func)
#include "x86-ops.h"
	return vmm_x86->init();
}

static void vmm_x86_exit(void)
{
	vmm_x86->exit();
}

const struct vmm_arch_ops vmm_arch_ops = {
	.name			= "x86",
	.vcpu_mmap_pages	= 2,	/* struct vmm_run + port I/O data */
	.init			= vmm_x86_init,
	.exit			= vmm_x86_exit,
	.hardware_enable	= vmm_x86_hardware_enable,
	.hardware_disable	= vmm_x86_hardware_disable,
	.vm_alloc		= vmm_x86_vm_alloc,
	.vm_free		= vmm_x86_vm_free,
	.vcpu_alloc		= vmm_x86_vcpu_alloc,
	.vcpu_free		= vmm_x86_vcpu_free,
	.vm_init		= vmm_x86_vm_init,
	.vm_destroy		= vmm_x86_vm_destroy,
	.check_extension	= vmm_x86_check_extension,
	.vm_enable_cap		= vmm_x86_vm_enable_cap,
	.vm_ioctl		= vmm_x86_vm_ioctl,
	.vcpu_create		= vmm_x86_vcpu_create,
	.vcpu_destroy		= vmm_x86_vcpu_destroy,
	.vcpu_ioctl		= vmm_x86_vcpu_ioctl,
	.dev_ioctl		= vmm_x86_dev_ioctl,
	.vcpu_load		= vmm_x86_vcpu_load,
	.vcpu_put		= vmm_x86_vcpu_put,
	.vcpu_run		= vmm_x86_vcpu_run,
	.unmap_gfn_range	= vmm_x86_unmap_gfn_range,
	.age_gfn_range		= vmm_x86_age_gfn_range,
	.prepare_memory_region	= vmm_x86_prepare_memory_region,
	.commit_memory_region	= vmm_x86_commit_memory_region,
};
