// SPDX-License-Identifier: GPL-2.0
/*
 * vcpu_concurrency: ioctls racing on one vCPU fd, and two VMs sharing a
 * host CPU.
 *
 * one_vcpu_two_threads: two threads issue KVM_RUN, KVM_GET_REGS,
 * KVM_GET_SREGS and KVM_SET_SREGS (of the vCPU's own, unchanged special
 * registers) on the same vCPU fd at once, in a random order, for a few
 * seconds.  KVM serializes vCPU ioctls (vcpu->mutex): every call must
 * return 0 (or EINTR/EAGAIN), GET_REGS must always show the guest in its
 * code with RFLAGS bit 1 set, GET_SREGS always the 64-bit state that was
 * set, and the guest, which loads a pattern into 12 GPRs, spins and checks
 * it in every round, must find its registers intact and make progress.
 *
 * asid_isolation: two VMs whose guests read the same guest physical pages,
 * which hold different data in each VM (and new data before every run).
 * Both vCPU threads are pinned to the same host CPU and take turns, many
 * times: a guest that used the other VM's (or a stale) translation would
 * read the other VM's data.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "guest.h"
#include "vmm_util.h"

#define RACE_SECS	3

/* at GUEST_DATA_GPA: written by the guest */
struct shared {
	uint64_t round;
	uint64_t bad;
};

static void guest_rounds(struct shared *sh)
{
	struct guest_reg_pattern p;
	uint64_t round, i;

	for (round = 1;; round++) {
		for (i = 0; i < ARRAY_LEN(p.gpr); i++)
			p.gpr[i] = (round * 0x9e3779b97f4a7c15UL) ^ (i << 56);
		/* general purpose registers only */
		if (guest_reg_spin(&p, 2000, false))
			sh->bad++;
		sh->round = round;
		GUEST_SYNC(round);
	}
}

struct race {
	struct vmm_vcpu *vcpu;
	struct vmm_sregs golden;
	struct shared *sh;
	uint64_t code_lo, code_hi;
	atomic_bool stop;
};

struct racer {
	struct race *r;
	pthread_t tid;
	unsigned int seed;
	unsigned long ops[4], soft_errors;
	char error[200];
};

static bool sregs_same(const struct vmm_sregs *a, const struct vmm_sregs *b)
{
	return a->cr0 == b->cr0 && a->cr3 == b->cr3 && a->cr4 == b->cr4 &&
	       a->efer == b->efer && a->cs.selector == b->cs.selector &&
	       a->cs.l == b->cs.l && a->ss.selector == b->ss.selector &&
	       a->gdt.base == b->gdt.base && a->idt.base == b->idt.base &&
	       a->tr.selector == b->tr.selector;
}

static void *racer_fn(void *arg)
{
	struct racer *t = arg;
	struct race *r = t->r;
	struct vmm_regs regs;
	struct vmm_sregs sregs;
	int op, ret = 0;

	while (!atomic_load(&r->stop) && !t->error[0]) {
		op = rand_r(&t->seed) % 4;
		switch (op) {
		case 0:
			ret = ioctl(r->vcpu->fd, VMM_RUN, 0);
			break;
		case 1:
			ret = ioctl(r->vcpu->fd, VMM_GET_REGS, &regs);
			if (!ret && (!(regs.rflags & X86_RFLAGS_FIXED) ||
				     regs.rip < r->code_lo ||
				     regs.rip >= r->code_hi))
				snprintf(t->error, sizeof(t->error),
					 "GET_REGS: rip %#llx rflags %#llx",
					 regs.rip, regs.rflags);
			break;
		case 2:
			ret = ioctl(r->vcpu->fd, VMM_GET_SREGS, &sregs);
			if (!ret && !sregs_same(&sregs, &r->golden))
				snprintf(t->error, sizeof(t->error),
					 "GET_SREGS: cr0 %#llx cr3 %#llx cr4 %#llx efer %#llx cs %#x",
					 sregs.cr0, sregs.cr3, sregs.cr4,
					 sregs.efer, sregs.cs.selector);
			break;
		case 3:
			ret = ioctl(r->vcpu->fd, VMM_SET_SREGS, &r->golden);
			break;
		}
		if (ret) {
			if (errno == EINTR || errno == EAGAIN) {
				t->soft_errors++;
			} else {
				snprintf(t->error, sizeof(t->error),
					 "op %d: %s", op, strerror(errno));
			}
		}
		t->ops[op]++;
	}
	return NULL;
}


