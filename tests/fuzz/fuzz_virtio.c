// SPDX-License-Identifier: MIT
/*
 * virtqueue descriptor parsing for every virtio device (devices/virtio: virtqueue.c, mmio.c,
 * blk.c, rng.c, balloon.c, console.c), without KVM: a fake struct vm (fd = -1) with guest
 * RAM (8 MiB at 0, 64 KiB at 4 GiB past a hole), its MMIO bus, the hub's io_uring, and on it
 * a read-write virtio-blk, a read-only virtio-blk, virtio-rng, virtio-balloon and
 * virtio-console. Disk images and the console's sink are memfds (opened by their
 * /proc/self/fd path, as a user's file would be): all I/O goes to temporary files that
 * vanish with the input, never to a file of the user's. A fresh VM per input.
 *
 * The input is a list of operations (enum op) acting as a hostile guest driver: initialise a
 * device properly (tests/unit/virtio_drv.h) with chosen features, queue size and ring
 * placement, or poke any register and config byte at any width; write descriptors (any
 * address, length, flags, next), available entries and indices, raw guest memory (request
 * headers, indirect tables); notify queues and run the hub as the main loop does; make pages
 * private, shared or discarded under the rings and buffers; build whole requests of a
 * device's kind; drive a standalone virtqueue (vq_enable/pop/push/chain_read/chain_write)
 * directly; change the balloon's target; and check that a device still works.
 *
 * After every operation:
 *  - no lock is held, no invalidation in flight, every valid cache (the ring pages') points
 *    where a fresh translation would;
 *  - no queue has more than VIRTIO_QUEUE_MAX chains taken and not yet returned;
 *  - a chain vq_pop() accepted lies in shared guest RAM, has at most VIRTIO_QUEUE_MAX
 *    buffers, readable ones first, lengths that add up; chain reads/writes stay in bounds;
 *  - the disk images keep their size, and the read-only one is never written;
 *  - a device's magic and version read back whatever the driver did.
 * OP_SANITY resets a device, initialises it properly and sends a valid request: it must
 * complete (blk: status OK and the image's bytes; rng: the length asked; console: the bytes at
 * the end of the sink; balloon: the buffer returned), whatever garbage came before.
 * After every input: the hub and the devices left no fd open and no thread running.
 */
#include <poll.h>
#include <sys/stat.h>

#include "../../arch/x86/layout.h"
#include "../../devices/virtio/virtio.h"
#include "../../vmm/vm.h"
#include "../unit/virtio_drv.h"
#include "fuzz_common.h"

enum op {
	OP_INIT,   /* dev u8, features u32, size u8, ring page u16 */
	OP_REG,	   /* dev u8, off u16, width u8, value u64 (flag 0: read) */
	OP_DESC,   /* dev/q u8, i u8, addr, len u32, flags u8, next u8 */
	OP_AVAIL,  /* dev/q u8, head u16 (flag 0: raw index u16; flag 1: notify and run) */
	OP_MEM,	   /* gpa u24, len u8, bytes */
	OP_NOTIFY, /* dev/q u8 (flag 0: not a queue's index; flag 1: do not run the hub) */
	OP_ATTR,   /* page u16, pages u8 (flag 0 private/shared, flag 1 discard) */
	OP_MORE,   /* sub u8: REQ, VQ, BALLOON, SANITY, RUN */
	NR_OPS
};
#define OP_FLAG(op, n) (((op) >> (3 + (n))) & 1)

enum more {
	MORE_REQ,
	MORE_VQ,
	MORE_BALLOON,
	MORE_SANITY,
	MORE_RUN,
	NR_MORE
};

#define MAX_OPS 512
#define RAM_SIZE (8 * MiB)
#define HIGH_SIZE (64 * 1024ull)
#define PAGES (RAM_SIZE / 4096)
#define IMAGE_SIZE (1 * MiB)
#define SANE_RINGS 0x700000ull /* OP_SANITY's rings: 4 queues x 3 pages at 0x10000 strides */
#define SANE_BUF 0x7c0000ull

