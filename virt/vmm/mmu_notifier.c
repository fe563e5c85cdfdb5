// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm: keep the second-stage page tables coherent with the VMM's address
 * space.
 *
 * vmm does not pin guest memory.  A second-stage mapping is a cache of the
 * user mapping behind a memslot: when the kernel unmaps, migrates, swaps
 * or write-protects those user pages, the invalidation below drops the
 * second-stage entries and flushes the guest TLBs of every vCPU before the
 * page can be freed.  A fault that raced with an invalidation sees the
 * sequence count move (vmm_mmu_invalidate_retry()) and retries.  While an
 * invalidation is between its start and end, memslot updates wait
 * (mn_active_invalidate_count, as in KVM), so both ends see the same slots.
 * The young callbacks let reclaim see which pages the guest uses.
 */
#include <linux/mmu_notifier.h>
#include "vmm_core.h"

static struct vmm_vm *mn_to_vm(struct mmu_notifier *mn)
{
	return container_of(mn, struct vmm_vm, mmu_notifier);
}

static int vmm_mn_invalidate_range_start(struct mmu_notifier *mn,
					 const struct mmu_notifier_range *range)
{
	struct vmm_vm *vm = mn_to_vm(mn);

	/* Hold memslot swaps off until the matching range_end. */
	spin_lock(&vm->mn_invalidate_lock);
	vm->mn_active_invalidate_count++;
	spin_unlock(&vm->mn_invalidate_lock);

	spin_lock(&vm->mmu_lock);
	vm->mmu_invalidate_in_progress++;
	vmm_unmap_hva_range(vm, range->start, range->end);
	spin_unlock(&vm->mmu_lock);
	return 0;
}

static void vmm_mn_invalidate_range_end(struct mmu_notifier *mn,
					const struct mmu_notifier_range *range)
{
	struct vmm_vm *vm = mn_to_vm(mn);
	bool wake;

	spin_lock(&vm->mmu_lock);
	vm->mmu_invalidate_seq++;
	vm->mmu_invalidate_in_progress--;
	spin_unlock(&vm->mmu_lock);

	spin_lock(&vm->mn_invalidate_lock);
	wake = --vm->mn_active_invalidate_count == 0;
	spin_unlock(&vm->mn_invalidate_lock);
	if (wake)
		rcuwait_wake_up(&vm->mn_memslots_update_rcuwait);
}

/*
 * Reclaim and working-set estimation ask whether the guest used a page:
 * the accessed bits of the second-stage tables answer for the guest, as
 * the host page tables answer for the VMM.  As in KVM 6.1, clear_flush_young
 * flushes the guest TLBs when it cleared a bit, so the guest's next use
 * walks the tables and sets it again (a cached translation would keep a
 * hot page looking idle); clear_young and test_young do not flush.
 */
static int vmm_mn_age(struct vmm_vm *vm, unsigned long start,
		      unsigned long end, bool clear, bool flush)
{
	bool young;

	spin_lock(&vm->mmu_lock);
	young = vmm_age_hva_range(vm, start, end, clear);
	if (young && flush)
		vmm_flush_remote_tlbs(vm);
	spin_unlock(&vm->mmu_lock);
	return young;
}

static int vmm_mn_clear_flush_young(struct mmu_notifier *mn,
				    struct mm_struct *mm, unsigned long start,
				    unsigned long end)
{
	return vmm_mn_age(mn_to_vm(mn), start, end, true, true);
}

static int vmm_mn_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
			      unsigned long start, unsigned long end)
{
	return vmm_mn_age(mn_to_vm(mn), start, end, true, false);
}

static int vmm_mn_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
			     unsigned long address)
{
	return vmm_mn_age(mn_to_vm(mn), address, address + 1, false, false);
}

static void vmm_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct vmm_vm *vm = mn_to_vm(mn);

	/* The address space is going away: drop every mapping. */
	spin_lock(&vm->mmu_lock);
	vm->mmu_invalidate_seq++;
	vmm_unmap_hva_range(vm, 0, ULONG_MAX);
	spin_unlock(&vm->mmu_lock);
}

static const struct mmu_notifier_ops vmm_mmu_notifier_ops = {
	.invalidate_range_start	= vmm_mn_invalidate_range_start,
	.invalidate_range_end	= vmm_mn_invalidate_range_end,
	.clear_flush_young	= vmm_mn_clear_flush_young,
	.clear_young		= vmm_mn_clear_young,
	.test_young		= vmm_mn_test_young,
	.release		= vmm_mn_release,
};

int vmm_mmu_notifier_register(struct vmm_vm *vm)
{
	spin_lock_init(&vm->mn_invalidate_lock);
	rcuwait_init(&vm->mn_memslots_update_rcuwait);
	vm->mn_active_invalidate_count = 0;
	vm->mmu_notifier.ops = &vmm_mmu_notifier_ops;
	return mmu_notifier_register(&vm->mmu_notifier, vm->mm);
}

void vmm_mmu_notifier_unregister(struct vmm_vm *vm)
{
	mmu_notifier_unregister(&vm->mmu_notifier, vm->mm);
}
