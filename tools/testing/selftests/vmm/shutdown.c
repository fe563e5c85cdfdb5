// SPDX-License-Identifier: GPL-2.0
/*
 * shutdown: a triple fault exits with VMM_EXIT_SHUTDOWN.  The default VMs
 * have an IDT with limit 0, so any exception escalates to #DF and then to
 * a triple fault.
 */
#include "kselftest_harness.h"
#include "snippets.h"
#include "vmm_util.h"

static void guest_ud2(void)
{
	asm volatile("ud2");
	GUEST_SYNC(1);
}

static void guest_int3(void)
{
	asm volatile("int3");
	GUEST_SYNC(1);
}

static void guest_gp(void)
{
	/* a non-canonical address: #GP */
	asm volatile("movq (%0), %%rax" : : "r"(0x8000000000000000UL)
		     : "rax", "memory");
	GUEST_SYNC(1);
}

static void guest_bad_stack(void)
{
	/* a push with RSP at a non-canonical address: #SS */
	asm volatile("movq %0, %%rsp\n"
		     "pushq $0" : : "r"(0x8000000000001000UL) : "memory");
	GUEST_SYNC(1);
}

static void run_to_shutdown(struct __test_metadata *_metadata, void *guest)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest);

	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_SHUTDOWN);
	vm_free(vm);
}

TEST(long_mode_ud2)
{
	run_to_shutdown(_metadata, guest_ud2);
}

TEST(long_mode_int3)
{
	run_to_shutdown(_metadata, guest_int3);
}

TEST(long_mode_gp)
{
	run_to_shutdown(_metadata, guest_gp);
}

TEST(long_mode_ss)
{
	run_to_shutdown(_metadata, guest_bad_stack);
}

TEST(real_mode_int3)
{
	struct vmm_vm *vm = vm_create_empty();
	struct vmm_vcpu *vcpu;

	vm_add_memslot(vm, 0, 0, 0, SZ_2M);
	vm_load_snippet(vm, GUEST_SNIPPET_GPA, rm_triple);
	vcpu = vm_add_vcpu(vm, 0);
	vcpu_setup_real_mode(vcpu, GUEST_SNIPPET_GPA);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_SHUTDOWN);
	vm_free(vm);
}

TEST_HARNESS_MAIN
