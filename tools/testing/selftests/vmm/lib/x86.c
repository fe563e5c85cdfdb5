// SPDX-License-Identifier: GPL-2.0
/*
 * x86 guest setup for the vmm selftests: identity-mapped 4-level page
 * tables, GDT and TSS, the test binary's image in guest memory, and vCPU
 * state for real mode, 32-bit protected mode and 64-bit long mode.
 */
#include <elf.h>
#include <string.h>
#include <sys/auxv.h>

#include "vmm_util.h"

#define PTE_P		(1UL << 0)
#define PTE_RW		(1UL << 1)
#define PTE_PS		(1UL << 7)

/* lib/guest_asm.S defines guest_mmio_rip with this value */
_Static_assert(GUEST_MMIO_RIP_GPA == 0x30000040, "guest_mmio_rip");

/* Segment descriptor: base 0, limit 0xfffff pages, @access and @flags. */
static uint64_t gdt_flat(uint8_t access, uint8_t flags)
{
	return 0xffffUL | ((uint64_t)access << 40) |
	       (0xfUL << 48) | ((uint64_t)flags << 52);
}

/* Write page tables, GDT, IDT and TSS; slot 0 must cover 0..2 MiB. */
void vm_setup_sys(struct vmm_vm *vm)
{
	uint64_t *pml4 = vm_gpa2hva(vm, GUEST_PT_GPA);
	uint64_t *pdpt = vm_gpa2hva(vm, GUEST_PT_GPA + PAGE_SIZE);
	uint64_t *gdt = vm_gpa2hva(vm, GUEST_GDT_GPA);
	uint64_t tss = GUEST_TSS_GPA;
	uint64_t i, j;

	/* 0..4 GiB with 2 MiB pages: one PDPT, four page directories. */
	memset(pml4, 0, PAGE_SIZE);
	memset(pdpt, 0, PAGE_SIZE);
	pml4[0] = (GUEST_PT_GPA + PAGE_SIZE) | PTE_P | PTE_RW;
	for (i = 0; i < 4; i++) {
		uint64_t pd_gpa = GUEST_PT_GPA + (2 + i) * PAGE_SIZE;
		uint64_t *pd = vm_gpa2hva(vm, pd_gpa);

		pdpt[i] = pd_gpa | PTE_P | PTE_RW;
		for (j = 0; j < 512; j++)
			pd[j] = ((i << 30) + (j << 21)) | PTE_P | PTE_RW | PTE_PS;
	}

	memset(gdt, 0, PAGE_SIZE);
	gdt[GUEST_SEL_CODE64 / 8] = gdt_flat(0x9b, 0xa);	/* G, L */
	gdt[GUEST_SEL_DATA / 8] = gdt_flat(0x93, 0xc);		/* G, D/B */
	gdt[GUEST_SEL_CODE32 / 8] = gdt_flat(0x9b, 0xc);	/* G, D/B */
	gdt[GUEST_SEL_TSS / 8] = 0x67 | ((tss & 0xffffff) << 16) |
				 (0x89UL << 40) | ((tss >> 24) << 56);
	gdt[GUEST_SEL_TSS / 8 + 1] = tss >> 32;

	memset(vm_gpa2hva(vm, GUEST_IDT_GPA), 0, PAGE_SIZE);
	memset(vm_gpa2hva(vm, GUEST_TSS_GPA), 0, PAGE_SIZE);
}

static const Elf64_Phdr *self_phdrs(unsigned long *nr)
{
	*nr = getauxval(AT_PHNUM);
	return (const Elf64_Phdr *)getauxval(AT_PHDR);
}

/* End of the highest PT_LOAD segment of this (non-PIE) executable. */
uint64_t vm_image_end(void)
{
	unsigned long i, nr;
	const Elf64_Phdr *ph = self_phdrs(&nr);
	uint64_t end = 0;

	TEST_ASSERT(ph && nr, "no program headers in the auxv");
	for (i = 0; i < nr; i++) {
		uint64_t e = ph[i].p_vaddr + ph[i].p_memsz;

		if (ph[i].p_type == PT_LOAD && e > end)
			end = e;
	}
	return ALIGN_UP(end, PAGE_SIZE);
}

/* Copy every PT_LOAD segment of this executable to the same guest address. */
void vm_load_image(struct vmm_vm *vm)
{
	unsigned long i, nr;
	const Elf64_Phdr *ph = self_phdrs(&nr);

	for (i = 0; i < nr; i++) {
		uint64_t start, end;

		if (ph[i].p_type != PT_LOAD)
			continue;
		start = ph[i].p_vaddr & ~(PAGE_SIZE - 1);
		end = ALIGN_UP(ph[i].p_vaddr + ph[i].p_memsz, PAGE_SIZE);
		TEST_ASSERT(start >= GUEST_IMAGE_GPA,
			    "segment at %#lx: not a static non-PIE binary?",
			    (unsigned long)start);
		vm_gpa2hva(vm, end - 1);
		memcpy(vm_gpa2hva(vm, start), (void *)start, end - start);
	}
}

