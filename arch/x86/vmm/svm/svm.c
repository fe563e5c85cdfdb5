// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm: the AMD SVM backend (AMD APM volume 2, chapter 15).
 *
 * One VMCB per vCPU, nested paging (mmu.c) for guest memory, per-CPU
 * ASIDs.  It depends on SVM and NPT only: no next-RIP saving, decode
 * assists, flush-by-ASID or VMCB clean bits are assumed, so it also runs
 * on QEMU's TCG model of SVM.  The common code (x86.c) owns the entry;
 * this file runs the guest (svm_vcpu_run(), vmenter.S), programs event
 * injection, and decodes every exit, handling it here or in the common
 * exit handlers (exit.c, emulate.c) or turning it into a VMM_EXIT_* for
 * user space.  Nothing a guest does can WARN or BUG.
 */
#define pr_fmt(fmt) "vmm: svm: " fmt

#include <linux/kernel.h>
#include <linux/kvm_host.h>		/* guest_state_enter_irqoff() & co */
#include <linux/mem_encrypt.h>
#include <linux/percpu.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <asm/cpufeature.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/io.h>
#include <asm/mce.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/nospec-branch.h>
#include <asm/pgtable.h>
#include <asm/processor-flags.h>
#include <asm/svm.h>
#include <asm/trapnr.h>
#include "../x86.h"

void __vmm_svm_run(u64 vmcb_pa, unsigned long *regs, u64 host_save_pa);

/*
 * bench_floor: VMMCALL with this RAX ("vmmfloor") only skips the instruction,
 * so that tools/vmm-bench can time a bare VMRUN/#VMEXIT round trip.  Off by
 * default; test-only (Documentation/api.rst).
 */
#define VMM_HC_BENCH_FLOOR	0x766d6d666c6f6f72ULL
/* Floor exits resumed in a row before the normal path runs again. */
#define SVM_FLOOR_MAX		256

static bool bench_floor __read_mostly;
module_param(bench_floor, bool, 0444);
MODULE_PARM_DESC(bench_floor,
		 "Test only: VMMCALL with RAX=0x766d6d666c6f6f72 is resumed right after the #VMEXIT, to time the bare world switch (default: off)");

#define IOPM_SIZE	(3 * PAGE_SIZE)
#define MSRPM_SIZE	(2 * PAGE_SIZE)

struct svm_cpu {
	struct page *hsave;		/* MSR_VM_HSAVE_PA */
	struct page *host_save;		/* VMSAVE/VMLOAD of host state */
	u32 next_asid;
	u64 asid_generation;
	/*
	 * The ASIDs wrapped: flush them all at every VMRUN here until one
	 * has run, in case a VMRUN that fails its consistency checks drops
	 * the TLB_CONTROL it carried.
	 */
	bool flush_all_asid;
	struct vmcb *current_vmcb;	/* last VMCB run here, for IBPB */
};

struct svm_vcpu {
	struct vmm_x86_vcpu xv;		/* first: see vmm_x86_ops */
	struct vmcb *vmcb;
	u64 vmcb_pa;
	u64 asid_generation;
	int asid_cpu;
	/* A #BP or #OF of vmm's own is injected at this entry. */
	bool soft_exc_injected;
};

static DEFINE_PER_CPU(struct svm_cpu, svm_cpu);
static u32 svm_max_asid;
/* The user-return MSR slot of TSC_AUX (user_msr.c), or -1. */
static int svm_tsc_aux_slot = -1;
static void *svm_iopm;
static void *svm_msrpm;

static __always_inline struct svm_vcpu *to_svm(struct vmm_x86_vcpu *xv)
{
	return container_of(xv, struct svm_vcpu, xv);
}

static inline void svm_clgi(void)
{
	asm volatile("clgi" ::: "memory");
}

static inline void svm_stgi(void)
{
	asm volatile("stgi" ::: "memory");
}

/* ---- hardware on/off ---------------------------------------------------- */

static int svm_hardware_enable(void)
{
	struct svm_cpu *sd = this_cpu_ptr(&svm_cpu);
	u64 efer, vm_cr;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME)
		return -EBUSY;		/* another hypervisor owns SVM */
	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & SVM_VM_CR_SVM_DIS_MASK)
		return -EOPNOTSUPP;
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, __sme_set(page_to_phys(sd->hsave)));
	vmm_user_msr_cpu_enable();
	/* ASIDs handed out before are stale now. */
	sd->asid_generation++;
	sd->next_asid = svm_max_asid + 1;
	return 0;
}

static void svm_hardware_disable(void)
{
	u64 efer;

	vmm_user_msr_cpu_disable();
	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME) {
		svm_stgi();
		wrmsrl(MSR_EFER, efer & ~EFER_SVME);
	}
}

static void svm_free_cpu_pages(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sd = per_cpu_ptr(&svm_cpu, cpu);

		if (sd->hsave)
			__free_page(sd->hsave);
		if (sd->host_save)
			__free_page(sd->host_save);
		sd->hsave = NULL;
		sd->host_save = NULL;
	}
}

static void svm_msrpm_passthrough(u32 msr)
{
	u32 base, off;

	if (msr < 0x2000)
		base = 0;
	else if (msr >= 0xc0000000 && msr < 0xc0002000)
		base = 0x800;
	else
		base = 0x1000;
	off = (msr & 0x1fff) * 2;
	/* Two bits per MSR: read intercept, write intercept. */
	__clear_bit(base * 8 + off, svm_msrpm);
	__clear_bit(base * 8 + off + 1, svm_msrpm);
}

