// SPDX-License-Identifier: GPL-2.0
/*
 * mmu_fault: how guest accesses fault in the user memory behind a memslot,
 * as KVM 6.1's hva_to_pfn() does it.  A guest read takes no FOLL_WRITE: it
 * neither allocates anonymous memory nor breaks COW; a guest write after a
 * read-only mapping still works; slots beyond the reach of the second-stage
 * tables (host MAXPHYADDR) are refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <cpuid.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "vmm_util.h"

#define SLOT_SIZE	SZ_2M
#define GPA_A		GUEST_TEST_GPA

/* Sum of one word of every page: every read faults a page in. */
static void guest_read_all(uint64_t gpa, uint64_t size)
{
	uint64_t off, sum = 0;

	for (off = 0; off < size; off += PAGE_SIZE)
		sum += guest_read64(gpa + off);
	GUEST_SYNC(sum);
}

/* Read, report, write, read back. */
static void guest_read_write(uint64_t gpa, uint64_t val)
{
	GUEST_SYNC(guest_read64(gpa));
	guest_write64(gpa, val);
	GUEST_SYNC(guest_read64(gpa));
}

/* "Anonymous:" of /proc/self/smaps_rollup, in kB. */
static long anon_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Anonymous: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The PFN behind a user address (needs CAP_SYS_ADMIN), 0 if unknown. */
static uint64_t pfn_of(void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, 8, (uintptr_t)addr / PAGE_SIZE * 8) != 8)
		e = 0;
	close(fd);
	if (!(e & (1ULL << 63)))
		return 0;
	return e & ((1ULL << 55) - 1);
}

TEST(read_does_not_allocate)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_read_all);
	void *mem = vmm_alloc_mem(SLOT_SIZE);	/* never touched */
	struct ucall uc;
	long before, after;

	/* no THP: one write fault must not bring 2 MiB with it */
	madvise(mem, SLOT_SIZE, MADV_NOHUGEPAGE);
	vm_set_memslot(vm, 1, 0, GPA_A, SLOT_SIZE, mem);
	vcpu_set_entry(vcpu, guest_read_all, GPA_A, SLOT_SIZE);
	before = anon_kb();
	ASSERT_LE(0, before);
	ASSERT_SYNC(vcpu, &uc, 0);
	after = anon_kb();
	TH_LOG("Anonymous: %ld kB before, %ld kB after 512 guest reads",
	       before, after);
	/* 512 allocated pages would be 2048 kB; allow some noise */
	EXPECT_GT(before + 256, after);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
	munmap(mem, SLOT_SIZE);
}

TEST(write_after_read)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_read_write);
	uint64_t *mem = vmm_alloc_mem(SLOT_SIZE);	/* never touched */
	struct ucall uc;

	vm_set_memslot(vm, 1, 0, GPA_A, SLOT_SIZE, mem);
	vcpu_set_entry(vcpu, guest_read_write, GPA_A + 0x3000, 0x1234abcd);
	/* the read maps the zero page read-only ... */
	ASSERT_SYNC(vcpu, &uc, 0);
	/* ... and the write upgrades it to a page of its own */
	ASSERT_SYNC(vcpu, &uc, 0x1234abcd);
	ASSERT_EQ(0x1234abcd, mem[0x3000 / 8]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
	munmap(mem, SLOT_SIZE);
}

/*
 * A MAP_PRIVATE page shared with a fork()ed child stays shared across a
 * guest read; the guest's write then breaks COW and stays out of the child.
 */
TEST(read_keeps_cow)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_read_write);
	uint64_t *mem = vmm_alloc_mem(SLOT_SIZE);
	int to_child[2], from_child[2];
	uint64_t child_pfn, parent_pfn, v;
	struct ucall uc;
	char c = 0;
	pid_t pid;
	int status;

	madvise(mem, SLOT_SIZE, MADV_NOHUGEPAGE);
	mem[0] = 0x5555aaaa;
	vm_set_memslot(vm, 1, 0, GPA_A, SLOT_SIZE, mem);
	vcpu_set_entry(vcpu, guest_read_write, GPA_A, 0x7777);
	ASSERT_EQ(0, pipe(to_child));
	ASSERT_EQ(0, pipe(from_child));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		v = pfn_of(mem);
		if (write(from_child[1], &v, 8) != 8 ||
		    read(to_child[0], &c, 1) != 1)
			_exit(1);
		v = mem[0];
		_exit(write(from_child[1], &v, 8) == 8 ? 0 : 1);
	}
	ASSERT_EQ(8, read(from_child[0], &child_pfn, 8));

	ASSERT_SYNC(vcpu, &uc, 0x5555aaaa);
	parent_pfn = pfn_of(mem);
	TH_LOG("after the guest read: parent pfn %#lx, child pfn %#lx",
	       (unsigned long)parent_pfn, (unsigned long)child_pfn);
	if (parent_pfn && child_pfn)
		EXPECT_EQ(child_pfn, parent_pfn);

	ASSERT_SYNC(vcpu, &uc, 0x7777);
	ASSERT_EQ(0x7777, mem[0]);
	if (child_pfn)
		EXPECT_NE(child_pfn, pfn_of(mem));

	ASSERT_EQ(1, write(to_child[1], &c, 1));
	ASSERT_EQ(8, read(from_child[0], &v, 8));
	EXPECT_EQ(0x5555aaaa, v);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(0, status);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
	munmap(mem, SLOT_SIZE);
}

/*
 * KVM 6.1 refuses a created or moved slot whose last gfn is above
 * kvm_mmu_max_gfn(), host MAXPHYADDR under NPT; so does vmm (whose NPT
 * reach, 48 or 57 bits, is never below MAXPHYADDR on AMD hosts).
 */
TEST(slot_beyond_maxphyaddr)
{
	struct vmm_vm *vm = vm_create_empty();
	void *mem = vmm_alloc_mem(SLOT_SIZE);
	unsigned int eax, ebx, ecx, edx;
	uint64_t top;

	ASSERT_TRUE(__get_cpuid(0x80000008, &eax, &ebx, &ecx, &edx));
	top = 1ULL << (eax & 0xff);
	TH_LOG("MAXPHYADDR %u", eax & 0xff);

	/* a slot crossing the limit is refused */
	errno = 0;
	ASSERT_EQ(-1, __vm_set_memslot(vm, 3, 0, top - PAGE_SIZE,
				       2 * PAGE_SIZE, mem));
	ASSERT_EQ(EINVAL, errno);
	/* the last page below the limit is fine */
	ASSERT_EQ(0, __vm_set_memslot(vm, 1, 0, top - PAGE_SIZE, PAGE_SIZE,
				      mem));
	/* one page above it is not, neither created nor moved there */
	errno = 0;
	ASSERT_EQ(-1, __vm_set_memslot(vm, 2, 0, top, PAGE_SIZE, mem));
	ASSERT_EQ(EINVAL, errno);
	errno = 0;
	ASSERT_EQ(-1, __vm_set_memslot(vm, 1, 0, top, PAGE_SIZE, mem));
	ASSERT_EQ(EINVAL, errno);
	/* and far beyond any NPT's reach */
	errno = 0;
	ASSERT_EQ(-1, __vm_set_memslot(vm, 2, 0, 1ULL << 60, PAGE_SIZE, mem));
	ASSERT_EQ(EINVAL, errno);
	/* the slot that was accepted is still there, unmoved */
	ASSERT_EQ(0, __vm_set_memslot(vm, 1, 0, top - PAGE_SIZE, PAGE_SIZE,
				      mem));
	vm_free(vm);
	munmap(mem, SLOT_SIZE);
}

TEST_HARNESS_MAIN
