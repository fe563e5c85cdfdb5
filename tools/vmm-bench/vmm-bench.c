// SPDX-License-Identifier: GPL-2.0
/*
 * vmm-bench: micro-benchmarks of a KVM-compatible virtualization device.
 *
 * Runs the same measurements on every device given with --dev (normally
 * /dev/vmm and /dev/kvm, in one boot) and prints one table of nanoseconds
 * per operation.  Only the ioctls of <linux/vmm.h> (KVM API 12) are used,
 * so /dev/kvm serves as the reference peer.
 *
 * The guest runs at CPL 0 in 64-bit long mode: the host builds 4-level
 * identity page tables (2 MiB pages over the first GiB) and a GDT in slot 0
 * and loads long-mode segment and control registers with SET_SREGS.  The
 * guest code itself is in guest.S.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/vmm.h>

#include "bench.h"

#define MAX_DEVS	4

/* x86 page table entry bits */
#define PTE_P		(1ULL << 0)
#define PTE_RW		(1ULL << 1)
#define PTE_PS		(1ULL << 7)

/* control registers */
#define CR0_PE		(1ULL << 0)
#define CR0_ET		(1ULL << 4)
#define CR0_NE		(1ULL << 5)
#define CR0_PG		(1ULL << 31)
#define CR4_PAE		(1ULL << 5)
#define EFER_LME	(1ULL << 8)
#define EFER_LMA	(1ULL << 10)

#define SEL_CODE	0x08
#define SEL_DATA	0x10

/* what KVM leaves in rax for an unknown hypercall: -KVM_ENOSYS */
#define HC_ENOSYS	((uint64_t)-1000)

/* where vmm shows its bench_floor module parameter */
#define FLOOR_PARAM	"/sys/module/vmm/parameters/bench_floor"

/* size of the memory slot of the VM create+destroy benchmark */
#define SMALL_SLOT_SIZE	0x10000

struct vm {
	int fd;
	int vcpu_fd;
	struct vmm_run *run;
	size_t run_size;
	unsigned char *mem;
};

struct dev {
	const char *path;
	char label[32];
	int fd;		/* -1: missing, its column is left empty */
	size_t run_size;
	bool floor;	/* vmm with bench_floor=1: the floor can be timed */
};

/* what a benchmark's floor ratio means */
enum exit_kind {
	NO_EXIT,	/* not an exit (or the floor itself): no ratio */
	EXIT_KERNEL,	/* an exit handled in the kernel */
	EXIT_USER,	/* an exit to user space: ratio for information */
};

/*
 * fn returns 0 with *ns set, -1 on failure, or NOT_APPLICABLE when the
 * device cannot run the benchmark (n/a in the table).
 */
#define NOT_APPLICABLE	1

struct bench {
	const char *name;
	const char *what;
	long iters;
	int (*fn)(const struct dev *dev, long iters, double *ns);
	enum exit_kind kind;
	bool selected;
};

static const char *cur_label = "-";
static long npf_slot_mib = 64;
static unsigned int limit_secs = 180;
static atomic_int timed_out;	/* set by SIGALRM */

static void on_alarm(int sig)
{
	(void)sig;
	atomic_store(&timed_out, 1);
}

static void msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmm-bench: [%s] ", cur_label);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int fail_errno(const char *what)
{
	msg("%s: %s", what, strerror(errno));
	return -1;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *map_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int set_slot(int vm_fd, unsigned int slot, uint64_t gpa, uint64_t size,
		    void *hva)
{
	struct vmm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(vm_fd, VMM_SET_USER_MEMORY_REGION, &r) < 0)
		return fail_errno("SET_USER_MEMORY_REGION");
	return 0;
}

static void vm_destroy(struct vm *vm)
{
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->mem)
		munmap(vm->mem, BENCH_SLOT0_SIZE);
	vm->run = NULL;
	vm->mem = NULL;
	vm->fd = -1;
	vm->vcpu_fd = -1;
}