FIXTURE(conc) {
};

FIXTURE_SETUP(conc)
{
}

FIXTURE_TEARDOWN(conc)
{
}

TEST_F_TIMEOUT(conc, one_vcpu_two_threads, 120)
{
	struct race r = {};
	struct racer t[2] = {};
	struct vmm_vm *vm;
	struct vmm_regs regs;
	struct vmm_sregs sregs;
	struct ucall uc;
	uint64_t round0;
	int i;

	vm = vm_create_default(&r.vcpu, guest_rounds);
	r.sh = vm_gpa2hva(vm, GUEST_DATA_GPA);
	memset(r.sh, 0, sizeof(*r.sh));
	vcpu_set_entry(r.vcpu, guest_rounds, GUEST_DATA_GPA, 0);
	vcpu_get_sregs(r.vcpu, &r.golden);
	r.code_lo = GUEST_IMAGE_GPA;
	r.code_hi = vm_image_end();
	ASSERT_SYNC(r.vcpu, &uc, 1);

	for (i = 0; i < 2; i++) {
		t[i].r = &r;
		t[i].seed = 0x1234 + i;
		ASSERT_EQ(0, pthread_create(&t[i].tid, NULL, racer_fn, &t[i]));
	}
	usleep(RACE_SECS * 1000000);
	atomic_store(&r.stop, true);
	for (i = 0; i < 2; i++) {
		pthread_join(t[i].tid, NULL);
		TH_LOG("thread %d: %lu RUN, %lu GET_REGS, %lu GET_SREGS, %lu SET_SREGS, %lu EINTR/EAGAIN%s%s",
		       i, t[i].ops[0], t[i].ops[1], t[i].ops[2], t[i].ops[3],
		       t[i].soft_errors, t[i].error[0] ? "; error: " : "",
		       t[i].error);
		EXPECT_EQ(0, t[i].error[0]);
		EXPECT_LT(0, t[i].ops[0]);
		EXPECT_LT(0, t[i].ops[3]);
	}

	/* quiet again: the guest goes on from where it was, intact */
	round0 = r.sh->round;
	TH_LOG("guest: %lu rounds, %lu with clobbered registers",
	       (unsigned long)round0, (unsigned long)r.sh->bad);
	EXPECT_LT(10, round0);
	EXPECT_EQ(0, r.sh->bad);
	ASSERT_UCALL(r.vcpu, &uc, UCALL_SYNC);
	/* a pending ucall exit may have been left by the racers */
	if (uc.args[0] == round0)
		ASSERT_UCALL(r.vcpu, &uc, UCALL_SYNC);
	EXPECT_EQ(round0 + 1, uc.args[0]);
	vcpu_get_regs(r.vcpu, &regs);
	vcpu_get_sregs(r.vcpu, &sregs);
	EXPECT_TRUE(sregs_same(&sregs, &r.golden));
	EXPECT_TRUE(regs.rip >= r.code_lo && regs.rip < r.code_hi);
	vm_free(vm);
}

/* ---- two VMs on one host CPU ---- */

#define ASID_PAGES	8
#define ASID_GPA	GUEST_TEST_GPA
#define ASID_ROUNDS	400

/* read every page; report page 0's word and how many pages differ from it */
static void guest_read_pages(uint64_t gpa, uint64_t npages)
{
	uint64_t v, i, diff;

	for (;;) {
		v = guest_read64(gpa);
		diff = 0;
		for (i = 1; i < npages; i++)
			if (guest_read64(gpa + i * PAGE_SIZE + 8 * i) != v)
				diff++;
		GUEST_SYNC2(v, diff);
	}
}

