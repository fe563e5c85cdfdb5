// SPDX-License-Identifier: GPL-2.0
/*
 * emu: guest-visible correctness of the instructions and events vmm
 * handles itself, compared with KVM 6.1: the interrupt shadow across
 * emulated instructions, soft exceptions and MMIO during event delivery,
 * operand sizes of intercepted CR/DR accesses, LMSW/CLTS, instruction
 * prefixes, RIP wrap-around, and the emulator's guest page walk.
 */
#include <sched.h>
#include <string.h>
#include <unistd.h>
#include <cpuid.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "vmm_util.h"

#define M		GUEST_MMIO_GPA

GUEST_LABEL(irq_handler);
GUEST_LABEL(bp_handler);
GUEST_LABEL(pf_handler);
GUEST_LABEL(db_handler);
GUEST_LABEL(gp_handler);
GUEST_LABEL(ss_handler);

/* Counters and values written by the guest's handlers (guest .data/.bss). */
uint64_t irq_count;
uint64_t bp_count;
uint64_t bp_rip;
uint64_t pf_count;
uint64_t pf_err;
uint64_t pf_cr2;
uint64_t exc_resume;
uint64_t db_count;
uint64_t db_rip;
uint64_t exc_vector;
uint64_t exc_err;

asm(".pushsection .text\n"
	"irq_handler:\n"
	"	incq irq_count(%rip)\n"
	"	iretq\n"
	"bp_handler:\n"
	"	incq bp_count(%rip)\n"
	"	push %rax\n"
	"	mov 8(%rsp), %rax\n"
	"	mov %rax, bp_rip(%rip)\n"
	"	pop %rax\n"
	"	iretq\n"
    /* record the fault, resume at exc_resume */
	"pf_handler:\n"
	"	push %rax\n"
	"	incq pf_count(%rip)\n"
	"	mov 8(%rsp), %rax\n"
	"	mov %rax, pf_err(%rip)\n"
	"	mov %cr2, %rax\n"
	"	mov %rax, pf_cr2(%rip)\n"
	"	mov exc_resume(%rip), %rax\n"
	"	mov %rax, 16(%rsp)\n"
	"	pop %rax\n"
	"	add $8, %rsp\n"
	"	iretq\n"
	/* count, record the first RIP, clear RFLAGS.TF */
	"db_handler:\n"
	"	cmpq $0, db_count(%rip)\n"
	"	jne 1f\n"
	"	push %rax\n"
	"	mov 8(%rsp), %rax\n"
	"	mov %rax, db_rip(%rip)\n"
	"	pop %rax\n"
	"1:	incq db_count(%rip)\n"
	"	andq $~0x100, 16(%rsp)\n"
	"	iretq\n"
	/* #GP, #SS: record vector and error code, resume at exc_resume */
	"gp_handler:\n"
	"	movq $13, exc_vector(%rip)\n"
	"	jmp 2f\n"
	"ss_handler:\n"
	"	movq $12, exc_vector(%rip)\n"
	"2:	push %rax\n"
	"	mov 8(%rsp), %rax\n"
	"	mov %rax, exc_err(%rip)\n"
	"	mov exc_resume(%rip), %rax\n"
	"	mov %rax, 16(%rsp)\n"
	"	pop %rax\n"
	"	add $8, %rsp\n"
	"	iretq\n"
	".popsection");

/* Queue an external interrupt as user space without an irqchip does. */
static void vcpu_queue_irq(struct vmm_vcpu *vcpu, int vector)
{
	struct vmm_sregs sregs;

	vcpu_get_sregs(vcpu, &sregs);
	sregs.interrupt_bitmap[vector / 64] |= 1ULL << (vector % 64);
	vcpu_set_sregs(vcpu, &sregs);
}


/* ---- 1, 2: the interrupt shadow ------------------------------------- */

static void guest_sti_shadow(void)
{
	uint64_t seen, a = 0, c = 0;

	/* Nothing pending: in the shadow of STI, no injection possible. */
	asm volatile("sti\n\t"
		     "outb %%al, $0x81\n\t"
		     "cli" : : "a"(0) : "memory");
	/* An OUT completed by VMM_RUN ends the shadow of STI. */
	asm volatile("outb %%al, $0x80\n\t"
		     "sti\n\t"
		     "outb %%al, $0x82\n\t"
		     "movq irq_count(%%rip), %0\n\t"
		     "cli"
		     : "=r"(seen) : "a"(0) : "memory");
	GUEST_SYNC(seen);
	/* So does a CPUID, emulated entirely in the kernel. */
	asm volatile("outb %%al, $0x80\n\t"
		     "sti\n\t"
		     "cpuid\n\t"
		     "movq irq_count(%%rip), %%rsi\n\t"
		     "cli"
		     : "=S"(seen), "+a"(a), "+c"(c) : : "rbx", "rdx", "memory");
	GUEST_SYNC(seen);
}

TEST(sti_shadow)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_sti_shadow);
	struct vmm_run *run = vcpu->run;
	struct ucall uc;

	vm_set_idt_gate(vm, GUEST_IDT_GPA, 0x40, irq_handler);
	vcpu_set_idt(vcpu, GUEST_IDT_GPA, 0xfff);

	vcpu_run(vcpu);
	ASSERT_IO_OUT(vcpu, 0x81);
	EXPECT_EQ(1, run->if_flag);
	/* KVM: kvm_vcpu_ready_for_interrupt_injection() sees the shadow. */
	EXPECT_EQ(0, run->ready_for_interrupt_injection);

	vcpu_run(vcpu);
	ASSERT_IO_OUT(vcpu, 0x80);
	vcpu_queue_irq(vcpu, 0x40);
	vcpu_run(vcpu);
	/* Delivered at once, IF=0 notwithstanding (irq_window.c). */
	ASSERT_IO_OUT(vcpu, 0x82);
	EXPECT_EQ(0, run->ready_for_interrupt_injection);
	ASSERT_SYNC(vcpu, &uc, 1);

	vcpu_run(vcpu);
	ASSERT_IO_OUT(vcpu, 0x80);
	vcpu_queue_irq(vcpu, 0x40);
	ASSERT_SYNC(vcpu, &uc, 2);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

/* ---- 3: INT3 whose delivery exits is executed once ------------------- */

extern const char int3_after[], int3_cd_after[];

