// SPDX-License-Identifier: GPL-2.0
/*
 * fail_entry: state that SET_SREGS accepts but the hardware refuses to
 * enter exits with VMM_EXIT_FAIL_ENTRY.
 *
 * The trigger is CS.L and CS.D/B both set in long mode (EFER.LME, CR0.PG,
 * CR4.PAE): KVM's kvm_is_valid_sregs() does not look at CS.D, but VMRUN's
 * consistency checks (AMD APM vol. 2, 15.5.1, and QEMU's svm_helper.c)
 * reject it with VMEXIT_INVALID, which KVM reports as
 * KVM_EXIT_FAIL_ENTRY with hardware_entry_failure_reason = the VMCB's
 * exit code, SVM_EXIT_ERR (-1), and the host CPU it tried to enter on.
 * On silicon the 64-bit EXITCODE is 0xffffffffffffffff; QEMU's TCG SVM
 * stores only a 32-bit exit code (cpu_vmexit() takes a uint32_t), so in
 * the rig KVM reports 0xffffffff: the test requires the low 32 bits to be
 * all ones and the high 32 bits to be all ones or zero (the CPU's
 * EXITCODE passed through), never an exit code of the hypervisor's own.
 */
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmm_util.h"

#define SVM_EXIT_ERR	0xffffffffffffffffULL

static void guest_never(void)
{
	GUEST_SYNC(1);
}

TEST(cs_l_and_d)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_never);
	struct vmm_sregs sregs;
	unsigned long long reason;

	vcpu_get_sregs(vcpu, &sregs);
	sregs.cs.db = 1;
	vcpu_set_sregs(vcpu, &sregs);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_FAIL_ENTRY);
	TH_LOG("hardware_entry_failure_reason %#llx cpu %u",
	       (unsigned long long)
	       vcpu->run->fail_entry.hardware_entry_failure_reason,
	       vcpu->run->fail_entry.cpu);
	reason = vcpu->run->fail_entry.hardware_entry_failure_reason;
	EXPECT_EQ(SVM_EXIT_ERR & 0xffffffff, reason & 0xffffffff);
	EXPECT_TRUE(reason >> 32 == 0xffffffff || reason >> 32 == 0) {
		TH_LOG("hardware_entry_failure_reason %#llx is not SVM_EXIT_ERR",
		       (unsigned long long)reason);
	}
	EXPECT_GT((unsigned int)sysconf(_SC_NPROCESSORS_CONF),
		  vcpu->run->fail_entry.cpu);
	vm_free(vm);
}

/* A valid state after the failure enters again. */
TEST(recover)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_never);
	struct vmm_sregs sregs;
	struct ucall uc;

	vcpu_get_sregs(vcpu, &sregs);
	sregs.cs.db = 1;
	vcpu_set_sregs(vcpu, &sregs);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_FAIL_ENTRY);
	sregs.cs.db = 0;
	vcpu_set_sregs(vcpu, &sregs);
	vcpu_set_entry(vcpu, guest_never, 0, 0);
	ASSERT_SYNC(vcpu, &uc, 1);
	vm_free(vm);
}

TEST_HARNESS_MAIN
