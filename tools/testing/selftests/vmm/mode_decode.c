// SPDX-License-Identifier: GPL-2.0
/*
 * mode_decode: MMIO and string I/O decoded in 16- and 32-bit guest modes.
 *
 * real_mode_mmio: a real-mode guest whose memory ends at 64 KiB, with DS
 * and ES pointing above it (MMIO): MOV with moffs16 (A0-A3, with and
 * without an operand-size prefix and with an ES override), a redundant DS
 * override, a 0x67 (32-bit addressing) MOV.
 * real_mode_string_io: string I/O with ES != 0: REP INSB with DF=1, REP
 * OUTSW with an FS override, 0x67 REP INSB (EDI, ECX) and REP INSB with
 * garbage in the upper halves of EDI and ECX (only DI and CX count and
 * change).
 * pmode32: a flat 32-bit guest: moffs32 forms, FS override with a nonzero
 * FS base on a moffs load and a store, 16-bit addressing (0x67) with an ES
 * base, a redundant DS override.
 *
 * The host walks the expected exits one by one: MMIO (address, length,
 * direction, data), OUT (port, size, value) and string I/O on STR_PORT (the
 * data is checked end to end, the per-exit batching is up to the
 * hypervisor), then HLT.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "vmm_util.h"

#define STR_PORT	0x60

enum kind { MMIO_W, MMIO_R, OUT, STR_IN, STR_OUT, HLT };

struct step {
	enum kind kind;
	uint64_t addr;		/* MMIO gpa, or port */
	uint32_t len;		/* MMIO length, OUT size, or STR total bytes */
	uint64_t data;		/* MMIO data, OUT value; STR: element size */
};

static uint8_t pattern(unsigned int i)
{
	return (uint8_t)(0x31 + i * 13);
}

/* Run the vCPU through @steps; string data goes to/from @str. */
static void run_steps(struct __test_metadata *_metadata,
		      struct vmm_vcpu *vcpu, const struct step *steps,
		      unsigned int n, uint8_t *str_out)
{
	struct vmm_run *run = vcpu->run;
	unsigned int i;

	for (i = 0; i < n; i++) {
		const struct step *s = &steps[i];
		uint32_t done = 0, got;
		uint64_t v = 0;

		if (s->kind == STR_IN || s->kind == STR_OUT) {
			while (done < s->len) {
				vcpu_run(vcpu);
				if (run->exit_reason != VMM_EXIT_IO)
					TH_LOG("step %u, %u bytes done", i, done);
				ASSERT_EXIT(vcpu, VMM_EXIT_IO);
				ASSERT_EQ(STR_PORT, run->io.port) {
					TH_LOG("step %u", i);
				}
				ASSERT_EQ(s->kind == STR_IN ? VMM_EXIT_IO_IN :
					  VMM_EXIT_IO_OUT, run->io.direction);
				ASSERT_EQ(s->data, run->io.size);
				got = run->io.count * run->io.size;
				ASSERT_LE(1, run->io.count);
				ASSERT_GE(s->len - done, got);
				if (s->kind == STR_IN) {
					unsigned int k;
					uint8_t *d = (uint8_t *)run +
						     run->io.data_offset;

					for (k = 0; k < got; k++)
						d[k] = pattern(done + k);
				} else {
					memcpy(str_out + done, (char *)run +
					       run->io.data_offset, got);
				}
				done += got;
			}
			continue;
		}
		vcpu_run(vcpu);
		switch (s->kind) {
		case HLT:
			ASSERT_EXIT(vcpu, VMM_EXIT_HLT);
			break;
		case OUT:
			if (run->exit_reason != VMM_EXIT_IO)
				TH_LOG("step %u", i);
			ASSERT_EXIT(vcpu, VMM_EXIT_IO);
			ASSERT_EQ(VMM_EXIT_IO_OUT, run->io.direction);
			ASSERT_EQ(s->addr, run->io.port) {
				TH_LOG("step %u", i);
			}
			ASSERT_EQ(s->len, run->io.size);
			memcpy(&v, (char *)run + run->io.data_offset, s->len);
			EXPECT_EQ(s->data, v) {
				TH_LOG("step %u: port %#lx", i,
				       (unsigned long)s->addr);
			}
			break;
		default:
			if (run->exit_reason != VMM_EXIT_MMIO)
				TH_LOG("step %u", i);
			ASSERT_EXIT(vcpu, VMM_EXIT_MMIO);
			EXPECT_EQ(s->addr, run->mmio.phys_addr) {
				TH_LOG("step %u", i);
			}
			EXPECT_EQ(s->len, run->mmio.len) {
				TH_LOG("step %u", i);
			}
			ASSERT_EQ(s->kind == MMIO_W, run->mmio.is_write) {
				TH_LOG("step %u", i);
			}
			if (s->kind == MMIO_W) {
				memcpy(&v, run->mmio.data, s->len);
				EXPECT_EQ(s->data, v) {
					TH_LOG("step %u", i);
				}
			} else {
				memcpy(run->mmio.data, &s->data, s->len);
			}
			break;
		}
	}
}

