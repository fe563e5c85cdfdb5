// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm: vCPU objects, the vCPU file descriptor and its mmap'ed run area.
 *
 * A vCPU fd holds a reference on its VM; the vCPU itself is freed with the
 * VM, after the last fd (and the last mapping of its run area, which holds
 * the fd's file) is gone.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "vmm_core.h"

/*
 * Called by a backend's run loop between guest entries, the part of
 * xfer_to_guest_mode_handle_work() a module can do: reschedule here, and
 * end VMM_RUN with -EINTR and VMM_EXIT_INTR for a pending signal, as KVM
 * does, or for TIF_NOTIFY_RESUME work that must not wait for the guest
 * (vmm_notify_resume_pending()): the return to user space runs it.
 */
int vmm_vcpu_handle_work(struct vmm_vcpu *vcpu)
{
	for (;;) {
		if (signal_pending(current) || vmm_notify_resume_pending()) {
			vcpu->run->exit_reason = VMM_EXIT_INTR;
			return -EINTR;
		}
		if (!need_resched())
			return 0;
		schedule();
	}
}

static void vmm_ack_kick(void *unused)
{
}

/*
 * Get @vcpu out of guest mode soon if it is in it, as kvm_vcpu_kick():
 * a request set before this is seen at its next entry at the latest.
 */
void vmm_vcpu_kick(struct vmm_vcpu *vcpu)
{
	int me = get_cpu(), cpu;

	/* The CPU is read after the mode, as in KVM: it is the current one. */
	if (vmm_vcpu_exiting_guest_mode(vcpu) == VMM_IN_GUEST_MODE) {
		cpu = READ_ONCE(vcpu->cpu);
		if (cpu != me && (unsigned int)cpu < nr_cpu_ids &&
		    cpu_online(cpu))
			smp_send_reschedule(cpu);
	}
	put_cpu();
}

/*
 * The CPUs to kick, one mask per CPU used with preemption off, as KVM's
 * cpu_kick_mask: a remote TLB flush runs under mmu_lock, from reclaim
 * and the OOM reaper too, where it must not allocate.
 */
static DEFINE_PER_CPU(cpumask_var_t, vmm_kick_mask);

void vmm_kick_masks_free(void)
{
	int cpu;

	for_each_possible_cpu(cpu)
		free_cpumask_var(per_cpu(vmm_kick_mask, cpu));
}

int vmm_kick_masks_alloc(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		if (!zalloc_cpumask_var_node(&per_cpu(vmm_kick_mask, cpu),
					     GFP_KERNEL, cpu_to_node(cpu))) {
			vmm_kick_masks_free();
			return -ENOMEM;
		}
	}
	return 0;
}

/*
 * Make @req of every vCPU of @vm and kick those in guest mode.  With
 * @wait, also wait until every vCPU that was in (or exiting) guest mode
 * has left it: the IPI is taken only once guest mode is over.  Callable
 * in atomic context.
 */
void vmm_make_all_vcpus_request(struct vmm_vm *vm, int req, bool wait)
{
	int i, me, nr = READ_ONCE(vm->nr_vcpus);
	struct cpumask *mask;

	/* Pairs with the smp_wmb() in vmm_vm_create_vcpu(). */
	smp_rmb();
	me = get_cpu();
	mask = this_cpu_cpumask_var_ptr(vmm_kick_mask);
	cpumask_clear(mask);
	for (i = 0; i < nr; i++) {
		struct vmm_vcpu *vcpu = vm->vcpus[i];
		int cpu, mode;

		vmm_make_request(req, vcpu);
		mode = vmm_vcpu_exiting_guest_mode(vcpu);
		cpu = READ_ONCE(vcpu->cpu);
		if (cpu != me && (unsigned int)cpu < nr_cpu_ids &&
		    (wait ? mode != VMM_OUTSIDE_GUEST_MODE :
			    mode == VMM_IN_GUEST_MODE))
			__cpumask_set_cpu(cpu, mask);
	}
	smp_call_function_many(mask, vmm_ack_kick, NULL, wait);
	put_cpu();
}

/*
 * Make every vCPU of @vm flush its guest TLB before it enters the guest
 * again, and wait until the vCPUs that are in the guest right now have
 * left it (the IPI forces a #VMEXIT).  Callable in atomic context.
 */
void vmm_flush_remote_tlbs(struct vmm_vm *vm)
{
	if (vmm_arch_ops.flush_remote_tlbs &&
	    !vmm_arch_ops.flush_remote_tlbs(vm))
		return;
	vmm_make_all_vcpus_request(vm, VMM_REQ_TLB_FLUSH, true);
}

static vm_fault_t vmm_vcpu_fault(struct vm_fault *vmf)
{
	struct vmm_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff >= vcpu->nr_mmap_pages)
		return VM_FAULT_SIGBUS;
	page = vcpu->mmap_pages[vmf->pgoff];
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct vmm_vcpu_vm_ops = {
	.fault = vmm_vcpu_fault,
};

static int vmm_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &vmm_vcpu_vm_ops;
	return 0;
}

static int vmm_vcpu_release(struct inode *inode, struct file *filp)
{
	struct vmm_vcpu *vcpu = filp->private_data;

	vmm_vm_put(vcpu->vm);
	return 0;
}

static struct vmm_vcpu *preempt_notifier_to_vcpu(struct preempt_notifier *pn)
{
	return container_of(pn, struct vmm_vcpu, preempt_notifier);
}

static void vmm_sched_in(struct preempt_notifier *pn, int cpu)
{
	vmm_arch_ops.vcpu_load(preempt_notifier_to_vcpu(pn), cpu);
}

