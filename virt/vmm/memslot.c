// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm: guest memory slots (VMM_SET_USER_MEMORY_REGION).
 *
 * The slots of a VM live in one immutable array.  An update builds a new
 * array and publishes it with vmm_swap_memslots(), which waits until no
 * MMU-notifier invalidation is in flight, then for the SRCU readers of the
 * old array (the second-stage fault handlers, which hold vm->srcu from
 * their slot lookup until their mapping is installed).
 *
 * Deleting or moving a slot takes two swaps, as KVM's
 * kvm_invalidate_memslot() does.  The first publishes a copy of the slot
 * marked VMM_MEMSLOT_INVALID at its old place: faults on it retry instead
 * of mapping, while the MMU notifier still finds it by user address.  Then
 * the slot's second-stage mappings are dropped, and only then the second
 * swap publishes the array without it (or with it at its new place).  So
 * whenever a user page of the slot is unmapped, either the slot is still
 * visible to vmm_unmap_hva_range() or it has no mapping left; the guest
 * never keeps a mapping of a page the kernel frees.
 *
 * Validation follows __kvm_set_memory_region() of Linux 6.1; see
 * Documentation/api.rst for the errno of every case.
 */
#include <linux/mm.h>
#include <linux/rcuwait.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "vmm_core.h"

static struct vmm_memslots *vmm_memslots_alloc(int nr)
{
	struct vmm_memslots *slots;

	slots = kvzalloc(struct_size(slots, slots, nr), GFP_KERNEL_ACCOUNT);
	if (slots)
		slots->nr = nr;
	return slots;
}

struct vmm_memslots *vmm_memslots_alloc_empty(void)
{
	return vmm_memslots_alloc(0);
}

static struct vmm_memslot *vmm_id_to_memslot(struct vmm_memslots *slots,
					     u16 id)
{
	int i;

	for (i = 0; i < slots->nr; i++)
		if (slots->slots[i].id == id)
			return &slots->slots[i];
	return NULL;
}

/*
 * Caller holds vm->srcu (read) or vm->slots_lock.  The slot returned may
 * be marked VMM_MEMSLOT_INVALID: it is being deleted or moved, and no
 * second-stage mapping of it may be created.
 */
struct vmm_memslot *vmm_gfn_to_memslot(struct vmm_vm *vm, gfn_t gfn)
{
	struct vmm_memslots *slots;
	int i;

	slots = srcu_dereference_check(vm->memslots, &vm->srcu,
				       lockdep_is_held(&vm->slots_lock));
	for (i = 0; i < slots->nr; i++) {
		struct vmm_memslot *s = &slots->slots[i];

		if (gfn >= s->base_gfn && gfn < s->base_gfn + s->npages)
			return s;
	}
	return NULL;
}

static bool vmm_memslot_overlaps(struct vmm_memslots *slots, u16 id,
				 gfn_t start, gfn_t end)
{
	int i;

	for (i = 0; i < slots->nr; i++) {
		struct vmm_memslot *s = &slots->slots[i];

		if (s->id == id)
			continue;
		if (start < s->base_gfn + s->npages && s->base_gfn < end)
			return true;
	}
	return false;
}

/*
 * Drop the second-stage mappings of [gfn, gfn + npages).  The TLBs are
 * flushed before mmu_lock is dropped: an invalidation that finds nothing
 * left to zap must be able to rely on no vCPU still caching a translation.
 */
static void vmm_zap_gfn_range(struct vmm_vm *vm, gfn_t gfn, u64 npages)
{
	spin_lock(&vm->mmu_lock);
	if (vmm_arch_ops.unmap_gfn_range(vm, gfn, gfn + npages))
		vmm_flush_remote_tlbs(vm);
	spin_unlock(&vm->mmu_lock);
}

typedef bool (*vmm_gfn_range_fn)(struct vmm_vm *vm, gfn_t start, gfn_t end,
				 bool arg);

/*
 * Call @fn, under vm->mmu_lock, on the gfns of every slot page whose user
 * address is in [start, end), slots marked invalid included; OR the
 * results.
 */
