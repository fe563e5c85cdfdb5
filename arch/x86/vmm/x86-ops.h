/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The vendor ops called through static calls, as KVM's kvm-x86-ops.h:
 * include after defining VMM_X86_OP(func).  The rest of struct
 * vmm_x86_ops (sizes, init/exit, hardware on/off) is used through the
 * vmm_x86 pointer, off the hot paths.
 */
#ifndef VMM_X86_OP
#error "define VMM_X86_OP(func) before including x86-ops.h"
#endif

VMM_X86_OP(vm_init);
VMM_X86_OP(vm_destroy);
VMM_X86_OP(vcpu_create);
VMM_X86_OP(vcpu_destroy);
VMM_X86_OP(vcpu_load);
VMM_X86_OP(vcpu_put);
VMM_X86_OP(vcpu_reset);
VMM_X86_OP(get_sregs);
VMM_X86_OP(set_sregs);
VMM_X86_OP(get_cpl);
VMM_X86_OP(get_cr0);
VMM_X86_OP(set_cr0);
VMM_X86_OP(get_cr4);
VMM_X86_OP(set_cr4);
VMM_X86_OP(set_efer);
VMM_X86_OP(set_pat);
VMM_X86_OP(get_cs_db_l_bits);
VMM_X86_OP(get_interrupt_shadow);
VMM_X86_OP(set_interrupt_shadow);
VMM_X86_OP(interrupt_allowed);
VMM_X86_OP(cache_reg);
VMM_X86_OP(inject_exception);
VMM_X86_OP(inject_irq);
VMM_X86_OP(enable_irq_window);
VMM_X86_OP(flush_tlb_all);
VMM_X86_OP(flush_tlb_guest);
VMM_X86_OP(vcpu_run);
VMM_X86_OP(handle_exit);

#undef VMM_X86_OP
