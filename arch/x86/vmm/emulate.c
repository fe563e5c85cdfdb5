// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm: the small x86 instruction emulator.
 *
 * It walks the guest's page tables to read and write guest-virtual memory
 * (string I/O, instruction fetch) and decodes the instructions that touch
 * MMIO: MOV between a register or an immediate and memory (88, 89, 8A,
 * 8B, C6, C7, A0-A3), MOVZX and MOVSX (0F B6/B7/BE/BF), sizes 1, 2, 4
 * and 8, every addressing mode.  The guest-physical address comes from the
 * nested page fault, so the decoder only needs the operands and the length
 * of the instruction, never its effective address.  Everything else ends
 * in VMM_EXIT_INTERNAL_ERROR / VMM_INTERNAL_ERROR_EMULATION with the
 * instruction bytes.  The page walk checks what the CPU checks (present,
 * reserved bits for the guest's MAXPHYADDR of 36 and EFER.NXE, U/S, R/W
 * with CR0.WP, NX) and sets accessed and dirty bits as the CPU does.
 */
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/processor-flags.h>
#include <asm/msr-index.h>
#include <asm/trapnr.h>
#include <asm/unaligned.h>
#include "x86.h"

#define PFERR_PRESENT	BIT(0)
#define PFERR_WRITE	BIT(1)
#define PFERR_USER	BIT(2)
#define PFERR_RSVD	BIT(3)
#define PFERR_FETCH	BIT(4)

#define PTE_P		BIT_ULL(0)
#define PTE_RW		BIT_ULL(1)
#define PTE_US		BIT_ULL(2)
#define PTE_A		BIT_ULL(5)
#define PTE_D		BIT_ULL(6)
#define PTE_PS		BIT_ULL(7)
#define PTE_NX		BIT_ULL(63)
#define PTE_ADDR_MASK	GENMASK_ULL(51, 12)
/* Physical address bits above the guest's MAXPHYADDR. */
#define PTE_RSVD_PA	GENMASK_ULL(51, VMM_GUEST_MAXPHYADDR)
/* Ignored by 4-level paging, reserved in PAE paging. */
#define PTE_RSVD_PAE	GENMASK_ULL(62, 52)

#define VMM_WALK_READ	0
#define VMM_WALK_WRITE	1
#define VMM_WALK_FETCH	2

/* Walks of one access before the guest re-executes the instruction. */
#define VMM_WALK_RETRIES	8

struct vmm_walk_ctx {
	struct vmm_sregs *sregs;
	int cpl;
};

/* The guest's paging state, in a buffer of the vCPU: no allocation. */
static void vmm_walk_ctx_init(struct vmm_x86_vcpu *xv, struct vmm_walk_ctx *c)
{
	c->sregs = xv->walk_sregs;
	memset(c->sregs, 0, sizeof(*c->sregs));
	vmm_x86_call(get_sregs)(xv, c->sregs);
	c->cpl = vmm_x86_call(get_cpl)(xv);
}

/* The user address of guest-physical @gpa; 0 if no memslot backs it. */
static unsigned long vmm_gpa_to_hva(struct vmm_vm *vm, gpa_t gpa, bool write)
{
	struct vmm_memslot *slot;
	unsigned long hva = 0;
	int idx;

	idx = srcu_read_lock(&vm->srcu);
	slot = vmm_gfn_to_memslot(vm, gpa >> PAGE_SHIFT);
	if (slot && !(write && (slot->flags & VMM_MEM_READONLY)))
		hva = vmm_gfn_to_hva(slot, gpa >> PAGE_SHIFT) +
		      offset_in_page(gpa);
	srcu_read_unlock(&vm->srcu, idx);
	return hva;
}

/* Copy guest-physical memory; -EFAULT if no memslot backs it. */
static int vmm_rw_guest_phys(struct vmm_vm *vm, gpa_t gpa, void *buf,
			     unsigned int len, bool write)
{
	unsigned long hva = vmm_gpa_to_hva(vm, gpa, write);

	if (!hva)
		return -EFAULT;
	if (write)
		return copy_to_user((void __user *)hva, buf, len) ? -EFAULT : 0;
	return copy_from_user(buf, (void __user *)hva, len) ? -EFAULT : 0;
}

static int vmm_read_pte(struct vmm_vm *vm, gpa_t gpa, u64 *pte, bool wide)
{
	u32 pte32;
	int r;

	if (wide)
		return vmm_rw_guest_phys(vm, gpa, pte, 8, false);
	r = vmm_rw_guest_phys(vm, gpa, &pte32, 4, false);
	*pte = pte32;
	return r;
}

/*
 * Set accessed/dirty @bits in the guest PTE at @gpa, as the CPU does,
 * atomically against other vCPUs: 0 when done (or not needed, or the
 * table is in read-only memory, which the CPU could not update either), 1
 * when the entry changed under us (walk again), -EFAULT.
 */