static bool vmm_handle_hva_range(struct vmm_vm *vm, unsigned long start,
				 unsigned long end, vmm_gfn_range_fn fn,
				 bool arg)
{
	struct vmm_memslots *slots;
	bool ret = false;
	int i, idx;

	lockdep_assert_held(&vm->mmu_lock);
	idx = srcu_read_lock(&vm->srcu);
	slots = srcu_dereference(vm->memslots, &vm->srcu);
	for (i = 0; i < slots->nr; i++) {
		struct vmm_memslot *s = &slots->slots[i];
		unsigned long s_start = s->userspace_addr;
		unsigned long s_end = s_start + (s->npages << PAGE_SHIFT);
		unsigned long lo = max(start, s_start);
		unsigned long hi = min(end, s_end);

		if (lo >= hi)
			continue;
		ret |= fn(vm, s->base_gfn + ((lo - s_start) >> PAGE_SHIFT),
			  s->base_gfn +
			  ((hi - s_start + PAGE_SIZE - 1) >> PAGE_SHIFT), arg);
	}
	srcu_read_unlock(&vm->srcu, idx);
	return ret;
}

static bool vmm_unmap_gfn_range(struct vmm_vm *vm, gfn_t start, gfn_t end,
				bool unused)
{
	return vmm_arch_ops.unmap_gfn_range(vm, start, end);
}

/*
 * Called from the MMU notifier with vm->mmu_lock held: drop the mappings
 * of every slot page whose user address is in [start, end) and flush the
 * TLBs of every vCPU before returning.
 */
void vmm_unmap_hva_range(struct vmm_vm *vm, unsigned long start,
			 unsigned long end)
{
	if (vmm_handle_hva_range(vm, start, end, vmm_unmap_gfn_range, false))
		vmm_flush_remote_tlbs(vm);
}

/*
 * Called from the MMU notifier with vm->mmu_lock held: true if the guest
 * used a page of [start, end) since the last clear; @clear starts over.
 */
bool vmm_age_hva_range(struct vmm_vm *vm, unsigned long start,
		       unsigned long end, bool clear)
{
	return vmm_handle_hva_range(vm, start, end, vmm_arch_ops.age_gfn_range,
				    clear);
}

/*
 * Publish @slots, never while an MMU-notifier invalidation is between its
 * start and end (they must see one array), and wait until no fault handler
 * uses the previous array.  The caller holds vm->slots_lock and frees the
 * previous array.
 */
static void vmm_swap_memslots(struct vmm_vm *vm, struct vmm_memslots *slots)
{
	spin_lock(&vm->mn_invalidate_lock);
	prepare_to_rcuwait(&vm->mn_memslots_update_rcuwait);
	while (vm->mn_active_invalidate_count) {
		set_current_state(TASK_UNINTERRUPTIBLE);
		spin_unlock(&vm->mn_invalidate_lock);
		schedule();
		spin_lock(&vm->mn_invalidate_lock);
	}
	finish_rcuwait(&vm->mn_memslots_update_rcuwait);
	rcu_assign_pointer(vm->memslots, slots);
	spin_unlock(&vm->mn_invalidate_lock);
	synchronize_srcu_expedited(&vm->srcu);
}

static struct vmm_memslots *vmm_memslots_dup(struct vmm_memslots *slots)
{
	struct vmm_memslots *copy = vmm_memslots_alloc(slots->nr);

	if (copy)
		memcpy(copy->slots, slots->slots,
		       slots->nr * sizeof(slots->slots[0]));
	return copy;
}

static int vmm_check_memory_region(const struct vmm_userspace_memory_region *mem)
{
	u32 valid_flags = VMM_MEM_READONLY;
	u16 as_id = mem->slot >> 16;
	u16 id = (u16)mem->slot;

	/* Dirty logging is not implemented: refuse it rather than lie. */
	if (mem->flags & ~valid_flags)
		return -EINVAL;
	if (mem->memory_size & (PAGE_SIZE - 1))
		return -EINVAL;
	if (mem->guest_phys_addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if ((mem->userspace_addr & (PAGE_SIZE - 1)) ||
	    mem->userspace_addr != untagged_addr(mem->userspace_addr) ||
	    !access_ok((void __user *)(unsigned long)mem->userspace_addr,
		       mem->memory_size))
		return -EINVAL;
	/* One address space: vmm has no SMM. */
	if (as_id != 0 || id >= VMM_USER_MEM_SLOTS)
		return -EINVAL;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr)
		return -EINVAL;
	if ((mem->memory_size >> PAGE_SHIFT) > VMM_MEM_MAX_NR_PAGES)
		return -EINVAL;
	return 0;
}