static int svm_init(void)
{
	static const u32 passthrough[] = {
		MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR,
		MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_IA32_SYSENTER_CS,
		MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	};
	int cpu, i;

	if (!boot_cpu_has(X86_FEATURE_SVM)) {
		pr_info("no AMD SVM on this CPU\n");
		return -EOPNOTSUPP;
	}
	if (!boot_cpu_has(X86_FEATURE_NPT)) {
		pr_info("SVM without nested paging is not supported\n");
		return -EOPNOTSUPP;
	}
	/* As kvm_amd's has_svm(): the firmware may lock SVM off. */
	if (native_read_msr(MSR_VM_CR) & SVM_VM_CR_SVM_DIS_MASK) {
		pr_info("SVM is disabled by the firmware\n");
		return -EOPNOTSUPP;
	}
	svm_max_asid = cpuid_ebx(SVM_CPUID_FUNC) - 1;
	if (svm_max_asid < 1)
		return -EOPNOTSUPP;
	if (boot_cpu_has(X86_FEATURE_RDTSCP) || boot_cpu_has(X86_FEATURE_RDPID))
		svm_tsc_aux_slot = vmm_user_msr_add(MSR_TSC_AUX);

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sd = per_cpu_ptr(&svm_cpu, cpu);

		sd->hsave = alloc_page(GFP_KERNEL | __GFP_ZERO);
		sd->host_save = alloc_page(GFP_KERNEL | __GFP_ZERO);
		if (!sd->hsave || !sd->host_save)
			goto err;
	}
	svm_iopm = alloc_pages_exact(IOPM_SIZE, GFP_KERNEL);
	svm_msrpm = alloc_pages_exact(MSRPM_SIZE, GFP_KERNEL);
	if (!svm_iopm || !svm_msrpm)
		goto err;
	memset(svm_iopm, 0xff, IOPM_SIZE);
	memset(svm_msrpm, 0xff, MSRPM_SIZE);
	for (i = 0; i < ARRAY_SIZE(passthrough); i++)
		svm_msrpm_passthrough(passthrough[i]);
	return 0;
err:
	if (svm_iopm)
		free_pages_exact(svm_iopm, IOPM_SIZE);
	if (svm_msrpm)
		free_pages_exact(svm_msrpm, MSRPM_SIZE);
	svm_free_cpu_pages();
	return -ENOMEM;
}

static void svm_exit(void)
{
	free_pages_exact(svm_iopm, IOPM_SIZE);
	free_pages_exact(svm_msrpm, MSRPM_SIZE);
	svm_free_cpu_pages();
}

/* ---- VMs and vCPUs ----------------------------------------------------- */

static int svm_vm_init(struct vmm_vm *vm)
{
	struct vmm_tdp *tdp = vmm_tdp_create(pgtable_l5_enabled() ? 5 : 4);

	if (!tdp)
		return -ENOMEM;
	to_x86_vm(vm)->tdp = tdp;
	return 0;
}

static void svm_vm_destroy(struct vmm_vm *vm)
{
	vmm_tdp_destroy(to_x86_vm(vm)->tdp);
	to_x86_vm(vm)->tdp = NULL;
}

static void svm_set_intercept(struct vmcb_control_area *c, int bit)
{
	c->intercepts[bit / 32] |= BIT(bit % 32);
}

static void svm_clr_intercept(struct vmcb_control_area *c, int bit)
{
	c->intercepts[bit / 32] &= ~BIT(bit % 32);
}

static void svm_init_control(struct vmm_x86_vcpu *xv)
{
	struct vmcb_control_area *c = &to_svm(xv)->vmcb->control;
	static const int intercepts[] = {
		INTERCEPT_CR4_WRITE,
		INTERCEPT_INTR, INTERCEPT_NMI, INTERCEPT_SMI, INTERCEPT_RDPMC,
		INTERCEPT_CPUID, INTERCEPT_INVD, INTERCEPT_HLT,
		INTERCEPT_INVLPGA, INTERCEPT_IOIO_PROT, INTERCEPT_MSR_PROT,
		INTERCEPT_SHUTDOWN, INTERCEPT_VMRUN, INTERCEPT_VMMCALL,
		INTERCEPT_VMLOAD, INTERCEPT_VMSAVE, INTERCEPT_STGI,
		INTERCEPT_CLGI, INTERCEPT_SKINIT, INTERCEPT_RDTSCP,
		INTERCEPT_WBINVD, INTERCEPT_MONITOR, INTERCEPT_MWAIT,
		INTERCEPT_XSETBV, INTERCEPT_RDPRU,
	};
	int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < ARRAY_SIZE(intercepts); i++)
		svm_set_intercept(c, intercepts[i]);
	/* All debug register accesses: DR0-3 are the host's. */
	c->intercepts[INTERCEPT_DR] = 0xffffffff;
	/*
	 * #DB and #AC can loop forever in delivery; #AC also split locks.
	 * #MC is the host's: a machine check in guest mode goes to the
	 * host's handler (svm_handle_mce()), never to the guest's IDT.
	 */
	c->intercepts[INTERCEPT_EXCEPTION] = BIT(X86_TRAP_DB) |
					     BIT(X86_TRAP_AC) |
					     BIT(X86_TRAP_MC);
	c->iopm_base_pa = __sme_set(__pa(svm_iopm));
	c->msrpm_base_pa = __sme_set(__pa(svm_msrpm));
	c->int_ctl = V_INTR_MASKING_MASK;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = vmm_tdp_root_pa(to_x86_vm(xv->vcpu.vm)->tdp);
}

static void svm_init_seg(struct vmcb_seg *seg, u16 attrib)
{
	seg->selector = 0;
	seg->attrib = attrib;
	seg->limit = 0xffff;
	seg->base = 0;
}

