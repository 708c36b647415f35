// SPDX-License-Identifier: MIT
/*
 * virtio-blk (virtio 1.2, 5.2) on a raw image, I/O through the hub's io_uring (fixed file,
 * bounded in-flight budget, completions on the main thread).
 *
 * Requests: IN (read), OUT (write), FLUSH (fsync of the image before the guest sees the
 * completion, so data the guest flushed survives a SIGKILL of minivmm and a host crash),
 * GET_ID, DISCARD and WRITE_ZEROES (fallocate: PUNCH_HOLE; WRITE_ZEROES without the unmap
 * flag uses ZERO_RANGE, falling back to PUNCH_HOLE where the file system lacks it). A
 * read-only disk (VIRTIO_BLK_F_RO) answers every modifying request with IOERR, whatever the
 * driver negotiated.
 *
 * Data moves through a bounce buffer of at most BLK_CHUNK bytes per request, copied from or
 * to guest memory with guest_mem_read/write on the main thread: no guest pointer is held
 * while the kernel does the I/O, so a discard or a private conversion of a buffer's pages
 * mid-request costs the request (IOERR), never the VMM. Bigger requests go in chunks.
 *
 * Every request field is hostile: header and status framing may be split anywhere, sector
 * ranges are checked against the capacity with overflow-safe arithmetic, lengths must be
 * multiples of 512, discard segments are counted and bounded. A head that is still in flight
 * made available again breaks the queue (DEVICE_NEEDS_RESET). After a reset, requests still
 * in flight complete into the bounce buffer and are dropped without touching guest memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <liburing.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../vmm/log.h"
#include "virtio.h"

#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP 1

#define SECTOR 512ull
#define BLK_QUEUE_SIZE 256
#define BLK_CHUNK (1u << 20)		   /* bounce buffer per request */
#define BLK_BOUNCE_BUDGET (32u << 20)	   /* all bounce buffers of one disk */
#define BLK_MAX_SEGS 16			   /* discard / write-zeroes segments per request */
#define BLK_MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB per segment */

struct virtio_blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	uint16_t cylinders;
	uint8_t heads;
	uint8_t sectors;
	uint32_t blk_size;
	uint8_t physical_block_exp;
	uint8_t alignment_offset;
	uint16_t min_io_size;
	uint32_t opt_io_size;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
} __attribute__((packed));
_Static_assert(sizeof(struct virtio_blk_config) == 60, "virtio_blk_config");

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

