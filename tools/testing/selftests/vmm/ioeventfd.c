// SPDX-License-Identifier: GPL-2.0
/*
 * ioeventfd: VMM_IOEVENTFD.  A guest OUT or MMIO store that matches an
 * ioeventfd signals its eventfd and does not exit to user space; one that
 * does not match (address, length, data) exits as before, and so do loads
 * and INs.  Length 0 matches stores of any length at the address.  Then
 * deassignment, the overlap rules (EEXIST), every errno of bad input, more
 * ioeventfds than KVM's 1000-device bus limit, and assignments changing
 * while the guest writes.  One subtest (overlapping) skips on KVM, which
 * can miss an ioeventfd that another one's range overlaps.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "vmm_util.h"

#define M		GUEST_MMIO_GPA
#define NR_EFDS		4

#define PIO		VMM_IOEVENTFD_FLAG_PIO
#define DM		VMM_IOEVENTFD_FLAG_DATAMATCH
#define DEASSIGN	VMM_IOEVENTFD_FLAG_DEASSIGN
#define CCW		VMM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY
/* kvm_ioeventfd_flag_nr_fast_mmio: valid, but without a name */
#define FAST_MMIO	(1U << 4)

enum { OP_OUT, OP_IN, OP_STORE, OP_LOAD };

/* What the guest does; the host also knows which eventfd it signals. */
struct step {
	uint32_t kind;
	uint32_t size;
	uint64_t addr;
	uint64_t val;
	int efd;		/* index of the eventfd signalled, or: */
};

#define EXITS		-1	/* the step exits to user space */
#define QUIET		-2	/* no exit, no eventfd of efd[] signalled */

#define OUT(size, port, val, efd)	{ OP_OUT, size, port, val, efd }
#define IN(size, port)			{ OP_IN, size, port, 0, EXITS }
#define ST(size, gpa, val, efd)		{ OP_STORE, size, gpa, val, efd }
#define LD(size, gpa)			{ OP_LOAD, size, gpa, 0, EXITS }

#define STEPS_GPA	GUEST_DATA_GPA

/* Guest: each step, then a SYNC with its number and what it read. */
static void guest_steps(const struct step *steps, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		uint64_t a = steps[i].addr, v = steps[i].val;
		uint32_t size = steps[i].size;

		switch (steps[i].kind) {
		case OP_OUT:
			if (size == 1)
				asm volatile("outb %b0, %w1" : : "a"(v), "d"(a));
			else if (size == 2)
				asm volatile("outw %w0, %w1" : : "a"(v), "d"(a));
			else
				asm volatile("outl %k0, %w1" : : "a"(v), "d"(a));
			break;
		case OP_IN:
			v = 0;
			if (size == 1)
				asm volatile("inb %w1, %b0" : "+a"(v) : "d"(a));
			else if (size == 2)
				asm volatile("inw %w1, %w0" : "+a"(v) : "d"(a));
			else
				asm volatile("inl %w1, %k0" : "+a"(v) : "d"(a));
			break;
		case OP_STORE:
			if (size == 1)
				asm volatile("movb %b0, (%1)"
					     : : "a"(v), "r"(a) : "memory");
			else if (size == 2)
				asm volatile("movw %w0, (%1)"
					     : : "a"(v), "r"(a) : "memory");
			else if (size == 4)
				asm volatile("movl %k0, (%1)"
					     : : "a"(v), "r"(a) : "memory");
			else
				asm volatile("movq %0, (%1)"
					     : : "a"(v), "r"(a) : "memory");
			break;
		case OP_LOAD:
			v = 0;
			if (size == 4)
				asm volatile("movl (%1), %k0"
					     : "+a"(v) : "r"(a) : "memory");
			else
				asm volatile("movq (%1), %0"
					     : "+a"(v) : "r"(a) : "memory");
			break;
		}
		GUEST_SYNC2(i, v);
	}
}

static int ioeventfd(struct vmm_vm *vm, uint64_t addr, uint32_t len, int fd,
		     uint32_t flags, uint64_t datamatch)
{
	struct vmm_ioeventfd args = {
		.datamatch = datamatch,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = flags,
	};

	return ioctl(vm->fd, VMM_IOEVENTFD, &args) ? errno : 0;
}

/* The eventfd's counter, which reading resets; 0 if it was not signalled. */
static uint64_t efd_read(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v)) {
		TEST_ASSERT(errno == EAGAIN, "read eventfd");
		return 0;
	}
	return v;
}

FIXTURE(ioev) {
	struct vmm_vm *vm;
	struct vmm_vcpu *vcpu;
	int efd[NR_EFDS];
};

