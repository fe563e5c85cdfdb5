// SPDX-License-Identifier: GPL-2.0
/*
 * hotplug: host CPUs that go offline and come back while VMs exist, and
 * while none does.
 *
 * A CPU that comes back online has been through INIT: EFER.SVME is clear
 * there.  vmm must turn SVM on again before any vCPU runs on it (or VMRUN
 * raises #UD in the host), turn it off on a CPU that goes offline, and
 * leave no offline CPU with SVM on once the last VM is gone.
 *
 * The guest keeps callee-saved and caller-saved registers loaded with a
 * pattern across long spins and counts rounds; the host moves the vCPU
 * thread onto the CPU that just came back and checks that the rounds go
 * on and the pattern survives.
 *
 * Suspend: the rig's firmware supports ACPI S0 and S5 only, so "mem" in
 * /sys/power/state means suspend to idle there (/sys/power/mem_sleep has
 * no "deep"), which runs neither the syscore suspend/resume callbacks nor
 * CPU offlining, and rejects pm_test=core with -EAGAIN.  The suspend test
 * therefore runs only where "deep" is offered, with pm_test=core (the CPUs
 * go offline and the syscore callbacks run, but the machine does not
 * really sleep), and is skipped in the rig.
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
#include "vmm_util.h"

#define CPU1_ONLINE	"/sys/devices/system/cpu/cpu1/online"
#define SPIN_ITERS	100000

/* Load rbx, rbp-free r12-r15, rsi, rdi with @seed variants, spin, check. */
static uint64_t guest_spin_check(uint64_t seed, uint64_t iters)
{
	uint64_t bad;

	asm volatile(
		"mov %[s], %%rbx\n\t"
		"lea 1(%[s]), %%r12\n\t"
		"lea 2(%[s]), %%r13\n\t"
		"lea 3(%[s]), %%r14\n\t"
		"lea 4(%[s]), %%r15\n\t"
		"lea 5(%[s]), %%rsi\n\t"
		"lea 6(%[s]), %%rdi\n\t"
		"1: dec %%rcx\n\t"
		"jnz 1b\n\t"
		"xor %%eax, %%eax\n\t"
		"cmp %[s], %%rbx\n\tjne 2f\n\t"
		"sub %%rbx, %%r12\n\tcmp $1, %%r12\n\tjne 2f\n\t"
		"sub %%rbx, %%r13\n\tcmp $2, %%r13\n\tjne 2f\n\t"
		"sub %%rbx, %%r14\n\tcmp $3, %%r14\n\tjne 2f\n\t"
		"sub %%rbx, %%r15\n\tcmp $4, %%r15\n\tjne 2f\n\t"
		"sub %%rbx, %%rsi\n\tcmp $5, %%rsi\n\tjne 2f\n\t"
		"sub %%rbx, %%rdi\n\tcmp $6, %%rdi\n\tjne 2f\n\t"
		"jmp 3f\n"
		"2: mov $1, %%eax\n"
		"3:"
		: "=&a"(bad), "+c"(iters)
		: [s] "d"(seed)
		: "rbx", "rsi", "rdi", "r12", "r13", "r14", "r15", "cc",
		  "memory");
	return bad;
}

static void guest_code(uint64_t iters)
{
	uint64_t round;

	for (round = 0;; round++)
		GUEST_SYNC2(round, guest_spin_check(round * 0x9e3779b97f4a7c15UL,
						    iters));
}

struct vcpu_thread {
	struct vmm_vcpu *vcpu;
	pthread_t tid;
	atomic_bool stop;
	atomic_uint_fast64_t rounds;
	atomic_int cpu;		/* host CPU of the last KVM_RUN return */
	uint64_t bad, eintr;
	char error[160];
};

static void on_signal(int sig)
{
	(void)sig;
}