static void svm_vcpu_reset(struct vmm_x86_vcpu *xv)
{
	struct svm_vcpu *svm = to_svm(xv);
	struct vmcb_save_area *s = &svm->vmcb->save;
	u16 data = SVM_SELECTOR_P_MASK | SVM_SELECTOR_S_MASK |
		   SVM_SELECTOR_WRITE_MASK;

	svm_init_control(xv);
	memset(s, 0, sizeof(*s));
	svm_init_seg(&s->es, data);
	svm_init_seg(&s->ss, data);
	svm_init_seg(&s->ds, data);
	svm_init_seg(&s->fs, data);
	svm_init_seg(&s->gs, data);
	svm_init_seg(&s->cs, SVM_SELECTOR_READ_MASK | SVM_SELECTOR_P_MASK |
			     SVM_SELECTOR_S_MASK | SVM_SELECTOR_CODE_MASK);
	s->cs.selector = 0xf000;
	s->cs.base = 0xffff0000;
	s->gdtr.limit = 0xffff;
	s->idtr.limit = 0xffff;
	svm_init_seg(&s->ldtr, SVM_SELECTOR_P_MASK | 2);	/* LDT */
	svm_init_seg(&s->tr, SVM_SELECTOR_P_MASK | 3);	/* busy TSS16 */
	s->cr0 = X86_CR0_NW | X86_CR0_CD | X86_CR0_ET;
	s->dr6 = VMM_DR6_INIT;
	s->dr7 = VMM_DR7_INIT;
	s->efer = EFER_SVME;
	s->g_pat = xv->pat;
	svm->asid_cpu = -1;
}

static int svm_vcpu_create(struct vmm_x86_vcpu *xv)
{
	struct svm_vcpu *svm = to_svm(xv);
	struct page *page;

	/* vmm_x86_vcpu_alloc() allocates vcpu_size bytes for the xv. */
	BUILD_BUG_ON(offsetof(struct svm_vcpu, xv) != 0);
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page)
		return -ENOMEM;
	svm->vmcb = page_address(page);
	svm->vmcb_pa = __sme_set(page_to_phys(page));
	svm->asid_cpu = -1;
	return 0;
}

/*
 * The VMCB page may be reused by another vCPU: make sure no CPU still
 * believes it last ran it, or svm_run() would skip the IBPB for the new
 * owner (svm_clear_current_vmcb() in kvm_amd).
 */
static void svm_forget_vmcb(struct vmcb *vmcb)
{
	int cpu;

	for_each_possible_cpu(cpu)
		cmpxchg(&per_cpu_ptr(&svm_cpu, cpu)->current_vmcb, vmcb, NULL);
}

static void svm_vcpu_destroy(struct vmm_x86_vcpu *xv)
{
	struct svm_vcpu *svm = to_svm(xv);

	svm_forget_vmcb(svm->vmcb);
	free_page((unsigned long)svm->vmcb);
}

/*
 * A CPU that last ran another vCPU's VMCB must not let that guest's branch
 * predictions steer this one, as in kvm_amd's svm_vcpu_load(); with
 * IBPB-on-VMEXIT every exit has one already.
 */
static void svm_vcpu_load(struct vmm_x86_vcpu *xv, int cpu)
{
	struct svm_cpu *sd = per_cpu_ptr(&svm_cpu, cpu);
	struct vmcb *vmcb = to_svm(xv)->vmcb;

	if (sd->current_vmcb != vmcb) {
		sd->current_vmcb = vmcb;
		if (!cpu_feature_enabled(X86_FEATURE_IBPB_ON_VMEXIT))
			indirect_branch_prediction_barrier();
	}
}

static void svm_vcpu_put(struct vmm_x86_vcpu *xv)
{
}

/* ---- segment registers ------------------------------------------------- */

static void svm_get_seg(const struct vmcb_seg *s, struct vmm_segment *var)
{
	var->base = s->base;
	var->limit = s->limit;
	var->selector = s->selector;
	var->type = s->attrib & SVM_SELECTOR_TYPE_MASK;
	var->s = (s->attrib >> SVM_SELECTOR_S_SHIFT) & 1;
	var->dpl = (s->attrib >> SVM_SELECTOR_DPL_SHIFT) & 3;
	var->present = (s->attrib >> SVM_SELECTOR_P_SHIFT) & 1;
	var->avl = (s->attrib >> SVM_SELECTOR_AVL_SHIFT) & 1;
	var->l = (s->attrib >> SVM_SELECTOR_L_SHIFT) & 1;
	var->db = (s->attrib >> SVM_SELECTOR_DB_SHIFT) & 1;
	/* The VMCB keeps no G bit or "unusable" flag: derive them. */
	var->g = s->limit > 0xfffff;
	var->unusable = !var->present;
}

static void svm_set_seg(struct vmcb_seg *s, const struct vmm_segment *var)
{
	s->base = var->base;
	s->limit = var->limit;
	s->selector = var->selector;
	s->attrib = (var->type & SVM_SELECTOR_TYPE_MASK) |
		    (var->s & 1) << SVM_SELECTOR_S_SHIFT |
		    (var->dpl & 3) << SVM_SELECTOR_DPL_SHIFT |
		    ((var->present & 1) && !var->unusable) << SVM_SELECTOR_P_SHIFT |
		    (var->avl & 1) << SVM_SELECTOR_AVL_SHIFT |
		    (var->l & 1) << SVM_SELECTOR_L_SHIFT |
		    (var->db & 1) << SVM_SELECTOR_DB_SHIFT |
		    (var->g & 1) << SVM_SELECTOR_G_SHIFT;
}

