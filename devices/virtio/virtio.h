/* SPDX-License-Identifier: MIT */
/*
 * virtio over MMIO (virtio 1.2, "modern" transport version 2) and the split virtqueue.
 *
 * Pieces:
 *   virtqueue.c  split-ring parsing: every descriptor is hostile. The rings are read and written
 *                through guest-physical caches (vmm/gpc.h), one per ring page; descriptor
 *                buffers are checked against guest RAM and page attributes when the chain is
 *                parsed and accessed through guest_mem_read/write only.
 *   mmio.c       the transport: registers, feature negotiation, reset, notifications by
 *                ioeventfd (or a write to the queue's eventfd on an MMIO exit where KVM lacks
 *                ioeventfd), interrupts by irqfd (or KVM_IRQ_LINE), and the "hub": one io_uring
 *                per VM that waits on every queue's kick eventfd and carries block I/O. Its
 *                completions reach the main thread's event loop through one eventfd.
 *   blk.c        virtio-blk on a raw image with liburing.
 *   rng.c        virtio-rng from getrandom().
 *   console.c    virtio-console, port 0: the guest's output to a file, stdout or nowhere.
 *   balloon.c    virtio-balloon: inflate/deflate and free page reporting, discarding through
 *                guest_mem_discard() so caches over the pages are invalidated first.
 *
 * Threads: a vCPU thread only touches transport registers (and kicks a queue's eventfd on an
 * MMIO exit); every virtqueue is processed on the main thread, inside virtio_hub_run().
 * Locking: one mutex per device, rank VIRTIO_LOCK_RANK (outside the cache and memory locks,
 * inside the vCPU lock), held for register accesses and for queue processing, so a reset
 * never races a request in progress. A device never holds a cache's read section while it
 * discards memory.
 */
#ifndef MINIVMM_DEVICES_VIRTIO_H
#define MINIVMM_DEVICES_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../vmm/gpc.h"
#include "../../vmm/guest_mem.h"
#include "../../vmm/kvm.h"
#include "../../vmm/lock.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio 1.x is little-endian");

/* A device's lock: after the Xen lock, before the cache refresh mutex (lock.h). */
#define VIRTIO_LOCK_RANK LOCK_RANK_VIRTIO

/* Guest IRQ (IOAPIC pin) of virtio-mmio device n: VIRTIO_MMIO_IRQ_BASE + n. */
#ifndef VIRTIO_MMIO_IRQ_BASE
#define VIRTIO_MMIO_IRQ_BASE 5
#endif
#define VIRTIO_MMIO_MAX_DEVICES 8 /* IRQs 5..12 */

/* ---- virtio constants (virtio 1.2) ----------------------------------------------------- */
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4
#define VIRTIO_ID_BALLOON 5

#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

#define VIRTIO_INT_USED_RING 1
#define VIRTIO_INT_CONFIG 2

/* The largest queue any device here offers; also the longest chain accepted. */
#define VIRTIO_QUEUE_MAX 256
#define VIRTIO_MAX_QUEUES 4

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct virtq_desc) == 16, "virtq_desc");

/* ---- split virtqueue (virtqueue.c) ------------------------------------------------------ */

/* One guest buffer of a chain: already checked to lie in RAM and in shared pages. */
struct vq_buf {
	uint64_t gpa;
	uint32_t len;
};

/* A parsed descriptor chain: `nr_out` device-readable buffers, then `nr_in` device-writable. */
struct vq_chain {
	uint16_t head;
	uint16_t nr_out, nr_in;
	uint64_t out_len, in_len;
	const char *error; /* why the chain was refused (vq_pop() < 0) */
	/* refused chains: the final descriptor if device-writable and in shared RAM, else len 0 */
	uint64_t tail_gpa;
	uint32_t tail_len;
	struct vq_buf buf[VIRTIO_QUEUE_MAX];
};

/* A ring area (descriptor table, driver area, device area) and a cache per page it spans. */
struct vq_area {
	uint64_t gpa;
	uint32_t len;
	uint64_t first_page;
	unsigned int nr_pages;
	struct gpc pages[2];
};

