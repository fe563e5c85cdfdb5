// SPDX-License-Identifier: GPL-2.0
/*
 * memslot: VMM_SET_USER_MEMORY_REGION with the semantics of KVM 6.1's
 * __kvm_set_memory_region(), and what a guest sees of slots that are added,
 * deleted, moved or read-only.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "vmm_util.h"

#define SLOT_SIZE	SZ_2M
#define GPA_A		GUEST_TEST_GPA
#define GPA_B		(GUEST_TEST_GPA + 0x1000000UL)

FIXTURE(slots) {
	struct vmm_vm *vm;
	char *mem;	/* 2 * SLOT_SIZE of host memory, not tracked by vm */
};

FIXTURE_SETUP(slots)
{
	self->vm = vm_create_empty();
	self->mem = vmm_alloc_mem(2 * SLOT_SIZE);
}

FIXTURE_TEARDOWN(slots)
{
	vm_free(self->vm);
	munmap(self->mem, 2 * SLOT_SIZE);
}

static int set_slot(struct vmm_vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size, void *hva)
{
	errno = 0;
	return __vm_set_memslot(vm, slot, flags, gpa, size, hva);
}

#define ASSERT_SLOT_ERR(err, vm, slot, flags, gpa, size, hva) do {	\
	ASSERT_EQ(-1, set_slot(vm, slot, flags, gpa, size, hva));	\
	ASSERT_EQ(err, errno);						\
} while (0)

#define ASSERT_SLOT_OK(vm, slot, flags, gpa, size, hva)			\
	ASSERT_EQ(0, set_slot(vm, slot, flags, gpa, size, hva))

TEST_F(slots, create_delete)
{
	ASSERT_SLOT_OK(self->vm, 1, 0, GPA_A, SLOT_SIZE, self->mem);
	/* re-setting identical parameters is a no-op */
	ASSERT_SLOT_OK(self->vm, 1, 0, GPA_A, SLOT_SIZE, self->mem);
	/* delete: size 0, the other fields do not matter */
	ASSERT_SLOT_OK(self->vm, 1, 0, 0, 0, NULL);
	/* deleting it again fails, the slot no longer exists */
	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, 0, 0, 0, NULL);
	/* re-create after delete, at another address */
	ASSERT_SLOT_OK(self->vm, 1, 0, GPA_B, SLOT_SIZE, self->mem);
}

TEST_F(slots, delete_nonexistent)
{
	ASSERT_SLOT_ERR(EINVAL, self->vm, 5, 0, 0, 0, NULL);
	ASSERT_SLOT_ERR(EINVAL, self->vm, 5, 0, GPA_A, 0, self->mem);
}

TEST_F(slots, modify_existing)
{
	char *mem = self->mem;

	ASSERT_SLOT_OK(self->vm, 1, 0, GPA_A, SLOT_SIZE, mem);
	/* size and userspace_addr of an existing slot cannot change */
	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, 0, GPA_A, SLOT_SIZE / 2, mem);
	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, 0, GPA_A, SLOT_SIZE,
			mem + PAGE_SIZE);
	/* neither can READONLY, in either direction */
	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, VMM_MEM_READONLY, GPA_A,
			SLOT_SIZE, mem);
	ASSERT_SLOT_OK(self->vm, 2, VMM_MEM_READONLY, GPA_B, PAGE_SIZE,
		       mem + SLOT_SIZE);
	ASSERT_SLOT_ERR(EINVAL, self->vm, 2, 0, GPA_B, PAGE_SIZE,
			mem + SLOT_SIZE);
	/* the guest address can: that is a move */
	ASSERT_SLOT_OK(self->vm, 1, 0, GPA_A + SZ_2M * 4, SLOT_SIZE, mem);
	ASSERT_SLOT_OK(self->vm, 1, 0, GPA_A, SLOT_SIZE, mem);
}

TEST_F(slots, misaligned)
{
	char *mem = self->mem;

	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, 0, GPA_A + 0x800, SLOT_SIZE, mem);
	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, 0, GPA_A + 1, SLOT_SIZE, mem);
	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, 0, GPA_A, SLOT_SIZE + 0x800, mem);
	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, 0, GPA_A, 0x10, mem);
	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, 0, GPA_A, SLOT_SIZE, mem + 0x800);
	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, 0, GPA_A, SLOT_SIZE, mem + 8);
	/* nothing was created: deleting slot 1 fails */
	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, 0, 0, 0, NULL);
}

TEST_F(slots, bad_flags)
{
	uint32_t bad[] = { 1u << 2, 1u << 3, 1u << 16, 1u << 31, ~0u };
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(bad); i++)
		ASSERT_SLOT_ERR(EINVAL, self->vm, 1, bad[i], GPA_A, SLOT_SIZE,
				self->mem);
	/* flags are checked on delete too */
	ASSERT_SLOT_OK(self->vm, 1, 0, GPA_A, SLOT_SIZE, self->mem);
	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, 1u << 2, 0, 0, NULL);
	ASSERT_SLOT_OK(self->vm, 1, 0, 0, 0, NULL);
}

