// SPDX-License-Identifier: GPL-2.0
/*
 * run: VMM_RUN in 64-bit, real and 32-bit protected mode guests, HLT exits,
 * immediate_exit and signals, SET_REGS while an I/O exit is pending.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/time.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "snippets.h"
#include "vmm_util.h"

static void guest_sync(void)
{
	GUEST_SYNC(1);
	GUEST_SYNC2(2, 0xfeedfacecafef00dUL);
	GUEST_ASSERT_EQ(1 + 1, 2);
}

static void guest_assert_fails(void)
{
	uint64_t v = 41;

	asm volatile("" : "+r"(v));
	GUEST_ASSERT_EQ(v, 42);
}

/* HLT, then report the address right after it */
static void guest_hlt(void)
{
	uint64_t after;

	asm volatile("lea 1f(%%rip), %0\n"
		     "hlt\n"
		     "1:" : "=r"(after) : : "memory");
	GUEST_SYNC(after);
}

static void guest_spin(void)
{
	guest_spin_forever();
}

static void guest_in_after_sync(void)
{
	uint32_t v;

	GUEST_SYNC(0);
	asm volatile("inl %1, %0" : "=a"(v) : "Nd"((uint16_t)0x20));
	GUEST_SYNC(v);
}

static void guest_second_entry(void)
{
	GUEST_SYNC(2);
}

#define snippet_vm(vcpu, name) \
	__snippet_vm(vcpu, name##_start, name##_end)

static struct vmm_vm *__snippet_vm(struct vmm_vcpu **vcpu, const char *start,
				   const char *end)
{
	struct vmm_vm *vm = vm_create_empty();

	vm_add_memslot(vm, 0, 0, 0, SZ_2M);
	vm_setup_sys(vm);
	vm_load_code(vm, GUEST_SNIPPET_GPA, start, end);
	*vcpu = vm_add_vcpu(vm, 0);
	return vm;
}

static uint64_t io_data(struct vmm_vcpu *vcpu)
{
	uint64_t v = 0;

	memcpy(&v, (char *)vcpu->run + vcpu->run->io.data_offset,
	       vcpu->run->io.size);
	return v;
}

TEST(guest64_ucall)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_sync);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_SYNC(vcpu, &uc, 2);
	ASSERT_EQ(0xfeedfacecafef00dUL, uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

TEST(guest64_assert_reported)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_assert_fails);
	struct ucall uc;

	TH_LOG("a guest assertion report is expected below");
	ASSERT_UCALL(vcpu, &uc, UCALL_ABORT);
	ASSERT_EQ(41, uc.args[0]);
	ASSERT_EQ(42, uc.args[1]);
	ASSERT_STREQ("v == 42", (char *)vm_gpa2hva(vm, uc.expr));
	ASSERT_NE(0, uc.line);
	vm_free(vm);
}

TEST(real_mode)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = snippet_vm(&vcpu, rm_out);
	struct vmm_regs regs;

	vcpu_setup_real_mode(vcpu, GUEST_SNIPPET_GPA);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_IO);
	ASSERT_EQ(VMM_EXIT_IO_OUT, vcpu->run->io.direction);
	ASSERT_EQ(2, vcpu->run->io.size);
	ASSERT_EQ(0x10, vcpu->run->io.port);
	ASSERT_EQ(1, vcpu->run->io.count);
	ASSERT_EQ(0x1234, io_data(vcpu));
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_HLT);
	vcpu_get_regs(vcpu, &regs);
	ASSERT_EQ(GUEST_SNIPPET_GPA + snippet_size(rm_out), regs.rip);
	vm_free(vm);
}

TEST(pmode32)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = snippet_vm(&vcpu, pm_out);
	struct vmm_regs regs;

	vcpu_setup_pmode32(vcpu, GUEST_SNIPPET_GPA);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_IO);
	ASSERT_EQ(VMM_EXIT_IO_OUT, vcpu->run->io.direction);
	ASSERT_EQ(4, vcpu->run->io.size);
	ASSERT_EQ(0x11, vcpu->run->io.port);
	ASSERT_EQ(0xdeadbeef, io_data(vcpu));
	ASSERT_EQ(0xdeadbeef, *(uint32_t *)vm_gpa2hva(vm, 0x9000));
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_HLT);
	vcpu_get_regs(vcpu, &regs);
	ASSERT_EQ(GUEST_SNIPPET_GPA + snippet_size(pm_out), regs.rip);
	ASSERT_EQ(0xdeadbeef, regs.rax);
	vm_free(vm);
}