static void guest_int3(void)
{
	asm volatile("int3\n\t"
		     ".globl int3_after\n"
		     "int3_after:" : : : "memory");
	GUEST_SYNC2(bp_count, bp_rip);
	asm volatile("int $3\n\t"
		     ".globl int3_cd_after\n"
		     "int3_cd_after:" : : : "memory");
	GUEST_SYNC2(bp_count, bp_rip);
}

/*
 * The IDT is on a page the guest has never touched, so delivering the
 * #BP takes a nested page fault with EXITINTINFO valid.
 */
static void int3_run(struct __test_metadata *_metadata, uint64_t idt_gpa)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_int3);
	struct ucall uc;

	vm_add_memslot(vm, 1, 0, idt_gpa, 2 * PAGE_SIZE);
	vm_set_idt_gate(vm, idt_gpa, 3, bp_handler);
	vcpu_set_idt(vcpu, idt_gpa, 0xfff);
	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ((uintptr_t)int3_after, uc.args[1]);
	/* INT 3 (CD 03) with the IDT on another fresh page */
	vm_set_idt_gate(vm, idt_gpa + PAGE_SIZE, 3, bp_handler);
	vcpu_set_idt(vcpu, idt_gpa + PAGE_SIZE, 0xfff);
	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ((uintptr_t)int3_cd_after, uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

TEST(int3_delivery_npf)
{
	int3_run(_metadata, GUEST_TEST_GPA);
}

/* ---- 4: MMIO during event delivery ----------------------------------- */

static void guest_int3_only(void)
{
	asm volatile("int3" : : : "memory");
	GUEST_SYNC(0);
}

TEST(mmio_during_delivery)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm;
	struct vmm_run *run;

	/*
	 * KVM 6.1 on SVM emulates the instruction at RIP (here: the INT3,
	 * reading the IDT from MMIO); vmm reports the event it was
	 * delivering, as KVM does on VMX and later KVM on SVM.
	 */
	if (vmm_dev_is_kvm())
		SKIP(return, "KVM 6.1 on SVM emulates the instruction at RIP");
	vm = vm_create_default(&vcpu, guest_int3_only);
	run = vcpu->run;
	vcpu_set_idt(vcpu, M + 0x1000, 0xfff);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_INTERNAL_ERROR);
	ASSERT_EQ(VMM_INTERNAL_ERROR_DELIVERY_EV, run->internal.suberror);
	ASSERT_LE(1, run->internal.ndata);
	/* valid, vector 3 (the type is "soft interrupt" under QEMU TCG) */
	EXPECT_EQ(0x80000003, run->internal.data[0] & 0x800000ff);
	vm_free(vm);
}

/* ---- 6: 32-bit CR/DR operands, LMSW and CLTS ------------------------- */

extern const char pm_crdr_start[], pm_crdr_end[];

asm(".pushsection .rodata, \"a\"\n"
	".code32\n"
	"pm_crdr_start:\n"
	"	mov %eax, %dr7\n"	/* RAX 63:32 set: ignored */
	"	mov %dr7, %ebx\n"
	"	mov %esi, %cr4\n"	/* RSI 63:32 set: ignored */
	"	mov %ecx, %cr0\n"	/* RCX 63:32 set: ignored; sets TS */
	"	clts\n"
	"	mov %cr0, %edi\n"
	"	lmsw %bp\n"		/* PE MP TS */
	"	mov %cr0, %edx\n"
	"	hlt\n"
	"pm_crdr_end:\n"
	".code64\n"
	".popsection");

/*
 * vCPU 0 in 32-bit protected mode at the code from @start to @end, with
 * EFER.LME set and paging off, so that CR0 writes are intercepted.
 * @sregs holds its state for the caller to adjust and set.
 */
static struct vmm_vcpu *pm32_cr0_intercepted(struct vmm_vm *vm,
					     const char *start,
					     const char *end,
					     struct vmm_sregs *sregs)
{
	struct vmm_vcpu *vcpu = vm_add_vcpu(vm, 0);

	vm_load_code(vm, GUEST_SNIPPET_GPA, start, end);
	vcpu_setup_pmode32(vcpu, GUEST_SNIPPET_GPA);
	vcpu_get_sregs(vcpu, sregs);
	sregs->efer = X86_EFER_LME;
	return vcpu;
}

TEST(crdr_32bit)
{
	struct vmm_vm *vm = vm_create_default(NULL, NULL);
	struct vmm_vcpu *vcpu;
	struct vmm_sregs sregs;
	struct vmm_regs regs;

	/*
	 * Debian's kvm_amd under QEMU TCG (the rig) hangs the whole rig
	 * guest on this 32-bit guest's CR/DR writes.
	 */
	if (vmm_dev_is_kvm())
		SKIP(return, "hangs kvm_amd under QEMU TCG");
	vcpu = pm32_cr0_intercepted(vm, pm_crdr_start, pm_crdr_end, &sregs);
	vcpu_set_sregs(vcpu, &sregs);
	vcpu_get_regs(vcpu, &regs);
	regs.rax = 0x1234567800000401UL;
	regs.rsi = 0xffffffff00000000UL | X86_CR4_PSE;
	regs.rcx = 0x5555555500000000UL | X86_CR0_PE | X86_CR0_ET | 8;
	regs.rbp = 0xabcd00000000000bUL;
	vcpu_set_regs(vcpu, &regs);

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_HLT);
	vcpu_get_regs(vcpu, &regs);
	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(0x401, regs.rbx);
	EXPECT_EQ(X86_CR4_PSE, sregs.cr4);
	EXPECT_EQ(0, regs.rdi & 8);
	EXPECT_EQ(0xb, regs.rdx & 0xf);
	EXPECT_EQ(0xb, sregs.cr0 & 0xf);
	vm_free(vm);
}

/* LMSW with a memory operand: DS-based, and SS-based through EBP. */
extern const char pm_lmsw_start[], pm_lmsw_end[];

asm(".pushsection .rodata, \"a\"\n"
	".code32\n"
	"pm_lmsw_start:\n"
	"	lmsw (%ebx)\n"		/* PE MP TS */
	"	mov %cr0, %edx\n"
	"	lmsw 2(%ebp)\n"		/* PE MP */
	"	mov %cr0, %esi\n"
	"	hlt\n"
	"pm_lmsw_end:\n"
	".code64\n"
	".popsection");

