/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Real-mode and 32-bit guest code snippets, lib/snippets.S.
 */
#ifndef SELFTEST_VMM_SNIPPETS_H
#define SELFTEST_VMM_SNIPPETS_H

#define DECLARE_SNIPPET(name) \
	extern const char name##_start[], name##_end[]

DECLARE_SNIPPET(rm_out);	/* real mode: out 0x1234 to port 0x10; hlt */
DECLARE_SNIPPET(rm_triple);	/* real mode: lidt limit 0; int3 */
DECLARE_SNIPPET(pm_out);	/* 32-bit: 0xdeadbeef to [0x9000], port 0x11 */
DECLARE_SNIPPET(pm_touch);	/* 32-bit: write every page of 0..2 MiB */

#define snippet_size(name)	((size_t)(name##_end - name##_start))
#define vm_load_snippet(vm, gpa, name) \
	vm_load_code(vm, gpa, name##_start, name##_end)

#endif /* SELFTEST_VMM_SNIPPETS_H */
