// SPDX-License-Identifier: GPL-2.0-only
/*
 * vmm: VMM_IOEVENTFD, a guest write to a port or an MMIO address that
 * signals an eventfd instead of exiting to user space.
 *
 * Each ioeventfd is a device on the PIO or MMIO bus (io_bus.c) and on
 * the VM's list, both changed under vm->slots_lock.  The checks, their
 * order and the matching rules are those of KVM 6.1's kvm_ioeventfd();
 * see Documentation/api.rst.  KVM also puts an MMIO ioeventfd of length 0
 * on its "fast MMIO" bus, which only VMX's EPT-misconfiguration exit
 * consults; on SVM every MMIO write is decoded anyway, so vmm has one MMIO
 * bus, where a length of 0 matches a write of any length at the address.
 */
#include <linux/eventfd.h>
#include <linux/list.h>
#include <linux/slab.h>
#include <asm/unaligned.h>
#include "vmm_core.h"

struct vmm_ioeventfd_dev {
	struct list_head list;		/* vm->ioeventfds */
	u64 addr;
	int len;			/* 0: any length */
	struct eventfd_ctx *eventfd;
	u64 datamatch;
	struct vmm_io_device dev;
	enum vmm_bus bus_idx;
	bool wildcard;			/* no DATAMATCH: any data */
};

static struct vmm_ioeventfd_dev *to_ioeventfd(struct vmm_io_device *dev)
{
	return container_of(dev, struct vmm_ioeventfd_dev, dev);
}

static void vmm_ioeventfd_release(struct vmm_ioeventfd_dev *p)
{
	eventfd_ctx_put(p->eventfd);
	list_del(&p->list);
	kfree(p);
}

static bool vmm_ioeventfd_match(struct vmm_ioeventfd_dev *p, gpa_t addr,
				int len, const void *val)
{
	u64 v;

	if (addr != p->addr)
		return false;
	if (!p->len)
		return true;
	if (len != p->len)
		return false;
	if (p->wildcard)
		return true;
	switch (len) {
	case 1:
		v = *(const u8 *)val;
		break;
	case 2:
		v = get_unaligned((const u16 *)val);
		break;
	case 4:
		v = get_unaligned((const u32 *)val);
		break;
	case 8:
		v = get_unaligned((const u64 *)val);
		break;
	default:
		return false;
	}
	return v == p->datamatch;
}

static int vmm_ioeventfd_write(struct vmm_vcpu *vcpu, struct vmm_io_device *dev,
			       gpa_t addr, int len, const void *val)
{
	struct vmm_ioeventfd_dev *p = to_ioeventfd(dev);

	if (!vmm_ioeventfd_match(p, addr, len, val))
		return -EOPNOTSUPP;
	eventfd_signal(p->eventfd, 1);
	return 0;
}

/* The VM is being destroyed. */
static void vmm_ioeventfd_destructor(struct vmm_io_device *dev)
{
	vmm_ioeventfd_release(to_ioeventfd(dev));
}

static const struct vmm_io_device_ops vmm_ioeventfd_ops = {
	.write		= vmm_ioeventfd_write,
	.destructor	= vmm_ioeventfd_destructor,
};

/*
 * As ioeventfd_check_collision(): the same address on the same bus with
 * either length 0, or the same length and either any data or the same
 * datamatch, whatever the eventfd.
 */
static bool vmm_ioeventfd_collides(struct vmm_vm *vm,
				   const struct vmm_ioeventfd_dev *p)
{
	struct vmm_ioeventfd_dev *q;

	list_for_each_entry(q, &vm->ioeventfds, list)
		if (q->bus_idx == p->bus_idx && q->addr == p->addr &&
		    (!q->len || !p->len ||
		     (q->len == p->len &&
		      (q->wildcard || p->wildcard ||
		       q->datamatch == p->datamatch))))
			return true;
	return false;
}

