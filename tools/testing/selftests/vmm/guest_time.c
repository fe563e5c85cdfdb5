// SPDX-License-Identifier: GPL-2.0
/*
 * guest_time: the host kernel knows when a vCPU thread runs a guest.
 *
 * Time in guest mode is charged as guest time (PF_VCPU, field 43 of
 * /proc/<pid>/task/<tid>/stat), and the work the kernel queues for a
 * task's return to user space still happens while the guest spins without
 * exits: 6.1 runs POSIX CPU timers through task work, so a SIGPROF from an
 * ITIMER_PROF must end KVM_RUN with EINTR although no signal is pending
 * when the guest is entered.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "vmm_util.h"

static atomic_int got_alarm, got_prof;

static void on_alarm(int sig)
{
	(void)sig;
	atomic_store(&got_alarm, 1);
}

static void on_prof(int sig)
{
	(void)sig;
	atomic_store(&got_prof, 1);
}

static void guest_spin(void)
{
	guest_spin_forever();
}

static void set_handler(int sig, void (*fn)(int))
{
	struct sigaction sa = { .sa_handler = fn };

	/* No SA_RESTART: the signal must end KVM_RUN with EINTR. */
	TEST_ASSERT(!sigaction(sig, &sa, NULL), "sigaction");
}

static void arm_timer(int which, long ms)
{
	struct itimerval it = {
		.it_value = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 },
	};

	TEST_ASSERT(!setitimer(which, &it, NULL), "setitimer");
}

/* Guest code is built without SSE, so is all of this file: no floats. */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

struct thread_times {
	unsigned long cpu;	/* utime + stime, clock ticks */
	unsigned long guest;	/* guest_time (part of utime), clock ticks */
};

/* Fields 14, 15 and 43 of this thread's stat file. */
static void thread_times(struct thread_times *t)
{
	unsigned long utime = 0, stime = 0;
	char path[64], buf[1024], *p;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/stat",
		 (long)syscall(SYS_gettid));
	f = fopen(path, "r");
	TEST_ASSERT(f, "open %s", path);
	TEST_ASSERT(fgets(buf, sizeof(buf), f), "read %s", path);
	fclose(f);
	/* comm may hold spaces: count fields from the closing paren. */
	p = strrchr(buf, ')');
	TEST_ASSERT(p, "stat format");
	for (i = 2; i < 43 && p; i++) {
		p = strchr(p + 1, ' ');
		if (p && i == 13)
			TEST_ASSERT(sscanf(p + 1, "%lu %lu", &utime, &stime) == 2,
				    "stat fields 14, 15");
	}
	TEST_ASSERT(p, "stat has no field 43");
	TEST_ASSERT(sscanf(p + 1, "%lu", &t->guest) == 1, "stat field 43");
	t->cpu = utime + stime;
}

/* Run the spinning guest until a signal ends KVM_RUN; return its errno. */
static int run_until_signal(struct vmm_vcpu *vcpu)
{
	int r = __vcpu_run(vcpu);

	if (r == 0)
		vcpu_describe_exit(vcpu);
	TEST_ASSERT(r == -1, "KVM_RUN returned %d, not -1", r);
	return errno;
}

/* Two seconds in guest mode are charged as guest time, not system time. */
TEST(guest_time_accounted)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm;
	struct thread_times before, after;
	unsigned long cpu, guest, hz = sysconf(_SC_CLK_TCK);
	uint64_t t0, ms;

	vmm_require_dev();
	vm = vm_create_default(&vcpu, guest_spin);
	set_handler(SIGALRM, on_alarm);
	thread_times(&before);
	t0 = now_ms();
	arm_timer(ITIMER_REAL, 2000);
	ASSERT_EQ(EINTR, run_until_signal(vcpu));
	ms = now_ms() - t0;
	ASSERT_TRUE(got_alarm);
	ASSERT_EQ(VMM_EXIT_INTR, vcpu->run->exit_reason);
	thread_times(&after);
	cpu = after.cpu - before.cpu;
	guest = after.guest - before.guest;
	TH_LOG("%lu ms in KVM_RUN: %lu ticks on a CPU, %lu of them guest time (%lu Hz)",
	       (unsigned long)ms, cpu, guest, hz);
	/*
	 * Compared with the thread's own CPU time, not the wall clock, so
	 * a busy host does not matter: nearly all of it is guest mode, and
	 * a missing PF_VCPU gives 0.  Too little CPU time proves nothing.
	 */
	ASSERT_GE(cpu, hz / 10) TH_LOG("the thread hardly ran");
	ASSERT_GE(guest * 2, cpu);
	vm_free(vm);
}

/*
 * An ITIMER_PROF expires through task work on the vCPU thread: KVM_RUN must
 * come back for it (-EINTR, KVM_EXIT_INTR) and the SIGPROF be delivered,
 * while a guard ITIMER_REAL 10 s later says the run never ended.
 */
TEST(cpu_timer_ends_run)
{
	struct vmm_vcpu *vcpu;
	struct vmm_vm *vm;
	uint64_t t0;
	int i;

	vmm_require_dev();
	vm = vm_create_default(&vcpu, guest_spin);
	set_handler(SIGALRM, on_alarm);
	set_handler(SIGPROF, on_prof);
	atomic_store(&got_alarm, 0);
	atomic_store(&got_prof, 0);
	t0 = now_ms();
	arm_timer(ITIMER_REAL, 10000);
	arm_timer(ITIMER_PROF, 300);
	/* Task work may end a run before the signal is queued: rerun. */
	for (i = 0; i < 100 && !got_prof && !got_alarm; i++) {
		ASSERT_EQ(EINTR, run_until_signal(vcpu));
		ASSERT_EQ(VMM_EXIT_INTR, vcpu->run->exit_reason);
	}
	arm_timer(ITIMER_REAL, 0);
	arm_timer(ITIMER_PROF, 0);
	TH_LOG("SIGPROF after %lu ms, %d runs",
	       (unsigned long)(now_ms() - t0), i);
	ASSERT_TRUE(got_prof) TH_LOG("no SIGPROF: CPU timer never ran");
	ASSERT_FALSE(got_alarm);
	vm_free(vm);
}

TEST_HARNESS_MAIN