struct blk_seg {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

struct blk;
struct blk_req;

struct blk_seg_io {
	struct virtio_io io;
	struct blk_req *req;
	uint64_t off, len;
	int mode;
};

struct blk_req {
	struct virtio_io io;
	struct blk *blk;
	uint64_t reset_count; /* the device's, when the request started */
	uint32_t type;
	uint8_t status;
	uint64_t offset; /* in the image */
	uint64_t len;	 /* data bytes */
	uint64_t done;
	uint32_t chunk;
	uint32_t extra; /* bytes written besides data and status (GET_ID) */
	uint8_t *bounce;
	uint32_t bounce_size;
	unsigned int pending; /* fallocates in flight */
	struct blk_seg_io segs[BLK_MAX_SEGS];
	struct vq_chain chain; /* only buf[0 .. nr_out + nr_in) is allocated */
};

struct blk {
	struct virtio_dev *dev;
	struct virtio_hub *hub;
	char path[4096];
	int fd;
	int file_index; /* fixed file in the hub's ring, -1: plain fd */
	bool readonly;
	bool can_punch;
	char id[VIRTIO_BLK_ID_BYTES];
	struct virtio_blk_config config;
	uint64_t capacity; /* sectors */
	uint64_t heads_busy[BLK_QUEUE_SIZE / 64];
	uint64_t bounce_bytes;
	unsigned int inflight;
	struct virtio_dev_ops ops;
	struct virtio_io shutdown_io;
	struct vq_chain scratch;
	/* statistics */
	uint64_t reads, writes, flushes, discards, errors, bytes_read, bytes_written;
};

static bool head_busy(struct blk *blk, uint16_t head)
{
	return blk->heads_busy[head / 64] & (1ull << (head % 64));
}

static void head_set(struct blk *blk, uint16_t head, bool busy)
{
	if (busy)
		blk->heads_busy[head / 64] |= 1ull << (head % 64);
	else
		blk->heads_busy[head / 64] &= ~(1ull << (head % 64));
}

static void req_free(struct blk_req *req)
{
	struct blk *blk = req->blk;

	if (req->bounce) {
		blk->bounce_bytes -= req->bounce_size;
		free(req->bounce);
	}
	blk->inflight--;
	free(req);
}

/* Report the status and hand the chain back (dev->lock held). */
static void req_finish(struct blk_req *req, uint8_t status)
{
	struct blk *blk = req->blk;
	struct virtio_dev *dev = blk->dev;
	uint32_t written = 0;

	if (req->reset_count != dev->reset_count) { /* the driver reset the device meanwhile */
		req_free(req);
		return;
	}
	if (status != VIRTIO_BLK_S_OK)
		blk->errors++;
	if (req->chain.in_len &&
	    !vq_chain_write(dev->mem, &req->chain, req->chain.in_len - 1, &status, 1)) {
		written = 1 + req->extra;
		if (req->type == VIRTIO_BLK_T_IN && status == VIRTIO_BLK_S_OK)
			written += (uint32_t)req->len;
	}
	head_set(blk, req->chain.head, false);
	if (vq_push(&dev->vqs[0], req->chain.head, written))
		virtio_dev_needs_reset(dev, dev->vqs[0].broken_why);
	else
		virtio_dev_used(dev, 0);
	req_free(req);
}

/* A refused chain: IOERR in the last byte of its final descriptor, if there is one. */
static void blk_refuse(struct blk_req *req)
{
	struct blk *blk = req->blk;
	struct virtio_dev *dev = blk->dev;
	const struct vq_chain *c = &req->chain;
	uint8_t status = VIRTIO_BLK_S_IOERR;
	uint32_t written = 0;

	blk->errors++;
	if (c->tail_len && !guest_mem_write(dev->mem, c->tail_gpa + c->tail_len - 1, &status, 1))
		written = 1;
	head_set(blk, c->head, false);
	if (vq_push(&dev->vqs[0], c->head, written))
		virtio_dev_needs_reset(dev, dev->vqs[0].broken_why);
	else
		virtio_dev_used(dev, 0);
	req_free(req);
}

static void prep_fd(struct blk *blk, struct io_uring_sqe *sqe)
{
	if (blk->file_index >= 0) {
		sqe->fd = blk->file_index;
		sqe->flags |= IOSQE_FIXED_FILE;
	}
}

static void rw_complete(struct virtio_io *io, int res);

/* Start the next chunk of a read or write (dev->lock held). */
static void rw_next(struct blk_req *req)
{
	struct blk *blk = req->blk;
	struct io_uring_sqe *sqe;
	uint64_t left = req->len - req->done;
	uint32_t chunk = left < req->bounce_size ? (uint32_t)left : req->bounce_size;

	if (req->type == VIRTIO_BLK_T_OUT &&
	    vq_chain_read(blk->dev->mem, &req->chain, sizeof(struct blk_hdr) + req->done,
			  req->bounce, chunk)) {
		req_finish(req, VIRTIO_BLK_S_IOERR);
		return;
	}
	sqe = virtio_hub_get_sqe(blk->hub, &req->io);
	if (!sqe) {
		req_finish(req, VIRTIO_BLK_S_IOERR);
		return;
	}
	if (req->type == VIRTIO_BLK_T_IN)
		io_uring_prep_read(sqe, blk->fd, req->bounce, chunk, req->offset + req->done);
	else
		io_uring_prep_write(sqe, blk->fd, req->bounce, chunk, req->offset + req->done);
	prep_fd(blk, sqe);
	req->chunk = chunk;
}

static void rw_complete(struct virtio_io *io, int res)
{
	struct blk_req *req = (struct blk_req *)((char *)io - offsetof(struct blk_req, io));
	struct blk *blk = req->blk;
	struct virtio_dev *dev = blk->dev;

	mutex_lock(&dev->lock);
	if (req->reset_count != dev->reset_count) {
		req_free(req);
		goto out;
	}
	if (res == -EINTR || res == -EAGAIN) {
		res = 0; /* same chunk again */
	} else if (res < 0 || (res == 0 && req->chunk)) {
		if (res < 0)
			pr_debug("%s: %s at %" PRIu64 ": %s", dev->name,
				 req->type == VIRTIO_BLK_T_IN ? "read" : "write",
				 req->offset + req->done, strerror(-res));
		req_finish(req, VIRTIO_BLK_S_IOERR); /* error, or the image shrank */
		goto out;
	}
	if (res > (int)req->chunk)
		res = (int)req->chunk;
	if (req->type == VIRTIO_BLK_T_IN && res &&
	    vq_chain_write(dev->mem, &req->chain, req->done, req->bounce, (size_t)res)) {
		req_finish(req, VIRTIO_BLK_S_IOERR);
		goto out;
	}
	req->done += (uint64_t)res;
	if (req->type == VIRTIO_BLK_T_IN)
		blk->bytes_read += (uint64_t)res;
	else
		blk->bytes_written += (uint64_t)res;
	if (req->done < req->len)
		rw_next(req);
	else
		req_finish(req, VIRTIO_BLK_S_OK);
out:
	mutex_unlock(&dev->lock);
}

static void flush_complete(struct virtio_io *io, int res)
{
	struct blk_req *req = (struct blk_req *)((char *)io - offsetof(struct blk_req, io));
	struct virtio_dev *dev = req->blk->dev;

	mutex_lock(&dev->lock);
	if (res < 0)
		pr_warn("%s: fsync of the image: %s", dev->name, strerror(-res));
	req_finish(req, res < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK);
	mutex_unlock(&dev->lock);
}

static bool seg_submit(struct blk_seg_io *s);

static void seg_complete(struct virtio_io *io, int res)
{
	struct blk_seg_io *s = (struct blk_seg_io *)((char *)io - offsetof(struct blk_seg_io, io));
	struct blk_req *req = s->req;
	struct virtio_dev *dev = req->blk->dev;

	mutex_lock(&dev->lock);
	if (res == -EOPNOTSUPP && (s->mode & FALLOC_FL_ZERO_RANGE) &&
	    req->reset_count == dev->reset_count) {
		/* no ZERO_RANGE here: a hole reads as zeros too */
		s->mode = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		if (seg_submit(s))
			goto out;
	} else if (res < 0) {
		pr_debug("%s: fallocate(%#x) at %" PRIu64 "+%" PRIu64 ": %s", dev->name, s->mode,
			 s->off, s->len, strerror(-res));
		req->status = VIRTIO_BLK_S_IOERR;
	}
	if (--req->pending == 0)
		req_finish(req, req->status);
out:
	mutex_unlock(&dev->lock);
}

static bool seg_submit(struct blk_seg_io *s)
{
	struct blk *blk = s->req->blk;
	struct io_uring_sqe *sqe = virtio_hub_get_sqe(blk->hub, &s->io);

	if (!sqe)
		return false;
	io_uring_prep_fallocate(sqe, blk->fd, s->mode, s->off, s->len);
	prep_fd(blk, sqe);
	return true;
}

/* A sector range inside the disk? (overflow-safe) */
static bool in_range(const struct blk *blk, uint64_t sector, uint64_t sectors)
{
	return sector <= blk->capacity && sectors <= blk->capacity - sector;
}

static uint8_t start_discard(struct blk_req *req, uint64_t data_out)
{
	struct blk *blk = req->blk;
	bool zeroes = req->type == VIRTIO_BLK_T_WRITE_ZEROES;
	struct blk_seg segs[BLK_MAX_SEGS];
	uint64_t n = data_out / sizeof(struct blk_seg);

	if (blk->readonly)
		return VIRTIO_BLK_S_IOERR;
	if (!blk->can_punch)
		return VIRTIO_BLK_S_UNSUPP;
	if (!n || data_out % sizeof(struct blk_seg) || n > BLK_MAX_SEGS ||
	    vq_chain_read(blk->dev->mem, &req->chain, sizeof(struct blk_hdr), segs,
			  n * sizeof(segs[0])))
		return VIRTIO_BLK_S_IOERR;
	if (virtio_hub_sqes_free(blk->hub) < n)
		return VIRTIO_BLK_S_IOERR; /* not reached: checked before the chain was taken */
	for (uint64_t i = 0; i < n; i++) {
		if (segs[i].flags & ~(uint32_t)(zeroes ? VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP : 0))
			return VIRTIO_BLK_S_UNSUPP;
		if (segs[i].num_sectors > BLK_MAX_DISCARD_SECTORS ||
		    !in_range(blk, segs[i].sector, segs[i].num_sectors))
			return VIRTIO_BLK_S_IOERR;
	}
	req->status = VIRTIO_BLK_S_OK;
	for (uint64_t i = 0; i < n; i++) {
		struct blk_seg_io *s = &req->segs[i];

		if (!segs[i].num_sectors)
			continue;
		s->io.complete = seg_complete;
		s->req = req;
		s->off = segs[i].sector * SECTOR;
		s->len = (uint64_t)segs[i].num_sectors * SECTOR;
		s->mode = FALLOC_FL_KEEP_SIZE |
			  (zeroes && !(segs[i].flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP)
				   ? FALLOC_FL_ZERO_RANGE
				   : FALLOC_FL_PUNCH_HOLE);
		if (!seg_submit(s)) {
			req->status = VIRTIO_BLK_S_IOERR;
			break;
		}
		req->pending++;
	}
	blk->discards++;
	return req->pending ? 0xff : req->status; /* 0xff: completes later */
}

/* Start a request; returns a status to finish with at once, or 0xff if it is in flight. */
static uint8_t req_start(struct blk_req *req)
{
	struct blk *blk = req->blk;
	const struct vq_chain *c = &req->chain;
	struct blk_hdr hdr;
	struct io_uring_sqe *sqe;
	uint64_t data_out, data_in;

	if (c->out_len < sizeof(hdr) || !c->in_len ||
	    vq_chain_read(blk->dev->mem, c, 0, &hdr, sizeof(hdr)))
		return VIRTIO_BLK_S_IOERR;
	req->type = hdr.type;
	data_out = c->out_len - sizeof(hdr);
	data_in = c->in_len - 1;

	switch (hdr.type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		req->len = hdr.type == VIRTIO_BLK_T_IN ? data_in : data_out;
		if (hdr.type == VIRTIO_BLK_T_OUT && blk->readonly)
			return VIRTIO_BLK_S_IOERR;
		if (req->len % SECTOR || !in_range(blk, hdr.sector, req->len / SECTOR))
			return VIRTIO_BLK_S_IOERR;
		req->offset = hdr.sector * SECTOR;
		if (!req->len)
			return VIRTIO_BLK_S_OK;
		req->bounce_size = req->len < BLK_CHUNK ? (uint32_t)req->len : BLK_CHUNK;
		req->bounce = malloc(req->bounce_size);
		if (!req->bounce)
			return VIRTIO_BLK_S_IOERR;
		blk->bounce_bytes += req->bounce_size;
		req->io.complete = rw_complete;
		if (hdr.type == VIRTIO_BLK_T_IN)
			blk->reads++;
		else
			blk->writes++;
		rw_next(req);
		return 0xff;
	case VIRTIO_BLK_T_FLUSH:
		sqe = virtio_hub_get_sqe(blk->hub, &req->io);
		if (!sqe)
			return VIRTIO_BLK_S_IOERR;
		req->io.complete = flush_complete;
		io_uring_prep_fsync(sqe, blk->fd, 0);
		prep_fd(blk, sqe);
		blk->flushes++;
		return 0xff;
	case VIRTIO_BLK_T_GET_ID: {
		uint32_t n =
			data_in < VIRTIO_BLK_ID_BYTES ? (uint32_t)data_in : VIRTIO_BLK_ID_BYTES;

		if (vq_chain_write(blk->dev->mem, c, 0, blk->id, n))
			return VIRTIO_BLK_S_IOERR;
		req->extra = n;
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return start_discard(req, data_out);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

/* A request needs at most this many SQEs at once (discard segments). */
#define BLK_SQES_PER_REQ BLK_MAX_SEGS

static void blk_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct blk *blk = dev->priv;
	struct virtq *vq = &dev->vqs[0];
	struct vq_chain *c = &blk->scratch;

	if (q != 0)
		return;
	for (;;) {
		struct blk_req *req;
		size_t bufs;
		uint8_t status;
		int ret;

		if (virtio_hub_sqes_free(blk->hub) < BLK_SQES_PER_REQ ||
		    blk->bounce_bytes + BLK_CHUNK > BLK_BOUNCE_BUDGET) {
			if (vq_pending(vq)) /* again once I/O completes */
				virtio_hub_retry(blk->hub, dev, 0);
			return;
		}
		ret = vq_pop(vq, c);
		if (ret == 0)
			return;
		if (ret == -EIO) {
			virtio_dev_needs_reset(dev, vq->broken_why);
			return;
		}
		if (head_busy(blk, c->head)) {
			vq->broken = true;
			virtio_dev_needs_reset(
				dev, "a request still in flight was made available again");
			return;
		}
		bufs = (size_t)c->nr_out + c->nr_in;
		req = calloc(1, offsetof(struct blk_req, chain.buf) + bufs * sizeof(c->buf[0]));
		if (!req) {
			pr_err("%s: out of memory", dev->name);
			return;
		}
		req->blk = blk;
		req->reset_count = dev->reset_count;
		memcpy(&req->chain, c, offsetof(struct vq_chain, buf) + bufs * sizeof(c->buf[0]));
		head_set(blk, c->head, true);
		blk->inflight++;
		if (ret < 0) {
			pr_debug("%s: malformed request (head %u): %s", dev->name, c->head,
				 c->error);
			blk_refuse(req);
			continue;
		}
		status = req_start(req);
		if (status != 0xff)
			req_finish(req, status);
	}
}

static void blk_config_read(struct virtio_dev *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	struct blk *blk = dev->priv;

	memcpy(data, (uint8_t *)&blk->config + off, len);
}

static void blk_reset(struct virtio_dev *dev)
{
	struct blk *blk = dev->priv;

	/* requests in flight see the new reset_count at completion and are dropped */
	memset(blk->heads_busy, 0, sizeof(blk->heads_busy));
}

static void shutdown_sync_complete(struct virtio_io *io, int res)
{
	struct blk *blk = (struct blk *)((char *)io - offsetof(struct blk, shutdown_io));

	if (res < 0)
		pr_warn("%s: fsync of %s at exit: %s", blk->dev->name, blk->path, strerror(-res));
}

/* At an orderly stop, write back what the guest wrote and did not flush (through the ring:
 * the main thread's sandbox has no fsync of its own). */
static void blk_shutdown(struct virtio_dev *dev)
{
	struct blk *blk = dev->priv;
	struct io_uring_sqe *sqe;

	if (blk->readonly || !blk->bytes_written)
		return;
	blk->shutdown_io.complete = shutdown_sync_complete;
	sqe = virtio_hub_get_sqe(blk->hub, &blk->shutdown_io);
	if (!sqe)
		return;
	io_uring_prep_fsync(sqe, blk->fd, IORING_FSYNC_DATASYNC);
	prep_fd(blk, sqe);
}

static void blk_destroy(struct virtio_dev *dev)
{
	struct blk *blk = dev->priv;

	pr_info("%s: %s: %" PRIu64 " reads (%" PRIu64 " bytes), %" PRIu64 " writes (%" PRIu64
		" bytes), %" PRIu64 " flushes, %" PRIu64 " discards, %" PRIu64 " errors",
		dev->name, blk->path, blk->reads, blk->bytes_read, blk->writes, blk->bytes_written,
		blk->flushes, blk->discards, blk->errors);
	close(blk->fd);
	free(blk);
}

static const struct virtio_dev_ops blk_ops_template = {
	.name = "blk",
	.device_id = VIRTIO_ID_BLOCK,
	.nr_queues = 1,
	.queue_max = BLK_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_blk_config),
	.config_read = blk_config_read,
	.queue_notify = blk_queue_notify,
	.reset = blk_reset,
	.shutdown = blk_shutdown,
	.destroy = blk_destroy,
};

/* Punching past the end changes nothing but tells whether the file system can. */
static bool probe_punch(int fd, uint64_t size)
{
	uint64_t at = (size + 4095) & ~4095ull;

	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)at, 4096) == 0;
}

