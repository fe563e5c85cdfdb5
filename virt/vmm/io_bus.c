// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm: the in-kernel I/O buses, as KVM's kvm_io_bus.
 *
 * A bus is an immutable array of address ranges sorted by address, each
 * with its device.  A vCPU that exits for port I/O or MMIO looks the
 * address up with a binary search under vm->srcu and asks the devices
 * that cover it, in address order, until one handles the access.  Registering or
 * unregistering a device (under vm->slots_lock) publishes a new array,
 * waits for the readers of the old one and frees it.
 *
 * A range of length 0 matches only accesses at its exact address, of any
 * length; other ranges match the accesses they contain.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include "vmm_core.h"

struct vmm_io_range {
	gpa_t addr;
	int len;
	struct vmm_io_device *dev;
};

struct vmm_io_bus {
	int dev_count;
	int uncounted;		/* devices not counted against the limit */
	int max_len;		/* of any range */
	struct vmm_io_range range[];	/* vmm_io_range_before() order */
};

/*
 * An unregister that cannot allocate the smaller array leaves this in the
 * old one instead of the device; the next change of the bus drops it.
 */
static const struct vmm_io_device_ops vmm_io_dead_ops;
static struct vmm_io_device vmm_io_dead_dev = {
	.ops		= &vmm_io_dead_ops,
	.uncounted	= true,
};

static struct vmm_io_bus *vmm_io_bus_alloc(int nr)
{
	struct vmm_io_bus *bus;

