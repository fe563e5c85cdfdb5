// SPDX-License-Identifier: GPL-2.0
/*
 * io: port I/O exits.  IN/OUT of 1, 2 and 4 bytes with immediate and DX
 * ports, and string I/O (REP INS/OUTS).  How many elements one string I/O
 * exit carries is up to the hypervisor (KVM and vmm batch differently), so
 * the host loops until the whole buffer has gone through and checks it end
 * to end, and the final RSI/RDI/RCX.
 */
#include <string.h>

#include "kselftest_harness.h"
#include "vmm_util.h"

#define PORT_OUT	0x50
#define PORT_IN		0x51
#define PORT_DX		0x3f8
#define PORT_STR	0x60

static void guest_out(void)
{
	asm volatile("outb %b0, %1" : : "a"(0x11), "i"(PORT_OUT));
	asm volatile("outw %w0, %1" : : "a"(0x2233), "i"(PORT_OUT));
	asm volatile("outl %k0, %1" : : "a"(0x44556677), "i"(PORT_OUT));
	asm volatile("outb %b0, %w1" : : "a"(0x88), "d"(PORT_DX));
	asm volatile("outw %w0, %w1" : : "a"(0x99aa), "d"(PORT_DX));
	asm volatile("outl %k0, %w1" : : "a"(0xbbccddee), "d"(PORT_DX));
}

static void guest_in(void)
{
	uint64_t v;

	v = ~0UL;
	asm volatile("inb %1, %b0" : "+a"(v) : "i"(PORT_IN));
	GUEST_SYNC(v);
	v = ~0UL;
	asm volatile("inw %1, %w0" : "+a"(v) : "i"(PORT_IN));
	GUEST_SYNC(v);
	v = ~0UL;
	asm volatile("inl %1, %k0" : "+a"(v) : "i"(PORT_IN));
	GUEST_SYNC(v);
	v = ~0UL;
	asm volatile("inb %w1, %b0" : "+a"(v) : "d"(PORT_DX));
	GUEST_SYNC(v);
	v = ~0UL;
	asm volatile("inl %w1, %k0" : "+a"(v) : "d"(PORT_DX));
	GUEST_SYNC(v);
}

#define GUEST_STRING_IO(name, insn, reg)				\
static void name(uint64_t buf, uint64_t count)				\
{									\
	asm volatile(insn : "+" reg(buf), "+c"(count)			\
		     : "d"(PORT_STR) : "memory");			\
	GUEST_SYNC2(buf, count);					\
}

GUEST_STRING_IO(guest_rep_outsb, "rep outsb", "S")
GUEST_STRING_IO(guest_rep_outsw, "rep outsw", "S")
GUEST_STRING_IO(guest_rep_outsl, "rep outsl", "S")
GUEST_STRING_IO(guest_rep_insb, "rep insb", "D")
GUEST_STRING_IO(guest_rep_insw, "rep insw", "D")
GUEST_STRING_IO(guest_rep_insl, "rep insl", "D")
GUEST_STRING_IO(guest_outsw, "outsw", "S")
GUEST_STRING_IO(guest_insl, "insl", "D")

static void check_io(struct __test_metadata *_metadata, struct vmm_vcpu *vcpu,
		     uint8_t dir, uint8_t size, uint16_t port)
{
	ASSERT_EXIT(vcpu, VMM_EXIT_IO);
	ASSERT_EQ(dir, vcpu->run->io.direction);
	ASSERT_EQ(size, vcpu->run->io.size);
	ASSERT_EQ(port, vcpu->run->io.port);
	ASSERT_LE(1, vcpu->run->io.count);
	ASSERT_GE(vcpu->vm->run_size, vcpu->run->io.data_offset +
		  vcpu->run->io.count * vcpu->run->io.size);
}

static void *io_data(struct vmm_vcpu *vcpu)
{
	return (char *)vcpu->run + vcpu->run->io.data_offset;
}

TEST(out)
{
	static const struct {
		uint8_t size;
		uint16_t port;
		uint32_t data;
	} exp[] = {
		{ 1, PORT_OUT, 0x11 }, { 2, PORT_OUT, 0x2233 },
		{ 4, PORT_OUT, 0x44556677 }, { 1, PORT_DX, 0x88 },
		{ 2, PORT_DX, 0x99aa }, { 4, PORT_DX, 0xbbccddee },
	};
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_out);
	struct ucall uc;
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(exp); i++) {
		uint32_t v = 0;

		vcpu_run(vcpu);
		check_io(_metadata, vcpu, VMM_EXIT_IO_OUT, exp[i].size,
			 exp[i].port);
		ASSERT_EQ(1, vcpu->run->io.count);
		memcpy(&v, io_data(vcpu), exp[i].size);
		ASSERT_EQ(exp[i].data, v);
	}
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