static int vmm_update_pte(struct vmm_vm *vm, gpa_t gpa, u64 old, u64 bits,
			  bool wide)
{
	u32 __user *p32;
	unsigned long hva;
	u32 o32;

	if ((old & bits) == bits)
		return 0;
	hva = vmm_gpa_to_hva(vm, gpa, true);
	if (!hva)
		return 0;
	if (wide) {
		u64 __user *p = (u64 __user *)hva;
		u64 o = old;

		if (!access_ok(p, sizeof(*p)))
			return -EFAULT;
		/* 0 when swapped, 1 when changed, -EFAULT */
		return __try_cmpxchg_user(p, &o, old | bits, efault64);
	}
	p32 = (u32 __user *)hva;
	o32 = old;
	if (!access_ok(p32, sizeof(*p32)))
		return -EFAULT;
	return __try_cmpxchg_user(p32, &o32, (u32)(old | bits), efault32);
}

/*
 * Reserved bits of a PAE/long-mode entry at @level (KVM without CPUID:
 * MAXPHYADDR 36).  4-level paging ignores bits 62:52 of every entry, PAE
 * paging reserves them (SDM 4.4.2, tables 4-8 to 4-11: bits 62:MAXPHYADDR
 * of a PDE or PTE, 63:MAXPHYADDR of a PDPTE); bit 63 (XD) is reserved at
 * every level without EFER.NXE.
 */
static u64 vmm_rsvd_bits(const struct vmm_sregs *s, int level, u64 pte,
			 bool pae32)
{
	u64 rsvd = PTE_RSVD_PA;

	if (!(s->efer & EFER_NX))
		rsvd |= PTE_NX;
	if (pae32)
		rsvd |= PTE_RSVD_PAE;
	/*
	 * Bits 8:5 and 2:1 of a PDPTE are reserved too, but the CPU checks
	 * them when it loads the PDPTEs (MOV to CR3, which nested paging
	 * does not intercept), not in the walk, and QEMU's model of nested
	 * paging sets the accessed bit (5) in PDPTEs it walks: checking them
	 * here would fault an emulated access the guest's own accesses pass.
	 * KVM's walker does not check them either.
	 */
	if (pae32 && level == 3)
		return rsvd | PTE_NX;
	if (level == 4)
		return rsvd | PTE_PS;
	if ((pte & PTE_PS) && level == 3)
		rsvd |= GENMASK_ULL(29, 13);
	else if ((pte & PTE_PS) && level == 2)
		rsvd |= GENMASK_ULL(20, 13);
	return rsvd;
}

/*
 * Translate @gva for an access of @kind (VMM_WALK_*) as the CPU would:
 * present, reserved-bit, U/S, R/W (CR0.WP) and NX checks, then set the
 * accessed bits of every entry used and the dirty bit of the leaf for a
 * write.  Returns 0 and the address in @gpa, PFERR_* | BIT(31) for a guest
 * page fault, -EFAULT if a table is not in guest memory, or -EAGAIN when
 * other vCPUs kept changing the entries under the accessed/dirty update:
 * the caller then re-enters the guest without completing the instruction,
 * which executes it again (KVM's RET_PF_RETRY).
 */
