/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for guest code: plain 64-bit loads and stores the compiler cannot
 * merge, drop or reorder, and a spin loop.
 */
#ifndef SELFTEST_VMM_GUEST_H
#define SELFTEST_VMM_GUEST_H

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

static inline void guest_spin_forever(void)
{
	for (;;)
		asm volatile("pause" : : : "memory");
}

#endif /* SELFTEST_VMM_GUEST_H */