TEST(lmsw_mem)
{
	struct vmm_vm *vm = vm_create_default(NULL, NULL);
	uint8_t *data = vm_gpa2hva(vm, GUEST_DATA_GPA);
	struct vmm_vcpu *vcpu;
	struct vmm_sregs sregs;
	struct vmm_regs regs;

	/* 32-bit CR0 writes: see crdr_32bit. */
	if (vmm_dev_is_kvm())
		SKIP(return, "hangs kvm_amd under QEMU TCG");
	vcpu = pm32_cr0_intercepted(vm, pm_lmsw_start, pm_lmsw_end, &sregs);
	sregs.ds.base = GUEST_DATA_GPA;
	vcpu_set_sregs(vcpu, &sregs);
	vcpu_get_regs(vcpu, &regs);
	regs.rbx = 0x10;
	regs.rbp = GUEST_DATA_GPA + 0x20 - 2;
	vcpu_set_regs(vcpu, &regs);
	memset(data, 0, 0x40);
	data[0x10] = 0x0b;
	data[0x20] = 0x03;

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_HLT);
	vcpu_get_regs(vcpu, &regs);
	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(0xb, regs.rdx & 0xf);
	EXPECT_EQ(0x3, regs.rsi & 0xf);
	EXPECT_EQ(0x3, sregs.cr0 & 0xf);
	vm_free(vm);
}

/* ---- 7: CR0.PG with EFER.LME and CS.L = 1 is #GP --------------------- */

extern const char pm_csl_start[], pm_csl_gp[], pm_csl_end[];

asm(".pushsection .rodata, \"a\"\n"
	".code32\n"
	"pm_csl_start:\n"
	"	call 1f\n"
	"1:	pop %eax\n"
	"	add $(2f - 1b), %eax\n"
	"	push $0x30\n"		/* code, L = 1, D = 1 */
	"	push %eax\n"
	"	lret\n"
	"2:	mov %ecx, %cr0\n"	/* PG: #GP */
	"	outb %al, $0x12\n"
	"	hlt\n"
	"pm_csl_gp:\n"
	"	outb %al, $0x13\n"
	"	hlt\n"
	"pm_csl_end:\n"
	".code64\n"
	".popsection");

TEST(cr0_pg_cs_l)
{
	struct vmm_vm *vm = vm_create_default(NULL, NULL);
	struct vmm_vcpu *vcpu;
	uint64_t *gdt = vm_gpa2hva(vm, GUEST_GDT_GPA);
	uint64_t *idt = vm_gpa2hva(vm, 0x9000);
	uint32_t gp = GUEST_SNIPPET_GPA + (pm_csl_gp - pm_csl_start);
	struct vmm_sregs sregs;
	struct vmm_regs regs;

	/* 32-bit CR0 writes: see crdr_32bit. */
	if (vmm_dev_is_kvm())
		SKIP(return, "hangs kvm_amd under QEMU TCG");
	gdt[6] = 0xffffUL | (0x9bUL << 40) | (0xfUL << 48) | (0xeUL << 52);
	idt[13] = (gp & 0xffff) | ((uint64_t)GUEST_SEL_CODE32 << 16) |
		  (0x8eUL << 40) | ((uint64_t)(gp >> 16) << 48);
	vcpu = pm32_cr0_intercepted(vm, pm_csl_start, pm_csl_end, &sregs);
	sregs.gdt.limit = 7 * 8 - 1;
	sregs.idt.base = 0x9000;
	sregs.idt.limit = 0x7ff;
	sregs.cr3 = GUEST_PT_GPA;
	sregs.cr4 = X86_CR4_PAE;
	vcpu_set_sregs(vcpu, &sregs);
	vcpu_get_regs(vcpu, &regs);
	regs.rcx = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
	vcpu_set_regs(vcpu, &regs);

	vcpu_run(vcpu);
	if (vcpu->run->exit_reason != VMM_EXIT_IO)
		vcpu_describe_exit(vcpu);
	ASSERT_IO_OUT(vcpu, 0x13);
	vm_free(vm);
}

/* ---- 8: prefixes and RIP wrap-around --------------------------------- */

static void guest_prefixes(void)
{
	/* REX.W, then 0x66: the REX is ignored, 16-bit store */
	asm volatile(".byte 0x48, 0x66, 0x89, 0x02"
		     : : "a"(0x1122334455667788UL), "d"(M) : "memory");
	/* two REX: the last (REX.W) wins, 64-bit store */
	asm volatile(".byte 0x40, 0x48, 0x89, 0x02"
		     : : "a"(0x1122334455667788UL), "d"(M) : "memory");
	/* 0x66 twice: still 16-bit */
	asm volatile(".byte 0x66, 0x66, 0x89, 0x02"
		     : : "a"(0x1122334455667788UL), "d"(M) : "memory");
}

TEST(prefixes_64)
{
	static const uint32_t lens[] = { 2, 8, 2 };
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_prefixes);
	struct vmm_run *run = vcpu->run;
	struct ucall uc;
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(lens); i++) {
		uint64_t v = 0;

		vcpu_run(vcpu);
		ASSERT_EXIT(vcpu, VMM_EXIT_MMIO);
		EXPECT_EQ(M, run->mmio.phys_addr);
		EXPECT_EQ(lens[i], run->mmio.len);
		memcpy(&v, run->mmio.data, run->mmio.len);
		EXPECT_EQ(0x1122334455667788UL &
			  (lens[i] == 8 ? ~0UL : (1UL << (lens[i] * 8)) - 1), v);
	}
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

extern const char pm_prefix_start[], pm_prefix_end[];

asm(".pushsection .rodata, \"a\"\n"
	".code32\n"
	"pm_prefix_start:\n"
	"	.byte 0x66, 0x66, 0x89, 0x02\n"	/* mov %ax, (%edx) */
	"	.byte 0x67, 0x67, 0x89, 0x05\n"	/* mov %eax, (%di) */
	"	outb %al, $0x14\n"
	"	hlt\n"
	"	.byte 0xcc, 0xcc, 0xcc, 0xcc, 0xcc, 0xcc\n"
	"pm_prefix_end:\n"
	".code64\n"
	".popsection");

