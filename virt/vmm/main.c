// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm: the /dev/vmm device, the system ioctls and the per-CPU
 * virtualization switch.
 *
 * Virtualization is on in a CPU only while at least one VM exists, as in
 * KVM: the first VM turns it on in every online CPU, the last one turns it
 * off again.  If another hypervisor (kvm_amd, ...) already owns a CPU, VM
 * creation fails with -EBUSY and vmm leaves every CPU as it found it.
 * CPUs that come online while VMs exist are turned on, CPUs that go
 * offline, suspend or reboot are turned off.
 */
#define pr_fmt(fmt) "vmm: " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/cpu.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <linux/cpuhotplug.h>
#include <linux/syscore_ops.h>
#include <linux/reboot.h>
#include "vmm_core.h"

/*
 * vmm_hw_users counts the VMs.  It changes under cpus_read_lock() and
 * vmm_hw_lock, in that order; the CPU hotplug callbacks run under the
 * hotplug lock and take vmm_hw_lock, and the syscore callbacks run on the
 * last online CPU with IRQs off, when nothing else can change it.
 */
static DEFINE_MUTEX(vmm_hw_lock);
static unsigned int vmm_hw_users;
static DEFINE_PER_CPU(bool, vmm_hw_enabled);
static atomic_t vmm_hw_enable_failed;
static enum cpuhp_state vmm_cpuhp_state;
static bool vmm_rebooting;

/*
 * Turn virtualization on in this CPU if it is not yet.  IRQs off, so that
 * another hypervisor's enable IPI cannot run between the arch's check that
 * the hardware is free and the write that takes it.
 */
static int vmm_hardware_enable_this_cpu(void)
{
	int r;

	lockdep_assert_irqs_disabled();
	if (__this_cpu_read(vmm_hw_enabled))
		return 0;
	r = vmm_arch_ops.hardware_enable();
	if (r)
		return r;
	__this_cpu_write(vmm_hw_enabled, true);
	return 0;
}

/*
 * Has vmm turned virtualization on in this CPU?  Called with IRQs off
 * right before a guest entry: the flag only changes on its own CPU with
 * IRQs off, so it cannot change before the guest exits again.
 */
bool vmm_hardware_enabled_this_cpu(void)
{
	lockdep_assert_irqs_disabled();
	return __this_cpu_read(vmm_hw_enabled);
}

/* Reboot or kexec has turned virtualization off for good. */
bool vmm_hardware_rebooting(void)
{
	return READ_ONCE(vmm_rebooting);
}

static void vmm_hardware_enable_nolock(void *unused)
{
	if (vmm_hardware_enable_this_cpu())
		atomic_inc(&vmm_hw_enable_failed);
}

static void vmm_hardware_disable_nolock(void *unused)
{
	lockdep_assert_irqs_disabled();
	if (!__this_cpu_read(vmm_hw_enabled))
		return;
	vmm_arch_ops.hardware_disable();
	__this_cpu_write(vmm_hw_enabled, false);
}

int vmm_hardware_get(void)
{
	int r = 0;

	cpus_read_lock();
	mutex_lock(&vmm_hw_lock);
	if (vmm_rebooting) {
		r = -EBUSY;
	} else if (vmm_hw_users++ == 0) {
		atomic_set(&vmm_hw_enable_failed, 0);
		on_each_cpu(vmm_hardware_enable_nolock, NULL, 1);
		if (atomic_read(&vmm_hw_enable_failed)) {
			on_each_cpu(vmm_hardware_disable_nolock, NULL, 1);
			vmm_hw_users = 0;
			pr_warn_ratelimited("cannot create VM: hardware virtualization is owned by another hypervisor\n");
			r = -EBUSY;
		}
	}
	mutex_unlock(&vmm_hw_lock);
	cpus_read_unlock();
	return r;
}

void vmm_hardware_put(void)
{
	cpus_read_lock();
	mutex_lock(&vmm_hw_lock);
	if (--vmm_hw_users == 0)
		on_each_cpu(vmm_hardware_disable_nolock, NULL, 1);
	mutex_unlock(&vmm_hw_lock);
	cpus_read_unlock();
}

/*
 * CPU hotplug.  KVM uses CPUHP_AP_KVM_STARTING, which a module cannot;
 * CPUHP_AP_ONLINE_DYN callbacks run on the CPU concerned, in its hotplug
 * thread, with IRQs on and before (startup) or after (teardown) the CPU
 * is active, i.e. takes ordinary tasks.  Failing the startup callback
 * fails the onlining, so no vCPU can be scheduled on a CPU where the
 * hardware could not be enabled while VMs exist; the arch's entry also
 * checks the per-CPU flag with IRQs off before every guest entry
 * (vmm_hardware_enabled_this_cpu()).
 */