static long vmm_walk(struct vmm_x86_vcpu *xv, struct vmm_walk_ctx *c,
		     unsigned long gva, int kind, gpa_t *gpa)
{
	struct vmm_vm *vm = xv->vcpu.vm;
	const struct vmm_sregs *s = c->sregs;
	bool user = c->cpl == 3, wp = s->cr0 & X86_CR0_WP;
	bool write = kind == VMM_WALK_WRITE, fetch = kind == VMM_WALK_FETCH;
	bool nx = (s->efer & EFER_NX) && (s->efer & EFER_LMA ||
					  s->cr4 & X86_CR4_PAE);
	gpa_t pte_gpa[4];
	u64 ptes[4];
	int level, levels, shift, leaf, retries = 0;
	bool wide, pae32;
	u64 pte, table, out, smask;
	u32 err;

	if (!(s->cr0 & X86_CR0_PG)) {
		*gpa = (u32)gva;
		return 0;
	}
retry:
	err = 0;
	smask = ~0ULL;
	pae32 = false;
	if (s->efer & EFER_LMA) {
		levels = 4;
		wide = true;
		table = s->cr3 & PTE_ADDR_MASK;
	} else if (s->cr4 & X86_CR4_PAE) {
		gva = (u32)gva;
		levels = 3;
		wide = true;
		pae32 = true;
		table = s->cr3 & GENMASK_ULL(31, 5);
	} else {
		gva = (u32)gva;
		levels = 2;
		wide = false;
		table = s->cr3 & GENMASK_ULL(31, 12);
	}

	for (level = levels; level >= 1; level--) {
		unsigned long idx;
		bool large;

		if (wide) {
			shift = 12 + 9 * (level - 1);
			idx = (gva >> shift) & (pae32 && level == 3 ? 3 : 511);
		} else {
			shift = 12 + 10 * (level - 1);
			idx = (gva >> shift) & 1023;
		}
		pte_gpa[level - 1] = table + idx * (wide ? 8 : 4);
		if (vmm_read_pte(vm, pte_gpa[level - 1], &pte, wide))
			return -EFAULT;
		ptes[level - 1] = pte;
		if (!(pte & PTE_P))
			goto fault;
		large = level > 1 && (pte & PTE_PS) &&
			(wide ? level <= 3 && !(pae32 && level == 3)
			      : (s->cr4 & X86_CR4_PSE) && level == 2);
		if (wide && (pte & vmm_rsvd_bits(s, level, pte, pae32))) {
			err |= PFERR_PRESENT | PFERR_RSVD;
			goto fault;
		}
		/* PSE-36: bits 21:17 of a 4 MiB PDE above MAXPHYADDR 36 */
		if (!wide && large && (pte & GENMASK_ULL(21, 17))) {
			err |= PFERR_PRESENT | PFERR_RSVD;
			goto fault;
		}
		/* PAE PDPTEs carry no permission bits. */
		if (!(pae32 && level == 3))
			smask &= pte;
		if (large) {
			u64 mask = (1ULL << shift) - 1;

			if (wide)
				out = (pte & PTE_ADDR_MASK & ~mask) | (gva & mask);
			else
				out = (pte & GENMASK_ULL(31, 22)) |
				      ((pte >> 13) & 0xfULL) << 32 |
				      (gva & mask);
			break;
		}
		table = wide ? pte & PTE_ADDR_MASK : pte & GENMASK_ULL(31, 12);
		out = table | (gva & (PAGE_SIZE - 1));
	}
	leaf = level < 1 ? 0 : level - 1;

	/* Permissions: the AND of U/S and R/W, the OR of NX, over all levels. */
	if (!(smask & PTE_US) && user)
		goto prot;
	if (!(smask & PTE_RW) && write && (user || wp))
		goto prot;
	if (fetch && nx) {
		for (level = levels; level > leaf; level--)
			if (ptes[level - 1] & PTE_NX &&
			    !(pae32 && level == 3))
				goto prot;
	}

	/* Accessed bits of every level, dirty bit of the leaf. */
	for (level = levels; level > leaf; level--) {
		u64 bits = PTE_A;
		int r;

		if (pae32 && level == 3)
			continue;
		if (level - 1 == leaf && write)
			bits |= PTE_D;
		r = vmm_update_pte(vm, pte_gpa[level - 1], ptes[level - 1],
				   bits, wide);
		if (r < 0)
			return r;
		if (!r)
			continue;
		if (++retries < VMM_WALK_RETRIES)
			goto retry;
		/*
		 * Neither fail the access nor go on with a translation whose
		 * A/D bits are not set: let the guest run the instruction
		 * again, as KVM does.  Nothing has been accessed yet.
		 */
		return -EAGAIN;
	}
	*gpa = out;
	return 0;

prot:
	err |= PFERR_PRESENT;
fault:
	err |= (write ? PFERR_WRITE : 0) | (user ? PFERR_USER : 0) |
	       (fetch && nx ? PFERR_FETCH : 0);
	return err | BIT(31);
}

static int vmm_rw_guest_virt(struct vmm_x86_vcpu *xv, unsigned long gva,
			     void *buf, unsigned int len, bool write)
{
	struct vmm_walk_ctx c;
	int r = 0;

	vmm_walk_ctx_init(xv, &c);
	while (len) {
		unsigned int n = min_t(unsigned int, len,
				       PAGE_SIZE - offset_in_page(gva));
		gpa_t gpa;
		long w = vmm_walk(xv, &c, gva,
				  write ? VMM_WALK_WRITE : VMM_WALK_READ, &gpa);

		if (w == -EAGAIN)
			return VMM_X86_RETRY;
		if (w < 0)
			return -EFAULT;
		if (w) {
			vmm_x86_queue_pf(xv, w & ~BIT(31), gva);
			return VMM_X86_EXCEPTION;
		}
		r = vmm_rw_guest_phys(xv->vcpu.vm, gpa, buf, n, write);
		if (r)
			break;
		gva += n;
		buf += n;
		len -= n;
	}
	return r;
}

int vmm_x86_read_guest_virt(struct vmm_x86_vcpu *xv, unsigned long gva,
			    void *buf, unsigned int len)
{
	return vmm_rw_guest_virt(xv, gva, buf, len, false);
}

int vmm_x86_write_guest_virt(struct vmm_x86_vcpu *xv, unsigned long gva,
			     const void *buf, unsigned int len)
{
	return vmm_rw_guest_virt(xv, gva, (void *)buf, len, true);
}

/* ---- decoding ---------------------------------------------------------- */

