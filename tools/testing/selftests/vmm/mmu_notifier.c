// SPDX-License-Identifier: GPL-2.0
/*
 * mmu_notifier: when the host changes which page backs a memslot's
 * userspace address, the guest must see the new page, never the old one.
 *
 * A guest reads one page of a memslot (so that the page is mapped in the
 * second-stage page tables) and reports the value.  Then the host
 *  (a) MADV_DONTNEED's the page (private anonymous memory: zero-filled on
 *      the next touch),
 *  (b) mremap()s another mapping over it (MREMAP_FIXED | MREMAP_MAYMOVE),
 *  (c) mmap(MAP_FIXED)s a new anonymous or memfd page over it,
 *  (d) writes through a second shared mapping of the memfd backing it, and
 *      punches a hole into the memfd (the page is freed),
 *  (e) migrates it to another NUMA node with move_pages() (skipped with one
 *      node),
 * and each time the guest must read the new contents.
 * guest_writes_after_replace checks the other direction: after mremap(),
 * MADV_DONTNEED, mmap(MAP_FIXED) of a memfd and a hole punched into it, a
 * guest write lands in the new page.  thp_split does (a)
 * and (b) on 4 KiB pages of a slot backed by a transparent huge page.  The rig boots with
 * page_poison=1: a second-stage mapping left on a freed page reads
 * 0xaaaaaaaaaaaaaaaa.  concurrent_replace does the same from a second
 * thread while the vCPU keeps reading: once an operation has returned,
 * every read the guest starts must see its value or a later one.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "vmm_util.h"

#define SLOT_ID		1
#define NPAGES		16
#define SLOT_SIZE	(NPAGES * PAGE_SIZE)
#define SLOT_GPA	GUEST_TEST_GPA
#define TPAGE		3			/* the page under test */
#define TOFF		(TPAGE * PAGE_SIZE)
#define TGPA		(SLOT_GPA + TOFF)
#define WORD		0x128			/* byte offset read in the page */

#define VAL(n)		(0x5eed000000000000UL | (n))

#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE	(1 << 1)
#endif

/* Read the word, report it, forever: one read per VMM_RUN. */
static void guest_reader(uint64_t gpa)
{
	for (;;)
		GUEST_SYNC(guest_read64(gpa));
}

/* Run the reader once and return what it read. */
static uint64_t guest_sees(struct vmm_vcpu *vcpu)
{
	struct ucall uc;
	uint64_t cmd = vcpu_run_ucall(vcpu, &uc);

	TEST_ASSERT(cmd == UCALL_SYNC, "guest exit is not a SYNC (%lu)",
		    (unsigned long)cmd);
	return uc.args[0];
}

static void fill(void *page, uint64_t v)
{
	uint64_t *w = page;
	size_t i;

	for (i = 0; i < PAGE_SIZE / 8; i++)
		w[i] = v;
}

static uint64_t *word(void *page)
{
	return (uint64_t *)((char *)page + WORD);
}

/* a fresh private anonymous page holding @v */
static void *anon_page(uint64_t v)
{
	void *p = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap");
	fill(p, v);
	return p;
}

/* a one-page memfd holding @v */
static int memfd_page(uint64_t v)
{
	uint64_t buf[PAGE_SIZE / 8];
	int fd = memfd_create("mmu_notifier", 0);

	TEST_ASSERT(fd >= 0, "memfd_create");
	TEST_ASSERT(!ftruncate(fd, PAGE_SIZE), "ftruncate");
	fill(buf, v);
	TEST_ASSERT(pwrite(fd, buf, PAGE_SIZE, 0) == PAGE_SIZE, "pwrite");
	return fd;
}

FIXTURE(mn) {
	struct vmm_vm *vm;
	struct vmm_vcpu *vcpu;
	char *mem;		/* the slot's userspace_addr */
};

FIXTURE_SETUP(mn)
{
	self->vm = vm_create_default(&self->vcpu, guest_reader);
	self->mem = mmap(NULL, SLOT_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->mem);
	fill(self->mem, VAL(0xf0));
	fill(self->mem + TOFF, VAL(1));
	vm_set_memslot(self->vm, SLOT_ID, 0, SLOT_GPA, SLOT_SIZE, self->mem);
	vcpu_set_entry(self->vcpu, guest_reader, TGPA + WORD, 0);
	/* the guest reads the page: it is mapped in the NPT from now on */
	ASSERT_EQ(VAL(1), guest_sees(self->vcpu));
	ASSERT_EQ(VAL(1), guest_sees(self->vcpu));
}

FIXTURE_TEARDOWN(mn)
{
	vm_free(self->vm);
	munmap(self->mem, SLOT_SIZE);
}

