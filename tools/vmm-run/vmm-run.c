// SPDX-License-Identifier: GPL-2.0
/*
 * vmm-run: a minimal virtual machine monitor for /dev/vmm (or /dev/kvm).
 *
 * Loads a flat binary image into guest memory, starts one vCPU in real mode
 * at the image and emulates just enough hardware for a bare-metal program:
 * a polled 16550 UART at 0x3f8 whose output goes to stdout, an exit port
 * at 0xf4 and, at 0xf5, a way to get EFER.LME set (there is no CPUID
 * table).  See README.rst for the port map and the exit codes.
 *
 * Only the ioctls of include/uapi/linux/vmm.h are used, and since that ABI
 * is binary-identical to KVM's, the same binary also runs on /dev/kvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/vmm.h>
#include "vmm_exit_reason.h"

#define DEFAULT_DEV	"/dev/vmm"
#define DEFAULT_MEM_MIB	16
#define DEFAULT_LOAD	0x10000ULL
#define MAX_MEM_MIB	3072		/* stay below the 32-bit MMIO hole */
#define REAL_MODE_TOP	0x100000ULL	/* CS:IP reaches at most 1 MiB */

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define EFER_LME	(1ULL << 8)
#define CR0_PG		(1ULL << 31)

/* exit status of vmm-run itself */
#define EXIT_ERROR	1
#define EXIT_USAGE	2

/* ports */
#define EXIT_PORT	0xf4
#define LME_PORT	0xf5
#define COM1_BASE	0x3f8
#define COM1_END	(COM1_BASE + 7)

/* 16550 register offsets */
#define UART_RBR_THR	0	/* DLAB=0: RBR (in) / THR (out); DLAB=1: DLL */
#define UART_IER	1	/* DLAB=0: IER; DLAB=1: DLM */
#define UART_IIR_FCR	2	/* IIR (in) / FCR (out) */
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define UART_MSR	6
#define UART_SCR	7

#define UART_LCR_DLAB	0x80
#define UART_IIR_NO_INT	0x01
#define UART_LSR_THRE	0x20	/* transmit holding register empty */
#define UART_LSR_TEMT	0x40	/* transmitter empty */
#define UART_MSR_IDLE	0xb0	/* DCD | DSR | CTS */

struct uart {
	uint8_t ier, lcr, mcr, scr, dll, dlm;
};

struct vm {
	const char *dev;
	int sys_fd, vm_fd, vcpu_fd;
	uint8_t *mem;
	uint64_t mem_size;
	struct vmm_run *run;
	size_t run_size;
	struct uart uart;
	bool trace;
};

static const char *prog = "vmm-run";

static void print_usage(FILE *f, bool full)
{
	fprintf(f,
		"usage: %s [--dev PATH] [--mem MIB] [--load ADDR] [--entry ADDR] [--trace] IMAGE\n",
		prog);
	if (!full) {
		fprintf(f, "Try '%s --help' for more information.\n", prog);
		return;
	}
	fprintf(f,
		"\n"
		"Run the flat binary IMAGE in a one-vCPU virtual machine.\n"
		"\n"
		"  --dev PATH    hypervisor device (default %s; /dev/kvm works too)\n"
		"  --mem MIB     guest memory in MiB, 1..%d (default %d)\n"
		"  --load ADDR   guest-physical load address of IMAGE (default 0x%llx)\n"
		"  --entry ADDR  guest-physical start address, below 1 MiB\n"
		"                (default: the load address)\n"
		"  --trace       log every exit of the vCPU on stderr\n"
		"  -h, --help    print this help\n"
		"\n"
		"The vCPU starts in real mode with CS = (ENTRY & 0xf0000) >> 4,\n"
		"IP = ENTRY & 0xffff, DS = ES = FS = GS = SS = CS and SP = 0.\n"
		"Ports: 0x3f8-0x3ff 16550 UART (output on stdout),\n"
		"       0x%x exit (vmm-run exits with the value written),\n"
		"       0x%x any write sets EFER.LME (there is no CPUID table).\n"
		"Exit status: 0 on guest HLT, the exit port value, 1 on errors\n"
		"(bad image, unexpected exits), 2 on usage errors and -h.\n",
		DEFAULT_DEV, MAX_MEM_MIB, DEFAULT_MEM_MIB,
		(unsigned long long)DEFAULT_LOAD, EXIT_PORT, LME_PORT);
}

[[gnu::format(printf, 1, 2)]] static _Noreturn void
die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(EXIT_ERROR);
}

[[gnu::format(printf, 1, 2)]] static _Noreturn void
die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	print_usage(stderr, false);
	exit(EXIT_USAGE);
}

