/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vmm: core types shared by the arch-independent core (virt/vmm) and the
 * architecture backends (arch/<arch>/vmm).
 */
#ifndef _VMM_VMM_HOST_H
#define _VMM_VMM_HOST_H

#include <linux/types.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/refcount.h>
#include <linux/mmu_notifier.h>
#include <linux/preempt.h>
#include <linux/rcuwait.h>
#include <linux/sched.h>
#include <linux/task_work.h>
#include <uapi/linux/vmm.h>

/* Limits reported through VMM_CHECK_EXTENSION; documented in api.rst. */
#define VMM_MAX_VCPUS		256	/* VMM_CAP_MAX_VCPUS */
#define VMM_MAX_VCPU_ID		1024	/* VMM_CAP_MAX_VCPU_ID: ids 0..1023 */
#define VMM_USER_MEM_SLOTS	512	/* VMM_CAP_NR_MEMSLOTS: ids 0..511 */
#define VMM_MEM_MAX_NR_PAGES	((1UL << 31) - 1)

typedef u64 gfn_t;
typedef u64 gpa_t;

/*
 * Internal memslot flag, above the uapi ones: the slot is being deleted or
 * moved.  Faults on it retry, the MMU notifier still zaps through it.
 */
#define VMM_MEMSLOT_INVALID	BIT(16)

struct vmm_memslot {
	gfn_t base_gfn;
	u64 npages;
	unsigned long userspace_addr;
	u32 flags;
	u16 id;
	/*
	 * The arch's per-slot data (dirty bitmaps, reverse maps, ...): set
	 * up by prepare_memory_region(), freed by commit_memory_region() of
	 * the change that deletes or replaces the slot.  Slot arrays are
	 * copied by value; the pointer moves with the slot.
	 */
	void *arch;
};

enum vmm_mr_change {
	VMM_MR_CREATE,
	VMM_MR_DELETE,
	VMM_MR_MOVE,
};

/* An immutable array of slots, replaced as a whole under SRCU. */
struct vmm_memslots {
	int nr;
	struct vmm_memslot slots[];
};

/*
 * vcpu->mode, KVM's handshake between a vCPU entering the guest and
 * whoever wants it out: the entry sets IN_GUEST_MODE, then (after a full
 * barrier) checks for requests and EXITING_GUEST_MODE with IRQs off; a
 * kicker sets its request, then moves IN_GUEST_MODE to EXITING_GUEST_MODE
 * and sends an IPI only if the vCPU was in guest mode.
 */
enum vmm_vcpu_mode {
	VMM_OUTSIDE_GUEST_MODE,
	VMM_IN_GUEST_MODE,
	VMM_EXITING_GUEST_MODE,
};

/*
 * Bits of vcpu->requests, processed before every guest entry: the core's
 * from 0, the arch's from VMM_ARCH_REQ(0) (KVM_ARCH_REQ()).
 */
#define VMM_REQ_TLB_FLUSH	0
#define VMM_ARCH_REQ(nr)	(8 + (nr))

/*
 * The in-kernel I/O buses (virt/vmm/io_bus.c), as KVM's kvm_io_bus: guest
 * port I/O and MMIO that a device on a bus handles never exits to user
 * space.  In KVM's order; the virtio-ccw notification bus is s390's, x86
 * never consults it (ioeventfds with that flag are accepted and inert).
 */
enum vmm_bus {
	VMM_MMIO_BUS,
	VMM_PIO_BUS,
	VMM_VIRTIO_CCW_NOTIFY_BUS,
	VMM_NR_BUSES
};

/* Devices a bus takes, ioeventfds not counted (KVM's NR_IOBUS_DEVS). */
#define VMM_NR_IOBUS_DEVS	1000

struct vmm_io_device;
struct vmm_vcpu;

/*
 * A device's accessors, called by the vCPU that accesses it, under
 * vm->srcu (read).  They return 0 when they handled the access, else
 * -EOPNOTSUPP: the next device covering the address is asked, and the
 * access exits to user space if none handles it.  Either may be NULL.
 */
struct vmm_io_device_ops {
	int (*read)(struct vmm_vcpu *vcpu, struct vmm_io_device *dev,
		    gpa_t addr, int len, void *val);
	int (*write)(struct vmm_vcpu *vcpu, struct vmm_io_device *dev,
		     gpa_t addr, int len, const void *val);
	/* At VM destruction, for each device still on a bus. */
	void (*destructor)(struct vmm_io_device *dev);
};

