// SPDX-License-Identifier: GPL-2.0
/*
 * mmio: guest accesses to guest physical addresses no memslot covers exit
 * with VMM_EXIT_MMIO.  Stores report their data; loads take theirs from
 * run->mmio.data on the next VMM_RUN.  Covers MOV to and from registers
 * and of immediates in every size, MOVZX/MOVSX, REX registers and
 * base + index * scale + displacement and RIP-relative addressing.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "vmm_util.h"

#define M		GUEST_MMIO_GPA
#define MMIO_RIP_GPA	GUEST_MMIO_RIP_GPA

struct step {
	uint64_t gpa;
	uint32_t len;
	bool write;
	uint64_t data;	/* stored by the guest, or returned to it */
	uint64_t sync;	/* for loads: the register value the guest reports */
};

/* a store of @data; a load returning @data, after which RAX is @sync */
#define W(gpa, len, data)	{ gpa, len, true, data, 0 }
#define R(gpa, len, data, sync)	{ gpa, len, false, data, sync }

static void run_steps(struct __test_metadata *_metadata, void *guest,
		      const struct step *steps, unsigned int n)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest);
	struct vmm_run *run = vcpu->run;
	struct ucall uc;
	unsigned int i;

	for (i = 0; i < n; i++) {
		const struct step *s = &steps[i];

		vcpu_run(vcpu);
		if (run->exit_reason != VMM_EXIT_MMIO)
			TH_LOG("step %u", i);
		ASSERT_EXIT(vcpu, VMM_EXIT_MMIO);
		EXPECT_EQ(s->gpa, run->mmio.phys_addr);
		EXPECT_EQ(s->len, run->mmio.len);
		ASSERT_EQ(s->write, run->mmio.is_write) {
			TH_LOG("step %u", i);
		}
		if (s->write) {
			uint64_t v = 0;

			memcpy(&v, run->mmio.data, s->len);
			EXPECT_EQ(s->data, v) {
				TH_LOG("step %u", i);
			}
			continue;
		}
		memcpy(run->mmio.data, &s->data, s->len);
		ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
		EXPECT_EQ(s->sync, uc.args[0]) {
			TH_LOG("step %u", i);
		}
	}
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

static void guest_store_reg(void)
{
	asm volatile("movb %b0, (%1)" : : "a"(0x11), "r"(M) : "memory");
	asm volatile("movw %w0, 2(%1)" : : "a"(0x2233), "r"(M) : "memory");
	asm volatile("movl %k0, 4(%1)" : : "a"(0x44556677), "r"(M) : "memory");
	asm volatile("movq %0, 8(%1)" : : "a"(0x8899aabbccddeeffUL), "r"(M)
		     : "memory");
	asm volatile("movb %%ah, 1(%1)" : : "a"(0xab00), "r"(M) : "memory");
	asm volatile("movq %0, %%r12\n"
		     "movq %%r12, 16(%1)"
		     : : "r"(0x0123456789abcdefUL), "r"(M) : "r12", "memory");
	asm volatile("movb %0, %%r9b\n"
		     "movb %%r9b, 24(%1)"
		     : : "i"(0x7e), "r"(M) : "r9", "memory");
}

TEST(store_reg)
{
	static const struct step steps[] = {
		W(M, 1, 0x11),
		W(M + 2, 2, 0x2233),
		W(M + 4, 4, 0x44556677),
		W(M + 8, 8, 0x8899aabbccddeeffUL),
		W(M + 1, 1, 0xab),
		W(M + 16, 8, 0x0123456789abcdefUL),
		W(M + 24, 1, 0x7e),
	};

	run_steps(_metadata, guest_store_reg, steps, ARRAY_LEN(steps));
}

static void guest_store_imm(void)
{
	asm volatile("movb $0x5a, (%0)" : : "r"(M) : "memory");
	asm volatile("movw $0x1234, 2(%0)" : : "r"(M) : "memory");
	asm volatile("movl $0xdeadbeef, 4(%0)" : : "r"(M) : "memory");
	asm volatile("movq $-2, 8(%0)" : : "r"(M) : "memory");
	asm volatile("movq $0x7fffffff, 16(%0)" : : "r"(M) : "memory");
}

TEST(store_imm)
{
	static const struct step steps[] = {
		W(M, 1, 0x5a),
		W(M + 2, 2, 0x1234),
		W(M + 4, 4, 0xdeadbeef),
		W(M + 8, 8, 0xfffffffffffffffeUL),
		W(M + 16, 8, 0x7fffffff),
	};

	run_steps(_metadata, guest_store_imm, steps, ARRAY_LEN(steps));
}

/* load into RAX (preset to all ones); reg: operand size modifier */
#define LOAD(insn, off, reg) do {					\
	uint64_t __v = ~0UL;						\
									\
	asm volatile(insn " " #off "(%1), %" reg "0"			\
		     : "+a"(__v) : "r"(M) : "memory");			\
	GUEST_SYNC(__v);						\
} while (0)

