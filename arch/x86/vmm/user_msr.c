// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm: MSRs that the host uses only in user space (TSC_AUX for RDTSCP and
 * RDPID, later the SYSCALL MSRs of VMX), as KVM's user-return MSRs
 * (kvm_set_user_return_msr()).  The guest's value is written before an
 * entry only when the CPU holds another one, and the host's value comes
 * back once, when the task returns to user space (a user-return notifier),
 * instead of around every entry.  In between, the host kernel runs with
 * the guest's value, which it does not use.  Turning the hardware off in
 * a CPU (the last VM gone, CPU hotplug, reboot) restores the host's
 * values there at once and drops the notifier, so none is left registered
 * when the module goes.
 */
#include <linux/kernel.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/user-return-notifier.h>
#include <asm/msr.h>
#include "x86.h"

#define VMM_USER_MSRS_MAX	4

struct vmm_user_msrs {
	struct user_return_notifier urn;
	bool registered;
	struct {
		u64 host;
		u64 curr;
	} values[VMM_USER_MSRS_MAX];
};

static u32 vmm_user_msr_list[VMM_USER_MSRS_MAX];
static unsigned int vmm_nr_user_msrs;
static DEFINE_PER_CPU(struct vmm_user_msrs, vmm_user_msrs);

static void vmm_user_msr_restore(struct user_return_notifier *urn)
{
	struct vmm_user_msrs *msrs = container_of(urn, struct vmm_user_msrs,
						  urn);
	unsigned long flags;
	unsigned int i;

	/* The hardware-disable IPI may run this too: IRQs off. */
	local_irq_save(flags);
	if (msrs->registered) {
		msrs->registered = false;
		user_return_notifier_unregister(urn);
	}
	local_irq_restore(flags);
	for (i = 0; i < vmm_nr_user_msrs; i++) {
		if (msrs->values[i].curr != msrs->values[i].host) {
			wrmsrl(vmm_user_msr_list[i], msrs->values[i].host);
			msrs->values[i].curr = msrs->values[i].host;
		}
	}
}

/*
 * At module load: manage @msr from now on.  Returns its slot for
 * vmm_user_msr_set(), or -1 if this CPU cannot read and write it.
 */
int vmm_user_msr_add(u32 msr)
{
	u64 val;
	int r;

	if (vmm_nr_user_msrs >= VMM_USER_MSRS_MAX)
		return -1;
	preempt_disable();
	r = rdmsrl_safe(msr, &val);
	if (!r)
		r = wrmsrl_safe(msr, val);
	preempt_enable();
	if (r)
		return -1;
	vmm_user_msr_list[vmm_nr_user_msrs] = msr;
	return vmm_nr_user_msrs++;
}

/* Hardware on in this CPU (IRQs off): take the host's values. */
void vmm_user_msr_cpu_enable(void)
{
	struct vmm_user_msrs *msrs = this_cpu_ptr(&vmm_user_msrs);
	unsigned int i;
	u64 val;

	for (i = 0; i < vmm_nr_user_msrs; i++) {
		if (rdmsrl_safe(vmm_user_msr_list[i], &val))
			val = 0;
		msrs->values[i].host = val;
		msrs->values[i].curr = val;
	}
}

/* Hardware off in this CPU (IRQs off): the host's values, now. */
void vmm_user_msr_cpu_disable(void)
{
	struct vmm_user_msrs *msrs = this_cpu_ptr(&vmm_user_msrs);

	if (msrs->registered)
		vmm_user_msr_restore(&msrs->urn);
}

/*
 * Before an entry, with preemption off: the bits @mask of the MSR in
 * @slot take @value, the others the host's.  Written only if the CPU
 * holds another value; the host's comes back on the return to user space.
 * Returns 0, or 1 if the CPU refused the value.
 */
int vmm_user_msr_set(unsigned int slot, u64 value, u64 mask)
{
	struct vmm_user_msrs *msrs = this_cpu_ptr(&vmm_user_msrs);

	value = (value & mask) | (msrs->values[slot].host & ~mask);
	if (value == msrs->values[slot].curr)
		return 0;
	if (wrmsrl_safe(vmm_user_msr_list[slot], value))
		return 1;
	msrs->values[slot].curr = value;
	if (!msrs->registered) {
		msrs->urn.on_user_return = vmm_user_msr_restore;
		user_return_notifier_register(&msrs->urn);
		msrs->registered = true;
	}
	return 0;
}