FIXTURE_SETUP(ioev)
{
	int i;

	self->vm = vm_create_default(&self->vcpu, guest_steps);
	for (i = 0; i < NR_EFDS; i++) {
		self->efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		ASSERT_LE(0, self->efd[i]);
	}
}

FIXTURE_TEARDOWN(ioev)
{
	int i;

	/* The VM goes with ioeventfds still assigned. */
	vm_free(self->vm);
	for (i = 0; i < NR_EFDS; i++)
		if (self->efd[i] >= 0)
			close(self->efd[i]);
}

/* The exit of a step that is not handled in the kernel. */
static void check_exit(struct __test_metadata *_metadata,
		       struct vmm_vcpu *vcpu, const struct step *s)
{
	struct vmm_run *run = vcpu->run;
	char *io = (char *)run + run->io.data_offset;
	uint64_t v = 0;

	if (s->kind == OP_OUT || s->kind == OP_IN) {
		ASSERT_EXIT(vcpu, VMM_EXIT_IO);
		ASSERT_EQ(s->kind == OP_OUT ? VMM_EXIT_IO_OUT : VMM_EXIT_IO_IN,
			  run->io.direction);
		ASSERT_EQ(s->addr, run->io.port);
		ASSERT_EQ(s->size, run->io.size);
		ASSERT_EQ(1, run->io.count);
		if (s->kind == OP_OUT) {
			memcpy(&v, io, s->size);
			ASSERT_EQ(s->val & ((1UL << (8 * s->size)) - 1), v);
		} else {
			memset(io, 0x5a, s->size);
		}
		return;
	}
	ASSERT_EXIT(vcpu, VMM_EXIT_MMIO);
	ASSERT_EQ(s->addr, run->mmio.phys_addr);
	ASSERT_EQ(s->size, run->mmio.len);
	ASSERT_EQ(s->kind == OP_STORE, run->mmio.is_write);
	if (s->kind == OP_STORE) {
		memcpy(&v, run->mmio.data, s->size);
		ASSERT_EQ(s->size == 8 ? s->val :
			  s->val & ((1UL << (8 * s->size)) - 1), v);
	} else {
		memset(run->mmio.data, 0x5a, s->size);
	}
}

/*
 * Run the guest through @steps: a step that signals an eventfd must not
 * exit (the next exit is its SYNC) and must signal exactly that eventfd
 * once; any other step must exit with its access.
 */
static void __run_steps(struct __test_metadata *_metadata,
			struct vmm_vcpu *vcpu, const int *efd,
			const struct step *steps, unsigned int n)
{
	struct ucall uc;
	unsigned int i;
	int e;

	memcpy(vm_gpa2hva(vcpu->vm, STEPS_GPA), steps, n * sizeof(*steps));
	vcpu_set_entry(vcpu, guest_steps, STEPS_GPA, n);
	for (i = 0; i < n; i++) {
		const struct step *s = &steps[i];

		if (s->efd == EXITS) {
			vcpu_run(vcpu);
			check_exit(_metadata, vcpu, s);
		}
		ASSERT_EQ(UCALL_SYNC, vcpu_run_ucall(vcpu, &uc)) {
			TH_LOG("step %u", i);
		}
		ASSERT_EQ(i, uc.args[0]);
		for (e = 0; e < NR_EFDS; e++) {
			if (efd[e] < 0)
				continue;
			ASSERT_EQ(s->efd == e ? 1 : 0, efd_read(efd[e])) {
				TH_LOG("step %u, eventfd %d", i, e);
			}
		}
	}
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
}

#define run_steps(_metadata, self, steps, n) \
	__run_steps(_metadata, (self)->vcpu, (self)->efd, steps, n)

TEST(caps)
{
	static const long caps[] = {
		VMM_CAP_IOEVENTFD, VMM_CAP_IOEVENTFD_NO_LENGTH,
		VMM_CAP_IOEVENTFD_ANY_LENGTH,
	};
	struct vmm_vm *vm = vm_create_empty();
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(caps); i++) {
		EXPECT_EQ(1, vmm_check_extension(vm->sys_fd, caps[i]));
		EXPECT_EQ(1, vmm_check_extension(vm->fd, caps[i]));
	}
	vm_free(vm);
}

