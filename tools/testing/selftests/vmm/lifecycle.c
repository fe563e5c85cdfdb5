// SPDX-License-Identifier: GPL-2.0
/*
 * lifecycle: create and destroy many VMs, each with one or two vCPUs and a
 * 2 MiB memslot whose memory is touched (by a 32-bit guest every tenth
 * time, by the host otherwise), and check that the memory comes back:
 * MemAvailable may not drop by more than LEAK_TOLERANCE_KB over the run.
 *
 * The loop stops at ITERATIONS VMs or after BUDGET_MS, whichever comes
 * first, and needs at least MIN_ITERATIONS: under QEMU TCG, creating and
 * destroying one KVM VM alone takes 45-65 ms (one or two rig vCPUs).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kselftest_harness.h"
#include "snippets.h"
#include "vmm_util.h"

#define ITERATIONS		1000
#define MIN_ITERATIONS		200
#define BUDGET_MS		60000
#define WARMUP			50
#define GUEST_EVERY		10
#define LEAK_TOLERANCE_KB	(16 * 1024)

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
	long avail_kb;
};

FIXTURE_SETUP(lifecycle)
{
	unsigned int i;

	/* warm up caches and lazily allocated state first */
	for (i = 0; i < WARMUP; i++)
		ASSERT_EQ(0, one_vm(i));
	self->avail_kb = meminfo_kb("MemAvailable");
	ASSERT_LT(0, self->avail_kb);
}

FIXTURE_TEARDOWN(lifecycle)
{
}

TEST_F_TIMEOUT(lifecycle, create_destroy, 300)
{
	long start = now_ms();
	long after, free_kb;
	unsigned int i;

	for (i = 0; i < ITERATIONS; i++) {
		ASSERT_EQ(0, one_vm(i)) {
			TH_LOG("VM %u failed", i);
		}
		if (i % 100 == 99)
			TH_LOG("%u VMs, %ld ms, MemAvailable %ld kB", i + 1,
			       now_ms() - start, meminfo_kb("MemAvailable"));
		if (now_ms() - start > BUDGET_MS) {
			i++;
			break;
		}
	}
	after = meminfo_kb("MemAvailable");
	free_kb = meminfo_kb("MemFree");
	TH_LOG("%u VMs in %ld ms; MemAvailable %ld -> %ld kB (MemFree %ld kB)",
	       i, now_ms() - start, self->avail_kb, after, free_kb);
	ASSERT_LE(MIN_ITERATIONS, i);
	ASSERT_LT(self->avail_kb - after, LEAK_TOLERANCE_KB);
}

TEST_HARNESS_MAIN
