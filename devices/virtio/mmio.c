// SPDX-License-Identifier: MIT
/*
 * virtio-mmio, transport version 2 (virtio 1.2, 4.2), and the hub that runs every virtio
 * device's queues on the main thread.
 *
 * Device n sits at VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_SIZE with IRQ VIRTIO_MMIO_IRQ_BASE + n
 * and is described to the guest in the DSDT (arch/x86/acpi.c, an LNRO0005 device each): on
 * an x86 hardware-reduced ACPI platform Linux has no legacy IRQ mapping, so an IRQ number
 * given on the command line (virtio_mmio.device=) would not name the GSI, and distribution
 * kernels lack VIRTIO_MMIO_CMDLINE_DEVICES anyway.
 *
 * Notifications: each queue has an eventfd. Where KVM offers ioeventfd, a 4-byte guest write
 * of the queue's index to QueueNotify signals it inside KVM (no exit to the VMM); otherwise
 * the MMIO exit handler writes it. The hub's io_uring reads every queue eventfd, and also
 * carries the block devices' reads, writes, fsyncs and fallocates; the ring signals one
 * eventfd that the main loop polls (virtio_hub_fd), and virtio_hub_run() drains it. So all
 * queue processing, and every completion, happens on the main thread.
 *
 * Interrupts are edges on an IOAPIC pin: a write to the device's irqfd where KVM has irqfd,
 * else KVM_IRQ_LINE up and down. InterruptStatus says why (used ring, config change). Every
 * device offers VIRTIO_F_EVENT_IDX and INDIRECT_DESC: with EVENT_IDX the driver's used_event
 * decides interrupts and the device's avail_event its notifications (virtqueue.c).
 *
 * Registers are 32-bit only (other widths read 0 and are ignored); the device-specific
 * config space from 0x100 takes any width. Every guest value is checked: queue numbers,
 * sizes, feature bits (FEATURES_OK is refused for unknown bits or without VERSION_1), ring
 * addresses (vq_enable).
 */
#include <errno.h>
#include <inttypes.h>
#include <liburing.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../../arch/x86/layout.h"
#include "../../vmm/io_bus.h"
#include "../../vmm/kvm.h"
#include "../../vmm/log.h"
#include "../../vmm/sandbox.h"
#include "../../vmm/vm.h"
#include "virtio.h"

#define VIRTIO_MMIO_MAGIC_VALUE 0x000
#define VIRTIO_MMIO_VERSION 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_SHM_SEL 0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW 0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100

#define MAGIC 0x74726976u  /* "virt" */
#define VENDOR 0x4d564d4du /* "MMVM" */

/* Ring of the hub: kick polls (at most 8 devices x 4 queues) plus block I/O in flight. */
#define HUB_RING_ENTRIES 256
#define HUB_IO_BUDGET 192

struct virtio_hub {
	struct vm *vm;
	struct guest_mem *mem;
	int vm_fd;
	struct io_uring ring;
	bool ring_ready;
	bool stopping;
	int event_fd;
	bool use_ioeventfd, use_irqfd;
	bool files_registered;
	unsigned int nr_files;
	unsigned int io_inflight;
	unsigned int nr_devs;
	struct virtio_dev *devs[VIRTIO_MMIO_MAX_DEVICES];
	uint32_t retry[VIRTIO_MMIO_MAX_DEVICES]; /* queues to notify again once I/O completes */
};

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* ---- interrupts ------------------------------------------------------------------------- */

static void dev_inject(struct virtio_dev *dev, uint32_t why)
{
	struct virtio_hub *hub = dev->hub;

	atomic_fetch_or(&dev->isr, why);
	__atomic_fetch_add(&dev->interrupts, 1, __ATOMIC_RELAXED);
	if (dev->irq_fd >= 0) {
		uint64_t one = 1;

		if (write(dev->irq_fd, &one, sizeof(one)) == sizeof(one))
			return;
		pr_warn("%s: irqfd write failed: %s", dev->name, strerror(errno));
	}
	if (hub->vm_fd >= 0) {
		kvm_vm_irq_line(hub->vm_fd, dev->irq, 1);
		kvm_vm_irq_line(hub->vm_fd, dev->irq, 0);
	}
}