/*
 * Real mode, loaded at 0x8000 with CS = 0.  Memory is 0..64 KiB; DS base
 * 0x20000 and ES base 0x21000 are MMIO.
 */
asm(
	".pushsection .rodata\n"
	".globl rm_decode_start, rm_decode_end\n"
	".code16\n"
	"rm_decode_start:\n\t"
	"mov $0x2000, %ax\n\t"
	"mov %ax, %ds\n\t"
	"mov $0x2100, %ax\n\t"
	"mov %ax, %es\n\t"
	"mov $0x5a, %al\n\t"
	"mov %al, 0x10\n\t"			/* A2: W 0x20010/1 */
	"mov $0x11223344, %eax\n\t"
	"mov %eax, 0x20\n\t"			/* 66 A3: W 0x20020/4 */
	"mov $0x99, %ax\n\t"
	"mov %ax, 0x24\n\t"			/* A3: W 0x20024/2 */
	"mov 0x30, %ax\n\t"			/* A1: R 0x20030/2 */
	"out %ax, $0x70\n\t"
	"mov %es:0x40, %al\n\t"			/* 26 A0: R 0x21040/1 */
	"out %al, $0x71\n\t"
	"mov 0x44, %eax\n\t"			/* 66 A1: R 0x20044/4 */
	"out %eax, $0x72\n\t"
	"mov $0xa5c3, %ax\n\t"
	"mov $0x50, %bx\n\t"
	".byte 0x3e\n\t"			/* redundant DS */
	"mov %ax, (%bx)\n\t"			/* W 0x20050/2 */
	"mov $0xcafef00d, %ecx\n\t"
	"mov $0x60, %esi\n\t"
	"addr32 mov %ecx, (%esi)\n\t"		/* 67 66 89: W 0x20060/4 */
	"hlt\n"
	/* string I/O, ES = 0x0a00 (memory at 0xa000) */
	".globl rm_decode_str\n"
	"rm_decode_str:\n\t"
	"mov $0x0a00, %ax\n\t"
	"mov %ax, %es\n\t"
	"mov $0x60, %dx\n\t"
	"mov $0x100, %di\n\t"
	"mov $8, %cx\n\t"
	"std\n\t"
	"rep insb\n\t"				/* 0xa100 down to 0xa0f9 */
	"cld\n\t"
	"mov %di, %ax\n\t"
	"out %ax, $0x73\n\t"
	"mov %cx, %ax\n\t"
	"out %ax, $0x74\n\t"
	"mov $0x0c00, %ax\n\t"
	"mov %ax, %fs\n\t"
	"mov $0x20, %si\n\t"
	"mov $4, %cx\n\t"
	"rep outsw %fs:(%si), (%dx)\n\t"	/* from 0xc020..0xc027 */
	"mov %si, %ax\n\t"
	"out %ax, $0x75\n\t"
	"mov $0x200, %edi\n\t"
	"mov $3, %ecx\n\t"
	"rep insb (%dx), %es:(%edi)\n\t"	/* 67: 0xa200..0xa202 */
	"mov %edi, %eax\n\t"
	"out %eax, $0x76\n\t"
	"mov %ecx, %eax\n\t"
	"out %eax, $0x77\n\t"
	"mov $0x12340002, %ecx\n\t"
	"mov $0x56780300, %edi\n\t"
	"rep insb\n\t"				/* DI, CX: 0xa300..0xa301 */
	"mov %ecx, %eax\n\t"
	"out %eax, $0x78\n\t"
	"mov %edi, %eax\n\t"
	"out %eax, $0x79\n\t"
	"hlt\n"
	"rm_decode_end:\n"
	".code64\n"
	".popsection\n"
);

