// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm: the x86 exits that are not vendor-specific.
 *
 * CPUID, HLT, VMMCALL/VMCALL, RDMSR/WRMSR, MOV to CR0/CR4 (with CLTS and
 * LMSW) and MOV to/from DRn mean the same on SVM and VMX; the vendor
 * decodes its exit information, calls the handler here, and provides the
 * few state accessors it needs (struct vmm_x86_ops: CR0, CR4, EFER, PAT,
 * CS.L/D, CPL).  Every handler returns as the vendor's handle_exit() does:
 * > 0 to re-enter, 0 to return to user space, < 0 for an error of VMM_RUN.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <asm/apicdef.h>
#include <asm/debugreg.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/trapnr.h>
#include "x86.h"

/* KVM's hypercall errors (include/uapi/linux/kvm_para.h). */
#define VMM_HC_ENOSYS	1000
#define VMM_HC_EPERM	1

#define EFER_GUEST_RESERVED	(~(u64)(EFER_SCE | EFER_LME | EFER_LMA))

int vmm_x86_inject_gp(struct vmm_x86_vcpu *xv)
{
	vmm_x86_queue_exception(xv, X86_TRAP_GP, true, 0);
	return 1;
}

int vmm_x86_inject_ud(struct vmm_x86_vcpu *xv)
{
	vmm_x86_queue_exception(xv, X86_TRAP_UD, false, 0);
	return 1;
}

/* 64-bit mode: long mode active and a 64-bit code segment. */
bool vmm_x86_long_mode(struct vmm_x86_vcpu *xv)
{
	int db, l;

	if (!(xv->efer & EFER_LMA))
		return false;
	vmm_x86_call(get_cs_db_l_bits)(xv, &db, &l);
	return l;
}

int vmm_x86_handle_cpuid(struct vmm_x86_vcpu *xv)
{
	/* No CPUID table (yet): every leaf reads as zero, as in KVM. */
	vmm_reg_write(xv, VMM_REG_RAX, 0);
	vmm_reg_write(xv, VMM_REG_RBX, 0);
	vmm_reg_write(xv, VMM_REG_RCX, 0);
	vmm_reg_write(xv, VMM_REG_RDX, 0);
	return vmm_x86_skip_insn(xv, 2);
}

int vmm_x86_handle_hlt(struct vmm_x86_vcpu *xv)
{
	int r = vmm_x86_skip_insn(xv, 1);

	if (r <= 0)
		return r;
	xv->vcpu.run->exit_reason = VMM_EXIT_HLT;
	return 0;
}

/* VMMCALL (3 bytes) or VMCALL (3 bytes). */
int vmm_x86_handle_hypercall(struct vmm_x86_vcpu *xv)
{
	unsigned long ret;

	/* No hypercall is implemented; KVM's error codes. */
	ret = vmm_x86_call(get_cpl)(xv) ? -VMM_HC_EPERM : -VMM_HC_ENOSYS;
	if (!vmm_x86_long_mode(xv))
		ret = (u32)ret;
	vmm_reg_write(xv, VMM_REG_RAX, ret);
	return vmm_x86_skip_insn(xv, 3);
}

static bool vmm_x86_pat_valid(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 t = pat >> (i * 8);

		if (t > 7 || t == 2 || t == 3)
			return false;
	}
	return true;
}

int vmm_x86_handle_msr(struct vmm_x86_vcpu *xv, bool write)
{
	u32 msr = vmm_reg_read(xv, VMM_REG_RCX);
	u64 data = (u32)vmm_reg_read(xv, VMM_REG_RAX) |
		   (u64)(u32)vmm_reg_read(xv, VMM_REG_RDX) << 32;

	switch (msr) {
	case MSR_EFER:
		if (!write) {
			data = xv->efer;
			break;
		}
		/*
		 * Without a CPUID table the guest has neither long mode nor
		 * NX, so only SCE is writable (KVM: __kvm_valid_efer()).
		 */
		if ((data & EFER_GUEST_RESERVED) ||
		    (data & (EFER_LME | EFER_NX)) != (xv->efer & EFER_LME))
			return vmm_x86_inject_gp(xv);
		xv->efer = (data & ~EFER_LMA) | (xv->efer & EFER_LMA);
		vmm_x86_call(set_efer)(xv, xv->efer);
		break;
	case MSR_IA32_CR_PAT:
		if (!write) {
			data = xv->pat;
			break;
		}
		if (!vmm_x86_pat_valid(data))
			return vmm_x86_inject_gp(xv);
		xv->pat = data;
		vmm_x86_call(set_pat)(xv, data);
		break;
	case MSR_IA32_APICBASE:
		if (!write) {
			data = xv->apic_base;
			break;
		}
		if (!vmm_x86_valid_apic_base(data))
			return vmm_x86_inject_gp(xv);
		xv->apic_base = data;
		break;
	case MSR_IA32_TSC:
		if (write)
			return vmm_x86_inject_gp(xv);
		data = rdtsc();
		break;
	default:
		return vmm_x86_inject_gp(xv);
	}
	if (!write) {
		vmm_reg_write(xv, VMM_REG_RAX, (u32)data);
		vmm_reg_write(xv, VMM_REG_RDX, data >> 32);
	}
	return vmm_x86_skip_insn(xv, 2);
}