struct virtq {
	struct guest_mem *mem;
	uint16_t size;	/* 0: not enabled */
	bool indirect;	/* VIRTIO_F_INDIRECT_DESC negotiated */
	bool broken;	/* the driver broke the ring protocol: nothing more until reset */
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated (vq_set_event_idx) */
	bool signalled_valid;
	uint16_t signalled_used; /* used_idx at the last interrupt decision (event_idx) */
	uint16_t last_avail;
	uint16_t used_idx;
	struct vq_area desc, avail, used;
	/* statistics */
	uint64_t chains;
	uint64_t bad_chains;
	const char *broken_why;
};

void vq_init(struct virtq *vq, struct guest_mem *mem, const char *name);
void vq_destroy(struct virtq *vq);
/*
 * Start using the rings the driver set up: size a power of two up to VIRTIO_QUEUE_MAX,
 * alignment as the spec requires, every ring page in shared RAM. -EINVAL otherwise (the
 * queue stays disabled).
 */
int vq_enable(struct virtq *vq, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
	      bool indirect);
void vq_disable(struct virtq *vq);
/*
 * After vq_enable(), with VIRTIO_F_EVENT_IDX negotiated: interrupts follow the driver's
 * used_event (its NO_INTERRUPT flag is ignored), and vq_pop() finding the ring empty publishes
 * avail_event so the driver notifies for the next buffer.
 */
void vq_set_event_idx(struct virtq *vq, bool on);

/*
 * Take the next available chain. Returns 1 with *c filled, 0 when the ring is empty, -EINVAL
 * when the chain is malformed (c->head is valid and must be returned with vq_push(); c->error
 * says why; c->tail_* name the final descriptor if the device can still write a status
 * there), -EIO when the ring itself is broken (bad index or head: the queue stops until the
 * driver resets the device).
 */
int vq_pop(struct virtq *vq, struct vq_chain *c);
/* Return a chain to the driver with `written` bytes written. -EIO if the used ring is gone. */
int vq_push(struct virtq *vq, uint16_t head, uint32_t written);
/*
 * After vq_push()es: should the driver be interrupted (VIRTQ_AVAIL_F_NO_INTERRUPT clear; with
 * EVENT_IDX, the used index passed used_event since the last call)?
 */
bool vq_should_interrupt(struct virtq *vq);
/* Entries the driver has made available and the device has not taken (0 if broken). */
unsigned int vq_pending(struct virtq *vq);

/*
 * Copy out of the chain's device-readable bytes, at logical offset `off` (framing-agnostic),
 * or into its device-writable bytes. 0, -ERANGE if the chain is too short, or the
 * guest_mem error (-EFAULT, -EPERM) if a page changed meanwhile.
 */
int vq_chain_read(struct guest_mem *mem, const struct vq_chain *c, uint64_t off, void *buf,
		  size_t len);
int vq_chain_write(struct guest_mem *mem, const struct vq_chain *c, uint64_t off, const void *buf,
		   size_t len);

/* ---- transport (mmio.c) ------------------------------------------------------------------ */
struct vm;
struct virtio_dev;
struct virtio_hub;

/*
 * An io_uring request in flight on the hub's ring: user_data points at one of these, and
 * `complete` runs on the main thread with the CQE's result.
 */
struct virtio_io {
	void (*complete)(struct virtio_io *io, int res);
};

struct virtio_dev_ops {
	const char *name;
	uint32_t device_id;
	uint64_t features; /* device-specific feature bits; the transport adds its own */
	unsigned int nr_queues;
	uint16_t queue_max;
	uint32_t config_size;
	/* config space: off + len <= config_size, checked by the transport */
	void (*config_read)(struct virtio_dev *dev, uint32_t off, uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_dev *dev, uint32_t off, const uint8_t *data,
			     uint32_t len);
	/* queue q has new buffers (main thread, dev->lock held) */
	void (*queue_notify)(struct virtio_dev *dev, unsigned int q);
	/* the driver reset the device (dev->lock held): forget requests in flight */
	void (*reset)(struct virtio_dev *dev);
	/* orderly stop, before the hub waits for its I/O: last submissions (image fsync) */
	void (*shutdown)(struct virtio_dev *dev);
	/* at VM teardown, after the hub has no I/O in flight */
	void (*destroy)(struct virtio_dev *dev);
};

struct virtio_queue_regs {
	uint16_t num;
	bool ready;
	uint64_t desc, driver, device;
	int kick_fd;
	uint64_t kick_count; /* the ring reads kick_fd into it */
	struct virtio_io kick_io;
	struct virtio_dev *dev;
	unsigned int index;
};

