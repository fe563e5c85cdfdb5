// SPDX-License-Identifier: GPL-2.0
/*
 * regs: VMM_{GET,SET}_{REGS,SREGS}: round trips, the reset state, and the
 * SREGS combinations KVM 6.1's kvm_is_valid_sregs() rejects.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kselftest_harness.h"
#include "vmm_util.h"

FIXTURE(vcpu) {
	struct vmm_vm *vm;
	struct vmm_vcpu *vcpu;
};

FIXTURE_SETUP(vcpu)
{
	self->vm = vm_create_empty();
	self->vcpu = vm_add_vcpu(self->vm, 0);
}

FIXTURE_TEARDOWN(vcpu)
{
	vm_free(self->vm);
}

static void log_seg(struct __test_metadata *_metadata, const char *name,
		    const struct vmm_segment *s)
{
	TH_LOG("%-3s sel %#06x base %#llx limit %#x type %u p %u dpl %u db %u s %u l %u g %u avl %u unusable %u",
	       name, s->selector, (unsigned long long)s->base, s->limit,
	       s->type, s->present, s->dpl, s->db, s->s, s->l, s->g, s->avl,
	       s->unusable);
}

TEST_F(vcpu, reset_state)
{
	struct vmm_sregs sregs;
	struct vmm_regs regs;
	const struct vmm_segment *data[] = {
		&sregs.ds, &sregs.es, &sregs.fs, &sregs.gs, &sregs.ss,
	};
	unsigned int i;

	vcpu_get_regs(self->vcpu, &regs);
	vcpu_get_sregs(self->vcpu, &sregs);
	log_seg(_metadata, "cs", &sregs.cs);
	log_seg(_metadata, "ds", &sregs.ds);
	log_seg(_metadata, "ss", &sregs.ss);
	log_seg(_metadata, "tr", &sregs.tr);
	log_seg(_metadata, "ldt", &sregs.ldt);
	TH_LOG("cr0 %#llx cr4 %#llx efer %#llx apic_base %#llx rdx %#llx",
	       sregs.cr0, sregs.cr4, sregs.efer, sregs.apic_base, regs.rdx);

	EXPECT_EQ(0xfff0, regs.rip);
	EXPECT_EQ(X86_RFLAGS_FIXED, regs.rflags);
	/* KVM: CPUID.1.EAX if set, else 0x600 */
	EXPECT_EQ(0x600, regs.rdx);
	EXPECT_EQ(0, regs.rax | regs.rbx | regs.rcx | regs.rsi | regs.rdi |
		  regs.rsp | regs.rbp | regs.r8 | regs.r9 | regs.r10 |
		  regs.r11 | regs.r12 | regs.r13 | regs.r14 | regs.r15);

	EXPECT_EQ(0xf000, sregs.cs.selector);
	EXPECT_EQ(0xffff0000, sregs.cs.base);
	EXPECT_EQ(0xffff, sregs.cs.limit);
	/* KVM on SVM reports CS type 10, VMX 11: ignore the accessed bit */
	EXPECT_EQ(11, sregs.cs.type | 1);
	EXPECT_EQ(1, sregs.cs.present);
	EXPECT_EQ(1, sregs.cs.s);
	EXPECT_EQ(0, sregs.cs.l);
	EXPECT_EQ(0, sregs.cs.db);
	for (i = 0; i < ARRAY_LEN(data); i++) {
		EXPECT_EQ(0, data[i]->selector);
		EXPECT_EQ(0, data[i]->base);
		EXPECT_EQ(0xffff, data[i]->limit);
		EXPECT_EQ(3, data[i]->type | 1);
		EXPECT_EQ(1, data[i]->present);
		EXPECT_EQ(1, data[i]->s);
	}
	/* busy TSS, 16-bit (KVM on SVM) or 32-bit */
	EXPECT_TRUE(sregs.tr.type == 3 || sregs.tr.type == 11);
	EXPECT_EQ(1, sregs.tr.present);
	EXPECT_EQ(0, sregs.tr.selector);
	EXPECT_EQ(0, sregs.tr.base);
	EXPECT_EQ(0xffff, sregs.tr.limit);
	EXPECT_EQ(2, sregs.ldt.type);
	EXPECT_EQ(0, sregs.ldt.selector);
	EXPECT_EQ(0, sregs.ldt.base);
	EXPECT_EQ(0xffff, sregs.ldt.limit);
	EXPECT_EQ(0, sregs.gdt.base);
	EXPECT_EQ(0xffff, sregs.gdt.limit);
	EXPECT_EQ(0, sregs.idt.base);
	EXPECT_EQ(0xffff, sregs.idt.limit);
	EXPECT_EQ(0x60000010, sregs.cr0);
	EXPECT_EQ(0, sregs.cr2);
	EXPECT_EQ(0, sregs.cr3);
	EXPECT_EQ(0, sregs.cr4);
	EXPECT_EQ(0, sregs.cr8);
	EXPECT_EQ(0, sregs.efer);
	/* APIC base MSR reset value: 0xfee00000, enabled, BSP (vCPU 0) */
	EXPECT_EQ(0xfee00900, sregs.apic_base);
	for (i = 0; i < ARRAY_LEN(sregs.interrupt_bitmap); i++)
		EXPECT_EQ(0, sregs.interrupt_bitmap[i]);
}