void virtio_dev_used(struct virtio_dev *dev, unsigned int q)
{
	if (q < VIRTIO_MAX_QUEUES && vq_should_interrupt(&dev->vqs[q]))
		atomic_store_explicit(&dev->irq_pending, true, memory_order_relaxed);
}

void virtio_dev_config_changed(struct virtio_dev *dev)
{
	dev->config_generation++;
	if (dev->status & VIRTIO_STATUS_DRIVER_OK)
		dev_inject(dev, VIRTIO_INT_CONFIG);
}

void virtio_dev_needs_reset(struct virtio_dev *dev, const char *why)
{
	if (dev->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	pr_warn_ratelimited("%s: the driver broke the virtio protocol (%s): device needs a reset",
			    dev->name, why);
	dev->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (dev->status & VIRTIO_STATUS_DRIVER_OK)
		dev_inject(dev, VIRTIO_INT_CONFIG);
}

/* ---- hub -------------------------------------------------------------------------------- */

static void kick_arm(struct virtio_hub *hub, struct virtio_queue_regs *qr)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&hub->ring);

	if (!sqe) {
		io_uring_submit(&hub->ring);
		sqe = io_uring_get_sqe(&hub->ring);
	}
	if (!sqe) {
		pr_err("%s: cannot wait for queue %u notifications (io_uring full)", qr->dev->name,
		       qr->index);
		return;
	}
	/* a read, not a poll: it waits for the eventfd and consumes its count in one step */
	io_uring_prep_read(sqe, qr->kick_fd, &qr->kick_count, sizeof(qr->kick_count), 0);
	io_uring_sqe_set_data(sqe, &qr->kick_io);
}

static void kick_complete(struct virtio_io *io, int res)
{
	struct virtio_queue_regs *qr = container_of(io, struct virtio_queue_regs, kick_io);
	struct virtio_dev *dev = qr->dev;

	if (dev->hub->stopping || res == -ECANCELED)
		return; /* teardown */
	if (res != sizeof(qr->kick_count))
		pr_warn("%s: queue %u notification eventfd: %s", dev->name, qr->index,
			res < 0 ? strerror(-res) : "short read");
	kick_arm(dev->hub, qr);
	mutex_lock(&dev->lock);
	dev->notifies++;
	if (qr->ready && (dev->status & VIRTIO_STATUS_DRIVER_OK) &&
	    !(dev->status & VIRTIO_STATUS_NEEDS_RESET) && dev->ops->queue_notify)
		dev->ops->queue_notify(dev, qr->index);
	mutex_unlock(&dev->lock);
}

static void kick(struct virtio_queue_regs *qr)
{
	uint64_t one = 1;

	if (write(qr->kick_fd, &one, sizeof(one)) < 0)
		pr_debug("%s: kick: %s", qr->dev->name, strerror(errno));
}

struct io_uring_sqe *virtio_hub_get_sqe(struct virtio_hub *hub, struct virtio_io *io)
{
	struct io_uring_sqe *sqe;

	if (hub->stopping || hub->io_inflight >= HUB_IO_BUDGET)
		return NULL;
	sqe = io_uring_get_sqe(&hub->ring);
	if (!sqe) {
		io_uring_submit(&hub->ring);
		sqe = io_uring_get_sqe(&hub->ring);
		if (!sqe)
			return NULL;
	}
	io_uring_sqe_set_data(sqe, io);
	hub->io_inflight++;
	return sqe;
}

unsigned int virtio_hub_sqes_free(const struct virtio_hub *hub)
{
	return hub->stopping ? 0 : HUB_IO_BUDGET - hub->io_inflight;
}

void virtio_hub_retry(struct virtio_hub *hub, struct virtio_dev *dev, unsigned int q)
{
	hub->retry[dev->index] |= 1u << q;
}

int virtio_hub_register_file(struct virtio_hub *hub, int fd)
{
	if (!hub->files_registered || hub->nr_files >= VIRTIO_MMIO_MAX_DEVICES)
		return -1;
	if (io_uring_register_files_update(&hub->ring, hub->nr_files, &fd, 1) != 1)
		return -1;
	return (int)hub->nr_files++;
}

int virtio_hub_fd(const struct virtio_hub *hub)
{
	return hub->event_fd;
}

unsigned int virtio_hub_nr_devices(const struct virtio_hub *hub)
{
	return hub ? hub->nr_devs : 0;
}

