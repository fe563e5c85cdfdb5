// SPDX-License-Identifier: GPL-2.0
/*
 * Device, VM, vCPU and memslot helpers for the vmm selftests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest.h"
#include "vmm_util.h"
#include "vmm_exit_reason.h"

const char *vmm_dev_path(void)
{
	const char *dev = getenv("VMM_DEV");

	return dev && *dev ? dev : VMM_DEV_DEFAULT;
}

bool vmm_dev_is_kvm(void)
{
	const char *dev = vmm_dev_path();
	const char *base = strrchr(dev, '/');

	return !strcmp(base ? base + 1 : dev, "kvm");
}

int vmm_open_dev(void)
{
	int fd = open(vmm_dev_path(), O_RDWR | O_CLOEXEC);

	TEST_ASSERT(fd >= 0, "open %s", vmm_dev_path());
	return fd;
}

void vmm_require_dev(void)
{
	if (access(vmm_dev_path(), R_OK | W_OK))
		ksft_exit_skip("%s not available: %s\n", vmm_dev_path(),
			       strerror(errno));
	ksft_print_msg("device %s\n", vmm_dev_path());
}

long vmm_check_extension(int fd, long cap)
{
	long r = ioctl(fd, VMM_CHECK_EXTENSION, cap);

	TEST_ASSERT(r >= 0, "CHECK_EXTENSION %ld", cap);
	return r;
}

struct vmm_vm *vm_create_empty(void)
{
	struct vmm_vm *vm = calloc(1, sizeof(*vm));
	int r;

	TEST_ASSERT(vm, "calloc");
	vm->sys_fd = vmm_open_dev();
	r = ioctl(vm->sys_fd, VMM_GET_VCPU_MMAP_SIZE, 0);
	TEST_ASSERT(r > 0, "GET_VCPU_MMAP_SIZE returned %d", r);
	vm->run_size = r;
	vm->fd = ioctl(vm->sys_fd, VMM_CREATE_VM, 0);
	TEST_ASSERT(vm->fd >= 0, "CREATE_VM");
	return vm;
}

void vcpu_free(struct vmm_vcpu *vcpu)
{
	struct vmm_vm *vm = vcpu->vm;
	int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i] != vcpu)
			continue;
		vm->vcpus[i] = vm->vcpus[--vm->nr_vcpus];
		break;
	}
	munmap(vcpu->run, vm->run_size);
	close(vcpu->fd);
	free(vcpu);
}

void vm_free(struct vmm_vm *vm)
{
	int i;

	if (!vm)
		return;
	while (vm->nr_vcpus)
		vcpu_free(vm->vcpus[0]);
	close(vm->fd);
	close(vm->sys_fd);
	for (i = 0; i < vm->nr_slots; i++)
		if (vm->slots[i].owned)
			munmap(vm->slots[i].hva, vm->slots[i].size);
	free(vm);
}

void *vmm_alloc_mem(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	TEST_ASSERT(p != MAP_FAILED, "mmap %zu bytes", size);
	return p;
}

int __vm_set_memslot(struct vmm_vm *vm, uint32_t slot, uint32_t flags,
		     uint64_t gpa, uint64_t size, void *hva)
{
	struct vmm_userspace_memory_region region = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	return ioctl(vm->fd, VMM_SET_USER_MEMORY_REGION, &region);
}

static struct vmm_slot *vm_find_slot(struct vmm_vm *vm, uint32_t slot)
{
	int i;

	for (i = 0; i < vm->nr_slots; i++)
		if (vm->slots[i].slot == slot)
			return &vm->slots[i];
	return NULL;
}

/* Set a memslot and track it; size 0 deletes it (memory stays mapped). */
void vm_set_memslot(struct vmm_vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size, void *hva)
{
	struct vmm_slot *s = vm_find_slot(vm, slot);
	int r = __vm_set_memslot(vm, slot, flags, gpa, size, hva);

	TEST_ASSERT(!r, "SET_USER_MEMORY_REGION slot %u gpa %#lx size %#lx",
		    slot, (unsigned long)gpa, (unsigned long)size);
	if (!s) {
		TEST_ASSERT(vm->nr_slots < VM_MAX_SLOTS, "too many slots");
		s = &vm->slots[vm->nr_slots++];
		s->owned = false;
	}
	s->slot = slot;
	s->flags = flags;
	s->gpa = gpa;
	s->size = size;
	s->hva = hva;
}

void *vm_add_memslot(struct vmm_vm *vm, uint32_t slot, uint32_t flags,
		     uint64_t gpa, uint64_t size)
{
	void *hva = vmm_alloc_mem(size);

	TEST_ASSERT(!vm_find_slot(vm, slot), "slot %u already tracked", slot);
	vm_set_memslot(vm, slot, flags, gpa, size, hva);
	vm_find_slot(vm, slot)->owned = true;
	return hva;
}

void *vm_gpa2hva(struct vmm_vm *vm, uint64_t gpa)
{
	int i;

	for (i = 0; i < vm->nr_slots; i++) {
		struct vmm_slot *s = &vm->slots[i];

		if (gpa >= s->gpa && gpa - s->gpa < s->size)
			return (char *)s->hva + (gpa - s->gpa);
	}
	errno = 0;
	vmm_die("no memslot covers gpa %#lx", (unsigned long)gpa);
}