TEST(prefixes_32)
{
	struct vmm_vm *vm = vm_create_default(NULL, NULL);
	struct vmm_vcpu *vcpu;
	struct vmm_run *run;
	struct vmm_sregs sregs;
	struct vmm_regs regs;

	vcpu = vm_add_vcpu(vm, 0);
	run = vcpu->run;
	vm_load_code(vm, GUEST_SNIPPET_GPA, pm_prefix_start, pm_prefix_end);
	vcpu_setup_pmode32(vcpu, GUEST_SNIPPET_GPA);
	vcpu_get_sregs(vcpu, &sregs);
	sregs.ds.base = M;
	vcpu_set_sregs(vcpu, &sregs);
	vcpu_get_regs(vcpu, &regs);
	regs.rax = 0x55667788;
	regs.rdx = 0;
	regs.rdi = 0x10;
	vcpu_set_regs(vcpu, &regs);

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_MMIO);
	EXPECT_EQ(M, run->mmio.phys_addr);
	EXPECT_EQ(2, run->mmio.len);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_MMIO);
	EXPECT_EQ(M + 0x10, run->mmio.phys_addr);
	EXPECT_EQ(4, run->mmio.len);
	vcpu_run(vcpu);
	ASSERT_IO_OUT(vcpu, 0x14);
	vm_free(vm);
}

extern const char rm_wrap_start[], rm_wrap_end[];

asm(".pushsection .rodata, \"a\"\n"
	".code16\n"
	"rm_wrap_start:\n"
	"	mov %ax, (%bx)\n"
	"rm_wrap_end:\n"
	".code64\n"
	".popsection");

TEST(rip_wrap_16)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm;
	struct vmm_sregs sregs;
	struct vmm_regs regs;

	/*
	 * KVM 6.1's emulator truncates EIP to 32 bits only (writeback in
	 * x86_emulate_insn()); the IP of 16-bit code wraps at 64 KiB.
	 */
	if (vmm_dev_is_kvm())
		SKIP(return, "KVM 6.1 does not wrap IP at 64 KiB");
	vm = vm_create_default(NULL, NULL);
	vcpu = vm_add_vcpu(vm, 0);
	vm_load_code(vm, 0x20000 + 0xfffe, rm_wrap_start, rm_wrap_end);
	*(uint8_t *)vm_gpa2hva(vm, 0x20000) = 0xf4;	/* hlt */
	vcpu_setup_real_mode(vcpu, 0xfffe);
	vcpu_get_sregs(vcpu, &sregs);
	sregs.cs.selector = 0x2000;
	sregs.cs.base = 0x20000;
	sregs.ds.base = M;
	vcpu_set_sregs(vcpu, &sregs);
	vcpu_get_regs(vcpu, &regs);
	regs.rbx = 0x20;
	vcpu_set_regs(vcpu, &regs);

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_MMIO);
	EXPECT_EQ(M + 0x20, vcpu->run->mmio.phys_addr);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_HLT);
	vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ(1, regs.rip);
	vm_free(vm);
}

/* ---- 9: the emulator's page walk ------------------------------------- */

#define WALK_GVA	0x40000000UL
#define WALK_PT_GPA	(GUEST_DATA_GPA + 0x100000)
#define WALK_PAGE_GPA	(GUEST_DATA_GPA + 0x101000)
#define PTE_P		(1UL << 0)
#define PTE_RW		(1UL << 1)
#define PTE_A		(1UL << 5)
#define PTE_D		(1UL << 6)

/* OUTS from @gva, which must raise #PF; report what the handler saw. */
static void guest_outs_pf(uint64_t gva)
{
	asm volatile("lea 1f(%%rip), %%rax\n\t"
		     "mov %%rax, exc_resume(%%rip)\n\t"
		     "outsb\n"
		     "1:"
		     : "+S"(gva) : "d"(0x91) : "rax", "memory");
	GUEST_SYNC2(pf_count, pf_err);
	GUEST_SYNC(pf_cr2);
}

static void guest_walk(void)
{
	uint64_t gva = WALK_GVA;

	/* INS: the emulator's write sets A and D. */
	asm volatile("insb" : "+D"(gva) : "d"(0x90) : "memory");
	GUEST_SYNC(0);
	/* OUTS from a PTE with a reserved bit (51): #PF, RSVD | P. */
	guest_outs_pf(WALK_GVA + PAGE_SIZE);
	/* bit 63 (XD) with EFER.NXE = 0 is reserved too */
	guest_outs_pf(WALK_GVA + 2 * PAGE_SIZE);
}

TEST(page_walk)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_walk);
	uint64_t *pd1 = vm_gpa2hva(vm, GUEST_PT_GPA + 3 * PAGE_SIZE);
	uint64_t *pt = vm_gpa2hva(vm, WALK_PT_GPA);
	struct vmm_run *run = vcpu->run;
	struct ucall uc;

	memset(pt, 0, PAGE_SIZE);
	pd1[0] = WALK_PT_GPA | PTE_P | PTE_RW;
	pt[0] = WALK_PAGE_GPA | PTE_P | PTE_RW;
	pt[1] = (WALK_PAGE_GPA + PAGE_SIZE) | PTE_P | PTE_RW | (1UL << 51);
	pt[2] = (WALK_PAGE_GPA + 2 * PAGE_SIZE) | PTE_P | PTE_RW | (1UL << 63);
	vm_set_idt_gate(vm, GUEST_IDT_GPA, 14, pf_handler);
	vcpu_set_idt(vcpu, GUEST_IDT_GPA, 0xfff);

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_IO);
	ASSERT_EQ(VMM_EXIT_IO_IN, run->io.direction);
	ASSERT_EQ(0x90, run->io.port);
	*((uint8_t *)run + run->io.data_offset) = 0x5a;
	ASSERT_SYNC(vcpu, &uc, 0);
	EXPECT_EQ(0x5a, *(uint8_t *)vm_gpa2hva(vm, WALK_PAGE_GPA));
	EXPECT_EQ(PTE_A | PTE_D, pt[0] & (PTE_A | PTE_D));

	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ(0x9, uc.args[1]);
	ASSERT_SYNC(vcpu, &uc, WALK_GVA + PAGE_SIZE);
	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	EXPECT_EQ(2, uc.args[0]);
	EXPECT_EQ(0x9, uc.args[1]);
	ASSERT_SYNC(vcpu, &uc, WALK_GVA + 2 * PAGE_SIZE);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

/*
 * PAE paging reserves bits 62:MAXPHYADDR of PDEs and PTEs, which 4-level
 * paging ignores from bit 52 up (SDM 4.4.2), and bit 63 without EFER.NXE.
 * OUTSB at ESI (set by the host): the #PF handler reports the error code
 * on port 0x9e and CR2 on port 0x9f.
 */
extern const char pae_outs_start[], pae_outs_pf[], pae_outs_end[];

