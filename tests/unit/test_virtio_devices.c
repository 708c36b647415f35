// SPDX-License-Identifier: MIT
/*
 * The virtio devices end to end without KVM: a struct vm with guest memory (vm_fd = -1) and
 * its MMIO bus, the hub's io_uring, and a test driver that speaks virtio-mmio through
 * io_bus_dispatch() as a guest would (feature negotiation, queue setup, notify, InterruptStatus)
 * and pumps the hub as the main loop does. virtio-blk on an image in the test directory (read,
 * write, flush, get-id, discard, write-zeroes, bounds, malformed requests, read-only, reset
 * with I/O in flight, chunked requests), virtio-rng, virtio-balloon (inflate, reporting),
 * virtio-console (output to a file byte-exact, appended or truncated; a chain bigger than the
 * staging buffer; hostile chains; a full non-blocking pipe: short writes and EAGAIN; reset
 * with output pending; the null sink).
 */
#include "unit.h"

#include <linux/falloc.h>
#include <poll.h>

#include "../../arch/x86/layout.h"
#include "../../devices/virtio/virtio.h"
#include "../../vmm/vm.h"
#include "virtio_drv.h"

#define RAM (32 * MiB)
#define DESC 0x10000ull
#define AVAIL 0x11000ull
#define USED 0x12000ull
#define QSTRIDE 0x10000ull /* queue q's rings at DESC + q * QSTRIDE */
#define HDR 0x100000ull	   /* request headers */
#define BUF 0x200000ull	   /* data */
#define STATUS 0x180000ull /* status bytes */
#define DISK (8 * MiB)

#define T_IN 0
#define T_OUT 1
#define T_FLUSH 4
#define T_GET_ID 8
#define T_DISCARD 11
#define T_WRITE_ZEROES 13
#define S_OK 0
#define S_IOERR 1
#define S_UNSUPP 2

struct fixture {
	struct vm vm;
	struct virtio_hub *hub;
	struct virtio_dev *dev;
	struct vdrv drv; /* the test driver (virtio_drv.h) bound to dev */
	char img[PATH_MAX];
	int img_fd;
};

static struct fixture *F;

static int fx_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->vm.fd = -1;
	f->img_fd = -1;
	assert_int_equal(guest_mem_init(&f->vm.mem, -1, MEM_BACKING_MEMFD, 0), 0);
	assert_int_equal(guest_mem_add_ram(&f->vm.mem, 0, RAM), 0);
	f->hub = virtio_hub_create(&f->vm);
	assert_non_null(f->hub);
	F = f;
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fixture *f = *state;

	virtio_hub_destroy(f->hub);
	guest_mem_destroy(&f->vm.mem);
	if (f->img_fd >= 0)
		close(f->img_fd);
	free(f);
	unit_free_all();
	F = NULL;
	return 0;
}

/* ---- the test driver ---------------------------------------------------------------------- */

static void mmio_w(uint64_t off, uint32_t v)
{
	assert_true(vdrv_w(&F->drv, off, v));
}

static uint32_t mmio_r(uint64_t off)
{
	uint32_t v;

	assert_true(vdrv_r(&F->drv, off, &v));
	return v;
}

static void put(uint64_t gpa, const void *p, size_t len)
{
	assert_int_equal(guest_mem_write(&F->vm.mem, gpa, p, len), 0);
}

static void get(uint64_t gpa, void *p, size_t len)
{
	assert_int_equal(guest_mem_read(&F->vm.mem, gpa, p, len), 0);
}

/* Negotiate `want` (must be offered) and set up queues 0..nq-1 of 16 entries. */
static void drv_init(struct virtio_dev *dev, uint64_t want, unsigned int nq)
{
	const char *why;

	F->dev = dev;
	F->drv.mmio = &F->vm.mmio;
	F->drv.mem = &F->vm.mem;
	why = vdrv_init(&F->drv, dev->base, want, nq, 16, DESC, QSTRIDE);
	if (why)
		fail_msg("initialising %s: %s", dev->name, why);
}

static void desc(unsigned int q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	assert_int_equal(vdrv_desc(&F->drv, q, i, addr, len, flags, next), 0);
}

static void avail(unsigned int q, uint16_t head)
{
	assert_int_equal(vdrv_avail(&F->drv, q, head), 0);
}

static uint16_t used_idx(unsigned int q)
{
	uint16_t v;

	assert_int_equal(vdrv_used_idx(&F->drv, q, &v), 0);
	return v;
}

/* Run the hub as the main loop would until queue q's used index reaches `want` (5 s max). */
static void pump_until(unsigned int q, uint16_t want)
{
	for (int i = 0; i < 500 && used_idx(q) != want; i++) {
		struct pollfd pfd = { .fd = virtio_hub_fd(F->hub), .events = POLLIN };

		poll(&pfd, 1, 10);
		virtio_hub_run(F->hub);
	}
	assert_int_equal(used_idx(q), want);
}