static void guest_load(void)
{
	uint64_t v;

	asm volatile("movq $-1, %%rax\n"
		     "movb (%1), %%al"
		     : "=&a"(v) : "r"(M) : "memory");
	GUEST_SYNC(v);
	LOAD("movw", 2, "w");
	LOAD("movl", 4, "k");
	LOAD("movq", 8, "q");
	asm volatile("movq $-1, %%rax\n"
		     "movb 1(%1), %%ah"
		     : "=&a"(v) : "r"(M) : "memory");
	GUEST_SYNC(v);
	asm volatile("movq $-1, %%r10\n"
		     "movq 16(%1), %%r10\n"
		     "movq %%r10, %0"
		     : "=r"(v) : "r"(M) : "r10", "memory");
	GUEST_SYNC(v);
	asm volatile("movq $-1, %%r11\n"
		     "movl 24(%1), %%r11d\n"
		     "movq %%r11, %0"
		     : "=r"(v) : "r"(M) : "r11", "memory");
	GUEST_SYNC(v);
}

TEST(load)
{
	static const struct step steps[] = {
		R(M, 1, 0x9c, 0xffffffffffffff9cUL),
		R(M + 2, 2, 0xabcd, 0xffffffffffffabcdUL),
		R(M + 4, 4, 0x89abcdef, 0x0000000089abcdefUL),
		R(M + 8, 8, 0x0011223344556677UL, 0x0011223344556677UL),
		R(M + 1, 1, 0x42, 0xffffffffffff42ffUL),
		R(M + 16, 8, 0xfedcba9876543210UL, 0xfedcba9876543210UL),
		R(M + 24, 4, 0x80000001, 0x0000000080000001UL),
	};

	run_steps(_metadata, guest_load, steps, ARRAY_LEN(steps));
}

static void guest_load_extend(void)
{
	LOAD("movzbl", 0, "k");
	LOAD("movzwl", 0, "k");
	LOAD("movzbq", 0, "q");
	LOAD("movzwq", 0, "q");
	LOAD("movsbl", 0, "k");
	LOAD("movswl", 0, "k");
	LOAD("movsbq", 0, "q");
	LOAD("movswq", 0, "q");
	LOAD("movsbq", 0, "q");
	LOAD("movswq", 0, "q");
}

TEST(load_extend)
{
	static const struct step steps[] = {
		R(M, 1, 0x9c, 0x9c),
		R(M, 2, 0x9c8d, 0x9c8d),
		R(M, 1, 0x9c, 0x9c),
		R(M, 2, 0x9c8d, 0x9c8d),
		R(M, 1, 0x9c, 0x00000000ffffff9cUL),
		R(M, 2, 0x9c8d, 0x00000000ffff9c8dUL),
		R(M, 1, 0x9c, 0xffffffffffffff9cUL),
		R(M, 2, 0x9c8d, 0xffffffffffff9c8dUL),
		R(M, 1, 0x7c, 0x7c),
		R(M, 2, 0x7c8d, 0x7c8d),
	};

	run_steps(_metadata, guest_load_extend, steps, ARRAY_LEN(steps));
}

static void guest_addressing(void)
{
	uint64_t v;

	/* base + index * scale + displacement */
	asm volatile("movl %k0, 0x10(%1,%2,4)"
		     : : "a"(0xcafe0001), "b"(M - 0x100), "c"(0x40UL)
		     : "memory");
	asm volatile("movq 0x28(%1,%2,8), %0"
		     : "=a"(v) : "b"(M), "c"(1UL) : "memory");
	GUEST_SYNC(v);
	/* index only, no base */
	asm volatile("movw %w0, 0x30(,%1,2)"
		     : : "a"(0xbeef), "S"(M / 2) : "memory");
	/* RIP-relative */
	asm volatile("movl %k0, guest_mmio_rip(%%rip)" : : "a"(0x5eed0002)
		     : "memory");
	asm volatile("movl guest_mmio_rip(%%rip), %k0" : "=a"(v) : : "memory");
	GUEST_SYNC(v);
}

TEST(addressing)
{
	static const struct step steps[] = {
		W(M + 0x10, 4, 0xcafe0001),
		R(M + 0x30, 8, 0x1122334455667788UL, 0x1122334455667788UL),
		W(M + 0x30, 2, 0xbeef),
		W(MMIO_RIP_GPA, 4, 0x5eed0002),
		R(MMIO_RIP_GPA, 4, 0x5eed0004, 0x5eed0004),
	};

	run_steps(_metadata, guest_addressing, steps, ARRAY_LEN(steps));
}

/* Stores around a 2 MiB boundary and above 3 GiB. */
static void guest_far(void)
{
	asm volatile("movl %k0, (%1)" : : "a"(0xf00d0001),
		     "r"(M + SZ_2M - 4) : "memory");
	asm volatile("movl %k0, (%1)" : : "a"(0xf00d0002),
		     "r"(M + SZ_2M + 0x1000) : "memory");
	asm volatile("movl %k0, (%1)" : : "a"(0xf00d0003),
		     "r"(0xc0000000UL) : "memory");
}

TEST(other_addresses)
{
	static const struct step steps[] = {
		W(M + SZ_2M - 4, 4, 0xf00d0001),
		W(M + SZ_2M + 0x1000, 4, 0xf00d0002),
		W(0xc0000000UL, 4, 0xf00d0003),
	};

	run_steps(_metadata, guest_far, steps, ARRAY_LEN(steps));
}

TEST_HARNESS_MAIN