TEST_F(vcpu, regs_roundtrip)
{
	struct vmm_regs in, out;
	uint64_t *p = (uint64_t *)&in;
	unsigned int i;

	for (i = 0; i < sizeof(in) / 8; i++)
		p[i] = 0x0101010101010101UL * (i + 1);
	in.rip = 0x123456;
	in.rflags = 0x8d5 | X86_RFLAGS_FIXED;	/* CF PF AF ZF SF OF */
	vcpu_set_regs(self->vcpu, &in);
	vcpu_get_regs(self->vcpu, &out);
	ASSERT_EQ(0, memcmp(&in, &out, sizeof(in)));
}

TEST_F(vcpu, rflags_fixed_bit)
{
	struct vmm_regs regs;

	vcpu_get_regs(self->vcpu, &regs);
	regs.rflags = 0;
	vcpu_set_regs(self->vcpu, &regs);
	vcpu_get_regs(self->vcpu, &regs);
	ASSERT_EQ(X86_RFLAGS_FIXED, regs.rflags);
	regs.rflags = 0x8d5;
	vcpu_set_regs(self->vcpu, &regs);
	vcpu_get_regs(self->vcpu, &regs);
	ASSERT_EQ(0x8d5 | X86_RFLAGS_FIXED, regs.rflags);
}

static void expect_seg_eq(struct __test_metadata *_metadata,
			  const struct vmm_segment *a,
			  const struct vmm_segment *b)
{
	EXPECT_EQ(a->base, b->base);
	EXPECT_EQ(a->limit, b->limit);
	EXPECT_EQ(a->selector, b->selector);
	EXPECT_EQ(a->type, b->type);
	EXPECT_EQ(a->present, b->present);
	EXPECT_EQ(a->dpl, b->dpl);
	EXPECT_EQ(a->db, b->db);
	EXPECT_EQ(a->s, b->s);
	EXPECT_EQ(a->l, b->l);
	EXPECT_EQ(a->g, b->g);
}

TEST_F(vcpu, sregs_roundtrip_long_mode)
{
	struct vmm_sregs in, out;

	vcpu_get_sregs(self->vcpu, &in);
	sregs_set_long_mode(&in);
	in.cr2 = 0xdead000;
	vcpu_set_sregs(self->vcpu, &in);
	vcpu_get_sregs(self->vcpu, &out);
	expect_seg_eq(_metadata, &in.cs, &out.cs);
	expect_seg_eq(_metadata, &in.ds, &out.ds);
	expect_seg_eq(_metadata, &in.es, &out.es);
	expect_seg_eq(_metadata, &in.fs, &out.fs);
	expect_seg_eq(_metadata, &in.gs, &out.gs);
	expect_seg_eq(_metadata, &in.ss, &out.ss);
	expect_seg_eq(_metadata, &in.tr, &out.tr);
	EXPECT_EQ(in.gdt.base, out.gdt.base);
	EXPECT_EQ(in.gdt.limit, out.gdt.limit);
	EXPECT_EQ(in.idt.base, out.idt.base);
	EXPECT_EQ(in.idt.limit, out.idt.limit);
	EXPECT_EQ(in.cr0, out.cr0);
	EXPECT_EQ(in.cr2, out.cr2);
	EXPECT_EQ(in.cr3, out.cr3);
	EXPECT_EQ(in.cr4, out.cr4);
	EXPECT_EQ(in.efer, out.efer);
}