struct virtio_dev *virtio_blk_create(struct virtio_hub *hub, const char *path, bool readonly,
				     const char *id)
{
	struct blk *blk = calloc(1, sizeof(*blk));
	struct flock lock = { .l_type = readonly ? F_RDLCK : F_WRLCK, .l_whence = SEEK_SET };
	const char *base;
	off_t size;

	if (!blk)
		return NULL;
	snprintf(blk->path, sizeof(blk->path), "%s", path);
	blk->hub = hub;
	blk->readonly = readonly;
	blk->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (blk->fd < 0) {
		pr_err("disk %s: %s", path, strerror(errno));
		goto fail;
	}
	if (fcntl(blk->fd, F_OFD_SETLK, &lock) < 0) {
		pr_err("disk %s: locked by another user of the image (another --disk, another VMM): %s",
		       path, strerror(errno));
		goto fail;
	}
	size = lseek(blk->fd, 0, SEEK_END);
	if (size < 0) {
		pr_err("disk %s: size: %s", path, strerror(errno));
		goto fail;
	}
	if (size < (off_t)SECTOR) { /* nothing a guest could use: a mistaken path, most likely */
		pr_err("disk %s: %s", path,
		       size ? "smaller than one 512-byte sector" : "file is empty");
		goto fail;
	}
	if (size % SECTOR)
		pr_warn("disk %s: size %lld is not a multiple of 512; the last %lld bytes are "
			"not visible to the guest",
			path, (long long)size, (long long)(size % SECTOR));
	blk->capacity = (uint64_t)size / SECTOR;
	blk->can_punch = !readonly && probe_punch(blk->fd, (uint64_t)size);

	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	/* 20 bytes, NUL-padded, not NUL-terminated at 20 (the spec's format) */
	memcpy(blk->id, id && *id ? id : base, strnlen(id && *id ? id : base, sizeof(blk->id)));

	blk->config.capacity = blk->capacity;
	blk->config.seg_max = BLK_QUEUE_SIZE - 2;
	blk->config.num_queues = 1;
	if (blk->can_punch) {
		blk->config.max_discard_sectors = BLK_MAX_DISCARD_SECTORS;
		blk->config.max_discard_seg = BLK_MAX_SEGS;
		blk->config.discard_sector_alignment = 4096 / SECTOR;
		blk->config.max_write_zeroes_sectors = BLK_MAX_DISCARD_SECTORS;
		blk->config.max_write_zeroes_seg = BLK_MAX_SEGS;
		blk->config.write_zeroes_may_unmap = 1;
	}

	blk->ops = blk_ops_template;
	blk->ops.features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_FLUSH);
	if (readonly)
		blk->ops.features |= 1ull << VIRTIO_BLK_F_RO;
	if (blk->can_punch)
		blk->ops.features |=
			(1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
	blk->file_index = virtio_hub_register_file(hub, blk->fd);
	blk->dev = virtio_dev_create(hub, &blk->ops, blk);
	if (!blk->dev)
		goto fail;
	pr_info("%s: %s, %llu sectors%s%s, id '%.20s'", blk->dev->name, path,
		(unsigned long long)blk->capacity, readonly ? ", read-only" : "",
		blk->can_punch ? ", discard" : "", blk->id);
	return blk->dev;
fail:
	if (blk->fd >= 0)
		close(blk->fd);
	free(blk);
	return NULL;
}