TEST(in)
{
	/* IN AL/AX keeps the rest of RAX, IN EAX zero-extends */
	static const struct {
		uint8_t size;
		uint16_t port;
		uint32_t data;
		uint64_t rax;
	} exp[] = {
		{ 1, PORT_IN, 0x9c, 0xffffffffffffff9cUL },
		{ 2, PORT_IN, 0xabcd, 0xffffffffffffabcdUL },
		{ 4, PORT_IN, 0x89abcdef, 0x0000000089abcdefUL },
		{ 1, PORT_DX, 0x5a, 0xffffffffffffff5aUL },
		{ 4, PORT_DX, 0xfedcba98, 0x00000000fedcba98UL },
	};
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, guest_in);
	struct ucall uc;
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(exp); i++) {
		vcpu_run(vcpu);
		check_io(_metadata, vcpu, VMM_EXIT_IO_IN, exp[i].size,
			 exp[i].port);
		ASSERT_EQ(1, vcpu->run->io.count);
		memcpy(io_data(vcpu), &exp[i].data, exp[i].size);
		ASSERT_SYNC(vcpu, &uc, exp[i].rax);
	}
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	vm_free(vm);
}

/* The buffer starts 10 bytes before a page boundary and spans several. */
#define STR_GPA		(GUEST_DATA_GPA + PAGE_SIZE - 10)
#define STR_BYTES	9000

struct string_case {
	const char *name;
	void *guest;
	uint8_t dir;
	uint8_t size;
	uint32_t count;
};

static const struct string_case string_cases[] = {
	{ "rep outsb", guest_rep_outsb, VMM_EXIT_IO_OUT, 1, STR_BYTES },
	{ "rep outsw", guest_rep_outsw, VMM_EXIT_IO_OUT, 2, STR_BYTES / 2 },
	{ "rep outsl", guest_rep_outsl, VMM_EXIT_IO_OUT, 4, STR_BYTES / 4 },
	{ "rep insb", guest_rep_insb, VMM_EXIT_IO_IN, 1, STR_BYTES },
	{ "rep insw", guest_rep_insw, VMM_EXIT_IO_IN, 2, STR_BYTES / 2 },
	{ "rep insl", guest_rep_insl, VMM_EXIT_IO_IN, 4, STR_BYTES / 4 },
	{ "outsw", guest_outsw, VMM_EXIT_IO_OUT, 2, 1 },
	{ "insl", guest_insl, VMM_EXIT_IO_IN, 4, 1 },
};

static uint8_t pattern(unsigned int i)
{
	return (uint8_t)(i * 7 + (i >> 8) + 1);
}

static void run_string_case(struct __test_metadata *_metadata,
			    const struct string_case *c)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm = vm_create_default(&vcpu, c->guest);
	uint8_t *guest_buf = vm_gpa2hva(vm, STR_GPA);
	uint32_t total = c->count * c->size, done = 0, exits = 0;
	uint8_t *host_buf = calloc(1, total);
	struct ucall uc;
	unsigned int i;

	ASSERT_NE(NULL, host_buf);
	TH_LOG("%s, %u bytes", c->name, total);
	vcpu_set_entry(vcpu, c->guest, STR_GPA, c->count);
	for (i = 0; i < total; i++) {
		if (c->dir == VMM_EXIT_IO_OUT)
			guest_buf[i] = pattern(i);
		else
			host_buf[i] = pattern(i);
	}

	while (done < total) {
		uint32_t n;

		vcpu_run(vcpu);
		check_io(_metadata, vcpu, c->dir, c->size, PORT_STR);
		n = vcpu->run->io.count * c->size;
		ASSERT_GE(total - done, n);
		if (c->dir == VMM_EXIT_IO_OUT)
			memcpy(host_buf + done, io_data(vcpu), n);
		else
			memcpy(io_data(vcpu), host_buf + done, n);
		done += n;
		exits++;
	}
	TH_LOG("%u exits", exits);
	/* the guest sees RSI/RDI past the buffer and RCX 0 */
	ASSERT_UCALL(vcpu, &uc, UCALL_SYNC);
	ASSERT_EQ(STR_GPA + total, uc.args[0]);
	ASSERT_EQ(c->count == 1 ? 1 : 0, uc.args[1]);
	for (i = 0; i < total; i++) {
		ASSERT_EQ(pattern(i), host_buf[i]);
		ASSERT_EQ(pattern(i), guest_buf[i]);
	}
	ASSERT_UCALL(vcpu, &uc, UCALL_DONE);
	free(host_buf);
	vm_free(vm);
}

TEST(string_out)
{
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(string_cases); i++)
		if (string_cases[i].dir == VMM_EXIT_IO_OUT)
			run_string_case(_metadata, &string_cases[i]);
}

TEST(string_in)
{
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(string_cases); i++)
		if (string_cases[i].dir == VMM_EXIT_IO_IN)
			run_string_case(_metadata, &string_cases[i]);
}

TEST_HARNESS_MAIN
