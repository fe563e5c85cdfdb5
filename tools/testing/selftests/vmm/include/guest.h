/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for guest code: plain 64-bit loads and stores the compiler cannot
 * merge, drop or reorder, and a spin loop.
 */
#ifndef SELFTEST_VMM_GUEST_H
#define SELFTEST_VMM_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint64_t guest_read64(uint64_t gpa)
{
	uint64_t v;

	asm volatile("movq (%1), %0" : "=r"(v) : "r"(gpa) : "memory");
	return v;
}

static inline void guest_write64(uint64_t gpa, uint64_t v)
{
	asm volatile("movq %0, (%1)" : : "r"(v), "r"(gpa) : "memory");
}

/* A symbol of guest code defined in a top-level asm() block. */
#define GUEST_LABEL(name)	extern const char name[]

/*
 * What guest_reg_spin() (lib/guest_asm.S) loads into registers, at the
 * offsets its assembly uses.
 */
struct guest_reg_pattern {
	uint64_t gpr[12];	/* rbx rdx rsi rdi r8-r15 */
	uint64_t pad[4];
	uint64_t xmm[32];	/* xmm0-15, two quadwords each */
};

_Static_assert(offsetof(struct guest_reg_pattern, xmm) == 0x80,
	       "guest_reg_spin() offsets");

/*
 * Load @p into rbx, rdx, rsi, rdi, r8-r15 and, with @xmm, xmm0-15; count
 * @iters down (exits and host interrupts hit the guest meanwhile); return
 * 0 if every register still holds its pattern.
 */
uint64_t guest_reg_spin(const struct guest_reg_pattern *p, uint64_t iters,
			bool xmm);

/*
 * Mode switches for guest code in top-level asm() blocks, with the default
 * GDT (GUEST_SEL_CODE64 0x08, GUEST_SEL_CODE32 0x18).  They use the local
 * labels 1 and 2 and clobber EAX.
 *
 * GUEST_ASM_LONG_TO_COMPAT: from 64-bit code, far return to the next
 * instruction in the 32-bit code segment (compatibility mode).
 * GUEST_ASM_PAGING_OFF: 32-bit code clears CR0.PG; in compatibility mode
 * that deactivates long mode (EFER.LMA clears).
 * GUEST_ASM_PAGING_ON_TO_LONG: 32-bit code sets CR0.PG, which with
 * EFER.LME and CR4.PAE activates long mode, and far-jumps to the next
 * instruction in the 64-bit code segment.
 */
#define GUEST_ASM_LONG_TO_COMPAT					\
	"push $0x18\n\t"						\
	"lea 1f(%rip), %rax\n\t"					\
	"push %rax\n\t"							\
	"lretq\n"							\
	".code32\n"							\
	"1:\n\t"

#define GUEST_ASM_PAGING_OFF						\
	"mov %cr0, %eax\n\t"						\
	"and $0x7fffffff, %eax\n\t"					\
	"mov %eax, %cr0\n\t"

#define GUEST_ASM_PAGING_ON_TO_LONG					\
	"mov %cr0, %eax\n\t"						\
	"or $0x80000000, %eax\n\t"					\
	"mov %eax, %cr0\n\t"						\
	"ljmp $0x08, $2f\n"						\
	".code64\n"							\
	"2:\n\t"

static inline void guest_spin_forever(void)
{
	for (;;)
		asm volatile("pause" : : : "memory");
}

#endif /* SELFTEST_VMM_GUEST_H */