static uint64_t parse_num(const char *opt, const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-')
		die_usage("invalid number for %s: '%s'", opt, s);
	return v;
}

static const char *exit_reason_name(uint32_t reason)
{
	const char *name = vmm_exit_reason_name(reason);

	return name ? name : "(unnamed)";
}

/* Best-effort "rip 0x... cs 0x..." for diagnostics. */
static const char *where(struct vm *vm)
{
	static char buf[96];
	struct vmm_sregs sregs;
	struct vmm_regs regs;

	if (ioctl(vm->vcpu_fd, VMM_GET_REGS, &regs) < 0) {
		snprintf(buf, sizeof(buf), "rip unknown (GET_REGS: %s)",
			 strerror(errno));
		return buf;
	}
	if (ioctl(vm->vcpu_fd, VMM_GET_SREGS, &sregs) < 0) {
		snprintf(buf, sizeof(buf), "rip 0x%llx",
			 (unsigned long long)regs.rip);
		return buf;
	}
	snprintf(buf, sizeof(buf), "rip 0x%llx cs 0x%x cr0 0x%llx efer 0x%llx",
		 (unsigned long long)regs.rip, sregs.cs.selector,
		 (unsigned long long)sregs.cr0,
		 (unsigned long long)sregs.efer);
	return buf;
}

/*
 * Read the whole image before touching the hypervisor, so that a bad image
 * is reported as such whatever the state of the device.
 */