enum dev_kind {
	DEV_BLK,
	DEV_BLK_RO,
	DEV_RNG,
	DEV_BALLOON,
	DEV_CONSOLE,
	NR_DEVS
};

struct fuzz_virtio {
	struct vm *vm;
	struct virtio_hub *hub;
	struct virtio_dev *dev[NR_DEVS];
	struct vdrv drv[NR_DEVS];
	struct fuzz_file image, image_ro, sink;
	struct virtq vq; /* standalone: OP_MORE/MORE_VQ */
	struct vq_chain chain;
	bool chain_valid;  /* chain holds the last chain popped */
	bool chain_pushed; /* and it went back */
};

/* ---- set-up ----------------------------------------------------------------------------- */

static struct fuzz_virtio *fv_create(enum mem_backing backing)
{
	struct fuzz_virtio *f = calloc(1, sizeof(*f));
	struct vm *vm = calloc(1, sizeof(*vm));
	int sink_fd;

	FUZZ_SETUP(f && vm);
	f->vm = vm;
	vm->fd = -1;
	vm->stop_eventfd = -1;
	fuzz_mem_init(&vm->mem, backing);
	vm->mem_ready = true;
	fuzz_mem_add(&vm->mem, 0, RAM_SIZE);
	fuzz_mem_add(&vm->mem, HIGH_RAM_START, HIGH_SIZE);
	f->hub = virtio_hub_create(vm);
	FUZZ_SETUP(f->hub);

	fuzz_file_init(&f->image, "fuzz-virtio-disk");
	fuzz_file_set_size(&f->image, IMAGE_SIZE);
	fuzz_file_init(&f->image_ro, "fuzz-virtio-disk-ro");
	fuzz_file_set_size(&f->image_ro, IMAGE_SIZE);
	f->dev[DEV_BLK] = virtio_blk_create(f->hub, f->image.path, false, "fuzz-disk");
	f->dev[DEV_BLK_RO] = virtio_blk_create(f->hub, f->image_ro.path, true, NULL);
	f->dev[DEV_RNG] = virtio_rng_create(f->hub);
	f->dev[DEV_BALLOON] = virtio_balloon_create(f->hub, 2 * MiB);
	fuzz_file_init(&f->sink, "fuzz-virtio-console");
	sink_fd = fcntl(f->sink.fd, F_DUPFD_CLOEXEC, 0);
	FUZZ_SETUP(sink_fd >= 0);
	f->dev[DEV_CONSOLE] = virtio_console_create(f->hub, sink_fd, true, "fuzz sink");
	for (int d = 0; d < NR_DEVS; d++) {
		FUZZ_SETUP(f->dev[d]);
		f->drv[d] = (struct vdrv){ .mmio = &vm->mmio,
					   .mem = &vm->mem,
					   .base = f->dev[d]->base };
	}
	vq_init(&f->vq, &vm->mem, "fuzz-vq");
	return f;
}

static void fv_destroy(struct fuzz_virtio *f)
{
	vq_destroy(&f->vq);
	virtio_hub_destroy(f->hub);
	FUZZ_CHECK(f->vm->mem.nr_caches == 0);
	guest_mem_destroy(&f->vm->mem);
	close(f->image.fd);
	close(f->image_ro.fd);
	close(f->sink.fd);
	free(f->vm);
	free(f);
}

/* ---- the main loop's part --------------------------------------------------------------- */

/*
 * Run the hub while it has completions, as the main loop does when its fd polls readable;
 * wait up to wait_ms for the first (I/O that io_uring finished on a worker).
 */
