// SPDX-License-Identifier: GPL-2.0
/*
 * preempt: vCPU threads that are preempted, moved between host CPUs and
 * interrupted while their guests run.
 *
 * Every guest fills its general purpose and SSE registers with a pattern,
 * spins, and checks that the pattern is still there, over and over.  On the
 * host, noise threads keep every CPU busy (and dirty the host's vector
 * registers through libc; every 64th round each loads a pattern into its
 * own ymm0-15, or xmm0-15 without AVX, yields the CPU to the vCPU threads
 * a few times and checks the pattern is intact, which catches a hypervisor
 * that clobbers or mixes up host FPU state), another thread changes the
 * vCPU threads' CPU affinity every few milliseconds, and another sends
 * them signals, so the vCPUs are scheduled out and migrated both in the
 * host kernel and while in guest mode.  Host interrupts must end guest mode
 * promptly: a signal sent to a thread spinning in a guest makes KVM_RUN
 * return EINTR at once.  Host NMIs (the NMI backtrace IPIs of sysrq-l) must
 * be taken while a guest runs and leave it intact.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "vmm_util.h"

#define NR_VCPUS	4
#define SPIN_ITERS	200000
#define STRESS_SECS	4

/*
 * Exceptions end in a report instead of a triple fault: one stub per
 * vector 0-31 pushes its number and hands the frame to
 * preempt_exc_report().  The gates use IST1 and every vCPU has a TSS of
 * its own (vm_create_spinners()), so the report works on a stack of its
 * own: a guest whose RSP went bad still says so instead of shutting down.
 */
asm(".pushsection .text\n"
	".global preempt_exc_stubs\n"
	".align 16\n"
	"preempt_exc_stubs:\n"
	".irp v,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31\n"
	"	.align 16\n"
	"	push $\\v\n"
	"	jmp preempt_exc_common\n"
	".endr\n"
	"preempt_exc_common:\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call preempt_exc_report\n"
	"1:	hlt\n"
	"	jmp 1b\n"
	".popsection");
GUEST_LABEL(preempt_exc_stubs);

/* the exceptions that push an error code */
#define EXC_ERROR_CODES	(1u << 8 | 1u << 10 | 1u << 11 | 1u << 12 |	\
			 1u << 13 | 1u << 14 | 1u << 17 | 1u << 21 |	\
			 1u << 29 | 1u << 30)

/*
 * Called by preempt_exc_common, hence not static.  @f: the vector, the
 * error code if the exception has one, then RIP, CS, RFLAGS, RSP, SS.
 * Reported as ABORT(vector, error code, RIP, RSP); CR2 stays in the vCPU.
 */
void preempt_exc_report(const uint64_t *f)
{
	uint64_t vector = f[0], err = 0;
	const uint64_t *frame = f + 1;

	if (vector < 32 && (EXC_ERROR_CODES & (1u << vector)))
		err = *frame++;
	guest_ucall(UCALL_ABORT, vector, err, frame[0], frame[3]);
	guest_halt_forever();
}