static void svm_get_sregs(struct vmm_x86_vcpu *xv, struct vmm_sregs *sregs)
{
	struct svm_vcpu *svm = to_svm(xv);
	struct vmcb_save_area *s = &svm->vmcb->save;

	svm_get_seg(&s->cs, &sregs->cs);
	svm_get_seg(&s->ds, &sregs->ds);
	svm_get_seg(&s->es, &sregs->es);
	svm_get_seg(&s->fs, &sregs->fs);
	svm_get_seg(&s->gs, &sregs->gs);
	svm_get_seg(&s->ss, &sregs->ss);
	svm_get_seg(&s->tr, &sregs->tr);
	svm_get_seg(&s->ldtr, &sregs->ldt);
	/* As KVM: TR is always busy, data segments always accessed. */
	sregs->tr.type |= 2;
	if (!sregs->ds.unusable)
		sregs->ds.type |= 1;
	if (!sregs->es.unusable)
		sregs->es.type |= 1;
	if (!sregs->fs.unusable)
		sregs->fs.type |= 1;
	if (!sregs->gs.unusable)
		sregs->gs.type |= 1;
	if (sregs->ss.unusable)
		sregs->ss.db = 0;
	sregs->ss.dpl = s->cpl;

	sregs->gdt.base = s->gdtr.base;
	sregs->gdt.limit = s->gdtr.limit;
	sregs->idt.base = s->idtr.base;
	sregs->idt.limit = s->idtr.limit;
	sregs->cr0 = s->cr0;
	sregs->cr2 = s->cr2;
	sregs->cr3 = s->cr3;
	sregs->cr4 = s->cr4;
	sregs->efer = xv->efer;
}

static void svm_set_sregs(struct vmm_x86_vcpu *xv, const struct vmm_sregs *sregs)
{
	struct svm_vcpu *svm = to_svm(xv);
	struct vmcb_save_area *s = &svm->vmcb->save;

	svm_set_seg(&s->cs, &sregs->cs);
	svm_set_seg(&s->ds, &sregs->ds);
	svm_set_seg(&s->es, &sregs->es);
	svm_set_seg(&s->fs, &sregs->fs);
	svm_set_seg(&s->gs, &sregs->gs);
	svm_set_seg(&s->ss, &sregs->ss);
	svm_set_seg(&s->tr, &sregs->tr);
	svm_set_seg(&s->ldtr, &sregs->ldt);
	s->cpl = sregs->ss.dpl & 3;
	s->gdtr.base = sregs->gdt.base;
	s->gdtr.limit = sregs->gdt.limit;
	s->idtr.base = sregs->idt.base;
	s->idtr.limit = sregs->idt.limit;
	s->cr0 = sregs->cr0;
	s->cr2 = sregs->cr2;
	s->cr3 = sregs->cr3;
	s->cr4 = sregs->cr4;
	xv->efer = sregs->efer;
	s->efer = sregs->efer | EFER_SVME;
}

static int svm_get_cpl(struct vmm_x86_vcpu *xv)
{
	return to_svm(xv)->vmcb->save.cpl;
}

static bool svm_get_interrupt_shadow(struct vmm_x86_vcpu *xv)
{
	return to_svm(xv)->vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK;
}

static void svm_set_interrupt_shadow(struct vmm_x86_vcpu *xv, bool shadow)
{
	struct vmcb_control_area *c = &to_svm(xv)->vmcb->control;

	if (shadow)
		c->int_state |= SVM_INTERRUPT_SHADOW_MASK;
	else
		c->int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
}

/* ---- state the common exit handlers use (exit.c) ---------------------- */

static unsigned long svm_get_cr0(struct vmm_x86_vcpu *xv)
{
	return to_svm(xv)->vmcb->save.cr0;
}

/* EFER.LME and the CR0 intercept follow at the next entry (svm_sync_efer). */
static void svm_set_cr0(struct vmm_x86_vcpu *xv, unsigned long cr0)
{
	to_svm(xv)->vmcb->save.cr0 = cr0;
}

static unsigned long svm_get_cr4(struct vmm_x86_vcpu *xv)
{
	return to_svm(xv)->vmcb->save.cr4;
}

static void svm_set_cr4(struct vmm_x86_vcpu *xv, unsigned long cr4)
{
	to_svm(xv)->vmcb->save.cr4 = cr4;
}

static void svm_set_efer(struct vmm_x86_vcpu *xv, u64 efer)
{
	to_svm(xv)->vmcb->save.efer = efer | EFER_SVME;
}

static void svm_set_pat(struct vmm_x86_vcpu *xv, u64 pat)
{
	to_svm(xv)->vmcb->save.g_pat = pat;
}

static void svm_get_cs_db_l_bits(struct vmm_x86_vcpu *xv, int *db, int *l)
{
	u16 attrib = to_svm(xv)->vmcb->save.cs.attrib;

	*db = !!(attrib & SVM_SELECTOR_DB_MASK);
	*l = !!(attrib & SVM_SELECTOR_L_MASK);
}

/* ---- exit handlers ------------------------------------------------------ */

static int svm_handle_io(struct vmm_x86_vcpu *xv)
{
	struct vmcb_control_area *c = &to_svm(xv)->vmcb->control;
	u32 info = c->exit_info_1;
	u8 size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT;
	bool in = info & SVM_IOIO_TYPE_MASK;
	struct vmm_x86_str_op op;

	/* SZ8/16/32 are one-hot. */
	size = size == 4 ? 4 : size == 2 ? 2 : 1;
	/*
	 * The segment and address size of a string operand come from the
	 * instruction, not from the A16/32/64 bits of the exit information,
	 * which QEMU's model of SVM encodes one bit off from the APM.
	 */
	if (info & SVM_IOIO_STR_MASK) {
		int r = vmm_x86_decode_string_io(xv, in, &op);

		if (r)
			return r < 0 ? r : 1;
	}
	return vmm_x86_handle_io(xv, info >> 16, size, in,
				 info & SVM_IOIO_REP_MASK,
				 (info & SVM_IOIO_STR_MASK) ? &op : NULL,
				 c->exit_info_2);
}

