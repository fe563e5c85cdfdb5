// SPDX-License-Identifier: GPL-2.0
/*
 * Host side of the ucall channel (see include/ucall.h).
 */
#include <string.h>

#include "vmm_util.h"

/* Decode the last exit of @vcpu; UCALL_NONE if it is not a ucall. */
uint64_t get_ucall(struct vmm_vcpu *vcpu, struct ucall *uc)
{
	struct vmm_run *run = vcpu->run;
	uint32_t gpa;

	if (run->exit_reason != VMM_EXIT_IO ||
	    run->io.direction != VMM_EXIT_IO_OUT ||
	    run->io.port != UCALL_PORT || run->io.size != 4 ||
	    run->io.count != 1)
		return UCALL_NONE;
	memcpy(&gpa, (char *)run + run->io.data_offset, sizeof(gpa));
	vm_gpa2hva(vcpu->vm, gpa + sizeof(*uc) - 1);
	memcpy(uc, vm_gpa2hva(vcpu->vm, gpa), sizeof(*uc));
	return uc->cmd;
}

/*
 * Run @vcpu until its next exit and decode it as a ucall.  Anything but
 * UCALL_SYNC or UCALL_DONE is described on stderr.
 */
uint64_t vcpu_run_ucall(struct vmm_vcpu *vcpu, struct ucall *uc)
{
	uint64_t cmd;

	vcpu_run(vcpu);
	cmd = get_ucall(vcpu, uc);
	if (cmd != UCALL_SYNC && cmd != UCALL_DONE)
		vcpu_describe_exit(vcpu);
	return cmd;
}