/* (a) the page goes; the next read by anyone gets a zero page */
TEST_F(mn, madv_dontneed)
{
	ASSERT_EQ(0, madvise(self->mem + TOFF, PAGE_SIZE, MADV_DONTNEED));
	ASSERT_EQ(0, guest_sees(self->vcpu));
	/* the host's first write replaces the (shared zero) page again */
	*word(self->mem + TOFF) = VAL(2);
	ASSERT_EQ(VAL(2), guest_sees(self->vcpu));
	ASSERT_EQ(0, madvise(self->mem + TOFF, PAGE_SIZE, MADV_DONTNEED));
	*word(self->mem + TOFF) = VAL(3);
	ASSERT_EQ(VAL(3), guest_sees(self->vcpu));
}

/* (b) another mapping mremap()ed over the page */
TEST_F(mn, mremap_over)
{
	int i;

	for (i = 2; i < 6; i++) {
		void *fresh = anon_page(VAL(i));

		ASSERT_EQ(self->mem + TOFF,
			  mremap(fresh, PAGE_SIZE, PAGE_SIZE,
				 MREMAP_MAYMOVE | MREMAP_FIXED,
				 self->mem + TOFF));
		ASSERT_EQ(VAL(i), guest_sees(self->vcpu));
		ASSERT_EQ(VAL(i), guest_sees(self->vcpu));
	}
}

/* (c) mmap(MAP_FIXED) of a new anonymous page, then of a memfd page */
TEST_F(mn, mmap_fixed_over)
{
	char *p;
	int fd;

	p = mmap(self->mem + TOFF, PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(self->mem + TOFF, p);
	ASSERT_EQ(0, guest_sees(self->vcpu));
	*word(p) = VAL(2);
	ASSERT_EQ(VAL(2), guest_sees(self->vcpu));

	fd = memfd_page(VAL(3));
	p = mmap(self->mem + TOFF, PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0);
	ASSERT_EQ(self->mem + TOFF, p);
	close(fd);
	ASSERT_EQ(VAL(3), guest_sees(self->vcpu));

	/* and back to anonymous memory over the memfd page */
	p = mmap(self->mem + TOFF, PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(self->mem + TOFF, p);
	fill(p, VAL(4));
	ASSERT_EQ(VAL(4), guest_sees(self->vcpu));
}

/*
 * (d) the page is a shared memfd page with a second mapping: writes through
 * the alias are seen, also after the memfd's page was punched out (freed)
 * and a new one allocated by the alias's write.
 */
TEST_F(mn, memfd_alias)
{
	uint64_t *alias;
	char *p;
	int fd, i;

	fd = memfd_page(VAL(2));
	p = mmap(self->mem + TOFF, PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0);
	ASSERT_EQ(self->mem + TOFF, p);
	alias = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		     fd, 0);
	ASSERT_NE(MAP_FAILED, alias);
	ASSERT_EQ(VAL(2), guest_sees(self->vcpu));

	for (i = 3; i < 6; i++) {
		*word(alias) = VAL(i);
		ASSERT_EQ(VAL(i), guest_sees(self->vcpu));
	}
	for (i = 6; i < 9; i++) {
		ASSERT_EQ(0, fallocate(fd, FALLOC_FL_PUNCH_HOLE |
					   FALLOC_FL_KEEP_SIZE, 0, PAGE_SIZE));
		ASSERT_EQ(0, guest_sees(self->vcpu));
		*word(alias) = VAL(i);
		ASSERT_EQ(VAL(i), guest_sees(self->vcpu));
	}
	munmap(alias, PAGE_SIZE);
	close(fd);
}

/* Write VAL(0x800 + n) for n = 1, 2, ... and report n after each write. */
static void guest_writer(uint64_t gpa)
{
	uint64_t n;

	for (n = 1;; n++) {
		guest_write64(gpa, VAL(0x800 + n));
		GUEST_SYNC(n);
	}
}

/*
 * Guest writes after the page was replaced must go to the new page: a
 * stale writable second-stage mapping would let the guest write to a freed
 * page (or to the memfd page that was punched out).
 */
TEST_F(mn, guest_writes_after_replace)
{
	uint64_t *alias;
	struct ucall uc;
	char *p;
	int fd;

	/* a VM of its own: the fixture's vCPU sits in a ucall (see run.c) */
	vm_free(self->vm);
	self->vm = vm_create_default(&self->vcpu, guest_writer);
	vm_set_memslot(self->vm, SLOT_ID, 0, SLOT_GPA, SLOT_SIZE, self->mem);
	vcpu_set_entry(self->vcpu, guest_writer, TGPA + WORD, 0);
	ASSERT_SYNC(self->vcpu, &uc, 1);
	ASSERT_EQ(VAL(0x801), *word(self->mem + TOFF));

	/* mremap() over it */
	ASSERT_EQ(self->mem + TOFF,
		  mremap(anon_page(VAL(2)), PAGE_SIZE, PAGE_SIZE,
			 MREMAP_MAYMOVE | MREMAP_FIXED, self->mem + TOFF));
	ASSERT_SYNC(self->vcpu, &uc, 2);
	ASSERT_EQ(VAL(0x802), *word(self->mem + TOFF));

	/* MADV_DONTNEED */
	ASSERT_EQ(0, madvise(self->mem + TOFF, PAGE_SIZE, MADV_DONTNEED));
	ASSERT_SYNC(self->vcpu, &uc, 3);
	ASSERT_EQ(VAL(0x803), *word(self->mem + TOFF));

	/* a memfd page mapped over it: the write lands in the memfd */
	fd = memfd_page(VAL(4));
	p = mmap(self->mem + TOFF, PAGE_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, fd, 0);
	ASSERT_EQ(self->mem + TOFF, p);
	alias = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		     fd, 0);
	ASSERT_NE(MAP_FAILED, alias);
	ASSERT_SYNC(self->vcpu, &uc, 4);
	ASSERT_EQ(VAL(0x804), *word(alias));

	/* the memfd page punched out: the next write allocates a new one */
	ASSERT_EQ(0, fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       0, PAGE_SIZE));
	ASSERT_EQ(0, *word(alias));
	ASSERT_SYNC(self->vcpu, &uc, 5);
	ASSERT_EQ(VAL(0x805), *word(alias));
	ASSERT_EQ(VAL(0x805), *word(self->mem + TOFF));
	munmap(alias, PAGE_SIZE);
	close(fd);
}