struct vmm_io_device {
	const struct vmm_io_device_ops *ops;
	/* Not counted against VMM_NR_IOBUS_DEVS (ioeventfds, as KVM). */
	bool uncounted;
};

struct vmm_vm {
	refcount_t users;
	struct mm_struct *mm;

	struct mutex lock;		/* vCPU creation, ENABLE_CAP */
	struct mutex slots_lock;	/* memslot updates */
	struct vmm_memslots __rcu *memslots;
	struct srcu_struct srcu;

	/* Replaced as a whole under slots_lock, read under srcu. */
	struct vmm_io_bus __rcu *buses[VMM_NR_BUSES];
	struct list_head ioeventfds;	/* under slots_lock */

	/* The arch MMU's lock, and the MMU-notifier race detection. */
	spinlock_t mmu_lock;
	struct mmu_notifier mmu_notifier;
	unsigned long mmu_invalidate_seq;
	long mmu_invalidate_in_progress;
	/*
	 * Invalidations between their start and end; memslot updates wait
	 * on the rcuwait until it is 0 before they publish a new array.
	 */
	spinlock_t mn_invalidate_lock;
	unsigned long mn_active_invalidate_count;
	struct rcuwait mn_memslots_update_rcuwait;

	int nr_vcpus;			/* written under lock */
	struct vmm_vcpu *vcpus[VMM_MAX_VCPUS];
};

struct vmm_vcpu {
	struct vmm_vm *vm;
	u32 vcpu_id;
	struct mutex mutex;

	struct vmm_run *run;		/* mmap page 0 */
	struct page **mmap_pages;	/* all pages of the vCPU mmap */
	unsigned int nr_mmap_pages;

	/* Tells the arch when the vCPU thread leaves or enters a CPU. */
	struct preempt_notifier preempt_notifier;

	int cpu;			/* host CPU it last ran on, or -1 */
	int mode;			/* enum vmm_vcpu_mode */
	unsigned long requests;
};

/*
 * Ask @vcpu to do @req before it next enters the guest, then kick it
 * (vmm_vcpu_kick()).  The arch's entry consumes requests after it has set
 * IN_GUEST_MODE and a full barrier, which is what makes this race-free.
 */
static inline void vmm_make_request(int req, struct vmm_vcpu *vcpu)
{
	/* What the request refers to is visible before the request. */
	smp_wmb();
	set_bit(req, &vcpu->requests);
}

/* Consume @req if it is pending, as kvm_check_request(). */
static inline bool vmm_check_request(struct vmm_vcpu *vcpu, int req)
{
	if (!test_bit(req, &vcpu->requests))
		return false;
	clear_bit(req, &vcpu->requests);
	/* Pairs with the smp_wmb() in vmm_make_request(). */
	smp_mb__after_atomic();
	return true;
}

/* IN_GUEST_MODE becomes EXITING_GUEST_MODE; returns the previous mode. */
static inline int vmm_vcpu_exiting_guest_mode(struct vmm_vcpu *vcpu)
{
	/* The request is set before the mode is read (vs. the entry's mb). */
	smp_mb__before_atomic();
	return cmpxchg(&vcpu->mode, VMM_IN_GUEST_MODE, VMM_EXITING_GUEST_MODE);
}

/*
 * The interface an architecture backend implements.  virt/vmm calls
 * nothing else of the backend; the backend calls back only the helpers
 * declared at the end of this file.
 */
struct vmm_arch_ops {
	const char *name;
	unsigned int vcpu_mmap_pages;	/* pages of the vCPU mmap, >= 1 */

	/* Module load/unload: probe the hardware, allocate global state. */
	int (*init)(void);
	void (*exit)(void);

	/* Per-CPU virtualization on/off; run on each CPU, IRQs off. */
	int (*hardware_enable)(void);
	void (*hardware_disable)(void);

	/*
	 * The arch's VM and vCPU structures embed struct vmm_vm and struct
	 * vmm_vcpu (container_of(), as KVM's vcpu_svm embeds kvm_vcpu):
	 * these allocate and free the whole, zeroed, GFP_KERNEL_ACCOUNT.
	 */
	struct vmm_vm *(*vm_alloc)(void);
	void (*vm_free)(struct vmm_vm *vm);
	struct vmm_vcpu *(*vcpu_alloc)(void);
	void (*vcpu_free)(struct vmm_vcpu *vcpu);