GUEST_LABEL(rm_decode_start);
GUEST_LABEL(rm_decode_str);
GUEST_LABEL(rm_decode_end);

static struct vmm_vm *vm_create_real(struct vmm_vcpu **vcpu, uint8_t **mem,
				     const char *entry)
{
	struct vmm_vm *vm = vm_create_empty();

	*mem = vm_add_memslot(vm, 0, 0, 0, 0x10000);
	*vcpu = vm_add_vcpu(vm, 0);
	vm_load_code(vm, GUEST_SNIPPET_GPA, rm_decode_start, rm_decode_end);
	vcpu_setup_real_mode(*vcpu, GUEST_SNIPPET_GPA +
				    (entry - rm_decode_start));
	return vm;
}

TEST(real_mode_mmio)
{
	static const struct step steps[] = {
		{ MMIO_W, 0x20010, 1, 0x5a },
		{ MMIO_W, 0x20020, 4, 0x11223344 },
		{ MMIO_W, 0x20024, 2, 0x99 },
		{ MMIO_R, 0x20030, 2, 0xbeef },
		{ OUT, 0x70, 2, 0xbeef },
		{ MMIO_R, 0x21040, 1, 0x77 },
		{ OUT, 0x71, 1, 0x77 },
		{ MMIO_R, 0x20044, 4, 0x89abcdef },
		{ OUT, 0x72, 4, 0x89abcdef },
		{ MMIO_W, 0x20050, 2, 0xa5c3 },
		{ MMIO_W, 0x20060, 4, 0xcafef00d },
		{ HLT, 0, 0, 0 },
	};
	struct vmm_vcpu *vcpu;
	uint8_t *mem;
	struct vmm_vm *vm = vm_create_real(&vcpu, &mem, rm_decode_start);

	run_steps(_metadata, vcpu, steps, ARRAY_LEN(steps), NULL);
	vm_free(vm);
}

/*
 * KVM uses ES for INS and DS or the override for OUTS.  vmm used RDI/RSI
 * as the linear address until its string I/O honoured segments: REP INSB
 * with ES = 0x0a00 wrote to 0x100.. instead of 0xa100...
 */
TEST(real_mode_string_io)
{
	static const struct step steps[] = {
		{ STR_IN, STR_PORT, 8, 1 },
		{ OUT, 0x73, 2, 0xf8 },
		{ OUT, 0x74, 2, 0 },
		{ STR_OUT, STR_PORT, 8, 2 },
		{ OUT, 0x75, 2, 0x28 },
		{ STR_IN, STR_PORT, 3, 1 },
		{ OUT, 0x76, 4, 0x203 },
		{ OUT, 0x77, 4, 0 },
		{ STR_IN, STR_PORT, 2, 1 },
		{ OUT, 0x78, 4, 0x12340000 },
		{ OUT, 0x79, 4, 0x56780302 },
		{ HLT, 0, 0, 0 },
	};
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm;
	uint8_t *mem, out[8];
	unsigned int i;

	vm = vm_create_real(&vcpu, &mem, rm_decode_str);
	for (i = 0; i < 8; i++)
		mem[0xc020 + i] = 0xe0 + i;
	/* each STR_IN step sends pattern(0), pattern(1), ... */
	run_steps(_metadata, vcpu, steps, 3, NULL);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(pattern(i), mem[0xa100 - i]);
	run_steps(_metadata, vcpu, steps + 3, 2, out);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(0xe0 + i, out[i]);
	run_steps(_metadata, vcpu, steps + 5, 3, NULL);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(pattern(i), mem[0xa200 + i]);
	run_steps(_metadata, vcpu, steps + 8, ARRAY_LEN(steps) - 8, NULL);
	for (i = 0; i < 2; i++)
		EXPECT_EQ(pattern(i), mem[0xa300 + i]);
	EXPECT_EQ(0, mem[0xa302]);
	vm_free(vm);
}

