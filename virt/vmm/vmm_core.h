/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vmm: declarations private to the arch-independent core (virt/vmm).
 */
#ifndef _VIRT_VMM_CORE_H
#define _VIRT_VMM_CORE_H

#include <vmm/vmm_host.h>

/* main.c: the per-CPU virtualization reference count */
int vmm_hardware_get(void);
void vmm_hardware_put(void);
long vmm_check_extension_generic(struct vmm_vm *vm, long ext);

/* vm.c */
int vmm_create_vm(unsigned long type);
void vmm_vm_get(struct vmm_vm *vm);
void vmm_vm_put(struct vmm_vm *vm);

/* vcpu.c */
int vmm_kick_masks_alloc(void);
void vmm_kick_masks_free(void);
int vmm_vm_create_vcpu(struct vmm_vm *vm, unsigned long id);
void vmm_vcpu_free(struct vmm_vcpu *vcpu);

/* memslot.c */
struct vmm_memslots *vmm_memslots_alloc_empty(void);
int vmm_set_user_memory_region(struct vmm_vm *vm,
			       const struct vmm_userspace_memory_region *mem);
void vmm_unmap_hva_range(struct vmm_vm *vm, unsigned long start,
			 unsigned long end);
bool vmm_age_hva_range(struct vmm_vm *vm, unsigned long start,
		       unsigned long end, bool clear);

/* io_bus.c */
int vmm_io_bus_init(struct vmm_vm *vm);
void vmm_io_bus_destroy(struct vmm_vm *vm);

/* eventfd.c */
int vmm_ioeventfd(struct vmm_vm *vm, const struct vmm_ioeventfd *args);

/* mmu_notifier.c */
int vmm_mmu_notifier_register(struct vmm_vm *vm);
void vmm_mmu_notifier_unregister(struct vmm_vm *vm);

#endif /* _VIRT_VMM_CORE_H */
