// SPDX-License-Identifier: MIT
/*
 * virtio-console (virtio 1.2, 5.3): a second console, port 0 only (no MULTIPORT, no SIZE,
 * no EMERG_WRITE), for logs. Queue 0 is the receiveq, queue 1 the transmitq. Nothing is
 * sent to the guest: its receive buffers stay with the device until a reset. What the guest
 * transmits goes to a host sink chosen by the user (--virtio-console): a file opened for
 * appending, minivmm's stdout, or nowhere.
 *
 * Output goes through the hub's io_uring, never a blocking write() on the main thread: a
 * pipe whose reader is slow, a terminal, or a sink with O_NONBLOCK set (-EAGAIN: the device
 * waits for POLLOUT and writes again) cannot stall the event loop, and the guest waits for
 * its buffers meanwhile. Transmit chains are copied into one staging buffer (a chain longer
 * than what is left of it is copied piecewise), one write at a time so the bytes stay in the
 * guest's order, and a chain is returned to the driver only once all of its bytes reached
 * the sink: Linux's hvc driver spins until its buffer comes back, so the guest's own pace is
 * the sink's. Short writes continue where they stopped. A sink that fails (a write error, or
 * 0 bytes written) is given up with one warning; the guest keeps running and its output is
 * discarded from then on.
 *
 * Transmit chains are hostile like any other: a malformed chain (vq_pop() < 0) or one with a
 * device-writable buffer (the transmitq is device-readable only) is returned unprocessed
 * with 0 bytes and counted; the device keeps working. A reset forgets the chains taken but
 * not yet returned; bytes already staged still go to the sink (the guest had handed them
 * over). Everything here runs on the main thread with dev->lock held.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../vmm/log.h"
#include "virtio.h"

#define VCON_RX 0
#define VCON_TX 1
#define VCON_QUEUE_SIZE 128
#define VCON_BUF (64u * 1024) /* staging buffer: the most one write to the sink carries */

/* virtio 1.2, 5.3.4: read only with SIZE / MULTIPORT / EMERG_WRITE, none offered */
struct virtio_console_config {
	uint16_t cols;
	uint16_t rows;
	uint32_t max_nr_ports;
	uint32_t emerg_wr;
};

struct vcon_pending {
	uint16_t head;
	uint32_t end; /* the chain's last byte is buf[end - 1]: returned once done >= end */
};

struct vcon {
	struct virtio_dev *dev;
	struct virtio_hub *hub;
	int fd;	       /* -1: output discarded */
	bool close_fd; /* ours to close at the end */
	int fixed;     /* index in the hub's file table, -1: the plain fd */
	char sink[64]; /* for messages */

	struct virtio_io write_io, poll_io;
	bool writing, polling; /* a write, or a wait for POLLOUT, on the ring */
	uint32_t write_len;    /* bytes of the write in flight */
	bool sink_failed;

	uint8_t buf[VCON_BUF];
	uint32_t len;  /* staged bytes */
	uint32_t done; /* of which the sink took these */
	struct vcon_pending pending[VIRTIO_QUEUE_MAX];
	unsigned int nr_pending;

	struct vq_chain chain; /* the chain being staged, if have_chain */
	bool have_chain;
	uint64_t chain_off;

	uint64_t progress; /* bytes staged + chains taken, for vcon_pump */

	/* statistics */
	uint64_t bytes, chains, bad_chains, short_writes, eagain, dropped;
};

static void vcon_pump(struct vcon *vc);

/* Return a chain to the driver (nothing is ever written into transmit buffers). */
static bool vcon_push(struct vcon *vc, uint16_t head)
{
	struct virtio_dev *dev = vc->dev;

	if (vq_push(&dev->vqs[VCON_TX], head, 0)) {
		virtio_dev_needs_reset(dev, dev->vqs[VCON_TX].broken_why);
		return false;
	}
	virtio_dev_used(dev, VCON_TX);
	return true;
}

/* Return the chains whose bytes all reached the sink; drop written bytes from the buffer. */
static void vcon_retire(struct vcon *vc)
{
	unsigned int i, n = 0;

	for (i = 0; i < vc->nr_pending; i++) {
		if (vc->pending[i].end > vc->done)
			break;
		if (!vcon_push(vc, vc->pending[i].head)) {
			vc->nr_pending = 0;
			return;
		}
		n++;
	}
	memmove(vc->pending, vc->pending + n, (vc->nr_pending - n) * sizeof(vc->pending[0]));
	vc->nr_pending -= n;
	if (vc->writing || !vc->done)
		return;
	/* nothing in flight: move what is left to the front */
	memmove(vc->buf, vc->buf + vc->done, vc->len - vc->done);
	for (i = 0; i < vc->nr_pending; i++)
		vc->pending[i].end -= vc->done;
	vc->len -= vc->done;
	vc->done = 0;
}