/* Handle every completion there is; returns how many. */
static unsigned int hub_reap(struct virtio_hub *hub)
{
	struct io_uring_cqe *cqe;
	unsigned int n = 0;

	while (io_uring_peek_cqe(&hub->ring, &cqe) == 0) {
		struct virtio_io *io = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&hub->ring, cqe);
		n++;
		if (!io)
			continue;
		if (io->complete != kick_complete)
			hub->io_inflight--;
		io->complete(io, res);
	}
	return n;
}

static void hub_retry(struct virtio_hub *hub)
{
	for (unsigned int d = 0; d < hub->nr_devs; d++) {
		struct virtio_dev *dev = hub->devs[d];
		uint32_t mask = hub->retry[d];

		if (!mask || hub->io_inflight >= HUB_IO_BUDGET)
			continue;
		hub->retry[d] = 0;
		mutex_lock(&dev->lock);
		for (unsigned int q = 0; q < dev->ops->nr_queues; q++) {
			if ((mask & (1u << q)) && dev->qregs[q].ready &&
			    (dev->status & VIRTIO_STATUS_DRIVER_OK) &&
			    !(dev->status & VIRTIO_STATUS_NEEDS_RESET))
				dev->ops->queue_notify(dev, q);
		}
		mutex_unlock(&dev->lock);
	}
}

static void hub_flush_irqs(struct virtio_hub *hub)
{
	for (unsigned int d = 0; d < hub->nr_devs; d++) {
		struct virtio_dev *dev = hub->devs[d];

		if (!atomic_load_explicit(&dev->irq_pending, memory_order_relaxed))
			continue; /* a stale answer is fine: it is set and read again under lock */
		mutex_lock(&dev->lock);
		atomic_store_explicit(&dev->irq_pending, false, memory_order_relaxed);
		if (dev->status & VIRTIO_STATUS_DRIVER_OK)
			dev_inject(dev, VIRTIO_INT_USED_RING);
		mutex_unlock(&dev->lock);
	}
}