	/* @type is VMM_CREATE_VM's argument: the arch validates it. */
	int (*vm_init)(struct vmm_vm *vm, unsigned long type);
	void (*vm_destroy)(struct vmm_vm *vm);
	/* Arch part of CHECK_EXTENSION; vm is NULL on the system fd. */
	long (*check_extension)(struct vmm_vm *vm, long ext);
	/* System-fd ioctls of the arch (CPUID and MSR lists on x86). */
	long (*dev_ioctl)(unsigned int ioctl, unsigned long arg);
	int (*vm_enable_cap)(struct vmm_vm *vm, struct vmm_enable_cap *cap);
	/* Arch VM ioctls; return -ENOTTY for unknown ones. */
	long (*vm_ioctl)(struct vmm_vm *vm, unsigned int ioctl,
			 unsigned long arg);

	int (*vcpu_create)(struct vmm_vcpu *vcpu);
	void (*vcpu_destroy)(struct vmm_vcpu *vcpu);
	/*
	 * The vCPU's state goes onto host CPU @cpu (vcpu_load) or off its
	 * CPU (vcpu_put): around every vCPU ioctl and, in between, whenever
	 * the scheduler moves the vCPU thread (preempt notifiers).  Called
	 * with preemption off; from the scheduler also with IRQs off.
	 */
	void (*vcpu_load)(struct vmm_vcpu *vcpu, int cpu);
	void (*vcpu_put)(struct vmm_vcpu *vcpu);
	/* Arch vCPU ioctls (registers, ...); -ENOTTY for unknown ones. */
	long (*vcpu_ioctl)(struct vmm_vcpu *vcpu, unsigned int ioctl,
			   unsigned long arg);
	/*
	 * VMM_RUN, under vcpu->mutex.  Completes what the last exit left to
	 * user space, then runs the guest until an exit needs user space
	 * (returns 0), an error occurs (< 0), or vmm_vcpu_handle_work()
	 * asks for a return to user space.
	 */
	int (*vcpu_run)(struct vmm_vcpu *vcpu);

	/*
	 * Drop the guest mappings of [start, end) in the second-stage
	 * tables, under vm->mmu_lock.  Returns true if a TLB flush is
	 * needed.
	 */
	bool (*unmap_gfn_range)(struct vmm_vm *vm, gfn_t start, gfn_t end);
	/*
	 * Optional, as kvm_arch_flush_remote_tlb(): flush the second-stage
	 * TLB entries of @vm on every CPU by the arch's own means (arm64's
	 * broadcast TLBI by VMID) and return 0; without it, or on an error,
	 * the core makes every vCPU flush before it re-enters and kicks the
	 * vCPUs in guest mode.  Callable in atomic context.
	 */
	int (*flush_remote_tlbs)(struct vmm_vm *vm);
	/*
	 * Reclaim's view of the guest's working set, under vm->mmu_lock:
	 * return true if a second-stage mapping in [start, end) was used
	 * since the last call, and with @clear start a new period.
	 */
	bool (*age_gfn_range)(struct vmm_vm *vm, gfn_t start, gfn_t end,
			      bool clear);
	/*
	 * A memslot change, as KVM's kvm_arch_prepare/commit_memory_region().
	 * prepare runs under vm->slots_lock before anything is visible: it
	 * checks @new against the arch (the reach of the second-stage tables)
	 * and may set new->arch; an error leaves everything as it was.
	 * commit runs once the new slots are published and the old slot's
	 * mappings are gone, and frees old->arch; the VM's destruction
	 * commits a VMM_MR_DELETE of every slot left.  @old is NULL for
	 * VMM_MR_CREATE, @new for VMM_MR_DELETE.  Unlike KVM, prepare runs
	 * while the old slot is still valid and faults may map it: data it
	 * derives from the old slot must be brought up to date in commit.
	 */
	int (*prepare_memory_region)(struct vmm_vm *vm,
				     const struct vmm_memslot *old,
				     struct vmm_memslot *new,
				     enum vmm_mr_change change);
	void (*commit_memory_region)(struct vmm_vm *vm,
				     struct vmm_memslot *old,
				     const struct vmm_memslot *new,
				     enum vmm_mr_change change);
};