int vmm_set_user_memory_region(struct vmm_vm *vm,
			       const struct vmm_userspace_memory_region *mem)
{
	struct vmm_memslots *old_slots, *new_slots, *inval_slots = NULL;
	struct vmm_memslot *old, *s;
	gfn_t base_gfn = mem->guest_phys_addr >> PAGE_SHIFT;
	u64 npages = mem->memory_size >> PAGE_SHIFT;
	u16 id = (u16)mem->slot;
	struct vmm_memslot zap = {}, *new = NULL;
	enum vmm_mr_change change;
	int i, j, r;

	r = vmm_check_memory_region(mem);
	if (r)
		return r;

	mutex_lock(&vm->slots_lock);
	old_slots = rcu_dereference_protected(vm->memslots,
					      lockdep_is_held(&vm->slots_lock));
	old = vmm_id_to_memslot(old_slots, id);

	r = -EINVAL;
	if (!npages) {
		/* Delete. */
		if (!old)
			goto out;
		new_slots = vmm_memslots_alloc(old_slots->nr - 1);
		r = -ENOMEM;
		if (!new_slots)
			goto out;
		for (i = 0, j = 0; i < old_slots->nr; i++)
			if (old_slots->slots[i].id != id)
				new_slots->slots[j++] = old_slots->slots[i];
		zap = *old;
		change = VMM_MR_DELETE;
	} else if (old) {
		/* Modify: only a move of an otherwise identical slot. */
		if (mem->userspace_addr != old->userspace_addr ||
		    npages != old->npages || mem->flags != old->flags)
			goto out;
		r = 0;
		if (base_gfn == old->base_gfn)
			goto out;
		r = -EEXIST;
		if (vmm_memslot_overlaps(old_slots, id, base_gfn,
					 base_gfn + npages))
			goto out;
		new_slots = vmm_memslots_alloc(old_slots->nr);
		r = -ENOMEM;
		if (!new_slots)
			goto out;
		memcpy(new_slots->slots, old_slots->slots,
		       old_slots->nr * sizeof(old_slots->slots[0]));
		zap = *old;
		change = VMM_MR_MOVE;
		new = vmm_id_to_memslot(new_slots, id);
		new->base_gfn = base_gfn;
		new->arch = NULL;
	} else {
		/* Create. */
		r = -EEXIST;
		if (vmm_memslot_overlaps(old_slots, id, base_gfn,
					 base_gfn + npages))
			goto out;
		new_slots = vmm_memslots_alloc(old_slots->nr + 1);
		r = -ENOMEM;
		if (!new_slots)
			goto out;
		memcpy(new_slots->slots, old_slots->slots,
		       old_slots->nr * sizeof(old_slots->slots[0]));
		s = &new_slots->slots[old_slots->nr];
		s->id = id;
		s->base_gfn = base_gfn;
		s->npages = npages;
		s->flags = mem->flags;
		s->userspace_addr = mem->userspace_addr;
		s->arch = NULL;
		change = VMM_MR_CREATE;
		new = s;
	}

	/* Everything that can fail comes before the first visible change. */
	if (zap.npages) {
		inval_slots = vmm_memslots_dup(old_slots);
		if (!inval_slots) {
			kvfree(new_slots);
			r = -ENOMEM;
			goto out;
		}
	}
	r = vmm_arch_ops.prepare_memory_region(vm, zap.npages ? &zap : NULL,
					       new, change);
	if (r) {
		kvfree(inval_slots);
		kvfree(new_slots);
		goto out;
	}

	if (zap.npages) {
		/*
		 * Delete or move: first mark the old slot invalid, so no new
		 * mapping of it appears while the MMU notifier still finds it,
		 * and drop its mappings; see the comment at the top.
		 */
		vmm_id_to_memslot(inval_slots, id)->flags |=
			VMM_MEMSLOT_INVALID;
		vmm_swap_memslots(vm, inval_slots);
		kvfree(old_slots);
		old_slots = inval_slots;
		vmm_zap_gfn_range(vm, zap.base_gfn, zap.npages);
	}
	vmm_swap_memslots(vm, new_slots);
	kvfree(old_slots);
	vmm_arch_ops.commit_memory_region(vm, zap.npages ? &zap : NULL, new,
					  change);
	r = 0;
out:
	mutex_unlock(&vm->slots_lock);
	return r;
}