/* Round after round of guest_reg_spin(), reported as SYNC(round, bad). */
static void guest_code(uint64_t id, uint64_t iters)
{
	struct guest_reg_pattern p;
	uint64_t round, seed, i;

	for (round = 0;; round++) {
		seed = (id << 56) ^ (round * 0x9e3779b97f4a7c15UL);
		for (i = 0; i < ARRAY_LEN(p.gpr); i++)
			p.gpr[i] = seed ^ (i * 0x0101010101010101UL);
		for (i = 0; i < ARRAY_LEN(p.xmm); i++)
			p.xmm[i] = ~seed ^ (i * 0x0f0f0f0f0f0f0f0fUL);
		GUEST_SYNC2(round, guest_reg_spin(&p, iters, true));
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void on_signal(int sig)
{
	(void)sig;
}

static void catch_sigusr1(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	TEST_ASSERT(!sigaction(SIGUSR1, &sa, NULL), "sigaction");
}

/* the host CPUs this process may use */
static int host_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int c, n = 0;

	TEST_ASSERT(!sched_getaffinity(0, sizeof(set), &set), "getaffinity");
	for (c = 0; c < CPU_SETSIZE && n < max; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	return n;
}

static int pin_thread(pthread_t t, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(t, sizeof(set), &set);
}

struct vcpu_thread {
	struct vmm_vcpu *vcpu;
	pthread_t tid;
	atomic_bool *stop;
	/* results */
	uint64_t rounds, eintr, bad;
	uint64_t last_exit_ns;
	atomic_uint_fast64_t exits;	/* EINTR returns, for the latency test */
	char error[160];
};

/*
 * Record in t->error what the guest did instead of a SYNC: an exception
 * (preempt_exc_report()) or an exit that is no ucall; print the vCPU's
 * registers, and its special registers, whose tables a guest depends on.
 */
static void vcpu_failed(struct vcpu_thread *t, uint64_t cmd,
			const struct ucall *uc)
{
	struct vmm_run *run = t->vcpu->run;
	struct vmm_sregs sregs;

	vcpu_get_sregs(t->vcpu, &sregs);
	if (cmd == UCALL_ABORT)
		snprintf(t->error, sizeof(t->error),
			 "guest exception %lu, error code %#lx, RIP %#lx, RSP %#lx, CR2 %#llx",
			 (unsigned long)uc->args[0], (unsigned long)uc->args[1],
			 (unsigned long)uc->args[2], (unsigned long)uc->args[3],
			 sregs.cr2);
	else if (run->exit_reason == VMM_EXIT_INTERNAL_ERROR)
		snprintf(t->error, sizeof(t->error),
			 "exit %s, suberror %u, data %#llx %#llx %#llx %#llx %#llx",
			 exit_reason_str(run->exit_reason),
			 run->internal.suberror, run->internal.data[0],
			 run->internal.data[1], run->internal.data[2],
			 run->internal.data[3], run->internal.data[4]);
	else
		snprintf(t->error, sizeof(t->error), "exit %s (%u), ucall %lu",
			 exit_reason_str(run->exit_reason), run->exit_reason,
			 (unsigned long)cmd);
	if (cmd != UCALL_ABORT)
		vcpu_describe_exit(t->vcpu);
	fprintf(stderr,
		"# vCPU %u: cr0 %#llx cr3 %#llx cr4 %#llx efer %#llx idt %#llx/%#x gdt %#llx/%#x tr %#llx/%#x cs %#x\n",
		t->vcpu->id, sregs.cr0, sregs.cr3, sregs.cr4, sregs.efer,
		sregs.idt.base, sregs.idt.limit, sregs.gdt.base,
		sregs.gdt.limit, sregs.tr.base, sregs.tr.limit,
		sregs.cs.selector);
}

/* Run the guest until *stop; check every SYNC and count EINTR returns. */
static void *vcpu_thread_fn(void *arg)
{
	struct vcpu_thread *t = arg;
	char scratch[8192];
	struct ucall uc;
	uint64_t cmd;

	while (!atomic_load(t->stop)) {
		if (__vcpu_run(t->vcpu) < 0) {
			if (errno != EINTR) {
				snprintf(t->error, sizeof(t->error),
					 "VMM_RUN: %s", strerror(errno));
				break;
			}
			if (t->vcpu->run->exit_reason != VMM_EXIT_INTR) {
				snprintf(t->error, sizeof(t->error),
					 "EINTR with exit reason %u",
					 t->vcpu->run->exit_reason);
				break;
			}
			t->eintr++;
			t->last_exit_ns = now_ns();
			atomic_fetch_add(&t->exits, 1);
			continue;
		}
		cmd = get_ucall(t->vcpu, &uc);
		if (cmd != UCALL_SYNC) {
			vcpu_failed(t, cmd, &uc);
			break;
		}
		if (uc.args[0] != t->rounds) {
			snprintf(t->error, sizeof(t->error),
				 "round %lu after %lu",
				 (unsigned long)uc.args[0],
				 (unsigned long)t->rounds);
			break;
		}
		if (uc.args[1])
			t->bad++;
		t->rounds++;
		/* dirty the host's vector registers before the next entry */
		memset(scratch, (int)t->rounds, sizeof(scratch));
		asm volatile("" : : "r"(scratch) : "memory");
	}
	return NULL;
}

/*
 * vCPU i's TSS and the top of its exception stack (IST1), in the scratch
 * data area, which the spinners use for nothing else.
 */
#define SPINNER_TSS_GPA(i)	(GUEST_DATA_GPA + (i) * PAGE_SIZE)
#define SPINNER_IST_TOP(i)	(GUEST_DATA_GPA + 0x10000 + ((i) + 1) * PAGE_SIZE)
#define TSS_IST1		0x24

static struct vmm_vm *vm_create_spinners(struct vcpu_thread *t, int n,
					 atomic_bool *stop, uint64_t iters)
{
	struct vmm_vm *vm = vm_create_default(NULL, NULL);
	struct vmm_sregs sregs;
	uint64_t ist;
	int i;

	for (i = 0; i < 32; i++) {
		vm_set_idt_gate(vm, GUEST_IDT_GPA, i, preempt_exc_stubs + 16 * i);
		/* IST 1 */
		*(uint64_t *)vm_gpa2hva(vm, GUEST_IDT_GPA + 16 * i) |= 1UL << 32;
	}
	memset(t, 0, n * sizeof(*t));
	for (i = 0; i < n; i++) {
		TEST_ASSERT(SPINNER_IST_TOP(i) <= GUEST_DATA_GPA + GUEST_DATA_SIZE,
			    "vCPU %d: no exception stack", i);
		ist = SPINNER_IST_TOP(i);
		memset(vm_gpa2hva(vm, SPINNER_TSS_GPA(i)), 0, PAGE_SIZE);
		memcpy(vm_gpa2hva(vm, SPINNER_TSS_GPA(i) + TSS_IST1), &ist,
		       sizeof(ist));
		t[i].vcpu = vm_add_vcpu(vm, i);
		vcpu_setup_long_mode(t[i].vcpu);
		vcpu_get_sregs(t[i].vcpu, &sregs);
		sregs.idt.limit = 32 * 16 - 1;
		sregs.tr.base = SPINNER_TSS_GPA(i);
		vcpu_set_sregs(t[i].vcpu, &sregs);
		vcpu_set_entry(t[i].vcpu, guest_code, i, iters);
		t[i].stop = stop;
	}
	return vm;
}

static void start_vcpus(struct vcpu_thread *t, int n)
{
	int i;

	for (i = 0; i < n; i++)
		TEST_ASSERT(!pthread_create(&t[i].tid, NULL, vcpu_thread_fn,
					    &t[i]), "pthread_create");
}

/* Stop the vCPU threads: a signal takes each one out of guest mode. */
static void stop_vcpus(struct vcpu_thread *t, int n, atomic_bool *stop)
{
	int i, done;

	atomic_store(stop, true);
	for (i = 0; i < n; i++) {
		for (done = 0; !done;) {
			pthread_kill(t[i].tid, SIGUSR1);
			done = !pthread_tryjoin_np(t[i].tid, NULL);
			if (!done)
				usleep(1000);
		}
	}
}

struct noise {
	atomic_bool *stop;
	bool avx;
	uint64_t checks, bad;
	char buf[2][65536];
	uint8_t pat[16 * 32];	/* vmovdqu/movdqu: no alignment needed */
	uint8_t out[16 * 32];
};

/* AVX usable in user space: CPUID.1:ECX.AVX and OSXSAVE, XCR0 SSE|YMM */
static bool host_has_avx(void)
{
	uint32_t a = 1, b, c = 0, d, lo, hi;

	asm volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	if (!(c & (1u << 27)) || !(c & (1u << 28)))
		return false;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6;
}

#define VLOAD(n)	"vmovdqu " #n "*32(%[pat]), %%ymm" #n "\n\t"
#define VSTORE(n)	"vmovdqu %%ymm" #n ", " #n "*32(%[out])\n\t"
#define XLOAD(n)	"movdqu " #n "*16(%[pat]), %%xmm" #n "\n\t"
#define XSTORE(n)	"movdqu %%xmm" #n ", " #n "*16(%[out])\n\t"

/* sched_yield() and spin, %[yields] times; clobbers rax, rcx, r11 */
#define YIELD_SPIN							\
	"1: mov $24, %%eax\n\t"	/* sched_yield */			\
	"syscall\n\t"							\
	"mov $20000, %[spin]\n\t"					\
	"2: dec %[spin]\n\t"						\
	"jnz 2b\n\t"							\
	"decq %[yields]\n\t"						\
	"jnz 1b\n\t"

/*
 * Load ymm0-15 (xmm0-15 without AVX) from z->pat, yield the CPU a few times
 * with sched_yield() (so that vCPU threads run on it while the pattern is
 * live in this thread's registers), spin, and store them to z->out.
 */
static void noise_vector_round(struct noise *z)
{
	uint64_t yields = 4, spin;

	if (z->avx)
		asm volatile(VLOAD(0) VLOAD(1) VLOAD(2) VLOAD(3)
			     VLOAD(4) VLOAD(5) VLOAD(6) VLOAD(7)
			     VLOAD(8) VLOAD(9) VLOAD(10) VLOAD(11)
			     VLOAD(12) VLOAD(13) VLOAD(14) VLOAD(15)
			     YIELD_SPIN
			     VSTORE(0) VSTORE(1) VSTORE(2) VSTORE(3)
			     VSTORE(4) VSTORE(5) VSTORE(6) VSTORE(7)
			     VSTORE(8) VSTORE(9) VSTORE(10) VSTORE(11)
			     VSTORE(12) VSTORE(13) VSTORE(14) VSTORE(15)
			     "vzeroupper"
			     : [spin] "=&r"(spin), [yields] "+m"(yields)
			     : [pat] "r"(z->pat), [out] "r"(z->out)
			     : "rax", "rcx", "r11", "cc", "memory");
	else
		asm volatile(XLOAD(0) XLOAD(1) XLOAD(2) XLOAD(3)
			     XLOAD(4) XLOAD(5) XLOAD(6) XLOAD(7)
			     XLOAD(8) XLOAD(9) XLOAD(10) XLOAD(11)
			     XLOAD(12) XLOAD(13) XLOAD(14) XLOAD(15)
			     YIELD_SPIN
			     XSTORE(0) XSTORE(1) XSTORE(2) XSTORE(3)
			     XSTORE(4) XSTORE(5) XSTORE(6) XSTORE(7)
			     XSTORE(8) XSTORE(9) XSTORE(10) XSTORE(11)
			     XSTORE(12) XSTORE(13) XSTORE(14) XSTORE(15)
			     : [spin] "=&r"(spin), [yields] "+m"(yields)
			     : [pat] "r"(z->pat), [out] "r"(z->out)
			     : "rax", "rcx", "r11", "cc", "memory");
}

/*
 * Keep a host CPU busy, with SSE/AVX work from libc, and check this
 * thread's own vector registers: a hypervisor that leaves guest FPU state
 * in the registers, or restores the wrong task's, corrupts them.
 */
static void *noise_fn(void *arg)
{
	struct noise *z = arg;
	unsigned int i = 0, j;
	size_t len = z->avx ? 16 * 32 : 16 * 16;

	while (!atomic_load(z->stop)) {
		memset(z->buf[0], i++, sizeof(z->buf[0]));
		memcpy(z->buf[1], z->buf[0], sizeof(z->buf[1]));
		if (i % 64)
			continue;
		for (j = 0; j < len; j++)
			z->pat[j] = (uint8_t)(i * 131 + j * 7 + (uintptr_t)z);
		memset(z->out, 0, sizeof(z->out));
		noise_vector_round(z);
		z->checks++;
		if (memcmp(z->pat, z->out, len))
			z->bad++;
	}
	return NULL;
}

/*
 * NR_VCPUS vCPU threads against noise, CPU affinity changes and signals for
 * STRESS_SECS: every round of every guest must find its registers intact.
 */
TEST(preempt_migrate_signal)
{
	struct vcpu_thread t[NR_VCPUS];
	int cpus[64], ncpus, i, loop;
	atomic_bool stop = false;
	uint64_t end, moves = 0, kicks = 0, rounds = 0, eintr = 0;
	struct noise *noise;
	pthread_t ntid[64];
	struct vmm_vm *vm;

	catch_sigusr1();
	ncpus = host_cpus(cpus, ARRAY_LEN(cpus));
	vm = vm_create_spinners(t, NR_VCPUS, &stop, SPIN_ITERS);
	noise = calloc(ncpus, sizeof(*noise));
	ASSERT_NE(NULL, noise);
	for (i = 0; i < ncpus; i++) {
		noise[i].stop = &stop;
		noise[i].avx = host_has_avx();
		ASSERT_EQ(0, pthread_create(&ntid[i], NULL, noise_fn,
					    &noise[i]));
	}
	start_vcpus(t, NR_VCPUS);

	end = now_ns() + STRESS_SECS * 1000000000ULL;
	for (loop = 0; now_ns() < end; loop++) {
		usleep(2000);
		for (i = 0; i < NR_VCPUS; i++) {
			if (ncpus > 1 &&
			    !pin_thread(t[i].tid, cpus[(loop + i) % ncpus]))
				moves++;
			/* a signal every 6 ms, to each vCPU in turn */
			if ((loop + i) % 3 == 0 &&
			    !pthread_kill(t[i].tid, SIGUSR1))
				kicks++;
		}
	}
	stop_vcpus(t, NR_VCPUS, &stop);
	for (i = 0; i < ncpus; i++) {
		pthread_join(ntid[i], NULL);
		TH_LOG("noise %d: %lu %s register checks, %lu bad", i,
		       (unsigned long)noise[i].checks,
		       noise[i].avx ? "ymm" : "xmm",
		       (unsigned long)noise[i].bad);
		EXPECT_LT(0, noise[i].checks);
		EXPECT_EQ(0, noise[i].bad);
	}
	free(noise);

	for (i = 0; i < NR_VCPUS; i++) {
		TH_LOG("vCPU %d: %lu rounds, %lu EINTR%s%s", i,
		       (unsigned long)t[i].rounds, (unsigned long)t[i].eintr,
		       t[i].error[0] ? ", error: " : "", t[i].error);
		EXPECT_EQ(0, t[i].error[0]);
		EXPECT_EQ(0, t[i].bad);
		EXPECT_LT(2, t[i].rounds);
		rounds += t[i].rounds;
		eintr += t[i].eintr;
	}
	TH_LOG("%d host CPUs: %lu rounds checked, %lu affinity changes, %lu signals, %lu EINTR exits",
		       ncpus, (unsigned long)rounds, (unsigned long)moves,
		       (unsigned long)kicks, (unsigned long)eintr);
	EXPECT_LT(0, eintr);
	if (ncpus > 1)
		EXPECT_LT(0, moves);
	vm_free(vm);
}

/*
 * A signal to a thread whose guest spins without exits must end KVM_RUN
 * (EINTR, KVM_EXIT_INTR) promptly: the IPI that delivers it is a host
 * interrupt taken while the guest runs.
 */
TEST(signal_latency)
{
	const int nr = 50;
	struct vcpu_thread t;
	atomic_bool stop = false;
	uint64_t t0, lat, max = 0, sum = 0, n;
	struct vmm_vm *vm;
	int i;

	catch_sigusr1();
	/* ~forever between SYNCs: the guest makes no exit of its own */
	vm = vm_create_spinners(&t, 1, &stop, 1UL << 60);
	start_vcpus(&t, 1);
	usleep(100000);
	for (i = 0; i < nr; i++) {
		n = atomic_load(&t.exits);
		usleep(1000 + (i * 7919) % 20000);
		t0 = now_ns();
		ASSERT_EQ(0, pthread_kill(t.tid, SIGUSR1));
		while (atomic_load(&t.exits) == n && now_ns() - t0 < 5000000000ULL)
			usleep(50);
		ASSERT_NE(n, atomic_load(&t.exits)) {
			TH_LOG("no EINTR within 5 s of signal %d", i);
		}
		lat = t.last_exit_ns - t0;
		sum += lat;
		if (lat > max)
			max = lat;
	}
	stop_vcpus(&t, 1, &stop);
	TH_LOG("signal to EINTR: %d signals, mean %lu us, max %lu us",
		       nr, (unsigned long)(sum / nr / 1000),
		       (unsigned long)(max / 1000));
	EXPECT_EQ(0, t.error[0]);
	EXPECT_EQ(0, t.rounds);
	/* generous: QEMU TCG on a loaded 2-CPU host */
	EXPECT_GT(1000000000ULL, max);
	vm_free(vm);
}

/*
 * sysrq-l sends an NMI to every other CPU and waits (up to 10 s) until each
 * has printed its backtrace.  With a vCPU thread pinned to one CPU and
 * spinning in its guest, every NMI must be taken promptly there, and the
 * guest must find its registers intact afterwards.
 *
 * The backtraces are wanted, not a kernel splat: the test brackets them
 * with "rig: expected backtraces begin/end" records in the kernel log, which
 * the rig's splat check honours for "Call Trace" only, and it reads them
 * from /dev/kmsg itself, failing on any WARNING/BUG/Oops record.
 */
TEST(nmi_while_in_guest)
{
	const int nr = 10;
	char needle[64];
	int cpus[64], ncpus, kmsg, i, splats = 0, seen;
	uint64_t t0, lat, max = 0, rounds;
	atomic_bool stop = false;
	struct vcpu_thread t;
	struct vmm_vm *vm;

	catch_sigusr1();
	ncpus = host_cpus(cpus, ARRAY_LEN(cpus));
	if (ncpus < 2)
		SKIP(return, "needs two host CPUs");
	if (geteuid() || access("/proc/sysrq-trigger", W_OK))
		SKIP(return, "needs root and /proc/sysrq-trigger");
	ASSERT_EQ(0, pin_thread(pthread_self(), cpus[0]));

	vm = vm_create_spinners(&t, 1, &stop, SPIN_ITERS);
	start_vcpus(&t, 1);
	ASSERT_EQ(0, pin_thread(t.tid, cpus[1]));
	while (t.rounds < 3 && !t.error[0])
		usleep(1000);

	kmsg = kmsg_open();
	ASSERT_EQ(0, sysfs_write("/dev/kmsg",
				"<3>rig: expected backtraces begin (preempt)\n"));
	for (i = 0; i < nr; i++) {
		t0 = now_ns();
		if (sysfs_write("/proc/sysrq-trigger", "l"))
			break;
		lat = now_ns() - t0;
		if (lat > max)
			max = lat;
		usleep(20000);
	}
	sysfs_write("/dev/kmsg", "<3>rig: expected backtraces end (preempt)\n");
	ASSERT_EQ(nr, i);

	rounds = t.rounds;
	while (t.rounds < rounds + 3 && !t.error[0])
		usleep(1000);
	stop_vcpus(&t, 1, &stop);

	snprintf(needle, sizeof(needle), "NMI backtrace for cpu %d", cpus[1]);
	seen = kmsg_count(kmsg, needle, &splats);
	close(kmsg);
	TH_LOG("%d NMIs to CPU %d: %d backtraces, slowest sysrq-l %lu ms, guest rounds %lu",
		       nr, cpus[1], seen, (unsigned long)(max / 1000000),
		       (unsigned long)t.rounds);
	EXPECT_EQ(nr, seen);
	EXPECT_EQ(0, splats);
	EXPECT_EQ(0, t.error[0]);
	EXPECT_EQ(0, t.bad);
	/* every CPU answered the NMI well before sysrq-l's 10 s limit */
	EXPECT_GT(2000000000ULL, max);
	vm_free(vm);
}

TEST_HARNESS_MAIN
