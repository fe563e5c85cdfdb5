// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm: second-stage page tables (AMD nested paging), built lazily.
 *
 * A nested page fault on a guest-physical address that a memslot covers
 * looks up the user page behind it, maps it, and drops the page reference
 * right away: vmm does not pin guest memory.  The MMU notifier
 * (virt/vmm/mmu_notifier.c) removes a mapping before the kernel can free
 * or move the page, and a fault that raced with such an invalidation
 * retries.  A fault outside every memslot, or a write to a read-only
 * memslot, is MMIO and goes to the instruction emulator.
 *
 * The tables have the host's paging depth (4 or 5 levels), as AMD nested
 * paging requires.  Intermediate tables live until the VM is destroyed.
 */
#include <linux/mem_encrypt.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <asm/io.h>
#include <asm/pgtable.h>
#include "x86.h"

#define TDP_P		BIT_ULL(0)
#define TDP_RW		BIT_ULL(1)
#define TDP_US		BIT_ULL(2)
#define TDP_A		BIT_ULL(_PAGE_BIT_ACCESSED)
#define TDP_D		BIT_ULL(6)
#define TDP_ADDR_MASK	GENMASK_ULL(51, 12)
#define TDP_TABLE	(TDP_P | TDP_RW | TDP_US | TDP_A)
#define TDP_MAX_LEVELS	5

/*
 * With SME active, every physical address handed to the CPU carries the
 * C-bit (sme_me_mask), as in the host's own page tables: nested page
 * table entries and the root included, as kvm_amd does (shadow_me_value).
 * It is stripped again before an entry is turned back into a pointer.
 */
static u64 *vmm_tdp_next(u64 e)
{
	return __va(__sme_clr(e & TDP_ADDR_MASK));
}

struct vmm_tdp {
	int levels;
	u64 *root;
};