/* A VM with slot 0 (BENCH_SLOT0_SIZE at GPA 0) and one vCPU. */
static int vm_create(const struct dev *dev, struct vm *vm)
{
	void *run;

	vm->fd = -1;
	vm->vcpu_fd = -1;
	vm->run = NULL;
	vm->run_size = dev->run_size;

	vm->mem = map_anon(BENCH_SLOT0_SIZE);
	if (!vm->mem)
		return fail_errno("mmap guest memory");
	vm->fd = ioctl(dev->fd, VMM_CREATE_VM, 0);
	if (vm->fd < 0)
		goto err_errno_vm;
	if (set_slot(vm->fd, 0, 0, BENCH_SLOT0_SIZE, vm->mem))
		goto err;
	vm->vcpu_fd = ioctl(vm->fd, VMM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		goto err_errno_vcpu;
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		   vm->vcpu_fd, 0);
	if (run == MAP_FAILED) {
		fail_errno("mmap vcpu run page");
		goto err;
	}
	vm->run = run;
	return 0;

err_errno_vm:
	fail_errno("CREATE_VM");
	goto err;
err_errno_vcpu:
	fail_errno("CREATE_VCPU");
err:
	vm_destroy(vm);
	return -1;
}

static void set_seg(struct vmm_segment *s, uint16_t sel, bool code)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = code ? 0xb : 0x3;	/* execute/read or read/write, accessed */
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code;
	s->db = !code;
}

/*
 * Copy the guest code to BENCH_CODE, build the page tables and the GDT and
 * enter long mode at BENCH_CODE with rdi and r8 as given.
 */
static int vm_boot(struct vm *vm, const unsigned char *begin,
		   const unsigned char *end, uint64_t rdi, uint64_t r8)
{
	uint64_t *pml4 = (uint64_t *)(vm->mem + BENCH_PML4);
	uint64_t *pdpt = (uint64_t *)(vm->mem + BENCH_PDPT);
	uint64_t *pd = (uint64_t *)(vm->mem + BENCH_PD);
	uint64_t *gdt = (uint64_t *)(vm->mem + BENCH_GDT);
	struct vmm_sregs sregs;
	struct vmm_regs regs;
	int i;

	memcpy(vm->mem + BENCH_CODE, begin, end - begin);

	pml4[0] = BENCH_PDPT | PTE_P | PTE_RW;
	pdpt[0] = BENCH_PD | PTE_P | PTE_RW;
	for (i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | PTE_P | PTE_RW | PTE_PS;

	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffULL;	/* SEL_CODE: 64-bit code, DPL 0 */
	gdt[2] = 0x00cf93000000ffffULL;	/* SEL_DATA: data, DPL 0 */

	if (ioctl(vm->vcpu_fd, VMM_GET_SREGS, &sregs) < 0)
		return fail_errno("GET_SREGS");
	set_seg(&sregs.cs, SEL_CODE, true);
	set_seg(&sregs.ds, SEL_DATA, false);
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	sregs.ss = sregs.ds;
	sregs.gdt.base = BENCH_GDT;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
	sregs.cr3 = BENCH_PML4;
	sregs.cr4 = CR4_PAE;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(vm->vcpu_fd, VMM_SET_SREGS, &sregs) < 0)
		return fail_errno("SET_SREGS");

	memset(&regs, 0, sizeof(regs));
	regs.rip = BENCH_CODE;
	regs.rflags = 0x2;
	regs.rsp = BENCH_STACK_TOP;
	regs.rdi = rdi;
	regs.r8 = r8;
	if (ioctl(vm->vcpu_fd, VMM_SET_REGS, &regs) < 0)
		return fail_errno("SET_REGS");
	return 0;
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case VMM_EXIT_UNKNOWN:		return "UNKNOWN";
	case VMM_EXIT_EXCEPTION:	return "EXCEPTION";
	case VMM_EXIT_IO:		return "IO";
	case VMM_EXIT_HYPERCALL:	return "HYPERCALL";
	case VMM_EXIT_DEBUG:		return "DEBUG";
	case VMM_EXIT_HLT:		return "HLT";
	case VMM_EXIT_MMIO:		return "MMIO";
	case VMM_EXIT_SHUTDOWN:		return "SHUTDOWN";
	case VMM_EXIT_FAIL_ENTRY:	return "FAIL_ENTRY";
	case VMM_EXIT_INTR:		return "INTR";
	case VMM_EXIT_INTERNAL_ERROR:	return "INTERNAL_ERROR";
	case VMM_EXIT_SYSTEM_EVENT:	return "SYSTEM_EVENT";
	default:			return "?";
	}
}