	/* No warning: the size grows with what user space registers. */
	bus = kvmalloc(struct_size(bus, range, nr),
		       GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	return bus;
}

int vmm_io_bus_init(struct vmm_vm *vm)
{
	int i;

	for (i = 0; i < VMM_NR_BUSES; i++) {
		struct vmm_io_bus *bus = vmm_io_bus_alloc(0);

		if (!bus) {
			vmm_io_bus_destroy(vm);
			return -ENOMEM;
		}
		bus->dev_count = 0;
		bus->uncounted = 0;
		bus->max_len = 0;
		RCU_INIT_POINTER(vm->buses[i], bus);
	}
	return 0;
}

/* The VM is going away: nothing can look at the buses any more. */
void vmm_io_bus_destroy(struct vmm_vm *vm)
{
	int i, j;

	for (i = 0; i < VMM_NR_BUSES; i++) {
		struct vmm_io_bus *bus;

		bus = rcu_dereference_protected(vm->buses[i], 1);
		if (!bus)
			continue;
		for (j = 0; j < bus->dev_count; j++) {
			struct vmm_io_device *dev = bus->range[j].dev;

			if (dev->ops->destructor)
				dev->ops->destructor(dev);
		}
		kvfree(bus);
		RCU_INIT_POINTER(vm->buses[i], NULL);
	}
}

/* Does a range cover an access?  Length 0: at its address, any length. */
static bool vmm_io_range_match(const struct vmm_io_range *r, gpa_t addr,
			       int len)
{
	if (!r->len)
		return r->addr == addr;
	return r->addr <= addr && addr - r->addr <= r->len &&
	       len <= r->len - (addr - r->addr);
}

/* The order of a bus: by address, then by length. */
static bool vmm_io_range_before(const struct vmm_io_range *r1,
				const struct vmm_io_range *r2)
{
	return r1->addr < r2->addr ||
	       (r1->addr == r2->addr && r1->len < r2->len);
}

/*
 * Index of the first range that may cover [addr, addr + len): no range
 * is longer than bus->max_len, so only those from addr + len - max_len up
 * can.  A binary search for the first at or above that address.
 */
static int vmm_io_bus_first(struct vmm_io_bus *bus, gpa_t addr, int len)
{
	gpa_t start = addr - min_t(gpa_t, addr, max(bus->max_len - len, 0));
	int lo = 0, hi = bus->dev_count;

	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (bus->range[mid].addr < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * KVM searches with a comparison that treats a range containing the
 * access as equal, which among overlapping ranges can miss one that
 * matches; vmm's bus tries every range that covers the access.
 */
static int vmm_io_bus_access(struct vmm_vcpu *vcpu, enum vmm_bus bus_idx,
			     gpa_t addr, int len, void *val, bool write)
{
	struct vmm_vm *vm = vcpu->vm;
	struct vmm_io_bus *bus;
	int idx, i, r = -EOPNOTSUPP;

	idx = srcu_read_lock(&vm->srcu);
	bus = srcu_dereference(vm->buses[bus_idx], &vm->srcu);
	for (i = vmm_io_bus_first(bus, addr, len);
	     i < bus->dev_count && bus->range[i].addr <= addr; i++) {
		/* See vmm_io_bus_unregister_dev() */
		struct vmm_io_device *dev = READ_ONCE(bus->range[i].dev);

		if (!vmm_io_range_match(&bus->range[i], addr, len))
			continue;
		if (write && dev->ops->write)
			r = dev->ops->write(vcpu, dev, addr, len, val);
		else if (!write && dev->ops->read)
			r = dev->ops->read(vcpu, dev, addr, len, val);
		if (!r)
			break;
		r = -EOPNOTSUPP;
	}
	srcu_read_unlock(&vm->srcu, idx);
	return r;
}

int vmm_io_bus_write(struct vmm_vcpu *vcpu, enum vmm_bus bus_idx, gpa_t addr,
		     int len, const void *val)
{
	return vmm_io_bus_access(vcpu, bus_idx, addr, len, (void *)val, true);
}

int vmm_io_bus_read(struct vmm_vcpu *vcpu, enum vmm_bus bus_idx, gpa_t addr,
		    int len, void *val)
{
	return vmm_io_bus_access(vcpu, bus_idx, addr, len, val, false);
}

/* Does a device on the bus cover [addr, addr + len)?  It may refuse it. */
bool vmm_io_bus_has_dev(struct vmm_vm *vm, enum vmm_bus bus_idx, gpa_t addr,
			int len)
{
	struct vmm_io_bus *bus;
	bool found = false;
	int idx, i;

	idx = srcu_read_lock(&vm->srcu);
	bus = srcu_dereference(vm->buses[bus_idx], &vm->srcu);
	for (i = vmm_io_bus_first(bus, addr, len);
	     i < bus->dev_count && bus->range[i].addr <= addr && !found; i++)
		found = vmm_io_range_match(&bus->range[i], addr, len);
	srcu_read_unlock(&vm->srcu, idx);
	return found;
}

/* Publish @new in place of @old, wait for @old's readers, free it. */
static void vmm_io_bus_swap(struct vmm_vm *vm, enum vmm_bus bus_idx,
			    struct vmm_io_bus *old, struct vmm_io_bus *new)
{
	rcu_assign_pointer(vm->buses[bus_idx], new);
	synchronize_srcu_expedited(&vm->srcu);
	kvfree(old);
}

/* Copy @bus's ranges but @skip (an index, or -1) and dead ones. */
static void vmm_io_bus_copy(struct vmm_io_bus *new, struct vmm_io_bus *bus,
			    int skip)
{
	int i;

	new->dev_count = 0;
	new->uncounted = 0;
	new->max_len = 0;
	for (i = 0; i < bus->dev_count; i++) {
		struct vmm_io_range *r = &bus->range[i];

		if (i == skip || r->dev == &vmm_io_dead_dev)
			continue;
		new->range[new->dev_count++] = *r;
		new->uncounted += r->dev->uncounted;
		new->max_len = max(new->max_len, r->len);
	}
}

/* @dev handles [addr, addr + len); with @len 0, accesses at @addr only. */
int vmm_io_bus_register_dev(struct vmm_vm *vm, enum vmm_bus bus_idx,
			    gpa_t addr, int len, struct vmm_io_device *dev)
{
	struct vmm_io_range range = { .addr = addr, .len = len, .dev = dev };
	struct vmm_io_bus *bus, *new;
	int i;

	lockdep_assert_held(&vm->slots_lock);
	bus = rcu_dereference_protected(vm->buses[bus_idx],
					lockdep_is_held(&vm->slots_lock));
	if (bus->dev_count - bus->uncounted >= VMM_NR_IOBUS_DEVS)
		return -ENOSPC;
	new = vmm_io_bus_alloc(bus->dev_count + 1);
	if (!new)
		return -ENOMEM;
	vmm_io_bus_copy(new, bus, -1);
	for (i = 0; i < new->dev_count; i++)
		if (vmm_io_range_before(&range, &new->range[i]))
			break;
	memmove(&new->range[i + 1], &new->range[i],
		(new->dev_count - i) * sizeof(range));
	new->range[i] = range;
	new->dev_count++;
	new->uncounted += dev->uncounted;
	new->max_len = max(new->max_len, len);
	vmm_io_bus_swap(vm, bus_idx, bus, new);
	return 0;
}

/*
 * Take @dev off the bus; once this returns no vCPU uses it any more.
 * Cannot fail: without memory for the smaller array, @dev's entry in the
 * current one is replaced by a device that handles nothing.
 */
void vmm_io_bus_unregister_dev(struct vmm_vm *vm, enum vmm_bus bus_idx,
			       struct vmm_io_device *dev)
{
	struct vmm_io_bus *bus, *new;
	int i;

	lockdep_assert_held(&vm->slots_lock);
	bus = rcu_dereference_protected(vm->buses[bus_idx],
					lockdep_is_held(&vm->slots_lock));
	for (i = 0; i < bus->dev_count; i++)
		if (bus->range[i].dev == dev)
			break;
	if (i == bus->dev_count)
		return;
	new = vmm_io_bus_alloc(bus->dev_count - 1);
	if (new) {
		vmm_io_bus_copy(new, bus, i);
		vmm_io_bus_swap(vm, bus_idx, bus, new);
		return;
	}
	if (!dev->uncounted)
		bus->uncounted++;
	WRITE_ONCE(bus->range[i].dev, &vmm_io_dead_dev);
	synchronize_srcu_expedited(&vm->srcu);
}