struct vmm_insn {
	u8 bytes[15];
	unsigned int len;	/* bytes fetched */
	unsigned int pos;
	bool mode64;
	u8 cs_size;		/* 2 or 4 outside 64-bit mode: IP/EIP wrap */
	u8 op_size;		/* 2, 4 or 8 */
	u8 addr_size;		/* 2, 4 or 8 */
	u8 rex;
	s8 seg;			/* segment override, VCPU_SREG order, or -1 */
	/* memory operand: effective address, RIP-relative, SS by default */
	unsigned long ea;
	bool rip_rel;
	bool ea_ss;
};

static unsigned long vmm_linear_rip(struct vmm_x86_vcpu *xv,
				    const struct vmm_sregs *s, bool mode64)
{
	unsigned long rip = vmm_rip_read(xv);

	if (mode64)
		return rip;
	return (u32)(s->cs.base + (s->cs.db ? (u32)rip : (u16)rip));
}

/*
 * Fetch up to 15 instruction bytes at CS:RIP.  Returns 0, VMM_X86_EXCEPTION
 * when the first byte cannot be fetched (a #PF is queued, as the CPU would
 * raise it), VMM_X86_RETRY (see vmm_walk()), or < 0 on error.  Bytes past a failing later page are simply
 * not fetched.
 */
static int vmm_fetch(struct vmm_x86_vcpu *xv, struct vmm_insn *in)
{
	struct vmm_walk_ctx c;
	unsigned long lip;
	unsigned int got = 0;

	vmm_walk_ctx_init(xv, &c);
	in->mode64 = (c.sregs->efer & EFER_LMA) && c.sregs->cs.l;
	if (in->mode64) {
		in->op_size = 4;
		in->addr_size = 8;
		in->cs_size = 8;
	} else {
		in->op_size = c.sregs->cs.db ? 4 : 2;
		in->addr_size = in->op_size;
		in->cs_size = in->op_size;
	}
	in->len = 0;
	in->pos = 0;
	in->rex = 0;
	in->seg = -1;
	lip = vmm_linear_rip(xv, c.sregs, in->mode64);
	while (got < sizeof(in->bytes)) {
		unsigned int n = min_t(unsigned int, sizeof(in->bytes) - got,
				       PAGE_SIZE - offset_in_page(lip + got));
		gpa_t gpa;
		long w = vmm_walk(xv, &c, lip + got, VMM_WALK_FETCH, &gpa);

		if (w == -EAGAIN)
			return VMM_X86_RETRY;
		if (w < 0)
			break;
		if (w) {
			if (got)
				break;
			vmm_x86_queue_pf(xv, w & ~BIT(31), lip);
			return VMM_X86_EXCEPTION;
		}
		if (vmm_rw_guest_phys(xv->vcpu.vm, gpa, in->bytes + got, n,
				      false))
			break;
		got += n;
	}
	in->len = got;
	return 0;
}

/* RIP after the decoded bytes, wrapping at the size of the code segment. */
static unsigned long vmm_insn_next_rip(struct vmm_x86_vcpu *xv,
				       const struct vmm_insn *in)
{
	unsigned long rip = vmm_rip_read(xv) + in->pos;

	if (in->cs_size == 4)
		return (u32)rip;
	if (in->cs_size == 2)
		return (u16)rip;
	return rip;
}

static int vmm_next(struct vmm_insn *in)
{
	if (in->pos >= in->len)
		return -1;
	return in->bytes[in->pos++];
}

/*
 * Skip legacy prefixes and REX; returns the first opcode byte or -1.  A
 * repeated 0x66 or 0x67 has the effect of one, and only a REX right before
 * the opcode counts (the last one; a legacy prefix after it cancels it).
 */
static int vmm_decode_prefixes(struct vmm_insn *in)
{
	bool opsize = false, adsize = false;
	int b;

	for (;;) {
		b = vmm_next(in);
		switch (b) {
		case 0x66:
			opsize = true;
			in->rex = 0;
			continue;
		case 0x67:
			adsize = true;
			in->rex = 0;
			continue;
		case 0xf0: case 0xf2: case 0xf3:
			in->rex = 0;
			continue;
		case 0x26: case 0x2e: case 0x36: case 0x3e:
			in->seg = (b >> 3) & 3;		/* ES CS SS DS */
			in->rex = 0;
			continue;
		case 0x64: case 0x65:
			in->seg = b - 0x64 + 4;		/* FS GS */
			in->rex = 0;
			continue;
		}
		if (in->mode64 && b >= 0x40 && b <= 0x4f) {
			in->rex = b;
			continue;
		}
		break;
	}
	if (opsize)
		in->op_size = in->op_size == 4 ? 2 : 4;
	if (in->rex & 0x08)
		in->op_size = 8;
	if (adsize)
		in->addr_size = in->mode64 ? 4 : (in->addr_size == 4 ? 2 : 4);
	return b;
}