struct turn {
	atomic_int turn;
	atomic_bool failed;
};

struct asid_vcpu {
	struct turn *tn;
	int id, cpu;
	struct vmm_vm *vm;
	struct vmm_vcpu *vcpu;
	uint64_t *mem;
	pthread_t tid;
	unsigned long rounds, wrong;
	char error[200];
};

static void *asid_fn(void *arg)
{
	struct asid_vcpu *a = arg;
	struct ucall uc;
	cpu_set_t set;
	unsigned long i, p;

	CPU_ZERO(&set);
	CPU_SET(a->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		snprintf(a->error, sizeof(a->error), "sched_setaffinity: %s",
			 strerror(errno));
		atomic_store(&a->tn->failed, true);
		return NULL;
	}
	for (i = 0; i < ASID_ROUNDS; i++) {
		uint64_t token = ((uint64_t)(0xa0 + a->id) << 56) | i;

		while (atomic_load(&a->tn->turn) != a->id) {
			if (atomic_load(&a->tn->failed))
				return NULL;
			sched_yield();
		}
		for (p = 0; p < ASID_PAGES; p++)
			a->mem[(p * PAGE_SIZE + 8 * p) / 8] = token;
		p = 0;
		if (__vcpu_run(a->vcpu) ||
		    get_ucall(a->vcpu, &uc) != UCALL_SYNC) {
			snprintf(a->error, sizeof(a->error),
				 "round %lu: run failed or no SYNC (errno %d, exit %u)",
				 i, errno, a->vcpu->run->exit_reason);
			atomic_store(&a->tn->failed, true);
			return NULL;
		}
		if (uc.args[0] != token || uc.args[1]) {
			if (a->wrong++ < 4)
				fprintf(stderr,
					"# VM %d round %lu: guest read %#lx (%lu pages differ), expected %#lx\n",
					a->id, i, (unsigned long)uc.args[0],
					(unsigned long)uc.args[1],
					(unsigned long)token);
		}
		a->rounds++;
		atomic_store(&a->tn->turn, !a->id);
	}
	return NULL;
}

TEST_F_TIMEOUT(conc, asid_isolation, 300)
{
	struct turn tn = {};
	struct asid_vcpu a[2] = {};
	cpu_set_t set;
	int i, cpu;

	ASSERT_EQ(0, sched_getaffinity(0, sizeof(set), &set));
	for (cpu = CPU_SETSIZE - 1; cpu > 0 && !CPU_ISSET(cpu, &set); cpu--)
		;
	for (i = 0; i < 2; i++) {
		a[i].tn = &tn;
		a[i].id = i;
		a[i].cpu = cpu;
		a[i].vm = vm_create_default(&a[i].vcpu, guest_read_pages);
		a[i].mem = vm_add_memslot(a[i].vm, 1, 0, ASID_GPA,
					  ASID_PAGES * PAGE_SIZE);
		vcpu_set_entry(a[i].vcpu, guest_read_pages, ASID_GPA,
			       ASID_PAGES);
	}
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, pthread_create(&a[i].tid, NULL, asid_fn, &a[i]));
	for (i = 0; i < 2; i++)
		pthread_join(a[i].tid, NULL);
	for (i = 0; i < 2; i++) {
		TH_LOG("VM %d on CPU %d: %lu rounds, %lu wrong reads%s%s", i,
		       a[i].cpu, a[i].rounds, a[i].wrong,
		       a[i].error[0] ? "; " : "", a[i].error);
		EXPECT_EQ(0, a[i].error[0]);
		EXPECT_EQ(ASID_ROUNDS, a[i].rounds);
		EXPECT_EQ(0, a[i].wrong);
		vm_free(a[i].vm);
	}
}

TEST_HARNESS_MAIN