void vm_load_code(struct vmm_vm *vm, uint64_t gpa, const void *start,
		  const void *end)
{
	size_t len = (const char *)end - (const char *)start;

	vm_gpa2hva(vm, gpa + len - 1);
	memcpy(vm_gpa2hva(vm, gpa), start, len);
}

static void seg_flat(struct vmm_segment *seg, uint16_t sel, uint8_t type,
		     bool db, bool l)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = 0;
	seg->limit = 0xffffffff;
	seg->selector = sel;
	seg->type = type;
	seg->present = 1;
	seg->s = 1;
	seg->db = db;
	seg->l = l;
	seg->g = 1;
}

static void seg_real(struct vmm_segment *seg, uint16_t sel, uint8_t type)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = (uint64_t)sel << 4;
	seg->limit = 0xffff;
	seg->selector = sel;
	seg->type = type;
	seg->present = 1;
	seg->s = 1;
}

static void seg_tr(struct vmm_segment *seg, uint16_t sel, uint64_t base,
		   uint32_t limit)
{
	memset(seg, 0, sizeof(*seg));
	seg->base = base;
	seg->limit = limit;
	seg->selector = sel;
	seg->type = 11;		/* busy TSS */
	seg->present = 1;
}

/* Turn @sregs (from GET_SREGS) into the default 64-bit state. */
void sregs_set_long_mode(struct vmm_sregs *sregs)
{
	seg_flat(&sregs->cs, GUEST_SEL_CODE64, 11, false, true);
	seg_flat(&sregs->ds, GUEST_SEL_DATA, 3, true, false);
	sregs->es = sregs->ds;
	sregs->fs = sregs->ds;
	sregs->gs = sregs->ds;
	sregs->ss = sregs->ds;
	seg_tr(&sregs->tr, GUEST_SEL_TSS, GUEST_TSS_GPA, 0x67);
	sregs->gdt.base = GUEST_GDT_GPA;
	sregs->gdt.limit = GUEST_GDT_ENTRIES * 8 - 1;
	sregs->idt.base = GUEST_IDT_GPA;
	sregs->idt.limit = 0;	/* any exception ends in a triple fault */
	sregs->cr0 = GUEST_CR0_LONG;
	sregs->cr3 = GUEST_PT_GPA;
	sregs->cr4 = GUEST_CR4_LONG;
	sregs->efer = GUEST_EFER_LONG;
}

void vcpu_setup_long_mode(struct vmm_vcpu *vcpu)
{
	struct vmm_sregs sregs;

	vcpu_get_sregs(vcpu, &sregs);
	sregs_set_long_mode(&sregs);
	vcpu_set_sregs(vcpu, &sregs);
}

/*
 * Enter @guest_code(arg0, arg1) with a fresh stack; when it returns, the
 * guest reports UCALL_DONE.
 */
void vcpu_set_entry(struct vmm_vcpu *vcpu, void *guest_code,
		    uint64_t arg0, uint64_t arg1)
{
	uint64_t top = GUEST_STACK_TOP - (vcpu->id % VM_MAX_VCPUS) *
					 GUEST_STACK_SIZE;
	struct vmm_regs regs;

	memset(&regs, 0, sizeof(regs));
	regs.rip = (uintptr_t)guest_code;
	regs.rsp = top - 8;
	regs.rdi = arg0;
	regs.rsi = arg1;
	regs.rflags = X86_RFLAGS_FIXED;
	*(uint64_t *)vm_gpa2hva(vcpu->vm, regs.rsp) =
		(uintptr_t)guest_exit_stub;
	vcpu_set_regs(vcpu, &regs);
}

struct vmm_vcpu *vm_add_vcpu_long(struct vmm_vm *vm, uint32_t id,
				  void *guest_code)
{
	struct vmm_vcpu *vcpu = vm_add_vcpu(vm, id);

	vcpu_setup_long_mode(vcpu);
	vcpu_set_entry(vcpu, guest_code, 0, 0);
	return vcpu;
}

struct vmm_vm *vm_create_default(struct vmm_vcpu **vcpu, void *guest_code)
{
	struct vmm_vm *vm = vm_create_empty();

	vm_add_memslot(vm, 0, 0, 0, ALIGN_UP(vm_image_end(), SZ_2M));
	vm_setup_sys(vm);
	vm_load_image(vm);
	if (vcpu)
		*vcpu = vm_add_vcpu_long(vm, 0, guest_code);
	return vm;
}