/*
 * EFER.LME is kept out of the VMCB while guest paging is off, as KVM does:
 * the guest's MOV to CR0 that turns paging on is intercepted and activates
 * long mode (EFER.LMA) itself.  Besides matching KVM, this avoids a VMCB
 * with EFER.LME=1 and CR0.PG=0, whose #VMEXIT QEMU's SVM model mishandles
 * (the host's CR0 is not restored).
 */
static void svm_sync_efer(struct vmm_x86_vcpu *xv)
{
	struct svm_vcpu *svm = to_svm(xv);
	struct vmcb *vmcb = svm->vmcb;
	u32 *w = &vmcb->control.intercepts[INTERCEPT_CR];

	if (vmcb->save.cr0 & X86_CR0_PG) {
		vmcb->save.efer = xv->efer | EFER_SVME;
		*w &= ~BIT(INTERCEPT_CR0_WRITE);
		return;
	}
	xv->efer &= ~EFER_LMA;
	vmcb->save.efer = (xv->efer & ~(u64)EFER_LME) | EFER_SVME;
	if (xv->efer & EFER_LME)
		*w |= BIT(INTERCEPT_CR0_WRITE);
	else
		*w &= ~BIT(INTERCEPT_CR0_WRITE);
}

static int svm_handle_npf(struct vmm_x86_vcpu *xv)
{
	struct vmcb_control_area *c = &to_svm(xv)->vmcb->control;
	struct vmm_vm *vm = xv->vcpu.vm;
	u64 err = c->exit_info_1;
	gpa_t gpa = c->exit_info_2;
	u64 data[3] = { err, gpa, vmm_rip_read(xv) };
	int r;

	r = vmm_tdp_page_fault(vm, to_x86_vm(vm)->tdp, gpa,
			       err & PFERR_WRITE_MASK);
	if (r)
		return r;
	/*
	 * MMIO while delivering an event (the IDT, a gate's stack): the
	 * instruction at RIP is not what accessed it.  Report the event as
	 * KVM does on VMX for an EPT misconfiguration during delivery.
	 */
	if (c->exit_int_info & SVM_EXITINTINFO_VALID) {
		u64 ev[5] = { c->exit_int_info, c->exit_code, err, gpa,
			      xv->vcpu.cpu };

		vmm_x86_internal_error(xv, VMM_INTERNAL_ERROR_DELIVERY_EV,
				       ARRAY_SIZE(ev), ev);
		return 0;
	}
	/* Guest page tables or instructions in MMIO: not emulated. */
	if (err & (PFERR_FETCH_MASK | PFERR_GUEST_PAGE_MASK)) {
		vmm_x86_internal_error(xv, VMM_INTERNAL_ERROR_EMULATION, 3, data);
		return 0;
	}
	return vmm_x86_emulate_mmio(xv, gpa);
}

/*
 * A virtual interrupt (V_IRQ) at the lowest priority with VINTR
 * intercepted: the CPU exits when the guest could take it, i.e. with
 * RFLAGS.IF set and no interrupt shadow.  The interrupt itself is then
 * injected through EVENTINJ, as kvm_amd's svm_set_vintr() does.
 */
static void svm_enable_irq_window(struct vmm_x86_vcpu *xv)
{
	struct vmcb_control_area *c = &to_svm(xv)->vmcb->control;

	svm_set_intercept(c, INTERCEPT_VINTR);
	c->int_vector = 0;
	c->int_ctl &= ~V_INTR_PRIO_MASK;
	c->int_ctl |= V_IRQ_MASK | (0xf << V_INTR_PRIO_SHIFT);
}

static int svm_interrupt_window(struct vmm_x86_vcpu *xv)
{
	struct vmcb_control_area *c = &to_svm(xv)->vmcb->control;

	svm_clr_intercept(c, INTERCEPT_VINTR);
	c->int_ctl &= ~V_IRQ_INJECTION_BITS_MASK;
	return 1;
}

/*
 * What the exit cut short in delivery (EXITINTINFO) goes back to the
 * common event state, as kvm_amd's svm_complete_interrupts(): it is
 * injected again at the next entry.  Not a software interrupt (INT n) or
 * a soft exception (#BP, #OF) that the guest raised with INT3 or INTO:
 * RIP still points at the instruction, which raises it again when
 * re-executed.  Injected as a fault, such a #BP or #OF would push the
 * address of the INT3/INTO itself and run the handler twice.  A #BP or
 * #OF that vmm itself injected at this entry (svm_inject_exception(), as
 * KVM's soft_int_injected) has no instruction behind it and would be
 * lost: it goes again like any other exception.  vmm queues neither
 * today (it intercepts only #DB, #AC and #MC and raises #GP, #UD, #PF,
 * #SS and #DB), so no guest can reach that case yet.  QEMU's TCG reports
 * INT3 as a software interrupt, the APM as an exception.  vmm injects no
 * NMI, so none can be in delivery.
 */
