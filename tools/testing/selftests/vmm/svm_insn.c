// SPDX-License-Identifier: GPL-2.0
/*
 * svm_insn: instructions a guest may execute that the hypervisor must
 * intercept or pass through with KVM's results.
 *
 * ud: with EFER.SVME clear, VMRUN, VMLOAD, VMSAVE, CLGI, STGI, SKINIT and
 * INVLPGA raise #UD in the guest, and so does XSETBV with CR4.OSXSAVE
 * clear.  The guest has its own IDT whose #UD (and #GP) handler records
 * the vector and RIP and skips the instruction.
 * cpuid: CPUID in the guest is answered without an exit to user space.
 * pm32_to_long: a guest started in 32-bit protected mode with EFER.LME
 * enables PAE, loads CR3, sets CR0.PG and far-jumps to 64-bit code:
 * EFER.LMA is set, and GET_SREGS shows long mode.  paging_off_on: a
 * 64-bit guest goes to compatibility mode, turns paging off (LMA clears)
 * and on again (LMA sets) and returns to 64-bit code.  Both are skipped on
 * kvm_amd under QEMU TCG (see pm32_to_long).  paging_off_efer: with
 * paging off, EFER.LMA reads 0 and GET_SREGS/SET_SREGS round-trip (skipped
 * on vmm, a bug, and on kvm_amd under TCG, so it runs only on silicon).
 * debug_regs: MOV to DR0-3 and DR7 and back round-trip, also across exits.
 * vmmcall_unknown: VMMCALL of an unknown hypercall returns -KVM_ENOSYS
 * (-1000) in RAX and leaves the other registers alone.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "vmm_util.h"

/*
 * Written by the guest's exception handler; every access from C is
 * separated from it by an asm volatile with a memory clobber.
 */
uint64_t exc_vector, exc_rip, exc_count, exc_skip;

/*
 * #UD (vector 6) and #GP (13, with an error code) handlers: record the
 * vector and the faulting RIP, add exc_skip to the return RIP.
 */
asm(
	".text\n"
	".globl ud_handler\n"
	"ud_handler:\n\t"
	"movq $6, exc_vector(%rip)\n\t"
	"jmp exc_common\n"
	".globl gp_handler\n"
	"gp_handler:\n\t"
	"add $8, %rsp\n\t"		/* error code */
	"movq $13, exc_vector(%rip)\n"
	"exc_common:\n\t"
	"push %rax\n\t"
	"incq exc_count(%rip)\n\t"
	"mov 8(%rsp), %rax\n\t"
	"mov %rax, exc_rip(%rip)\n\t"
	"add exc_skip(%rip), %rax\n\t"
	"mov %rax, 8(%rsp)\n\t"
	"pop %rax\n\t"
	"iretq\n"
);

GUEST_LABEL(ud_handler);
GUEST_LABEL(gp_handler);

/* A default VM whose guest has #UD and #GP handlers. */
static struct vmm_vm *vm_create_idt(struct vmm_vcpu **vcpu, void *guest)
{
	struct vmm_vm *vm = vm_create_default(vcpu, guest);

	vm_set_idt_gate(vm, GUEST_IDT_GPA, 6, ud_handler);
	vm_set_idt_gate(vm, GUEST_IDT_GPA, 13, gp_handler);
	vcpu_set_idt(*vcpu, GUEST_IDT_GPA, 256 * 16 - 1);
	return vm;
}

/*
 * Execute one instruction (given as bytes, @len long) expecting a fault:
 * report SYNC2(vector, faulting RIP == the instruction) per instruction.
 */
#define TRY(id, len, insn, ...) do {					\
	uint64_t __rip;							\
									\
	exc_vector = 0;							\
	exc_count = 0;							\
	exc_skip = (len);						\
	asm volatile("lea 1f(%%rip), %0\n\t"				\
		     "1: " insn "\n\t"					\
		     : "=&r"(__rip) : __VA_ARGS__ : "memory");		\
	guest_ucall(UCALL_SYNC, (id), exc_vector, exc_count,		\
		    exc_rip == __rip);					\
} while (0)

