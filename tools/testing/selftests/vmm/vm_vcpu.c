// SPDX-License-Identifier: GPL-2.0
/*
 * vm_vcpu: vCPU creation limits and several vCPUs running at once.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "vmm_util.h"

static int create_vcpu(int vm_fd, unsigned long id)
{
	return ioctl(vm_fd, VMM_CREATE_VCPU, id);
}

TEST(vcpu_ids)
{
	struct vmm_vm *vm = vm_create_empty();
	long max_id = vmm_check_extension(vm->sys_fd, VMM_CAP_MAX_VCPU_ID);
	unsigned long bad[] = { max_id, max_id + 1, 0xffffffffUL };
	unsigned int i;
	int fd0, fd;

	TH_LOG("MAX_VCPU_ID %ld", max_id);
	fd0 = create_vcpu(vm->fd, 0);
	ASSERT_LE(0, fd0);
	fd = create_vcpu(vm->fd, 1);
	ASSERT_LE(0, fd);
	close(fd);
	fd = create_vcpu(vm->fd, max_id - 1);
	ASSERT_LE(0, fd);
	close(fd);

	/* duplicates, even after the first fd is closed */
	ASSERT_EQ(-1, create_vcpu(vm->fd, 0));
	ASSERT_EQ(EEXIST, errno);
	close(fd0);
	ASSERT_EQ(-1, create_vcpu(vm->fd, 0));
	ASSERT_EQ(EEXIST, errno);
	ASSERT_EQ(-1, create_vcpu(vm->fd, max_id - 1));
	ASSERT_EQ(EEXIST, errno);

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		errno = 0;
		ASSERT_EQ(-1, create_vcpu(vm->fd, bad[i])) {
			TH_LOG("vCPU id %#lx", bad[i]);
		}
		ASSERT_EQ(EINVAL, errno);
	}
	vm_free(vm);
}

/* VMM_CAP_MAX_VCPUS vCPUs can be created, one more cannot. */
TEST(max_vcpus)
{
	struct vmm_vm *vm = vm_create_empty();
	long max = vmm_check_extension(vm->sys_fd, VMM_CAP_MAX_VCPUS);
	long max_id = vmm_check_extension(vm->sys_fd, VMM_CAP_MAX_VCPU_ID);
	long i;
	int fd;

	TH_LOG("MAX_VCPUS %ld", max);
	if (max > 1024 || max >= max_id)
		SKIP(return, "MAX_VCPUS %ld too large to try", max);
	for (i = 0; i < max; i++) {
		/* ids spread over the id space, fds closed right away */
		fd = create_vcpu(vm->fd, i * (max_id / max));
		ASSERT_LE(0, fd) {
			TH_LOG("vCPU %ld (id %ld): errno %d", i,
			       i * (max_id / max), errno);
		}
		close(fd);
	}
	ASSERT_EQ(-1, create_vcpu(vm->fd, max_id - 1));
	ASSERT_EQ(EINVAL, errno);
	vm_free(vm);
}

/* Each vCPU writes its id to its own word and reports it. */
static void guest_vcpu_id(uint64_t id)
{
	uint64_t i;

	for (i = 0; i < 3; i++) {
		guest_write64(GUEST_DATA_GPA + id * 8, id * 100 + i);
		GUEST_SYNC2(id, i);
	}
}

struct vcpu_thread {
	struct vmm_vcpu *vcpu;
	int failed;
};

static void *vcpu_thread_fn(void *arg)
{
	struct vcpu_thread *t = arg;
	struct vmm_vm *vm = t->vcpu->vm;
	uint64_t id = t->vcpu->id;
	uint64_t *word = vm_gpa2hva(vm, GUEST_DATA_GPA + id * 8);
	struct ucall uc;
	int i;

	for (i = 0; i < 3; i++) {
		if (vcpu_run_ucall(t->vcpu, &uc) != UCALL_SYNC ||
		    uc.args[0] != id || uc.args[1] != (uint64_t)i ||
		    *word != id * 100 + i) {
			t->failed = 1;
			return NULL;
		}
	}
	if (vcpu_run_ucall(t->vcpu, &uc) != UCALL_DONE)
		t->failed = 1;
	return NULL;
}

TEST(vcpus_in_threads)
{
	struct vmm_vm *vm = vm_create_default(NULL, NULL);
	struct vcpu_thread t[4];
	pthread_t tid[4];
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(t); i++) {
		t[i].vcpu = vm_add_vcpu(vm, i);
		t[i].failed = 0;
		vcpu_setup_long_mode(t[i].vcpu);
		vcpu_set_entry(t[i].vcpu, guest_vcpu_id, i, 0);
	}
	for (i = 0; i < ARRAY_LEN(t); i++)
		ASSERT_EQ(0, pthread_create(&tid[i], NULL, vcpu_thread_fn,
					    &t[i]));
	for (i = 0; i < ARRAY_LEN(t); i++) {
		ASSERT_EQ(0, pthread_join(tid[i], NULL));
		EXPECT_EQ(0, t[i].failed) {
			TH_LOG("vCPU %u failed", i);
		}
	}
	vm_free(vm);
}

/* The same vCPU may be run by different threads one after the other. */
static void *run_once(void *arg)
{
	struct vcpu_thread *t = arg;
	struct ucall uc;

	t->failed = vcpu_run_ucall(t->vcpu, &uc) != UCALL_SYNC;
	return NULL;
}

TEST(vcpu_changes_thread)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, NULL);
	struct vcpu_thread t = { .vcpu = vcpu };
	pthread_t tid;
	struct ucall uc;

	vcpu_set_entry(vcpu, guest_vcpu_id, 0, 0);
	ASSERT_SYNC(vcpu, &uc, 0);
	ASSERT_EQ(0, pthread_create(&tid, NULL, run_once, &t));
	ASSERT_EQ(0, pthread_join(tid, NULL));
	ASSERT_EQ(0, t.failed);
	ASSERT_SYNC(vcpu, &uc, 0);
	ASSERT_EQ(2, uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

TEST_HARNESS_MAIN