asm(".pushsection .rodata, \"a\"\n"
	".code32\n"
	"pae_outs_start:\n"
	"	mov $0x93, %dx\n"
	"	outsb\n"
	"	hlt\n"
	"pae_outs_pf:\n"
	"	pop %eax\n"
	"	outl %eax, $0x9e\n"
	"	mov %cr2, %eax\n"
	"	outl %eax, $0x9f\n"
	"	hlt\n"
	"pae_outs_end:\n"
	".code64\n"
	".popsection");

#define PAE_GVA		0x40000000UL
#define PAE_PT_GPA	(GUEST_DATA_GPA + 0x100000)
#define PAE_PT2_GPA	(GUEST_DATA_GPA + 0x101000)
#define PAE_PAGE_GPA	(GUEST_DATA_GPA + 0x102000)
#define PAE_IDT_GPA	0x9000UL

static uint32_t run_io_data(struct vmm_vcpu *vcpu)
{
	uint32_t v = 0;

	memcpy(&v, (uint8_t *)vcpu->run + vcpu->run->io.data_offset,
	       vcpu->run->io.size);
	return v;
}

TEST(pae_rsvd_bits)
{
	static const struct {
		uint32_t gva;
		uint32_t err;	/* 0: no fault */
	} cases[] = {
		{ PAE_GVA, 0 },			/* control */
		{ PAE_GVA + 0x1000, 0x9 },	/* PTE bit 52 */
		{ PAE_GVA + 0x2000, 0x9 },	/* PTE bit 62 */
		{ PAE_GVA + 0x3000, 0x9 },	/* PTE bit 63, EFER.NXE = 0 */
		{ PAE_GVA + 0x4000, 0x9 },	/* PTE bit 40 > MAXPHYADDR */
		{ PAE_GVA + 0x200000, 0x9 },	/* PDE bit 55 */
	};
	struct vmm_vm *vm = vm_create_default(NULL, NULL);
	uint32_t pf = GUEST_SNIPPET_GPA + (pae_outs_pf - pae_outs_start);
	uint64_t *idt = vm_gpa2hva(vm, PAE_IDT_GPA);
	uint64_t *pt = vm_gpa2hva(vm, PAE_PT_GPA);
	uint8_t *page = vm_gpa2hva(vm, PAE_PAGE_GPA);
	struct vmm_vcpu *vcpu;
	struct vmm_sregs sregs;
	struct vmm_regs regs;
	unsigned int i;

	vcpu = vm_add_vcpu(vm, 0);
	vm_load_code(vm, GUEST_SNIPPET_GPA, pae_outs_start, pae_outs_end);
	vcpu_setup_pae32(vcpu, GUEST_SNIPPET_GPA);
	memset(idt, 0, PAGE_SIZE);
	idt[14] = (pf & 0xffff) | ((uint64_t)GUEST_SEL_CODE32 << 16) |
		  (0x8eUL << 40) | ((uint64_t)(pf >> 16) << 48);
	vcpu_get_sregs(vcpu, &sregs);
	sregs.idt.base = PAE_IDT_GPA;
	sregs.idt.limit = 0x7ff;
	vcpu_set_sregs(vcpu, &sregs);

	memset(pt, 0, 2 * PAGE_SIZE);
	*vm_pae_pde(vm, PAE_GVA) = PAE_PT_GPA | PTE_P | PTE_RW;
	*vm_pae_pde(vm, PAE_GVA + 0x200000) = PAE_PT2_GPA | PTE_P | PTE_RW |
					      (1UL << 55);
	pt[0] = PAE_PAGE_GPA | PTE_P | PTE_RW;
	pt[1] = PAE_PAGE_GPA | PTE_P | PTE_RW | (1UL << 52);
	pt[2] = PAE_PAGE_GPA | PTE_P | PTE_RW | (1UL << 62);
	pt[3] = PAE_PAGE_GPA | PTE_P | PTE_RW | (1UL << 63);
	pt[4] = PAE_PAGE_GPA | PTE_P | PTE_RW | (1UL << 40);
	pt[512] = PAE_PAGE_GPA | PTE_P | PTE_RW;
	page[0] = 0x6b;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		vcpu_get_regs(vcpu, &regs);
		regs.rip = GUEST_SNIPPET_GPA;
		regs.rsp = 0x7000;
		regs.rsi = cases[i].gva;
		regs.rflags = X86_RFLAGS_FIXED;
		vcpu_set_regs(vcpu, &regs);
		vcpu_run(vcpu);
		ASSERT_EXIT(vcpu, VMM_EXIT_IO);
		if (!cases[i].err) {
			if (vcpu->run->io.port == 0x9e) {
				uint32_t e = run_io_data(vcpu);

				vcpu_run(vcpu);
				TH_LOG("control case: #PF %#x at %#x", e,
				       run_io_data(vcpu));
			}
			ASSERT_IO_OUT(vcpu, 0x93);
			EXPECT_EQ(0x6b, run_io_data(vcpu));
		} else {
			ASSERT_EQ(0x9e, vcpu->run->io.port)
				TH_LOG("case %u: gva %#x", i, cases[i].gva);
			EXPECT_EQ(cases[i].err, run_io_data(vcpu));
			vcpu_run(vcpu);
			ASSERT_IO_OUT(vcpu, 0x9f);
			EXPECT_EQ(cases[i].gva, run_io_data(vcpu));
		}
		vcpu_run(vcpu);
		ASSERT_EXIT(vcpu, VMM_EXIT_HLT);
	}
	vm_free(vm);
}

/* ---- 10: RDPID does not see the host's TSC_AUX ----------------------- */

static void guest_rdpid(void)
{
	uint64_t v = 0xdead;

	asm volatile(".byte 0xf3, 0x0f, 0xc7, 0xf8"	/* rdpid %rax */
		     : "+a"(v) : : "memory");
	GUEST_SYNC(v);
}

TEST(rdpid)
{
	unsigned int a, b, c, d;
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm;
	struct ucall uc;
	cpu_set_t set;
	int cpu = -1, i;

	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(c & (1U << 22)))
		SKIP(return, "no RDPID");
	/* Linux's TSC_AUX is the CPU number: 0 on CPU 0.  Any other will do. */
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(set), &set));
	for (i = 1; i < CPU_SETSIZE && cpu < 0; i++)
		if (CPU_ISSET(i, &set))
			cpu = i;
	if (cpu < 0)
		SKIP(return, "only CPU 0: TSC_AUX is 0 in the host too");
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
	vm = vm_create_default(&vcpu, guest_rdpid);
	ASSERT_SYNC(vcpu, &uc, 0);
	vm_free(vm);
}