static void report_exit(struct vm *vm, unsigned int want_port)
{
	struct vmm_run *run = vm->run;
	struct vmm_regs regs;
	unsigned long long rip = 0;

	if (ioctl(vm->vcpu_fd, VMM_GET_REGS, &regs) == 0)
		rip = regs.rip;
	msg("unexpected exit %u (%s) at rip 0x%llx, wanted OUT to port 0x%x",
	    run->exit_reason, exit_name(run->exit_reason), rip, want_port);
	switch (run->exit_reason) {
	case VMM_EXIT_IO:
		msg("  io: %s port 0x%x size %u count %u",
		    run->io.direction == VMM_EXIT_IO_OUT ? "out" : "in",
		    run->io.port, run->io.size, run->io.count);
		break;
	case VMM_EXIT_MMIO:
		msg("  mmio: %s gpa 0x%llx len %u",
		    run->mmio.is_write ? "write" : "read",
		    (unsigned long long)run->mmio.phys_addr, run->mmio.len);
		break;
	case VMM_EXIT_FAIL_ENTRY:
		msg("  hardware entry failure reason 0x%llx",
		    (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case VMM_EXIT_UNKNOWN:
		msg("  hardware exit reason 0x%llx",
		    (unsigned long long)run->hw.hardware_exit_reason);
		break;
	case VMM_EXIT_INTERNAL_ERROR:
		msg("  suberror %u, %u data words%s0x%llx",
		    run->internal.suberror, run->internal.ndata,
		    run->internal.ndata ? ", first " : ", ",
		    (unsigned long long)run->internal.data[0]);
		break;
	}
}

/* VMM_RUN once; succeed only on an OUT to @port. */
static int run_to_port(struct vm *vm, unsigned int port)
{
	struct vmm_run *run = vm->run;

	while (ioctl(vm->vcpu_fd, VMM_RUN, 0) < 0) {
		if (errno != EINTR)
			return fail_errno("RUN");
		if (atomic_load(&timed_out)) {
			msg("RUN interrupted: over the %u s limit", limit_secs);
			return -1;
		}
	}
	if (run->exit_reason == VMM_EXIT_IO &&
	    run->io.direction == VMM_EXIT_IO_OUT && run->io.port == port)
		return 0;
	report_exit(vm, port);
	return -1;
}

/* 1. guest OUT, exit to user space, re-enter */
static int bench_io(const struct dev *dev, long iters, double *ns)
{
	struct vm vm;
	double t0;
	long i;
	int ret = -1;

	if (vm_create(dev, &vm))
		return -1;
	if (vm_boot(&vm, guest_io, guest_io_end, 0, 0))
		goto out;
	/* the first entry faults in the code and page tables: not timed */
	if (run_to_port(&vm, BENCH_PORT_LOOP))
		goto out;
	t0 = now_ns();
	for (i = 0; i < iters; i++)
		if (run_to_port(&vm, BENCH_PORT_LOOP))
			goto out;
	*ns = (now_ns() - t0) / iters;
	ret = 0;
out:
	vm_destroy(&vm);
	return ret;
}

/*
 * A guest loop of @iters in-kernel exits between a SYNC and a DONE exit;
 * the time between them is divided by @iters.  rax at DONE goes to *rax.
 */
static int bench_loop(const struct dev *dev, const unsigned char *begin,
		      const unsigned char *end, long iters, double *ns,
		      uint64_t *rax)
{
	struct vmm_regs regs;
	struct vm vm;
	double t0, t1;
	int ret = -1;

	if (vm_create(dev, &vm))
		return -1;
	if (vm_boot(&vm, begin, end, 0, iters))
		goto out;
	if (run_to_port(&vm, BENCH_PORT_SYNC))
		goto out;
	t0 = now_ns();
	if (run_to_port(&vm, BENCH_PORT_DONE))
		goto out;
	t1 = now_ns();
	if (ioctl(vm.vcpu_fd, VMM_GET_REGS, &regs) < 0) {
		fail_errno("GET_REGS");
		goto out;
	}
	*rax = regs.rax;
	*ns = (t1 - t0) / iters;
	ret = 0;
out:
	vm_destroy(&vm);
	return ret;
}

/* 2. CPUID: handled in the kernel */
static int bench_cpuid(const struct dev *dev, long iters, double *ns)
{
	uint64_t rax;

	return bench_loop(dev, guest_cpuid, guest_cpuid_end, iters, ns, &rax);
}

/* 2b. VMMCALL with an unknown number: handled in the kernel */
static int bench_vmmcall(const struct dev *dev, long iters, double *ns)
{
	uint64_t rax;

	if (bench_loop(dev, guest_vmmcall, guest_vmmcall_end, iters, ns, &rax))
		return -1;
	if (rax != HC_ENOSYS)
		msg("note: VMMCALL left rax = 0x%llx (KVM: -KVM_ENOSYS)",
		    (unsigned long long)rax);
	return 0;
}

/*
 * 0. the floor: VMMCALL with vmm's floor hypercall number, which vmm with
 * bench_floor=1 resumes right after the #VMEXIT.  Only such a device runs
 * it; rax must still hold the number at the end, or the hypercall went
 * the normal way.
 */
static int bench_floor(const struct dev *dev, long iters, double *ns)
{
	uint64_t rax;

	if (!dev->floor)
		return NOT_APPLICABLE;
	if (bench_loop(dev, guest_floor, guest_floor_end, iters, ns, &rax))
		return -1;
	if (rax != BENCH_HC_FLOOR) {
		msg("floor hypercall left rax = 0x%llx, not the number: not a floor",
		    (unsigned long long)rax);
		return -1;
	}
	return 0;
}

/*
 * 3. first guest touch of 4 KiB pages of a fresh memory slot.
 *
 * The host memory behind the slot is faulted in (written) before the VM
 * exists and is kept out of transparent huge pages, so that what is timed
 * is the nested page fault path and a 4 KiB nested mapping per page, not
 * host page allocation.  Every round uses a new VM, so its nested page
 * tables start empty; the code and page-table pages of slot 0 are touched
 * before the timed part.
 */
static long npf_pages(void)
{
	return ((size_t)npf_slot_mib << 20) / BENCH_PAGE_SIZE;
}

/* npf-4k runs whole slots: round @iters to a multiple of npf_pages() */
static long npf_round(long iters)
{
	long rounds = (iters + npf_pages() / 2) / npf_pages();

	return (rounds < 1 ? 1 : rounds) * npf_pages();
}

static int bench_npf(const struct dev *dev, long iters, double *ns)
{
	size_t size = (size_t)npf_slot_mib << 20;
	long pages = npf_pages();
	long rounds = npf_round(iters) / pages, r;
	double total = 0, t0;
	unsigned char *mem;
	struct vm vm;
	int ret = -1;

	mem = map_anon(size);
	if (!mem)
		return fail_errno("mmap slot memory");
	if (madvise(mem, size, MADV_NOHUGEPAGE))
		fail_errno("madvise(MADV_NOHUGEPAGE)");
	memset(mem, 0x5a, size);

	for (r = 0; r < rounds; r++) {
		if (vm_create(dev, &vm))
			goto out;
		if (vm_boot(&vm, guest_touch, guest_touch_end, BENCH_NPF_GPA,
			    pages) ||
		    set_slot(vm.fd, BENCH_NPF_SLOT, BENCH_NPF_GPA, size, mem) ||
		    run_to_port(&vm, BENCH_PORT_SYNC)) {
			vm_destroy(&vm);
			goto out;
		}
		t0 = now_ns();
		if (run_to_port(&vm, BENCH_PORT_DONE)) {
			vm_destroy(&vm);
			goto out;
		}
		total += now_ns() - t0;
		vm_destroy(&vm);
		if (mem[0] != 1 || mem[size - BENCH_PAGE_SIZE] != 1) {
			msg("guest writes did not reach the slot memory");
			goto out;
		}
		memset(mem, 0x5a, size);
	}
	*ns = total / (rounds * pages);
	ret = 0;
out:
	munmap(mem, size);
	return ret;
}

/*
 * 4. CREATE_VM + small memory slot + CREATE_VCPU + close.
 *
 * One idle VM stays open meanwhile: KVM enables SVM on every CPU when its
 * first VM is created and disables it when the last one goes away, and that
 * is not what this row is about.
 */
static int bench_vm_create(const struct dev *dev, long iters, double *ns)
{
	int holder, vm_fd, vcpu_fd, ret = -1;
	void *mem;
	double t0;
	long i;

	mem = map_anon(SMALL_SLOT_SIZE);
	if (!mem)
		return fail_errno("mmap");
	holder = ioctl(dev->fd, VMM_CREATE_VM, 0);
	if (holder < 0) {
		fail_errno("CREATE_VM");
		goto out_unmap;
	}
	t0 = now_ns();
	for (i = 0; i < iters; i++) {
		if (atomic_load(&timed_out)) {
			msg("over the %u s limit", limit_secs);
			goto out;
		}
		vm_fd = ioctl(dev->fd, VMM_CREATE_VM, 0);
		if (vm_fd < 0) {
			fail_errno("CREATE_VM");
			goto out;
		}
		if (set_slot(vm_fd, 0, 0, SMALL_SLOT_SIZE, mem)) {
			close(vm_fd);
			goto out;
		}
		vcpu_fd = ioctl(vm_fd, VMM_CREATE_VCPU, 0);
		if (vcpu_fd < 0) {
			fail_errno("CREATE_VCPU");
			close(vm_fd);
			goto out;
		}
		close(vcpu_fd);
		close(vm_fd);
	}
	*ns = (now_ns() - t0) / iters;
	ret = 0;
out:
	close(holder);
out_unmap:
	munmap(mem, SMALL_SLOT_SIZE);
	return ret;
}

/* Default iteration counts: a few seconds each on kvm-amd under QEMU TCG. */
static struct bench benches[] = {
	{ .name = "floor", .iters = 100000, .fn = bench_floor,
	  .kind = NO_EXIT,
	  .what = "bare VMRUN/#VMEXIT round trip (vmm, bench_floor=1)" },
	{ .name = "io-out", .iters = 100000, .fn = bench_io,
	  .kind = EXIT_USER,
	  .what = "OUT exit to user space and back" },
	{ .name = "cpuid", .iters = 100000, .fn = bench_cpuid,
	  .kind = EXIT_KERNEL,
	  .what = "CPUID exit handled in the kernel" },
	{ .name = "vmmcall", .iters = 100000, .fn = bench_vmmcall,
	  .kind = EXIT_KERNEL,
	  .what = "unknown hypercall handled in the kernel" },
	{ .name = "npf-4k", .iters = 65536, .fn = bench_npf,
	  .kind = EXIT_KERNEL,
	  .what = "first touch of a 4 KiB page (nested page fault)" },
	{ .name = "vm-create", .iters = 100, .fn = bench_vm_create,
	  .kind = NO_EXIT,
	  .what = "CREATE_VM + slot + CREATE_VCPU + close" },
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define NR_BENCHES	ARRAY_SIZE(benches)

static struct bench *find_bench(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NR_BENCHES; i++)
		if (strlen(benches[i].name) == len &&
		    !strncmp(benches[i].name, name, len))
			return &benches[i];
	return NULL;
}

/* vmm loaded with bench_floor=1?  Only then can /dev/vmm time the floor. */
static bool floor_param_on(void)
{
	char buf[4] = "";
	FILE *f = fopen(FLOOR_PARAM, "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return buf[0] == 'Y';
}

static int open_dev(struct dev *dev, bool allow_missing)
{
	const char *base = strrchr(dev->path, '/');
	int v, sz;

	snprintf(dev->label, sizeof(dev->label), "%s",
		 base ? base + 1 : dev->path);
	cur_label = dev->label;
	dev->fd = open(dev->path, O_RDWR | O_CLOEXEC);
	if (dev->fd < 0) {
		if (errno == ENOENT && allow_missing) {
			msg("%s missing: column left empty", dev->path);
			return 0;
		}
		return fail_errno(dev->path);
	}
	v = ioctl(dev->fd, VMM_GET_API_VERSION, 0);
	if (v != VMM_API_VERSION) {
		msg("GET_API_VERSION: %d, want %d", v, VMM_API_VERSION);
		return -1;
	}
	sz = ioctl(dev->fd, VMM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct vmm_run)) {
		msg("GET_VCPU_MMAP_SIZE: %d, want at least %zu", sz,
		    sizeof(struct vmm_run));
		return -1;
	}
	dev->run_size = sz;
	dev->floor = !strcmp(dev->label, "vmm") && floor_param_on();
	if (!strcmp(dev->label, "vmm") && !dev->floor)
		msg("%s not Y: no floor (load vmm.ko with bench_floor=1)",
		    FLOOR_PARAM);
	return 0;
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"Usage: %s --dev PATH [--dev PATH]... [options]\n"
		"  --dev PATH         device to measure (e.g. /dev/vmm, /dev/kvm);\n"
		"                     the column is named after its basename and,\n"
		"                     with two devices, ratio = first / second\n"
		"  --allow-missing    a --dev that does not exist gets an empty\n"
		"                     column instead of an error\n"
		"  --only A,B,...     run only these benchmarks\n"
		"  --iters NAME=N     iterations of benchmark NAME (npf-4k: pages)\n"
		"  --scale F          multiply every iteration count by F\n"
		"  --npf-mib M        size of the npf-4k memory slot (default 64)\n"
		"  --limit S          give up a measurement after S seconds: a\n"
		"                     SIGALRM interrupts RUN (default 180, 0: none)\n"
		"benchmarks:\n", "vmm-bench");
	for (i = 0; i < NR_BENCHES; i++)
		fprintf(f, "  %-10s N=%-8ld %s\n", benches[i].name,
			benches[i].iters, benches[i].what);
}

/* a measured figure, not an error (NAN) or n/a (< 0) */
static bool measured(double ns)
{
	return !isnan(ns) && ns >= 0;
}

static struct bench *floor_bench(void)
{
	size_t i;

	for (i = 0; i < NR_BENCHES; i++)
		if (benches[i].fn == bench_floor)
			return &benches[i];
	return NULL;
}

/*
 * The last column: the first device's figure over its floor, for every
 * exit; "*" marks exits to user space, whose ratio is for information.
 */
static void print_floor_ratio(const struct bench *b, double ns, double floor)
{
	if (b->kind == NO_EXIT)
		printf(" %16s", "-");
	else if (!measured(ns) || !measured(floor) || floor <= 0)
		printf(" %16s", "n/a");
	else
		printf(" %15.2f%c", ns / floor, b->kind == EXIT_USER ? '*' : ' ');
}

static void print_table(struct dev *devs, int ndevs,
			double res[][MAX_DEVS])
{
	double floor = res[floor_bench() - benches][0];
	char head[80];
	size_t b;
	int d;

	printf("%-12s", "benchmark");
	for (d = 0; d < ndevs; d++) {
		snprintf(head, sizeof(head), "%s(ns)", devs[d].label);
		printf(" %12s", head);
	}
	if (ndevs == 2) {
		snprintf(head, sizeof(head), "ratio(%s/%s)", devs[0].label,
			 devs[1].label);
		printf(" %16s", head);
	}
	snprintf(head, sizeof(head), "ratio(%s/floor)", devs[0].label);
	printf(" %16s", head);
	printf("\n");

	for (b = 0; b < NR_BENCHES; b++) {
		if (!benches[b].selected)
			continue;
		printf("%-12s", benches[b].name);
		for (d = 0; d < ndevs; d++) {
			if (devs[d].fd < 0)
				printf(" %12s", "-");
			else if (isnan(res[b][d]))
				printf(" %12s", "error");
			else if (res[b][d] < 0)
				printf(" %12s", "n/a");
			else
				printf(" %12.1f", res[b][d]);
		}
		if (ndevs == 2) {
			if (!measured(res[b][0]) || !measured(res[b][1]) ||
			    res[b][1] <= 0)
				printf(" %16s", "n/a");
			else
				printf(" %16.2f", res[b][0] / res[b][1]);
		}
		print_floor_ratio(&benches[b], res[b][0], floor);
		printf("\n");
	}
	printf("iterations:");
	for (b = 0; b < NR_BENCHES; b++)
		if (benches[b].selected)
			printf(" %s=%ld", benches[b].name, benches[b].iters);
	printf(" (npf-4k: pages, %ld MiB per VM)\n", npf_slot_mib);
	printf("note: floor = bare VMRUN/#VMEXIT round trip on %s (bench_floor=1);"
	       " * = exit to user space, ratio for information\n",
	       devs[0].label);
}

enum { OPT_DEV = 1, OPT_ALLOW_MISSING, OPT_ONLY, OPT_ITERS, OPT_SCALE,
	OPT_NPF_MIB, OPT_LIMIT, OPT_HELP };

static const struct option options[] = {
	{ "dev", required_argument, NULL, OPT_DEV },
	{ "allow-missing", no_argument, NULL, OPT_ALLOW_MISSING },
	{ "only", required_argument, NULL, OPT_ONLY },
	{ "iters", required_argument, NULL, OPT_ITERS },
	{ "scale", required_argument, NULL, OPT_SCALE },
	{ "npf-mib", required_argument, NULL, OPT_NPF_MIB },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};

static int select_only(const char *list)
{
	const char *p = list;
	struct bench *b;
	size_t i, len;

	for (i = 0; i < NR_BENCHES; i++)
		benches[i].selected = false;
	while (*p) {
		len = strcspn(p, ",");
		b = find_bench(p, len);
		if (!b) {
			fprintf(stderr, "vmm-bench: unknown benchmark '%.*s'\n",
				(int)len, p);
			return -1;
		}
		b->selected = true;
		p += len;
		if (*p == ',')
			p++;
	}
	return 0;
}

static int set_iters(const char *arg)
{
	const char *eq = strchr(arg, '=');
	struct bench *b;
	char *end;
	long n;

	b = eq ? find_bench(arg, eq - arg) : NULL;
	if (!b) {
		fprintf(stderr, "vmm-bench: --iters wants NAME=N, got '%s'\n",
			arg);
		return -1;
	}
	n = strtol(eq + 1, &end, 0);
	if (*end || n < 1) {
		fprintf(stderr, "vmm-bench: bad iteration count '%s'\n", eq + 1);
		return -1;
	}
	b->iters = n;
	return 0;
}

int main(int argc, char **argv)
{
	static double res[NR_BENCHES][MAX_DEVS];
	struct dev devs[MAX_DEVS];
	bool allow_missing = false;
	double scale = 1;
	struct sigaction sa = { .sa_handler = on_alarm };
	int ndevs = 0, opt, d, ret, failed = 0;
	size_t b;

	for (b = 0; b < NR_BENCHES; b++)
		benches[b].selected = true;

	while ((opt = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (opt) {
		case OPT_DEV:
			if (ndevs == MAX_DEVS) {
				fprintf(stderr, "vmm-bench: at most %d devices\n",
					MAX_DEVS);
				return 2;
			}
			devs[ndevs++].path = optarg;
			break;
		case OPT_ALLOW_MISSING:
			allow_missing = true;
			break;
		case OPT_ONLY:
			if (select_only(optarg))
				return 2;
			break;
		case OPT_ITERS:
			if (set_iters(optarg))
				return 2;
			break;
		case OPT_SCALE:
			scale = strtod(optarg, NULL);
			if (!(scale > 0)) {
				fprintf(stderr, "vmm-bench: bad --scale\n");
				return 2;
			}
			break;
		case OPT_NPF_MIB:
			npf_slot_mib = strtol(optarg, NULL, 0);
			/* the slot must stay inside the guest's first GiB */
			if (npf_slot_mib < 1 ||
			    (BENCH_NPF_GPA >> 20) + npf_slot_mib > 1024) {
				fprintf(stderr, "vmm-bench: bad --npf-mib\n");
				return 2;
			}
			break;
		case OPT_LIMIT:
			limit_secs = strtoul(optarg, NULL, 0);
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!ndevs || optind != argc) {
		usage(stderr);
		return 2;
	}

	for (b = 0; b < NR_BENCHES; b++) {
		benches[b].iters = llround(benches[b].iters * scale);
		if (benches[b].iters < 1)
			benches[b].iters = 1;
		if (benches[b].fn == bench_npf)
			benches[b].iters = npf_round(benches[b].iters);
	}

	for (d = 0; d < ndevs; d++)
		if (open_dev(&devs[d], allow_missing))
			return 1;

	/* no SA_RESTART: the alarm makes a stuck RUN return EINTR */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL)) {
		perror("vmm-bench: sigaction");
		return 1;
	}

	/* benchmark-major order: the devices see the same host conditions */
	for (b = 0; b < NR_BENCHES; b++) {
		if (!benches[b].selected)
			continue;
		for (d = 0; d < ndevs; d++) {
			double t0, ns = NAN;

			res[b][d] = NAN;
			if (devs[d].fd < 0)
				continue;
			cur_label = devs[d].label;
			atomic_store(&timed_out, 0);
			alarm(limit_secs);
			t0 = now_ns();
			ret = benches[b].fn(&devs[d], benches[b].iters, &ns);
			alarm(0);
			if (ret == NOT_APPLICABLE) {
				res[b][d] = -1;
				continue;
			}
			if (ret) {
				msg("%s: FAILED", benches[b].name);
				failed = 1;
				continue;
			}
			res[b][d] = ns;
			msg("%-10s N=%-8ld %10.1f ns/op  (%.2f s)",
			    benches[b].name, benches[b].iters, ns,
			    (now_ns() - t0) / 1e9);
		}
	}

	print_table(devs, ndevs, res);
	return failed;
}