/* A little-endian, sign-extended displacement of @size bytes at pos. */
static long vmm_disp(const struct vmm_insn *in, unsigned int size)
{
	const u8 *p = &in->bytes[in->pos];

	if (size == 1)
		return (s8)p[0];
	if (size == 2)
		return (s16)get_unaligned((const u16 *)p);
	return (s32)get_unaligned((const u32 *)p);
}

/*
 * Decode a ModRM operand (with SIB and displacement): returns ModRM or -1,
 * and for a memory operand its effective address in in->ea (RIP-relative:
 * relative to the end of the instruction, added by the caller) and
 * whether its default segment is SS.
 */
static int vmm_decode_modrm(struct vmm_x86_vcpu *xv, struct vmm_insn *in)
{
	/* BX+SI, BX+DI, BP+SI, BP+DI, SI, DI, BP (or disp16), BX */
	static const u8 rm16_base[8] = { 3, 3, 5, 5, 6, 7, 5, 3 };
	int modrm = vmm_next(in), mod, rm, sib;
	unsigned int disp = 0;
	unsigned long ea = 0;

	if (modrm < 0)
		return -1;
	mod = modrm >> 6;
	rm = modrm & 7;
	in->rip_rel = false;
	in->ea_ss = false;
	if (mod == 3)
		return modrm;
	if (in->addr_size == 2) {
		if (mod == 1)
			disp = 1;
		else if (mod == 2 || (mod == 0 && rm == 6))
			disp = 2;
		if (!(mod == 0 && rm == 6)) {
			ea = vmm_reg_read(xv, rm16_base[rm]);
			if (rm < 4)
				ea += vmm_reg_read(xv, rm & 1 ? VMM_REG_RDI : VMM_REG_RSI);
			in->ea_ss = rm == 2 || rm == 3 || rm == 6;
		}
	} else {
		int base = rm | ((in->rex & 1) ? 8 : 0);
		bool no_base = mod == 0 && rm == 5;

		if (rm == 4) {
			int index;

			sib = vmm_next(in);
			if (sib < 0)
				return -1;
			index = ((sib >> 3) & 7) | ((in->rex & 2) ? 8 : 0);
			if (index != 4)
				ea = vmm_reg_read(xv, index) << (sib >> 6);
			base = (sib & 7) | ((in->rex & 1) ? 8 : 0);
			no_base = mod == 0 && (sib & 7) == 5;
			if (no_base)
				disp = 4;
		} else if (no_base) {
			in->rip_rel = in->mode64;
		}
		if (!no_base) {
			ea += vmm_reg_read(xv, base);
			in->ea_ss = (base & 7) == 4 || (base & 7) == 5;
		}
		if (mod == 1)
			disp = 1;
		else if (mod == 2 || no_base)
			disp = 4;
	}
	if (in->pos + disp > in->len)
		return -1;
	if (disp)
		ea += vmm_disp(in, disp);
	in->pos += disp;
	in->ea = ea;
	return modrm;
}

static bool vmm_read_imm(struct vmm_insn *in, unsigned int size, u64 *imm)
{
	s64 v = 0;

	if (in->pos + size > in->len)
		return false;
	switch (size) {
	case 1:
		v = (s8)in->bytes[in->pos];
		break;
	case 2:
		v = (s16)get_unaligned((u16 *)&in->bytes[in->pos]);
		break;
	case 4:
		v = (s32)get_unaligned((u32 *)&in->bytes[in->pos]);
		break;
	case 8:
		v = get_unaligned((u64 *)&in->bytes[in->pos]);
		break;
	}
	in->pos += size;
	*imm = v;
	return true;
}

static int vmm_emulation_failure(struct vmm_x86_vcpu *xv,
				 const struct vmm_insn *in)
{
	struct vmm_run *run = xv->vcpu.run;

	run->exit_reason = VMM_EXIT_INTERNAL_ERROR;
	memset(&run->emulation_failure, 0, sizeof(run->emulation_failure));
	run->emulation_failure.suberror = VMM_INTERNAL_ERROR_EMULATION;
	/* flags + the 16 bytes of insn_size/insn_bytes */
	run->emulation_failure.ndata = 3;
	run->emulation_failure.flags =
		VMM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
	run->emulation_failure.insn_size = in->len;
	memcpy(run->emulation_failure.insn_bytes, in->bytes, in->len);
	return 0;
}

/* Register operand of size @size: value, or -1 for AH/CH/DH/BH. */
static unsigned long vmm_reg_value(struct vmm_x86_vcpu *xv,
				   const struct vmm_insn *in, int reg, int size)
{
	if (size == 1 && !in->rex && reg >= 4 && reg < 8)
		return (vmm_reg_read(xv, reg - 4) >> 8) & 0xff;
	return vmm_reg_read(xv, reg);
}

/*
 * The linear address of the decoded memory operand (in->ea, the whole
 * instruction decoded): segment base (in 64-bit mode only for FS and GS)
 * plus the effective address at the address size.  The segment's limit
 * and type are not checked.  Needs xv->walk_sregs from vmm_fetch().
 */
