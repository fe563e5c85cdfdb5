/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ucall: how guest code talks to the test on the host.
 *
 * The guest fills a struct ucall (on its stack) and writes the 32-bit guest
 * physical address of it to I/O port UCALL_PORT with a 4-byte OUT.  The host
 * sees a VMM_EXIT_IO exit (direction out, size 4, count 1, port UCALL_PORT),
 * reads the address from the run page at io.data_offset, translates it
 * through its memslots and copies the structure out.  Guest memory is
 * identity mapped (GVA == GPA) and every guest address used lies below 4 GiB.
 */
#ifndef SELFTEST_VMM_UCALL_H
#define SELFTEST_VMM_UCALL_H

#include <stdint.h>


#define UCALL_PORT	0x1000

enum {
	UCALL_NONE,	/* the exit was not a ucall */
	UCALL_SYNC,	/* a checkpoint, args[] carry values */
	UCALL_DONE,	/* the guest finished */
	UCALL_ABORT,	/* GUEST_ASSERT*() failed: file, line, expr, args */
};

struct ucall {
	uint64_t cmd;
	uint64_t args[4];
	uint64_t line;
	uint64_t file;	/* guest address of a NUL-terminated string */
	uint64_t expr;	/* guest address of a NUL-terminated string */
};

/* Guest side, lib/guest.c. */
void guest_ucall(uint64_t cmd, uint64_t a0, uint64_t a1, uint64_t a2,
		 uint64_t a3);
_Noreturn void guest_abort(const char *file, uint64_t line, const char *expr,
			   uint64_t a0, uint64_t a1);
void guest_outl(uint16_t port, uint32_t val);
_Noreturn void guest_halt_forever(void);

#define GUEST_SYNC(a)		guest_ucall(UCALL_SYNC, (a), 0, 0, 0)
#define GUEST_SYNC2(a, b)	guest_ucall(UCALL_SYNC, (a), (b), 0, 0)
#define GUEST_DONE()		guest_ucall(UCALL_DONE, 0, 0, 0, 0)

#define GUEST_ASSERT(cond) do {						\
	if (!(cond))							\
		guest_abort(__FILE__, __LINE__, #cond, 0, 0);		\
} while (0)

#define GUEST_ASSERT_EQ(a, b) do {					\
	uint64_t __ga = (uint64_t)(a), __gb = (uint64_t)(b);		\
									\
	if (__ga != __gb)						\
		guest_abort(__FILE__, __LINE__, #a " == " #b, __ga, __gb); \
} while (0)

#endif /* SELFTEST_VMM_UCALL_H */