static void *vcpu_thread_fn(void *arg)
{
	struct vcpu_thread *t = arg;
	struct ucall uc;
	uint64_t cmd;

	while (!atomic_load(&t->stop)) {
		if (__vcpu_run(t->vcpu) < 0) {
			if (errno == EINTR) {
				t->eintr++;
				continue;
			}
			snprintf(t->error, sizeof(t->error), "VMM_RUN: %s",
				 strerror(errno));
			break;
		}
		atomic_store(&t->cpu, sched_getcpu());
		cmd = get_ucall(t->vcpu, &uc);
		if (cmd != UCALL_SYNC) {
			snprintf(t->error, sizeof(t->error),
				 "exit reason %u, ucall %lu",
				 t->vcpu->run->exit_reason, (unsigned long)cmd);
			break;
		}
		if (uc.args[0] != atomic_load(&t->rounds)) {
			snprintf(t->error, sizeof(t->error),
				 "round %lu after %lu",
				 (unsigned long)uc.args[0],
				 (unsigned long)atomic_load(&t->rounds));
			break;
		}
		if (uc.args[1])
			t->bad++;
		atomic_fetch_add(&t->rounds, 1);
	}
	return NULL;
}

static struct vmm_vm *start_vcpu(struct vcpu_thread *t)
{
	struct sigaction sa;
	struct vmm_vm *vm;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	TEST_ASSERT(!sigaction(SIGUSR1, &sa, NULL), "sigaction");
	memset(t, 0, sizeof(*t));
	atomic_store(&t->cpu, -1);
	vm = vm_create_default(&t->vcpu, NULL);
	vcpu_set_entry(t->vcpu, guest_code, SPIN_ITERS, 0);
	TEST_ASSERT(!pthread_create(&t->tid, NULL, vcpu_thread_fn, t),
		    "pthread_create");
	return vm;
}

