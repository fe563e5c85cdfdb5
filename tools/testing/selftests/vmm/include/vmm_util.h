/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the vmm selftests: device, VM, vCPU and memslot setup, guest
 * page tables and descriptor tables, and guest entry in real, 32-bit
 * protected or 64-bit long mode.
 *
 * The device is the one named by the VMM_DEV environment variable,
 * /dev/vmm by default; every test that is KVM-compatible also runs against
 * /dev/kvm.
 *
 * Guest physical memory of a default VM (vm_create_default()) is identity
 * mapped (GVA == GPA) and laid out as below.  The test binary is a static
 * non-PIE executable linked at 0x400000; its PT_LOAD segments are copied to
 * the same addresses in the guest, so a guest function's address can be used
 * as RIP directly.
 */
#ifndef SELFTEST_VMM_UTIL_H
#define SELFTEST_VMM_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/vmm.h>

#include "ucall.h"

#define VMM_DEV_DEFAULT		"/dev/vmm"

#define PAGE_SIZE		4096UL
#define SZ_2M			0x200000UL
#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ARRAY_LEN(a)		(sizeof(a) / sizeof((a)[0]))

/* Guest physical layout of a default VM. */
#define GUEST_GDT_GPA		0x1000UL
#define GUEST_IDT_GPA		0x2000UL
#define GUEST_TSS_GPA		0x3000UL
#define GUEST_SNIPPET_GPA	0x8000UL	/* real-mode / 32-bit code */
#define GUEST_PT_GPA		0x10000UL	/* PML4, PDPT, 4 PDs */
#define GUEST_PAE_PT_GPA	0x18000UL	/* PAE: PDPT, 4 PDs */
#define GUEST_STACK_TOP		0x200000UL	/* vCPU n: top - n * 64 KiB */
#define GUEST_STACK_SIZE	0x10000UL
#define GUEST_DATA_GPA		0x200000UL	/* 2 MiB of scratch data */
#define GUEST_DATA_SIZE		0x200000UL
#define GUEST_IMAGE_GPA		0x400000UL	/* the test binary */
#define GUEST_TEST_GPA		0x20000000UL	/* for tests' own memslots */
#define GUEST_MMIO_GPA		0x30000000UL	/* never backed by a memslot */
#define GUEST_MMIO_RIP_GPA	(GUEST_MMIO_GPA + 0x40)	/* guest_mmio_rip */
#define GUEST_MAPPED_TOP	0x100000000UL	/* page tables map 0..4 GiB */

/* GDT selectors */
#define GUEST_SEL_CODE64	0x08
#define GUEST_SEL_DATA		0x10
#define GUEST_SEL_CODE32	0x18
#define GUEST_SEL_TSS		0x20	/* 16-byte system descriptor */
#define GUEST_GDT_ENTRIES	6

/* Architectural bits used by the tests. */
#define X86_CR0_PE		(1UL << 0)
#define X86_CR0_MP		(1UL << 1)
#define X86_CR0_ET		(1UL << 4)
#define X86_CR0_NE		(1UL << 5)
#define X86_CR0_WP		(1UL << 16)
#define X86_CR0_NW		(1UL << 29)
#define X86_CR0_CD		(1UL << 30)
#define X86_CR0_PG		(1UL << 31)
#define X86_CR4_PSE		(1UL << 4)
#define X86_CR4_PAE		(1UL << 5)
#define X86_CR4_OSFXSR		(1UL << 9)
#define X86_CR4_OSXMMEXCPT	(1UL << 10)
#define X86_CR4_OSXSAVE		(1UL << 18)
#define X86_EFER_SCE		(1UL << 0)
#define X86_EFER_LME		(1UL << 8)
#define X86_EFER_LMA		(1UL << 10)
#define X86_RFLAGS_FIXED	(1UL << 1)

#define GUEST_CR0_LONG	(X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | \
			 X86_CR0_NE | X86_CR0_PG)
#define GUEST_CR4_LONG	(X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT)
#define GUEST_EFER_LONG	(X86_EFER_LME | X86_EFER_LMA)

#define VM_MAX_SLOTS	32
#define VM_MAX_VCPUS	16

struct vmm_slot {
	uint32_t slot;
	uint32_t flags;
	uint64_t gpa;
	uint64_t size;
	void *hva;
	bool owned;	/* hva was mmapped by vm_add_memslot() */
};

struct vmm_vcpu {
	struct vmm_vm *vm;
	uint32_t id;
	int fd;
	struct vmm_run *run;
};

struct vmm_vm {
	int sys_fd;
	int fd;
	size_t run_size;
	int nr_slots;
	struct vmm_slot slots[VM_MAX_SLOTS];
	int nr_vcpus;
	struct vmm_vcpu *vcpus[VM_MAX_VCPUS];
};

/* lib/guest_asm.S: a 64-bit guest function returns here (UCALL_DONE) */
extern const char guest_exit_stub[];

/* Print "# <message> (errno ...)" to stderr and abort() the test. */
#define vmm_die(fmt, ...) do {						\
	int __e = errno;						\
									\
	fflush(stdout);							\
	fprintf(stderr, "# " fmt " (errno %d: %s)\n", ##__VA_ARGS__,	\
		__e, strerror(__e));					\
	abort();							\
} while (0)

/* lib/vm.c */

#define TEST_ASSERT(cond, fmt, ...) do {				\
	if (!(cond))							\
		vmm_die("%s:%d: %s: " fmt, __FILE__, __LINE__, #cond,	\
			##__VA_ARGS__);					\
} while (0)

