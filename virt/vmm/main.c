// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm: the /dev/vmm device, the system ioctls and the per-CPU
 * virtualization switch.
 *
 * Virtualization is on in a CPU only while at least one VM exists, as in
 * KVM: the first VM turns it on in every online CPU, the last one turns it
 * off again.  If another hypervisor (kvm_amd, ...) already owns a CPU, VM
 * creation fails with -EBUSY and vmm leaves every CPU as it found it.
 */
#define pr_fmt(fmt) "vmm: " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/cpu.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include "vmm_core.h"

static DEFINE_MUTEX(vmm_hw_lock);
static unsigned int vmm_hw_users;
static DEFINE_PER_CPU(bool, vmm_hw_enabled);
static atomic_t vmm_hw_enable_failed;

/* Turn virtualization on in this CPU if it is not yet; IRQs or preempt off. */
int vmm_hardware_enable_this_cpu(void)
{
	int r;

	if (__this_cpu_read(vmm_hw_enabled))
		return 0;
	r = vmm_arch_ops.hardware_enable();
	if (r)
		return r;
	__this_cpu_write(vmm_hw_enabled, true);
	return 0;
}
EXPORT_SYMBOL_GPL(vmm_hardware_enable_this_cpu);

static void vmm_hardware_enable_nolock(void *unused)
{
	if (vmm_hardware_enable_this_cpu())
		atomic_inc(&vmm_hw_enable_failed);
}

static void vmm_hardware_disable_nolock(void *unused)
{
	if (!__this_cpu_read(vmm_hw_enabled))
		return;
	vmm_arch_ops.hardware_disable();
	__this_cpu_write(vmm_hw_enabled, false);
}

int vmm_hardware_get(void)
{
	int r = 0;

	mutex_lock(&vmm_hw_lock);
	if (vmm_hw_users++ == 0) {
		cpus_read_lock();
		atomic_set(&vmm_hw_enable_failed, 0);
		on_each_cpu(vmm_hardware_enable_nolock, NULL, 1);
		if (atomic_read(&vmm_hw_enable_failed)) {
			on_each_cpu(vmm_hardware_disable_nolock, NULL, 1);
			vmm_hw_users = 0;
			pr_warn("cannot create VM: hardware virtualization is owned by another hypervisor\n");
			r = -EBUSY;
		}
		cpus_read_unlock();
	}
	mutex_unlock(&vmm_hw_lock);
	return r;
}

void vmm_hardware_put(void)
{
	mutex_lock(&vmm_hw_lock);
	if (--vmm_hw_users == 0) {
		cpus_read_lock();
		on_each_cpu(vmm_hardware_disable_nolock, NULL, 1);
		cpus_read_unlock();
	}
	mutex_unlock(&vmm_hw_lock);
}

long vmm_check_extension_generic(struct vmm_vm *vm, long ext)
{
	switch (ext) {
	case VMM_CAP_USER_MEMORY:
	case VMM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case VMM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case VMM_CAP_INTERNAL_ERROR_DATA:
	case VMM_CAP_CHECK_EXTENSION_VM:
	case VMM_CAP_IMMEDIATE_EXIT:
	case VMM_CAP_SYNC_MMU:
	case VMM_CAP_READONLY_MEM:
		return 1;
	case VMM_CAP_NR_VCPUS:
		return min_t(long, num_online_cpus(), VMM_MAX_VCPUS);
	case VMM_CAP_MAX_VCPUS:
		return VMM_MAX_VCPUS;
	case VMM_CAP_MAX_VCPU_ID:
		return VMM_MAX_VCPU_ID;
	case VMM_CAP_NR_MEMSLOTS:
		return VMM_USER_MEM_SLOTS;
	default:
		return vmm_arch_ops.check_extension(vm, ext);
	}
}

static long vmm_dev_ioctl(struct file *filp, unsigned int ioctl,
			  unsigned long arg)
{
	switch (ioctl) {
	case VMM_GET_API_VERSION:
		if (arg)
			return -EINVAL;
		return VMM_API_VERSION;
	case VMM_CREATE_VM:
		return vmm_create_vm(arg);
	case VMM_CHECK_EXTENSION:
		return vmm_check_extension_generic(NULL, arg);
	case VMM_GET_VCPU_MMAP_SIZE:
		if (arg)
			return -EINVAL;
		return vmm_arch_ops.vcpu_mmap_pages * PAGE_SIZE;
	default:
		/* KVM on x86 answers unknown system ioctls with -EINVAL. */
		return -EINVAL;
	}
}

static const struct file_operations vmm_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= vmm_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice vmm_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "vmm",
	.fops	= &vmm_dev_fops,
	.mode	= 0660,
};

static int __init vmm_init(void)
{
	int r;

	r = vmm_arch_ops.init();
	if (r)
		return r;
	r = misc_register(&vmm_dev);
	if (r) {
		pr_err("cannot register /dev/vmm: %d\n", r);
		vmm_arch_ops.exit();
		return r;
	}
	pr_info("%s backend ready, /dev/vmm registered\n", vmm_arch_ops.name);
	return 0;
}

static void __exit vmm_exit(void)
{
	misc_deregister(&vmm_dev);
	vmm_arch_ops.exit();
}

module_init(vmm_init);
module_exit(vmm_exit);
MODULE_DESCRIPTION("vmm: a KVM-compatible hypervisor core");
MODULE_LICENSE("GPL");
