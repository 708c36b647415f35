// SPDX-License-Identifier: MIT
/*
 * virtio-rng (virtio 1.2, 5.4): one queue of device-writable buffers, filled from the host's
 * getrandom(). At most RNG_MAX_BYTES per request, so a guest asking for gigabytes costs a
 * bounded amount of work per buffer; the driver sees how much it got in the used length.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../../vmm/log.h"
#include "virtio.h"

#define RNG_QUEUE_SIZE 64
#define RNG_MAX_BYTES 65536u

struct rng {
	struct virtio_dev *dev;
	struct vq_chain chain;
	uint64_t bytes;
	uint64_t requests;
};

static int fill_random(uint8_t *buf, size_t len)
{
	while (len) {
		ssize_t n = getrandom(buf, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void rng_queue_notify(struct virtio_dev *dev, unsigned int q)
{
	struct rng *rng = dev->priv;
	struct virtq *vq = &dev->vqs[0];
	uint8_t buf[4096];

	if (q != 0)
		return;
	for (;;) {
		int ret = vq_pop(vq, &rng->chain);
		uint64_t want, done = 0;

		if (ret == 0)
			break;
		if (ret == -EIO) {
			virtio_dev_needs_reset(dev, vq->broken_why);
			break;
		}
		want = ret < 0 ? 0 : rng->chain.in_len;
		if (ret < 0)
			pr_debug("%s: malformed request: %s", dev->name, rng->chain.error);
		if (want > RNG_MAX_BYTES)
			want = RNG_MAX_BYTES;
		while (done < want) {
			size_t n = want - done < sizeof(buf) ? want - done : sizeof(buf);

			if (fill_random(buf, n) ||
			    vq_chain_write(dev->mem, &rng->chain, done, buf, n))
				break;
			done += n;
		}
		memset(buf, 0, sizeof(buf));
		rng->bytes += done;
		rng->requests++;
		if (vq_push(vq, rng->chain.head, (uint32_t)done)) {
			virtio_dev_needs_reset(dev, vq->broken_why);
			break;
		}
		virtio_dev_used(dev, 0);
	}
}

static void rng_config_read(struct virtio_dev *dev, uint32_t off, uint8_t *data, uint32_t len)
{
	(void)dev;
	(void)off;
	memset(data, 0, len);
}

static void rng_destroy(struct virtio_dev *dev)
{
	struct rng *rng = dev->priv;

	pr_info("%s: %" PRIu64 " bytes in %" PRIu64 " requests", dev->name, rng->bytes,
		rng->requests);
	free(rng);
}

static const struct virtio_dev_ops rng_ops = {
	.name = "rng",
	.device_id = VIRTIO_ID_RNG,
	.nr_queues = 1,
	.queue_max = RNG_QUEUE_SIZE,
	.config_size = 0,
	.config_read = rng_config_read,
	.queue_notify = rng_queue_notify,
	.destroy = rng_destroy,
};

struct virtio_dev *virtio_rng_create(struct virtio_hub *hub)
{
	struct rng *rng = calloc(1, sizeof(*rng));

	if (!rng)
		return NULL;
	rng->dev = virtio_dev_create(hub, &rng_ops, rng);
	if (!rng->dev) {
		free(rng);
		return NULL;
	}
	return rng->dev;
}