struct vmm_vcpu *vm_add_vcpu(struct vmm_vm *vm, uint32_t id)
{
	struct vmm_vcpu *vcpu = calloc(1, sizeof(*vcpu));

	TEST_ASSERT(vcpu, "calloc");
	TEST_ASSERT(vm->nr_vcpus < VM_MAX_VCPUS, "too many vCPUs");
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->fd, VMM_CREATE_VCPU, (unsigned long)id);
	TEST_ASSERT(vcpu->fd >= 0, "CREATE_VCPU %u", id);
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, vcpu->fd, 0);
	TEST_ASSERT(vcpu->run != MAP_FAILED, "mmap vCPU %u run page", id);
	vm->vcpus[vm->nr_vcpus++] = vcpu;
	return vcpu;
}

int __vcpu_run(struct vmm_vcpu *vcpu)
{
	return ioctl(vcpu->fd, VMM_RUN, 0);
}

void vcpu_run(struct vmm_vcpu *vcpu)
{
	int r;

	do {
		r = __vcpu_run(vcpu);
	} while (r < 0 && errno == EINTR && !vcpu->run->immediate_exit);
	TEST_ASSERT(!r, "VMM_RUN on vCPU %u", vcpu->id);
}

void vcpu_get_regs(struct vmm_vcpu *vcpu, struct vmm_regs *regs)
{
	TEST_ASSERT(!ioctl(vcpu->fd, VMM_GET_REGS, regs), "GET_REGS");
}

void vcpu_set_regs(struct vmm_vcpu *vcpu, const struct vmm_regs *regs)
{
	TEST_ASSERT(!ioctl(vcpu->fd, VMM_SET_REGS, regs), "SET_REGS");
}

void vcpu_get_sregs(struct vmm_vcpu *vcpu, struct vmm_sregs *sregs)
{
	TEST_ASSERT(!ioctl(vcpu->fd, VMM_GET_SREGS, sregs), "GET_SREGS");
}

void vcpu_set_sregs(struct vmm_vcpu *vcpu, const struct vmm_sregs *sregs)
{
	TEST_ASSERT(!ioctl(vcpu->fd, VMM_SET_SREGS, sregs), "SET_SREGS");
}

const char *exit_reason_str(uint32_t reason)
{
	const char *name = vmm_exit_reason_name(reason);

	return name ? name : "?";
}

/* Print the last exit of @vcpu (and its registers) as "# " lines. */
void vcpu_describe_exit(struct vmm_vcpu *vcpu)
{
	struct vmm_run *run = vcpu->run;
	struct vmm_regs regs;
	struct ucall uc;
	unsigned int i;

	fprintf(stderr, "# vCPU %u exit_reason %u (%s)\n", vcpu->id,
		run->exit_reason, exit_reason_str(run->exit_reason));
	switch (run->exit_reason) {
	case VMM_EXIT_IO:
		fprintf(stderr, "#   io: dir %u size %u port %#x count %u\n",
			run->io.direction, run->io.size, run->io.port,
			run->io.count);
		if (get_ucall(vcpu, &uc) == UCALL_ABORT) {
			const char *file = vm_gpa2hva(vcpu->vm, uc.file);
			const char *expr = vm_gpa2hva(vcpu->vm, uc.expr);

			fprintf(stderr,
				"#   guest assertion failed at %.200s:%lu: %.200s (%#lx, %#lx)\n",
				file, (unsigned long)uc.line, expr,
				(unsigned long)uc.args[0],
				(unsigned long)uc.args[1]);
		}
		break;
	case VMM_EXIT_MMIO:
		fprintf(stderr, "#   mmio: gpa %#llx len %u write %u data",
			(unsigned long long)run->mmio.phys_addr, run->mmio.len,
			run->mmio.is_write);
		for (i = 0; i < 8; i++)
			fprintf(stderr, " %02x", run->mmio.data[i]);
		fprintf(stderr, "\n");
		break;
	case VMM_EXIT_FAIL_ENTRY:
		fprintf(stderr, "#   hardware_entry_failure_reason %#llx\n",
			(unsigned long long)
			run->fail_entry.hardware_entry_failure_reason);
		break;
	case VMM_EXIT_INTERNAL_ERROR:
		fprintf(stderr, "#   suberror %u ndata %u", run->internal.suberror,
			run->internal.ndata);
		for (i = 0; i < run->internal.ndata && i < 16; i++)
			fprintf(stderr, " %#llx",
				(unsigned long long)run->internal.data[i]);
		fprintf(stderr, "\n");
		break;
	case VMM_EXIT_UNKNOWN:
		fprintf(stderr, "#   hardware_exit_reason %#llx\n",
			(unsigned long long)run->hw.hardware_exit_reason);
		break;
	}
	if (ioctl(vcpu->fd, VMM_GET_REGS, &regs))
		return;
	fprintf(stderr, "#   rip %#llx rsp %#llx rflags %#llx rax %#llx\n",
		regs.rip, regs.rsp, regs.rflags, regs.rax);
}