extern const struct vmm_arch_ops vmm_arch_ops;

/* Helpers the core offers to backends. */
struct vmm_memslot *vmm_gfn_to_memslot(struct vmm_vm *vm, gfn_t gfn);
void vmm_flush_remote_tlbs(struct vmm_vm *vm);
void vmm_vcpu_kick(struct vmm_vcpu *vcpu);
void vmm_make_all_vcpus_request(struct vmm_vm *vm, int req, bool wait);
int vmm_vcpu_handle_work(struct vmm_vcpu *vcpu);

/*
 * The I/O buses.  Register and unregister under vm->slots_lock; the
 * device must stay valid until it is unregistered (or its destructor
 * runs).  vmm_io_bus_read/write() return 0 if a device handled the access,
 * -EOPNOTSUPP if it must go to user space; @len is 1, 2, 4 or 8.
 * vmm_io_bus_has_dev() only tells whether a device covers the address (it
 * could still refuse an access there).
 */
int vmm_io_bus_register_dev(struct vmm_vm *vm, enum vmm_bus bus_idx,
			    gpa_t addr, int len, struct vmm_io_device *dev);
void vmm_io_bus_unregister_dev(struct vmm_vm *vm, enum vmm_bus bus_idx,
			       struct vmm_io_device *dev);
int vmm_io_bus_write(struct vmm_vcpu *vcpu, enum vmm_bus bus_idx, gpa_t addr,
		     int len, const void *val);
int vmm_io_bus_read(struct vmm_vcpu *vcpu, enum vmm_bus bus_idx, gpa_t addr,
		    int len, void *val);
bool vmm_io_bus_has_dev(struct vmm_vm *vm, enum vmm_bus bus_idx, gpa_t addr,
			int len);

/*
 * TIF_NOTIFY_RESUME work the guest must not outrun: task work (which also
 * delivers POSIX CPU timers and RLIMIT_CPU in 6.1), memory.high reclaim
 * and block cgroup throttling.  All of it runs on the return to user space
 * (resume_user_mode_work(), which a module cannot call), so VMM_RUN
 * returns -EINTR for it.  The flag alone is not enough: rseq sets it on
 * every preemption of a thread with a registered rseq area, and its
 * update can wait until VMM_RUN returns anyway.  Without the flag nothing
 * is due yet (task work added with TWA_NONE waits for one).
 */
static __always_inline bool vmm_notify_resume_pending(void)
{
	struct task_struct *t = current;

	if (!test_thread_flag(TIF_NOTIFY_RESUME))
		return false;
	if (task_work_pending(t))
		return true;
#ifdef CONFIG_MEMCG
	if (READ_ONCE(t->memcg_nr_pages_over_high))
		return true;
#endif
#ifdef CONFIG_BLK_CGROUP
	if (READ_ONCE(t->throttle_queue))
		return true;
#endif
	return false;
}

/*
 * Work that must not wait while the guest runs: the entry checks it with
 * IRQs off, after vcpu->mode is IN_GUEST_MODE, and backs out to
 * vmm_vcpu_handle_work() if there is any (xfer_to_guest_mode_work_pending()
 * for modules, whose xfer_to_guest_mode_handle_work() takes a KVM vCPU).
 */
static __always_inline bool vmm_vcpu_work_pending(void)
{
	return (read_thread_flags() & (_TIF_SIGPENDING | _TIF_NOTIFY_SIGNAL |
				       _TIF_NEED_RESCHED)) ||
	       vmm_notify_resume_pending();
}
bool vmm_hardware_enabled_this_cpu(void);
bool vmm_hardware_rebooting(void);

static inline unsigned long vmm_gfn_to_hva(struct vmm_memslot *slot,
					   gfn_t gfn)
{
	return slot->userspace_addr + ((gfn - slot->base_gfn) << PAGE_SHIFT);
}

static inline bool vmm_mmu_invalidate_retry(struct vmm_vm *vm,
					    unsigned long seq)
{
	lockdep_assert_held(&vm->mmu_lock);
	return vm->mmu_invalidate_in_progress ||
	       vm->mmu_invalidate_seq != seq;
}

#endif /* _VMM_VMM_HOST_H */