static void svm_complete_interrupts(struct vmm_x86_vcpu *xv)
{
	struct svm_vcpu *svm = to_svm(xv);
	struct vmcb_control_area *c = &svm->vmcb->control;
	u32 info = c->exit_int_info;
	u32 type = info & SVM_EXITINTINFO_TYPE_MASK;
	u8 vector = info & SVM_EXITINTINFO_VEC_MASK;
	bool own_soft = svm->soft_exc_injected && xv->exc.injected &&
			xv->exc.vector == vector;

	svm->soft_exc_injected = false;
	c->event_inj = 0;
	c->event_inj_err = 0;
	xv->exc.injected = false;
	xv->irq.injected = false;
	if (!(info & SVM_EXITINTINFO_VALID))
		return;
	if (type == SVM_EXITINTINFO_TYPE_SOFT && own_soft)
		type = SVM_EXITINTINFO_TYPE_EXEPT;
	switch (type) {
	case SVM_EXITINTINFO_TYPE_EXEPT:
		if ((vector == X86_TRAP_BP || vector == X86_TRAP_OF) &&
		    !own_soft)
			break;
		xv->exc.injected = true;
		xv->exc.vector = vector;
		xv->exc.has_error = info & SVM_EXITINTINFO_VALID_ERR;
		xv->exc.error = c->exit_int_info_err;
		xv->exc.has_payload = false;
		break;
	case SVM_EXITINTINFO_TYPE_INTR:
		xv->irq.injected = true;
		xv->irq.nr = vector;
		break;
	default:
		break;
	}
}

static int svm_reflect_exception(struct vmm_x86_vcpu *xv, u8 vector)
{
	struct svm_vcpu *svm = to_svm(xv);

	if (vector == X86_TRAP_DB)
		xv->dr6 = svm->vmcb->save.dr6;
	vmm_x86_queue_exception(xv, vector, vector == X86_TRAP_AC,
				svm->vmcb->control.exit_info_1);
	return 1;
}

static int svm_handle_exit(struct vmm_x86_vcpu *xv)
{
	struct svm_vcpu *svm = to_svm(xv);
	struct vmcb *vmcb = svm->vmcb;
	struct vmm_run *run = xv->vcpu.run;
	u32 code = vmcb->control.exit_code;
	u64 data[2];

	svm_complete_interrupts(xv);
	xv->tpr = vmcb->control.int_ctl & V_TPR_MASK;
	/*
	 * The CPU clears EFER.LMA when the guest turns paging off (a CR0
	 * write vmm does not intercept while paging is on) and the VMCB's
	 * LMA is what the guest has; without paging it is 0 there too.
	 */
	xv->efer = (xv->efer & ~EFER_LMA) | (vmcb->save.efer & EFER_LMA);

	switch (code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
		return 1;
	case SVM_EXIT_VINTR:
		return svm_interrupt_window(xv);
	case SVM_EXIT_CPUID:
		return vmm_x86_handle_cpuid(xv);
	case SVM_EXIT_HLT:
		return vmm_x86_handle_hlt(xv);
	case SVM_EXIT_IOIO:
		return svm_handle_io(xv);
	case SVM_EXIT_MSR:
		return vmm_x86_handle_msr(xv, svm->vmcb->control.exit_info_1);
	case SVM_EXIT_NPF:
		return svm_handle_npf(xv);
	case SVM_EXIT_VMMCALL:
		/* The floor hypercall that svm_floor_resume() left to us. */
		if (bench_floor &&
		    vmm_reg_read(xv, VMM_REG_RAX) == VMM_HC_BENCH_FLOOR)
			return vmm_x86_skip_insn(xv, 3);
		return vmm_x86_handle_hypercall(xv);
	case SVM_EXIT_WRITE_CR0:
	case SVM_EXIT_WRITE_CR4:
		return vmm_x86_handle_cr_write(xv, code - SVM_EXIT_WRITE_CR0);
	case SVM_EXIT_READ_DR0 ... SVM_EXIT_READ_DR0 + 15:
		return vmm_x86_handle_dr(xv, false);
	case SVM_EXIT_WRITE_DR0 ... SVM_EXIT_WRITE_DR0 + 15:
		return vmm_x86_handle_dr(xv, true);
	case SVM_EXIT_EXCP_BASE + X86_TRAP_DB:
		return svm_reflect_exception(xv, X86_TRAP_DB);
	case SVM_EXIT_EXCP_BASE + X86_TRAP_AC:
		return svm_reflect_exception(xv, X86_TRAP_AC);
	case SVM_EXIT_EXCP_BASE + X86_TRAP_MC:
		/* Already handed to the host in svm_run(): resume. */
		return 1;
	case SVM_EXIT_INVD:
	case SVM_EXIT_WBINVD:
		return vmm_x86_skip_insn(xv, 2);
	case SVM_EXIT_MONITOR:
	case SVM_EXIT_MWAIT:
		/* NOPs, like KVM's default MWAIT_NEVER_UD_FAULTS quirk. */
		return vmm_x86_skip_insn(xv, 3);
	case SVM_EXIT_RDPMC:
		return vmm_x86_inject_gp(xv);
	case SVM_EXIT_VMRUN:
	case SVM_EXIT_VMLOAD:
	case SVM_EXIT_VMSAVE:
	case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI:
	case SVM_EXIT_SKINIT:
	case SVM_EXIT_INVLPGA:
	case SVM_EXIT_RDTSCP:
	case SVM_EXIT_RDPRU:
	case SVM_EXIT_XSETBV:
		return vmm_x86_inject_ud(xv);
	case SVM_EXIT_SHUTDOWN:
		/* The VMCB is undefined after a shutdown: reset the vCPU. */
		vmm_x86_vcpu_reset(xv);
		run->exit_reason = VMM_EXIT_SHUTDOWN;
		return 0;
	case SVM_EXIT_ERR:
		run->exit_reason = VMM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_entry_failure_reason = code;
		run->fail_entry.cpu = xv->vcpu.cpu;
		return 0;
	default:
		data[0] = code;
		data[1] = xv->vcpu.cpu;
		vmm_x86_internal_error(xv,
			VMM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON, 2, data);
		return 0;
	}
}

