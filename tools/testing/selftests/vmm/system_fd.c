// SPDX-License-Identifier: GPL-2.0
/*
 * system_fd: ioctls of the device fd (and CHECK_EXTENSION on the VM fd).
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmm_util.h"

/* Every capability <linux/vmm.h> defines must be reported as present. */
static const struct {
	long cap;
	const char *name;
} caps[] = {
	{ VMM_CAP_HLT, "HLT" },
	{ VMM_CAP_USER_MEMORY, "USER_MEMORY" },
	{ VMM_CAP_NR_VCPUS, "NR_VCPUS" },
	{ VMM_CAP_NR_MEMSLOTS, "NR_MEMSLOTS" },
	{ VMM_CAP_SYNC_MMU, "SYNC_MMU" },
	{ VMM_CAP_DESTROY_MEMORY_REGION_WORKS, "DESTROY_MEMORY_REGION_WORKS" },
	{ VMM_CAP_JOIN_MEMORY_REGIONS_WORKS, "JOIN_MEMORY_REGIONS_WORKS" },
	{ VMM_CAP_IOEVENTFD, "IOEVENTFD" },
	{ VMM_CAP_INTERNAL_ERROR_DATA, "INTERNAL_ERROR_DATA" },
	{ VMM_CAP_MAX_VCPUS, "MAX_VCPUS" },
	{ VMM_CAP_READONLY_MEM, "READONLY_MEM" },
	{ VMM_CAP_IOEVENTFD_NO_LENGTH, "IOEVENTFD_NO_LENGTH" },
	{ VMM_CAP_CHECK_EXTENSION_VM, "CHECK_EXTENSION_VM" },
	{ VMM_CAP_IOEVENTFD_ANY_LENGTH, "IOEVENTFD_ANY_LENGTH" },
	{ VMM_CAP_MAX_VCPU_ID, "MAX_VCPU_ID" },
	{ VMM_CAP_IMMEDIATE_EXIT, "IMMEDIATE_EXIT" },
};

FIXTURE(sys) {
	int fd;
};

FIXTURE_SETUP(sys)
{
	self->fd = vmm_open_dev();
}

FIXTURE_TEARDOWN(sys)
{
	close(self->fd);
}

TEST_F(sys, api_version)
{
	ASSERT_EQ(VMM_API_VERSION, ioctl(self->fd, VMM_GET_API_VERSION, 0));
	ASSERT_EQ(12, VMM_API_VERSION);
	/* a nonzero argument is rejected */
	ASSERT_EQ(-1, ioctl(self->fd, VMM_GET_API_VERSION, 1));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(sys, create_vm_types)
{
	unsigned long bad[] = { 1, 2, 0x80000000UL, ~0UL };
	unsigned int i;
	int vm;

	vm = ioctl(self->fd, VMM_CREATE_VM, 0);
	ASSERT_LE(0, vm);
	ASSERT_EQ(0, close(vm));
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		errno = 0;
		ASSERT_EQ(-1, ioctl(self->fd, VMM_CREATE_VM, bad[i])) {
			TH_LOG("CREATE_VM type %#lx", bad[i]);
		}
		ASSERT_EQ(EINVAL, errno);
	}
}

TEST_F(sys, check_extension)
{
	int vm = ioctl(self->fd, VMM_CREATE_VM, 0);
	unsigned int i;

	ASSERT_LE(0, vm);
	for (i = 0; i < ARRAY_LEN(caps); i++) {
		long sys = ioctl(self->fd, VMM_CHECK_EXTENSION, caps[i].cap);
		long v = ioctl(vm, VMM_CHECK_EXTENSION, caps[i].cap);

		TH_LOG("CAP_%s: %ld (VM fd: %ld)", caps[i].name, sys, v);
		EXPECT_LT(0, sys);
		EXPECT_LT(0, v);
	}
	/* unknown capabilities read as 0, on both fds */
	ASSERT_EQ(0, ioctl(self->fd, VMM_CHECK_EXTENSION, 0x7fffffffL));
	ASSERT_EQ(0, ioctl(vm, VMM_CHECK_EXTENSION, 0x7fffffffL));
	ASSERT_EQ(0, ioctl(self->fd, VMM_CHECK_EXTENSION, -1L));
	ASSERT_EQ(0, close(vm));
}

TEST_F(sys, vcpu_limits_consistent)
{
	long nr = vmm_check_extension(self->fd, VMM_CAP_NR_VCPUS);
	long max = vmm_check_extension(self->fd, VMM_CAP_MAX_VCPUS);
	long max_id = vmm_check_extension(self->fd, VMM_CAP_MAX_VCPU_ID);

	ASSERT_LE(1, nr);
	ASSERT_LE(nr, max);
	ASSERT_LE(max, max_id);
}

TEST_F(sys, vcpu_mmap_size)
{
	long size = ioctl(self->fd, VMM_GET_VCPU_MMAP_SIZE, 0);
	long page = sysconf(_SC_PAGESIZE);

	TH_LOG("vCPU mmap size %ld", size);
	ASSERT_LE(page, size);
	ASSERT_EQ(0, size % page);
	ASSERT_LE((long)sizeof(struct vmm_run), size);
	ASSERT_EQ(-1, ioctl(self->fd, VMM_GET_VCPU_MMAP_SIZE, 1));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(sys, many_vms)
{
	int vms[16];
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(vms); i++) {
		vms[i] = ioctl(self->fd, VMM_CREATE_VM, 0);
		ASSERT_LE(0, vms[i]);
	}
	for (i = 0; i < ARRAY_LEN(vms); i++)
		ASSERT_EQ(0, close(vms[i]));
}

TEST_HARNESS_MAIN