const char *vmm_dev_path(void);
bool vmm_dev_is_kvm(void);
int vmm_open_dev(void);
void vmm_require_dev(void);
long vmm_check_extension(int fd, long cap);

struct vmm_vm *vm_create_empty(void);
void vm_free(struct vmm_vm *vm);
void *vmm_alloc_mem(size_t size);
int __vm_set_memslot(struct vmm_vm *vm, uint32_t slot, uint32_t flags,
		     uint64_t gpa, uint64_t size, void *hva);
void vm_set_memslot(struct vmm_vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size, void *hva);
void *vm_add_memslot(struct vmm_vm *vm, uint32_t slot, uint32_t flags,
		     uint64_t gpa, uint64_t size);
void *vm_gpa2hva(struct vmm_vm *vm, uint64_t gpa);
struct vmm_vcpu *vm_add_vcpu(struct vmm_vm *vm, uint32_t id);
void vcpu_free(struct vmm_vcpu *vcpu);

int __vcpu_run(struct vmm_vcpu *vcpu);
void vcpu_run(struct vmm_vcpu *vcpu);
void vcpu_get_regs(struct vmm_vcpu *vcpu, struct vmm_regs *regs);
void vcpu_set_regs(struct vmm_vcpu *vcpu, const struct vmm_regs *regs);
void vcpu_get_sregs(struct vmm_vcpu *vcpu, struct vmm_sregs *sregs);
void vcpu_set_sregs(struct vmm_vcpu *vcpu, const struct vmm_sregs *sregs);
const char *exit_reason_str(uint32_t reason);
void vcpu_describe_exit(struct vmm_vcpu *vcpu);

/* lib/x86.c */
void vm_setup_sys(struct vmm_vm *vm);
void vm_load_image(struct vmm_vm *vm);
uint64_t vm_image_end(void);
struct vmm_vm *vm_create_default(struct vmm_vcpu **vcpu, void *guest_code);
struct vmm_vcpu *vm_add_vcpu_long(struct vmm_vm *vm, uint32_t id,
				  void *guest_code);
void vcpu_setup_long_mode(struct vmm_vcpu *vcpu);
void vm_set_idt_gate(struct vmm_vm *vm, uint64_t idt_gpa, int vector,
		     const void *handler);
void vcpu_set_idt(struct vmm_vcpu *vcpu, uint64_t base, uint16_t limit);
void vcpu_set_entry(struct vmm_vcpu *vcpu, void *guest_code,
		    uint64_t arg0, uint64_t arg1);
void vcpu_setup_real_mode(struct vmm_vcpu *vcpu, uint16_t ip);
void vcpu_setup_pmode32(struct vmm_vcpu *vcpu, uint32_t eip);
void vm_setup_pae(struct vmm_vm *vm);
uint64_t *vm_pae_pde(struct vmm_vm *vm, uint32_t gva);
void vcpu_setup_pae32(struct vmm_vcpu *vcpu, uint32_t eip);
void vm_load_code(struct vmm_vm *vm, uint64_t gpa, const void *start,
		  const void *end);
void sregs_set_long_mode(struct vmm_sregs *sregs);

/* lib/kmsg.c */
/* lib/sysfs.c: kernel file interfaces, a memory cgroup of the test's own */
int sysfs_write(const char *path, const char *s);
long sysfs_read_long(const char *path);
int memcg_enter(char *dir, size_t len, const char *name);
void memcg_leave(const char *dir);

int kmsg_open(void);
/*
 * Records logged since kmsg_open() (or the last call) that contain needle;
 * with splats, also add the number of WARNING/BUG/Oops/GP fault records.
 */
int kmsg_count(int fd, const char *needle, int *splats);

/* lib/ucall.c */
uint64_t get_ucall(struct vmm_vcpu *vcpu, struct ucall *uc);
uint64_t vcpu_run_ucall(struct vmm_vcpu *vcpu, struct ucall *uc);

/*
 * For test bodies (kselftest_harness.h): run the vCPU and require a ucall
 * of the given kind; the exit is described on stderr when it is not.
 */
#define ASSERT_UCALL(vcpu, uc, cmd) do {				\
	uint64_t __cmd = vcpu_run_ucall((vcpu), (uc));			\
									\
	ASSERT_EQ((uint64_t)(cmd), __cmd);				\
} while (0)

#define ASSERT_SYNC(vcpu, uc, val) do {					\
	ASSERT_UCALL(vcpu, uc, UCALL_SYNC);				\
	ASSERT_EQ((uint64_t)(val), (uc)->args[0]);			\
} while (0)

#define ASSERT_EXIT(vcpu, reason) do {					\
	uint32_t __r = (vcpu)->run->exit_reason;			\
									\
	if (__r != (uint32_t)(reason))					\
		vcpu_describe_exit(vcpu);				\
	ASSERT_EQ((uint32_t)(reason), __r);				\
} while (0)

/* An OUT to port @p, as every I/O exit test expects. */
#define ASSERT_IO_OUT(vcpu, p) do {					\
	ASSERT_EXIT(vcpu, VMM_EXIT_IO);					\
	ASSERT_EQ(VMM_EXIT_IO_OUT, (vcpu)->run->io.direction);		\
	ASSERT_EQ((p), (vcpu)->run->io.port);				\
} while (0)

#endif /* SELFTEST_VMM_UTIL_H */