static void run_hub(struct fuzz_virtio *f, int wait_ms)
{
	for (int i = 0; i < 64; i++) {
		struct pollfd pfd = { .fd = virtio_hub_fd(f->hub), .events = POLLIN };

		if (poll(&pfd, 1, i ? 0 : wait_ms) <= 0)
			return;
		virtio_hub_run(f->hub);
	}
}

/* ---- invariants ------------------------------------------------------------------------- */

static FUZZ_NO_COVERAGE void check_chain(struct fuzz_virtio *f, const struct vq_chain *c,
					 uint16_t size)
{
	uint64_t out = 0, in = 0;

	FUZZ_CHECK(c->head < size);
	FUZZ_CHECK(c->nr_out + c->nr_in <= VIRTIO_QUEUE_MAX);
	for (unsigned int i = 0; i < (unsigned int)c->nr_out + c->nr_in; i++) {
		const struct vq_buf *b = &c->buf[i];
		int err = 0;

		FUZZ_CHECK(b->len > 0 && b->gpa + b->len > b->gpa);
		read_lock(&f->vm->mem.layout_lock);
		FUZZ_CHECK(guest_mem_translate_locked(&f->vm->mem, b->gpa, b->len, &err) != NULL);
		rwlock_unlock(&f->vm->mem.layout_lock);
		*(i < c->nr_out ? &out : &in) += b->len;
	}
	FUZZ_CHECK(out == c->out_len && in == c->in_len);
}

static FUZZ_NO_COVERAGE void check_queue(const struct virtq *vq)
{
	if (!vq->size)
		return;
	/*
	 * A driver may offer a head again before it came back (against the spec), so a device can
	 * hold more chains than the queue has entries; it must still bound them (blk refuses a
	 * head already in flight, the console stops taking chains at VIRTIO_QUEUE_MAX).
	 */
	FUZZ_CHECK((uint16_t)(vq->last_avail - vq->used_idx) <= VIRTIO_QUEUE_MAX);
	FUZZ_CHECK(vq->chains >= vq->bad_chains);
}

static FUZZ_NO_COVERAGE void check_all(struct fuzz_virtio *f)
{
	struct stat st;

	fuzz_check_quiescent(&f->vm->mem);
	for (int d = 0; d < NR_DEVS; d++) {
		for (unsigned int q = 0; q < f->dev[d]->ops->nr_queues; q++)
			check_queue(&f->dev[d]->vqs[q]);
	}
	check_queue(&f->vq);
	FUZZ_SETUP(fstat(f->image.fd, &st) == 0);
	FUZZ_CHECK(st.st_size == (off_t)IMAGE_SIZE);
	FUZZ_SETUP(fstat(f->image_ro.fd, &st) == 0);
	FUZZ_CHECK(st.st_size == (off_t)IMAGE_SIZE && st.st_blocks == 0);
}

/* ---- inputs ----------------------------------------------------------------------------- */

/* A device and one of its queues from one byte. */
static unsigned int in_dev(struct fuzz_in *in, unsigned int *q)
{
	uint8_t b = in_u8(in);
	unsigned int d = (b & 7) % NR_DEVS;

	if (q)
		*q = (b >> 3) % VIRTIO_MAX_QUEUES;
	return d;
}

/* A buffer address: mostly RAM, sometimes across a page, the high region, the hole, any. */
static uint64_t in_addr(struct fuzz_in *in)
{
	uint8_t sel = in_u8(in);

	switch (sel & 7) {
	case 0:
	case 1:
	case 2:
		return in_le(in, 3) % RAM_SIZE;
	case 3:
		return (in_u16(in) % PAGES) * 4096 + 4096 - (sel >> 3);
	case 4:
		return HIGH_RAM_START + in_u16(in);
	case 5:
		return RAM_SIZE - (sel >> 3) + in_u16(in);
	case 6:
		return (in_u16(in) % PAGES) * 4096;
	default:
		return in_u64(in);
	}
}

