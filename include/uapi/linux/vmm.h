/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vmm: the user-space ABI of /dev/vmm.
 *
 * Everything vmm shares with Linux KVM (API version 12) has KVM's ioctl
 * numbers, structure layouts, exit reasons and capability numbers, so that
 * an unmodified KVM client works against /dev/vmm.  The names carry a VMM_
 * or vmm_ prefix instead of KVM_/kvm_ so that this header and <linux/kvm.h>
 * can be included together (the abi_compat selftest does exactly that and
 * checks every shared definition with static asserts).
 *
 * Extensions that KVM never had use numbers from reserved ranges that KVM
 * cannot reach: capabilities from VMM_CAP_VMM_BASE (0x10000), exit reasons
 * from VMM_EXIT_VMM_BASE (0x1000).  See Documentation/api.rst.
 */
#ifndef _UAPI_LINUX_VMM_H
#define _UAPI_LINUX_VMM_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <asm/vmm.h>	/* the architecture's part, as <asm/kvm.h> for KVM */

#define VMM_API_VERSION 12

/* ioctl type, shared with KVM */
#define VMMIO 0xAE

/* Reserved ranges for vmm's own extensions. */
#define VMM_CAP_VMM_BASE	0x10000
#define VMM_EXIT_VMM_BASE	0x1000


/* -------------------------------------------------------------------- */
/* Memory slots                                                         */
/* -------------------------------------------------------------------- */

struct vmm_userspace_memory_region {
	__u32 slot;		/* bits 15:0 slot id, bits 31:16 address space */
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;	/* bytes; 0 deletes the slot */
	__u64 userspace_addr;	/* start of the user memory backing it */
};

/* flags of struct vmm_userspace_memory_region */
#define VMM_MEM_LOG_DIRTY_PAGES	(1UL << 0)
#define VMM_MEM_READONLY	(1UL << 1)

/* -------------------------------------------------------------------- */
/* Capabilities                                                         */
/* -------------------------------------------------------------------- */

struct vmm_enable_cap {
	/* in */
	__u32 cap;
	__u32 flags;
	__u64 args[4];
	__u8  pad[64];
};

/* KVM_CHECK_EXTENSION numbers (identical to KVM's) */
#define VMM_CAP_HLT			1
#define VMM_CAP_USER_MEMORY		3
#define VMM_CAP_NR_VCPUS		9
#define VMM_CAP_NR_MEMSLOTS		10
#define VMM_CAP_SYNC_MMU		16
#define VMM_CAP_DESTROY_MEMORY_REGION_WORKS 21
#define VMM_CAP_JOIN_MEMORY_REGIONS_WORKS 30
#define VMM_CAP_IOEVENTFD		36
#define VMM_CAP_INTERNAL_ERROR_DATA	40
#define VMM_CAP_MAX_VCPUS		66
#define VMM_CAP_READONLY_MEM		81
#define VMM_CAP_IOEVENTFD_NO_LENGTH	100
#define VMM_CAP_CHECK_EXTENSION_VM	105
#define VMM_CAP_IOEVENTFD_ANY_LENGTH	122
#define VMM_CAP_MAX_VCPU_ID		128
#define VMM_CAP_IMMEDIATE_EXIT		136

/* -------------------------------------------------------------------- */
/* ioeventfd                                                            */
/* -------------------------------------------------------------------- */

enum {
	vmm_ioeventfd_flag_nr_datamatch,
	vmm_ioeventfd_flag_nr_pio,
	vmm_ioeventfd_flag_nr_deassign,
	vmm_ioeventfd_flag_nr_virtio_ccw_notify,
	vmm_ioeventfd_flag_nr_fast_mmio,
	vmm_ioeventfd_flag_nr_max,
};

#define VMM_IOEVENTFD_FLAG_DATAMATCH	(1 << vmm_ioeventfd_flag_nr_datamatch)
#define VMM_IOEVENTFD_FLAG_PIO		(1 << vmm_ioeventfd_flag_nr_pio)
#define VMM_IOEVENTFD_FLAG_DEASSIGN	(1 << vmm_ioeventfd_flag_nr_deassign)
#define VMM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY \
	(1 << vmm_ioeventfd_flag_nr_virtio_ccw_notify)

#define VMM_IOEVENTFD_VALID_FLAG_MASK	((1 << vmm_ioeventfd_flag_nr_max) - 1)

/* A guest write to a port or an MMIO address signals an eventfd. */
struct vmm_ioeventfd {
	__u64 datamatch;
	__u64 addr;		/* port or guest-physical address */
	__u32 len;		/* 1, 2, 4 or 8 bytes; 0: any length */
	__s32 fd;		/* an eventfd */
	__u32 flags;
	__u8  pad[36];
};

/* -------------------------------------------------------------------- */
/* Exits                                                                */
/* -------------------------------------------------------------------- */