struct virtio_dev {
	struct virtio_hub *hub;
	struct guest_mem *mem;
	const struct virtio_dev_ops *ops;
	void *priv;
	unsigned int index; /* n: base VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_SIZE, IRQ base + n */
	uint64_t base;
	uint32_t irq;
	char name[32];

	struct mutex lock; /* everything below, and queue processing */
	uint32_t status;
	uint32_t device_features_sel, driver_features_sel, queue_sel;
	uint64_t device_features, driver_features;
	_Atomic uint32_t isr;
	uint32_t config_generation;
	uint64_t reset_count; /* requests started before a reset are dropped at completion */
	/* set under lock; the hub peeks at it without the lock to skip idle devices */
	_Atomic bool irq_pending;
	struct virtio_queue_regs qregs[VIRTIO_MAX_QUEUES];
	struct virtq vqs[VIRTIO_MAX_QUEUES];

	int irq_fd; /* irqfd, -1: KVM_IRQ_LINE */
	uint64_t interrupts;
	uint64_t notifies;
};

/* Has the driver accepted feature `bit`? */
static inline bool virtio_has_feature(const struct virtio_dev *dev, unsigned int bit)
{
	return (dev->driver_features >> bit) & 1;
}

struct virtio_hub *virtio_hub_create(struct vm *vm);
void virtio_hub_destroy(struct virtio_hub *hub);
/* The main loop polls this fd for POLLIN and then calls virtio_hub_run(). */
int virtio_hub_fd(const struct virtio_hub *hub);
void virtio_hub_run(struct virtio_hub *hub);
unsigned int virtio_hub_nr_devices(const struct virtio_hub *hub);

/*
 * Add a device to the hub: the next MMIO slot and IRQ (slot n: VIRTIO_MMIO_BASE + n *
 * VIRTIO_MMIO_SIZE, IRQ VIRTIO_MMIO_IRQ_BASE + n; the DSDT describes the same slots). NULL on
 * failure, after a message.
 */
struct virtio_dev *virtio_dev_create(struct virtio_hub *hub, const struct virtio_dev_ops *ops,
				     void *priv);
/* Chains were returned on queue q: interrupt the driver (batched until the end of the run). */
void virtio_dev_used(struct virtio_dev *dev, unsigned int q);
/* The device's config space changed (balloon target): bump the generation, interrupt. */
void virtio_dev_config_changed(struct virtio_dev *dev);
/* The driver broke the protocol: set DEVICE_NEEDS_RESET and tell it. */
void virtio_dev_needs_reset(struct virtio_dev *dev, const char *why);

/*
 * The hub's io_uring, for devices that do I/O (main thread only). virtio_hub_get_sqe()
 * returns NULL when the hub's in-flight budget is spent: try again after completions (the
 * device is called back through queue_notify for every queue it marked with
 * virtio_hub_retry()).
 */
struct io_uring_sqe *virtio_hub_get_sqe(struct virtio_hub *hub, struct virtio_io *io);
unsigned int virtio_hub_sqes_free(const struct virtio_hub *hub);
void virtio_hub_retry(struct virtio_hub *hub, struct virtio_dev *dev, unsigned int q);
/* Register an fd with the ring's fixed-file table: index, or -1 (use the plain fd). */
int virtio_hub_register_file(struct virtio_hub *hub, int fd);

/* ---- devices ---------------------------------------------------------------------------- */
/* virtio-blk on a raw image. id: up to 20 bytes for GET_ID (NULL: the file's name). */
struct virtio_dev *virtio_blk_create(struct virtio_hub *hub, const char *path, bool readonly,
				     const char *id);
struct virtio_dev *virtio_rng_create(struct virtio_hub *hub);
/* target: bytes the balloon asks the guest to give up at start (0: none) */
struct virtio_dev *virtio_balloon_create(struct virtio_hub *hub, uint64_t target);
/* Ask the guest to inflate the balloon to `bytes` (4 KiB pages); config interrupt. */
void virtio_balloon_set_target(struct virtio_dev *dev, uint64_t bytes);
/*
 * virtio-console whose output goes to fd (-1: discarded), written through the hub's ring;
 * close_fd: the device closes it at the end (also on failure). `sink` names it in messages.
 */
struct virtio_dev *virtio_console_create(struct virtio_hub *hub, int fd, bool close_fd,
					 const char *sink);
/* Open a console output file for appending (created 0666 & ~umask); -1 after a message. */
int virtio_console_open(const char *path, bool truncate);

#endif
