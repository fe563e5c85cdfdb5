// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_only: where vmm knowingly differs from KVM 6.1, so this binary is not
 * run against /dev/kvm (and skips itself there):
 *
 * - no dirty logging yet: VMM_MEM_LOG_DIRTY_PAGES is rejected with EINVAL;
 * - no CPUID table yet: SET_SREGS accepts only the CR4 bits VME PVI TSD DE
 *   PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT.  KVM, before SET_CPUID2, accepts
 *   every CR4 bit the host supports (e.g. OSXSAVE).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "vmm_util.h"

TEST(dirty_log_rejected)
{
	struct vmm_vm *vm;
	char *mem;

	if (vmm_dev_is_kvm())
		SKIP(return, "KVM supports dirty logging");
	vm = vm_create_empty();
	mem = vmm_alloc_mem(SZ_2M);

	/* on create */
	errno = 0;
	ASSERT_EQ(-1, __vm_set_memslot(vm, 1, VMM_MEM_LOG_DIRTY_PAGES,
				       GUEST_TEST_GPA, SZ_2M, mem));
	ASSERT_EQ(EINVAL, errno);
	/* as a flag change; the slot stays as it was */
	ASSERT_EQ(0, __vm_set_memslot(vm, 1, 0, GUEST_TEST_GPA, SZ_2M, mem));
	errno = 0;
	ASSERT_EQ(-1, __vm_set_memslot(vm, 1, VMM_MEM_LOG_DIRTY_PAGES,
				       GUEST_TEST_GPA, SZ_2M, mem));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, __vm_set_memslot(vm, 1, 0, GUEST_TEST_GPA, SZ_2M, mem));
	ASSERT_EQ(0, __vm_set_memslot(vm, 1, 0, 0, 0, NULL));
	vm_free(vm);
	munmap(mem, SZ_2M);
}

TEST(cr4_without_cpuid)
{
	static const uint64_t ok_bits[] = {
		1UL << 0, 1UL << 1, 1UL << 2, 1UL << 3, X86_CR4_PSE,
		X86_CR4_PAE, 1UL << 6, 1UL << 7, 1UL << 8, X86_CR4_OSFXSR,
		X86_CR4_OSXMMEXCPT,
	};
	static const uint64_t bad_bits[] = {
		1UL << 11, 1UL << 12, 1UL << 13, 1UL << 16, 1UL << 17,
		X86_CR4_OSXSAVE, 1UL << 20, 1UL << 21, 1UL << 22, 1UL << 23,
	};
	struct vmm_sregs reset, s, out;
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm;
	unsigned int i;

	if (vmm_dev_is_kvm())
		SKIP(return, "KVM checks CR4 against CPUID only after SET_CPUID2");
	vm = vm_create_empty();
	vcpu = vm_add_vcpu(vm, 0);
	vcpu_get_sregs(vcpu, &reset);
	for (i = 0; i < ARRAY_LEN(ok_bits); i++) {
		s = reset;
		s.cr4 = ok_bits[i];
		EXPECT_EQ(0, ioctl(vcpu->fd, VMM_SET_SREGS, &s)) {
			TH_LOG("CR4 %#lx rejected", (unsigned long)ok_bits[i]);
		}
		vcpu_get_sregs(vcpu, &out);
		EXPECT_EQ(ok_bits[i], out.cr4);
	}
	for (i = 0; i < ARRAY_LEN(bad_bits); i++) {
		vcpu_set_sregs(vcpu, &reset);
		s = reset;
		s.cr4 = bad_bits[i];
		errno = 0;
		EXPECT_EQ(-1, ioctl(vcpu->fd, VMM_SET_SREGS, &s)) {
			TH_LOG("CR4 %#lx accepted", (unsigned long)bad_bits[i]);
		}
		EXPECT_EQ(EINVAL, errno);
		vcpu_get_sregs(vcpu, &out);
		EXPECT_EQ(0, memcmp(&reset, &out, sizeof(out)));
	}
	vm_free(vm);
}

TEST_HARNESS_MAIN