TEST(hlt_exit)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_hlt);
	struct vmm_regs regs;
	struct ucall uc;

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_HLT);
	/* RIP is past the HLT; running again continues the guest */
	vcpu_get_regs(vcpu, &regs);
	ASSERT_SYNC(vcpu, &uc, regs.rip);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

TEST(immediate_exit)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_sync);
	struct vmm_regs before, after;
	struct ucall uc;

	vcpu_get_regs(vcpu, &before);
	vcpu->run->immediate_exit = 1;
	ASSERT_EQ(-1, __vcpu_run(vcpu));
	ASSERT_EQ(EINTR, errno);
	vcpu_get_regs(vcpu, &after);
	ASSERT_EQ(before.rip, after.rip);

	vcpu->run->immediate_exit = 0;
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_SYNC(vcpu, &uc, 2);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

/* A pending IN is completed by the VMM_RUN that exits with -EINTR. */
TEST(immediate_exit_completes_in)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_in_after_sync);
	struct vmm_regs regs;
	struct ucall uc;
	uint32_t v = 0x5a5aa5a5;

	ASSERT_SYNC(vcpu, &uc, 0);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_IO);
	ASSERT_EQ(VMM_EXIT_IO_IN, vcpu->run->io.direction);
	ASSERT_EQ(0x20, vcpu->run->io.port);
	memcpy((char *)vcpu->run + vcpu->run->io.data_offset, &v, 4);
	vcpu->run->immediate_exit = 1;
	ASSERT_EQ(-1, __vcpu_run(vcpu));
	ASSERT_EQ(EINTR, errno);
	vcpu_get_regs(vcpu, &regs);
	ASSERT_EQ(v, regs.rax);
	vcpu->run->immediate_exit = 0;
	ASSERT_SYNC(vcpu, &uc, v);
	vm_free(vm);
}

/*
 * The VMM moves the guest elsewhere with SET_REGS while an OUT (the ucall)
 * or an IN exit is pending: KVM completes the I/O instruction only if RIP
 * is unchanged (complete_fast_pio_out/in compare pio.linear_rip), so the
 * guest starts at the new RIP.
 *
 * vmm does the same (vmm_x86_complete_pio()).  Before, it completed the
 * old instruction whatever SET_REGS did: after OUT the guest resumed at
 * the old RIP with the new RSP and triple-faulted (SHUTDOWN); after IN it
 * reported SYNC(0x1fffa0) instead of SYNC(2).
 */

TEST(set_regs_after_out)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm;
	struct ucall uc;

	vm = vm_create_default(&vcpu, guest_sync);
	ASSERT_SYNC(vcpu, &uc, 1);
	vcpu_set_entry(vcpu, guest_second_entry, 0, 0);
	ASSERT_SYNC(vcpu, &uc, 2);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

TEST(set_regs_after_in)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm;
	struct ucall uc;

	vm = vm_create_default(&vcpu, guest_in_after_sync);
	ASSERT_SYNC(vcpu, &uc, 0);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_IO);
	ASSERT_EQ(VMM_EXIT_IO_IN, vcpu->run->io.direction);
	vcpu_set_entry(vcpu, guest_second_entry, 0, 0);
	ASSERT_SYNC(vcpu, &uc, 2);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

static void on_alarm(int sig)
{
	(void)sig;
}

TEST(signal_exit)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_spin);
	struct sigaction sa;
	struct itimerval it;
	int r, err;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	ASSERT_EQ(0, sigaction(SIGALRM, &sa, NULL));
	/* repeat, in case the first one lands before VMM_RUN */
	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = 50000;
	it.it_interval.tv_usec = 50000;
	ASSERT_EQ(0, setitimer(ITIMER_REAL, &it, NULL));
	r = __vcpu_run(vcpu);
	err = errno;
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	ASSERT_EQ(-1, r);
	ASSERT_EQ(EINTR, err);
	ASSERT_EXIT(vcpu, VMM_EXIT_INTR);
	vm_free(vm);
}

TEST_HARNESS_MAIN