static int nr_numa_nodes(void)
{
	DIR *d = opendir("/sys/devices/system/node");
	struct dirent *e;
	int n = 0;

	if (!d)
		return 1;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "node", 4) &&
		    e->d_name[4] >= '0' && e->d_name[4] <= '9')
			n++;
	closedir(d);
	return n ? n : 1;
}

/* (e) the page migrates to another node; the host then writes to it */
TEST_F(mn, move_pages)
{
	void *page = self->mem + TOFF;
	int node, status = -1, i;
	long r;

	if (nr_numa_nodes() < 2)
		SKIP(return, "one NUMA node: nowhere to move_pages() to");
	for (i = 0; i < 4; i++) {
		/* where is it now? */
		r = syscall(SYS_move_pages, 0, 1UL, &page, NULL, &status, 0);
		ASSERT_EQ(0, r);
		ASSERT_LE(0, status);
		node = !status;
		r = syscall(SYS_move_pages, 0, 1UL, &page, &node, &status,
			    MPOL_MF_MOVE);
		ASSERT_EQ(0, r);
		ASSERT_EQ(node, status);
		ASSERT_EQ(VAL(1 + i), guest_sees(self->vcpu));
		*word(page) = VAL(2 + i);
		ASSERT_EQ(VAL(2 + i), guest_sees(self->vcpu));
	}
}

