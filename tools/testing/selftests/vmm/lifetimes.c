// SPDX-License-Identifier: GPL-2.0
/*
 * lifetimes: the device, VM and vCPU fds and the run page mapping can be
 * closed in any order; the objects live as long as something refers to
 * them.  A VM belongs to the mm that created it: VM and vCPU ioctls from
 * another process (a forked child) fail with EIO.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "vmm_util.h"

static void guest_count(void)
{
	uint64_t i;

	for (i = 0; i < 3; i++)
		GUEST_SYNC(i);
}

static void guest_spin(void)
{
	guest_spin_forever();
}

static void guest_read(uint64_t gpa)
{
	GUEST_SYNC(guest_read64(gpa));
}

TEST(close_system_fd_first)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_count);
	struct ucall uc;

	ASSERT_EQ(0, close(vm->sys_fd));
	vm->sys_fd = -1;
	ASSERT_SYNC(vcpu, &uc, 0);
	ASSERT_SYNC(vcpu, &uc, 1);
	vm_free(vm);
}

TEST(close_vm_fd_first)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_count);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 0);
	/* the vCPU keeps the VM alive */
	ASSERT_EQ(0, close(vm->fd));
	ASSERT_EQ(0, close(vm->sys_fd));
	vm->fd = -1;
	vm->sys_fd = -1;
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_SYNC(vcpu, &uc, 2);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

TEST(close_vcpu_fd_first)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_count);
	struct vmm_run *run = vcpu->run;
	struct ucall uc;
	int fd;

	ASSERT_SYNC(vcpu, &uc, 0);
	ASSERT_EQ(0, close(vcpu->fd));
	/* the run page stays mapped and usable */
	ASSERT_EQ(VMM_EXIT_IO, run->exit_reason);
	run->immediate_exit = 1;
	ASSERT_EQ(1, run->immediate_exit);
	/* the id stays taken, the VM stays usable */
	ASSERT_EQ(-1, ioctl(vm->fd, VMM_CREATE_VCPU, 0UL));
	ASSERT_EQ(EEXIST, errno);
	fd = ioctl(vm->fd, VMM_CREATE_VCPU, 1UL);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, close(fd));
	vcpu->fd = -1;
	vm_free(vm);
}

TEST(run_page_outlives_all_fds)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_count);
	struct vmm_run *run = vcpu->run;
	size_t size = vm->run_size;
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 0);
	ASSERT_EQ(0, close(vcpu->fd));
	ASSERT_EQ(0, close(vm->fd));
	ASSERT_EQ(0, close(vm->sys_fd));
	ASSERT_EQ(VMM_EXIT_IO, run->exit_reason);
	ASSERT_EQ(UCALL_PORT, run->io.port);
	run->immediate_exit = 1;
	ASSERT_EQ(1, run->immediate_exit);
	/* the last reference goes away here */
	ASSERT_EQ(0, munmap(run, size));
}

static int child_checks(struct vmm_vm *vm, struct vmm_vcpu *vcpu)
{
	struct vmm_regs regs;
	int fd;

	if (ioctl(vcpu->fd, VMM_RUN, 0) != -1 || errno != EIO)
		return 10;
	if (ioctl(vcpu->fd, VMM_GET_REGS, &regs) != -1 || errno != EIO)
		return 11;
	if (ioctl(vm->fd, VMM_CREATE_VCPU, 5UL) != -1 || errno != EIO)
		return 12;
	if (__vm_set_memslot(vm, 3, 0, GUEST_TEST_GPA, PAGE_SIZE,
			     vm_gpa2hva(vm, 0)) != -1 || errno != EIO)
		return 13;
	/* the device fd is not tied to an mm */
	if (ioctl(vm->sys_fd, VMM_CHECK_EXTENSION, VMM_CAP_USER_MEMORY) <= 0)
		return 14;
	fd = ioctl(vm->sys_fd, VMM_CREATE_VM, 0);
	if (fd < 0)
		return 15;
	close(fd);
	return 0;
}

TEST(forked_child_eio)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_count);
	struct ucall uc;
	int status;
	pid_t pid;

	ASSERT_SYNC(vcpu, &uc, 0);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(child_checks(vm, vcpu));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	/* the parent carries on */
	ASSERT_SYNC(vcpu, &uc, 1);
	vm_free(vm);
}

static void *spin_thread(void *arg)
{
	struct vmm_vcpu *vcpu = arg;

	ioctl(vcpu->fd, VMM_RUN, 0);
	return NULL;
}

/* The process exits while a vCPU thread is inside VMM_RUN. */
TEST(exit_while_running)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vmm_vcpu *vcpu;
		pthread_t tid;

		vm_create_default(&vcpu, guest_spin);
		if (pthread_create(&tid, NULL, spin_thread, vcpu))
			_exit(1);
		usleep(200000);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

/* Killed by a signal while in VMM_RUN. */
TEST(killed_while_running)
{
	int status;
	pid_t pid;

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct vmm_vcpu *vcpu;

		vm_create_default(&vcpu, guest_spin);
		ioctl(vcpu->fd, VMM_RUN, 0);
		_exit(1);
	}
	usleep(300000);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFSIGNALED(status));
	ASSERT_EQ(SIGKILL, WTERMSIG(status));
}

/*
 * Memory behind a memslot is looked up when the guest touches it: after
 * munmap() of the backing, the access fails VMM_RUN with EFAULT.
 */
TEST(backing_unmapped)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_read);
	void *mem = vmm_alloc_mem(SZ_2M);
	int r;

	vm_set_memslot(vm, 1, 0, GUEST_TEST_GPA, SZ_2M, mem);
	vcpu_set_entry(vcpu, guest_read, GUEST_TEST_GPA + 0x100000, 0);
	ASSERT_EQ(0, munmap(mem, SZ_2M));
	r = __vcpu_run(vcpu);
	if (r == 0)
		vcpu_describe_exit(vcpu);
	ASSERT_EQ(-1, r);
	ASSERT_EQ(EFAULT, errno);
	vm_free(vm);
}

TEST_HARNESS_MAIN