/* Real mode, CS = DS = ES = SS = 0, IP = @ip, SP = 0x7000. */
void vcpu_setup_real_mode(struct vmm_vcpu *vcpu, uint16_t ip)
{
	struct vmm_sregs sregs;
	struct vmm_regs regs;

	vcpu_get_sregs(vcpu, &sregs);
	seg_real(&sregs.cs, 0, 11);
	seg_real(&sregs.ds, 0, 3);
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	sregs.cr0 &= ~(X86_CR0_PE | X86_CR0_PG);
	sregs.cr4 = 0;
	sregs.efer = 0;
	vcpu_set_sregs(vcpu, &sregs);

	memset(&regs, 0, sizeof(regs));
	regs.rip = ip;
	regs.rsp = 0x7000;
	regs.rflags = X86_RFLAGS_FIXED;
	vcpu_set_regs(vcpu, &regs);
}

/* Flat 32-bit protected mode without paging, EIP = @eip, ESP = 0x7000. */
void vcpu_setup_pmode32(struct vmm_vcpu *vcpu, uint32_t eip)
{
	struct vmm_sregs sregs;
	struct vmm_regs regs;

	vcpu_get_sregs(vcpu, &sregs);
	seg_flat(&sregs.cs, GUEST_SEL_CODE32, 11, true, false);
	seg_flat(&sregs.ds, GUEST_SEL_DATA, 3, true, false);
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	seg_tr(&sregs.tr, 0, 0, 0xffff);
	sregs.gdt.base = GUEST_GDT_GPA;
	sregs.gdt.limit = GUEST_GDT_ENTRIES * 8 - 1;
	sregs.idt.base = GUEST_IDT_GPA;
	sregs.idt.limit = 0;
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
	sregs.cr4 = 0;
	sregs.efer = 0;
	vcpu_set_sregs(vcpu, &sregs);

	memset(&regs, 0, sizeof(regs));
	regs.rip = eip;
	regs.rsp = 0x7000;
	regs.rflags = X86_RFLAGS_FIXED;
	vcpu_set_regs(vcpu, &regs);
}

/*
 * PAE page tables at GUEST_PAE_PT_GPA that identity-map 0..4 GiB with
 * 2 MiB pages: the PDPT (four entries, no permission bits), then one page
 * directory per GiB.
 */
void vm_setup_pae(struct vmm_vm *vm)
{
	uint64_t *pdpt = vm_gpa2hva(vm, GUEST_PAE_PT_GPA);
	uint64_t i, j;

	memset(pdpt, 0, PAGE_SIZE);
	for (i = 0; i < 4; i++) {
		uint64_t pd_gpa = GUEST_PAE_PT_GPA + (1 + i) * PAGE_SIZE;
		uint64_t *pd = vm_gpa2hva(vm, pd_gpa);

		pdpt[i] = pd_gpa | PTE_P;
		for (j = 0; j < 512; j++)
			pd[j] = ((i << 30) + (j << 21)) | PTE_P | PTE_RW | PTE_PS;
	}
}

/* The PAE page-directory entry of vm_setup_pae() that maps @gva. */
uint64_t *vm_pae_pde(struct vmm_vm *vm, uint32_t gva)
{
	uint64_t *pd = vm_gpa2hva(vm, GUEST_PAE_PT_GPA +
				  (1 + (gva >> 30)) * PAGE_SIZE);

	return &pd[(gva >> 21) & 511];
}

/*
 * Flat 32-bit protected mode with PAE paging (vm_setup_pae(), which this
 * calls), EIP = @eip, ESP = 0x7000.
 */
void vcpu_setup_pae32(struct vmm_vcpu *vcpu, uint32_t eip)
{
	struct vmm_sregs sregs;

	vm_setup_pae(vcpu->vm);
	vcpu_setup_pmode32(vcpu, eip);
	vcpu_get_sregs(vcpu, &sregs);
	sregs.cr0 |= X86_CR0_PG;
	sregs.cr3 = GUEST_PAE_PT_GPA;
	sregs.cr4 = X86_CR4_PAE;
	vcpu_set_sregs(vcpu, &sregs);
}

/* A 64-bit interrupt gate for @vector in the IDT at @idt_gpa. */
void vm_set_idt_gate(struct vmm_vm *vm, uint64_t idt_gpa, int vector,
		     const void *handler)
{
	uint64_t *e = vm_gpa2hva(vm, idt_gpa + vector * 16);
	uint64_t off = (uintptr_t)handler;

	e[0] = (off & 0xffff) | ((uint64_t)GUEST_SEL_CODE64 << 16) |
	       (0x8eUL << 40) | (((off >> 16) & 0xffff) << 48);
	e[1] = off >> 32;
}

void vcpu_set_idt(struct vmm_vcpu *vcpu, uint64_t base, uint16_t limit)
{
	struct vmm_sregs sregs;

	vcpu_get_sregs(vcpu, &sregs);
	sregs.idt.base = base;
	sregs.idt.limit = limit;
	vcpu_set_sregs(vcpu, &sregs);
}