/*
 * The host's TSC_AUX (CPU number in bits 11:0) is back whenever the vCPU
 * thread is in user space again, however the guest's 0 was switched in.
 */
static void guest_sync_loop(void)
{
	uint64_t i;

	for (i = 0; i < 20; i++)
		GUEST_SYNC(i);
}

TEST(tsc_aux_host)
{
	unsigned int a, b, c, d, aux;
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm;
	struct ucall uc;
	cpu_set_t set;
	int cpu = -1, i;

	if (!__get_cpuid(0x80000001, &a, &b, &c, &d) || !(d & (1U << 27)))
		SKIP(return, "no RDTSCP");
	ASSERT_EQ(0, sched_getaffinity(0, sizeof(set), &set));
	for (i = 1; i < CPU_SETSIZE && cpu < 0; i++)
		if (CPU_ISSET(i, &set))
			cpu = i;
	if (cpu < 0)
		SKIP(return, "only CPU 0: TSC_AUX is 0 in the host too");
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ASSERT_EQ(0, sched_setaffinity(0, sizeof(set), &set));
	vm = vm_create_default(&vcpu, guest_sync_loop);
	for (i = 0; i < 20; i++) {
		ASSERT_SYNC(vcpu, &uc, i);
		asm volatile("rdtscp" : "=a"(a), "=d"(d), "=c"(aux));
		ASSERT_EQ(cpu, aux & 0xfff);
	}
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

/* ---- 11: string I/O operands, single-step ----------------------------- */

extern const char pm_strio_start[], pm_strio_end[];

asm(".pushsection .rodata, \"a\"\n"
	".code32\n"
	"pm_strio_start:\n"
	"	mov $0x92, %dx\n"
	"	mov $0x10, %esi\n"
	"	outsb\n"		/* DS:ESI */
	"	mov $0x10, %esi\n"
	"	fs outsb\n"		/* FS:ESI */
	"	mov $0x10, %edi\n"
	"	insb\n"		/* ES:EDI */
	"	mov $0x20, %esi\n"
	"	outsb\n"		/* beyond the DS limit: #GP */
	"	hlt\n"
	"pm_strio_end:\n"
	".code64\n"
	".popsection");

TEST(string_io_segments)
{
	struct vmm_vm *vm = vm_create_default(NULL, NULL);
	struct vmm_vcpu *vcpu;
	struct vmm_run *run;
	struct vmm_sregs sregs;
	uint8_t *data = vm_gpa2hva(vm, GUEST_DATA_GPA);

	vcpu = vm_add_vcpu(vm, 0);
	run = vcpu->run;
	vm_load_code(vm, GUEST_SNIPPET_GPA, pm_strio_start, pm_strio_end);
	vcpu_setup_pmode32(vcpu, GUEST_SNIPPET_GPA);
	vcpu_get_sregs(vcpu, &sregs);
	sregs.ds.base = GUEST_DATA_GPA;
	sregs.ds.limit = 0x1f;
	sregs.ds.g = 0;
	sregs.es.base = GUEST_DATA_GPA + 0x1000;
	sregs.fs.base = GUEST_DATA_GPA + 0x2000;
	vcpu_set_sregs(vcpu, &sregs);
	data[0x10] = 0xa1;
	data[0x2010] = 0xc3;

	vcpu_run(vcpu);
	ASSERT_IO_OUT(vcpu, 0x92);
	EXPECT_EQ(0xa1, *((uint8_t *)run + run->io.data_offset));
	vcpu_run(vcpu);
	ASSERT_IO_OUT(vcpu, 0x92);
	EXPECT_EQ(0xc3, *((uint8_t *)run + run->io.data_offset));
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_IO);
	ASSERT_EQ(VMM_EXIT_IO_IN, run->io.direction);
	*((uint8_t *)run + run->io.data_offset) = 0x5a;
	/* #GP with no IDT: triple fault */
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_SHUTDOWN);
	EXPECT_EQ(0x5a, data[0x1010]);
	vm_free(vm);
}

/* Run; an IN from @port first (KVM reads the port, then faults) is skipped. */
static void run_past_in(struct vmm_vcpu *vcpu, uint16_t port)
{
	vcpu_run(vcpu);
	if (vcpu->run->exit_reason == VMM_EXIT_IO &&
	    vcpu->run->io.direction == VMM_EXIT_IO_IN &&
	    vcpu->run->io.port == port)
		vcpu_run(vcpu);
}

/*
 * rSI/rDI of a 16-bit address size wrap at 64 KiB within the segment,
 * whatever its limit (here 4 GiB, "big real mode"), and the base is not
 * page-aligned, so the wrap is not at a page boundary.
 */
extern const char rm_strwrap_start[], rm_strwrap_end[];

asm(".pushsection .rodata, \"a\"\n"
	".code16\n"
	"rm_strwrap_start:\n"
	"	mov $0x94, %dx\n"
	"	mov $0xfffe, %si\n"
	"	mov $4, %cx\n"
	"	rep outsb\n"
	"	mov $0xfffe, %di\n"
	"	mov $4, %cx\n"
	"	rep insb\n"
	"	hlt\n"
	"rm_strwrap_end:\n"
	".code64\n"
	".popsection");

#define STRWRAP_BASE	0x50800UL	/* selector 0x5080 */