enum {
	I_VMRUN, I_VMLOAD, I_VMSAVE, I_CLGI, I_STGI, I_SKINIT, I_INVLPGA,
	I_XSETBV, I_NR
};

static const char * const insn_name[] = {
	"VMRUN", "VMLOAD", "VMSAVE", "CLGI", "STGI", "SKINIT", "INVLPGA",
	"XSETBV",
};

static void guest_ud(void)
{
	/* RAX: a page-aligned "VMCB" address, in case anything executes */
	TRY(I_VMRUN, 3, ".byte 0x0f, 0x01, 0xd8", "a"(GUEST_DATA_GPA));
	TRY(I_VMLOAD, 3, ".byte 0x0f, 0x01, 0xda", "a"(GUEST_DATA_GPA));
	TRY(I_VMSAVE, 3, ".byte 0x0f, 0x01, 0xdb", "a"(GUEST_DATA_GPA));
	TRY(I_CLGI, 3, ".byte 0x0f, 0x01, 0xdd", "a"(0));
	TRY(I_STGI, 3, ".byte 0x0f, 0x01, 0xdc", "a"(0));
	TRY(I_SKINIT, 3, ".byte 0x0f, 0x01, 0xde", "a"(GUEST_DATA_GPA));
	TRY(I_INVLPGA, 3, ".byte 0x0f, 0x01, 0xdf", "a"(0), "c"(0));
	/* XCR0 = x87|SSE, a valid value, but CR4.OSXSAVE is clear */
	TRY(I_XSETBV, 3, ".byte 0x0f, 0x01, 0xd1", "a"(3), "d"(0), "c"(0));
}

TEST(ud)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_idt(&vcpu, guest_ud);
	struct ucall uc;
	int i;

	for (i = 0; i < I_NR; i++) {
		ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
		ASSERT_EQ(i, uc.args[0]);
		EXPECT_EQ(6, uc.args[1]) {
			TH_LOG("%s raised vector %lu, not #UD", insn_name[i],
			       (unsigned long)uc.args[1]);
		}
		EXPECT_EQ(1, uc.args[2]) {
			TH_LOG("%s: %lu exceptions", insn_name[i],
			       (unsigned long)uc.args[2]);
		}
		EXPECT_EQ(1, uc.args[3]) {
			TH_LOG("%s: fault RIP is not the instruction",
			       insn_name[i]);
		}
	}
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

static void guest_cpuid(void)
{
	uint32_t a, b, c, d, a2, b2, c2, d2, leaf;

	for (leaf = 0; leaf < 2; leaf++) {
		uint32_t l = leaf ? 0x80000000 : 0;

		asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			     : "a"(l), "c"(0));
		asm volatile("cpuid" : "=a"(a2), "=b"(b2), "=c"(c2), "=d"(d2)
			     : "a"(l), "c"(0));
		GUEST_ASSERT_EQ(a, a2);
		GUEST_ASSERT_EQ(b, b2);
		GUEST_ASSERT_EQ(c, c2);
		GUEST_ASSERT_EQ(d, d2);
		guest_ucall(UCALL_SYNC, l, a, b, ((uint64_t)d << 32) | c);
	}
}

/* both CPUIDs of each leaf between two ucalls: no exit to user space */
TEST(cpuid)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_cpuid);
	struct ucall uc;

	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	ASSERT_EQ(0, uc.args[0]);
	TH_LOG("leaf 0: eax %#lx ebx %#lx ecx:edx %#lx",
	       (unsigned long)uc.args[1], (unsigned long)uc.args[2],
	       (unsigned long)uc.args[3]);
	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	ASSERT_EQ(0x80000000, uc.args[0]);
	TH_LOG("leaf 0x80000000: eax %#lx", (unsigned long)uc.args[1]);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

/*
 * 32-bit protected mode, paging off, EFER.LME set by the host (a guest
 * WRMSR of EFER.LME needs CPUID.80000001H:EDX.LM, i.e. KVM_SET_CPUID2,
 * which vmm does not have): turn on PAE, load CR3 (the default identity
 * map), set CR0.PG, which activates long mode, far jump to the 64-bit code
 * segment, report EFER and CR0 on ports 0x12 and 0x13, halt.
 */