static unsigned long vmm_insn_linear(struct vmm_x86_vcpu *xv,
				     const struct vmm_insn *in)
{
	const struct vmm_sregs *s = xv->walk_sregs;
	const struct vmm_segment *segs[] = {
		&s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs,
	};
	int seg = in->seg >= 0 ? in->seg : in->ea_ss ? 2 : 3;
	unsigned long ea = in->ea, lin, base = 0;

	if (in->rip_rel)
		ea += vmm_rip_read(xv) + in->pos;
	if (in->addr_size != 8)
		ea &= (1UL << (in->addr_size * 8)) - 1;
	if (!in->mode64 || seg >= 4)
		base = segs[seg]->base;
	lin = base + ea;
	if (!in->mode64)
		lin = (u32)lin;
	return lin;
}

/* Exit to user space for the MMIO fragment xv->mmio.cur_frag. */
void vmm_x86_mmio_frag_exit(struct vmm_x86_vcpu *xv)
{
	struct vmm_x86_mmio_load *m = &xv->mmio;
	struct vmm_run *run = xv->vcpu.run;
	int i = m->cur_frag;

	run->exit_reason = VMM_EXIT_MMIO;
	run->mmio.phys_addr = m->frag_gpa[i];
	run->mmio.len = m->frag_len[i];
	run->mmio.is_write = m->write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (m->write)
		memcpy(run->mmio.data, m->buf + m->frag_off[i], m->frag_len[i]);
}

/*
 * An access of @len bytes that crosses a page boundary is split there, as
 * KVM's emulator_read_write() does: a part in guest RAM is read or written
 * directly, each part in MMIO is one exit to user space, in order.
 * Both pages are translated before anything is accessed.  Returns 0 if
 * the access does not cross a page, 1 to re-enter the guest (a fault was
 * queued, or no part is MMIO any more), 2 after setting up the exit for
 * the first MMIO part, or -EFAULT.
 */
static int vmm_mmio_split(struct vmm_x86_vcpu *xv, const struct vmm_insn *in,
			  gpa_t fault_gpa, bool write, unsigned int len,
			  u64 val)
{
	struct vmm_x86_mmio_load *m = &xv->mmio;
	struct vmm_walk_ctx c = { .sregs = xv->walk_sregs };
	unsigned long lin = vmm_insn_linear(xv, in);
	unsigned int i, done = 0;
	gpa_t gpas[2];

	if (offset_in_page(lin) + len <= PAGE_SIZE)
		return 0;

	c.cpl = vmm_x86_call(get_cpl)(xv);
	for (i = 0; i < 2; i++) {
		unsigned long la = lin + (i ? PAGE_SIZE - offset_in_page(lin) : 0);
		long w;

		if (!in->mode64)
			la = (u32)la;
		w = vmm_walk(xv, &c, la, write ? VMM_WALK_WRITE : VMM_WALK_READ,
			     &gpas[i]);
		if (w == -EAGAIN)
			return 1;
		if (w < 0)
			return w;
		if (w) {
			vmm_x86_queue_pf(xv, w & ~BIT(31), la);
			return 1;
		}
	}
	/* Not the access that faulted (a decoding slip): do not split. */
	if ((gpas[0] ^ fault_gpa) >> PAGE_SHIFT &&
	    (gpas[1] ^ fault_gpa) >> PAGE_SHIFT)
		return 0;

	m->write = write;
	m->nr_frags = 0;
	m->cur_frag = 0;
	memcpy(m->buf, &val, sizeof(m->buf));
	for (i = 0; i < 2; i++) {
		unsigned int n = i ? len - done : PAGE_SIZE - offset_in_page(lin);
		unsigned long hva = vmm_gpa_to_hva(xv->vcpu.vm, gpas[i], write);

		if (hva && write &&
		    copy_to_user((void __user *)hva, m->buf + done, n))
			return -EFAULT;
		if (hva && !write &&
		    copy_from_user(m->buf + done, (void __user *)hva, n))
			return -EFAULT;
		if (!hva) {
			m->frag_gpa[m->nr_frags] = gpas[i];
			m->frag_off[m->nr_frags] = done;
			m->frag_len[m->nr_frags] = n;
			m->nr_frags++;
		}
		done += n;
	}
	if (!m->nr_frags)
		return 1;	/* memory changed: execute it again */
	vmm_x86_mmio_frag_exit(xv);
	return 2;
}

