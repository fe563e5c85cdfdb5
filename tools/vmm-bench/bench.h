/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Constants shared by the vmm-bench host program and its guest code.
 * Included from assembly too: everything but the preprocessor definitions
 * is hidden from the assembler.
 */
#ifndef VMM_BENCH_H
#define VMM_BENCH_H

/* I/O ports the guest writes to (one byte, OUT) */
#define BENCH_PORT_LOOP		0xe0	/* one exit per loop iteration */
#define BENCH_PORT_SYNC		0xe1	/* guest is about to start the timed part */
#define BENCH_PORT_DONE		0xe2	/* guest finished the timed part */

/* A hypercall number that KVM does not know: it returns -KVM_ENOSYS */
#define BENCH_HC_UNKNOWN	0x7ffe

/*
 * vmm's test-only floor hypercall (module parameter bench_floor): "vmmfloor"
 * in rax, resumed right after the #VMEXIT (Documentation/api.rst)
 */
#define BENCH_HC_FLOOR		0x766d6d666c6f6f72

/* Guest physical layout (slot 0 covers [0, BENCH_SLOT0_SIZE)) */
#define BENCH_SLOT0_SIZE	0x200000
#define BENCH_PML4		0x1000
#define BENCH_PDPT		0x2000
#define BENCH_PD		0x3000
#define BENCH_GDT		0x4000
#define BENCH_CODE		0x8000
#define BENCH_STACK_TOP		0x100000

/* The fresh memory slot touched by the nested-page-fault benchmark */
#define BENCH_NPF_SLOT		1
#define BENCH_NPF_GPA		0x10000000

#define BENCH_PAGE_SIZE		4096

#ifndef __ASSEMBLER__
/* guest code snippets, in guest.S: [name, name_end) */
extern const unsigned char guest_io[], guest_io_end[];
extern const unsigned char guest_cpuid[], guest_cpuid_end[];
extern const unsigned char guest_vmmcall[], guest_vmmcall_end[];
extern const unsigned char guest_floor[], guest_floor_end[];
extern const unsigned char guest_touch[], guest_touch_end[];
#endif

#endif /* VMM_BENCH_H */