asm(
	".text\n"
	".code32\n"
	".globl pm_to_long\n"
	"pm_to_long:\n\t"
	"mov %cr4, %eax\n\t"
	"or $0x20, %eax\n\t"
	"mov %eax, %cr4\n\t"
	"mov $0x10000, %eax\n\t"
	"mov %eax, %cr3\n\t"
	GUEST_ASM_PAGING_ON_TO_LONG
	"mov $0xc0000080, %ecx\n\t"
	"rdmsr\n\t"
	"out %eax, $0x12\n\t"
	"mov %cr0, %rax\n\t"
	"out %eax, $0x13\n\t"
	"hlt\n"
);

GUEST_LABEL(pm_to_long);

static uint32_t io_value(struct vmm_vcpu *vcpu)
{
	uint32_t v;

	memcpy(&v, (char *)vcpu->run + vcpu->run->io.data_offset, 4);
	return v;
}

/* the host runs under QEMU's TCG (hypervisor CPUID leaf "TCGTCGTCGTCG") */
static bool host_is_tcg(void)
{
	uint32_t a = 0x40000000, sig[3], c = 0;

	asm volatile("cpuid" : "+a"(a), "=b"(sig[0]), "+c"(c), "=d"(sig[2]));
	sig[1] = c;
	return !memcmp(sig, "TCGTCGTCGTCG", 12);
}

/*
 * KVM with NPT keeps EFER.LME in the VMCB while guest paging is off; QEMU
 * 7.2's TCG SVM model mishandles the #VMEXIT from such a VMCB (the host's
 * CR0 is not restored) and the rig guest wedges.  vmm keeps LME out of the
 * VMCB until CR0.PG is set, as KVM without NPT.
 */
#define KVM_TCG_WEDGE	"kvm_amd under QEMU TCG: VMCB with EFER.LME and CR0.PG=0 wedges the host"

/* Run to the guest's next exit, which must be port I/O to port @p. */
#define ASSERT_RUN_TO_OUT(vcpu, p) do {					\
	vcpu_run(vcpu);							\
	ASSERT_EXIT(vcpu, VMM_EXIT_IO);					\
	ASSERT_EQ((p), (vcpu)->run->io.port);				\
} while (0)

TEST(pm32_to_long)
{
	struct vmm_vm *vm;
	struct vmm_vcpu *vcpu;
	struct vmm_sregs sregs;

	if (vmm_dev_is_kvm() && host_is_tcg())
		SKIP(return, KVM_TCG_WEDGE);
	vm = vm_create_default(NULL, NULL);
	vcpu = vm_add_vcpu(vm, 0);

	vcpu_setup_pmode32(vcpu, (uintptr_t)pm_to_long);
	vcpu_get_sregs(vcpu, &sregs);
	sregs.efer = X86_EFER_LME;
	vcpu_set_sregs(vcpu, &sregs);
	ASSERT_RUN_TO_OUT(vcpu, 0x12);
	EXPECT_EQ(X86_EFER_LME | X86_EFER_LMA,
		  io_value(vcpu) & (X86_EFER_LME | X86_EFER_LMA));
	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(X86_EFER_LME | X86_EFER_LMA,
		  sregs.efer & (X86_EFER_LME | X86_EFER_LMA));
	EXPECT_EQ(X86_CR0_PG | X86_CR0_PE,
		  sregs.cr0 & (X86_CR0_PG | X86_CR0_PE));
	EXPECT_EQ(X86_CR4_PAE, sregs.cr4 & X86_CR4_PAE);
	EXPECT_EQ(GUEST_PT_GPA, sregs.cr3);
	EXPECT_EQ(1, sregs.cs.l);
	EXPECT_EQ(GUEST_SEL_CODE64, sregs.cs.selector);
	ASSERT_RUN_TO_OUT(vcpu, 0x13);
	EXPECT_EQ(X86_CR0_PG | X86_CR0_PE,
		  io_value(vcpu) & (X86_CR0_PG | X86_CR0_PE));
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_HLT);
	vm_free(vm);
}