TEST_F(slots, slot_ids)
{
	long nr = vmm_check_extension(self->vm->sys_fd, VMM_CAP_NR_MEMSLOTS);

	TH_LOG("NR_MEMSLOTS %ld", nr);
	ASSERT_LE(1, nr);
	ASSERT_SLOT_OK(self->vm, nr - 1, 0, GPA_A, PAGE_SIZE, self->mem);
	ASSERT_SLOT_ERR(EINVAL, self->vm, nr, 0, GPA_B, PAGE_SIZE, self->mem);
	ASSERT_SLOT_ERR(EINVAL, self->vm, 0xffff, 0, GPA_B, PAGE_SIZE,
			self->mem);
	/* address space 2 does not exist on x86 (0 normal, 1 SMM in KVM) */
	ASSERT_SLOT_ERR(EINVAL, self->vm, 2u << 16, 0, GPA_B, PAGE_SIZE,
			self->mem);
	ASSERT_SLOT_ERR(EINVAL, self->vm, 0xffffu << 16, 0, GPA_B, PAGE_SIZE,
			self->mem);
}

TEST_F(slots, overlap)
{
	char *mem = self->mem;

	ASSERT_SLOT_OK(self->vm, 1, 0, GPA_A, SZ_2M, mem);
	ASSERT_SLOT_ERR(EEXIST, self->vm, 2, 0, GPA_A, SZ_2M, mem + SZ_2M);
	ASSERT_SLOT_ERR(EEXIST, self->vm, 2, 0, GPA_A + SZ_2M / 2, SZ_2M,
			mem + SZ_2M);
	ASSERT_SLOT_ERR(EEXIST, self->vm, 2, 0, GPA_A - SZ_2M / 2, SZ_2M,
			mem + SZ_2M);
	ASSERT_SLOT_ERR(EEXIST, self->vm, 2, 0, GPA_A + SZ_2M - PAGE_SIZE,
			PAGE_SIZE, mem + SZ_2M);
	ASSERT_SLOT_ERR(EEXIST, self->vm, 2, 0, GPA_A - SZ_2M, 2 * SZ_2M,
			mem);
	/* adjacent slots are fine, on either side */
	ASSERT_SLOT_OK(self->vm, 2, 0, GPA_A + SZ_2M, PAGE_SIZE, mem + SZ_2M);
	ASSERT_SLOT_OK(self->vm, 3, 0, GPA_A - PAGE_SIZE, PAGE_SIZE,
		       mem + SZ_2M + PAGE_SIZE);
	/* moving a slot onto another one fails and leaves it in place */
	ASSERT_SLOT_ERR(EEXIST, self->vm, 2, 0, GPA_A + PAGE_SIZE, PAGE_SIZE,
			mem + SZ_2M);
	ASSERT_SLOT_ERR(EEXIST, self->vm, 3, 0, GPA_A + SZ_2M, PAGE_SIZE,
			mem + SZ_2M + PAGE_SIZE);
	/* the same host memory may back two slots */
	ASSERT_SLOT_OK(self->vm, 4, 0, GPA_B, SZ_2M, mem);
}

TEST_F(slots, bad_addresses)
{
	/* userspace_addr outside of the user address space */
	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, 0, GPA_A, PAGE_SIZE,
			(void *)0xffff800000000000UL);
	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, 0, GPA_A, PAGE_SIZE,
			(void *)0xfffffffffffff000UL);
	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, 0, GPA_A, 2 * PAGE_SIZE,
			(void *)0x7fffffffe000UL);
	/* guest_phys_addr + memory_size wraps */
	ASSERT_SLOT_ERR(EINVAL, self->vm, 1, 0, 0xfffffffffffff000UL,
			2 * PAGE_SIZE, self->mem);
}

/* Memory is looked up when the guest uses it, not when the slot is set. */
TEST_F(slots, unmapped_uaddr_accepted)
{
	char *hole = vmm_alloc_mem(SZ_2M);

	ASSERT_EQ(0, munmap(hole, SZ_2M));
	ASSERT_SLOT_OK(self->vm, 1, 0, GPA_A, SZ_2M, hole);
	ASSERT_SLOT_OK(self->vm, 1, 0, 0, 0, NULL);
}

TEST_F(slots, many_slots)
{
	long nr = vmm_check_extension(self->vm->sys_fd, VMM_CAP_NR_MEMSLOTS);
	long i, n = nr < 256 ? nr : 256;
	char *mem = vmm_alloc_mem(n * PAGE_SIZE);

	for (i = 0; i < n; i++)
		ASSERT_SLOT_OK(self->vm, i, 0, GPA_A + i * 2 * PAGE_SIZE,
			       PAGE_SIZE, mem + i * PAGE_SIZE);
	for (i = 0; i < n; i++)
		ASSERT_SLOT_OK(self->vm, i, 0, 0, 0, NULL);
	munmap(mem, n * PAGE_SIZE);
}

/* ------------------------------------------------------------------ */
/* What the guest sees                                                */
/* ------------------------------------------------------------------ */