static void vmm_sched_out(struct preempt_notifier *pn,
			  struct task_struct *next)
{
	vmm_arch_ops.vcpu_put(preempt_notifier_to_vcpu(pn));
}

static struct preempt_ops vmm_preempt_ops = {
	.sched_in	= vmm_sched_in,
	.sched_out	= vmm_sched_out,
};

/*
 * As KVM's vcpu_load()/vcpu_put(): the arch state of @vcpu is on this CPU
 * from here until vmm_vcpu_put(), and follows the thread when it moves.
 */
static void vmm_vcpu_load(struct vmm_vcpu *vcpu)
{
	int cpu = get_cpu();

	preempt_notifier_register(&vcpu->preempt_notifier);
	vmm_arch_ops.vcpu_load(vcpu, cpu);
	put_cpu();
}

static void vmm_vcpu_put(struct vmm_vcpu *vcpu)
{
	preempt_disable();
	vmm_arch_ops.vcpu_put(vcpu);
	preempt_notifier_unregister(&vcpu->preempt_notifier);
	preempt_enable();
}

static long vmm_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			   unsigned long arg)
{
	struct vmm_vcpu *vcpu = filp->private_data;
	long r;

	if (vcpu->vm->mm != current->mm)
		return -EIO;

	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	vmm_vcpu_load(vcpu);
	switch (ioctl) {
	case VMM_RUN:
		r = -EINVAL;
		if (arg)
			break;
		r = vmm_arch_ops.vcpu_run(vcpu);
		break;
	default:
		r = vmm_arch_ops.vcpu_ioctl(vcpu, ioctl, arg);
		break;
	}
	vmm_vcpu_put(vcpu);
	mutex_unlock(&vcpu->mutex);
	return r;
}

static const struct file_operations vmm_vcpu_fops = {
	.owner		= THIS_MODULE,
	.release	= vmm_vcpu_release,
	.unlocked_ioctl	= vmm_vcpu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= vmm_vcpu_mmap,
	.llseek		= noop_llseek,
};

static void vmm_vcpu_free_pages(struct vmm_vcpu *vcpu)
{
	unsigned int i;

	for (i = 0; i < vcpu->nr_mmap_pages; i++)
		if (vcpu->mmap_pages[i])
			__free_page(vcpu->mmap_pages[i]);
	kfree(vcpu->mmap_pages);
}

void vmm_vcpu_free(struct vmm_vcpu *vcpu)
{
	vmm_arch_ops.vcpu_destroy(vcpu);
	vmm_vcpu_free_pages(vcpu);
	vmm_arch_ops.vcpu_free(vcpu);
}

static struct vmm_vcpu *vmm_vcpu_alloc(struct vmm_vm *vm, u32 id)
{
	unsigned int i, n = vmm_arch_ops.vcpu_mmap_pages;
	struct vmm_vcpu *vcpu;

	vcpu = vmm_arch_ops.vcpu_alloc();
	if (!vcpu)
		return NULL;
	vcpu->mmap_pages = kcalloc(n, sizeof(*vcpu->mmap_pages),
				   GFP_KERNEL_ACCOUNT);
	if (!vcpu->mmap_pages)
		goto err;
	vcpu->nr_mmap_pages = n;
	for (i = 0; i < n; i++) {
		vcpu->mmap_pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
		if (!vcpu->mmap_pages[i])
			goto err;
	}
	vcpu->run = page_address(vcpu->mmap_pages[0]);
	vcpu->vm = vm;
	vcpu->vcpu_id = id;
	vcpu->cpu = -1;
	mutex_init(&vcpu->mutex);
	preempt_notifier_init(&vcpu->preempt_notifier, &vmm_preempt_ops);
	return vcpu;
err:
	vmm_vcpu_free_pages(vcpu);
	vmm_arch_ops.vcpu_free(vcpu);
	return NULL;
}

int vmm_vm_create_vcpu(struct vmm_vm *vm, unsigned long id)
{
	struct vmm_vcpu *vcpu;
	struct file *file;
	char name[24];
	int i, r, fd;

	if (id >= VMM_MAX_VCPU_ID)
		return -EINVAL;

	mutex_lock(&vm->lock);
	r = -EINVAL;
	if (vm->nr_vcpus >= VMM_MAX_VCPUS)
		goto out_unlock;
	r = -EEXIST;
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->vcpu_id == id)
			goto out_unlock;

	r = -ENOMEM;
	vcpu = vmm_vcpu_alloc(vm, id);
	if (!vcpu)
		goto out_unlock;
	r = vmm_arch_ops.vcpu_create(vcpu);
	if (r) {
		vmm_vcpu_free_pages(vcpu);
		vmm_arch_ops.vcpu_free(vcpu);
		goto out_unlock;
	}

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		goto out_free;
	}
	snprintf(name, sizeof(name), "vmm-vcpu:%lu", id);
	file = anon_inode_getfile(name, &vmm_vcpu_fops, vcpu, O_RDWR);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		r = PTR_ERR(file);
		goto out_free;
	}
	vmm_vm_get(vm);
	vm->vcpus[vm->nr_vcpus] = vcpu;
	/* Readers (remote TLB flush) see the vCPU before the count. */
	smp_wmb();
	WRITE_ONCE(vm->nr_vcpus, vm->nr_vcpus + 1);
	mutex_unlock(&vm->lock);
	fd_install(fd, file);
	return fd;

out_free:
	vmm_vcpu_free(vcpu);
out_unlock:
	mutex_unlock(&vm->lock);
	return r;
}