TEST_F(ioev, pio)
{
	const struct step steps[] = {
		OUT(1, 0x70, 0xaa, 0),
		OUT(2, 0x70, 0xaa, EXITS),		/* other length */
		OUT(1, 0x71, 0xaa, EXITS),		/* other port */
		OUT(2, 0x72, 0x1234, 1),
		OUT(2, 0x72, 0x4321, EXITS),	/* other data */
		OUT(1, 0x72, 0x34, EXITS),
		OUT(1, 0x73, 0x12, EXITS),		/* inside, not at the port */
		OUT(4, 0x74, 0xdeadbeef, 2),
		OUT(4, 0x74, 0, 2),
		OUT(1, 0x78, 1, 3),		/* length 0: any length */
		OUT(2, 0x78, 2, 3),
		OUT(4, 0x78, 3, 3),
		OUT(1, 0x79, 1, EXITS),		/* only at its port */
		IN(1, 0x70),			/* IN is never an event */
		IN(4, 0x78),
		OUT(1, 0x70, 0x55, 0),
	};

	ASSERT_EQ(0, ioeventfd(self->vm, 0x70, 1, self->efd[0], PIO, 0));
	ASSERT_EQ(0, ioeventfd(self->vm, 0x72, 2, self->efd[1], PIO | DM,
			       0x1234));
	ASSERT_EQ(0, ioeventfd(self->vm, 0x74, 4, self->efd[2], PIO, 0));
	ASSERT_EQ(0, ioeventfd(self->vm, 0x78, 0, self->efd[3], PIO, 0));
	run_steps(_metadata, self, steps, ARRAY_LEN(steps));
}

TEST_F(ioev, mmio)
{
	const struct step steps[] = {
		ST(4, M, 0x11223344, 0),
		ST(2, M, 0x1122, EXITS),		/* other length */
		ST(4, M + 4, 1, EXITS),
		ST(8, M + 8, 0x1122334455667788UL, 1),
		ST(8, M + 8, 0x1122334455667789UL, EXITS),
		ST(4, M + 8, 0x55667788, EXITS),
		ST(1, M + 0x10, 1, 2),		/* length 0: any length */
		ST(2, M + 0x10, 2, 2),
		ST(4, M + 0x10, 3, 2),
		ST(8, M + 0x10, 4, 2),
		ST(1, M + 0x11, 1, EXITS),
		ST(1, M + 0x18, 0x5a, 3),
		ST(1, M + 0x18, 0x5b, EXITS),
		LD(4, M),			/* loads are never events */
		LD(8, M + 0x10),
		ST(4, M, 0, 0),
	};

	ASSERT_EQ(0, ioeventfd(self->vm, M, 4, self->efd[0], 0, 0));
	ASSERT_EQ(0, ioeventfd(self->vm, M + 8, 8, self->efd[1], DM,
			       0x1122334455667788UL));
	ASSERT_EQ(0, ioeventfd(self->vm, M + 0x10, 0, self->efd[2], 0, 0));
	ASSERT_EQ(0, ioeventfd(self->vm, M + 0x18, 1, self->efd[3], DM, 0x5a));
	run_steps(_metadata, self, steps, ARRAY_LEN(steps));
}

/* A write to a read-only slot is MMIO: an ioeventfd there takes it. */
TEST_F(ioev, readonly_slot)
{
	const struct step steps[] = {
		ST(4, GUEST_TEST_GPA, 1, 0),
		ST(4, GUEST_TEST_GPA + 4, 0x12345678, EXITS),
		{ OP_LOAD, 4, GUEST_TEST_GPA, 0, QUIET },	/* RAM */
		ST(4, GUEST_TEST_GPA, 2, 0),
	};

	vm_add_memslot(self->vm, 5, VMM_MEM_READONLY, GUEST_TEST_GPA,
		       PAGE_SIZE);
	ASSERT_EQ(0, ioeventfd(self->vm, GUEST_TEST_GPA, 4, self->efd[0],
			       0, 0));
	run_steps(_metadata, self, steps, ARRAY_LEN(steps));
}

/* A PIO ioeventfd is not an MMIO one at the same address, and back. */
TEST_F(ioev, buses_apart)
{
	const struct step steps[] = {
		ST(4, M + 0x80, 7, EXITS),
		OUT(4, 0x80, 7, EXITS),
		OUT(4, 0x84, 7, 2),
		ST(4, M + 0x84, 7, 3),
	};

	/* KVM checks no port range: a PIO address may be any number */
	ASSERT_EQ(0, ioeventfd(self->vm, M + 0x80, 4, self->efd[0], PIO, 0));
	ASSERT_EQ(0, ioeventfd(self->vm, 0x80, 4, self->efd[1], 0, 0));
	ASSERT_EQ(0, ioeventfd(self->vm, 0x84, 4, self->efd[2], PIO, 0));
	ASSERT_EQ(0, ioeventfd(self->vm, M + 0x84, 4, self->efd[3], 0, 0));
	run_steps(_metadata, self, steps, ARRAY_LEN(steps));
}

