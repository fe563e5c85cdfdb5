// SPDX-License-Identifier: GPL-2.0
/*
 * lifecycle: create and destroy many VMs, each with one or two vCPUs and a
 * 2 MiB memslot whose memory is touched (by a 32-bit guest every tenth
 * time, by the host otherwise), and check that the memory comes back.
 *
 * The accounting is precise: the test moves itself into a fresh cgroup v2
 * memory cgroup (mounting cgroup2 at /sys/fs/cgroup and enabling the
 * memory controller when needed) and compares the cgroup's memory.current
 * before and after the loop, which must not grow by more than LEAK_SLACK_KB.
 * KVM and vmm charge their per-VM and per-vCPU kernel memory (structures,
 * control blocks, page tables, run pages) to the creator's memory cgroup
 * (GFP_KERNEL_ACCOUNT), and the guest memory is the test's own.  Without
 * cgroup v2 the test falls back to the sum of Slab, Percpu, PageTables and
 * KernelStack in /proc/meminfo, with the same slack.  MemAvailable is
 * logged only.  accounting_sees_vms checks that the cgroup does see the
 * hypervisor's per-VM and per-vCPU memory while VMs are alive.
 *
 * The loop stops at ITERATIONS VMs or after BUDGET_MS, whichever comes
 * first, and needs at least MIN_ITERATIONS: under QEMU TCG, creating and
 * destroying one KVM VM alone takes 45-65 ms (one or two rig vCPUs).
 */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#include "kselftest_harness.h"
#include "snippets.h"
#include "vmm_util.h"

#define ITERATIONS		1000
#define MIN_ITERATIONS		200
#define BUDGET_MS		60000
#define WARMUP			50
#define GUEST_EVERY		10
#define LEAK_SLACK_KB		1024
#define CGROUP2_SUPER_MAGIC	0x63677270

static long meminfo_kb(const char *key)
{
	char line[128];
	size_t n = strlen(key);
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			if (sscanf(line + n + 1, "%ld", &v) != 1)
				v = -1;
			break;
		}
	fclose(f);
	return v;
}

/* the kernel's own memory that a leak would show up in, in kB */
static long kernel_kb(void)
{
	static const char * const keys[] = {
		"Slab", "Percpu", "PageTables", "KernelStack",
	};
	long sum = 0, v;
	unsigned int i;

	for (i = 0; i < ARRAY_LEN(keys); i++) {
		v = meminfo_kb(keys[i]);
		if (v < 0)
			return -1;
		sum += v;
	}
	return sum;
}

/* memory.current of the cgroup in kB, or the kernel_kb() fallback */
static long usage_kb(const char *dir)
{
	char path[256];

	if (!dir[0])
		return kernel_kb();
	snprintf(path, sizeof(path), "%s/memory.current", dir);
	return sysfs_read_long(path) / 1024;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Returns 0, or a nonzero code describing what went wrong. */
static int one_vm(unsigned int i)
{
	struct vmm_vm *vm = vm_create_empty();
	uint32_t *mem = vm_add_memslot(vm, 0, 0, 0, SZ_2M);
	struct vmm_vcpu *vcpu = vm_add_vcpu(vm, 0);
	unsigned int page;
	int ret = 0;

	if (i & 1)
		vm_add_vcpu(vm, 1);
	if (i % GUEST_EVERY) {
		for (page = 0; page < SZ_2M / PAGE_SIZE; page++)
			mem[(page * PAGE_SIZE + 0x800) / 4] = page * PAGE_SIZE;
		goto out;
	}
	vm_load_snippet(vm, GUEST_SNIPPET_GPA, pm_touch);
	vcpu_setup_pmode32(vcpu, GUEST_SNIPPET_GPA);
	vcpu_run(vcpu);
	if (vcpu->run->exit_reason != VMM_EXIT_HLT) {
		vcpu_describe_exit(vcpu);
		ret = 1;
		goto out;
	}
	for (page = 0; page < SZ_2M / PAGE_SIZE; page++)
		if (mem[(page * PAGE_SIZE + 0x800) / 4] != page * PAGE_SIZE) {
			ret = 2;
			break;
		}
out:
	vm_free(vm);
	return ret;
}

FIXTURE(lifecycle) {
	char cg[128];		/* our memory cgroup, or "" */
	long avail_kb, used_kb;
};

FIXTURE_SETUP(lifecycle)
{
	unsigned int i;

	if (memcg_enter(self->cg, sizeof(self->cg), "vmm-lifecycle")) {
		self->cg[0] = 0;
		TH_LOG("no cgroup v2 memory controller: counting Slab+Percpu+PageTables+KernelStack");
	}
	/* warm up caches and lazily allocated state first */
	for (i = 0; i < WARMUP; i++)
		ASSERT_EQ(0, one_vm(i));
	self->avail_kb = meminfo_kb("MemAvailable");
	self->used_kb = usage_kb(self->cg);
	ASSERT_LT(0, self->used_kb);
}

FIXTURE_TEARDOWN(lifecycle)
{
	if (self->cg[0])
		memcg_leave(self->cg);
}

TEST_F_TIMEOUT(lifecycle, create_destroy, 300)
{
	const char *what = self->cg[0] ? "memory.current" : "kernel memory";
	long start = now_ms();
	long used, avail;
	unsigned int i;

	for (i = 0; i < ITERATIONS; i++) {
		ASSERT_EQ(0, one_vm(i)) {
			TH_LOG("VM %u failed", i);
		}
		if (i % 100 == 99)
			TH_LOG("%u VMs, %ld ms, %s %ld kB", i + 1,
			       now_ms() - start, what, usage_kb(self->cg));
		if (now_ms() - start > BUDGET_MS) {
			i++;
			break;
		}
	}
	used = usage_kb(self->cg);
	avail = meminfo_kb("MemAvailable");
	TH_LOG("%u VMs in %ld ms; %s %ld -> %ld kB; MemAvailable %ld -> %ld kB",
	       i, now_ms() - start, what, self->used_kb, used,
	       self->avail_kb, avail);
	ASSERT_LE(MIN_ITERATIONS, i);
	ASSERT_LT(used - self->used_kb, LEAK_SLACK_KB);
}

/*
 * The accounting sees the hypervisor's memory at all: HOLD_VMS live VMs
 * with two vCPUs each (and untouched guest memory) raise memory.current by
 * at least HOLD_MIN_KB.  Each vCPU has at least a run page and a control
 * block page, 512 KiB in all, more than the per-CPU charge caches can hide.
 */
#define HOLD_VMS	32
#define HOLD_MIN_KB	256

TEST_F(lifecycle, accounting_sees_vms)
{
	struct vmm_vm *vms[HOLD_VMS];
	long before, during, after;
	int i;

	if (!self->cg[0])
		SKIP(return, "no cgroup v2 memory controller");
	before = usage_kb(self->cg);
	for (i = 0; i < HOLD_VMS; i++) {
		vms[i] = vm_create_empty();
		vm_add_memslot(vms[i], 0, 0, 0, SZ_2M);
		vm_add_vcpu(vms[i], 0);
		vm_add_vcpu(vms[i], 1);
	}
	during = usage_kb(self->cg);
	for (i = 0; i < HOLD_VMS; i++)
		vm_free(vms[i]);
	after = usage_kb(self->cg);
	TH_LOG("memory.current: %ld kB, with %d VMs %ld kB, after %ld kB",
	       before, HOLD_VMS, during, after);
	EXPECT_LE(before + HOLD_MIN_KB, during);
	EXPECT_LT(after - before, LEAK_SLACK_KB);
}

TEST_HARNESS_MAIN
