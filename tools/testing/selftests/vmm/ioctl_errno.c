// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl_errno: ioctls on the wrong kind of fd, bad arguments and bad
 * pointers fail with the errno Linux KVM 6.1 (x86) returns:
 *
 *   device fd, anything it does not know   EINVAL (kvm_arch_dev_ioctl)
 *   VM fd, anything it does not know       ENOTTY (kvm_arch_vm_ioctl)
 *   vCPU fd, anything it does not know     EINVAL (kvm_arch_vcpu_ioctl,
 *                                          and any ioctl type but 0xAE)
 *   unreadable/unwritable argument         EFAULT, state unchanged
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmm_util.h"

#define VMM_IOCTL_UNKNOWN	_IO(VMMIO, 0xff)
#define FOREIGN_IOCTL		_IO(0xaf, 0x7f)

struct errno_case {
	const char *name;
	unsigned long nr;
	bool ptr;	/* pass a pointer to a zeroed buffer, else 0 */
	int err;
};

#define C(n, p, e)	{ #n, n, p, e }

static const struct errno_case sys_cases[] = {
	C(VMM_CREATE_VCPU, false, EINVAL),
	C(VMM_SET_USER_MEMORY_REGION, true, EINVAL),
	C(VMM_ENABLE_CAP, true, EINVAL),
	C(VMM_RUN, false, EINVAL),
	C(VMM_GET_REGS, true, EINVAL),
	C(VMM_SET_REGS, true, EINVAL),
	C(VMM_GET_SREGS, true, EINVAL),
	C(VMM_SET_SREGS, true, EINVAL),
	C(VMM_IOCTL_UNKNOWN, false, EINVAL),
	C(FOREIGN_IOCTL, false, EINVAL),
};

static const struct errno_case vm_cases[] = {
	C(VMM_GET_API_VERSION, false, ENOTTY),
	C(VMM_CREATE_VM, false, ENOTTY),
	C(VMM_GET_VCPU_MMAP_SIZE, false, ENOTTY),
	C(VMM_RUN, false, ENOTTY),
	C(VMM_GET_REGS, true, ENOTTY),
	C(VMM_SET_REGS, true, ENOTTY),
	C(VMM_GET_SREGS, true, ENOTTY),
	C(VMM_SET_SREGS, true, ENOTTY),
	C(VMM_IOCTL_UNKNOWN, false, ENOTTY),
	C(FOREIGN_IOCTL, false, ENOTTY),
};

static const struct errno_case vcpu_cases[] = {
	C(VMM_GET_API_VERSION, false, EINVAL),
	C(VMM_CREATE_VM, false, EINVAL),
	C(VMM_CHECK_EXTENSION, false, EINVAL),
	C(VMM_GET_VCPU_MMAP_SIZE, false, EINVAL),
	C(VMM_CREATE_VCPU, false, EINVAL),
	C(VMM_SET_USER_MEMORY_REGION, true, EINVAL),
	C(VMM_ENABLE_CAP, true, EINVAL),
	C(VMM_IOCTL_UNKNOWN, false, EINVAL),
	C(FOREIGN_IOCTL, false, EINVAL),
};

/* Run @cases on @fd; log every mismatch, return how many there were. */
static int check_cases(struct __test_metadata *_metadata, const char *what,
		       int fd, const struct errno_case *cases, unsigned int n)
{
	uint64_t buf[512];
	unsigned int i;
	int bad = 0;

	for (i = 0; i < n; i++) {
		int r, err;

		memset(buf, 0, sizeof(buf));
		errno = 0;
		if (cases[i].ptr)
			r = ioctl(fd, cases[i].nr, buf);
		else
			r = ioctl(fd, cases[i].nr, 0);
		err = errno;
		if (r == -1 && err == cases[i].err)
			continue;
		TH_LOG("%s fd: %s returned %d errno %d (%s), expected errno %d (%s)",
		       what, cases[i].name, r, err, strerror(err),
		       cases[i].err, strerror(cases[i].err));
		if (r >= 0 && (cases[i].nr == VMM_CREATE_VM ||
			       cases[i].nr == VMM_CREATE_VCPU))
			close(r);
		bad++;
	}
	return bad;
}

FIXTURE(fds) {
	struct vmm_vm *vm;
	struct vmm_vcpu *vcpu;
};

FIXTURE_SETUP(fds)
{
	self->vm = vm_create_empty();
	self->vcpu = vm_add_vcpu(self->vm, 0);
}