/* Several ioeventfds at one address, told apart by data and length. */
TEST_F(ioev, several_per_address)
{
	const struct step steps[] = {
		OUT(4, 0x90, 1, 0),
		OUT(4, 0x90, 2, 1),
		OUT(4, 0x90, 3, EXITS),
		OUT(2, 0x90, 3, 2),
		ST(4, M, 1, 0),
		ST(4, M, 2, 1),
		ST(4, M, 3, EXITS),
		ST(2, M, 3, 2),
		ST(8, M, 3, EXITS),
	};

	ASSERT_EQ(0, ioeventfd(self->vm, 0x90, 4, self->efd[0], PIO | DM, 1));
	ASSERT_EQ(0, ioeventfd(self->vm, 0x90, 4, self->efd[1], PIO | DM, 2));
	ASSERT_EQ(0, ioeventfd(self->vm, 0x90, 2, self->efd[2], PIO, 0));
	ASSERT_EQ(0, ioeventfd(self->vm, M, 4, self->efd[0], DM, 1));
	ASSERT_EQ(0, ioeventfd(self->vm, M, 4, self->efd[1], DM, 2));
	ASSERT_EQ(0, ioeventfd(self->vm, M, 2, self->efd[2], 0, 0));
	run_steps(_metadata, self, steps, ARRAY_LEN(steps));
}

TEST_F(ioev, deassign)
{
	const struct step on[] = {
		OUT(2, 0xa0, 0x42, 0),
		ST(8, M, 0x42, 1),
		ST(4, M + 0x20, 9, 2),
	};
	const struct step off[] = {
		OUT(2, 0xa0, 0x42, EXITS),
		ST(8, M, 0x42, EXITS),
		ST(4, M + 0x20, 9, EXITS),
	};
	struct vm_ioev {
		uint64_t addr;
		uint32_t len;
		int efd;
		uint32_t flags;
		uint64_t dm;
	} mismatch[] = {
		{ 0xa0, 2, 1, PIO | DM, 0x42 },		/* other eventfd */
		{ 0xa0, 4, 0, PIO | DM, 0x42 },		/* other length */
		{ 0xa0, 2, 0, PIO, 0 },			/* no datamatch */
		{ 0xa0, 2, 0, PIO | DM, 0x43 },		/* other data */
		{ 0xa0, 2, 0, DM, 0x42 },		/* other bus */
		{ 0xa2, 2, 0, PIO | DM, 0x42 },		/* other address */
		{ M, 0, 1, 0, 0 },			/* other length */
		{ M + 0x20, 0, 2, 0, 0 },		/* length 0 vs 4 */
		{ M + 0x20, 4, 2, DM, 9 },		/* datamatch vs none */
		{ M + 0x20, 4, 2, PIO, 0 },
		{ M + 0x20, 4, 2, CCW, 0 },
	};
	unsigned int i;

	ASSERT_EQ(0, ioeventfd(self->vm, 0xa0, 2, self->efd[0], PIO | DM, 0x42));
	ASSERT_EQ(0, ioeventfd(self->vm, M, 8, self->efd[1], 0, 0));
	ASSERT_EQ(0, ioeventfd(self->vm, M + 0x20, 4, self->efd[2], 0, 0));
	run_steps(_metadata, self, on, ARRAY_LEN(on));

	for (i = 0; i < ARRAY_LEN(mismatch); i++) {
		ASSERT_EQ(ENOENT, ioeventfd(self->vm, mismatch[i].addr,
					    mismatch[i].len,
					    self->efd[mismatch[i].efd],
					    mismatch[i].flags | DEASSIGN,
					    mismatch[i].dm)) {
			TH_LOG("mismatch %u", i);
		}
	}
	run_steps(_metadata, self, on, ARRAY_LEN(on));

	ASSERT_EQ(0, ioeventfd(self->vm, 0xa0, 2, self->efd[0],
			       PIO | DM | DEASSIGN, 0x42));
	/* the datamatch value of a wildcard does not matter */
	ASSERT_EQ(0, ioeventfd(self->vm, M, 8, self->efd[1], DEASSIGN, 123));
	ASSERT_EQ(0, ioeventfd(self->vm, M + 0x20, 4, self->efd[2],
			       DEASSIGN, 0));
	ASSERT_EQ(ENOENT, ioeventfd(self->vm, M, 8, self->efd[1], DEASSIGN, 0));
	run_steps(_metadata, self, off, ARRAY_LEN(off));

	/* and back */
	ASSERT_EQ(0, ioeventfd(self->vm, 0xa0, 2, self->efd[0], PIO | DM, 0x42));
	ASSERT_EQ(0, ioeventfd(self->vm, M, 8, self->efd[1], 0, 0));
	ASSERT_EQ(0, ioeventfd(self->vm, M + 0x20, 4, self->efd[2], 0, 0));
	run_steps(_metadata, self, on, ARRAY_LEN(on));
}

