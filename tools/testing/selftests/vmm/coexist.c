// SPDX-License-Identifier: GPL-2.0
/*
 * coexist: vmm and Debian's kvm_amd loaded side by side.
 *
 * Both turn SVM on in every CPU only while they have VMs (KVM 6.1 does it
 * in KVM_CREATE_VM), and both refuse to take a CPU whose EFER.SVME is
 * already set.  So while one of them has a VM, KVM_CREATE_VM on the other
 * fails with EBUSY; vmm logs exactly one line saying why, and creation works
 * again once the other hypervisor has let go.  The failed attempt must not
 * disturb the VM that owns the CPUs, and must not leak a module reference.
 *
 * The test needs /dev/vmm under test (VMM_DEV) and /dev/kvm from kvm_amd in
 * the same boot; it is skipped otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmm_util.h"

#define KVM_DEV		"/dev/kvm"
#define BUSY_MSG	"vmm: cannot create VM: hardware virtualization is owned by another hypervisor"

static void guest_code(void)
{
	GUEST_SYNC(1);
	GUEST_SYNC(2);
	GUEST_DONE();
}

/* vm_create_default() on the given device rather than on VMM_DEV */
static struct vmm_vm *vm_create_on(const char *dev, struct vmm_vcpu **vcpu)
{
	char *saved = strdup(vmm_dev_path());
	struct vmm_vm *vm;

	TEST_ASSERT(saved, "strdup");
	setenv("VMM_DEV", dev, 1);
	vm = vm_create_default(vcpu, guest_code);
	setenv("VMM_DEV", saved, 1);
	free(saved);
	return vm;
}

/* KVM_CREATE_VM on a fresh fd of dev; returns 0 or the errno */
static int try_create_vm(const char *dev)
{
	int sys_fd = open(dev, O_RDWR | O_CLOEXEC);
	int fd, err = 0;

	TEST_ASSERT(sys_fd >= 0, "open %s", dev);
	fd = ioctl(sys_fd, VMM_CREATE_VM, 0);
	if (fd < 0)
		err = errno;
	else
		close(fd);
	close(sys_fd);
	return err;
}

static long module_refcnt(void)
{
	FILE *f = fopen("/sys/module/vmm/refcnt", "r");
	long n = -1;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = -1;
		fclose(f);
	}
	return n;
}

/* run a default VM's guest to its end: SYNC 1, SYNC 2, DONE */
#define RUN_TO_DONE(vcpu, uc) do {					\
	ASSERT_SYNC(vcpu, uc, 1);					\
	ASSERT_SYNC(vcpu, uc, 2);					\
	ASSERT_UCALL(vcpu, uc, UCALL_DONE);				\
} while (0)

/* why the test cannot run here, or NULL */
static const char *coexist_unavailable(void)
{
	if (vmm_dev_is_kvm())
		return "tests vmm next to kvm_amd: run on /dev/vmm";
	if (access(KVM_DEV, R_OK | W_OK))
		return KVM_DEV " not available: kvm_amd is not loaded";
	return NULL;
}

/* A kvm_amd VM owns SVM: vmm says EBUSY, once per attempt in the log. */
TEST(kvm_vm_makes_vmm_busy)
{
	struct vmm_vcpu *kvcpu, *vcpu;
	struct vmm_vm *kvm, *vm;
	struct ucall uc;
	long ref;
	int kmsg;

	if (coexist_unavailable())
		SKIP(return, "%s", coexist_unavailable());
	kmsg = kmsg_open();
	kvm = vm_create_on(KVM_DEV, &kvcpu);
	ASSERT_SYNC(kvcpu, &uc, 1);

	ref = module_refcnt();
	kmsg_count(kmsg, "", NULL);
	ASSERT_EQ(EBUSY, try_create_vm(vmm_dev_path()));
	ASSERT_EQ(1, kmsg_count(kmsg, BUSY_MSG, NULL));
	ASSERT_EQ(EBUSY, try_create_vm(vmm_dev_path()));
	ASSERT_EQ(1, kmsg_count(kmsg, BUSY_MSG, NULL));
	ASSERT_EQ(ref, module_refcnt());

	/* the failed attempts did not touch the KVM guest */
	ASSERT_SYNC(kvcpu, &uc, 2);
	ASSERT_UCALL(kvcpu, &uc, UCALL_DONE);
	vm_free(kvm);

	/* KVM let go: vmm works again, with nothing more in the log */
	vm = vm_create_default(&vcpu, guest_code);
	RUN_TO_DONE(vcpu, &uc);
	vm_free(vm);
	ASSERT_EQ(0, kmsg_count(kmsg, BUSY_MSG, NULL));
	close(kmsg);
}

/* The other way round: a vmm VM owns SVM, and kvm_amd says EBUSY. */
TEST(vmm_vm_makes_kvm_busy)
{
	struct vmm_vcpu *kvcpu, *vcpu;
	struct vmm_vm *kvm, *vm;
	struct ucall uc;

	if (coexist_unavailable())
		SKIP(return, "%s", coexist_unavailable());
	vm = vm_create_default(&vcpu, guest_code);
	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_EQ(EBUSY, try_create_vm(KVM_DEV));
	/* KVM's failure path turned nothing off under the running vmm VM */
	ASSERT_SYNC(vcpu, &uc, 2);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);

	kvm = vm_create_on(KVM_DEV, &kvcpu);
	RUN_TO_DONE(kvcpu, &uc);
	vm_free(kvm);
}

/* Ownership moves back and forth, with VMs of both alive in between. */
TEST(alternate)
{
	struct vmm_vcpu *vcpu[2];
	struct vmm_vm *vm[2];
	struct ucall uc;
	int i, kmsg;

	if (coexist_unavailable())
		SKIP(return, "%s", coexist_unavailable());
	kmsg = kmsg_open();
	for (i = 0; i < 5; i++) {
		vm[0] = vm_create_default(&vcpu[0], guest_code);
		vm[1] = vm_create_default(&vcpu[1], guest_code);
		ASSERT_EQ(EBUSY, try_create_vm(KVM_DEV));
		RUN_TO_DONE(vcpu[0], &uc);
		vm_free(vm[0]);
		/* one vmm VM is left: SVM is still vmm's */
		ASSERT_EQ(EBUSY, try_create_vm(KVM_DEV));
		RUN_TO_DONE(vcpu[1], &uc);
		vm_free(vm[1]);

		vm[0] = vm_create_on(KVM_DEV, &vcpu[0]);
		ASSERT_EQ(EBUSY, try_create_vm(vmm_dev_path()));
		RUN_TO_DONE(vcpu[0], &uc);
		vm_free(vm[0]);
	}
	ASSERT_EQ(5, kmsg_count(kmsg, BUSY_MSG, NULL));
	close(kmsg);
}

TEST_HARNESS_MAIN
