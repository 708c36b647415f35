/* SPDX-License-Identifier: MIT */
/*
 * A test driver for the virtio devices (header-only; included by tests/unit/test_virtqueue.c,
 * tests/unit/test_virtio_devices.c and tests/fuzz/fuzz_virtio.c): split-ring builders that
 * write descriptors and available entries into guest memory, and a virtio-mmio driver that
 * speaks to a device through its MMIO bus as a guest would (feature negotiation, queue set-up,
 * notify). No test framework: every helper returns an error (or what went wrong) and the
 * caller asserts, so the cmocka tests and the fuzzers share it.
 */
#ifndef MINIVMM_TESTS_VIRTIO_DRV_H
#define MINIVMM_TESTS_VIRTIO_DRV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../devices/virtio/virtio.h"
#include "../../vmm/guest_mem.h"
#include "../../vmm/io_bus.h"

/* virtio-mmio registers (virtio 1.2, 4.2.2) */
#define R_MAGIC 0x000
#define R_VERSION 0x004
#define R_DEVICE_ID 0x008
#define R_VENDOR_ID 0x00c
#define R_DEV_FEATURES 0x010
#define R_DEV_FEATURES_SEL 0x014
#define R_DRV_FEATURES 0x020
#define R_DRV_FEATURES_SEL 0x024
#define R_QUEUE_SEL 0x030
#define R_QUEUE_NUM_MAX 0x034
#define R_QUEUE_NUM 0x038
#define R_QUEUE_READY 0x044
#define R_QUEUE_NOTIFY 0x050
#define R_ISR 0x060
#define R_ISR_ACK 0x064
#define R_STATUS 0x070
#define R_QUEUE_DESC 0x080
#define R_QUEUE_DRIVER 0x090
#define R_QUEUE_DEVICE 0x0a0
#define R_CONFIG_GENERATION 0x0fc
#define R_CONFIG 0x100

/* ---- split rings in guest memory ----------------------------------------------------------- */

/* Descriptor i of the table at `table`. 0 or the guest_mem error. */
static inline int vring_desc_put(struct guest_mem *mem, uint64_t table, uint16_t i, uint64_t addr,
				 uint32_t len, uint16_t flags, uint16_t next)
{
	struct virtq_desc d = { addr, len, flags, next };

	return guest_mem_write(mem, table + 16ull * i, &d, sizeof(d));
}

/* Make `head` available in the ring at `avail` of `size` entries; *idx is the driver's index. */
static inline int vring_avail_put(struct guest_mem *mem, uint64_t avail, uint16_t size,
				  uint16_t *idx, uint16_t head)
{
	int err = guest_mem_write(mem, avail + 4 + 2ull * (*idx % size), &head, 2);

	if (err)
		return err;
	(*idx)++;
	return guest_mem_write(mem, avail + 2, idx, 2);
}

/* ---- a virtio-mmio driver ------------------------------------------------------------------ */

struct vdrv_queue {
	uint16_t size;	    /* 0: not set up */
	uint16_t avail_idx; /* the driver's available index */
	uint16_t used_seen; /* used entries the driver has consumed */
	uint64_t desc, avail, used;
};

struct vdrv {
	struct io_bus *mmio;
	struct guest_mem *mem;
	uint64_t base;
	struct vdrv_queue q[VIRTIO_MAX_QUEUES];
};

/* A 4-byte register access; false when nothing answers at that address. */
static inline bool vdrv_w(struct vdrv *d, uint64_t off, uint32_t v)
{
	return io_bus_dispatch(d->mmio, NULL, d->base + off, (uint8_t *)&v, 4, true);
}

static inline bool vdrv_r(struct vdrv *d, uint64_t off, uint32_t *v)
{
	*v = 0;
	return io_bus_dispatch(d->mmio, NULL, d->base + off, (uint8_t *)v, 4, false);
}

static inline uint32_t vdrv_reg(struct vdrv *d, uint64_t off)
{
	uint32_t v;

	return vdrv_r(d, off, &v) ? v : 0xffffffffu;
}

/*
 * Bind the driver to the device at `base` and initialise it as a guest does: reset,
 * ACKNOWLEDGE|DRIVER, negotiate `want` | VERSION_1 (which the device must offer), FEATURES_OK,
 * queues 0..nq-1 of `size` entries with zeroed rings (queue q: descriptors at ring_base + q *
 * stride, available ring 4 KiB above, used ring 8 KiB above), DRIVER_OK. NULL on success, or
 * what went wrong.
 */