/* As kvm_set_cr0(), for what vmm virtualizes. */
static int vmm_x86_set_cr0(struct vmm_x86_vcpu *xv, unsigned long val)
{
	unsigned long old = vmm_x86_call(get_cr0)(xv);
	int db, l;

	if (!vmm_x86_valid_cr0(val))
		return vmm_x86_inject_gp(xv);
	/*
	 * Long mode needs PAE, and CS.L = 1 would make the code segment
	 * 64-bit without a transition through compatibility mode.
	 */
	if ((val & X86_CR0_PG) && !(old & X86_CR0_PG) &&
	    (xv->efer & EFER_LME)) {
		vmm_x86_call(get_cs_db_l_bits)(xv, &db, &l);
		if (!(vmm_x86_call(get_cr4)(xv) & X86_CR4_PAE) || l)
			return vmm_x86_inject_gp(xv);
		xv->efer |= EFER_LMA;
	}
	vmm_x86_call(set_cr0)(xv, val | X86_CR0_ET);
	return 0;
}

static int vmm_x86_set_cr4(struct vmm_x86_vcpu *xv, unsigned long val)
{
	if (!vmm_x86_valid_cr4(val))
		return vmm_x86_inject_gp(xv);
	if ((xv->efer & EFER_LMA) && !(val & X86_CR4_PAE))
		return vmm_x86_inject_gp(xv);
	vmm_x86_call(set_cr4)(xv, val);
	return 0;
}

/*
 * An intercepted write of CR @exit_cr (0 or 4) by MOV, CLTS or LMSW at RIP.
 * An instruction that writes another CR (the guest changed the bytes since
 * the exit) gets #GP, as before the exit handling was shared.
 */
int vmm_x86_handle_cr_write(struct vmm_x86_vcpu *xv, int exit_cr)
{
	unsigned long val;
	int cr, r;

	r = vmm_x86_decode_cr_write(xv, vmm_x86_call(get_cr0)(xv), &cr, &val);
	if (r <= 0 || cr < 0)
		return r;
	if (cr != exit_cr)
		r = vmm_x86_inject_gp(xv);
	else if (cr == 0)
		r = vmm_x86_set_cr0(xv, val);
	else
		r = vmm_x86_set_cr4(xv, val);
	if (r)
		return r;
	vmm_x86_complete_insn(xv, xv->mmio.next_rip);
	/* A change of the paging mode flushes the guest TLB. */
	vmm_make_request(VMM_REQ_TLB_FLUSH_GUEST, &xv->vcpu);
	return 1;
}

/* An intercepted MOV to or from DRn at RIP: emulated, never armed. */
int vmm_x86_handle_dr(struct vmm_x86_vcpu *xv, bool write)
{
	int dr, gpr, r;
	unsigned long val;

	r = vmm_x86_decode_mov_crdr(xv, write ? 0x23 : 0x21, &dr, &gpr);
	if (r <= 0 || dr < 0)
		return r;
	if (dr == 4 || dr == 5) {
		if (vmm_x86_call(get_cr4)(xv) & X86_CR4_DE)
			return vmm_x86_inject_ud(xv);
		dr += 2;
	}
	if (dr > 7)
		return vmm_x86_inject_ud(xv);
	if (write) {
		/* Outside 64-bit mode the operand is 32 bits wide. */
		val = vmm_reg_read(xv, gpr);
		if (!vmm_x86_long_mode(xv))
			val = (u32)val;
		if (dr >= 6 && (val >> 32))
			return vmm_x86_inject_gp(xv);
		if (dr < 4)
			xv->db[dr] = val;
		else if (dr == 6)
			xv->dr6 = (val & VMM_DR6_VOLATILE) | VMM_DR6_FIXED_1;
		else
			xv->dr7 = (val & VMM_DR7_VOLATILE) | VMM_DR7_INIT;
	} else {
		val = dr < 4 ? xv->db[dr] : dr == 6 ? xv->dr6 : xv->dr7;
		vmm_reg_write(xv, gpr, vmm_x86_long_mode(xv) ? val : (u32)val);
	}
	vmm_x86_complete_insn(xv, xv->mmio.next_rip);
	return 1;
}