/* kB of AnonHugePages in the mapping that contains @addr */
static long thp_kb(void *addr)
{
	unsigned long a = (unsigned long)addr, lo, hi;
	char line[256];
	bool in = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/* guest: read word @i of pages 0..n-1 of @gpa, report the page that differs */
static void guest_thp_reader(uint64_t gpa, uint64_t npages)
{
	uint64_t i, v;

	for (;;) {
		for (i = 0; i < npages; i++) {
			v = guest_read64(gpa + i * PAGE_SIZE + WORD);
			if (v != VAL(0x100 + i))
				GUEST_SYNC2(i, v);
		}
		GUEST_SYNC2(~0UL, 0);
	}
}

/*
 * A 2 MiB slot backed by a transparent huge page (when the host gives
 * one: the second stage may then map it with one 2 MiB entry): the guest
 * reads all of it; MADV_DONTNEED of one 4 KiB page (which splits the huge
 * page), then mremap() over another: the guest sees exactly those two
 * pages change, and the host's next write to the first one.
 */
TEST(thp_split)
{
	const uint64_t npages = SZ_2M / PAGE_SIZE;
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_thp_reader);
	char *raw, *mem;
	struct ucall uc;
	uint64_t i;
	long kb;

	raw = mmap(NULL, 2 * SZ_2M, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, raw);
	mem = (char *)ALIGN_UP((uintptr_t)raw, SZ_2M);
	madvise(mem, SZ_2M, MADV_HUGEPAGE);
	for (i = 0; i < npages; i++)
		fill(mem + i * PAGE_SIZE, VAL(0x100 + i));
	kb = thp_kb(mem);
	TH_LOG("AnonHugePages of the slot: %ld kB", kb);
	vm_set_memslot(vm, SLOT_ID, 0, SLOT_GPA, SZ_2M, mem);
	vcpu_set_entry(vcpu, guest_thp_reader, SLOT_GPA, npages);
	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	ASSERT_EQ(~0UL, uc.args[0]);

	/* page 5 goes: the guest reads 0 there, and nothing else changes */
	ASSERT_EQ(0, madvise(mem + 5 * PAGE_SIZE, PAGE_SIZE, MADV_DONTNEED));
	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	ASSERT_EQ(5, uc.args[0]);
	ASSERT_EQ(0, uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	ASSERT_EQ(~0UL, uc.args[0]);

	/* page 300 replaced by mremap(): the guest sees the new page */
	ASSERT_EQ(mem + 300 * PAGE_SIZE,
		  mremap(anon_page(VAL(0xabc)), PAGE_SIZE, PAGE_SIZE,
			 MREMAP_MAYMOVE | MREMAP_FIXED,
			 mem + 300 * PAGE_SIZE));
	*word(mem + 5 * PAGE_SIZE) = VAL(0x105);
	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	ASSERT_EQ(300, uc.args[0]);
	ASSERT_EQ(VAL(0xabc), uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	ASSERT_EQ(~0UL, uc.args[0]);
	vm_free(vm);
	munmap(raw, 2 * SZ_2M);
}

/*
 * A second thread replaces the page again and again, cycling through
 * mremap() of a fresh anonymous page, mmap(MAP_FIXED) of a fresh memfd page
 * and a write through that memfd's alias, each time with a new value
 * VAL(gen), and publishes gen after the operation returned.  The vCPU reads
 * once per VMM_RUN: the value must be VAL(g) with g >= the gen published
 * before that VMM_RUN started, and g <= the gen being worked on.
 */
struct conc {
	char *mem;
	atomic_ulong started, done;
	atomic_bool stop;
	unsigned long ops[3];
};

static void *replace_thread(void *arg)
{
	struct conc *c = arg;
	uint64_t *alias = NULL;
	unsigned long gen;
	char *p;
	int fd;

	for (gen = 2; !atomic_load(&c->stop); gen++) {
		atomic_store(&c->started, gen);
		switch ((gen - 2) % 3) {
		case 0:
			if (alias)
				munmap(alias, PAGE_SIZE);
			alias = NULL;
			p = mremap(anon_page(VAL(gen)), PAGE_SIZE, PAGE_SIZE,
				   MREMAP_MAYMOVE | MREMAP_FIXED,
				   c->mem + TOFF);
			TEST_ASSERT(p == c->mem + TOFF, "mremap");
			break;
		case 1:
			fd = memfd_page(VAL(gen));
			p = mmap(c->mem + TOFF, PAGE_SIZE,
				 PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
				 fd, 0);
			TEST_ASSERT(p == c->mem + TOFF, "mmap MAP_FIXED");
			alias = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE,
				     MAP_SHARED, fd, 0);
			TEST_ASSERT(alias != MAP_FAILED, "mmap alias");
			close(fd);
			break;
		case 2:
			*word(alias) = VAL(gen);
			break;
		}
		c->ops[(gen - 2) % 3]++;
		atomic_store(&c->done, gen);
		usleep(200);
	}
	if (alias)
		munmap(alias, PAGE_SIZE);
	return NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

TEST_F_TIMEOUT(mn, concurrent_replace, 120)
{
	struct conc c = { .mem = self->mem };
	unsigned long reads = 0, bad = 0, changes = 0;
	uint64_t end, v, last = VAL(1);
	pthread_t tid;

	atomic_store(&c.started, 1);
	atomic_store(&c.done, 1);
	ASSERT_EQ(0, pthread_create(&tid, NULL, replace_thread, &c));
	end = now_ms() + 3000;
	while (now_ms() < end) {
		unsigned long lo = atomic_load(&c.done);
		unsigned long hi;

		v = guest_sees(self->vcpu);
		hi = atomic_load(&c.started);
		reads++;
		if (v != last)
			changes++;
		last = v;
		if ((v >> 48) != 0x5eed || (v & 0xffffffffffffUL) < lo ||
		    (v & 0xffffffffffffUL) > hi) {
			if (bad++ < 8)
				TH_LOG("guest read %#lx, expected VAL(%lu..%lu)",
				       (unsigned long)v, lo, hi);
		}
	}
	atomic_store(&c.stop, true);
	pthread_join(tid, NULL);
	TH_LOG("%lu reads, %lu changes seen; %lu mremap, %lu mmap, %lu alias writes; %lu bad",
	       reads, changes, c.ops[0], c.ops[1], c.ops[2], bad);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, c.ops[0]);
	EXPECT_LT(0, c.ops[1]);
	EXPECT_LT(0, c.ops[2]);
	EXPECT_LT(0, changes);
	/* after the last operation, the guest sees its value */
	v = guest_sees(self->vcpu);
	EXPECT_EQ(VAL(atomic_load(&c.done)), v);
}

TEST_HARNESS_MAIN