TEST_F(ioev, bad_input)
{
	const struct step off[] = {
		OUT(4, 0xb0, 1, EXITS),
		ST(4, M, 1, EXITS),
		ST(8, M + 8, 1, EXITS),
	};
	static const uint32_t bad_len[] = { 3, 5, 6, 7, 9, 16, 0x80000000U };
	int efd = self->efd[0], pipefd[2], closed;
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(bad_len); i++) {
		EXPECT_EQ(EINVAL, ioeventfd(self->vm, M, bad_len[i], efd, 0, 0));
		EXPECT_EQ(EINVAL, ioeventfd(self->vm, 0xb0, bad_len[i], efd,
					    PIO, 0));
	}
	/* the length is checked before the eventfd */
	EXPECT_EQ(EINVAL, ioeventfd(self->vm, M, 3, -1, 0, 0));
	/* address + length wraps */
	EXPECT_EQ(EINVAL, ioeventfd(self->vm, ~0UL, 1, efd, 0, 0));
	EXPECT_EQ(EINVAL, ioeventfd(self->vm, ~0UL - 3, 8, efd, PIO, 0));
	/* unknown flags */
	EXPECT_EQ(EINVAL, ioeventfd(self->vm, M, 4, efd, 1U << 5, 0));
	EXPECT_EQ(EINVAL, ioeventfd(self->vm, M, 4, efd, 1U << 31, 0));
	EXPECT_EQ(EINVAL, ioeventfd(self->vm, M, 4, efd, PIO | (1U << 8), 0));
	/* length 0 takes no datamatch */
	EXPECT_EQ(EINVAL, ioeventfd(self->vm, M, 0, efd, DM, 0));
	EXPECT_EQ(EINVAL, ioeventfd(self->vm, 0xb0, 0, efd, PIO | DM, 0));
	/* not an fd, a closed fd (also to deassign), not an eventfd */
	EXPECT_EQ(EBADF, ioeventfd(self->vm, M, 4, -1, 0, 0));
	closed = dup(efd);
	ASSERT_LE(0, closed);
	ASSERT_EQ(0, close(closed));
	EXPECT_EQ(EBADF, ioeventfd(self->vm, M, 4, closed, 0, 0));
	EXPECT_EQ(EBADF, ioeventfd(self->vm, M, 3, closed, DEASSIGN, 0));
	ASSERT_EQ(0, pipe(pipefd));
	EXPECT_EQ(EINVAL, ioeventfd(self->vm, M, 4, pipefd[0], 0, 0));
	EXPECT_EQ(EINVAL, ioeventfd(self->vm, 0xb0, 4, self->vm->fd, PIO, 0));
	/* deassign checks only the eventfd, and finds nothing */
	EXPECT_EQ(EBADF, ioeventfd(self->vm, M, 4, -1, DEASSIGN, 0));
	EXPECT_EQ(EINVAL, ioeventfd(self->vm, M, 4, pipefd[1], DEASSIGN, 0));
	EXPECT_EQ(ENOENT, ioeventfd(self->vm, M, 4, efd, DEASSIGN, 0));
	EXPECT_EQ(ENOENT, ioeventfd(self->vm, M, 3, efd, DEASSIGN, 0));
	EXPECT_EQ(ENOENT, ioeventfd(self->vm, ~0UL, 8, efd, DEASSIGN, 0));
	EXPECT_EQ(ENOENT, ioeventfd(self->vm, M, 0, efd,
				    DEASSIGN | DM | (1U << 9), 0));
	/* the argument cannot be read */
	errno = 0;
	EXPECT_EQ(-1, ioctl(self->vm->fd, VMM_IOEVENTFD, NULL));
	EXPECT_EQ(EFAULT, errno);
	close(pipefd[0]);
	close(pipefd[1]);

	/* none of it took */
	run_steps(_metadata, self, off, ARRAY_LEN(off));
}