TEST(string_io_wrap_16)
{
	struct vmm_vm *vm = vm_create_default(NULL, NULL);
	uint8_t *d = vm_gpa2hva(vm, STRWRAP_BASE);
	uint8_t out[8], in = 0xc0;
	unsigned int nout = 0, i;
	struct vmm_vcpu *vcpu;
	struct vmm_sregs sregs;
	struct vmm_run *run;

	vcpu = vm_add_vcpu(vm, 0);
	run = vcpu->run;
	vm_load_code(vm, GUEST_SNIPPET_GPA, rm_strwrap_start, rm_strwrap_end);
	vcpu_setup_real_mode(vcpu, GUEST_SNIPPET_GPA);
	vcpu_get_sregs(vcpu, &sregs);
	sregs.ds.selector = STRWRAP_BASE >> 4;
	sregs.ds.base = STRWRAP_BASE;
	sregs.ds.limit = 0xffffffff;
	sregs.ds.g = 1;
	sregs.es = sregs.ds;
	vcpu_set_sregs(vcpu, &sregs);
	memset(d, 0, 0x10010);
	d[0xfffe] = 0x11;
	d[0xffff] = 0x22;
	d[0] = 0x33;
	d[1] = 0x44;
	d[0x10000] = 0x55;
	d[0x10001] = 0x66;

	for (;;) {
		uint8_t *data;

		vcpu_run(vcpu);
		if (run->exit_reason != VMM_EXIT_IO)
			break;
		data = (uint8_t *)run + run->io.data_offset;
		ASSERT_EQ(0x94, run->io.port);
		ASSERT_EQ(1, run->io.size);
		for (i = 0; i < run->io.count; i++) {
			if (run->io.direction == VMM_EXIT_IO_IN) {
				data[i] = in++;
			} else {
				ASSERT_LT(nout, sizeof(out));
				out[nout++] = data[i];
			}
		}
	}
	ASSERT_EXIT(vcpu, VMM_EXIT_HLT);
	ASSERT_EQ(4, nout);
	EXPECT_EQ(0x11, out[0]);
	EXPECT_EQ(0x22, out[1]);
	EXPECT_EQ(0x33, out[2]);
	EXPECT_EQ(0x44, out[3]);
	EXPECT_EQ(0xc0, d[0xfffe]);
	EXPECT_EQ(0xc1, d[0xffff]);
	EXPECT_EQ(0xc2, d[0]);
	EXPECT_EQ(0xc3, d[1]);
	EXPECT_EQ(0x55, d[0x10000]);
	EXPECT_EQ(0x66, d[0x10001]);
	vm_free(vm);
}

/*
 * 64-bit mode: a string operand at a non-canonical address is #GP(0), or
 * #SS(0) when SS-based, not a #PF of a page walk.
 */
#define NONCANON	0x0000800000000000UL

static void guest_str_noncanon(void)
{
	uint64_t a;

	a = NONCANON;
	asm volatile("lea 1f(%%rip), %%rax\n\t"
		     "mov %%rax, exc_resume(%%rip)\n\t"
		     "outsb\n"
		     "1:"
		     : "+S"(a) : "d"(0x96) : "rax", "memory");
	GUEST_SYNC2(exc_vector, exc_err);
	exc_vector = 0;
	a = NONCANON + 0x1000;
	asm volatile("lea 1f(%%rip), %%rax\n\t"
		     "mov %%rax, exc_resume(%%rip)\n\t"
		     ".byte 0x36\n\t"	/* SS: */
		     "outsb\n"
		     "1:"
		     : "+S"(a) : "d"(0x96) : "rax", "memory");
	GUEST_SYNC2(exc_vector, exc_err);
	exc_vector = 0;
	a = 0xffff000000000000UL;
	asm volatile("lea 1f(%%rip), %%rax\n\t"
		     "mov %%rax, exc_resume(%%rip)\n\t"
		     "insb\n"
		     "1:"
		     : "+D"(a) : "d"(0x96) : "rax", "memory");
	GUEST_SYNC2(exc_vector, exc_err);
	GUEST_SYNC(pf_count);
}

TEST(string_io_noncanonical)
{
	static const uint64_t vectors[] = { 13, 12, 13 };
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_str_noncanon);
	struct ucall uc;
	unsigned int i;

	vm_set_idt_gate(vm, GUEST_IDT_GPA, 12, ss_handler);
	vm_set_idt_gate(vm, GUEST_IDT_GPA, 13, gp_handler);
	vm_set_idt_gate(vm, GUEST_IDT_GPA, 14, pf_handler);
	vcpu_set_idt(vcpu, GUEST_IDT_GPA, 0xfff);
	for (i = 0; i < ARRAY_LEN(vectors); i++) {
		run_past_in(vcpu, 0x96);
		ASSERT_EQ(UCALL_SYNC, get_ucall(vcpu, &uc))
			TH_LOG("case %u", i);
		EXPECT_EQ(vectors[i], uc.args[0]) TH_LOG("case %u", i);
		EXPECT_EQ(0, uc.args[1]);
	}
	ASSERT_SYNC(vcpu, &uc, 0);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

/*
 * 32-bit protected mode: INS needs a writable data segment in ES, OUTS a
 * readable one (an execute-only code segment is #GP(0)), and neither a
 * null (unusable) segment.  The #GP handler reports its error code on
 * port 0x9d.
 */
extern const char pm_strseg_start[], pm_strseg_ins[], pm_strseg_gp[],
	pm_strseg_end[];

asm(".pushsection .rodata, \"a\"\n"
	".code32\n"
	"pm_strseg_start:\n"
	"	mov $0x95, %dx\n"
	"	outsb\n"
	"	hlt\n"
	"pm_strseg_ins:\n"
	"	mov $0x95, %dx\n"
	"	insb\n"
	"	hlt\n"
	"pm_strseg_gp:\n"
	"	pop %eax\n"
	"	outl %eax, $0x9d\n"
	"	hlt\n"
	"pm_strseg_end:\n"
	".code64\n"
	".popsection");

