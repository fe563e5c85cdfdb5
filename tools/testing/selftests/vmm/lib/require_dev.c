// SPDX-License-Identifier: GPL-2.0
/*
 * Linked into every test that needs the device: before the harness runs,
 * exit with KSFT_SKIP ("1..0 # SKIP ...") when the device named by VMM_DEV
 * (default /dev/vmm) cannot be opened read-write.
 */
#include "vmm_util.h"

static void __attribute__((constructor)) require_dev(void)
{
	vmm_require_dev();
}
