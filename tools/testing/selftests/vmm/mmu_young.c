// SPDX-License-Identifier: GPL-2.0
/*
 * mmu_young: reclaim sees which pages the guest uses.
 *
 * A guest reads its pages through the nested page tables, so the host's
 * page table entries never become young again after the fault that mapped
 * them.  Reclaim asks the hypervisor instead (the MMU notifier's
 * clear_flush_young/clear_young/test_young): pages the guest keeps using
 * must stay resident while pages it stopped using are swapped out.
 *
 * The test runs in a memory cgroup of its own and drives reclaim with
 * memory.reclaim; it needs swap.  In the rig, /rig/swap-on.sh turns on a
 * zram swap device when there is none.
 *
 * vmm only: in the rig, Debian's kvm_amd reports the guest's working set
 * as idle (519 of 768 used pages swapped out, 0 of 768 unused ones); why
 * is not established.  vmm passes (0 used, 477-667 unused) and fails
 * without the young callbacks (208 used, 201 unused).  QEMU TCG reloads
 * its TLB on every VMRUN, so the rig cannot show that clear_flush_young
 * must flush the guest TLBs (on hardware a cached translation would keep
 * a used page looking idle); that part is reviewed, not tested.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "vmm_util.h"

#define NR_PAGES	512			/* 2 MiB slot */
#define NR_HOT		256			/* the first half stays in use */
#define ROUNDS		2
#define REPEAT		3

static void guest_code(void)
{
	uint64_t i, sum = 0;

	/*
	 * The used half first: it is older on the host's LRU lists, so
	 * reclaim reaches it first and must see that the guest uses it.
	 */
	for (i = 0; i < NR_PAGES; i++)
		guest_write64(GUEST_TEST_GPA + i * 4096, i + 1);
	GUEST_SYNC(0);
	for (;;) {
		for (i = 0; i < NR_HOT; i++)
			sum += guest_read64(GUEST_TEST_GPA + i * 4096);
		GUEST_SYNC(sum);
	}
}

static bool have_swap(void)
{
	char line[256];
	int n = 0;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n > 1;		/* a header, then one line per device */
}

/* How many of the @n pages at @hva are swapped out (pagemap bit 62). */
static int count_swapped(int pagemap, char *hva, int n)
{
	uint64_t e;
	int i, swapped = 0;

	for (i = 0; i < n; i++) {
		off_t off = (uintptr_t)(hva + i * 4096UL) / 4096 * 8;

		TEST_ASSERT(pread(pagemap, &e, 8, off) == 8, "pagemap");
		swapped += !!(e & (1ULL << 62));
	}
	return swapped;
}

/*
 * One VM in a fresh cgroup: the guest writes every page, then twice
 * reclaim asks for a quarter of the slot and the guest reads its used half
 * again; a last reclaim follows.  Adds the swapped-out pages of each half
 * to @hot and @cold.
 */
static void reclaim_once(int *hot, int *cold)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm;
	struct ucall uc;
	char cg[128], reclaim[160];
	int pagemap, round;
	char *mem;

	TEST_ASSERT(!memcg_enter(cg, sizeof(cg), "vmm-young"), "memory cgroup");
	snprintf(reclaim, sizeof(reclaim), "%s/memory.reclaim", cg);

	/* Charged to the new cgroup: everything is faulted in from here. */
	vm = vm_create_default(&vcpu, guest_code);
	mem = vm_add_memslot(vm, 1, 0, GUEST_TEST_GPA, NR_PAGES * 4096UL);
	TEST_ASSERT(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "first touch");
	/* Reclaim may fall short of a target (EAGAIN): that is fine. */
	for (round = 0; round < ROUNDS; round++) {
		sysfs_write(reclaim, "512K");
		TEST_ASSERT(vcpu_run_ucall(vcpu, &uc) == UCALL_SYNC, "reread");
	}
	sysfs_write(reclaim, "512K");

	pagemap = open("/proc/self/pagemap", O_RDONLY);
	TEST_ASSERT(pagemap >= 0, "open pagemap");
	*hot += count_swapped(pagemap, mem, NR_HOT);
	*cold += count_swapped(pagemap, mem + NR_HOT * 4096UL,
			       NR_PAGES - NR_HOT);
	close(pagemap);
	vm_free(vm);
	memcg_leave(cg);
}

TEST(guest_working_set_stays_resident)
{
	char cg[128], reclaim[160];
	int i, hot = 0, cold = 0;

	vmm_require_dev();
	if (!have_swap() && !access("/rig/swap-on.sh", X_OK))
		system("/rig/swap-on.sh >/dev/null 2>&1");
	if (!have_swap())
		SKIP(return, "no swap: reclaim cannot take anonymous pages");
	if (memcg_enter(cg, sizeof(cg), "vmm-young"))
		SKIP(return, "no cgroup v2 memory controller");
	snprintf(reclaim, sizeof(reclaim), "%s/memory.reclaim", cg);
	i = access(reclaim, W_OK);
	memcg_leave(cg);
	if (i)
		SKIP(return, "no memory.reclaim (Linux < 5.19)");

	for (i = 0; i < REPEAT; i++)
		reclaim_once(&hot, &cold);
	TH_LOG("swapped out: %d of %d pages in use, %d of %d unused", hot,
	       REPEAT * NR_HOT, cold, REPEAT * (NR_PAGES - NR_HOT));
	/*
	 * Reclaim must have taken unused pages.  Without the young callbacks
	 * it takes the used half as readily (measured in the rig: 69 used
	 * and 67 unused pages of one round; with them 0 and 158).
	 */
	ASSERT_GE(cold, REPEAT * (NR_PAGES - NR_HOT) / 4);
	ASSERT_LE(hot * 4, cold);
}

TEST_HARNESS_MAIN