/* KVM's ioeventfd_check_collision(), whatever the eventfd. */
TEST_F(ioev, overlap)
{
	struct vmm_vm *vm = self->vm;
	int a = self->efd[0], b = self->efd[1];
	const struct step steps[] = {
		ST(4, M + 0x40, 1, EXITS),		/* virtio-ccw: never an event */
		ST(4, M + 0x48, 1, 2),		/* flag bit 4 is plain MMIO */
	};

	/* a wildcard of length 4 */
	ASSERT_EQ(0, ioeventfd(vm, M, 4, a, 0, 0));
	EXPECT_EQ(EEXIST, ioeventfd(vm, M, 4, a, 0, 0));
	EXPECT_EQ(EEXIST, ioeventfd(vm, M, 4, b, 0, 0));
	EXPECT_EQ(EEXIST, ioeventfd(vm, M, 4, b, DM, 5));
	EXPECT_EQ(EEXIST, ioeventfd(vm, M, 0, b, 0, 0));
	EXPECT_EQ(0, ioeventfd(vm, M, 2, b, 0, 0));	/* other length */
	EXPECT_EQ(0, ioeventfd(vm, M + 1, 4, b, 0, 0));	/* overlapping */
	EXPECT_EQ(0, ioeventfd(vm, M, 4, b, PIO, 0));	/* other bus */

	/* datamatch of length 8 */
	ASSERT_EQ(0, ioeventfd(vm, M + 8, 8, a, DM, 1));
	EXPECT_EQ(EEXIST, ioeventfd(vm, M + 8, 8, a, DM, 1));
	EXPECT_EQ(EEXIST, ioeventfd(vm, M + 8, 8, b, DM, 1));
	EXPECT_EQ(EEXIST, ioeventfd(vm, M + 8, 8, b, 0, 0));
	EXPECT_EQ(EEXIST, ioeventfd(vm, M + 8, 0, b, 0, 0));
	EXPECT_EQ(0, ioeventfd(vm, M + 8, 8, b, DM, 2));
	EXPECT_EQ(0, ioeventfd(vm, M + 8, 4, b, DM, 1));

	/* length 0 takes the address for every length */
	ASSERT_EQ(0, ioeventfd(vm, 0x10, 0, a, PIO, 0));
	EXPECT_EQ(EEXIST, ioeventfd(vm, 0x10, 0, b, PIO, 0));
	EXPECT_EQ(EEXIST, ioeventfd(vm, 0x10, 1, b, PIO, 0));
	EXPECT_EQ(EEXIST, ioeventfd(vm, 0x10, 4, b, PIO | DM, 3));
	EXPECT_EQ(0, ioeventfd(vm, 0x11, 1, b, PIO, 0));
	EXPECT_EQ(0, ioeventfd(vm, 0x10, 0, b, 0, 0));	/* MMIO */

	/*
	 * x86 KVM accepts the virtio-ccw flag (in the valid mask), on a bus
	 * of its own that nothing looks at, and the unnamed fast-MMIO bit.
	 */
	EXPECT_EQ(0, ioeventfd(vm, M + 0x40, 4, self->efd[2], CCW, 0));
	EXPECT_EQ(EEXIST, ioeventfd(vm, M + 0x40, 4, b, CCW, 0));
	EXPECT_EQ(0, ioeventfd(vm, M + 0x48, 4, self->efd[2], FAST_MMIO, 0));
	EXPECT_EQ(EEXIST, ioeventfd(vm, M + 0x48, 4, b, 0, 0));
	run_steps(_metadata, self, steps, ARRAY_LEN(steps));
	EXPECT_EQ(0, ioeventfd(vm, M + 0x40, 4, self->efd[2],
			       CCW | DEASSIGN, 0));
	EXPECT_EQ(0, ioeventfd(vm, M + 0x48, 4, self->efd[2], DEASSIGN, 0));
}

/*
 * Overlapping ioeventfds at different addresses.  KVM's bus search treats
 * a range that contains the access as a hit and stops at the first range
 * after it that does not: here it lands on B - 2 (len 8, contains B..B+3)
 * and never gets to B.  vmm tries every range that covers the access.
 */
TEST_F(ioev, overlapping)
{
	const uint64_t b = M + 0x100;
	const struct step steps[] = {
		ST(4, b, 1, 2),
		ST(8, b - 2, 1, 0),
		ST(1, b - 1, 1, 1),
		ST(2, b, 1, EXITS),
		ST(4, b + 2, 1, EXITS),
	};

	if (vmm_dev_is_kvm())
		SKIP(return, "KVM 6.1 misses the ioeventfd at B");

	ASSERT_EQ(0, ioeventfd(self->vm, b - 10, 1, self->efd[3], 0, 0));
	ASSERT_EQ(0, ioeventfd(self->vm, b - 9, 1, self->efd[3], 0, 0));
	ASSERT_EQ(0, ioeventfd(self->vm, b - 2, 8, self->efd[0], 0, 0));
	ASSERT_EQ(0, ioeventfd(self->vm, b - 1, 1, self->efd[1], 0, 0));
	ASSERT_EQ(0, ioeventfd(self->vm, b, 4, self->efd[2], 0, 0));
	run_steps(_metadata, self, steps, ARRAY_LEN(steps));
}

/* The ioeventfd holds its eventfd: closing it in user space changes nothing. */
TEST_F(ioev, eventfd_closed)
{
	const struct step steps[] = {
		OUT(1, 0xc0, 1, QUIET),
		ST(4, M, 1, QUIET),
	};
	int dup_fd;

	ASSERT_EQ(0, ioeventfd(self->vm, 0xc0, 1, self->efd[0], PIO, 0));
	ASSERT_EQ(0, ioeventfd(self->vm, M, 4, self->efd[0], 0, 0));
	dup_fd = dup(self->efd[0]);
	ASSERT_LE(0, dup_fd);
	ASSERT_EQ(0, close(self->efd[0]));
	self->efd[0] = -1;
	run_steps(_metadata, self, steps, ARRAY_LEN(steps));
	/* the file is still the same eventfd: it saw both */
	EXPECT_EQ(2, efd_read(dup_fd));
	close(dup_fd);
}