static void op_init(struct fuzz_virtio *f, struct fuzz_in *in)
{
	unsigned int d = in_dev(in, NULL);
	struct virtio_dev *dev = f->dev[d];
	uint64_t want = in_u32(in) & dev->device_features;
	uint16_t size = (uint16_t)(1u << (in_u8(in) % 9));
	uint64_t ring = (in_u16(in) % (PAGES - 0x30)) * 4096;

	(void)vdrv_init(&f->drv[d], dev->base, want, dev->ops->nr_queues, size, ring, 0x3000);
}

static void op_reg(struct fuzz_virtio *f, struct fuzz_in *in, uint8_t op)
{
	unsigned int d = in_dev(in, NULL);
	uint64_t off = in_u16(in) % 0x140, value = in_u64(in);
	uint32_t width = (in_u8(in) & 7) + 1;
	uint8_t *data = malloc(width);

	FUZZ_SETUP(data);
	memcpy(data, &value, width);
	FUZZ_CHECK(io_bus_dispatch(&f->vm->mmio, NULL, f->dev[d]->base + off, data, width,
				   !OP_FLAG(op, 0)));
	free(data);
	if (!OP_FLAG(op, 0) && off == R_QUEUE_NOTIFY)
		run_hub(f, 0);
	FUZZ_CHECK(vdrv_reg(&f->drv[d], R_MAGIC) == 0x74726976);
	FUZZ_CHECK(vdrv_reg(&f->drv[d], R_VERSION) == 2);
}

static void op_desc(struct fuzz_virtio *f, struct fuzz_in *in)
{
	unsigned int q, d = in_dev(in, &q);
	uint16_t i = in_u8(in);
	uint64_t addr = in_addr(in);
	uint32_t len = in_u32(in);
	uint16_t flags = in_u8(in) & 7, next = in_u8(in);

	if (f->drv[d].q[q].size)
		(void)vdrv_desc(&f->drv[d], q, i, addr, len, flags, next);
}

static void op_avail(struct fuzz_virtio *f, struct fuzz_in *in, uint8_t op)
{
	unsigned int q, d = in_dev(in, &q);
	struct vdrv_queue *qu = &f->drv[d].q[q];
	uint16_t v = in_u16(in);

	if (!qu->size)
		return;
	if (OP_FLAG(op, 0)) { /* the index alone: jumps, rewinds */
		qu->avail_idx = v;
		(void)guest_mem_write(&f->vm->mem, qu->avail + 2, &v, 2);
	} else {
		(void)vdrv_avail(&f->drv[d], q, v);
	}
	if (OP_FLAG(op, 1)) {
		vdrv_w(&f->drv[d], R_QUEUE_NOTIFY, q);
		run_hub(f, 0);
	}
}

/*
 * A whole request of the device's kind at head 0 of queue q: a header (blk: type, sector), then
 * up to 4 buffers from the input (address, length, device-writable), then a status byte for
 * blk; made available and notified.
 */
