// SPDX-License-Identifier: MIT
/*
 * virtio-balloon (virtio 1.2, 5.5): inflate and deflate queues (4 KiB page frame numbers)
 * and free page reporting (VIRTIO_BALLOON_F_REPORTING: the driver hands over runs of free
 * pages as device-writable buffers; the device discards them and returns the buffers
 * untouched).
 *
 * Every discard goes through guest_mem_discard(), i.e. the invalidation protocol: caches
 * over the pages (a virtqueue's own ring pages included, if a hostile driver reports them)
 * are invalidated before the hole is punched, so nothing reads a page after it is gone.
 * Pages come back as zeros the next time the guest touches them. Page numbers outside RAM
 * are counted and skipped; the device keeps working.
 *
 * Queues: 0 inflateq, 1 deflateq, 2 reporting_vq (the driver numbers queues densely and
 * neither STATS_VQ nor FREE_PAGE_HINT is offered, so reporting is queue 2).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../arch/x86/layout.h"
#include "../../vmm/log.h"
#include "virtio.h"

#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_REPORTING 5

#define BALLOON_QUEUE_SIZE 128
#define BALLOON_MAX_PFNS 4096 /* per request (Linux sends 256): bounds the work per chain */
#define Q_INFLATE 0
#define Q_DEFLATE 1
#define Q_REPORTING 2
#define PFN_SHIFT 12
#define PAGE GUEST_PAGE_SIZE

struct balloon_config {
	uint32_t num_pages;
	uint32_t actual;
};

struct balloon {
	struct virtio_dev *dev;
	struct balloon_config config;
	struct vq_chain chain;
	/* statistics */
	uint64_t inflated_pages, deflated_pages, bad_pfns;
	uint64_t reported_bytes, reports, discard_errors;
	uint64_t discard_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Discard [gpa, gpa+len); on failure of a run, page by page (a run may cross a region end). */
static void discard(struct balloon *b, uint64_t gpa, uint64_t len)
{
	struct virtio_dev *dev = b->dev;

	if (!len)
		return;
	if (guest_mem_discard(dev->mem, gpa, len) == 0)
		return;
	for (uint64_t off = 0; off < len; off += PAGE) {
		if (guest_mem_discard(dev->mem, gpa + off, PAGE)) {
			b->discard_errors++;
			b->bad_pfns++;
		}
	}
}

/* Inflate: discard every listed page, coalescing contiguous runs. */
static void handle_pfns(struct balloon *b, const struct vq_chain *c, bool inflate)
{
	struct virtio_dev *dev = b->dev;
	uint64_t n = c->out_len / 4, run_start = 0, run_len = 0;
	uint32_t pfns[256];

	if (n > BALLOON_MAX_PFNS) {
		b->bad_pfns += n - BALLOON_MAX_PFNS;
		n = BALLOON_MAX_PFNS;
	}

	for (uint64_t i = 0; i < n; i += 256) {
		uint64_t batch = n - i < 256 ? n - i : 256;

		if (vq_chain_read(dev->mem, c, i * 4, pfns, batch * 4))
			break;
		for (uint64_t j = 0; j < batch; j++) {
			uint64_t gpa = (uint64_t)pfns[j] << PFN_SHIFT;

			if (!inflate) {
				b->deflated_pages++;
				continue;
			}
			b->inflated_pages++;
			if (run_len && gpa == run_start + run_len) {
				run_len += PAGE;
				continue;
			}
			discard(b, run_start, run_len);
			run_start = gpa;
			run_len = PAGE;
		}
	}
	if (inflate)
		discard(b, run_start, run_len);
}

/* Reporting: each device-writable buffer is a run of free pages. */
static void handle_report(struct balloon *b, const struct vq_chain *c)
{
	for (unsigned int i = c->nr_out; i < c->nr_out + c->nr_in; i++) {
		uint64_t start = (c->buf[i].gpa + PAGE - 1) & ~(PAGE - 1);
		uint64_t end = (c->buf[i].gpa + c->buf[i].len) & ~(PAGE - 1);

		if (end <= start)
			continue;
		discard(b, start, end - start);
		b->reported_bytes += end - start;
	}
	b->reports++;
}

static void balloon_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct balloon *b = dev->priv;
	struct virtq *vq = &dev->vqs[q];

	if (q > Q_REPORTING)
		return;
	for (;;) {
		int ret = vq_pop(vq, &b->chain);
		uint64_t t0 = now_ns();

		if (ret == 0)
			break;
		if (ret == -EIO) {
			virtio_dev_needs_reset(dev, vq->broken_why);
			break;
		}
		if (ret < 0) {
			pr_debug("%s: malformed request on queue %u: %s", dev->name, q,
				 b->chain.error);
		} else if (q == Q_REPORTING) {
			handle_report(b, &b->chain);
		} else {
			handle_pfns(b, &b->chain, q == Q_INFLATE);
		}
		b->discard_ns += now_ns() - t0;
		if (vq_push(vq, b->chain.head, 0)) {
			virtio_dev_needs_reset(dev, vq->broken_why);
			break;
		}
		virtio_dev_used(dev, q);
	}
}

static void balloon_config_read(struct virtio_dev *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct balloon *b = dev->priv;

	memcpy(data, (uint8_t *)&b->config + off, len);
}

static void balloon_config_write(struct virtio_dev *dev, uint32_t off, const uint8_t *data,
				 uint32_t len)
{
	struct balloon *b = dev->priv;

	/* only `actual` is the driver's to write */
	if (off == offsetof(struct balloon_config, actual) && len == 4)
		memcpy(&b->config.actual, data, 4);
}

static void balloon_destroy(struct virtio_dev *dev)
{
	struct balloon *b = dev->priv;

	pr_info("%s: inflated %" PRIu64 " pages, deflated %" PRIu64 ", %" PRIu64
		" reports freed %" PRIu64 " KiB in %" PRIu64 " ms, %" PRIu64 " bad pages",
		dev->name, b->inflated_pages, b->deflated_pages, b->reports,
		b->reported_bytes >> 10, b->discard_ns / 1000000, b->bad_pfns);
	free(b);
}

static const struct virtio_dev_ops balloon_ops = {
	.name = "balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.features =
		(1ull << VIRTIO_BALLOON_F_DEFLATE_ON_OOM) | (1ull << VIRTIO_BALLOON_F_REPORTING),
	.nr_queues = 3,
	.queue_max = BALLOON_QUEUE_SIZE,
	.config_size = sizeof(struct balloon_config),
	.config_read = balloon_config_read,
	.config_write = balloon_config_write,
	.queue_notify = balloon_queue_notify,
	.destroy = balloon_destroy,
};

void virtio_balloon_set_target(struct virtio_dev *dev, uint64_t bytes)
{
	struct balloon *b = dev->priv;

	mutex_lock(&dev->lock);
	b->config.num_pages = (uint32_t)(bytes >> PFN_SHIFT);
	virtio_dev_config_changed(dev);
	mutex_unlock(&dev->lock);
}

struct virtio_dev *virtio_balloon_create(struct virtio_hub *hub, uint64_t target)
{
	struct balloon *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->config.num_pages = (uint32_t)(target >> PFN_SHIFT);
	b->dev = virtio_dev_create(hub, &balloon_ops, b);
	if (!b->dev) {
		free(b);
		return NULL;
	}
	return b->dev;
}
