// SPDX-License-Identifier: GPL-2.0
/*
 * irq_window: interrupts from a VMM without an in-kernel irqchip, as KVM
 * 6.1 has them: VMM_INTERRUPT queues an interrupt that the next entry
 * injects, ready_for_interrupt_injection and if_flag say when to do it,
 * and request_interrupt_window makes VMM_RUN return with
 * VMM_EXIT_IRQ_WINDOW_OPEN as soon as the guest can take one.
 */
#include <errno.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "vmm_util.h"

GUEST_LABEL(irq_handler);
GUEST_LABEL(inject_ret);
GUEST_LABEL(window_rip);
GUEST_LABEL(open_rip);

/* Written by the guest's handler: how many, and where it interrupted. */
uint64_t irq_count;
uint64_t irq_rip;

asm(".pushsection .text\n"
	"irq_handler:\n"
	"	incq irq_count(%rip)\n"
	"	push %rax\n"
	"	mov 8(%rsp), %rax\n"
	"	mov %rax, irq_rip(%rip)\n"
	"	pop %rax\n"
	"	iretq\n"
	".popsection");


static struct vmm_vm *create(struct vmm_vcpu **vcpu, void *guest_code)
{
	struct vmm_vm *vm = vm_create_default(vcpu, guest_code);

	vm_set_idt_gate(vm, GUEST_IDT_GPA, 0x40, irq_handler);
	vm_set_idt_gate(vm, GUEST_IDT_GPA, 0x41, irq_handler);
	vcpu_set_idt(*vcpu, GUEST_IDT_GPA, 0xfff);
	return vm;
}

static int vcpu_interrupt(struct vmm_vcpu *vcpu, uint32_t irq)
{
	struct vmm_interrupt i = { .irq = irq };

	return ioctl(vcpu->fd, VMM_INTERRUPT, &i);
}

/* Interrupts on: user space sees it may inject, and it is delivered. */
static void guest_inject(void)
{
	uint64_t seen;

	asm volatile("sti\n\t"
		     "nop\n\t"
		     "outb %%al, $0x80\n\t"
		     "inject_ret:\n\t"
		     "movq irq_count(%%rip), %0\n\t"
		     "cli"
		     : "=r"(seen) : "a"(0) : "memory");
	GUEST_SYNC2(seen, irq_rip);
}

TEST(inject_ready)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = create(&vcpu, guest_inject);
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_IO_OUT(vcpu, 0x80);
	EXPECT_EQ(1, vcpu->run->if_flag);
	EXPECT_EQ(1, vcpu->run->ready_for_interrupt_injection);
	ASSERT_EQ(0, vcpu_interrupt(vcpu, 0x40));
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ((uint64_t)inject_ret, uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

/* The window opens after STI's shadow, at window_rip. */
static void guest_window(void)
{
	uint64_t seen;

	asm volatile("cli\n\t"
		     "outb %%al, $0x80\n\t"
		     "sti\n\t"
		     "nop\n\t"
		     "window_rip:\n\t"
		     "nop\n\t"
		     "movq irq_count(%%rip), %0\n\t"
		     "cli"
		     : "=r"(seen) : "a"(0) : "memory");
	GUEST_SYNC2(seen, irq_rip);
}

TEST(window_after_sti)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = create(&vcpu, guest_window);
	struct vmm_run *run = vcpu->run;
	struct vmm_regs regs;
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_IO_OUT(vcpu, 0x80);
	EXPECT_EQ(0, run->if_flag);
	EXPECT_EQ(0, run->ready_for_interrupt_injection);

	run->request_interrupt_window = 1;
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_IRQ_WINDOW_OPEN);
	EXPECT_EQ(1, run->if_flag);
	EXPECT_EQ(1, run->ready_for_interrupt_injection);
	vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ((uint64_t)window_rip, regs.rip);

	run->request_interrupt_window = 0;
	ASSERT_EQ(0, vcpu_interrupt(vcpu, 0x41));
	ASSERT_SYNC(vcpu, &uc, 1);
	EXPECT_EQ((uint64_t)window_rip, uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

/* An open window: VMM_RUN returns after one instruction boundary. */
static void guest_open(void)
{
	asm volatile("sti\n\t"
		     "nop\n\t"
		     "outb %%al, $0x80\n\t"
		     "open_rip:\n\t"
		     "outb %%al, $0x81\n\t"
		     "cli"
		     : : "a"(0) : "memory");
	GUEST_SYNC(irq_count);
}

TEST(window_open)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = create(&vcpu, guest_open);
	struct vmm_run *run = vcpu->run;
	struct vmm_regs regs;
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_IO_OUT(vcpu, 0x80);
	run->request_interrupt_window = 1;
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_IRQ_WINDOW_OPEN);
	vcpu_get_regs(vcpu, &regs);
	EXPECT_EQ((uint64_t)open_rip, regs.rip);
	/* No interrupt given: the guest goes on, and so does the window. */
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_IRQ_WINDOW_OPEN);
	run->request_interrupt_window = 0;
	vcpu_run(vcpu);
	ASSERT_IO_OUT(vcpu, 0x81);
	ASSERT_SYNC(vcpu, &uc, 0);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

/*
 * KVM 6.1 injects what VMM_INTERRUPT queued at the next entry, even with
 * RFLAGS.IF clear: user space is trusted to have waited for
 * ready_for_interrupt_injection.
 */
static void guest_if0(void)
{
	uint64_t seen;

	asm volatile("cli\n\t"
		     "outb %%al, $0x80\n\t"
		     "movq irq_count(%%rip), %0"
		     : "=r"(seen) : "a"(0) : "memory");
	GUEST_SYNC(seen);
}

TEST(inject_ignores_if)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = create(&vcpu, guest_if0);
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_IO_OUT(vcpu, 0x80);
	EXPECT_EQ(0, vcpu->run->ready_for_interrupt_injection);
	/* The second replaces the first. */
	ASSERT_EQ(0, vcpu_interrupt(vcpu, 0x40));
	ASSERT_EQ(0, vcpu_interrupt(vcpu, 0x41));
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

/*
 * SET_SREGS' interrupt_bitmap holds an interrupt that was in delivery:
 * KVM injects it at the next entry whatever RFLAGS.IF says, and GET_SREGS
 * reports it until then.
 */
TEST(irq_bitmap_if0)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = create(&vcpu, guest_if0);
	struct vmm_sregs sregs;
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_IO_OUT(vcpu, 0x80);
	EXPECT_EQ(0, vcpu->run->if_flag);
	vcpu_get_sregs(vcpu, &sregs);
	sregs.interrupt_bitmap[1] |= 1ULL << 0;		/* vector 0x40 */
	vcpu_set_sregs(vcpu, &sregs);
	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(1ULL << 0, sregs.interrupt_bitmap[1]);
	ASSERT_SYNC(vcpu, &uc, 1);
	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(0, sregs.interrupt_bitmap[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

TEST(bad_vector)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = create(&vcpu, guest_if0);

	errno = 0;
	EXPECT_EQ(-1, vcpu_interrupt(vcpu, 256));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, vcpu_interrupt(vcpu, 0xffffffff));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(vcpu->fd, VMM_INTERRUPT, NULL));
	EXPECT_EQ(EFAULT, errno);
	vm_free(vm);
}

TEST_HARNESS_MAIN