static void more_req(struct fuzz_virtio *f, struct fuzz_in *in)
{
	static const uint32_t blk_types[] = { 0, 1, 4, 8, 11, 13, 77 };
	unsigned int q, d = in_dev(in, &q), n = in_u8(in) % 5;
	struct vdrv *drv = &f->drv[d];
	uint64_t hdr_gpa = 0x600000 + (uint64_t)d * 0x1000;
	uint16_t i = 0;

	if (!drv->q[q].size)
		return;
	if (d == DEV_BLK || d == DEV_BLK_RO) {
		struct {
			uint32_t type, reserved;
			uint64_t sector;
		} hdr = { blk_types[in_u8(in) % 7], 0, in_u64(in) % (IMAGE_SIZE / 512 + 4) };

		(void)guest_mem_write(&f->vm->mem, hdr_gpa, &hdr, sizeof(hdr));
		(void)vdrv_desc(drv, q, i, hdr_gpa, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1);
		i++;
	}
	for (unsigned int b = 0; b < n; b++, i++) {
		uint64_t addr = in_addr(in);
		uint32_t len = in_u16(in);
		uint16_t flags = (in_u8(in) & VIRTQ_DESC_F_WRITE) | VIRTQ_DESC_F_NEXT;

		(void)vdrv_desc(drv, q, i, addr, len, flags, (uint16_t)(i + 1));
	}
	if (d == DEV_BLK || d == DEV_BLK_RO)
		(void)vdrv_desc(drv, q, i++, hdr_gpa + 0x800, 1, VIRTQ_DESC_F_WRITE, 0);
	else if (i) /* end the chain at its last buffer */
		(void)vdrv_desc(drv, q, (uint16_t)(i - 1), in_addr(in), in_u16(in),
				in_u8(in) & VIRTQ_DESC_F_WRITE, 0);
	(void)vdrv_avail(drv, q, 0);
	vdrv_w(drv, R_QUEUE_NOTIFY, q);
	run_hub(f, 0); /* I/O punted to io_uring's workers completes in a later run */
}

/* The parser alone, on its own queue: enable, pop, push, copy. */
static void more_vq(struct fuzz_virtio *f, struct fuzz_in *in)
{
	struct guest_mem *mem = &f->vm->mem;
	uint8_t sub = in_u8(in), buf[64];
	int r;

	switch (sub & 3) {
	case 0: {
		uint16_t size = sub & 4 ? in_u16(in) : (uint16_t)(1u << (in_u8(in) % 9));
		uint64_t desc = in_addr(in), avail = in_addr(in), used = in_addr(in);

		if (sub & 8) { /* aligned, as a driver would place them */
			desc &= ~15ull;
			avail &= ~1ull;
			used &= ~3ull;
		}
		r = vq_enable(&f->vq, size, desc, avail, used, sub & 16);
		FUZZ_CHECK(r == 0 || r == -EINVAL);
		FUZZ_CHECK(r == 0 ? f->vq.size == size : f->vq.size == 0);
		f->chain_valid = false;
		break;
	}
	case 1:
		r = vq_pop(&f->vq, &f->chain);
		FUZZ_CHECK(r == 1 || r == 0 || r == -EINVAL || r == -EIO);
		if (r == 1)
			check_chain(f, &f->chain, f->vq.size);
		if (r == -EINVAL)
			FUZZ_CHECK(f->chain.error && f->chain.head < f->vq.size);
		if (r == -EIO)
			FUZZ_CHECK(f->vq.broken);
		f->chain_valid = r == 1 || r == -EINVAL;
		f->chain_pushed = false;
		if (r == -EINVAL || (r == 1 && (sub & 4))) {
			r = vq_push(&f->vq, f->chain.head, in_u32(in));
			FUZZ_CHECK(r == 0 || r == -EIO);
			f->chain_pushed = true;
		}
		break;
	case 2: /* a driver's chain goes back once (the device's bookkeeping relies on it) */
		if (!f->chain_valid || f->chain_pushed)
			break;
		f->chain_pushed = true;
		r = vq_push(&f->vq, f->chain.head, in_u32(in));
		FUZZ_CHECK(r == 0 || r == -EIO);
		(void)vq_should_interrupt(&f->vq);
		(void)vq_pending(&f->vq);
		break;
	default: {
		uint64_t off = in_u32(in);
		size_t len = in_u8(in) % sizeof(buf);

		if (!f->chain_valid)
			break;
		memset(buf, 0xa5, sizeof(buf));
		r = sub & 4 ? vq_chain_write(mem, &f->chain, off, buf, len)
			    : vq_chain_read(mem, &f->chain, off, buf, len);
		if (off + len > (sub & 4 ? f->chain.in_len : f->chain.out_len))
			FUZZ_CHECK(r == -ERANGE);
		else
			FUZZ_CHECK(r == 0 || r == -EFAULT || r == -EPERM);
		break;
	}
	}
}