static void vcon_refuse(struct vcon *vc, const char *why)
{
	vc->bad_chains++;
	pr_debug("%s: transmit chain %u refused: %s", vc->dev->name, vc->chain.head, why);
	vcon_push(vc, vc->chain.head);
}

/* Copy transmit chains into the staging buffer while there is room. */
static void vcon_stage(struct vcon *vc)
{
	struct virtio_dev *dev = vc->dev;
	struct virtq *vq = &dev->vqs[VCON_TX];

	while (vc->len < VCON_BUF) {
		uint64_t n;
		int ret;

		if (!vc->have_chain) {
			if (vc->nr_pending == VIRTIO_QUEUE_MAX)
				return; /* again once chains are retired */
			ret = vq_pop(vq, &vc->chain);
			if (ret == 0)
				return;
			if (ret == -EIO) {
				virtio_dev_needs_reset(dev, vq->broken_why);
				return;
			}
			vc->progress++;
			if (ret < 0) {
				vcon_refuse(vc, vc->chain.error);
				continue;
			}
			if (vc->chain.nr_in) {
				vcon_refuse(vc, "device-writable buffer in a transmit chain");
				continue;
			}
			vc->have_chain = true;
			vc->chain_off = 0;
			vc->chains++;
		}
		n = vc->chain.out_len - vc->chain_off;
		if (n > VCON_BUF - vc->len)
			n = VCON_BUF - vc->len;
		if (n && vq_chain_read(dev->mem, &vc->chain, vc->chain_off, vc->buf + vc->len, n)) {
			/* a page went away (discard, private conversion) since the chain was
			 * parsed: what was staged of it stays, the rest is lost */
			vc->have_chain = false;
			vcon_refuse(vc, "buffer no longer readable");
			continue;
		}
		vc->len += (uint32_t)n;
		vc->chain_off += n;
		vc->progress += n;
		if (vc->chain_off == vc->chain.out_len) {
			vc->pending[vc->nr_pending++] =
				(struct vcon_pending){ vc->chain.head, vc->len };
			vc->have_chain = false;
		}
	}
}

static void vcon_prep_fd(struct vcon *vc, struct io_uring_sqe *sqe)
{
	if (vc->fixed >= 0) {
		sqe->fd = vc->fixed;
		sqe->flags |= IOSQE_FIXED_FILE;
	}
}

/* Start a write of the staged bytes, unless one is in flight. */
static void vcon_flush(struct vcon *vc)
{
	struct io_uring_sqe *sqe;

	if (vc->writing || vc->polling || vc->len == vc->done)
		return;
	if (vc->fd < 0 || vc->sink_failed) {
		vc->dropped += vc->len - vc->done;
		vc->done = vc->len;
		return;
	}
	sqe = virtio_hub_get_sqe(vc->hub, &vc->write_io);
	if (!sqe) {
		virtio_hub_retry(vc->hub, vc->dev, VCON_TX); /* the ring is busy: again later */
		return;
	}
	vc->write_len = vc->len - vc->done;
	/* offset -1: the file position (appended with O_APPEND; pipes and terminals have none) */
	io_uring_prep_write(sqe, vc->fd, vc->buf + vc->done, vc->write_len, (uint64_t)-1);
	vcon_prep_fd(vc, sqe);
	vc->writing = true;
}

/*
 * Retire, stage, write until nothing moves without the sink: once a write is on the ring, or
 * when a round neither staged nor discarded a byte nor took a chain (the null sink and a
 * failed sink go round until the ring is empty).
 */
static void vcon_pump(struct vcon *vc)
{
	for (;;) {
		uint64_t before = vc->progress;

		vcon_retire(vc);
		vcon_stage(vc);
		vcon_flush(vc);
		if (vc->writing || vc->polling || vc->progress == before)
			return;
	}
}

static void vcon_sink_failed(struct vcon *vc, const char *why)
{
	pr_warn("%s: writing to %s: %s; the guest's console output is discarded from now on",
		vc->dev->name, vc->sink, why);
	vc->sink_failed = true;
}