/*
 * 64-bit guest: far return to the 32-bit code segment (compatibility
 * mode), clear CR0.PG (long mode deactivates), report CR0 (read by the
 * guest) on port 0x12 and EFER (RDMSR) on port 0x14, set CR0.PG again
 * (long mode activates), far jump back to 64-bit code, report EFER on port
 * 0x13, halt.
 */
asm(
	".text\n"
	".code64\n"
	".globl long_off_on\n"
	"long_off_on:\n\t"
	GUEST_ASM_LONG_TO_COMPAT
	GUEST_ASM_PAGING_OFF
	"mov %cr0, %eax\n\t"
	"out %eax, $0x12\n\t"
	"mov $0xc0000080, %ecx\n\t"
	"rdmsr\n\t"
	"out %eax, $0x14\n\t"
	GUEST_ASM_PAGING_ON_TO_LONG
	"mov $0xc0000080, %ecx\n\t"
	"rdmsr\n\t"
	"out %eax, $0x13\n\t"
	"hlt\n"
);

GUEST_LABEL(long_off_on);

TEST(paging_off_on)
{
	struct vmm_vm *vm;
	struct vmm_vcpu *vcpu;
	struct vmm_sregs sregs;

	if (vmm_dev_is_kvm() && host_is_tcg())
		SKIP(return, KVM_TCG_WEDGE);
	vm = vm_create_default(&vcpu, (void *)long_off_on);
	ASSERT_RUN_TO_OUT(vcpu, 0x12);
	EXPECT_EQ(X86_CR0_PE, io_value(vcpu) & (X86_CR0_PG | X86_CR0_PE));
	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(0, sregs.cr0 & X86_CR0_PG);
	EXPECT_EQ(GUEST_SEL_CODE32, sregs.cs.selector);
	/*
	 * With paging off, EFER.LMA is 0 architecturally, but what KVM
	 * reports for it (GET_SREGS, the guest's RDMSR) before its next CR0
	 * intercept could not be checked in the rig: logged only.
	 */
	ASSERT_RUN_TO_OUT(vcpu, 0x14);
	TH_LOG("paging off: guest RDMSR EFER %#x, GET_SREGS EFER %#llx CR0 %#llx; SET_SREGS of it: %s",
	       io_value(vcpu), sregs.efer, sregs.cr0,
	       ioctl(vcpu->fd, VMM_SET_SREGS, &sregs) ? strerror(errno) : "ok");
	EXPECT_EQ(X86_EFER_LME, io_value(vcpu) & X86_EFER_LME);
	ASSERT_RUN_TO_OUT(vcpu, 0x13);
	EXPECT_EQ(X86_EFER_LME | X86_EFER_LMA,
		  io_value(vcpu) & (X86_EFER_LME | X86_EFER_LMA));
	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(X86_CR0_PG, sregs.cr0 & X86_CR0_PG);
	EXPECT_EQ(1, sregs.cs.l);
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_HLT);
	vm_free(vm);
}

/* as long_off_on, but RDMSR(EFER) right after clearing CR0.PG, to port 0x14 */
asm(
	".text\n"
	".code64\n"
	".globl long_off_efer\n"
	"long_off_efer:\n\t"
	GUEST_ASM_LONG_TO_COMPAT
	GUEST_ASM_PAGING_OFF
	"mov $0xc0000080, %ecx\n\t"
	"rdmsr\n\t"
	"out %eax, $0x14\n\t"
	"hlt\n"
	".code64\n"
);

GUEST_LABEL(long_off_efer);

/*
 * Paging off in compatibility mode deactivates long mode: KVM sees the
 * CR0 write (selective CR0 write intercept) and clears EFER.LMA
 * (svm_set_cr0()), so the guest's RDMSR(EFER) right after it and
 * GET_SREGS show LME without LMA, and SET_SREGS takes that state back.
 *
 * vmm does not intercept that CR0 write while paging is on; it takes LMA
 * from the VMCB after every exit.  Before it did, the guest's RDMSR(EFER)
 * here returned 0x500, and GET_SREGS reported EFER 0x500 with CR0 0x33,
 * which SET_SREGS refused (EINVAL).  Skipped on kvm_amd under QEMU TCG as
 * pm32_to_long.
 */