/* ---- OP_SANITY: the device still works -------------------------------------------------- */

/* Run the hub until queue q of device d has `want` used entries (2 s at most). */
static bool wait_used(struct fuzz_virtio *f, unsigned int d, unsigned int q, uint16_t want)
{
	for (int i = 0; i < 2000; i++) {
		uint16_t idx;

		if (vdrv_used_idx(&f->drv[d], q, &idx) == 0 && idx == want)
			return true;
		run_hub(f, 1);
	}
	return false;
}

static void more_sanity(struct fuzz_virtio *f, struct fuzz_in *in)
{
	unsigned int d = in_dev(in, NULL), q = 0;
	struct guest_mem *mem = &f->vm->mem;
	struct vdrv *drv = &f->drv[d];
	uint8_t data[512], status = 0xee;
	uint32_t id, len;
	const char *why;

	/*
	 * Requests of other devices still in flight would land in guest memory the input chose,
	 * maybe these rings: a reset of every device drops them at completion.
	 */
	for (int o = 0; o < NR_DEVS; o++)
		vdrv_w(&f->drv[o], R_STATUS, 0);
	/* whatever the input did to these pages: shared RAM again */
	FUZZ_SETUP(guest_mem_convert(mem, SANE_RINGS, 0x100000, false) == 0);
	/* every feature offered (the balloon's reporting queue exists only with its feature) */
	why = vdrv_init(drv, f->dev[d]->base, f->dev[d]->device_features, f->dev[d]->ops->nr_queues,
			16, SANE_RINGS, 0x10000);
	if (why)
		dprintf(fuzz_report_fd, "fuzz: %s: %s\n", f->dev[d]->name, why);
	FUZZ_CHECK(why == NULL);
	memset(data, 0x5a, sizeof(data));
	FUZZ_SETUP(guest_mem_write(mem, SANE_BUF, data, sizeof(data)) == 0);
	switch (d) {
	case DEV_BLK:
	case DEV_BLK_RO: {
		struct {
			uint32_t type, reserved;
			uint64_t sector;
		} hdr = { 0 /* IN */, 0, 8 };
		uint8_t disk[512];

		FUZZ_SETUP(guest_mem_write(mem, SANE_BUF + 0x1000, &hdr, sizeof(hdr)) == 0);
		FUZZ_SETUP(guest_mem_write(mem, SANE_BUF + 0x2000, &status, 1) == 0);
		vdrv_desc(drv, 0, 0, SANE_BUF + 0x1000, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1);
		vdrv_desc(drv, 0, 1, SANE_BUF, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
		vdrv_desc(drv, 0, 2, SANE_BUF + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
		vdrv_avail(drv, 0, 0);
		vdrv_w(drv, R_QUEUE_NOTIFY, 0);
		FUZZ_CHECK(wait_used(f, d, 0, 1));
		FUZZ_SETUP(guest_mem_read(mem, SANE_BUF + 0x2000, &status, 1) == 0);
		FUZZ_CHECK(status == 0);
		FUZZ_SETUP(guest_mem_read(mem, SANE_BUF, data, sizeof(data)) == 0);
		FUZZ_SETUP(pread(d == DEV_BLK ? f->image.fd : f->image_ro.fd, disk, 512, 8 * 512) ==
			   512);
		FUZZ_CHECK(memcmp(data, disk, 512) == 0);
		break;
	}
	case DEV_RNG:
	case DEV_CONSOLE: {
		struct stat before, after;

		/* rng: 100 bytes asked; console: 100 bytes sent on its transmit queue (1) */
		q = d == DEV_CONSOLE;
		FUZZ_SETUP(fstat(f->sink.fd, &before) == 0);
		vdrv_desc(drv, q, 0, SANE_BUF, 100, d == DEV_RNG ? VIRTQ_DESC_F_WRITE : 0, 0);
		vdrv_avail(drv, q, 0);
		vdrv_w(drv, R_QUEUE_NOTIFY, q);
		FUZZ_CHECK(wait_used(f, d, q, 1));
		FUZZ_CHECK(vdrv_used_elem(drv, q, 0, &id, &len) == 0 && id == 0);
		FUZZ_SETUP(fstat(f->sink.fd, &after) == 0);
		if (d == DEV_RNG)
			FUZZ_CHECK(len == 100);
		else { /* in order, after whatever earlier chains had staged */
			uint8_t tail[100];

			FUZZ_CHECK(after.st_size >= before.st_size + 100);
			FUZZ_SETUP(pread(f->sink.fd, tail, 100, after.st_size - 100) == 100);
			FUZZ_CHECK(memcmp(tail, data, 100) == 0);
		}
		break;
	}
	default: /* balloon: inflate by nothing */
		vdrv_desc(drv, 0, 0, SANE_BUF, 0, 0, 0);
		vdrv_avail(drv, 0, 0);
		vdrv_w(drv, R_QUEUE_NOTIFY, 0);
		FUZZ_CHECK(wait_used(f, d, 0, 1));
		break;
	}
}

static void op_more(struct fuzz_virtio *f, struct fuzz_in *in)
{
	switch (in_u8(in) % NR_MORE) {
	case MORE_REQ:
		more_req(f, in);
		break;
	case MORE_VQ:
		more_vq(f, in);
		break;
	case MORE_BALLOON:
		virtio_balloon_set_target(f->dev[DEV_BALLOON], (uint64_t)in_u32(in) * 4096);
		break;
	case MORE_SANITY:
		more_sanity(f, in);
		break;
	default:
		run_hub(f, in_u8(in) % 2); /* 1: wait a millisecond for I/O */
		break;
	}
}

static void op_run(struct fuzz_virtio *f, struct fuzz_in *in)
{
	uint8_t op = in_u8(in), buf[256];
	unsigned int q, d;
	uint64_t a;
	size_t n;

	switch (op & 7) {
	case OP_INIT:
		op_init(f, in);
		break;
	case OP_REG:
		op_reg(f, in, op);
		break;
	case OP_DESC:
		op_desc(f, in);
		break;
	case OP_AVAIL:
		op_avail(f, in, op);
		break;
	case OP_MEM:
		a = in_le(in, 3) % RAM_SIZE;
		n = in_bytes(in, buf, in_u8(in));
		if (n)
			(void)guest_mem_write(&f->vm->mem, a, buf, n);
		break;
	case OP_NOTIFY:
		d = in_dev(in, &q);
		vdrv_w(&f->drv[d], R_QUEUE_NOTIFY, OP_FLAG(op, 0) ? in_u32(in) : q);
		if (!OP_FLAG(op, 1))
			run_hub(f, 0);
		break;
	case OP_ATTR: {
		uint64_t page = in_u16(in) % PAGES, pages = in_u8(in) % 16 + 1;

		if (OP_FLAG(op, 1))
			(void)guest_mem_discard(&f->vm->mem, page * 4096, pages * 4096);
		else
			(void)guest_mem_convert(&f->vm->mem, page * 4096, pages * 4096,
						OP_FLAG(op, 0));
		break;
	}
	default:
		op_more(f, in);
		break;
	}
	check_all(f);
}

FUZZ_QUIET_INITIALIZE()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct fuzz_resources res;
	struct fuzz_virtio *f;

	fuzz_resources_take(&res);
	/* first byte: the RAM backing (memfd or anonymous: discards differ) */
	f = fv_create(in_u8(&in) & 1 ? MEM_BACKING_ANONYMOUS : MEM_BACKING_MEMFD);
	for (int i = 0; i < MAX_OPS && in.n; i++)
		op_run(f, &in);
	fv_destroy(f);
	fuzz_resources_check(&res);
	return 0;
}