static void vcon_write_complete(struct virtio_io *io, int res)
{
	struct vcon *vc = (struct vcon *)((char *)io - offsetof(struct vcon, write_io));
	struct virtio_dev *dev = vc->dev;

	mutex_lock(&dev->lock);
	vc->writing = false;
	if (res == -EAGAIN) {
		/* the sink has O_NONBLOCK and is full: write again once it takes more */
		struct io_uring_sqe *sqe = virtio_hub_get_sqe(vc->hub, &vc->poll_io);

		vc->eagain++;
		if (sqe) {
			io_uring_prep_poll_add(sqe, vc->fd, POLLOUT);
			vcon_prep_fd(vc, sqe);
			vc->polling = true;
		} else {
			virtio_hub_retry(vc->hub, dev, VCON_TX);
		}
	} else if (res == -EINTR) {
		/* written again below */
	} else if (res <= 0) {
		vcon_sink_failed(vc, res ? strerror(-res) : "no bytes taken");
	} else {
		if ((uint32_t)res > vc->write_len)
			res = (int)vc->write_len;
		if ((uint32_t)res < vc->write_len)
			vc->short_writes++;
		vc->done += (uint32_t)res;
		vc->bytes += (uint64_t)res;
	}
	vcon_pump(vc);
	mutex_unlock(&dev->lock);
}

static void vcon_poll_complete(struct virtio_io *io, int res)
{
	struct vcon *vc = (struct vcon *)((char *)io - offsetof(struct vcon, poll_io));

	(void)res; /* POLLERR/POLLHUP: the next write says what is wrong */
	mutex_lock(&vc->dev->lock);
	vc->polling = false;
	vcon_pump(vc);
	mutex_unlock(&vc->dev->lock);
}

static void vcon_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	/* receive buffers are kept for input that never comes (no input source) */
	if (q == VCON_TX)
		vcon_pump(dev->priv);
}

static void vcon_config_read(struct virtio_dev *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	(void)dev;
	(void)off;
	memset(data, 0, len);
}

static void vcon_reset(struct virtio_dev *dev)
{
	struct vcon *vc = dev->priv;

	/* the chains belong to the old rings; staged bytes still go out */
	vc->nr_pending = 0;
	vc->have_chain = false;
}

/* At an orderly stop: the staged bytes go out (the hub waits for the write). */
static void vcon_shutdown(struct virtio_dev *dev)
{
	struct vcon *vc = dev->priv;

	mutex_lock(&dev->lock);
	vcon_flush(vc);
	mutex_unlock(&dev->lock);
}

static void vcon_destroy(struct virtio_dev *dev)
{
	struct vcon *vc = dev->priv;

	pr_info("%s: %" PRIu64 " bytes in %" PRIu64 " chains to %s, %" PRIu64
		" refused chains, %" PRIu64 " short writes, %" PRIu64 " EAGAIN, %" PRIu64
		" bytes discarded",
		dev->name, vc->bytes, vc->chains, vc->sink, vc->bad_chains, vc->short_writes,
		vc->eagain, vc->dropped + (vc->len - vc->done));
	if (vc->close_fd && vc->fd >= 0)
		close(vc->fd);
	free(vc);
}

static const struct virtio_dev_ops vcon_ops = {
	.name = "console",
	.device_id = VIRTIO_ID_CONSOLE,
	.nr_queues = 2,
	.queue_max = VCON_QUEUE_SIZE,
	.config_size = sizeof(struct virtio_console_config),
	.config_read = vcon_config_read,
	.queue_notify = vcon_queue_notify,
	.reset = vcon_reset,
	.shutdown = vcon_shutdown,
	.destroy = vcon_destroy,
};

int virtio_console_open(const char *path, bool truncate)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0),
		      0666);

	if (fd < 0)
		fprintf(stderr, "minivmm: --virtio-console: cannot open %s: %s\n", path,
			strerror(errno));
	return fd;
}

struct virtio_dev *virtio_console_create(struct virtio_hub *hub, int fd, bool close_fd,
					 const char *sink)
{
	struct vcon *vc = calloc(1, sizeof(*vc));

	if (!vc) {
		if (close_fd && fd >= 0)
			close(fd);
		return NULL;
	}
	vc->hub = hub;
	vc->fd = fd;
	vc->close_fd = close_fd;
	vc->fixed = fd >= 0 ? virtio_hub_register_file(hub, fd) : -1;
	snprintf(vc->sink, sizeof(vc->sink), "%s", fd >= 0 ? sink : "nowhere (discarded)");
	vc->write_io.complete = vcon_write_complete;
	vc->poll_io.complete = vcon_poll_complete;
	vc->dev = virtio_dev_create(hub, &vcon_ops, vc);
	if (!vc->dev) {
		if (close_fd && fd >= 0)
			close(fd);
		free(vc);
		return NULL;
	}
	pr_info("%s: output to %s", vc->dev->name, vc->sink);
	return vc->dev;
}