#define VMM_EXIT_UNKNOWN		0
#define VMM_EXIT_EXCEPTION		1
#define VMM_EXIT_IO			2
#define VMM_EXIT_HYPERCALL		3
#define VMM_EXIT_DEBUG			4
#define VMM_EXIT_HLT			5
#define VMM_EXIT_MMIO			6
#define VMM_EXIT_IRQ_WINDOW_OPEN	7
#define VMM_EXIT_SHUTDOWN		8
#define VMM_EXIT_FAIL_ENTRY		9
#define VMM_EXIT_INTR			10
#define VMM_EXIT_INTERNAL_ERROR		17
#define VMM_EXIT_SYSTEM_EVENT		24

/* suberror of VMM_EXIT_INTERNAL_ERROR */
#define VMM_INTERNAL_ERROR_EMULATION	1
#define VMM_INTERNAL_ERROR_SIMUL_EX	2
#define VMM_INTERNAL_ERROR_DELIVERY_EV	3
#define VMM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON	4

/* flags of internal.emulation_failure */
#define VMM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES (1ULL << 0)

/* direction of the io exit */
#define VMM_EXIT_IO_IN	0
#define VMM_EXIT_IO_OUT	1

#define VMM_SYNC_REGS_SIZE_BYTES 2048

/* for VMM_INTERRUPT */
struct vmm_interrupt {
	/* in */
	__u32 irq;
};

/* The shared page of a vCPU: mmap(vcpu_fd, 0, VMM_GET_VCPU_MMAP_SIZE) */
struct vmm_run {
	/* in */
	__u8 request_interrupt_window;
	__u8 immediate_exit;
	__u8 padding1[6];

	/* out */
	__u32 exit_reason;
	__u8 ready_for_interrupt_injection;
	__u8 if_flag;
	__u16 flags;

	/* in (pre_vmm_run), out (post_vmm_run) */
	__u64 cr8;
	__u64 apic_base;

	union {
		/* VMM_EXIT_UNKNOWN */
		struct {
			__u64 hardware_exit_reason;
		} hw;
		/* VMM_EXIT_FAIL_ENTRY */
		struct {
			__u64 hardware_entry_failure_reason;
			__u32 cpu;
		} fail_entry;
		/* VMM_EXIT_EXCEPTION */
		struct {
			__u32 exception;
			__u32 error_code;
		} ex;
		/* VMM_EXIT_IO */
		struct {
			__u8 direction;
			__u8 size; /* bytes */
			__u16 port;
			__u32 count;
			__u64 data_offset; /* relative to vmm_run start */
		} io;
		/* VMM_EXIT_MMIO */
		struct {
			__u64 phys_addr;
			__u8  data[8];
			__u32 len;
			__u8  is_write;
		} mmio;
		/* VMM_EXIT_INTERNAL_ERROR */
		struct {
			__u32 suberror;
			__u32 ndata;
			__u64 data[16];
		} internal;
		/* VMM_EXIT_INTERNAL_ERROR, suberror VMM_INTERNAL_ERROR_EMULATION */
		struct {
			__u32 suberror;
			__u32 ndata;
			__u64 flags;
			union {
				struct {
					__u8  insn_size;
					__u8  insn_bytes[15];
				};
			};
		} emulation_failure;
		/* VMM_EXIT_SYSTEM_EVENT */
		struct {
			__u32 type;
			__u32 ndata;
			__u64 data[16];
		} system_event;
		/* Fix the size of the union. */
		char padding[256];
	};

	/* sync regs: not implemented, layout kept for compatibility */
	__u64 kvm_valid_regs;
	__u64 kvm_dirty_regs;
	union {
		char padding[VMM_SYNC_REGS_SIZE_BYTES];
	} s;
};

/* -------------------------------------------------------------------- */
/* ioctls                                                               */
/* -------------------------------------------------------------------- */

/* system fd (/dev/vmm) */
#define VMM_GET_API_VERSION	_IO(VMMIO,   0x00)
#define VMM_CREATE_VM		_IO(VMMIO,   0x01) /* returns a VM fd */
#define VMM_CHECK_EXTENSION	_IO(VMMIO,   0x03) /* also on the VM fd */
#define VMM_GET_VCPU_MMAP_SIZE	_IO(VMMIO,   0x04) /* in bytes */

/* VM fd */
#define VMM_CREATE_VCPU		_IO(VMMIO,   0x41) /* returns a vCPU fd */
#define VMM_SET_USER_MEMORY_REGION _IOW(VMMIO, 0x46, \
					struct vmm_userspace_memory_region)
#define VMM_IOEVENTFD		_IOW(VMMIO,  0x79, struct vmm_ioeventfd)
#define VMM_ENABLE_CAP		_IOW(VMMIO,  0xa3, struct vmm_enable_cap)

/* vCPU fd */
#define VMM_RUN			_IO(VMMIO,   0x80)
#define VMM_GET_REGS		_IOR(VMMIO,  0x81, struct vmm_regs)
#define VMM_SET_REGS		_IOW(VMMIO,  0x82, struct vmm_regs)
#define VMM_GET_SREGS		_IOR(VMMIO,  0x83, struct vmm_sregs)
#define VMM_SET_SREGS		_IOW(VMMIO,  0x84, struct vmm_sregs)
#define VMM_INTERRUPT		_IOW(VMMIO,  0x86, struct vmm_interrupt)

#endif /* _UAPI_LINUX_VMM_H */