void virtio_hub_run(struct virtio_hub *hub)
{
	uint64_t count;

	if (read(hub->event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		pr_debug("virtio hub eventfd: %s", strerror(errno));
	for (;;) {
		unsigned int n = hub_reap(hub);

		hub_retry(hub);
		io_uring_submit(&hub->ring);
		hub_flush_irqs(hub);
		if (!n)
			break;
	}
}

struct virtio_hub *virtio_hub_create(struct vm *vm)
{
	struct virtio_hub *hub = calloc(1, sizeof(*hub));
	int err;

	if (!hub)
		return NULL;
	hub->vm = vm;
	hub->mem = &vm->mem;
	hub->vm_fd = vm->fd;
	hub->event_fd = -1;
	/*
	 * The main thread drives this ring: with --seccomp=on it is created disabled, gets its
	 * eventfd and (empty) file table, then is restricted to the main role's opcodes; disks
	 * join the file table later by FILES_UPDATE, the one register operation left.
	 */
	err = sandbox_io_uring_init(&hub->ring, HUB_RING_ENTRIES, SANDBOX_ROLE_MAIN);
	if (err) {
		pr_err("virtio: io_uring_queue_init: %s", strerror(-err));
		free(hub);
		return NULL;
	}
	hub->ring_ready = true;
	hub->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (hub->event_fd < 0 || io_uring_register_eventfd(&hub->ring, hub->event_fd)) {
		pr_err("virtio: completion eventfd: %s", strerror(errno));
		virtio_hub_destroy(hub);
		return NULL;
	}
	hub->files_registered =
		io_uring_register_files_sparse(&hub->ring, VIRTIO_MMIO_MAX_DEVICES) == 0;
	err = sandbox_io_uring_enable(&hub->ring, SANDBOX_ROLE_MAIN);
	if (err) {
		hub->ring_ready = false; /* the sandbox has freed it */
		virtio_hub_destroy(hub);
		return NULL;
	}
	hub->use_ioeventfd = vm->fd >= 0 && vm->kvm.caps.ioeventfd;
	hub->use_irqfd = vm->fd >= 0 && vm->kvm.caps.irqfd;
	return hub;
}

/* ---- registers -------------------------------------------------------------------------- */

static void dev_reset(struct virtio_dev *dev)
{
	for (unsigned int q = 0; q < dev->ops->nr_queues; q++) {
		struct virtio_queue_regs *qr = &dev->qregs[q];

		vq_disable(&dev->vqs[q]);
		qr->ready = false;
		qr->num = 0;
		qr->desc = qr->driver = qr->device = 0;
	}
	dev->status = 0;
	dev->driver_features = 0;
	dev->device_features_sel = dev->driver_features_sel = dev->queue_sel = 0;
	atomic_store(&dev->isr, 0);
	atomic_store_explicit(&dev->irq_pending, false, memory_order_relaxed);
	dev->reset_count++;
	if (dev->ops->reset)
		dev->ops->reset(dev);
}

static void set_status(struct virtio_dev *dev, uint32_t v)
{
	uint32_t old = dev->status;

	v &= 0xff;
	if (!v) {
		dev_reset(dev);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		if ((dev->driver_features & ~dev->device_features) ||
		    !virtio_has_feature(dev, VIRTIO_F_VERSION_1)) {
			pr_info("%s: refusing driver features %#" PRIx64 " (offered %#" PRIx64 ")",
				dev->name, dev->driver_features, dev->device_features);
			v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
		}
	}
	/* NEEDS_RESET is the device's: it stays until the reset */
	dev->status = v | (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		/* buffers made available before DRIVER_OK are processed now */
		for (unsigned int q = 0; q < dev->ops->nr_queues; q++) {
			if (dev->qregs[q].ready)
				kick(&dev->qregs[q]);
		}
	}
}

static void set_queue_ready(struct virtio_dev *dev, struct virtio_queue_regs *qr, uint32_t v)
{
	struct virtq *vq = &dev->vqs[qr->index];

	if (!(v & 1)) {
		vq_disable(vq);
		qr->ready = false;
		return;
	}
	if (qr->ready)
		return;
	qr->ready = true;
	if (vq_enable(vq, qr->num, qr->desc, qr->driver, qr->device,
		      virtio_has_feature(dev, VIRTIO_F_INDIRECT_DESC))) {
		char why[160];

		snprintf(why, sizeof(why),
			 "queue %u: size %u, rings at %#" PRIx64 "/%#" PRIx64 "/%#" PRIx64
			 " not usable",
			 qr->index, qr->num, qr->desc, qr->driver, qr->device);
		virtio_dev_needs_reset(dev, why);
		return;
	}
	vq_set_event_idx(vq, virtio_has_feature(dev, VIRTIO_F_EVENT_IDX));
}

static void set_addr(uint64_t *addr, uint32_t v, bool high)
{
	if (high)
		*addr = (*addr & 0xffffffffull) | ((uint64_t)v << 32);
	else
		*addr = (*addr & ~0xffffffffull) | v;
}

static uint32_t mmio_read(struct virtio_dev *dev, uint64_t off)
{
	struct virtio_queue_regs *qr =
		dev->queue_sel < dev->ops->nr_queues ? &dev->qregs[dev->queue_sel] : NULL;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return dev->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (dev->device_features_sel > 1)
			return 0;
		return (uint32_t)(dev->device_features >> (32 * dev->device_features_sel));
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return qr ? dev->ops->queue_max : 0;
	case VIRTIO_MMIO_QUEUE_READY:
		return qr ? qr->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return atomic_load(&dev->isr);
	case VIRTIO_MMIO_STATUS:
		return dev->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
		return 0xffffffffu; /* no shared memory regions */
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return dev->config_generation;
	default:
		return 0;
	}
}

static void mmio_write(struct virtio_dev *dev, uint64_t off, uint32_t v)
{
	struct virtio_queue_regs *qr =
		dev->queue_sel < dev->ops->nr_queues ? &dev->qregs[dev->queue_sel] : NULL;
	bool features_open = !(dev->status & VIRTIO_STATUS_FEATURES_OK);

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		dev->device_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (features_open && dev->driver_features_sel < 2)
			set_addr(&dev->driver_features, v, dev->driver_features_sel);
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		dev->driver_features_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		dev->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		if (qr && !qr->ready)
			qr->num = v <= dev->ops->queue_max ? (uint16_t)v : 0;
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		if (qr)
			set_queue_ready(dev, qr, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		atomic_fetch_and(&dev->isr, ~v);
		break;
	case VIRTIO_MMIO_STATUS:
		set_status(dev, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
		if (qr && !qr->ready)
			set_addr(&qr->desc, v, off == VIRTIO_MMIO_QUEUE_DESC_HIGH);
		break;
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
		if (qr && !qr->ready)
			set_addr(&qr->driver, v, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH);
		break;
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
		if (qr && !qr->ready)
			set_addr(&qr->device, v, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH);
		break;
	default: /* read-only or unknown: ignored */
		break;
	}
}

static void virtio_mmio_io(struct vcpu *vcpu, uint64_t off, uint8_t *data, uint32_t len,
			   bool is_write, void *opaque)
{
	struct virtio_dev *dev = opaque;
	uint32_t v = 0;

	(void)vcpu;
	if (off >= VIRTIO_MMIO_CONFIG) {
		uint64_t coff = off - VIRTIO_MMIO_CONFIG;

		if (coff >= dev->ops->config_size || len > dev->ops->config_size - coff) {
			if (!is_write)
				memset(data, 0, len);
			return;
		}
		mutex_lock(&dev->lock);
		if (is_write && dev->ops->config_write)
			dev->ops->config_write(dev, (uint32_t)coff, data, len);
		else if (!is_write)
			dev->ops->config_read(dev, (uint32_t)coff, data, len);
		mutex_unlock(&dev->lock);
		return;
	}
	if (len != 4 || off % 4) {
		if (!is_write)
			memset(data, 0, len);
		return;
	}
	if (is_write) {
		memcpy(&v, data, 4);
		if (off == VIRTIO_MMIO_QUEUE_NOTIFY) {
			/* without ioeventfd (or a write KVM did not match): kick the main loop */
			if (v < dev->ops->nr_queues)
				kick(&dev->qregs[v]);
			return;
		}
		mutex_lock(&dev->lock);
		mmio_write(dev, off, v);
		mutex_unlock(&dev->lock);
		return;
	}
	mutex_lock(&dev->lock);
	v = mmio_read(dev, off);
	mutex_unlock(&dev->lock);
	memcpy(data, &v, 4);
}

/* ---- devices ---------------------------------------------------------------------------- */

struct virtio_dev *virtio_dev_create(struct virtio_hub *hub, const struct virtio_dev_ops *ops,
				     void *priv)
{
	struct virtio_dev *dev;
	unsigned int index = hub->nr_devs;

	if (index >= VIRTIO_MMIO_MAX_DEVICES) {
		pr_err("virtio: at most %d virtio devices", VIRTIO_MMIO_MAX_DEVICES);
		return NULL;
	}
	if (ops->nr_queues > VIRTIO_MAX_QUEUES || ops->queue_max > VIRTIO_QUEUE_MAX)
		return NULL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->hub = hub;
	dev->mem = hub->mem;
	dev->ops = ops;
	dev->priv = priv;
	dev->index = index;
	dev->base = VIRTIO_MMIO_BASE + index * VIRTIO_MMIO_SIZE;
	dev->irq = VIRTIO_MMIO_IRQ_BASE + index;
	dev->irq_fd = -1;
	snprintf(dev->name, sizeof(dev->name), "virtio-%s%u", ops->name, index);
	dev->device_features = ops->features | (1ull << VIRTIO_F_VERSION_1) |
			       (1ull << VIRTIO_F_INDIRECT_DESC) | (1ull << VIRTIO_F_EVENT_IDX);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		dev->qregs[q].kick_fd = -1;
	for (unsigned int q = 0; q < ops->nr_queues; q++) {
		/* blocking: the ring's read waits on it (a write never blocks in practice) */
		dev->qregs[q].kick_fd = eventfd(0, EFD_CLOEXEC);
		if (dev->qregs[q].kick_fd < 0) {
			pr_err("%s: eventfd: %s", dev->name, strerror(errno));
			goto fail;
		}
	}
	if (io_bus_register(&hub->vm->mmio, dev->base, VIRTIO_MMIO_SIZE, virtio_mmio_io, dev,
			    dev->name)) {
		pr_err("%s: cannot claim MMIO %#llx", dev->name, (unsigned long long)dev->base);
		goto fail;
	}

	/* from here on nothing fails: the device is on the bus */
	mutex_init(&dev->lock, "virtio_dev->lock", VIRTIO_LOCK_RANK);
	for (unsigned int q = 0; q < ops->nr_queues; q++) {
		struct virtio_queue_regs *qr = &dev->qregs[q];

		vq_init(&dev->vqs[q], hub->mem, dev->name);
		qr->dev = dev;
		qr->index = q;
		qr->kick_io.complete = kick_complete;
		if (hub->use_ioeventfd &&
		    kvm_vm_ioeventfd(hub->vm_fd, dev->base + VIRTIO_MMIO_QUEUE_NOTIFY, 4, q,
				     qr->kick_fd, true))
			pr_warn("%s: KVM_IOEVENTFD for queue %u: %s (notifications take MMIO exits)",
				dev->name, q, strerror(errno));
		kick_arm(hub, qr);
	}
	if (hub->use_irqfd) {
		dev->irq_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (dev->irq_fd >= 0 && kvm_vm_irqfd(hub->vm_fd, dev->irq, dev->irq_fd, true)) {
			pr_warn("%s: KVM_IRQFD on GSI %u: %s (interrupts by KVM_IRQ_LINE)",
				dev->name, dev->irq, strerror(errno));
			close(dev->irq_fd);
			dev->irq_fd = -1;
		}
	}
	io_uring_submit(&hub->ring);
	hub->devs[hub->nr_devs++] = dev;
	pr_info("%s: MMIO %#llx, IRQ %u%s%s", dev->name, (unsigned long long)dev->base, dev->irq,
		hub->use_ioeventfd ? ", ioeventfd" : "", dev->irq_fd >= 0 ? ", irqfd" : "");
	return dev;
fail:
	for (unsigned int q = 0; q < ops->nr_queues; q++) {
		if (dev->qregs[q].kick_fd >= 0)
			close(dev->qregs[q].kick_fd);
	}
	free(dev);
	return NULL;
}

static void dev_destroy(struct virtio_hub *hub, struct virtio_dev *dev)
{
	unsigned int nr_queues = dev->ops->nr_queues;

	pr_info("%s: %" PRIu64 " notifications, %" PRIu64 " interrupts", dev->name, dev->notifies,
		dev->interrupts);
	for (unsigned int q = 0; q < nr_queues; q++) {
		struct virtio_queue_regs *qr = &dev->qregs[q];

		if (qr->kick_fd >= 0) {
			if (hub->use_ioeventfd)
				kvm_vm_ioeventfd(hub->vm_fd, dev->base + VIRTIO_MMIO_QUEUE_NOTIFY,
						 4, q, qr->kick_fd, false);
			close(qr->kick_fd);
		}
		vq_destroy(&dev->vqs[q]);
	}
	if (dev->irq_fd >= 0) {
		kvm_vm_irqfd(hub->vm_fd, dev->irq, dev->irq_fd, false);
		close(dev->irq_fd);
	}
	/* last: the ops may live in the device's private data (virtio-blk's do) */
	if (dev->ops->destroy)
		dev->ops->destroy(dev);
	mutex_destroy(&dev->lock);
	free(dev);
}

void virtio_hub_destroy(struct virtio_hub *hub)
{
	if (!hub)
		return;
	/* an orderly stop: devices write back through the ring (an image fsync) */
	for (unsigned int i = 0; i < hub->nr_devs; i++) {
		if (hub->ring_ready && hub->devs[i]->ops->shutdown)
			hub->devs[i]->ops->shutdown(hub->devs[i]);
	}
	if (hub->ring_ready)
		io_uring_submit(&hub->ring);
	hub->stopping = true;
	/* I/O in flight writes into device buffers: wait for all of it before freeing them */
	while (hub->ring_ready && hub->io_inflight) {
		struct io_uring_cqe *cqe;
		int err = io_uring_submit_and_wait(&hub->ring, 1);

		if (err < 0 && err != -EINTR && err != -EAGAIN && err != -EBUSY) {
			pr_err("virtio: waiting for I/O: %s", strerror(-err));
			break;
		}
		if (io_uring_peek_cqe(&hub->ring, &cqe) == 0)
			hub_reap(hub);
	}
	/* cancels the notification reads, whose buffers live in the devices */
	if (hub->ring_ready)
		io_uring_queue_exit(&hub->ring);
	hub->ring_ready = false;
	for (unsigned int i = 0; i < hub->nr_devs; i++)
		dev_destroy(hub, hub->devs[i]);
	if (hub->event_fd >= 0)
		close(hub->event_fd);
	free(hub);
}