int vmm_x86_emulate_mmio(struct vmm_x86_vcpu *xv, gpa_t gpa)
{
	struct vmm_run *run = xv->vcpu.run;
	struct vmm_x86_mmio_load *ld = &xv->mmio;
	struct vmm_insn in;
	int op, modrm = 0, reg = 0, size, r;
	unsigned int len;
	bool write = false, imm_src = false;
	u8 src_size = 0;
	bool sx = false;
	u64 val = 0;

	r = vmm_fetch(xv, &in);
	if (r)
		return r;
	op = vmm_decode_prefixes(&in);

	switch (op) {
	case 0x88: case 0x89: case 0x8a: case 0x8b:
		size = (op & 1) ? in.op_size : 1;
		write = op < 0x8a;
		modrm = vmm_decode_modrm(xv, &in);
		if (modrm < 0 || (modrm >> 6) == 3)
			goto fail;
		reg = ((modrm >> 3) & 7) | ((in.rex & 4) ? 8 : 0);
		break;
	case 0xc6: case 0xc7:
		size = (op & 1) ? in.op_size : 1;
		write = true;
		imm_src = true;
		modrm = vmm_decode_modrm(xv, &in);
		if (modrm < 0 || (modrm >> 6) == 3 || ((modrm >> 3) & 7))
			goto fail;
		if (!vmm_read_imm(&in, min(size, 4), &val))
			goto fail;
		break;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3: {
		u64 moffs;

		size = (op & 1) ? in.op_size : 1;
		write = op >= 0xa2;
		reg = VMM_REG_RAX;
		if (!vmm_read_imm(&in, in.addr_size, &moffs))
			goto fail;
		in.ea = moffs;
		in.rip_rel = false;
		in.ea_ss = false;
		break;
	}
	case 0x0f:
		op = vmm_next(&in);
		if (op != 0xb6 && op != 0xb7 && op != 0xbe && op != 0xbf)
			goto fail;
		src_size = (op & 1) ? 2 : 1;
		sx = op >= 0xbe;
		modrm = vmm_decode_modrm(xv, &in);
		if (modrm < 0 || (modrm >> 6) == 3)
			goto fail;
		reg = ((modrm >> 3) & 7) | ((in.rex & 4) ? 8 : 0);
		size = in.op_size;
		break;
	default:
		goto fail;
	}

	len = src_size ? src_size : size;
	if (write && !imm_src)
		val = vmm_reg_value(xv, &in, reg, size);
	if (!write) {
		ld->reg = reg;
		ld->len = len;
		ld->dst_size = size;
		ld->sign_extend = sx;
		ld->high_byte = size == 1 && !in.rex && reg >= 4 && reg < 8;
		if (ld->high_byte)
			ld->reg = reg - 4;
		ld->next_rip = vmm_insn_next_rip(xv, &in);
	}
	ld->nr_frags = 0;
	r = vmm_mmio_split(xv, &in, gpa, write, len, val);
	if (r < 0)
		goto fail;
	if (r == 1)
		return 1;
	if (r == 2) {
		if (!write) {
			xv->pending = VMM_PENDING_MMIO_LOAD;
			return 0;
		}
		if (ld->nr_frags > 1)
			xv->pending = VMM_PENDING_MMIO_STORE;
		vmm_x86_complete_insn(xv, vmm_insn_next_rip(xv, &in));
		return 0;
	}

	/* A device on the in-kernel MMIO bus completes it without an exit. */
	if (write && !vmm_io_bus_write(&xv->vcpu, VMM_MMIO_BUS, gpa, len, &val)) {
		vmm_x86_complete_insn(xv, vmm_insn_next_rip(xv, &in));
		return 1;
	}
	if (!write) {
		u64 data = 0;

		if (!vmm_io_bus_read(&xv->vcpu, VMM_MMIO_BUS, gpa, len, &data)) {
			vmm_x86_mmio_load_done(xv, data);
			return 1;
		}
	}

	run->exit_reason = VMM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = len;
	run->mmio.is_write = write;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (write) {
		memcpy(run->mmio.data, &val, size);
		/* A store is complete once user space has the data. */
		vmm_x86_complete_insn(xv, vmm_insn_next_rip(xv, &in));
		return 0;
	}
	xv->pending = VMM_PENDING_MMIO_LOAD;
	return 0;

fail:
	return vmm_emulation_failure(xv, &in);
}

/*
 * Advance RIP past the instruction that caused the exit: its prefixes
 * plus @opcode_len bytes.  For CPUs without next-RIP saving.
 */
int vmm_x86_skip_insn(struct vmm_x86_vcpu *xv, unsigned int opcode_len)
{
	struct vmm_insn in;
	int r;

	r = vmm_fetch(xv, &in);
	if (r)
		return r < 0 ? r : 1;
	if (vmm_decode_prefixes(&in) < 0)
		return vmm_emulation_failure(xv, &in);
	in.pos += opcode_len - 1;
	vmm_x86_complete_insn(xv, vmm_insn_next_rip(xv, &in));
	return 1;
}

/*
 * Decode MOV to/from a control or debug register (0F 20-23 /r) at RIP:
 * the register number in @crdr, the GPR in @gpr.  Returns 1 on success,
 * 0 after setting up an emulation failure exit, < 0 on error.  A fault
 * fetching the instruction is queued and reported as 1 with @crdr = -1.
 */