static void stop_vcpu(struct vcpu_thread *t)
{
	atomic_store(&t->stop, true);
	do {
		pthread_kill(t->tid, SIGUSR1);
		usleep(1000);
	} while (pthread_tryjoin_np(t->tid, NULL));
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* Wait up to 10 s for @n more rounds; with @cpu >= 0, run there. */
static bool wait_rounds(struct vcpu_thread *t, uint64_t n, int cpu)
{
	uint64_t start = atomic_load(&t->rounds), t0 = now_ms();

	while (now_ms() - t0 < 10000 && !t->error[0]) {
		if (atomic_load(&t->rounds) >= start + n &&
		    (cpu < 0 || atomic_load(&t->cpu) == cpu))
			return true;
		usleep(1000);
	}
	return false;
}

static int set_online(int online)
{
	int fd = open(CPU1_ONLINE, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, online ? "1" : "0", 1);
	close(fd);
	return n == 1 ? 0 : -errno;
}

static int pin(pthread_t tid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	if (cpu < 0) {
		CPU_SET(0, &set);
		CPU_SET(1, &set);
	} else {
		CPU_SET(cpu, &set);
	}
	return pthread_setaffinity_np(tid, sizeof(set), &set);
}

static bool can_hotplug(void)
{
	return !geteuid() && !access(CPU1_ONLINE, W_OK);
}

/*
 * A vCPU spins while CPU 1 goes offline and online again, five times; after
 * every onlining the vCPU thread is moved onto CPU 1 and must run there.
 */
TEST(offline_online_running_vm)
{
	struct vcpu_thread t;
	struct vmm_vm *vm;
	int i;

	if (!can_hotplug())
		SKIP(return, "needs root and " CPU1_ONLINE);
	vm = start_vcpu(&t);
	ASSERT_EQ(0, pin(t.tid, 1));
	ASSERT_TRUE(wait_rounds(&t, 3, 1)) {
		TH_LOG("no rounds on CPU 1: %s", t.error);
	}
	for (i = 0; i < 5; i++) {
		/* the scheduler moves the vCPU thread off CPU 1 */
		ASSERT_EQ(0, set_online(0));
		ASSERT_TRUE(wait_rounds(&t, 3, 0)) {
			TH_LOG("cycle %d: no rounds with CPU 1 offline: %s", i,
			       t.error);
		}
		ASSERT_EQ(0, set_online(1));
		ASSERT_EQ(0, pin(t.tid, 1));
		ASSERT_TRUE(wait_rounds(&t, 3, 1)) {
			TH_LOG("cycle %d: no rounds on CPU 1 after onlining: %s",
			       i, t.error);
		}
	}
	stop_vcpu(&t);
	TH_LOG("%d offline/online cycles, %lu guest rounds, %lu EINTR",
	       i, (unsigned long)atomic_load(&t.rounds),
	       (unsigned long)t.eintr);
	EXPECT_EQ(0, t.error[0]);
	EXPECT_EQ(0, t.bad);
	vm_free(vm);
}

/*
 * CPU 1 goes offline while a VM exists and comes back after the last VM is
 * gone, and goes offline and online with no VM at all: a later VM runs on
 * it in every case.
 */
TEST(offline_without_vm)
{
	struct vcpu_thread t;
	struct vmm_vm *vm;
	int i;

	if (!can_hotplug())
		SKIP(return, "needs root and " CPU1_ONLINE);
	for (i = 0; i < 3; i++) {
		vm = start_vcpu(&t);
		ASSERT_TRUE(wait_rounds(&t, 2, -1));
		if (i == 1)
			ASSERT_EQ(0, set_online(0));
		stop_vcpu(&t);
		EXPECT_EQ(0, t.error[0]);
		vm_free(vm);
		if (i != 1)
			ASSERT_EQ(0, set_online(0));
		ASSERT_EQ(0, set_online(1));

		vm = start_vcpu(&t);
		ASSERT_EQ(0, pin(t.tid, 1));
		ASSERT_TRUE(wait_rounds(&t, 3, 1)) {
			TH_LOG("iteration %d: no rounds on CPU 1: %s", i,
			       t.error);
		}
		stop_vcpu(&t);
		EXPECT_EQ(0, t.error[0]);
		EXPECT_EQ(0, t.bad);
		vm_free(vm);
	}
}

/*
 * Suspend to RAM with pm_test=core while a vCPU spins: the other CPUs go
 * offline, the syscore suspend/resume callbacks run on the boot CPU, and
 * the guest must go on running on every CPU afterwards.
 */
static void read_str(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n = -1;

	if (fd >= 0) {
		n = read(fd, buf, size - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = 0;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
}

TEST(suspend_core_running_vm)
{
	char mem_sleep[128];
	struct vcpu_thread t;
	struct vmm_vm *vm;

	read_str("/sys/power/mem_sleep", mem_sleep, sizeof(mem_sleep));
	if (geteuid() || !strstr(mem_sleep, "deep") ||
	    access("/sys/power/pm_test", W_OK))
		SKIP(return, "no suspend to RAM here (/sys/power/mem_sleep: %s)",
		     mem_sleep);
	sysfs_write("/sys/module/suspend/parameters/pm_test_delay", "0");
	ASSERT_EQ(0, sysfs_write("/sys/power/mem_sleep", "deep"));
	ASSERT_EQ(0, sysfs_write("/sys/power/pm_test", "core"));
	vm = start_vcpu(&t);
	ASSERT_TRUE(wait_rounds(&t, 3, -1));
	EXPECT_EQ(0, sysfs_write("/sys/power/state", "mem"));
	sysfs_write("/sys/power/pm_test", "none");
	ASSERT_EQ(0, pin(t.tid, 0));
	EXPECT_TRUE(wait_rounds(&t, 3, 0));
	ASSERT_EQ(0, pin(t.tid, 1));
	EXPECT_TRUE(wait_rounds(&t, 3, 1));
	stop_vcpu(&t);
	EXPECT_EQ(0, t.error[0]);
	EXPECT_EQ(0, t.bad);
	vm_free(vm);
}

TEST_HARNESS_MAIN