static void guest_two_slots(uint64_t a, uint64_t b)
{
	guest_write64(a, 0xaaaa0000aaaa0000UL);
	guest_write64(b + SZ_2M - 8, 0xbbbb0000bbbb0000UL);
	GUEST_SYNC2(guest_read64(a + 8), guest_read64(b + 8));
}

/* each read is reported */
static void guest_reads(uint64_t a, uint64_t b)
{
	for (;;) {
		GUEST_SYNC(guest_read64(a));
		GUEST_SYNC(guest_read64(b));
	}
}

static void guest_readonly(uint64_t a)
{
	GUEST_SYNC(guest_read64(a));
	guest_write64(a, 0x1234);
	GUEST_SYNC(guest_read64(a));
}

static void complete_mmio_read(struct __test_metadata *_metadata,
			       struct vmm_vcpu *vcpu, uint64_t gpa,
			       uint64_t val)
{
	ASSERT_EXIT(vcpu, VMM_EXIT_MMIO);
	ASSERT_EQ(gpa, vcpu->run->mmio.phys_addr);
	ASSERT_EQ(8, vcpu->run->mmio.len);
	ASSERT_EQ(0, vcpu->run->mmio.is_write);
	memcpy(vcpu->run->mmio.data, &val, 8);
}

TEST(guest_sees_two_slots)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_two_slots);
	uint64_t *a = vm_add_memslot(vm, 1, 0, GPA_A, SZ_2M);
	uint64_t *b = vm_add_memslot(vm, 2, 0, GPA_B, SZ_2M);
	struct ucall uc;

	vcpu_set_entry(vcpu, guest_two_slots, GPA_A, GPA_B);
	a[1] = 0x1111;
	b[1] = 0x2222;
	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	ASSERT_EQ(0x1111, uc.args[0]);
	ASSERT_EQ(0x2222, uc.args[1]);
	ASSERT_EQ(0xaaaa0000aaaa0000UL, a[0]);
	ASSERT_EQ(0xbbbb0000bbbb0000UL, b[SZ_2M / 8 - 1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

TEST(guest_slot_deleted)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_reads);
	uint64_t *a = vm_add_memslot(vm, 1, 0, GPA_A, SZ_2M);
	uint64_t *b = vm_add_memslot(vm, 2, 0, GPA_B, SZ_2M);
	struct ucall uc;

	vcpu_set_entry(vcpu, guest_reads, GPA_A, GPA_B);
	a[0] = 0x1111;
	b[0] = 0x2222;
	ASSERT_SYNC(vcpu, &uc, 0x1111);
	ASSERT_SYNC(vcpu, &uc, 0x2222);

	/* removed memory reads as MMIO */
	vm_set_memslot(vm, 1, 0, 0, 0, NULL);
	vcpu_run(vcpu);
	complete_mmio_read(_metadata, vcpu, GPA_A, 0x3333);
	ASSERT_SYNC(vcpu, &uc, 0x3333);
	ASSERT_SYNC(vcpu, &uc, 0x2222);

	/* and comes back when the slot is re-created */
	vm_set_memslot(vm, 1, 0, GPA_A, SZ_2M, a);
	ASSERT_SYNC(vcpu, &uc, 0x1111);
	vm_free(vm);
}

TEST(guest_slot_moved)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_reads);
	uint64_t *a = vm_add_memslot(vm, 1, 0, GPA_A, SZ_2M);
	struct ucall uc;

	vcpu_set_entry(vcpu, guest_reads, GPA_A, GPA_B);
	a[0] = 0x1111;
	ASSERT_SYNC(vcpu, &uc, 0x1111);
	vcpu_run(vcpu);
	complete_mmio_read(_metadata, vcpu, GPA_B, 0x4444);
	ASSERT_SYNC(vcpu, &uc, 0x4444);

	/* move slot 1 from A to B */
	vm_set_memslot(vm, 1, 0, GPA_B, SZ_2M, a);
	vcpu_run(vcpu);
	complete_mmio_read(_metadata, vcpu, GPA_A, 0x5555);
	ASSERT_SYNC(vcpu, &uc, 0x5555);
	ASSERT_SYNC(vcpu, &uc, 0x1111);
	vm_free(vm);
}

TEST(guest_readonly_slot)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_readonly);
	uint64_t *a = vm_add_memslot(vm, 1, VMM_MEM_READONLY, GPA_A, SZ_2M);
	uint64_t v = 0x1234;
	struct ucall uc;

	vcpu_set_entry(vcpu, guest_readonly, GPA_A + 0x100, 0);
	a[0x100 / 8] = 0x7777;
	ASSERT_SYNC(vcpu, &uc, 0x7777);
	/* the write exits as an MMIO write, memory is unchanged */
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_MMIO);
	ASSERT_EQ(GPA_A + 0x100, vcpu->run->mmio.phys_addr);
	ASSERT_EQ(8, vcpu->run->mmio.len);
	ASSERT_EQ(1, vcpu->run->mmio.is_write);
	ASSERT_EQ(0, memcmp(&v, vcpu->run->mmio.data, 8));
	ASSERT_EQ(0x7777, a[0x100 / 8]);
	ASSERT_SYNC(vcpu, &uc, 0x7777);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

TEST_HARNESS_MAIN