int vmm_x86_decode_mov_crdr(struct vmm_x86_vcpu *xv, u8 opcode, int *crdr,
			    int *gpr)
{
	struct vmm_insn in;
	int r, modrm;

	*crdr = -1;
	r = vmm_fetch(xv, &in);
	if (r)
		return r < 0 ? r : 1;
	if (vmm_decode_prefixes(&in) != 0x0f || vmm_next(&in) != opcode)
		return vmm_emulation_failure(xv, &in);
	modrm = vmm_next(&in);
	if (modrm < 0)
		return vmm_emulation_failure(xv, &in);
	*crdr = ((modrm >> 3) & 7) | ((in.rex & 4) ? 8 : 0);
	*gpr = (modrm & 7) | ((in.rex & 1) ? 8 : 0);
	xv->mmio.next_rip = vmm_insn_next_rip(xv, &in);
	return 1;
}

/*
 * Decode an intercepted write to a control register at RIP: MOV to CRn
 * (0F 22 /r), or CLTS (0F 06) and LMSW (0F 01 /6, register operand) that
 * the CPU reports as CR0 writes.  The register number goes to @cr, the
 * new value to @val (32 bits outside 64-bit mode; for CLTS and LMSW
 * computed from @cr0, the current CR0).  Returns as
 * vmm_x86_decode_mov_crdr(); a fault reading the memory operand of LMSW
 * is queued and reported as 1 with @cr = -1.
 */
int vmm_x86_decode_cr_write(struct vmm_x86_vcpu *xv, unsigned long cr0,
			    int *cr, unsigned long *val)
{
	struct vmm_insn in;
	int r, op, modrm, gpr;
	unsigned long msw;
	u16 m16;

	*cr = -1;
	r = vmm_fetch(xv, &in);
	if (r)
		return r < 0 ? r : 1;
	if (vmm_decode_prefixes(&in) != 0x0f)
		return vmm_emulation_failure(xv, &in);
	op = vmm_next(&in);
	switch (op) {
	case 0x06:	/* CLTS */
		*cr = 0;
		*val = cr0 & ~X86_CR0_TS;
		break;
	case 0x01:	/* LMSW r/m16: PE can be set, not cleared */
		modrm = vmm_decode_modrm(xv, &in);
		if (modrm < 0 || (modrm >> 3 & 7) != 6)
			return vmm_emulation_failure(xv, &in);
		if ((modrm >> 6) == 3) {
			gpr = (modrm & 7) | ((in.rex & 1) ? 8 : 0);
			msw = vmm_reg_read(xv, gpr);
		} else {
			/* A word of guest memory; in MMIO it is not emulated. */
			r = vmm_x86_read_guest_virt(xv, vmm_insn_linear(xv, &in),
						    &m16, sizeof(m16));
			if (r < 0)
				return vmm_emulation_failure(xv, &in);
			if (r)
				return 1;
			msw = m16;
		}
		*cr = 0;
		*val = (cr0 & ~0x0eUL) | (msw & 0x0f);
		break;
	case 0x22:	/* MOV to CRn */
		modrm = vmm_next(&in);
		if (modrm < 0)
			return vmm_emulation_failure(xv, &in);
		*cr = ((modrm >> 3) & 7) | ((in.rex & 4) ? 8 : 0);
		gpr = (modrm & 7) | ((in.rex & 1) ? 8 : 0);
		*val = vmm_reg_read(xv, gpr);
		if (!in.mode64)
			*val = (u32)*val;
		break;
	default:
		return vmm_emulation_failure(xv, &in);
	}
	xv->mmio.next_rip = vmm_insn_next_rip(xv, &in);
	return 1;
}

/*
 * The memory operand of the string I/O instruction at RIP: address size
 * (mode and 0x67), segment (ES for INS; DS or the override for OUTS).
 * Returns 0, VMM_X86_EXCEPTION after queueing a fault fetching the
 * instruction, VMM_X86_RETRY (see vmm_walk()), or < 0 on error.
 */
int vmm_x86_decode_string_io(struct vmm_x86_vcpu *xv, bool in,
			     struct vmm_x86_str_op *op)
{
	const struct vmm_sregs *s = xv->walk_sregs;
	const struct vmm_segment *segs[] = {
		&s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs,
	};
	struct vmm_insn insn;
	int r, seg;

	/* vmm_fetch() fills xv->walk_sregs. */
	r = vmm_fetch(xv, &insn);
	if (r)
		return r;
	vmm_decode_prefixes(&insn);
	seg = in ? 0 : insn.seg >= 0 ? insn.seg : 3;
	op->addr_size = insn.addr_size;
	op->mode64 = insn.mode64;
	op->real = !(s->cr0 & X86_CR0_PE);
	op->ss = seg == 2;
	op->seg = *segs[seg];
	if (insn.mode64 && seg < 4)
		op->seg.base = 0;
	return 0;
}