static uint8_t *read_image(const char *path, uint64_t load, uint64_t mem_size,
			   uint64_t *sizep)
{
	uint64_t size, done = 0;
	struct stat st;
	uint8_t *buf;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("cannot open image '%s': %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		die("cannot stat image '%s': %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		die("image '%s' is not a regular file", path);
	size = st.st_size;
	if (!size)
		die("image '%s' is empty", path);
	if (load >= mem_size || size > mem_size - load)
		die("image '%s' (%" PRIu64 " bytes at 0x%" PRIx64 ") does not fit in %" PRIu64 " MiB of guest memory",
		    path, size, load, mem_size >> 20);

	buf = malloc(size);
	if (!buf)
		die("cannot allocate %" PRIu64 " bytes for image '%s'",
		    size, path);
	while (done < size) {
		n = read(fd, buf + done, size - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("cannot read image '%s': %s", path, strerror(errno));
		if (!n)
			die("image '%s' shrank while being read", path);
		done += n;
	}
	close(fd);
	*sizep = size;
	return buf;
}

static void create_vm(struct vm *vm)
{
	struct vmm_userspace_memory_region region;
	int ret;

	vm->sys_fd = open(vm->dev, O_RDWR | O_CLOEXEC);
	if (vm->sys_fd < 0)
		die("cannot open %s: %s", vm->dev, strerror(errno));

	ret = ioctl(vm->sys_fd, VMM_GET_API_VERSION, 0);
	if (ret < 0)
		die("%s: GET_API_VERSION: %s", vm->dev, strerror(errno));
	if (ret != VMM_API_VERSION)
		die("%s: API version %d, need %d", vm->dev, ret,
		    VMM_API_VERSION);

	vm->vm_fd = ioctl(vm->sys_fd, VMM_CREATE_VM, 0);
	if (vm->vm_fd < 0)
		die("%s: CREATE_VM: %s", vm->dev, strerror(errno));

	vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED)
		die("cannot allocate %" PRIu64 " MiB of guest memory: %s",
		    vm->mem_size >> 20, strerror(errno));

	memset(&region, 0, sizeof(region));
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = vm->mem_size;
	region.userspace_addr = (uintptr_t)vm->mem;
	if (ioctl(vm->vm_fd, VMM_SET_USER_MEMORY_REGION, &region) < 0)
		die("SET_USER_MEMORY_REGION: %s", strerror(errno));

	vm->vcpu_fd = ioctl(vm->vm_fd, VMM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0)
		die("CREATE_VCPU: %s", strerror(errno));

	ret = ioctl(vm->sys_fd, VMM_GET_VCPU_MMAP_SIZE, 0);
	if (ret < 0)
		die("GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	if ((size_t)ret < sizeof(struct vmm_run))
		die("GET_VCPU_MMAP_SIZE: %d bytes, less than struct vmm_run (%zu)",
		    ret, sizeof(struct vmm_run));
	vm->run_size = ret;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu_fd, 0);
	if (vm->run == MAP_FAILED)
		die("cannot mmap the vCPU run page: %s", strerror(errno));
}

static void set_real_mode_segment(struct vmm_segment *seg, uint16_t sel)
{
	seg->selector = sel;
	seg->base = (uint64_t)sel << 4;
	seg->limit = 0xffff;
}

/* Real mode at ENTRY, everything else as the device's reset state has it. */
static void setup_vcpu(struct vm *vm, uint64_t entry)
{
	uint16_t sel = (entry & 0xf0000) >> 4;
	struct vmm_sregs sregs;
	struct vmm_regs regs;

	if (ioctl(vm->vcpu_fd, VMM_GET_SREGS, &sregs) < 0)
		die("GET_SREGS: %s", strerror(errno));
	set_real_mode_segment(&sregs.cs, sel);
	set_real_mode_segment(&sregs.ds, sel);
	set_real_mode_segment(&sregs.es, sel);
	set_real_mode_segment(&sregs.fs, sel);
	set_real_mode_segment(&sregs.gs, sel);
	set_real_mode_segment(&sregs.ss, sel);
	if (ioctl(vm->vcpu_fd, VMM_SET_SREGS, &sregs) < 0)
		die("SET_SREGS: %s", strerror(errno));

	memset(&regs, 0, sizeof(regs));
	regs.rip = entry & 0xffff;
	regs.rflags = 0x2;	/* bit 1 is reserved, always one */
	if (ioctl(vm->vcpu_fd, VMM_SET_REGS, &regs) < 0)
		die("SET_REGS: %s", strerror(errno));
}

static void uart_out(struct vm *vm, unsigned int off, uint8_t val)
{
	struct uart *u = &vm->uart;
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (off) {
	case UART_RBR_THR:
		if (dlab) {
			u->dll = val;
		} else {
			putchar(val);
			if (val == '\n')
				fflush(stdout);
		}
		break;
	case UART_IER:
		if (dlab)
			u->dlm = val;
		else
			u->ier = val & 0x0f;
		break;
	case UART_IIR_FCR:
		break;		/* FIFO control: nothing to do */
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		u->mcr = val & 0x1f;
		break;
	case UART_SCR:
		u->scr = val;
		break;
	default:
		break;		/* LSR and MSR are read-only */
	}
}

static uint8_t uart_in(struct vm *vm, unsigned int off)
{
	struct uart *u = &vm->uart;
	bool dlab = u->lcr & UART_LCR_DLAB;

	switch (off) {
	case UART_RBR_THR:
		return dlab ? u->dll : 0;	/* no input, ever */
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR_FCR:
		return UART_IIR_NO_INT;
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return UART_LSR_THRE | UART_LSR_TEMT;
	case UART_MSR:
		return UART_MSR_IDLE;
	default:
		return u->scr;
	}
}

/*
 * A write to LME_PORT sets EFER.LME.  A guest may only set it itself
 * (WRMSR) if CPUID advertises long mode, and this ABI has no way to give the
 * vCPU a CPUID table.  (Setting it up front, in real mode, hangs KVM's SVM
 * under QEMU TCG.)  The guest then enters long mode by setting CR0.PG.
 */
static void set_efer_lme(struct vm *vm)
{
	struct vmm_sregs sregs;

	if (ioctl(vm->vcpu_fd, VMM_GET_SREGS, &sregs) < 0)
		die("GET_SREGS: %s at %s", strerror(errno), where(vm));
	if (sregs.cr0 & CR0_PG)
		die("unexpected write to port 0x%x (set EFER.LME) with paging on at %s",
		    LME_PORT, where(vm));
	sregs.efer |= EFER_LME;
	if (ioctl(vm->vcpu_fd, VMM_SET_SREGS, &sregs) < 0)
		die("SET_SREGS (EFER 0x%llx): %s at %s",
		    (unsigned long long)sregs.efer, strerror(errno), where(vm));
}

/* Returns -1 to keep running, otherwise the exit status. */
static int handle_io(struct vm *vm)
{
	struct vmm_run *run = vm->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == VMM_EXIT_IO_OUT;
	unsigned int port = run->io.port, size = run->io.size;
	uint32_t i, value;

	if (size != 1 && size != 2 && size != 4)
		die("unexpected exit IO with size %u on port 0x%x at %s",
		    size, port, where(vm));
	if (run->io.data_offset + (uint64_t)size * run->io.count >
	    vm->run_size)
		die("unexpected exit IO with data beyond the run page on port 0x%x at %s",
		    port, where(vm));

	for (i = 0; i < run->io.count; i++, data += size) {
		if (port == EXIT_PORT && out) {
			value = 0;
			memcpy(&value, data, size);
			return value & 0xff;
		}
		if (port == LME_PORT && out) {
			set_efer_lme(vm);
			continue;
		}
		if (port < COM1_BASE || port > COM1_END || size != 1)
			die("unexpected exit IO: %s of size %u on unknown port 0x%x at %s",
			    out ? "write" : "read", size, port, where(vm));
		if (out)
			uart_out(vm, port - COM1_BASE, *data);
		else
			*data = uart_in(vm, port - COM1_BASE);
	}
	return -1;
}

static void trace_exit(struct vm *vm)
{
	struct vmm_run *run = vm->run;
	const char *name = exit_reason_name(run->exit_reason);

	if (run->exit_reason == VMM_EXIT_IO)
		fprintf(stderr, "%s: trace: exit IO %s port 0x%x size %u count %u at %s\n",
			prog, run->io.direction == VMM_EXIT_IO_OUT ? "out" : "in",
			run->io.port, run->io.size, run->io.count, where(vm));
	else
		fprintf(stderr, "%s: trace: exit %s (%u) at %s\n",
			prog, name, run->exit_reason, where(vm));
}

static int run_vcpu(struct vm *vm)
{
	struct vmm_run *run = vm->run;
	int status;

	for (;;) {
		if (ioctl(vm->vcpu_fd, VMM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("RUN: %s at %s", strerror(errno), where(vm));
		}

		if (vm->trace)
			trace_exit(vm);

		switch (run->exit_reason) {
		case VMM_EXIT_IO:
			status = handle_io(vm);
			if (status >= 0)
				return status;
			break;
		case VMM_EXIT_HLT:
			return 0;
		case VMM_EXIT_INTR:
			break;
		case VMM_EXIT_MMIO:
			die("unexpected exit MMIO: %s of %u bytes at 0x%llx at %s",
			    run->mmio.is_write ? "write" : "read",
			    run->mmio.len,
			    (unsigned long long)run->mmio.phys_addr,
			    where(vm));
		case VMM_EXIT_FAIL_ENTRY:
			die("unexpected exit FAIL_ENTRY: hardware reason 0x%llx at %s",
			    (unsigned long long)
			    run->fail_entry.hardware_entry_failure_reason,
			    where(vm));
		case VMM_EXIT_INTERNAL_ERROR:
			die("unexpected exit INTERNAL_ERROR: suberror %u at %s",
			    run->internal.suberror, where(vm));
		case VMM_EXIT_UNKNOWN:
			die("unexpected exit UNKNOWN: hardware reason 0x%llx at %s",
			    (unsigned long long)run->hw.hardware_exit_reason,
			    where(vm));
		default:
			die("unexpected exit %s (%u) at %s",
			    exit_reason_name(run->exit_reason),
			    run->exit_reason, where(vm));
		}
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "mem", required_argument, NULL, 'm' },
		{ "load", required_argument, NULL, 'l' },
		{ "entry", required_argument, NULL, 'e' },
		{ "trace", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vm vm = { .dev = DEFAULT_DEV };
	uint64_t mem_mib = DEFAULT_MEM_MIB, load = DEFAULT_LOAD, entry = 0;
	uint64_t image_size;
	bool have_entry = false;
	uint8_t *image;
	int c, status;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			vm.dev = optarg;
			break;
		case 'm':
			mem_mib = parse_num("--mem", optarg);
			break;
		case 'l':
			load = parse_num("--load", optarg);
			break;
		case 'e':
			entry = parse_num("--entry", optarg);
			have_entry = true;
			break;
		case 't':
			vm.trace = true;
			break;
		case 'h':
			print_usage(stdout, true);
			exit(EXIT_USAGE);
		default:	/* getopt_long has said what is wrong */
			print_usage(stderr, false);
			exit(EXIT_USAGE);
		}
	}
	if (argc - optind != 1)
		die_usage(argc == optind ? "no IMAGE given" :
			  "more than one IMAGE given");
	if (mem_mib < 1 || mem_mib > MAX_MEM_MIB)
		die_usage("--mem must be between 1 and %d MiB", MAX_MEM_MIB);
	if (!have_entry)
		entry = load;
	if (entry >= REAL_MODE_TOP)
		die_usage("--entry 0x%" PRIx64 " is not below 1 MiB (real mode)",
			  entry);
	vm.mem_size = mem_mib << 20;
	if (entry >= vm.mem_size)
		die_usage("--entry 0x%" PRIx64 " is outside guest memory",
			  entry);

	image = read_image(argv[optind], load, vm.mem_size, &image_size);
	create_vm(&vm);
	memcpy(vm.mem + load, image, image_size);
	free(image);
	setup_vcpu(&vm, entry);
	if (vm.trace)
		fprintf(stderr, "%s: trace: %s, %" PRIu64 " MiB, image of %" PRIu64 " bytes at 0x%" PRIx64 ", start at %s\n",
			prog, vm.dev, mem_mib, image_size, load, where(&vm));
	status = run_vcpu(&vm);
	fflush(stdout);
	return status;
}
