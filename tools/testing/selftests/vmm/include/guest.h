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

static inline void guest_spin_forever(void)
{
	for (;;)
		asm volatile("pause" : : : "memory");
}

#endif /* SELFTEST_VMM_GUEST_H */
