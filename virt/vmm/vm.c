// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm: VM objects and the VM file descriptor.
 *
 * A VM is reference counted: its fd holds one reference and every vCPU fd
 * holds one more, so the fds can be closed in any order.  The VM, its
 * vCPUs and their memory go away with the last reference.  Every fd also
 * pins the module (fops->owner), so vmm.ko cannot be removed while a VM
 * exists.
 */
#define pr_fmt(fmt) "vmm: " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>
#include "vmm_core.h"

void vmm_vm_get(struct vmm_vm *vm)
{
	refcount_inc(&vm->users);
}

static void vmm_destroy_vm(struct vmm_vm *vm)
{
	struct mm_struct *mm = vm->mm;
	struct vmm_memslots *slots;
	int i;

	vmm_mmu_notifier_unregister(vm);
	for (i = 0; i < vm->nr_vcpus; i++)
		vmm_vcpu_free(vm->vcpus[i]);
	/* No vCPU is left to access them: devices go with their buses. */
	vmm_io_bus_destroy(vm);
	/* The slots go with the VM: the arch frees their data as for a delete. */
	slots = rcu_dereference_protected(vm->memslots, 1);
	for (i = 0; i < slots->nr; i++)
		vmm_arch_ops.commit_memory_region(vm, &slots->slots[i], NULL,
						  VMM_MR_DELETE);
	vmm_arch_ops.vm_destroy(vm);
	kvfree(slots);
	cleanup_srcu_struct(&vm->srcu);
	vmm_arch_ops.vm_free(vm);
	vmm_hardware_put();
	mmdrop(mm);
}

void vmm_vm_put(struct vmm_vm *vm)
{
	if (refcount_dec_and_test(&vm->users))
		vmm_destroy_vm(vm);
}

static int vmm_vm_release(struct inode *inode, struct file *filp)
{
	vmm_vm_put(filp->private_data);
	return 0;
}

static int vmm_vm_enable_cap(struct vmm_vm *vm, void __user *argp)
{
	struct vmm_enable_cap cap;
	int r;

	if (copy_from_user(&cap, argp, sizeof(cap)))
		return -EFAULT;
	mutex_lock(&vm->lock);
	r = vmm_arch_ops.vm_enable_cap(vm, &cap);
	mutex_unlock(&vm->lock);
	return r;
}

static long vmm_vm_ioctl(struct file *filp, unsigned int ioctl,
			 unsigned long arg)
{
	struct vmm_vm *vm = filp->private_data;
	void __user *argp = (void __user *)arg;

	if (vm->mm != current->mm)
		return -EIO;

	switch (ioctl) {
	case VMM_CREATE_VCPU:
		return vmm_vm_create_vcpu(vm, arg);
	case VMM_SET_USER_MEMORY_REGION: {
		struct vmm_userspace_memory_region mem;

		if (copy_from_user(&mem, argp, sizeof(mem)))
			return -EFAULT;
		return vmm_set_user_memory_region(vm, &mem);
	}
	case VMM_CHECK_EXTENSION:
		return vmm_check_extension_generic(vm, arg);
	case VMM_ENABLE_CAP:
		return vmm_vm_enable_cap(vm, argp);
	case VMM_IOEVENTFD: {
		struct vmm_ioeventfd data;

		if (copy_from_user(&data, argp, sizeof(data)))
			return -EFAULT;
		return vmm_ioeventfd(vm, &data);
	}
	default:
		/* KVM on x86 answers unknown VM ioctls with -ENOTTY. */
		return vmm_arch_ops.vm_ioctl(vm, ioctl, arg);
	}
}

static const struct file_operations vmm_vm_fops = {
	.owner		= THIS_MODULE,
	.release	= vmm_vm_release,
	.unlocked_ioctl	= vmm_vm_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

int vmm_create_vm(unsigned long type)
{
	struct vmm_memslots *slots;
	struct vmm_vm *vm;
	struct file *file;
	int r, fd;

	/* The arch checks @type (arm64 puts the IPA size there). */
	vm = vmm_arch_ops.vm_alloc();
	if (!vm)
		return -ENOMEM;
	refcount_set(&vm->users, 1);
	mutex_init(&vm->lock);
	mutex_init(&vm->slots_lock);
	INIT_LIST_HEAD(&vm->ioeventfds);
	spin_lock_init(&vm->mmu_lock);
	vm->mm = current->mm;
	mmgrab(vm->mm);

	r = -ENOMEM;
	slots = vmm_memslots_alloc_empty();
	if (!slots)
		goto err_mm;
	RCU_INIT_POINTER(vm->memslots, slots);
	r = init_srcu_struct(&vm->srcu);
	if (r)
		goto err_slots;
	r = vmm_io_bus_init(vm);
	if (r)
		goto err_srcu;
	/* Before the hardware is turned on, as KVM: a bad type is EINVAL. */
	r = vmm_arch_ops.vm_init(vm, type);
	if (r)
		goto err_bus;
	r = vmm_hardware_get();
	if (r)
		goto err_arch;
	r = vmm_mmu_notifier_register(vm);
	if (r)
		goto err_hw;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		goto err_notifier;
	}
	file = anon_inode_getfile("vmm-vm", &vmm_vm_fops, vm, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		r = PTR_ERR(file);
		goto err_notifier;
	}
	fd_install(fd, file);
	return fd;

err_notifier:
	vmm_mmu_notifier_unregister(vm);
err_hw:
	vmm_hardware_put();
err_arch:
	vmm_arch_ops.vm_destroy(vm);
err_bus:
	vmm_io_bus_destroy(vm);
err_srcu:
	cleanup_srcu_struct(&vm->srcu);
err_slots:
	kvfree(slots);
err_mm:
	mmdrop(vm->mm);
	vmm_arch_ops.vm_free(vm);
	return r;
}
