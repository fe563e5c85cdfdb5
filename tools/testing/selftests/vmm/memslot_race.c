// SPDX-License-Identifier: GPL-2.0
/*
 * memslot_race: a memslot deleted or moved while the MMU notifier unmaps
 * its memory must never leave the guest a mapping of a freed page.
 *
 * One vCPU reads every page of a slot in a loop and reports any value other
 * than GOOD.  A second thread deletes, re-creates and moves the slot, a
 * third keeps replacing the slot's memory with fresh pages holding GOOD
 * (mremap() over it, which unmaps and frees the old pages).  MMIO reads of
 * the slot's address while it is absent are answered with GOOD too.  A
 * stale second-stage mapping points at a freed page: the rig boots with
 * page_poison=1, so that page reads as 0xaa... (or as whatever its next
 * owner wrote), never GOOD.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "vmm_util.h"

#define GOOD		0x600d5eed600d5eedUL
#define NPAGES		32
#define SLOT_SIZE	(NPAGES * PAGE_SIZE)
#define SLOT_ID		1
#define GPA_A		GUEST_TEST_GPA
#define GPA_B		(GUEST_TEST_GPA + 0x1000000UL)
#define RUN_SECONDS	4

struct race {
	struct vmm_vm *vm;
	char *mem;		/* the slot's userspace_addr */
	atomic_bool stop;
	atomic_ulong slot_ops, remaps;
};

/* Report every word that is not GOOD; a tick (0) after each pass. */
static void guest_scan(uint64_t gpa, uint64_t npages)
{
	uint64_t i, v;

	for (;;) {
		for (i = 0; i < npages; i++) {
			uint64_t a = gpa + i * PAGE_SIZE + 8 * (i % 512);

			v = guest_read64(a);
			if (v != GOOD)
				GUEST_SYNC2(a, v);
		}
		GUEST_SYNC(0);
	}
}

static int set_slot(struct race *r, uint64_t gpa, uint64_t size)
{
	struct vmm_userspace_memory_region region = {
		.slot = SLOT_ID,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = size ? (uintptr_t)r->mem : 0,
	};

	return ioctl(r->vm->fd, VMM_SET_USER_MEMORY_REGION, &region);
}

static void *slot_thread(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		/* delete, re-create, move away, move back */
		TEST_ASSERT(!set_slot(r, 0, 0), "delete");
		TEST_ASSERT(!set_slot(r, GPA_A, SLOT_SIZE), "create");
		TEST_ASSERT(!set_slot(r, GPA_B, SLOT_SIZE), "move to B");
		TEST_ASSERT(!set_slot(r, GPA_A, SLOT_SIZE), "move to A");
		atomic_fetch_add(&r->slot_ops, 4);
	}
	return NULL;
}

static void fill_good(void *p, size_t size)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < size / 8; i++)
		w[i] = GOOD;
}

/* Replace the slot's pages by fresh ones holding GOOD, atomically. */
static void *remap_thread(void *arg)
{
	struct race *r = arg;

	while (!atomic_load(&r->stop)) {
		void *fresh = vmm_alloc_mem(SLOT_SIZE);
		void *p;

		fill_good(fresh, SLOT_SIZE);
		p = mremap(fresh, SLOT_SIZE, SLOT_SIZE,
			   MREMAP_MAYMOVE | MREMAP_FIXED, r->mem);
		TEST_ASSERT(p == r->mem, "mremap");
		atomic_fetch_add(&r->remaps, 1);
	}
	return NULL;
}

static time_t now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

TEST(delete_move_vs_munmap)
{
	struct race r = {};
	struct vmm_vcpu *vcpu;
	pthread_t slot_tid, remap_tid;
	unsigned long passes = 0, mmio = 0, bad = 0;
	time_t end;
	struct ucall uc;

	r.vm = vm_create_default(&vcpu, guest_scan);
	r.mem = vmm_alloc_mem(SLOT_SIZE);
	fill_good(r.mem, SLOT_SIZE);
	ASSERT_EQ(0, set_slot(&r, GPA_A, SLOT_SIZE));
	vcpu_set_entry(vcpu, guest_scan, GPA_A, NPAGES);

	ASSERT_EQ(0, pthread_create(&slot_tid, NULL, slot_thread, &r));
	ASSERT_EQ(0, pthread_create(&remap_tid, NULL, remap_thread, &r));

	end = now() + RUN_SECONDS;
	while (!atomic_load(&r.stop)) {
		vcpu_run(vcpu);
		if (vcpu->run->exit_reason == VMM_EXIT_MMIO) {
			/* the slot is absent or elsewhere right now */
			uint64_t v = GOOD;

			ASSERT_EQ(0, vcpu->run->mmio.is_write);
			memcpy(vcpu->run->mmio.data, &v, sizeof(v));
			mmio++;
			continue;
		}
		if (get_ucall(vcpu, &uc) != UCALL_SYNC)
			vcpu_describe_exit(vcpu);
		ASSERT_EQ(UCALL_SYNC, get_ucall(vcpu, &uc));
		if (uc.args[0]) {
			if (bad++ < 8)
				TH_LOG("guest read %#lx at gpa %#lx",
				       (unsigned long)uc.args[1],
				       (unsigned long)uc.args[0]);
			continue;
		}
		passes++;
		if (now() > end)
			atomic_store(&r.stop, true);
	}
	pthread_join(slot_tid, NULL);
	pthread_join(remap_tid, NULL);
	TH_LOG("%lu passes, %lu MMIO exits, %lu slot updates, %lu remaps, %lu stale reads",
	       passes, mmio, atomic_load(&r.slot_ops), atomic_load(&r.remaps),
	       bad);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, atomic_load(&r.remaps));
	EXPECT_LT(0, atomic_load(&r.slot_ops));

	vm_free(r.vm);
	munmap(r.mem, SLOT_SIZE);
}

TEST_HARNESS_MAIN