/* Notify queue q and wait for one more used entry; returns its written length. */
static uint32_t kick_and_wait(unsigned int q)
{
	struct vdrv_queue *qu = &F->drv.q[q];
	uint32_t id, len;

	mmio_w(R_QUEUE_NOTIFY, q);
	pump_until(q, (uint16_t)(qu->used_seen + 1));
	assert_int_equal(vdrv_used_elem(&F->drv, q, qu->used_seen, &id, &len), 0);
	qu->used_seen++;
	assert_true(mmio_r(R_ISR) & VIRTIO_INT_USED_RING);
	mmio_w(R_ISR_ACK, VIRTIO_INT_USED_RING);
	return len;
}

/* ---- virtio-blk ------------------------------------------------------------------------------ */

struct blk_hdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct virtio_dev *make_disk(const char *name, bool readonly, const char *id)
{
	struct virtio_dev *dev;

	unit_path(F->img, name);
	F->img_fd = open(F->img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(F->img_fd >= 0);
	assert_int_equal(ftruncate(F->img_fd, DISK), 0);
	dev = virtio_blk_create(F->hub, F->img, readonly, id);
	assert_non_null(dev);
	return dev;
}

/* One request: header, `n` data buffers of `len` bytes at BUF + i * stride, status. */
static uint8_t blk_req(uint32_t type, uint64_t sector, unsigned int n, uint32_t len,
		       uint64_t stride, bool data_in, uint32_t *written)
{
	struct blk_hdr hdr = { type, 0, sector };
	uint8_t status = 0xee;
	uint16_t i = 1;
	uint32_t w;

	put(HDR, &hdr, sizeof(hdr));
	put(STATUS, &status, 1);
	desc(0, 0, HDR, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1);
	for (unsigned int b = 0; b < n; b++, i++)
		desc(0, i, BUF + b * stride, len,
		     VIRTQ_DESC_F_NEXT | (data_in ? VIRTQ_DESC_F_WRITE : 0), (uint16_t)(i + 1));
	desc(0, i, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	avail(0, 0);
	w = kick_and_wait(0);
	if (written)
		*written = w;
	get(STATUS, &status, 1);
	return status;
}

static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed + i * 31 + (i >> 9));
}