TEST(string_io_seg_types)
{
	static const struct {
		bool ins;
		uint8_t type;
		bool unusable;
		bool gp;
	} cases[] = {
		{ false, 0x3, false, false },	/* RW data: control */
		{ false, 0xb, false, false },	/* readable code */
		{ false, 0x9, false, true },	/* execute-only code */
		{ false, 0x3, true, true },	/* null DS */
		{ true, 0x3, false, false },	/* RW data: control */
		{ true, 0x1, false, true },	/* read-only data */
		{ true, 0xb, false, true },	/* readable code */
		{ true, 0x3, true, true },	/* null ES */
	};
	struct vmm_vm *vm = vm_create_default(NULL, NULL);
	uint32_t gp = GUEST_SNIPPET_GPA + (pm_strseg_gp - pm_strseg_start);
	uint64_t *idt = vm_gpa2hva(vm, PAE_IDT_GPA);
	struct vmm_vcpu *vcpu;
	struct vmm_sregs sregs, sregs0;
	struct vmm_regs regs;
	unsigned int i;

	vcpu = vm_add_vcpu(vm, 0);
	vm_load_code(vm, GUEST_SNIPPET_GPA, pm_strseg_start, pm_strseg_end);
	vcpu_setup_pmode32(vcpu, GUEST_SNIPPET_GPA);
	memset(idt, 0, PAGE_SIZE);
	idt[13] = (gp & 0xffff) | ((uint64_t)GUEST_SEL_CODE32 << 16) |
		  (0x8eUL << 40) | ((uint64_t)(gp >> 16) << 48);
	vcpu_get_sregs(vcpu, &sregs0);
	sregs0.idt.base = PAE_IDT_GPA;
	sregs0.idt.limit = 0x7ff;

	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct vmm_segment *seg = &sregs.ds;
		uint32_t dir = VMM_EXIT_IO_OUT;

		if (cases[i].ins) {
			seg = &sregs.es;
			dir = VMM_EXIT_IO_IN;
		}
		sregs = sregs0;
		seg->type = cases[i].type;
		if (cases[i].unusable) {
			seg->selector = 0;
			seg->present = 0;
			seg->unusable = 1;
		}
		vcpu_set_sregs(vcpu, &sregs);
		vcpu_get_regs(vcpu, &regs);
		regs.rip = GUEST_SNIPPET_GPA;
		if (cases[i].ins)
			regs.rip += pm_strseg_ins - pm_strseg_start;
		regs.rsp = 0x7000;
		regs.rsi = GUEST_DATA_GPA;
		regs.rdi = GUEST_DATA_GPA;
		regs.rflags = X86_RFLAGS_FIXED;
		vcpu_set_regs(vcpu, &regs);
		if (cases[i].gp) {
			run_past_in(vcpu, 0x95);
			ASSERT_EXIT(vcpu, VMM_EXIT_IO);
			ASSERT_EQ(0x9d, vcpu->run->io.port) TH_LOG("case %u", i);
			EXPECT_EQ(0, run_io_data(vcpu));
		} else {
			vcpu_run(vcpu);
			ASSERT_EXIT(vcpu, VMM_EXIT_IO);
			ASSERT_EQ(0x95, vcpu->run->io.port) TH_LOG("case %u", i);
			EXPECT_EQ(dir, vcpu->run->io.direction);
		}
		vcpu_run(vcpu);
		ASSERT_EXIT(vcpu, VMM_EXIT_HLT);
	}
	vm_free(vm);
}

extern const char tf_after_cpuid[];

static void guest_single_step(void)
{
	uint64_t a = 0, c = 0, dr6;

	asm volatile("pushfq\n\t"
		     "orq $0x100, (%%rsp)\n\t"
		     "popfq\n\t"
		     "cpuid\n"
		     ".globl tf_after_cpuid\n"
		     "tf_after_cpuid:\n\t"
		     "nop\n\t"
		     "nop"
		     : "+a"(a), "+c"(c) : : "rbx", "rdx", "memory");
	asm volatile("mov %%dr6, %0" : "=r"(dr6));
	GUEST_SYNC2(db_count, db_rip);
	GUEST_SYNC(dr6 & 0x4000);
}

/* CPUID, skipped by the hypervisor, single-steps as on the CPU. */
TEST(single_step_cpuid)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_single_step);
	struct ucall uc;

	vm_set_idt_gate(vm, GUEST_IDT_GPA, 1, db_handler);
	vcpu_set_idt(vcpu, GUEST_IDT_GPA, 0xfff);
	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ((uintptr_t)tf_after_cpuid, uc.args[1]);
	ASSERT_SYNC(vcpu, &uc, 0x4000);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

/* ---- 11: MMIO across a page boundary ---------------------------------- */

#define SPLIT_RAM_GPA	(GUEST_TEST_GPA + 0x10000)

static void guest_mmio_split(void)
{
	uint32_t v;

	/* MMIO | MMIO */
	asm volatile("movl %0, (%1)"
		     : : "r"(0x11223344), "r"(M + 0xffe) : "memory");
	asm volatile("movl (%1), %0" : "=r"(v) : "r"(M + 0xffe) : "memory");
	GUEST_SYNC(v);
	/* RAM | MMIO */
	asm volatile("movl %0, (%1)"
		     : : "r"(0x55667788), "r"(GUEST_TEST_GPA + 0xffe)
		     : "memory");
	/* MMIO | RAM */
	asm volatile("movl %0, (%1)"
		     : : "r"(0x99aabbcc), "r"(SPLIT_RAM_GPA - 2) : "memory");
	asm volatile("movl (%1), %0"
		     : "=r"(v) : "r"(SPLIT_RAM_GPA - 2) : "memory");
	GUEST_SYNC(v);
}

static void expect_mmio(struct __test_metadata *_metadata,
			struct vmm_vcpu *vcpu, uint64_t gpa, bool write,
			uint16_t data)
{
	struct vmm_run *run = vcpu->run;
	uint16_t v = 0;

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_MMIO);
	EXPECT_EQ(gpa, run->mmio.phys_addr);
	EXPECT_EQ(2, run->mmio.len);
	ASSERT_EQ(write, run->mmio.is_write);
	if (write) {
		memcpy(&v, run->mmio.data, 2);
		EXPECT_EQ(data, v);
	} else {
		memcpy(run->mmio.data, &data, 2);
	}
}

TEST(mmio_split)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_mmio_split);
	uint8_t *ram1 = vm_add_memslot(vm, 1, 0, GUEST_TEST_GPA, PAGE_SIZE);
	uint8_t *ram2 = vm_add_memslot(vm, 2, 0, SPLIT_RAM_GPA, PAGE_SIZE);
	struct ucall uc;

	expect_mmio(_metadata, vcpu, M + 0xffe, true, 0x3344);
	expect_mmio(_metadata, vcpu, M + 0x1000, true, 0x1122);
	expect_mmio(_metadata, vcpu, M + 0xffe, false, 0xbbaa);
	expect_mmio(_metadata, vcpu, M + 0x1000, false, 0xddcc);
	ASSERT_SYNC(vcpu, &uc, 0xddccbbaa);
	expect_mmio(_metadata, vcpu, GUEST_TEST_GPA + 0x1000, true, 0x5566);
	EXPECT_EQ(0x88, ram1[0xffe]);
	EXPECT_EQ(0x77, ram1[0xfff]);
	expect_mmio(_metadata, vcpu, SPLIT_RAM_GPA - 2, true, 0xbbcc);
	EXPECT_EQ(0xaa, ram2[0]);
	EXPECT_EQ(0x99, ram2[1]);
	expect_mmio(_metadata, vcpu, SPLIT_RAM_GPA - 2, false, 0x1234);
	ASSERT_SYNC(vcpu, &uc, 0x99aa1234);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

TEST_HARNESS_MAIN