FIXTURE_TEARDOWN(fds)
{
	vm_free(self->vm);
}

TEST_F(fds, wrong_fd_system)
{
	ASSERT_EQ(0, check_cases(_metadata, "device", self->vm->sys_fd,
				 sys_cases, ARRAY_LEN(sys_cases)));
}

TEST_F(fds, wrong_fd_vm)
{
	ASSERT_EQ(0, check_cases(_metadata, "VM", self->vm->fd,
				 vm_cases, ARRAY_LEN(vm_cases)));
}

TEST_F(fds, wrong_fd_vcpu)
{
	ASSERT_EQ(0, check_cases(_metadata, "vCPU", self->vcpu->fd,
				 vcpu_cases, ARRAY_LEN(vcpu_cases)));
}

TEST_F(fds, run_nonzero_arg)
{
	ASSERT_EQ(-1, ioctl(self->vcpu->fd, VMM_RUN, 1));
	ASSERT_EQ(EINVAL, errno);
}

TEST_F(fds, enable_cap_unknown)
{
	struct vmm_enable_cap cap;

	memset(&cap, 0, sizeof(cap));
	cap.cap = 0x7fffffff;
	ASSERT_EQ(-1, ioctl(self->vm->fd, VMM_ENABLE_CAP, &cap));
	ASSERT_EQ(EINVAL, errno);
	cap.cap = VMM_CAP_HLT;	/* a real capability, but not enableable */
	ASSERT_EQ(-1, ioctl(self->vm->fd, VMM_ENABLE_CAP, &cap));
	ASSERT_EQ(EINVAL, errno);
}

/* Pointers that fault: a low address, an unmapped page, a kernel address. */
static void *bad_pointers[3];

static void init_bad_pointers(void)
{
	void *p = vmm_alloc_mem(PAGE_SIZE);

	munmap(p, PAGE_SIZE);
	bad_pointers[0] = (void *)8;
	bad_pointers[1] = p;
	bad_pointers[2] = (void *)0xffffffff81000000UL;
}

TEST_F(fds, efault_regs)
{
	struct vmm_regs before, after;
	unsigned int i;

	init_bad_pointers();
	vcpu_get_regs(self->vcpu, &before);
	for (i = 0; i < ARRAY_LEN(bad_pointers); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->vcpu->fd, VMM_SET_REGS, bad_pointers[i]));
		EXPECT_EQ(EFAULT, errno);
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->vcpu->fd, VMM_GET_REGS, bad_pointers[i]));
		EXPECT_EQ(EFAULT, errno);
	}
	vcpu_get_regs(self->vcpu, &after);
	ASSERT_EQ(0, memcmp(&before, &after, sizeof(before)));
}

TEST_F(fds, efault_sregs)
{
	struct vmm_sregs before, after;
	unsigned int i;

	init_bad_pointers();
	vcpu_get_sregs(self->vcpu, &before);
	for (i = 0; i < ARRAY_LEN(bad_pointers); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->vcpu->fd, VMM_SET_SREGS, bad_pointers[i]));
		EXPECT_EQ(EFAULT, errno);
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->vcpu->fd, VMM_GET_SREGS, bad_pointers[i]));
		EXPECT_EQ(EFAULT, errno);
	}
	vcpu_get_sregs(self->vcpu, &after);
	ASSERT_EQ(0, memcmp(&before, &after, sizeof(before)));
}

TEST_F(fds, efault_vm)
{
	unsigned int i;

	init_bad_pointers();
	for (i = 0; i < ARRAY_LEN(bad_pointers); i++) {
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->vm->fd, VMM_SET_USER_MEMORY_REGION,
				    bad_pointers[i]));
		EXPECT_EQ(EFAULT, errno);
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->vm->fd, VMM_ENABLE_CAP,
				    bad_pointers[i]));
		EXPECT_EQ(EFAULT, errno);
	}
}

/* A run page mapping must be shared and start at offset 0. */
TEST_F(fds, mmap_run_page)
{
	size_t size = self->vm->run_size;
	void *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->vcpu->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* both mappings show the same page */
	((struct vmm_run *)p)->immediate_exit = 1;
	ASSERT_EQ(1, self->vcpu->run->immediate_exit);
	((struct vmm_run *)p)->immediate_exit = 0;
	ASSERT_EQ(0, munmap(p, size));
}

TEST_HARNESS_MAIN
