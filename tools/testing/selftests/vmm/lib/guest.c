// SPDX-License-Identifier: GPL-2.0
/*
 * Guest side of the ucall channel (see include/ucall.h).  Runs inside the
 * guest: no libc, general-purpose registers only (see the Makefile).
 */
#include "ucall.h"

void guest_outl(uint16_t port, uint32_t val)
{
	asm volatile("outl %0, %1" : : "a"(val), "Nd"(port) : "memory");
}

void guest_halt_forever(void)
{
	for (;;)
		asm volatile("hlt");
}

static void ucall_send(struct ucall *uc)
{
	guest_outl(UCALL_PORT, (uint32_t)(uintptr_t)uc);
}

void guest_ucall(uint64_t cmd, uint64_t a0, uint64_t a1, uint64_t a2,
		 uint64_t a3)
{
	struct ucall uc;

	uc.cmd = cmd;
	uc.args[0] = a0;
	uc.args[1] = a1;
	uc.args[2] = a2;
	uc.args[3] = a3;
	uc.line = 0;
	uc.file = 0;
	uc.expr = 0;
	ucall_send(&uc);
}

void guest_abort(const char *file, uint64_t line, const char *expr,
		 uint64_t a0, uint64_t a1)
{
	struct ucall uc;

	uc.cmd = UCALL_ABORT;
	uc.args[0] = a0;
	uc.args[1] = a1;
	uc.args[2] = 0;
	uc.args[3] = 0;
	uc.line = line;
	uc.file = (uintptr_t)file;
	uc.expr = (uintptr_t)expr;
	ucall_send(&uc);
	guest_halt_forever();
}

/* called by guest_exit_stub (lib/guest_asm.S) */
_Noreturn void guest_finish(void);

void guest_finish(void)
{
	GUEST_DONE();
	guest_halt_forever();
}