/* ---- entry -------------------------------------------------------------- */

/*
 * A machine check that hit while the guest ran was intercepted: run the
 * host's #MC handler as if it had struck in user mode, with IRQs still
 * off, as kvm_amd does (kvm_machine_check()).
 */
static void svm_handle_mce(void)
{
#ifdef CONFIG_X86_MCE
	struct pt_regs regs = {
		.cs = 3,		/* fake ring 3: recoverable */
		.flags = X86_EFLAGS_IF,
	};

	do_machine_check(&regs);
#endif
}

/*
 * bench_floor: was this exit the floor hypercall, and may the guest go on
 * at once, still in guest mode for RCU, accounting and vcpu->mode?  Only
 * in the plain case: 64-bit mode (no RIP wrap), no single step, no
 * interrupt shadow to end, no event to re-inject or queued interrupt to
 * inject, no request and none of the work the entry checks for
 * (vmm_vcpu_work_pending()), and at most SVM_FLOOR_MAX times in a row.  Anything else, and the normal path
 * handles the floor hypercall (svm_handle_exit()) and everything else.
 * A host interrupt or NMI that arrives meanwhile is pending while GIF is
 * 0 and makes the next VMRUN exit at once with INTR or NMI, which ends the
 * loop.  The TLB flush, if one was asked for, was done by the first VMRUN.
 */
static __always_inline bool svm_floor_resume(struct vmm_x86_vcpu *xv,
					     struct vmcb *vmcb, u32 *n)
{
	if (vmcb->control.exit_code != SVM_EXIT_VMMCALL ||
	    vmcb->save.rax != VMM_HC_BENCH_FLOOR)
		return false;
	if (!(vmcb->save.efer & EFER_LMA) ||
	    !(vmcb->save.cs.attrib & SVM_SELECTOR_L_MASK) ||
	    (vmcb->save.rflags & X86_EFLAGS_TF) ||
	    (vmcb->control.int_state & SVM_INTERRUPT_SHADOW_MASK) ||
	    (vmcb->control.exit_int_info & SVM_EXITINTINFO_VALID) ||
	    READ_ONCE(xv->vcpu.requests) ||
	    vmm_vcpu_work_pending() || *n >= SVM_FLOOR_MAX)
		return false;
	vmcb->save.rip += 3;
	vmcb->control.event_inj = 0;
	vmcb->control.tlb_ctl = TLB_CONTROL_DO_NOTHING;
	++*n;
	return true;
}

/*
 * The world switch proper, in .noinstr.text like kvm_amd's
 * svm_vcpu_enter_exit(): between guest_state_enter_irqoff() and
 * guest_state_exit_irqoff() RCU may be in an extended quiescent state
 * (guest mode counts as user mode for RCU and context tracking), so
 * nothing here may be traced or instrumented.  RFLAGS.IF is set for
 * VMRUN because the host's IF gates physical interrupts in the guest
 * (V_INTR_MASKING); GIF is 0 throughout, so no IRQ is taken here.
 * Returns the number of #VMEXITs: more than one only with bench_floor.
 */
static noinstr u32 svm_enter_exit(struct vmm_x86_vcpu *xv, u64 host_save_pa)
{
	struct svm_vcpu *svm = to_svm(xv);
	u32 n = 0;

	guest_state_enter_irqoff();
	raw_local_irq_enable();
	do {
		amd_clear_divider();
		__vmm_svm_run(svm->vmcb_pa, xv->regs, host_save_pa);
	} while (unlikely(bench_floor) && svm_floor_resume(xv, svm->vmcb, &n));
	raw_local_irq_disable();
	guest_state_exit_irqoff();
	return n + 1;
}

static void svm_new_asid(struct svm_vcpu *svm, struct svm_cpu *sd, int cpu)
{
	struct vmcb_control_area *c = &svm->vmcb->control;

	if (sd->next_asid > svm_max_asid) {
		sd->asid_generation++;
		sd->next_asid = 1;
		sd->flush_all_asid = true;
	}
	c->asid = sd->next_asid++;
	svm->asid_generation = sd->asid_generation;
	svm->asid_cpu = cpu;
}

static void svm_inject_exception(struct vmm_x86_vcpu *xv)
{
	struct svm_vcpu *svm = to_svm(xv);
	struct vmcb_control_area *c = &svm->vmcb->control;

	c->event_inj = xv->exc.vector | SVM_EVTINJ_VALID |
		       SVM_EVTINJ_TYPE_EXEPT;
	c->event_inj_err = 0;
	/* Not raised by an INT3/INTO at RIP: see svm_complete_interrupts(). */
	svm->soft_exc_injected = xv->exc.vector == X86_TRAP_BP ||
				 xv->exc.vector == X86_TRAP_OF;
	if (xv->exc.has_error) {
		c->event_inj |= SVM_EVTINJ_VALID_ERR;
		c->event_inj_err = xv->exc.error;
	}
	/* The payload reaches the guest with the exception, once. */
	if (xv->exc.has_payload) {
		svm->vmcb->save.cr2 = xv->exc.payload;
		xv->exc.has_payload = false;
	}
}

static void svm_inject_irq(struct vmm_x86_vcpu *xv, bool reinjected)
{
	struct vmcb_control_area *c = &to_svm(xv)->vmcb->control;

	c->event_inj = xv->irq.nr | SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_INTR;
	c->event_inj_err = 0;
}

