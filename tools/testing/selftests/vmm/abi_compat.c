// SPDX-License-Identifier: GPL-2.0
/*
 * abi_compat: <linux/vmm.h> is binary-identical to <linux/kvm.h> for
 * everything it defines.  All checks are compile-time; a binary that builds
 * has passed.
 */
#include <stddef.h>
#include <linux/kvm.h>
#include <linux/vmm.h>

#include "kselftest_harness.h"

#define SAME(v, k)	_Static_assert((v) == (k), #v " != " #k)
#define SAME_SIZE(s)							\
	_Static_assert(sizeof(struct vmm_##s) == sizeof(struct kvm_##s), \
		       "sizeof struct vmm_" #s)
#define MSIZE(t, m)	sizeof(((t *)0)->m)
#define SAME_MEMBER(s, m)						\
	_Static_assert(offsetof(struct vmm_##s, m) ==			\
		       offsetof(struct kvm_##s, m) &&			\
		       MSIZE(struct vmm_##s, m) == MSIZE(struct kvm_##s, m), \
		       "struct vmm_" #s "." #m)

/* constants */
SAME(VMM_API_VERSION, KVM_API_VERSION);
SAME(VMMIO, KVMIO);
SAME(VMM_NR_INTERRUPTS, KVM_NR_INTERRUPTS);
SAME(VMM_SYNC_REGS_SIZE_BYTES, SYNC_REGS_SIZE_BYTES);
SAME(VMM_MEM_LOG_DIRTY_PAGES, KVM_MEM_LOG_DIRTY_PAGES);
SAME(VMM_MEM_READONLY, KVM_MEM_READONLY);
SAME(VMM_EXIT_IO_IN, KVM_EXIT_IO_IN);
SAME(VMM_EXIT_IO_OUT, KVM_EXIT_IO_OUT);
/* anonymous enums of their own: compared as int */
#define SAME_ENUM(v, k)	SAME((int)(v), (int)(k))
SAME_ENUM(vmm_ioeventfd_flag_nr_datamatch, kvm_ioeventfd_flag_nr_datamatch);
SAME_ENUM(vmm_ioeventfd_flag_nr_pio, kvm_ioeventfd_flag_nr_pio);
SAME_ENUM(vmm_ioeventfd_flag_nr_deassign, kvm_ioeventfd_flag_nr_deassign);
SAME_ENUM(vmm_ioeventfd_flag_nr_virtio_ccw_notify,
	  kvm_ioeventfd_flag_nr_virtio_ccw_notify);
SAME_ENUM(vmm_ioeventfd_flag_nr_fast_mmio, kvm_ioeventfd_flag_nr_fast_mmio);
SAME_ENUM(vmm_ioeventfd_flag_nr_max, kvm_ioeventfd_flag_nr_max);
SAME(VMM_IOEVENTFD_FLAG_DATAMATCH, KVM_IOEVENTFD_FLAG_DATAMATCH);
SAME(VMM_IOEVENTFD_FLAG_PIO, KVM_IOEVENTFD_FLAG_PIO);
SAME(VMM_IOEVENTFD_FLAG_DEASSIGN, KVM_IOEVENTFD_FLAG_DEASSIGN);
SAME(VMM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY,
	KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY);
SAME(VMM_IOEVENTFD_VALID_FLAG_MASK, KVM_IOEVENTFD_VALID_FLAG_MASK);

/* ioctls */
SAME(VMM_GET_API_VERSION, KVM_GET_API_VERSION);
SAME(VMM_CREATE_VM, KVM_CREATE_VM);
SAME(VMM_CHECK_EXTENSION, KVM_CHECK_EXTENSION);
SAME(VMM_GET_VCPU_MMAP_SIZE, KVM_GET_VCPU_MMAP_SIZE);
SAME(VMM_CREATE_VCPU, KVM_CREATE_VCPU);
SAME(VMM_SET_USER_MEMORY_REGION, KVM_SET_USER_MEMORY_REGION);
SAME(VMM_IOEVENTFD, KVM_IOEVENTFD);
SAME(VMM_ENABLE_CAP, KVM_ENABLE_CAP);
SAME(VMM_RUN, KVM_RUN);
SAME(VMM_GET_REGS, KVM_GET_REGS);
SAME(VMM_SET_REGS, KVM_SET_REGS);
SAME(VMM_GET_SREGS, KVM_GET_SREGS);
SAME(VMM_SET_SREGS, KVM_SET_SREGS);
SAME(VMM_INTERRUPT, KVM_INTERRUPT);

/* capabilities */
SAME(VMM_CAP_HLT, KVM_CAP_HLT);
SAME(VMM_CAP_USER_MEMORY, KVM_CAP_USER_MEMORY);
SAME(VMM_CAP_NR_VCPUS, KVM_CAP_NR_VCPUS);
SAME(VMM_CAP_NR_MEMSLOTS, KVM_CAP_NR_MEMSLOTS);
SAME(VMM_CAP_SYNC_MMU, KVM_CAP_SYNC_MMU);
SAME(VMM_CAP_DESTROY_MEMORY_REGION_WORKS,
	KVM_CAP_DESTROY_MEMORY_REGION_WORKS);
SAME(VMM_CAP_JOIN_MEMORY_REGIONS_WORKS, KVM_CAP_JOIN_MEMORY_REGIONS_WORKS);
SAME(VMM_CAP_IOEVENTFD, KVM_CAP_IOEVENTFD);
SAME(VMM_CAP_INTERNAL_ERROR_DATA, KVM_CAP_INTERNAL_ERROR_DATA);
SAME(VMM_CAP_MAX_VCPUS, KVM_CAP_MAX_VCPUS);
SAME(VMM_CAP_READONLY_MEM, KVM_CAP_READONLY_MEM);
SAME(VMM_CAP_IOEVENTFD_NO_LENGTH, KVM_CAP_IOEVENTFD_NO_LENGTH);
SAME(VMM_CAP_CHECK_EXTENSION_VM, KVM_CAP_CHECK_EXTENSION_VM);
SAME(VMM_CAP_IOEVENTFD_ANY_LENGTH, KVM_CAP_IOEVENTFD_ANY_LENGTH);
SAME(VMM_CAP_MAX_VCPU_ID, KVM_CAP_MAX_VCPU_ID);
SAME(VMM_CAP_IMMEDIATE_EXIT, KVM_CAP_IMMEDIATE_EXIT);

/* exit reasons */
SAME(VMM_EXIT_UNKNOWN, KVM_EXIT_UNKNOWN);
SAME(VMM_EXIT_EXCEPTION, KVM_EXIT_EXCEPTION);
SAME(VMM_EXIT_IO, KVM_EXIT_IO);
SAME(VMM_EXIT_HYPERCALL, KVM_EXIT_HYPERCALL);
SAME(VMM_EXIT_DEBUG, KVM_EXIT_DEBUG);
SAME(VMM_EXIT_HLT, KVM_EXIT_HLT);
SAME(VMM_EXIT_MMIO, KVM_EXIT_MMIO);
SAME(VMM_EXIT_IRQ_WINDOW_OPEN, KVM_EXIT_IRQ_WINDOW_OPEN);
SAME(VMM_EXIT_SHUTDOWN, KVM_EXIT_SHUTDOWN);
SAME(VMM_EXIT_FAIL_ENTRY, KVM_EXIT_FAIL_ENTRY);
SAME(VMM_EXIT_INTR, KVM_EXIT_INTR);
SAME(VMM_EXIT_INTERNAL_ERROR, KVM_EXIT_INTERNAL_ERROR);
SAME(VMM_EXIT_SYSTEM_EVENT, KVM_EXIT_SYSTEM_EVENT);

/* internal error suberrors and flags */
SAME(VMM_INTERNAL_ERROR_EMULATION, KVM_INTERNAL_ERROR_EMULATION);
SAME(VMM_INTERNAL_ERROR_SIMUL_EX, KVM_INTERNAL_ERROR_SIMUL_EX);
SAME(VMM_INTERNAL_ERROR_DELIVERY_EV, KVM_INTERNAL_ERROR_DELIVERY_EV);
SAME(VMM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
	KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
SAME(VMM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES,
	KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES);

/* struct vmm_regs */
SAME_SIZE(regs);
SAME_MEMBER(regs, rax);
SAME_MEMBER(regs, rbx);
SAME_MEMBER(regs, rcx);
SAME_MEMBER(regs, rdx);
SAME_MEMBER(regs, rsi);
SAME_MEMBER(regs, rdi);
SAME_MEMBER(regs, rsp);
SAME_MEMBER(regs, rbp);
SAME_MEMBER(regs, r8);
SAME_MEMBER(regs, r9);
SAME_MEMBER(regs, r10);
SAME_MEMBER(regs, r11);
SAME_MEMBER(regs, r12);
SAME_MEMBER(regs, r13);
SAME_MEMBER(regs, r14);
SAME_MEMBER(regs, r15);
SAME_MEMBER(regs, rip);
SAME_MEMBER(regs, rflags);

/* struct vmm_segment */
SAME_SIZE(segment);
SAME_MEMBER(segment, base);
SAME_MEMBER(segment, limit);
SAME_MEMBER(segment, selector);
SAME_MEMBER(segment, type);
SAME_MEMBER(segment, present);
SAME_MEMBER(segment, dpl);
SAME_MEMBER(segment, db);
SAME_MEMBER(segment, s);
SAME_MEMBER(segment, l);
SAME_MEMBER(segment, g);
SAME_MEMBER(segment, avl);
SAME_MEMBER(segment, unusable);
SAME_MEMBER(segment, padding);

/* struct vmm_dtable */
SAME_SIZE(dtable);
SAME_MEMBER(dtable, base);
SAME_MEMBER(dtable, limit);
SAME_MEMBER(dtable, padding);

/* struct vmm_interrupt */
SAME_SIZE(interrupt);
SAME_MEMBER(interrupt, irq);

/* struct vmm_sregs */
SAME_SIZE(sregs);
SAME_MEMBER(sregs, cs);
SAME_MEMBER(sregs, ds);
SAME_MEMBER(sregs, es);
SAME_MEMBER(sregs, fs);
SAME_MEMBER(sregs, gs);
SAME_MEMBER(sregs, ss);
SAME_MEMBER(sregs, tr);
SAME_MEMBER(sregs, ldt);
SAME_MEMBER(sregs, gdt);
SAME_MEMBER(sregs, idt);
SAME_MEMBER(sregs, cr0);
SAME_MEMBER(sregs, cr2);
SAME_MEMBER(sregs, cr3);
SAME_MEMBER(sregs, cr4);
SAME_MEMBER(sregs, cr8);
SAME_MEMBER(sregs, efer);
SAME_MEMBER(sregs, apic_base);
SAME_MEMBER(sregs, interrupt_bitmap);

/* struct vmm_userspace_memory_region */
SAME_SIZE(userspace_memory_region);
SAME_MEMBER(userspace_memory_region, slot);
SAME_MEMBER(userspace_memory_region, flags);
SAME_MEMBER(userspace_memory_region, guest_phys_addr);
SAME_MEMBER(userspace_memory_region, memory_size);
SAME_MEMBER(userspace_memory_region, userspace_addr);

/* struct vmm_enable_cap */
SAME_SIZE(enable_cap);
SAME_MEMBER(enable_cap, cap);
SAME_MEMBER(enable_cap, flags);
SAME_MEMBER(enable_cap, args);
SAME_MEMBER(enable_cap, pad);

/* struct vmm_ioeventfd */
SAME_SIZE(ioeventfd);
SAME_MEMBER(ioeventfd, datamatch);
SAME_MEMBER(ioeventfd, addr);
SAME_MEMBER(ioeventfd, len);
SAME_MEMBER(ioeventfd, fd);
SAME_MEMBER(ioeventfd, flags);
SAME_MEMBER(ioeventfd, pad);

/* struct vmm_run */
SAME_SIZE(run);
SAME_MEMBER(run, request_interrupt_window);
SAME_MEMBER(run, immediate_exit);
SAME_MEMBER(run, padding1);
SAME_MEMBER(run, exit_reason);
SAME_MEMBER(run, ready_for_interrupt_injection);
SAME_MEMBER(run, if_flag);
SAME_MEMBER(run, flags);
SAME_MEMBER(run, cr8);
SAME_MEMBER(run, apic_base);
SAME_MEMBER(run, hw.hardware_exit_reason);
SAME_MEMBER(run, fail_entry.hardware_entry_failure_reason);
SAME_MEMBER(run, fail_entry.cpu);
SAME_MEMBER(run, ex.exception);
SAME_MEMBER(run, ex.error_code);
SAME_MEMBER(run, io.direction);
SAME_MEMBER(run, io.size);
SAME_MEMBER(run, io.port);
SAME_MEMBER(run, io.count);
SAME_MEMBER(run, io.data_offset);
SAME_MEMBER(run, mmio.phys_addr);
SAME_MEMBER(run, mmio.data);
SAME_MEMBER(run, mmio.len);
SAME_MEMBER(run, mmio.is_write);
SAME_MEMBER(run, internal.suberror);
SAME_MEMBER(run, internal.ndata);
SAME_MEMBER(run, internal.data);
SAME_MEMBER(run, emulation_failure.suberror);
SAME_MEMBER(run, emulation_failure.ndata);
SAME_MEMBER(run, emulation_failure.flags);
SAME_MEMBER(run, emulation_failure.insn_size);
SAME_MEMBER(run, emulation_failure.insn_bytes);
SAME_MEMBER(run, system_event.type);
SAME_MEMBER(run, system_event.ndata);
SAME_MEMBER(run, system_event.data);
SAME_MEMBER(run, padding);
SAME_MEMBER(run, kvm_valid_regs);
SAME_MEMBER(run, kvm_dirty_regs);
SAME_MEMBER(run, s);
SAME_MEMBER(run, s.padding);

TEST(static_asserts)
{
	/* The real checks ran at compile time; spot-check one at run time. */
	ASSERT_EQ(KVM_RUN, VMM_RUN);
	ASSERT_EQ(sizeof(struct kvm_run), sizeof(struct vmm_run));
	TH_LOG("struct vmm_run is %zu bytes", sizeof(struct vmm_run));
}

TEST_HARNESS_MAIN