static void test_blk_config_and_features(void **state)
{
	uint64_t capacity = 0, features;
	uint8_t b;

	(void)state;
	drv_init(make_disk("cfg.img", false, "cfg-disk"), 0, 1);
	assert_int_equal(mmio_r(R_DEVICE_ID), VIRTIO_ID_BLOCK);
	mmio_w(R_DEV_FEATURES_SEL, 0);
	features = mmio_r(R_DEV_FEATURES);
	assert_true(features & (1u << 9));  /* FLUSH */
	assert_true(features & (1u << 13)); /* DISCARD */
	assert_true(features & (1u << 14)); /* WRITE_ZEROES */
	assert_false(features & (1u << 5)); /* not RO */
	/* config space takes any width */
	assert_true(io_bus_dispatch(&F->vm.mmio, NULL, F->drv.base + R_CONFIG, (uint8_t *)&capacity,
				    8, false));
	assert_int_equal(capacity, DISK / 512);
	assert_true(io_bus_dispatch(&F->vm.mmio, NULL, F->drv.base + R_CONFIG + 1, &b, 1, false));
	assert_int_equal(b, (DISK / 512) >> 8);
	/* beyond the config space: zeros; registers at odd widths: zeros */
	assert_true(io_bus_dispatch(&F->vm.mmio, NULL, F->drv.base + R_CONFIG + 60, &b, 1, false));
	assert_int_equal(b, 0);
	assert_true(io_bus_dispatch(&F->vm.mmio, NULL, F->drv.base + R_MAGIC, &b, 1, false));
	assert_int_equal(b, 0);
	/* unknown feature bits are refused at FEATURES_OK */
	mmio_w(R_STATUS, 0);
	mmio_w(R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mmio_w(R_DRV_FEATURES_SEL, 1);
	mmio_w(R_DRV_FEATURES, 1 | (1u << 20));
	mmio_w(R_STATUS,
	       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	assert_false(mmio_r(R_STATUS) & VIRTIO_STATUS_FEATURES_OK);
}

static void test_blk_read_write_flush_id(void **state)
{
	uint8_t *data = unit_alloc(8192), *back = unit_alloc(8192), id[20];
	uint32_t written;

	(void)state;
	drv_init(make_disk("rw.img", false, "disk-serial-42"), 0, 1);
	fill(data, 8192, 7);
	put(BUF, data, 4096);
	put(BUF + 0x10000, data + 4096, 4096);
	assert_int_equal(blk_req(T_OUT, 16, 2, 4096, 0x10000, false, &written), S_OK);
	assert_int_equal(written, 1);
	assert_int_equal(pread(F->img_fd, back, 8192, 16 * 512), 8192);
	assert_memory_equal(back, data, 8192);

	/* read it back into fresh buffers */
	memset(back, 0, 8192);
	put(BUF, back, 4096);
	put(BUF + 0x10000, back, 4096);
	assert_int_equal(blk_req(T_IN, 16, 2, 4096, 0x10000, true, &written), S_OK);
	assert_int_equal(written, 8192 + 1);
	get(BUF, back, 4096);
	get(BUF + 0x10000, back + 4096, 4096);
	assert_memory_equal(back, data, 8192);

	assert_int_equal(blk_req(T_FLUSH, 0, 0, 0, 0, true, &written), S_OK);

	memset(id, 0xff, sizeof(id));
	put(BUF, id, sizeof(id));
	assert_int_equal(blk_req(T_GET_ID, 0, 1, 20, 0, true, &written), S_OK);
	assert_int_equal(written, 21);
	get(BUF, id, sizeof(id));
	assert_memory_equal(id, "disk-serial-42\0\0\0\0\0\0", 20);
	unit_free(data);
	unit_free(back);
}

/* 3 MiB through 1 MiB bounce chunks, in buffers that do not line up with the chunks. */
static void test_blk_large_request(void **state)
{
	size_t len = 3 * MiB;
	uint8_t *data = unit_alloc(len), *back = unit_alloc(len);
	uint32_t pieces[] = { 512, 3 * 512, 1 * MiB + 512, 2 * MiB - 5 * 512 };
	uint64_t off = 0;
	struct blk_hdr hdr = { T_OUT, 0, 1000 };
	uint8_t status;

	(void)state;
	drv_init(make_disk("big.img", false, NULL), 0, 1);
	fill(data, len, 3);
	put(HDR, &hdr, sizeof(hdr));
	desc(0, 0, HDR, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1);
	for (uint16_t i = 0; i < 4; i++) {
		put(BUF + off + i * 4096ull, data + off, pieces[i]);
		desc(0, (uint16_t)(i + 1), BUF + off + i * 4096ull, pieces[i], VIRTQ_DESC_F_NEXT,
		     (uint16_t)(i + 2));
		off += pieces[i];
	}
	assert_int_equal(off, len);
	desc(0, 5, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	avail(0, 0);
	kick_and_wait(0);
	get(STATUS, &status, 1);
	assert_int_equal(status, S_OK);
	assert_int_equal(pread(F->img_fd, back, len, 1000 * 512), (ssize_t)len);
	assert_memory_equal(back, data, len);
	unit_free(data);
	unit_free(back);
}

static void test_blk_bounds_and_errors(void **state)
{
	uint8_t before[4096], after[4096];
	struct blk_hdr hdr = { T_IN, 0, 0 };
	uint8_t status;
	uint32_t written;

	(void)state;
	drv_init(make_disk("err.img", false, NULL), 0, 1);
	assert_int_equal(pread(F->img_fd, before, sizeof(before), 0), 4096);
	/* past the end, straddling the end, sector overflow */
	assert_int_equal(blk_req(T_IN, DISK / 512, 1, 512, 0, true, NULL), S_IOERR);
	assert_int_equal(blk_req(T_OUT, DISK / 512 - 1, 1, 1024, 0, false, NULL), S_IOERR);
	assert_int_equal(blk_req(T_IN, 0xffffffffffffffffull, 1, 512, 0, true, NULL), S_IOERR);
	assert_int_equal(blk_req(T_IN, 0x80000000000000ull, 1, 512, 0, true, NULL), S_IOERR);
	/* not a multiple of 512 */
	assert_int_equal(blk_req(T_IN, 0, 1, 100, 0, true, NULL), S_IOERR);
	/* unknown type */
	assert_int_equal(blk_req(77, 0, 1, 512, 0, true, NULL), S_UNSUPP);
	/* header too short: 8 bytes */
	put(HDR, &hdr, sizeof(hdr));
	desc(0, 0, HDR, 8, VIRTQ_DESC_F_NEXT, 1);
	desc(0, 1, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	avail(0, 0);
	kick_and_wait(0);
	get(STATUS, &status, 1);
	assert_int_equal(status, S_IOERR);
	/* a malformed chain (a buffer outside RAM) still gets IOERR in its final descriptor */
	status = 0xee;
	put(STATUS, &status, 1);
	desc(0, 0, HDR, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1);
	desc(0, 1, RAM - 256, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc(0, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	avail(0, 0);
	assert_int_equal(kick_and_wait(0), 1);
	get(STATUS, &status, 1);
	assert_int_equal(status, S_IOERR);
	/* a loop: no status to write, the head comes back with 0 bytes */
	desc(0, 3, HDR, sizeof(hdr), VIRTQ_DESC_F_NEXT, 4);
	desc(0, 4, STATUS, 1, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
	avail(0, 3);
	assert_int_equal(kick_and_wait(0), 0);
	/* a data buffer in a private page: refused, status written, nothing read from the disk */
	assert_int_equal(guest_mem_convert(&F->vm.mem, BUF, 0x1000, true), 0);
	assert_int_equal(blk_req(T_OUT, 0, 1, 512, 0, false, &written), S_IOERR);
	assert_int_equal(guest_mem_convert(&F->vm.mem, BUF, 0x1000, false), 0);
	/* and the device still works */
	assert_int_equal(blk_req(T_IN, 0, 1, 4096, 0, true, NULL), S_OK);
	assert_int_equal(pread(F->img_fd, after, sizeof(after), 0), 4096);
	assert_memory_equal(before, after, 4096);
	assert_false(mmio_r(R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

struct seg {
	uint64_t sector;
	uint32_t num;
	uint32_t flags;
};

static uint8_t blk_segs(uint32_t type, const struct seg *segs, unsigned int n)
{
	struct blk_hdr hdr = { type, 0, 0 };
	uint8_t status = 0xee;

	put(HDR, &hdr, sizeof(hdr));
	put(BUF, segs, n * sizeof(*segs));
	put(STATUS, &status, 1);
	desc(0, 0, HDR, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1);
	desc(0, 1, BUF, n * (uint32_t)sizeof(*segs), VIRTQ_DESC_F_NEXT, 2);
	desc(0, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	avail(0, 0);
	kick_and_wait(0);
	get(STATUS, &status, 1);
	return status;
}

static bool file_zero(int fd, off_t off, size_t len)
{
	uint8_t buf[4096];

	for (size_t done = 0; done < len; done += sizeof(buf)) {
		assert_int_equal(pread(fd, buf, sizeof(buf), off + (off_t)done), sizeof(buf));
		for (size_t i = 0; i < sizeof(buf); i++) {
			if (buf[i])
				return false;
		}
	}
	return true;
}

static void test_blk_discard_write_zeroes(void **state)
{
	uint8_t *ones = unit_alloc(4 * MiB);
	struct stat st;
	blkcnt_t full;
	struct seg segs[3] = {
		{ 0, 2048, 0 },	   /* discard 1 MiB at 0 */
		{ 4096, 2048, 0 }, /* and 1 MiB at 2 MiB */
	};

	(void)state;
	drv_init(make_disk("discard.img", false, NULL),
		 (1ull << 13) | (1ull << 14) /* DISCARD, WRITE_ZEROES */, 1);
	memset(ones, 0x11, 4 * MiB);
	assert_int_equal(pwrite(F->img_fd, ones, 4 * MiB, 0), 4 * MiB);
	assert_int_equal(fsync(F->img_fd), 0);
	assert_int_equal(fstat(F->img_fd, &st), 0);
	full = st.st_blocks;

	assert_int_equal(blk_segs(T_DISCARD, segs, 2), S_OK);
	assert_true(file_zero(F->img_fd, 0, 1 * MiB));
	assert_false(file_zero(F->img_fd, 1 * MiB, 4096));
	assert_true(file_zero(F->img_fd, 2 * MiB, 1 * MiB));
	assert_int_equal(fstat(F->img_fd, &st), 0);
	assert_true(st.st_blocks <= full - (blkcnt_t)(2 * MiB / 512)); /* holes punched */

	/* write zeroes without unmap (ZERO_RANGE or a hole), with unmap (a hole) */
	segs[0] = (struct seg){ 2048, 8, 0 };
	segs[1] = (struct seg){ 6144, 8, 1 };
	assert_int_equal(blk_segs(T_WRITE_ZEROES, segs, 2), S_OK);
	assert_true(file_zero(F->img_fd, 1 * MiB, 4096));
	assert_true(file_zero(F->img_fd, 3 * MiB, 4096));
	assert_false(file_zero(F->img_fd, 1 * MiB + 4096, 4096));

	/* bad requests: unmap flag on discard, unknown flags, out of range, ragged payload */
	segs[0] = (struct seg){ 0, 8, 1 };
	assert_int_equal(blk_segs(T_DISCARD, segs, 1), S_UNSUPP);
	segs[0] = (struct seg){ 0, 8, 2 };
	assert_int_equal(blk_segs(T_WRITE_ZEROES, segs, 1), S_UNSUPP);
	segs[0] = (struct seg){ DISK / 512 - 4, 8, 0 };
	assert_int_equal(blk_segs(T_DISCARD, segs, 1), S_IOERR);
	segs[0] = (struct seg){ 0xfffffffffffffff0ull, 0x20, 0 };
	assert_int_equal(blk_segs(T_DISCARD, segs, 1), S_IOERR);
	{
		struct blk_hdr hdr = { T_DISCARD, 0, 0 };
		uint8_t status;

		put(HDR, &hdr, sizeof(hdr));
		desc(0, 0, HDR, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1);
		desc(0, 1, BUF, 20, VIRTQ_DESC_F_NEXT, 2);
		desc(0, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
		avail(0, 0);
		kick_and_wait(0);
		get(STATUS, &status, 1);
		assert_int_equal(status, S_IOERR);
	}
	unit_free(ones);
}

static void test_blk_readonly(void **state)
{
	uint8_t data[4096], back[4096];
	struct seg seg = { 0, 8, 0 };

	(void)state;
	drv_init(make_disk("ro.img", true, "ro"), 1ull << 5 /* RO */, 1);
	mmio_w(R_DEV_FEATURES_SEL, 0);
	assert_false(mmio_r(R_DEV_FEATURES) & (1u << 13)); /* no DISCARD on a read-only disk */
	fill(data, sizeof(data), 9);
	assert_int_equal(pwrite(F->img_fd, data, sizeof(data), 0), 4096);
	memset(back, 0, sizeof(back));
	put(BUF, back, sizeof(back));
	/* writes, discards and write-zeroes are refused whatever the driver negotiated */
	assert_int_equal(blk_req(T_OUT, 0, 1, 4096, 0, false, NULL), S_IOERR);
	assert_int_equal(blk_segs(T_DISCARD, &seg, 1), S_IOERR);
	assert_int_equal(blk_segs(T_WRITE_ZEROES, &seg, 1), S_IOERR);
	assert_int_equal(pread(F->img_fd, back, sizeof(back), 0), 4096);
	assert_memory_equal(back, data, sizeof(data));
	assert_int_equal(blk_req(T_IN, 0, 1, 4096, 0, true, NULL), S_OK);
	get(BUF, back, sizeof(back));
	assert_memory_equal(back, data, sizeof(data));
}

/*
 * A reset with a request in flight: the request is dropped at completion without touching
 * guest memory. The image's pages are dropped from the page cache first so that the read
 * goes to io_uring's workers and is still in flight when the driver resets; should it
 * complete first anyway, the request must simply have completed normally.
 */
static void test_blk_reset_in_flight(void **state)
{
	size_t len = 4 * MiB;
	struct blk_hdr hdr = { T_IN, 0, 0 };
	uint8_t status = 0xee, *buf = unit_alloc(len);
	struct pollfd pfd;

	(void)state;
	drv_init(make_disk("reset.img", false, NULL), 0, 1);
	memset(buf, 0x5a, len);
	assert_int_equal(pwrite(F->img_fd, buf, len, 0), (ssize_t)len);
	assert_int_equal(fsync(F->img_fd), 0);
	assert_int_equal(posix_fadvise(F->img_fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	memset(buf, 0, len);
	put(BUF, buf, len);
	put(HDR, &hdr, sizeof(hdr));
	put(STATUS, &status, 1);
	desc(0, 0, HDR, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1);
	desc(0, 1, BUF, (uint32_t)len, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc(0, 2, STATUS, 1, VIRTQ_DESC_F_WRITE, 0);
	avail(0, 0);
	mmio_w(R_QUEUE_NOTIFY, 0);
	pfd = (struct pollfd){ .fd = virtio_hub_fd(F->hub), .events = POLLIN };
	poll(&pfd, 1, 1000);
	virtio_hub_run(F->hub); /* kick -> request taken, first chunk submitted */
	mmio_w(R_STATUS, 0);
	assert_int_equal(mmio_r(R_STATUS), 0);
	for (int i = 0; i < 100; i++) {
		poll(&pfd, 1, 10);
		virtio_hub_run(F->hub);
	}
	get(STATUS, &status, 1);
	get(BUF + len - 4096, buf, 4096);
	if (used_idx(0) == 0) {
		/* dropped: data buffer and status untouched */
		assert_int_equal(status, 0xee);
		assert_int_equal(buf[0], 0);
	} else {
		print_message("note: the read completed before the reset\n");
		assert_int_equal(status, S_OK);
		assert_int_equal(buf[0], 0x5a);
	}
	/* and the device works after a new initialisation */
	drv_init(F->dev, 0, 1);
	assert_int_equal(blk_req(T_IN, 0, 1, 512, 0, true, NULL), S_OK);
	get(BUF, buf, 512);
	assert_int_equal(buf[0], 0x5a);
	unit_free(buf);
}

/* The driver breaks the ring: DEVICE_NEEDS_RESET and a config interrupt, other devices fine. */
static void test_blk_broken_ring(void **state)
{
	uint16_t idx = 40;

	(void)state;
	drv_init(make_disk("broken.img", false, NULL), 0, 1);
	put(AVAIL + 2, &idx, 2);
	mmio_w(R_QUEUE_NOTIFY, 0);
	for (int i = 0; i < 100 && !(mmio_r(R_STATUS) & VIRTIO_STATUS_NEEDS_RESET); i++) {
		struct pollfd pfd = { .fd = virtio_hub_fd(F->hub), .events = POLLIN };

		poll(&pfd, 1, 10);
		virtio_hub_run(F->hub);
	}
	assert_true(mmio_r(R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	assert_true(mmio_r(R_ISR) & VIRTIO_INT_CONFIG);
	/* bad ring addresses at QUEUE_READY: the same */
	mmio_w(R_STATUS, 0);
	mmio_w(R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	mmio_w(R_QUEUE_SEL, 0);
	mmio_w(R_QUEUE_NUM, 16);
	mmio_w(R_QUEUE_DESC, 0xd0000000u);
	mmio_w(R_QUEUE_READY, 1);
	assert_true(mmio_r(R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	/* a reset clears it */
	drv_init(F->dev, 0, 1);
	assert_int_equal(blk_req(T_IN, 0, 1, 512, 0, true, NULL), S_OK);
}

/* ---- virtio-rng ---------------------------------------------------------------------------- */

static void test_rng(void **state)
{
	uint8_t buf[256];
	unsigned int nonzero = 0;

	(void)state;
	drv_init(virtio_rng_create(F->hub), 0, 1);
	assert_int_equal(mmio_r(R_DEVICE_ID), VIRTIO_ID_RNG);
	memset(buf, 0, sizeof(buf));
	put(BUF, buf, sizeof(buf));
	desc(0, 0, BUF, 100, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(0, 1, BUF + 100, 156, VIRTQ_DESC_F_WRITE, 0);
	avail(0, 0);
	assert_int_equal(kick_and_wait(0), 256);
	get(BUF, buf, sizeof(buf));
	for (unsigned int i = 0; i < sizeof(buf); i++)
		nonzero += buf[i] != 0;
	assert_true(nonzero > 200);
	/* a huge request gets a bounded answer */
	desc(0, 0, BUF, 8 * MiB, VIRTQ_DESC_F_WRITE, 0);
	avail(0, 0);
	assert_int_equal(kick_and_wait(0), 65536);
	/* a device-readable buffer gives nothing */
	desc(0, 0, BUF, 64, 0, 0);
	avail(0, 0);
	assert_int_equal(kick_and_wait(0), 0);
}

/* VIRTIO_F_EVENT_IDX through the transport: offered, and once negotiated the driver's
 * used_event decides interrupts and the device keeps avail_event at its position */
static void test_rng_event_idx(void **state)
{
	uint16_t ev, avail_ev;

	(void)state;
	drv_init(virtio_rng_create(F->hub), 1ull << VIRTIO_F_EVENT_IDX, 1);
	desc(0, 0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	avail(0, 0);
	assert_int_equal(kick_and_wait(0), 16); /* the first completion interrupts */
	get(USED + 4 + 8 * 16, &avail_ev, 2);
	assert_int_equal(avail_ev, 1);
	/* used_event 5: completions 2..5 raise nothing */
	ev = 5;
	put(AVAIL + 4 + 2 * 16, &ev, 2);
	avail(0, 0);
	mmio_w(R_QUEUE_NOTIFY, 0);
	pump_until(0, 2);
	assert_int_equal(mmio_r(R_ISR) & VIRTIO_INT_USED_RING, 0);
	get(USED + 4 + 8 * 16, &avail_ev, 2);
	assert_int_equal(avail_ev, 2);
	/* used_event 2: the third completion steps over it */
	ev = 2;
	put(AVAIL + 4 + 2 * 16, &ev, 2);
	F->drv.q[0].used_seen = 2;
	avail(0, 0);
	assert_int_equal(kick_and_wait(0), 16);
}

/* ---- virtio-balloon -------------------------------------------------------------------------- */

static void test_balloon(void **state)
{
	uint64_t before, after, target = 0;
	uint8_t *page = unit_alloc(4096);
	uint32_t pfns[4], actual = 123;

	(void)state;
	drv_init(virtio_balloon_create(F->hub, 8 * MiB), 1ull << 5 /* REPORTING */, 3);
	assert_int_equal(mmio_r(R_DEVICE_ID), VIRTIO_ID_BALLOON);
	assert_true(io_bus_dispatch(&F->vm.mmio, NULL, F->drv.base + R_CONFIG, (uint8_t *)&target,
				    4, false));
	assert_int_equal(target, 8 * MiB / 4096);
	mmio_w(R_CONFIG + 4, actual);
	assert_int_equal(mmio_r(R_CONFIG + 4), 123);
	mmio_w(R_CONFIG, 7); /* num_pages is the device's */
	assert_int_equal(mmio_r(R_CONFIG), 8 * MiB / 4096);

	/* touch 4 MiB at 8 MiB and 2 pages at 16 MiB */
	memset(page, 0x77, 4096);
	for (uint64_t off = 0; off < 4 * MiB; off += 4096)
		put(8 * MiB + off, page, 4096);
	put(16 * MiB, page, 4096);
	put(16 * MiB + 4096, page, 4096);
	before = guest_mem_resident_bytes(&F->vm.mem);

	/* inflate: two pages, one page outside RAM (skipped) */
	pfns[0] = (uint32_t)(16 * MiB / 4096);
	pfns[1] = pfns[0] + 1;
	pfns[2] = (uint32_t)(VIRTIO_MMIO_BASE / 4096);
	put(BUF, pfns, 3 * 4);
	desc(0, 0, BUF, 12, 0, 0);
	avail(0, 0);
	kick_and_wait(0);
	get(16 * MiB, page, 4096);
	assert_int_equal(page[0], 0);

	/* free page reporting: 4 MiB given back as a device-writable buffer */
	desc(2, 0, 8 * MiB, 2 * MiB, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	desc(2, 1, 10 * MiB, 2 * MiB, VIRTQ_DESC_F_WRITE, 0);
	avail(2, 0);
	assert_int_equal(kick_and_wait(2), 0);
	after = guest_mem_resident_bytes(&F->vm.mem);
	assert_true(after + 4 * MiB <= before);
	get(9 * MiB, page, 4096);
	assert_int_equal(page[0], 0);

	/* deflate: nothing to do but return the buffer */
	desc(1, 0, BUF, 8, 0, 0);
	avail(1, 0);
	kick_and_wait(1);

	/* a new target: config interrupt and generation */
	{
		uint32_t gen = mmio_r(0x0fc);

		virtio_balloon_set_target(F->dev, 2 * MiB);
		assert_int_equal(mmio_r(0x0fc), gen + 1);
		assert_true(mmio_r(R_ISR) & VIRTIO_INT_CONFIG);
		assert_int_equal(mmio_r(R_CONFIG), 2 * MiB / 4096);
	}
	unit_free(page);
}

/* ---- virtio-console ------------------------------------------------------------------------ */

#define CON_TX 1

static char con_path[PATH_MAX];

static struct virtio_dev *make_console_file(const char *name, const char *old, bool truncate)
{
	struct virtio_dev *dev;
	int fd;

	unit_path(con_path, name);
	if (old) {
		fd = open(con_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, old, strlen(old)), (ssize_t)strlen(old));
		close(fd);
	}
	fd = virtio_console_open(con_path, truncate);
	assert_true(fd >= 0);
	dev = virtio_console_create(F->hub, fd, true, con_path);
	assert_non_null(dev);
	return dev;
}

/* The whole file into a fresh unit_alloc()ed buffer; its length in *len. */
static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	p = unit_alloc((size_t)st.st_size + 1);
	assert_int_equal(pread(fd, p, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

/* One transmit chain of n buffers of the given lengths, consecutive at gpa; head 0. */
static void con_chain(uint64_t gpa, const uint32_t *lens, unsigned int n)
{
	for (uint16_t i = 0; i < n; i++) {
		desc(CON_TX, i, gpa, lens[i], (unsigned int)i + 1 < n ? VIRTQ_DESC_F_NEXT : 0,
		     (uint16_t)(i + 1));
		gpa += lens[i];
	}
	avail(CON_TX, 0);
}

static void test_console_file(void **state)
{
	static const char old[] = "earlier run\n";
	static const char msg1[] = "hello from the guest\n";
	size_t big = 200 * 1024, len; /* more than the 64 KiB staging buffer */
	uint8_t *data = unit_alloc(big), *file;
	uint32_t lens[3];
	uint64_t features;

	(void)state;
	drv_init(make_console_file("console.log", old, false), 0, 2);
	assert_int_equal(mmio_r(R_DEVICE_ID), VIRTIO_ID_CONSOLE);
	mmio_w(R_DEV_FEATURES_SEL, 0);
	features = mmio_r(R_DEV_FEATURES);
	assert_int_equal(features & 7, 0); /* no SIZE, MULTIPORT, EMERG_WRITE */

	/* a message split over two descriptors */
	put(BUF, msg1, sizeof(msg1) - 1);
	lens[0] = 5;
	lens[1] = sizeof(msg1) - 1 - 5;
	con_chain(BUF, lens, 2);
	assert_int_equal(kick_and_wait(CON_TX), 0);
	/* 200 KiB in three uneven pieces: staged and written in several rounds */
	fill(data, big, 5);
	put(BUF, data, big);
	lens[0] = 1000;
	lens[1] = 130 * 1024;
	lens[2] = (uint32_t)(big - 1000 - 130 * 1024);
	con_chain(BUF, lens, 3);
	assert_int_equal(kick_and_wait(CON_TX), 0);

	/* appended to what was there, byte-exact */
	file = slurp(con_path, &len);
	assert_int_equal(len, strlen(old) + strlen(msg1) + big);
	assert_memory_equal(file, old, strlen(old));
	assert_memory_equal(file + strlen(old), msg1, strlen(msg1));
	assert_memory_equal(file + strlen(old) + strlen(msg1), data, big);
	unit_free(file);
	unit_free(data);
}

static void test_console_truncate(void **state)
{
	static const char msg[] = "fresh\n";
	uint32_t l = sizeof(msg) - 1;
	uint8_t *file;
	size_t len;

	(void)state;
	drv_init(make_console_file("trunc.log", "old contents that must go\n", true), 0, 2);
	put(BUF, msg, l);
	con_chain(BUF, &l, 1);
	kick_and_wait(CON_TX);
	file = slurp(con_path, &len);
	assert_int_equal(len, l);
	assert_memory_equal(file, msg, l);
	unit_free(file);
}

/* Hostile chains come back with 0 bytes and write nothing; the device carries on. */
static void test_console_malformed(void **state)
{
	static const char good[] = "still works\n";
	uint32_t l = sizeof(good) - 1;
	uint8_t *file;
	size_t len;

	(void)state;
	drv_init(make_console_file("bad.log", NULL, true), 0, 2);
	put(BUF, "XXXXXXXX", 8);
	/* a device-writable buffer in a transmit chain */
	desc(CON_TX, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	desc(CON_TX, 1, BUF + 8, 8, VIRTQ_DESC_F_WRITE, 0);
	avail(CON_TX, 0);
	assert_int_equal(kick_and_wait(CON_TX), 0);
	/* a buffer beyond RAM */
	desc(CON_TX, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	desc(CON_TX, 1, RAM - 4, 8, 0, 0);
	avail(CON_TX, 0);
	assert_int_equal(kick_and_wait(CON_TX), 0);
	/* a loop */
	desc(CON_TX, 0, BUF, 8, VIRTQ_DESC_F_NEXT, 1);
	desc(CON_TX, 1, BUF, 8, VIRTQ_DESC_F_NEXT, 0);
	avail(CON_TX, 0);
	assert_int_equal(kick_and_wait(CON_TX), 0);
	/* an indirect table that was not negotiated */
	desc(CON_TX, 0, BUF, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail(CON_TX, 0);
	assert_int_equal(kick_and_wait(CON_TX), 0);
	/* a buffer in a private page */
	assert_int_equal(guest_mem_convert(&F->vm.mem, BUF, 0x1000, true), 0);
	desc(CON_TX, 0, BUF, 8, 0, 0);
	avail(CON_TX, 0);
	assert_int_equal(kick_and_wait(CON_TX), 0);
	assert_int_equal(guest_mem_convert(&F->vm.mem, BUF, 0x1000, false), 0);
	/* and a good one afterwards: only its bytes reach the file */
	assert_false(mmio_r(R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	put(BUF, good, l);
	con_chain(BUF, &l, 1);
	kick_and_wait(CON_TX);
	file = slurp(con_path, &len);
	assert_int_equal(len, l);
	assert_memory_equal(file, good, l);
	unit_free(file);
	assert_false(mmio_r(R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

/*
 * Run the hub; with `drain`, read the pipe until `want` bytes came out and queue 1 reached
 * `used` (10 s at most); without, only a few rounds (nothing is expected to move).
 */
static size_t con_drain(int rfd, uint8_t *out, size_t want, uint16_t used, bool drain)
{
	int rounds = drain ? 1000 : 20;
	size_t got = 0;

	for (int i = 0; i < rounds && (!drain || got < want || used_idx(CON_TX) != used); i++) {
		struct pollfd pfd[2] = { { .fd = virtio_hub_fd(F->hub), .events = POLLIN },
					 { .fd = rfd, .events = POLLIN } };
		ssize_t n;

		poll(pfd, drain ? 2 : 1, 10);
		virtio_hub_run(F->hub);
		if (!drain)
			continue;
		/* a little at a time: the device sees short writes and a full pipe */
		n = read(rfd, out + got, want - got < 1000 ? want - got : 1000);
		if (n > 0)
			got += (size_t)n;
	}
	return got;
}

/*
 * A non-blocking pipe of 4 KiB as the sink, drained slowly: the device gets short writes and
 * EAGAIN, waits for POLLOUT, and the bytes still come out whole and in order; the chain is
 * returned only after its last byte went out.
 */
static void test_console_pipe_eagain(void **state)
{
	size_t total = 40 * 1024;
	uint8_t *data = unit_alloc(total), *out = unit_alloc(total);
	uint32_t lens[2] = { 30 * 1024, 10 * 1024 };
	int p[2];

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_true(fcntl(p[1], F_SETPIPE_SZ, 4096) >= 4096);
	assert_int_equal(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	drv_init(virtio_console_create(F->hub, p[1], true, "test pipe"), 0, 2);
	fill(data, total, 11);
	put(BUF, data, total);
	con_chain(BUF, lens, 2);
	mmio_w(R_QUEUE_NOTIFY, CON_TX);
	/* nobody reads: the pipe fills, the chain is not returned */
	con_drain(p[0], out, 0, 1, false);
	assert_int_equal(used_idx(CON_TX), 0);
	/* drained bit by bit: everything arrives, then the chain comes back */
	assert_int_equal(con_drain(p[0], out, total, 1, true), total);
	assert_memory_equal(out, data, total);
	assert_int_equal(used_idx(CON_TX), 1);
	close(p[0]);
	unit_free(data);
	unit_free(out);
}

/* A reset while output waits for a full pipe: the old chain is forgotten, the staged bytes
 * still go out, and the device works after a new initialisation. */
static void test_console_reset_pending(void **state)
{
	size_t first = 16 * 1024, total = first + 100;
	uint8_t *data = unit_alloc(total), *out = unit_alloc(total);
	uint32_t l = (uint32_t)first;
	int p[2];

	(void)state;
	assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
	assert_true(fcntl(p[1], F_SETPIPE_SZ, 4096) >= 4096);
	drv_init(virtio_console_create(F->hub, p[1], true, "test pipe"), 0, 2);
	fill(data, total, 3);
	put(BUF, data, first);
	con_chain(BUF, &l, 1);
	mmio_w(R_QUEUE_NOTIFY, CON_TX);
	con_drain(p[0], out, 0, 1, false);
	assert_int_equal(used_idx(CON_TX), 0);
	mmio_w(R_STATUS, 0);
	drv_init(F->dev, 0, 2);
	put(BUF, data + first, 100);
	l = 100;
	con_chain(BUF, &l, 1);
	mmio_w(R_QUEUE_NOTIFY, CON_TX);
	assert_int_equal(con_drain(p[0], out, total, 1, true), total);
	assert_memory_equal(out, data, total);
	assert_false(mmio_r(R_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	close(p[0]);
	unit_free(data);
	unit_free(out);
}

/* The null sink: chains come back at once, nothing is written anywhere. */
static void test_console_null(void **state)
{
	uint32_t lens[2] = { 100 * 1024, 10 };

	(void)state;
	drv_init(virtio_console_create(F->hub, -1, false, "null"), 0, 2);
	con_chain(BUF, lens, 2);
	assert_int_equal(kick_and_wait(CON_TX), 0);
	con_chain(BUF, lens, 1);
	assert_int_equal(kick_and_wait(CON_TX), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_blk_config_and_features, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_blk_read_write_flush_id, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_blk_large_request, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_blk_bounds_and_errors, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_blk_discard_write_zeroes, fx_setup,
						fx_teardown),
		cmocka_unit_test_setup_teardown(test_blk_readonly, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_blk_reset_in_flight, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_blk_broken_ring, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rng, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rng_event_idx, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_balloon, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_console_file, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_console_truncate, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_console_malformed, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_console_pipe_eagain, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_console_reset_pending, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_console_null, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests_name("virtio devices", tests, unit_tmpdir_setup,
					   unit_tmpdir_teardown);
}