TEST(paging_off_efer)
{
	struct vmm_vm *vm;
	struct vmm_vcpu *vcpu;
	struct vmm_sregs sregs;

	if (vmm_dev_is_kvm() && host_is_tcg())
		SKIP(return, KVM_TCG_WEDGE);
	vm = vm_create_default(&vcpu, (void *)long_off_efer);
	ASSERT_RUN_TO_OUT(vcpu, 0x14);
	EXPECT_EQ(X86_EFER_LME, io_value(vcpu) & (X86_EFER_LME | X86_EFER_LMA));
	vcpu_get_sregs(vcpu, &sregs);
	EXPECT_EQ(0, sregs.cr0 & X86_CR0_PG);
	EXPECT_EQ(X86_EFER_LME, sregs.efer & (X86_EFER_LME | X86_EFER_LMA));
	EXPECT_EQ(0, ioctl(vcpu->fd, VMM_SET_SREGS, &sregs));
	vcpu_run(vcpu);
	ASSERT_EXIT(vcpu, VMM_EXIT_HLT);
	vm_free(vm);
}

#define DR7_VAL	0x00f50400UL	/* R/W and LEN fields, no breakpoint enabled */

static void guest_debug_regs(void)
{
	uint64_t v;

	asm volatile("mov %0, %%dr0" : : "r"(0x1000UL));
	asm volatile("mov %0, %%dr1" : : "r"(0x7ffff0001234UL));
	asm volatile("mov %0, %%dr2" : : "r"(0xffffffff80001000UL));
	asm volatile("mov %0, %%dr3" : : "r"(0x55aa55aa0000UL));
	asm volatile("mov %0, %%dr7" : : "r"(DR7_VAL));
	asm volatile("mov %%dr0, %0" : "=r"(v));
	GUEST_ASSERT_EQ(0x1000UL, v);
	asm volatile("mov %%dr1, %0" : "=r"(v));
	GUEST_ASSERT_EQ(0x7ffff0001234UL, v);
	asm volatile("mov %%dr2, %0" : "=r"(v));
	GUEST_ASSERT_EQ(0xffffffff80001000UL, v);
	asm volatile("mov %%dr3, %0" : "=r"(v));
	GUEST_ASSERT_EQ(0x55aa55aa0000UL, v);
	asm volatile("mov %%dr7, %0" : "=r"(v));
	GUEST_ASSERT_EQ(DR7_VAL, v);
	/* an exit to user space and back */
	GUEST_SYNC(1);
	asm volatile("mov %%dr0, %0" : "=r"(v));
	GUEST_ASSERT_EQ(0x1000UL, v);
	asm volatile("mov %%dr1, %0" : "=r"(v));
	GUEST_ASSERT_EQ(0x7ffff0001234UL, v);
	asm volatile("mov %%dr2, %0" : "=r"(v));
	GUEST_ASSERT_EQ(0xffffffff80001000UL, v);
	asm volatile("mov %%dr3, %0" : "=r"(v));
	GUEST_ASSERT_EQ(0x55aa55aa0000UL, v);
	asm volatile("mov %%dr7, %0" : "=r"(v));
	GUEST_ASSERT_EQ(DR7_VAL, v);
}

TEST(debug_regs)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_debug_regs);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, 1);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

#define KVM_ENOSYS	1000

static void guest_vmmcall(void)
{
	uint64_t rax = 0x7fffUL, rbx = 0x1111, rcx = 0x2222, rdx = 0x3333;
	uint64_t rsi = 0x4444;

	asm volatile("vmmcall"
		     : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx), "+S"(rsi)
		     : : "memory");
	GUEST_ASSERT_EQ(-KVM_ENOSYS, rax);
	GUEST_ASSERT_EQ(0x1111, rbx);
	GUEST_ASSERT_EQ(0x2222, rcx);
	GUEST_ASSERT_EQ(0x3333, rdx);
	GUEST_ASSERT_EQ(0x4444, rsi);
	GUEST_SYNC(rax);
}

TEST(vmmcall_unknown)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_vmmcall);
	struct ucall uc;

	ASSERT_SYNC(vcpu, &uc, (uint64_t)-KVM_ENOSYS);
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

TEST_HARNESS_MAIN