static u64 *vmm_tdp_alloc_table(void)
{
	return (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
}

struct vmm_tdp *vmm_tdp_create(int levels)
{
	struct vmm_tdp *tdp = kzalloc(sizeof(*tdp), GFP_KERNEL_ACCOUNT);

	if (!tdp)
		return NULL;
	tdp->levels = levels;
	tdp->root = vmm_tdp_alloc_table();
	if (!tdp->root) {
		kfree(tdp);
		return NULL;
	}
	return tdp;
}

static void vmm_tdp_free_table(u64 *table, int level)
{
	int i;

	if (level > 1) {
		for (i = 0; i < 512; i++)
			if (table[i] & TDP_P)
				vmm_tdp_free_table(vmm_tdp_next(table[i]),
						   level - 1);
	}
	free_page((unsigned long)table);
}

void vmm_tdp_destroy(struct vmm_tdp *tdp)
{
	if (!tdp)
		return;
	vmm_tdp_free_table(tdp->root, tdp->levels);
	kfree(tdp);
}

u64 vmm_tdp_root_pa(struct vmm_tdp *tdp)
{
	return __sme_set(__pa(tdp->root));
}

static unsigned int vmm_tdp_index(gfn_t gfn, int level)
{
	return (gfn >> (9 * (level - 1))) & 511;
}

/*
 * Install @pte for @gfn, taking table pages from @cache as needed.
 * Returns true if a present entry was replaced (TLBs need a flush).
 */
static bool vmm_tdp_install(struct vmm_tdp *tdp, gfn_t gfn, u64 pte,
			    u64 **cache, int *nr_cache)
{
	u64 *table = tdp->root, old;
	int level;

	for (level = tdp->levels; level > 1; level--) {
		u64 *e = &table[vmm_tdp_index(gfn, level)];

		if (!(*e & TDP_P)) {
			u64 *next = cache[--(*nr_cache)];

			WRITE_ONCE(*e, __sme_set(__pa(next)) | TDP_TABLE);
		}
		table = vmm_tdp_next(*e);
	}
	old = table[vmm_tdp_index(gfn, 1)];
	WRITE_ONCE(table[vmm_tdp_index(gfn, 1)], pte);
	return (old & TDP_P) && old != pte;
}

/*
 * The page behind @hva, as KVM 6.1's hva_to_pfn(): only a write fault
 * takes FOLL_WRITE, so a read never breaks COW, merges out of KSM or
 * allocates anonymous memory (an untouched page reads as the zero page).
 * A read fault on a writable slot still maps the page writable when the
 * user mapping already allows it without a fault (fast GUP with
 * FOLL_WRITE); otherwise it is mapped read-only and a later guest write
 * faults again, with FOLL_WRITE.
 */
static struct page *vmm_tdp_get_page(unsigned long hva, bool write_fault,
				     bool slot_writable, bool *writable)
{
	struct page *page, *wpage;

	*writable = false;
	if ((write_fault || slot_writable) &&
	    get_user_page_fast_only(hva, FOLL_WRITE, &page)) {
		*writable = true;
		return page;
	}
	if (get_user_pages_unlocked(hva, 1, &page,
				   write_fault ? FOLL_WRITE : 0) != 1)
		return NULL;
	if (write_fault) {
		*writable = true;
	} else if (slot_writable &&
		   get_user_page_fast_only(hva, FOLL_WRITE, &wpage)) {
		put_page(page);
		page = wpage;
		*writable = true;
	}
	return page;
}

/* The last gfn a memslot may cover; see vmm_x86_prepare_memory_region(). */
gfn_t vmm_tdp_max_gfn(struct vmm_tdp *tdp)
{
	int bits = min_t(int, boot_cpu_data.x86_phys_bits,
			 PAGE_SHIFT + 9 * tdp->levels);

	return (1ULL << (bits - PAGE_SHIFT)) - 1;
}

int vmm_tdp_page_fault(struct vmm_vm *vm, struct vmm_tdp *tdp, gpa_t gpa,
		       bool write)
{
	u64 *cache[TDP_MAX_LEVELS];
	int nr_cache = 0, idx, r;
	gfn_t gfn = gpa >> PAGE_SHIFT;
	struct vmm_memslot *slot;
	unsigned long mmu_seq, hva;
	bool writable, flush = false;
	struct page *page;
	u64 pte;

	idx = srcu_read_lock(&vm->srcu);
	slot = vmm_gfn_to_memslot(vm, gfn);
	if (!slot || (write && (slot->flags & VMM_MEM_READONLY))) {
		r = 0;
		goto out;
	}
	/* Being deleted or moved: let the guest fault again. */
	if (slot->flags & VMM_MEMSLOT_INVALID) {
		r = 1;
		goto out;
	}
	hva = vmm_gfn_to_hva(slot, gfn);

	mmu_seq = vm->mmu_invalidate_seq;
	/* Read the sequence before the user page tables (GUP). */
	smp_rmb();

	page = vmm_tdp_get_page(hva, write,
				!(slot->flags & VMM_MEM_READONLY), &writable);
	if (!page || (write && !writable)) {
		if (page)
			put_page(page);
		r = -EFAULT;
		goto out;
	}

	while (nr_cache < tdp->levels - 1) {
		cache[nr_cache] = vmm_tdp_alloc_table();
		if (!cache[nr_cache]) {
			put_page(page);
			r = -ENOMEM;
			goto out_cache;
		}
		nr_cache++;
	}

	/*
	 * The fault is the access: A is set.  A writable mapping lets the
	 * guest dirty the page without the host seeing it, so the page is
	 * marked dirty now, as KVM does; the kernel write-protects it
	 * (page_mkclean(), an MMU-notifier invalidation) before it cleans it.
	 */
	pte = __sme_set(page_to_phys(page)) | TDP_P | TDP_US | TDP_A;
	if (writable) {
		pte |= TDP_RW | TDP_D;
		if (!PageReserved(page))
			SetPageDirty(page);
	}

	spin_lock(&vm->mmu_lock);
	if (!vmm_mmu_invalidate_retry(vm, mmu_seq))
		flush = vmm_tdp_install(tdp, gfn, pte, cache, &nr_cache);
	/* else: an invalidation raced with us; the guest faults again. */
	if (flush)
		vmm_flush_remote_tlbs(vm);
	spin_unlock(&vm->mmu_lock);
	put_page(page);
	r = 1;

out_cache:
	while (nr_cache)
		free_page((unsigned long)cache[--nr_cache]);
out:
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}

/*
 * Call @fn on every present leaf entry of [start, end); it returns true if
 * the TLBs need a flush or, for aging, if the entry was young.
 */
typedef bool (*vmm_tdp_leaf_fn)(u64 *pte, bool clear);

static bool vmm_tdp_walk(u64 *table, int level, gfn_t base, gfn_t start,
			 gfn_t end, vmm_tdp_leaf_fn fn, bool arg)
{
	u64 span = 1ULL << (9 * (level - 1));
	bool ret = false;
	unsigned int i;

	for (i = 0; i < 512; i++) {
		gfn_t lo = base + i * span, hi = lo + span;

		if (hi <= start)
			continue;
		if (lo >= end)
			break;
		if (!(table[i] & TDP_P))
			continue;
		if (level == 1)
			ret |= fn(&table[i], arg);
		else
			ret |= vmm_tdp_walk(vmm_tdp_next(table[i]), level - 1,
					    lo, start, end, fn, arg);
	}
	return ret;
}

static bool vmm_tdp_zap_leaf(u64 *pte, bool unused)
{
	WRITE_ONCE(*pte, 0);
	return true;
}

/* Under vm->mmu_lock.  Returns true if TLBs need a flush. */
bool vmm_tdp_unmap_range(struct vmm_tdp *tdp, gfn_t start, gfn_t end)
{
	return vmm_tdp_walk(tdp->root, tdp->levels, 0, start, end,
			    vmm_tdp_zap_leaf, false);
}

/*
 * The CPU sets the accessed bit of a nested page table entry when the
 * guest uses the translation.  It may set A or D at any moment, so the
 * bit is cleared atomically, never by writing the entry back.
 */
static bool vmm_tdp_age_leaf(u64 *pte, bool clear)
{
	if (clear)
		return test_and_clear_bit(_PAGE_BIT_ACCESSED,
					  (unsigned long *)pte);
	return READ_ONCE(*pte) & TDP_A;
}

/*
 * Under vm->mmu_lock: true if a mapping in [start, end) was used since its
 * accessed bit was last cleared.  The caller flushes TLBs if it must (see
 * virt/vmm/mmu_notifier.c).
 */
bool vmm_tdp_age_range(struct vmm_tdp *tdp, gfn_t start, gfn_t end, bool clear)
{
	return vmm_tdp_walk(tdp->root, tdp->levels, 0, start, end,
			    vmm_tdp_age_leaf, clear);
}
