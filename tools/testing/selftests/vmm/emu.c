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
#include "vmm_util.h"

#define M		GUEST_MMIO_GPA

/* A symbol of guest code in a top-level asm() block */
#define GUEST_LABEL(name)	extern const char name[]

GUEST_LABEL(irq_handler);
GUEST_LABEL(bp_handler);
GUEST_LABEL(pf_handler);

/* Counters and values written by the guest's handlers (guest .data/.bss). */
uint64_t irq_count;
uint64_t bp_count;
uint64_t bp_rip;
uint64_t pf_count;
uint64_t pf_err;
uint64_t pf_cr2;
uint64_t exc_resume;

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
	".popsection");

/* A 64-bit interrupt gate for @vector in the IDT at @idt_gpa. */
static void idt_set(struct vmm_vm *vm, uint64_t idt_gpa, int vector,
		    const char *handler)
{
	uint64_t *e = vm_gpa2hva(vm, idt_gpa + vector * 16);
	uint64_t off = (uintptr_t)handler;

	e[0] = (off & 0xffff) | ((uint64_t)GUEST_SEL_CODE64 << 16) |
	       (0x8eUL << 40) | (((off >> 16) & 0xffff) << 48);
	e[1] = off >> 32;
}

static void vcpu_set_idt(struct vmm_vcpu *vcpu, uint64_t base, uint16_t limit)
{
	struct vmm_sregs sregs;

	vcpu_get_sregs(vcpu, &sregs);
	sregs.idt.base = base;
	sregs.idt.limit = limit;
	vcpu_set_sregs(vcpu, &sregs);
}

/* Queue an external interrupt as user space without an irqchip does. */
static void vcpu_queue_irq(struct vmm_vcpu *vcpu, int vector)
{
	struct vmm_sregs sregs;

	vcpu_get_sregs(vcpu, &sregs);
	sregs.interrupt_bitmap[vector / 64] |= 1ULL << (vector % 64);
	vcpu_set_sregs(vcpu, &sregs);
}

#define ASSERT_IO_OUT(vcpu, p) do {					\
	ASSERT_EXIT(vcpu, VMM_EXIT_IO);					\
	ASSERT_EQ(VMM_EXIT_IO_OUT, (vcpu)->run->io.direction);		\
	ASSERT_EQ((p), (vcpu)->run->io.port);				\
} while (0)

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

	idt_set(vm, GUEST_IDT_GPA, 0x40, irq_handler);
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
	/* vmm holds the interrupt while IF=0; KVM has delivered it. */
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
	idt_set(vm, idt_gpa, 3, bp_handler);
	vcpu_set_idt(vcpu, idt_gpa, 0xfff);
	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	EXPECT_EQ(1, uc.args[0]);
	EXPECT_EQ((uintptr_t)int3_after, uc.args[1]);
	/* INT 3 (CD 03) with the IDT on another fresh page */
	idt_set(vm, idt_gpa + PAGE_SIZE, 3, bp_handler);
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

TEST_HARNESS_MAIN
