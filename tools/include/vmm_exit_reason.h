/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Names of the VMM_EXIT_* reasons, for the diagnostics of the user space
 * tools (tools/vmm-run, the selftests' library).
 */
#ifndef TOOLS_VMM_EXIT_REASON_H
#define TOOLS_VMM_EXIT_REASON_H

#include <stdint.h>
#include <linux/vmm.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* The name of @reason, or NULL for a reason without one. */
static inline const char *vmm_exit_reason_name(uint32_t reason)
{
	static const char * const names[] = {
		[VMM_EXIT_UNKNOWN] = "UNKNOWN",
		[VMM_EXIT_EXCEPTION] = "EXCEPTION",
		[VMM_EXIT_IO] = "IO",
		[VMM_EXIT_HYPERCALL] = "HYPERCALL",
		[VMM_EXIT_DEBUG] = "DEBUG",
		[VMM_EXIT_HLT] = "HLT",
		[VMM_EXIT_MMIO] = "MMIO",
		[VMM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN",
		[VMM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[VMM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[VMM_EXIT_INTR] = "INTR",
		[VMM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[VMM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT",
	};

	return reason < ARRAY_SIZE(names) ? names[reason] : NULL;
}

#endif /* TOOLS_VMM_EXIT_REASON_H */