/* Beyond KVM's NR_IOBUS_DEVS: ioeventfds do not count against it. */
#define MANY	1100

TEST_F(ioev, many)
{
	struct step steps[] = {
		ST(4, M, 1, 0),
		ST(4, M + 4, 1, EXITS),
		ST(4, M + 8 * (MANY / 2), 1, 0),
		ST(4, M + 8 * (MANY - 1), 1, 0),
		ST(4, M + 8 * MANY, 1, EXITS),
		OUT(2, 0x100, 1, 1),
		OUT(2, 0x100 + 2 * (MANY - 1), 1, 1),
	};
	unsigned int i, n;

	/* in a scattered order, so that each one is inserted in the middle */
	for (i = 0; i < MANY; i++) {
		n = (i * 7919) % MANY;
		ASSERT_EQ(0, ioeventfd(self->vm, M + 8 * n, 4, self->efd[0],
				       0, 0)) {
			TH_LOG("ioeventfd %u", i);
		}
		ASSERT_EQ(0, ioeventfd(self->vm, 0x100 + 2 * n, 2, self->efd[1],
				       PIO, 0));
	}
	run_steps(_metadata, self, steps, ARRAY_LEN(steps));
	for (i = 0; i < MANY; i++) {
		ASSERT_EQ(0, ioeventfd(self->vm, M + 8 * i, 4, self->efd[0],
				       DEASSIGN, 0));
		if (i & 1)
			continue;
		ASSERT_EQ(0, ioeventfd(self->vm, 0x100 + 2 * i, 2,
				       self->efd[1], PIO | DEASSIGN, 0));
	}
	for (i = 0; i < ARRAY_LEN(steps); i++)
		steps[i].efd = EXITS;
	steps[6].efd = 1;	/* MANY - 1 is odd: still there */
	run_steps(_metadata, self, steps, ARRAY_LEN(steps));
}

/*
 * String I/O: as KVM's emulator, OUTS consults the bus element by element,
 * so only the elements no ioeventfd takes reach user space (however many
 * per exit); INS never signals.
 */
#define STR_PORT	0xe0
#define STR_GPA		(GUEST_DATA_GPA + 0x10000)
#define STR_LEN		48

#define GUEST_STRING_IO(name, insn, reg)				\
static void name(uint64_t buf, uint64_t count)				\
{									\
	asm volatile(insn : "+" reg(buf), "+c"(count)			\
		     : "d"(STR_PORT) : "memory");			\
	GUEST_SYNC2(buf, count);					\
}

GUEST_STRING_IO(guest_rep_outsb, "rep outsb", "S")
GUEST_STRING_IO(guest_rep_outsw, "rep outsw", "S")
GUEST_STRING_IO(guest_rep_insb, "rep insb", "D")

/*
 * Run a string instruction over @count elements of @size at STR_GPA; the
 * elements that exit go to (OUT) or come from (IN) @buf, in order.
 * Returns how many exits there were.
 */