/* Combinations KVM accepts although they look odd. */
TEST_F(vcpu, sregs_valid_odd)
{
	struct vmm_sregs reset, s, out;

	vcpu_get_sregs(self->vcpu, &reset);

	s = reset;	/* cache disabled, not write-through */
	s.cr0 = X86_CR0_CD | X86_CR0_NW | X86_CR0_ET;
	vcpu_set_sregs(self->vcpu, &s);
	vcpu_get_sregs(self->vcpu, &out);
	ASSERT_EQ(s.cr0, out.cr0);

	s = reset;	/* protected mode without paging, real-mode segments */
	s.cr0 = X86_CR0_PE | X86_CR0_ET;
	vcpu_set_sregs(self->vcpu, &s);
	vcpu_get_sregs(self->vcpu, &out);
	ASSERT_EQ(s.cr0, out.cr0);

	s = reset;	/* EFER.LME without paging: not yet in long mode */
	s.efer = X86_EFER_LME;
	vcpu_set_sregs(self->vcpu, &s);
	vcpu_get_sregs(self->vcpu, &out);
	ASSERT_EQ(X86_EFER_LME, out.efer);
}

struct bad_sregs {
	const char *what;
	bool long_mode;		/* start from the default long-mode state */
	uint64_t cr0_set, cr0_clear, cr4_set, cr4_clear;
	uint64_t efer_set, efer_clear;
	uint64_t cr3;
	bool cs_l;
};

static const struct bad_sregs bad[] = {
	{ "CR0.PG without CR0.PE", .cr0_set = X86_CR0_PG,
	  .cr0_clear = X86_CR0_PE },
	{ "CR0.NW without CR0.CD", .cr0_set = X86_CR0_NW,
	  .cr0_clear = X86_CR0_CD },
	{ "CR0 bit 32", .cr0_set = 1UL << 32 },
	{ "CR0 bit 63", .cr0_set = 1UL << 63 },
	{ "CR4 bit 63", .cr4_set = 1UL << 63 },
	{ "CR4 bit 25", .cr4_set = 1UL << 25 },
	/*
	 * KVM 6.1 checks CR4 against guest CPUID only once SET_CPUID2 has
	 * run; before that it accepts any bit the host supports (OSXSAVE
	 * ...).  LA57 is not supported by the rig's CPU (EPYC).
	 */
	{ "CR4.LA57 (not supported)", .cr4_set = 1UL << 12 },
	{ "CS.L outside long mode", .cs_l = true },
	{ "EFER.LMA without LME and PG", .efer_set = X86_EFER_LMA },
	{ "long mode without CR4.PAE", .long_mode = true,
	  .cr4_clear = X86_CR4_PAE },
	{ "EFER.LME and CR0.PG without EFER.LMA", .long_mode = true,
	  .efer_clear = X86_EFER_LMA },
	{ "long mode, CR3 above MAXPHYADDR", .long_mode = true,
	  .cr3 = 1UL << 52 },
	{ "long mode, CR0.PG without CR0.PE", .long_mode = true,
	  .cr0_clear = X86_CR0_PE },
};

TEST_F(vcpu, sregs_invalid)
{
	struct vmm_sregs reset, long_mode, before, after, s;
	unsigned int i;

	vcpu_get_sregs(self->vcpu, &reset);
	long_mode = reset;
	sregs_set_long_mode(&long_mode);

	for (i = 0; i < ARRAY_LEN(bad); i++) {
		/* alternate the current state between reset and long mode */
		vcpu_set_sregs(self->vcpu, i & 1 ? &long_mode : &reset);
		vcpu_get_sregs(self->vcpu, &before);

		s = bad[i].long_mode ? long_mode : reset;
		s.cr0 = (s.cr0 | bad[i].cr0_set) & ~bad[i].cr0_clear;
		s.cr4 = (s.cr4 | bad[i].cr4_set) & ~bad[i].cr4_clear;
		s.efer = (s.efer | bad[i].efer_set) & ~bad[i].efer_clear;
		if (bad[i].cr3)
			s.cr3 = bad[i].cr3;
		if (bad[i].cs_l)
			s.cs.l = 1;
		errno = 0;
		EXPECT_EQ(-1, ioctl(self->vcpu->fd, VMM_SET_SREGS, &s)) {
			TH_LOG("accepted: %s", bad[i].what);
		}
		EXPECT_EQ(EINVAL, errno) {
			TH_LOG("%s: errno %d", bad[i].what, errno);
		}
		vcpu_get_sregs(self->vcpu, &after);
		EXPECT_EQ(0, memcmp(&before, &after, sizeof(before))) {
			TH_LOG("state changed by rejected SET_SREGS: %s",
			       bad[i].what);
		}
	}
}

TEST_HARNESS_MAIN