static inline const char *vdrv_init(struct vdrv *d, uint64_t base, uint64_t want, unsigned int nq,
				    uint16_t size, uint64_t ring_base, uint64_t stride)
{
	static const uint64_t zero[8];
	uint32_t v;
	uint64_t offered;

	d->base = base;
	memset(d->q, 0, sizeof(d->q));
	if (nq > VIRTIO_MAX_QUEUES)
		return "too many queues";
	if (vdrv_reg(d, R_MAGIC) != 0x74726976 || vdrv_reg(d, R_VERSION) != 2)
		return "no virtio-mmio v2 device there";
	vdrv_w(d, R_STATUS, 0);
	vdrv_w(d, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	vdrv_w(d, R_DEV_FEATURES_SEL, 0);
	offered = vdrv_reg(d, R_DEV_FEATURES);
	vdrv_w(d, R_DEV_FEATURES_SEL, 1);
	offered |= (uint64_t)vdrv_reg(d, R_DEV_FEATURES) << 32;
	want |= 1ull << VIRTIO_F_VERSION_1;
	if ((offered & want) != want)
		return "the device does not offer the features wanted";
	vdrv_w(d, R_DRV_FEATURES_SEL, 0);
	vdrv_w(d, R_DRV_FEATURES, (uint32_t)want);
	vdrv_w(d, R_DRV_FEATURES_SEL, 1);
	vdrv_w(d, R_DRV_FEATURES, (uint32_t)(want >> 32));
	vdrv_w(d, R_STATUS,
	       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	if (!(vdrv_reg(d, R_STATUS) & VIRTIO_STATUS_FEATURES_OK))
		return "FEATURES_OK refused";
	for (unsigned int q = 0; q < nq; q++) {
		struct vdrv_queue *qu = &d->q[q];

		qu->desc = ring_base + q * stride;
		qu->avail = qu->desc + 0x1000;
		qu->used = qu->desc + 0x2000;
		vdrv_w(d, R_QUEUE_SEL, q);
		if (!vdrv_r(d, R_QUEUE_NUM_MAX, &v) || v < size)
			return "queue smaller than wanted";
		vdrv_w(d, R_QUEUE_NUM, size);
		vdrv_w(d, R_QUEUE_DESC, (uint32_t)qu->desc);
		vdrv_w(d, R_QUEUE_DESC + 4, (uint32_t)(qu->desc >> 32));
		vdrv_w(d, R_QUEUE_DRIVER, (uint32_t)qu->avail);
		vdrv_w(d, R_QUEUE_DRIVER + 4, (uint32_t)(qu->avail >> 32));
		vdrv_w(d, R_QUEUE_DEVICE, (uint32_t)qu->used);
		vdrv_w(d, R_QUEUE_DEVICE + 4, (uint32_t)(qu->used >> 32));
		/* fresh rings: zeros */
		for (uint64_t p = qu->desc; p < qu->used + 0x1000; p += sizeof(zero)) {
			if (guest_mem_write(d->mem, p, zero, sizeof(zero)))
				return "rings not in guest RAM";
		}
		vdrv_w(d, R_QUEUE_READY, 1);
		if (vdrv_reg(d, R_QUEUE_READY) != 1)
			return "queue not ready";
		qu->size = size;
	}
	vdrv_w(d, R_STATUS,
	       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		       VIRTIO_STATUS_DRIVER_OK);
	if (vdrv_reg(d, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET)
		return "the device needs a reset";
	return NULL;
}

/* Descriptor i of queue q. */
static inline int vdrv_desc(struct vdrv *d, unsigned int q, uint16_t i, uint64_t addr, uint32_t len,
			    uint16_t flags, uint16_t next)
{
	return vring_desc_put(d->mem, d->q[q].desc, i, addr, len, flags, next);
}

/* Make `head` available on queue q (no notification). */
static inline int vdrv_avail(struct vdrv *d, unsigned int q, uint16_t head)
{
	struct vdrv_queue *qu = &d->q[q];

	return vring_avail_put(d->mem, qu->avail, qu->size, &qu->avail_idx, head);
}

/* The device's used index of queue q. */
static inline int vdrv_used_idx(struct vdrv *d, unsigned int q, uint16_t *idx)
{
	return guest_mem_read(d->mem, d->q[q].used + 2, idx, 2);
}

/* Used entry n of queue q. */
static inline int vdrv_used_elem(struct vdrv *d, unsigned int q, uint16_t n, uint32_t *id,
				 uint32_t *len)
{
	struct vdrv_queue *qu = &d->q[q];
	int err = guest_mem_read(d->mem, qu->used + 4 + 8ull * (n % qu->size), id, 4);

	return err ? err : guest_mem_read(d->mem, qu->used + 8 + 8ull * (n % qu->size), len, 4);
}

#endif
