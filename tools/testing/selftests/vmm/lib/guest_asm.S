/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Assembly pieces of the guest side of the vmm selftests library.
 */

	.text
	.code64

/*
 * A 64-bit guest function entered by vcpu_set_entry() returns here, with
 * RSP 16-byte aligned; the call gives guest_finish() the ABI's alignment.
 */
	.globl guest_exit_stub
	.type guest_exit_stub, @function
guest_exit_stub:
	call	guest_finish
	.size guest_exit_stub, . - guest_exit_stub

/*
 * An absolute symbol at GUEST_MMIO_RIP_GPA for RIP-relative MMIO accesses.
 * It lives in another object than its users: the assembler would take
 * "sym(%rip)" with a symbol it resolves itself as a plain displacement.
 */
	.globl guest_mmio_rip
	.set guest_mmio_rip, 0x30000040

	.section .note.GNU-stack, "", @progbits