static enum vmm_bus vmm_ioeventfd_bus(u32 flags)
{
	if (flags & VMM_IOEVENTFD_FLAG_PIO)
		return VMM_PIO_BUS;
	if (flags & VMM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY)
		return VMM_VIRTIO_CCW_NOTIFY_BUS;
	return VMM_MMIO_BUS;
}

static int vmm_ioeventfd_assign(struct vmm_vm *vm,
				const struct vmm_ioeventfd *args)
{
	struct eventfd_ctx *eventfd;
	struct vmm_ioeventfd_dev *p;
	int r;

	switch (args->len) {
	case 0: case 1: case 2: case 4: case 8:
		break;
	default:
		return -EINVAL;
	}
	if (args->addr + args->len < args->addr)
		return -EINVAL;
	if (args->flags & ~VMM_IOEVENTFD_VALID_FLAG_MASK)
		return -EINVAL;
	/* Length 0 matches any data: DATAMATCH would be meaningless. */
	if (!args->len && (args->flags & VMM_IOEVENTFD_FLAG_DATAMATCH))
		return -EINVAL;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);
	p = kzalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);
	if (!p) {
		r = -ENOMEM;
		goto err_put;
	}
	INIT_LIST_HEAD(&p->list);
	p->addr = args->addr;
	p->len = args->len;
	p->eventfd = eventfd;
	p->bus_idx = vmm_ioeventfd_bus(args->flags);
	if (args->flags & VMM_IOEVENTFD_FLAG_DATAMATCH)
		p->datamatch = args->datamatch;
	else
		p->wildcard = true;
	p->dev.ops = &vmm_ioeventfd_ops;
	p->dev.uncounted = true;

	mutex_lock(&vm->slots_lock);
	if (vmm_ioeventfd_collides(vm, p)) {
		r = -EEXIST;
		goto err_unlock;
	}
	r = vmm_io_bus_register_dev(vm, p->bus_idx, p->addr, p->len, &p->dev);
	if (r)
		goto err_unlock;
	list_add_tail(&p->list, &vm->ioeventfds);
	mutex_unlock(&vm->slots_lock);
	return 0;

err_unlock:
	mutex_unlock(&vm->slots_lock);
	kfree(p);
err_put:
	eventfd_ctx_put(eventfd);
	return r;
}

/* As KVM, nothing but the eventfd is checked: no match is -ENOENT. */
static int vmm_ioeventfd_deassign(struct vmm_vm *vm,
				  const struct vmm_ioeventfd *args)
{
	enum vmm_bus bus_idx = vmm_ioeventfd_bus(args->flags);
	bool wildcard = !(args->flags & VMM_IOEVENTFD_FLAG_DATAMATCH);
	struct vmm_ioeventfd_dev *p;
	struct eventfd_ctx *eventfd;
	int r = -ENOENT;

	eventfd = eventfd_ctx_fdget(args->fd);
	if (IS_ERR(eventfd))
		return PTR_ERR(eventfd);

	mutex_lock(&vm->slots_lock);
	list_for_each_entry(p, &vm->ioeventfds, list) {
		if (p->bus_idx != bus_idx || p->eventfd != eventfd ||
		    p->addr != args->addr || p->len != args->len ||
		    p->wildcard != wildcard)
			continue;
		if (!p->wildcard && p->datamatch != args->datamatch)
			continue;
		vmm_io_bus_unregister_dev(vm, bus_idx, &p->dev);
		vmm_ioeventfd_release(p);
		r = 0;
		break;
	}
	mutex_unlock(&vm->slots_lock);

	eventfd_ctx_put(eventfd);
	return r;
}

int vmm_ioeventfd(struct vmm_vm *vm, const struct vmm_ioeventfd *args)
{
	if (args->flags & VMM_IOEVENTFD_FLAG_DEASSIGN)
		return vmm_ioeventfd_deassign(vm, args);
	return vmm_ioeventfd_assign(vm, args);
}