static bool svm_interrupt_allowed(struct vmm_x86_vcpu *xv)
{
	return (vmm_rflags_read(xv) & X86_EFLAGS_IF) &&
	       !svm_get_interrupt_shadow(xv);
}

/* Every register is in the VMCB or saved by vmenter.S at #VMEXIT. */
static void svm_cache_reg(struct vmm_x86_vcpu *xv, enum vmm_x86_reg reg)
{
}

/*
 * No flush-by-ASID is assumed (TCG has none): a fresh ASID at the next
 * entry is the flush, for guest-physical and guest-linear translations
 * alike.  No CPU's generation is 0 once SVM is on.
 */
static void svm_flush_tlb_all(struct vmm_x86_vcpu *xv)
{
	to_svm(xv)->asid_generation = 0;
}

static u32 svm_vcpu_run(struct vmm_x86_vcpu *xv)
{
	struct svm_vcpu *svm = to_svm(xv);
	struct vmcb *vmcb = svm->vmcb;
	struct svm_cpu *sd = this_cpu_ptr(&svm_cpu);
	int cpu = smp_processor_id();
	unsigned long host_dr6, host_dr7;
	u32 exits;

	vmcb->control.tlb_ctl = TLB_CONTROL_DO_NOTHING;
	if (svm->asid_cpu != cpu || svm->asid_generation != sd->asid_generation)
		svm_new_asid(svm, sd, cpu);
	if (sd->flush_all_asid)
		vmcb->control.tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;

	vmcb->save.rax = xv->regs[VMM_REG_RAX];
	vmcb->save.rsp = xv->regs[VMM_REG_RSP];
	vmcb->save.rip = xv->regs[VMM_REG_RIP];
	vmcb->save.rflags = xv->rflags;
	vmcb->save.dr6 = VMM_DR6_INIT;
	vmcb->save.dr7 = VMM_DR7_INIT;
	vmcb->control.int_ctl = (vmcb->control.int_ctl & ~V_TPR_MASK) |
				(xv->tpr & V_TPR_MASK);
	svm_sync_efer(xv);
	vmcb->control.clean = 0;

	host_dr6 = native_get_debugreg(6);
	host_dr7 = native_get_debugreg(7);

	/*
	 * RDPID cannot be intercepted and reads TSC_AUX, which holds the
	 * host's CPU number: the guest's is 0 (KVM switches it too).  The
	 * host's comes back when the task returns to user space.
	 */
	if (svm_tsc_aux_slot >= 0)
		vmm_user_msr_set(svm_tsc_aux_slot, 0, -1ULL);
	svm_clgi();
	exits = svm_enter_exit(xv, __sme_set(page_to_phys(sd->host_save)));
	/*
	 * VMRUN loaded the guest's DR6 and #VMEXIT leaves it there, while
	 * DR7 comes back as 0x400: give the host both of its own again.
	 */
	if (native_get_debugreg(6) != host_dr6)
		native_set_debugreg(6, host_dr6);
	if (host_dr7 != VMM_DR7_INIT)
		native_set_debugreg(7, host_dr7);
	svm_stgi();
	if (vmcb->control.exit_code != SVM_EXIT_ERR)
		sd->flush_all_asid = false;
	if (unlikely(vmcb->control.exit_code ==
		     SVM_EXIT_EXCP_BASE + X86_TRAP_MC))
		svm_handle_mce();

	xv->regs[VMM_REG_RAX] = vmcb->save.rax;
	xv->regs[VMM_REG_RSP] = vmcb->save.rsp;
	xv->regs[VMM_REG_RIP] = vmcb->save.rip;
	xv->rflags = vmcb->save.rflags;
	xv->regs_dirty = 0;
	return exits;
}

const struct vmm_x86_ops vmm_svm_ops = {
	.name			= "svm",
	.vm_size		= sizeof(struct vmm_x86_vm),
	.vcpu_size		= sizeof(struct svm_vcpu),
	.init			= svm_init,
	.exit			= svm_exit,
	.hardware_enable	= svm_hardware_enable,
	.hardware_disable	= svm_hardware_disable,
	.vm_init		= svm_vm_init,
	.vm_destroy		= svm_vm_destroy,
	.vcpu_create		= svm_vcpu_create,
	.vcpu_destroy		= svm_vcpu_destroy,
	.vcpu_load		= svm_vcpu_load,
	.vcpu_put		= svm_vcpu_put,
	.vcpu_reset		= svm_vcpu_reset,
	.get_sregs		= svm_get_sregs,
	.set_sregs		= svm_set_sregs,
	.get_cpl		= svm_get_cpl,
	.get_cr0		= svm_get_cr0,
	.set_cr0		= svm_set_cr0,
	.get_cr4		= svm_get_cr4,
	.set_cr4		= svm_set_cr4,
	.set_efer		= svm_set_efer,
	.set_pat		= svm_set_pat,
	.get_cs_db_l_bits	= svm_get_cs_db_l_bits,
	.get_interrupt_shadow	= svm_get_interrupt_shadow,
	.set_interrupt_shadow	= svm_set_interrupt_shadow,
	.interrupt_allowed	= svm_interrupt_allowed,
	.cache_reg		= svm_cache_reg,
	.inject_exception	= svm_inject_exception,
	.inject_irq		= svm_inject_irq,
	.enable_irq_window	= svm_enable_irq_window,
	.flush_tlb_all		= svm_flush_tlb_all,
	.flush_tlb_guest	= svm_flush_tlb_all,
	.vcpu_run		= svm_vcpu_run,
	.handle_exit		= svm_handle_exit,
};
