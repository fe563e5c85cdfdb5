// SPDX-License-Identifier: GPL-2.0
/*
 * internal_error: an MMIO access by an instruction vmm does not emulate
 * exits with VMM_EXIT_INTERNAL_ERROR, suberror VMM_INTERNAL_ERROR_EMULATION.
 * KVM emulates these instructions, so this test is vmm-only.
 */
#include "kselftest_harness.h"
#include "vmm_util.h"

static void guest_add_to_mmio(void)
{
	/* 01 02: add %eax, (%rdx) */
	asm volatile(".byte 0x01, 0x02" : : "a"(1), "d"(GUEST_MMIO_GPA)
		     : "memory");
	GUEST_SYNC(1);
}

TEST(add_to_mmio)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm;
	struct vmm_run *run;

	if (vmm_dev_is_kvm())
		SKIP(return, "KVM emulates ADD to MMIO");
	vm = vm_create_default(&vcpu, guest_add_to_mmio);
	run = vcpu->run;
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_INTERNAL_ERROR);
	ASSERT_EQ(VMM_INTERNAL_ERROR_EMULATION, run->internal.suberror);
	ASSERT_LE(1, run->internal.ndata);
	ASSERT_GE(16, run->internal.ndata);
	if (run->emulation_failure.flags &
	    VMM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) {
		ASSERT_LE(2, run->emulation_failure.insn_size);
		ASSERT_GE(15, run->emulation_failure.insn_size);
		ASSERT_EQ(0x01, run->emulation_failure.insn_bytes[0]);
		ASSERT_EQ(0x02, run->emulation_failure.insn_bytes[1]);
	}
	vm_free(vm);
}

TEST_HARNESS_MAIN