static int vmm_online_cpu(unsigned int cpu)
{
	int r = 0;

	mutex_lock(&vmm_hw_lock);
	if (vmm_hw_users && !vmm_rebooting) {
		local_irq_disable();
		r = vmm_hardware_enable_this_cpu();
		local_irq_enable();
		if (r)
			pr_warn("CPU%u: cannot enable virtualization: %d\n",
				cpu, r);
	}
	mutex_unlock(&vmm_hw_lock);
	return r;
}

static int vmm_offline_cpu(unsigned int cpu)
{
	/* An offline CPU never keeps virtualization on, VMs or not. */
	local_irq_disable();
	vmm_hardware_disable_nolock(NULL);
	local_irq_enable();
	return 0;
}

/* Suspend to RAM: only this CPU is online, IRQs are off. */
static int vmm_suspend(void)
{
	if (vmm_hw_users)
		vmm_hardware_disable_nolock(NULL);
	return 0;
}

static void vmm_resume(void)
{
	if (vmm_hw_users && !vmm_rebooting &&
	    vmm_hardware_enable_this_cpu())
		pr_warn("CPU%d: cannot enable virtualization after resume\n",
			smp_processor_id());
}

static struct syscore_ops vmm_syscore_ops = {
	.suspend	= vmm_suspend,
	.resume		= vmm_resume,
};

/*
 * Reboot, halt, power-off and kexec: the next kernel (or firmware) must
 * find virtualization off.  From now on no CPU turns it on again, and
 * vCPUs get -EIO from VMM_RUN.  Under vmm_hw_lock, so that a first VM
 * being created or a CPU coming online, which test vmm_rebooting under
 * the lock, cannot turn it on again after the disable below.
 */
static int vmm_reboot(struct notifier_block *nb, unsigned long action,
		      void *unused)
{
	pr_info("turning virtualization off in every CPU\n");
	mutex_lock(&vmm_hw_lock);
	WRITE_ONCE(vmm_rebooting, true);
	on_each_cpu(vmm_hardware_disable_nolock, NULL, 1);
	mutex_unlock(&vmm_hw_lock);
	return NOTIFY_OK;
}

static struct notifier_block vmm_reboot_notifier = {
	.notifier_call	= vmm_reboot,
	.priority	= 0,
};

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
	case VMM_CAP_IOEVENTFD_ANY_LENGTH:
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
		return vmm_arch_ops.dev_ioctl(ioctl, arg);
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

	r = vmm_kick_masks_alloc();
	if (r)
		return r;
	r = vmm_arch_ops.init();
	if (r)
		goto err_masks;
	/*
	 * Arm the scheduler's preempt-notifier hooks (a static key) for as
	 * long as the module is loaded.  KVM does this per VM, which patches
	 * kernel text on every VM create and destroy; QEMU's TCG wedges the
	 * whole rig guest after a few hundred such patchings with two vCPUs,
	 * the same wedge kvm_amd hits there.  The price is one hlist_empty()
	 * per context switch while vmm is loaded.
	 */
	preempt_notifier_inc();
	r = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "vmm:online",
				      vmm_online_cpu, vmm_offline_cpu);
	if (r < 0)
		goto err_arch;
	vmm_cpuhp_state = r;
	register_syscore_ops(&vmm_syscore_ops);
	register_reboot_notifier(&vmm_reboot_notifier);
	r = misc_register(&vmm_dev);
	if (r) {
		pr_err("cannot register /dev/vmm: %d\n", r);
		goto err_hp;
	}
	pr_info("%s backend ready, /dev/vmm registered\n", vmm_arch_ops.name);
	return 0;

err_hp:
	unregister_reboot_notifier(&vmm_reboot_notifier);
	unregister_syscore_ops(&vmm_syscore_ops);
	cpuhp_remove_state_nocalls(vmm_cpuhp_state);
err_arch:
	preempt_notifier_dec();
	vmm_arch_ops.exit();
err_masks:
	vmm_kick_masks_free();
	return r;
}

static void __exit vmm_exit(void)
{
	misc_deregister(&vmm_dev);
	unregister_reboot_notifier(&vmm_reboot_notifier);
	unregister_syscore_ops(&vmm_syscore_ops);
	cpuhp_remove_state_nocalls(vmm_cpuhp_state);
	preempt_notifier_dec();
	vmm_arch_ops.exit();
	vmm_kick_masks_free();
}

module_init(vmm_init);
module_exit(vmm_exit);
MODULE_DESCRIPTION("vmm: a KVM-compatible hypervisor core");
MODULE_LICENSE("GPL");