static unsigned int run_string(struct __test_metadata *_metadata,
			       struct vmm_vcpu *vcpu, void *guest, bool in,
			       uint8_t size, uint32_t count, uint8_t *buf,
			       uint32_t *bytes)
{
	struct vmm_run *run = vcpu->run;
	unsigned int exits = 0;
	struct ucall uc;

	*bytes = 0;
	vcpu_set_entry(vcpu, guest, STR_GPA, count);
	for (;;) {
		uint32_t n;

		vcpu_run(vcpu);
		if (get_ucall(vcpu, &uc) == UCALL_SYNC)
			break;
		ASSERT_EXIT(vcpu, VMM_EXIT_IO);
		ASSERT_EQ(STR_PORT, run->io.port);
		ASSERT_EQ(size, run->io.size);
		ASSERT_EQ(in ? VMM_EXIT_IO_IN : VMM_EXIT_IO_OUT,
			  run->io.direction);
		n = run->io.count * size;
		ASSERT_GE(count * size - *bytes, n);
		if (in)
			memcpy((char *)run + run->io.data_offset, buf + *bytes,
			       n);
		else
			memcpy(buf + *bytes, (char *)run + run->io.data_offset,
			       n);
		*bytes += n;
		exits++;
	}
	/* RSI/RDI past the buffer, RCX 0 */
	EXPECT_EQ(STR_GPA + count * size, uc.args[0]);
	EXPECT_EQ(0, uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	return exits;
}

TEST_F(ioev, string_io)
{
	uint8_t *guest_buf = vm_gpa2hva(self->vm, STR_GPA);
	uint8_t out[STR_LEN], exp[STR_LEN], got[STR_LEN];
	uint32_t n = 0, bytes, i;

	/* REP OUTSB: every third byte matches the datamatch */
	for (i = 0; i < STR_LEN; i++) {
		guest_buf[i] = i % 3 == 1 ? 0x33 : i;
		if (i % 3 != 1)
			exp[n++] = i;
	}
	ASSERT_EQ(0, ioeventfd(self->vm, STR_PORT, 1, self->efd[0],
			       PIO | DM, 0x33));
	run_string(_metadata, self->vcpu, guest_rep_outsb, false, 1, STR_LEN,
		   got, &bytes);
	ASSERT_EQ(n, bytes);
	ASSERT_EQ(0, memcmp(exp, got, n));
	EXPECT_EQ(STR_LEN / 3, efd_read(self->efd[0]));

	/* REP OUTSW, all of it taken: no exit at all */
	ASSERT_EQ(0, ioeventfd(self->vm, STR_PORT, 2, self->efd[1], PIO, 0));
	EXPECT_EQ(0, run_string(_metadata, self->vcpu, guest_rep_outsw, false,
				2, STR_LEN / 2, got, &bytes));
	EXPECT_EQ(STR_LEN / 2, efd_read(self->efd[1]));

	/* REP INSB at the same port: exits, the data lands in guest memory */
	for (i = 0; i < STR_LEN; i++)
		out[i] = 0x80 + i;
	memset(guest_buf, 0, STR_LEN);
	run_string(_metadata, self->vcpu, guest_rep_insb, true, 1, STR_LEN,
		   out, &bytes);
	ASSERT_EQ(STR_LEN, bytes);
	ASSERT_EQ(0, memcmp(out, guest_buf, STR_LEN));
	EXPECT_EQ(0, efd_read(self->efd[0]));
	EXPECT_EQ(0, efd_read(self->efd[1]));
	EXPECT_EQ(0, efd_read(self->efd[2]));
}

/*
 * Assign and deassign while the guest writes: every write either signals
 * or exits, exactly once.
 */
#define RACE_PORT	0xd0
#define RACE_WRITES	3000

static void guest_race(void)
{
	int i;

	for (i = 0; i < RACE_WRITES; i++)
		asm volatile("outl %k0, %w1" : : "a"(i), "d"(RACE_PORT));
	GUEST_DONE();
}

struct race {
	struct vmm_vcpu *vcpu;
	unsigned int exits;
	bool bad_exit;
	bool done;		/* __atomic */
};

static void *race_vcpu(void *arg)
{
	struct race *r = arg;
	struct ucall uc;

	for (;;) {
		vcpu_run(r->vcpu);
		if (get_ucall(r->vcpu, &uc) == UCALL_DONE)
			break;
		if (r->vcpu->run->exit_reason != VMM_EXIT_IO ||
		    r->vcpu->run->io.port != RACE_PORT) {
			vcpu_describe_exit(r->vcpu);
			r->bad_exit = true;
			break;
		}
		r->exits++;
	}
	__atomic_store_n(&r->done, true, __ATOMIC_RELEASE);
	return NULL;
}

TEST_F(ioev, race)
{
	struct race r = { .vcpu = self->vcpu };
	unsigned int toggles = 0;
	pthread_t t;

	vcpu_set_entry(self->vcpu, guest_race, 0, 0);
	ASSERT_EQ(0, pthread_create(&t, NULL, race_vcpu, &r));
	while (!__atomic_load_n(&r.done, __ATOMIC_ACQUIRE)) {
		ASSERT_EQ(0, ioeventfd(self->vm, RACE_PORT, 4, self->efd[0],
				       PIO, 0));
		/* other devices come and go on the same bus */
		ASSERT_EQ(0, ioeventfd(self->vm, RACE_PORT + 4, 4,
				       self->efd[1], PIO, 0));
		usleep(100);
		ASSERT_EQ(0, ioeventfd(self->vm, RACE_PORT, 4, self->efd[0],
				       PIO | DEASSIGN, 0));
		ASSERT_EQ(0, ioeventfd(self->vm, RACE_PORT + 4, 4,
				       self->efd[1], PIO | DEASSIGN, 0));
		usleep(100);
		toggles++;
	}
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_FALSE(r.bad_exit);
	TH_LOG("%u exits, %u toggles", r.exits, toggles);
	EXPECT_EQ(RACE_WRITES, r.exits + efd_read(self->efd[0]));
	EXPECT_EQ(0, efd_read(self->efd[1]));
}

TEST_HARNESS_MAIN