/*
 * Flat 32-bit protected mode; FS base and ES base are set by the host
 * (FS = M - 0x1000, ES = M).
 */
#define M	GUEST_MMIO_GPA

asm(
	".text\n"
	".code32\n"
	".globl pm_decode\n"
	"pm_decode:\n\t"
	"mov $0x5a, %al\n\t"
	"mov %al, 0x30000000\n\t"		/* A2: W M/1 */
	"mov $0x1234, %ax\n\t"
	"mov %ax, 0x30000002\n\t"		/* 66 A3: W M+2/2 */
	"mov 0x30000004, %eax\n\t"		/* A1: R M+4/4 */
	"out %eax, $0x70\n\t"
	"mov 0x30000008, %al\n\t"		/* A0: R M+8/1 */
	"out %al, $0x71\n\t"
	"mov $0xdeadbeef, %ecx\n\t"
	"mov %ecx, %fs:0x1010\n\t"		/* 64 89 0d: W M+0x10/4 */
	"mov %fs:0x1018, %ax\n\t"		/* 64 66 A1: R M+0x18/2 */
	"out %ax, $0x72\n\t"
	"mov $0x24, %ebx\n\t"
	"mov %es:(%bx), %eax\n\t"		/* 26 67 8b: R M+0x24/4 */
	"out %eax, $0x73\n\t"
	"mov $0x30000028, %ebx\n\t"
	"mov $0x600dcafe, %edx\n\t"
	".byte 0x3e\n\t"			/* redundant DS */
	"mov %edx, (%ebx)\n\t"			/* W M+0x28/4 */
	"hlt\n"
	".code64\n"
);

GUEST_LABEL(pm_decode);

TEST(pmode32)
{
	static const struct step steps[] = {
		{ MMIO_W, M, 1, 0x5a },
		{ MMIO_W, M + 2, 2, 0x1234 },
		{ MMIO_R, M + 4, 4, 0x01020304 },
		{ OUT, 0x70, 4, 0x01020304 },
		{ MMIO_R, M + 8, 1, 0xc1 },
		{ OUT, 0x71, 1, 0xc1 },
		{ MMIO_W, M + 0x10, 4, 0xdeadbeef },
		{ MMIO_R, M + 0x18, 2, 0x7531 },
		{ OUT, 0x72, 2, 0x7531 },
		{ MMIO_R, M + 0x24, 4, 0xfeedf00d },
		{ OUT, 0x73, 4, 0xfeedf00d },
		{ MMIO_W, M + 0x28, 4, 0x600dcafe },
		{ HLT, 0, 0, 0 },
	};
	struct vmm_vm *vm = vm_create_default(NULL, NULL);
	struct vmm_vcpu *vcpu = vm_add_vcpu(vm, 0);
	struct vmm_sregs sregs;

	vcpu_setup_pmode32(vcpu, (uintptr_t)pm_decode);
	vcpu_get_sregs(vcpu, &sregs);
	sregs.fs.base = M - 0x1000;
	sregs.es.base = M;
	vcpu_set_sregs(vcpu, &sregs);
	run_steps(_metadata, vcpu, steps, ARRAY_LEN(steps), NULL);
	vm_free(vm);
}

TEST_HARNESS_MAIN
