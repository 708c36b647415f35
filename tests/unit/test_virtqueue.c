// SPDX-License-Identifier: MIT
/*
 * devices/virtio/virtqueue.c against fake guest memory (guest_mem without KVM): a test "driver"
 * writes descriptor tables and rings into guest RAM, the device side pops and pushes. Every
 * malformed chain must be refused with its head returned (and the queue still working for
 * the next chain); ring-level violations break the queue until it is enabled again; a
 * seeded fuzz loop throws random tables and rings at the parser under the sanitizers.
 */
#include "unit.h"

#include "../../arch/x86/layout.h"
#include "../../devices/virtio/virtio.h"
#include "../../vmm/guest_mem.h"
#include "virtio_drv.h"

#define RAM (16 * MiB)
#define DESC 0x10000ull
#define AVAIL 0x20000ull
#define USED 0x30000ull
#define DATA 0x100000ull
#define TABLE 0x40000ull /* indirect tables */

struct fixture {
	struct guest_mem mem;
	struct virtq vq;
	struct vq_chain chain;
	uint16_t size;
	uint16_t avail_idx; /* the driver's */
};

static struct fixture *F;

static int setup_size(void **state, uint16_t size, bool indirect)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(guest_mem_init(&f->mem, -1, MEM_BACKING_MEMFD, 0), 0);
	assert_int_equal(guest_mem_add_ram(&f->mem, 0, RAM), 0);
	vq_init(&f->vq, &f->mem, "test-vq");
	f->size = size;
	assert_int_equal(vq_enable(&f->vq, size, DESC, AVAIL, USED, indirect), 0);
	F = f;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_size(state, 16, true);
}

static int setup_256(void **state)
{
	return setup_size(state, 256, true);
}

static int setup_no_indirect(void **state)
{
	return setup_size(state, 16, false);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vq_destroy(&f->vq);
	guest_mem_destroy(&f->mem);
	free(f);
	F = NULL;
	return 0;
}

/* ---- the test driver ---------------------------------------------------------------------- */

static void put(uint64_t gpa, const void *p, size_t len)
{
	assert_int_equal(guest_mem_write(&F->mem, gpa, p, len), 0);
}

static void get(uint64_t gpa, void *p, size_t len)
{
	assert_int_equal(guest_mem_read(&F->mem, gpa, p, len), 0);
}

static void desc_at(uint64_t table, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		    uint16_t next)
{
	assert_int_equal(vring_desc_put(&F->mem, table, i, addr, len, flags, next), 0);
}

static void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	desc_at(DESC, i, addr, len, flags, next);
}

static void set_avail_idx(uint16_t idx)
{
	put(AVAIL + 2, &idx, 2);
}

static void avail(uint16_t head)
{
	assert_int_equal(vring_avail_put(&F->mem, AVAIL, F->size, &F->avail_idx, head), 0);
}

static uint16_t used_idx(void)
{
	uint16_t v;

	get(USED + 2, &v, 2);
	return v;
}

static void used_elem(uint16_t n, uint32_t *id, uint32_t *len)
{
	get(USED + 4 + 8ull * (n % F->size), id, 4);
	get(USED + 8 + 8ull * (n % F->size), len, 4);
}

static int pop(void)
{
	return vq_pop(&F->vq, &F->chain);
}

/* A refused chain: -EINVAL, the reason mentions `what`, the head is returned. */
static void expect_refused(uint16_t head, const char *what)
{
	uint16_t before = used_idx();
	uint32_t id, len;
	int ret = pop();

	if (ret != -EINVAL)
		fail_msg("pop returned %d, expected -EINVAL (%s)", ret, what);
	assert_non_null(F->chain.error);
	if (!strstr(F->chain.error, what))
		fail_msg("error \"%s\" does not mention \"%s\"", F->chain.error, what);
	assert_int_equal(F->chain.head, head);
	assert_false(F->vq.broken);
	assert_int_equal(vq_push(&F->vq, F->chain.head, 0), 0);
	assert_int_equal(used_idx(), (uint16_t)(before + 1));
	used_elem(before, &id, &len);
	assert_int_equal(id, head);
	assert_int_equal(len, 0);
}

/* The queue still works: a fresh good chain at descriptor `i` pops and pushes. */
static void expect_still_working(uint16_t i)
{
	desc(i, DATA, 100, 0, 0);
	avail(i);
	assert_int_equal(pop(), 1);
	assert_int_equal(F->chain.head, i);
	assert_int_equal(F->chain.nr_out, 1);
	assert_int_equal(vq_push(&F->vq, i, 0), 0);
}

/* ---- good chains -------------------------------------------------------------------------- */

static void test_empty(void **state)
{
	(void)state;
	assert_int_equal(pop(), 0);
	assert_int_equal(vq_pending(&F->vq), 0);
}

static void test_simple_chain(void **state)
{
	uint8_t hdr[16], status = 0x5a, back;
	uint32_t id, len;

	(void)state;
	for (unsigned int i = 0; i < sizeof(hdr); i++)
		hdr[i] = (uint8_t)(i * 3);
	put(DATA, hdr, sizeof(hdr));
	desc(3, DATA, 16, VIRTQ_DESC_F_NEXT, 7);
	desc(7, DATA + 0x1000, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 9);
	desc(9, DATA + 0x3000, 1, VIRTQ_DESC_F_WRITE, 0);
	avail(3);
	assert_int_equal(vq_pending(&F->vq), 1);
	assert_int_equal(pop(), 1);
	assert_int_equal(F->chain.head, 3);
	assert_int_equal(F->chain.nr_out, 1);
	assert_int_equal(F->chain.nr_in, 2);
	assert_int_equal(F->chain.out_len, 16);
	assert_int_equal(F->chain.in_len, 4097);
	assert_int_equal(F->chain.buf[1].gpa, DATA + 0x1000);

	assert_int_equal(vq_chain_read(&F->mem, &F->chain, 0, hdr, 16), 0);
	assert_int_equal(hdr[5], 15);
	assert_int_equal(vq_chain_read(&F->mem, &F->chain, 8, hdr, 9), -ERANGE);
	assert_int_equal(vq_chain_write(&F->mem, &F->chain, 4096, &status, 1), 0);
	get(DATA + 0x3000, &back, 1);
	assert_int_equal(back, 0x5a);
	assert_int_equal(vq_chain_write(&F->mem, &F->chain, 4096, hdr, 2), -ERANGE);

	assert_int_equal(vq_push(&F->vq, 3, 4097), 0);
	assert_int_equal(used_idx(), 1);
	used_elem(0, &id, &len);
	assert_int_equal(id, 3);
	assert_int_equal(len, 4097);
	assert_int_equal(pop(), 0);
}

/* Framing is the driver's choice: a header split over three descriptors reads as one. */
static void test_split_framing(void **state)
{
	uint8_t want[16], got[16];

	(void)state;
	for (unsigned int i = 0; i < 16; i++)
		want[i] = (uint8_t)(0xa0 + i);
	put(DATA, want, 5);
	put(DATA + 0x800, want + 5, 1);
	put(DATA + 0x1ffe, want + 6, 10); /* across a page boundary of guest RAM */
	desc(0, DATA, 5, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA + 0x800, 1, VIRTQ_DESC_F_NEXT, 2);
	desc(2, DATA + 0x1ffe, 10, 0, 0);
	avail(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(F->chain.nr_out, 3);
	assert_int_equal(vq_chain_read(&F->mem, &F->chain, 0, got, 16), 0);
	assert_memory_equal(got, want, 16);
	assert_int_equal(vq_chain_read(&F->mem, &F->chain, 4, got, 3), 0);
	assert_memory_equal(got, want + 4, 3);
}

/* A chain through every descriptor once is legal; zero-length buffers are skipped. */
static void test_full_length_chain(void **state)
{
	(void)state;
	for (uint16_t i = 0; i < 16; i++)
		desc(i, DATA + i * 64ull, i == 5 ? 0 : 64, i < 15 ? VIRTQ_DESC_F_NEXT : 0,
		     (uint16_t)(i + 1));
	avail(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(F->chain.nr_out, 15);
	assert_int_equal(F->chain.out_len, 15 * 64);
}

static void test_indirect(void **state)
{
	(void)state;
	desc_at(TABLE, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 2);
	desc_at(TABLE, 2, DATA + 100, 512, VIRTQ_DESC_F_NEXT, 1);
	desc_at(TABLE, 1, DATA + 1000, 1, VIRTQ_DESC_F_WRITE, 0);
	desc(4, TABLE, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail(4);
	assert_int_equal(pop(), 1);
	assert_int_equal(F->chain.head, 4);
	assert_int_equal(F->chain.nr_out, 2);
	assert_int_equal(F->chain.nr_in, 1);
	assert_int_equal(F->chain.out_len, 528);
}

/* An indirect table may be longer than the queue (Linux does that), up to 256 entries. */
static void test_indirect_longer_than_queue(void **state)
{
	(void)state;
	for (uint16_t i = 0; i < 256; i++)
		desc_at(TABLE, i, DATA + i * 16ull, 16,
			(uint16_t)((i < 255 ? VIRTQ_DESC_F_NEXT : 0) |
				   (i >= 200 ? VIRTQ_DESC_F_WRITE : 0)),
			(uint16_t)(i + 1));
	desc(0, TABLE, 256 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(F->chain.nr_out, 200);
	assert_int_equal(F->chain.nr_in, 56);

	desc(1, TABLE, 257 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail(1);
	expect_refused(1, "longer");
}

/* ---- malformed chains: refused, head returned, the queue keeps working ---------------------- */

static void test_loop(void **state)
{
	(void)state;
	desc(0, DATA, 64, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA, 64, VIRTQ_DESC_F_NEXT, 2);
	desc(2, DATA, 64, VIRTQ_DESC_F_NEXT, 0);
	avail(0);
	expect_refused(0, "loops");
	desc(5, DATA, 64, VIRTQ_DESC_F_NEXT, 5); /* self loop */
	avail(5);
	expect_refused(5, "loops");
	assert_int_equal(F->chain.tail_len, 0); /* no end: nowhere to put a status */
	expect_still_working(6);
}

static void test_next_out_of_range(void **state)
{
	(void)state;
	desc(0, DATA, 64, VIRTQ_DESC_F_NEXT, 16);
	avail(0);
	expect_refused(0, "next index");
	desc(1, DATA, 64, VIRTQ_DESC_F_NEXT, 0xffff);
	avail(1);
	expect_refused(1, "next index");
	expect_still_working(2);
}

static void test_buffer_outside_ram(void **state)
{
	static const struct {
		uint64_t addr;
		uint32_t len;
		const char *what;
	} bad[] = {
		{ RAM, 1, "outside guest RAM" },
		{ RAM - 8, 16, "outside guest RAM" },
		{ VIRTIO_MMIO_BASE, 4, "outside guest RAM" },
		{ IOAPIC_ADDR, 4096, "outside guest RAM" },
		{ 0xfffffffffffffff0ull, 0x20, "wraps" },
		{ 0xffffffffffffffffull, 1, "wraps" },
		{ 0, 0xffffffffu, "outside guest RAM" },
	};

	(void)state;
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		desc(0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
		desc(1, bad[i].addr, bad[i].len, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
		desc(2, DATA + 64, 1, VIRTQ_DESC_F_WRITE, 0);
		avail(0);
		expect_refused(0, bad[i].what);
		/* the chain ends in a good writable descriptor: the status can still go there */
		assert_int_equal(F->chain.tail_gpa, DATA + 64);
		assert_int_equal(F->chain.tail_len, 1);
	}
	expect_still_working(3);
}

static void test_private_buffer(void **state)
{
	(void)state;
	assert_int_equal(guest_mem_convert(&F->mem, DATA + 0x10000, 0x1000, true), 0);
	desc(0, DATA + 0x10ff0, 32, 0, 0); /* starts in the private page */
	avail(0);
	expect_refused(0, "private");
	/* and as an indirect table */
	desc(1, DATA + 0x10000, 64, VIRTQ_DESC_F_INDIRECT, 0);
	avail(1);
	expect_refused(1, "private");
	assert_int_equal(guest_mem_convert(&F->mem, DATA + 0x10000, 0x1000, false), 0);
	expect_still_working(2);
}

static void test_readable_after_writable(void **state)
{
	(void)state;
	desc(0, DATA, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	desc(1, DATA + 16, 16, 0, 0);
	avail(0);
	expect_refused(0, "device-readable buffer after");
	expect_still_working(1);
}

static void test_indirect_malformed(void **state)
{
	(void)state;
	/* indirect with NEXT */
	desc(0, TABLE, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	avail(0);
	expect_refused(0, "NEXT");
	/* indirect after a normal descriptor */
	desc(1, DATA, 16, VIRTQ_DESC_F_NEXT, 2);
	desc(2, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail(1);
	expect_refused(1, "inside a chain");
	/* size not a multiple of 16, and empty */
	desc(3, TABLE, 24, VIRTQ_DESC_F_INDIRECT, 0);
	avail(3);
	expect_refused(3, "multiple of 16");
	desc(3, TABLE, 0, VIRTQ_DESC_F_INDIRECT, 0);
	avail(3);
	expect_refused(3, "multiple of 16");
	/* nested */
	desc_at(TABLE, 0, TABLE + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	desc(4, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail(4);
	expect_refused(4, "nested");
	/* loop inside the table, and next beyond it */
	desc_at(TABLE, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	desc_at(TABLE, 1, DATA, 16, VIRTQ_DESC_F_NEXT, 0);
	desc(5, TABLE, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail(5);
	expect_refused(5, "loops");
	desc_at(TABLE, 1, DATA, 16, VIRTQ_DESC_F_NEXT, 2);
	avail(5);
	expect_refused(5, "out of range");
	/* table outside RAM, and crossing its end */
	desc(6, RAM + 0x1000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail(6);
	expect_refused(6, "outside guest RAM");
	desc(6, RAM - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
	avail(6);
	expect_refused(6, "outside guest RAM");
	/* a bad buffer inside a good table: the table's last entry still takes the status */
	desc_at(TABLE, 0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	desc_at(TABLE, 1, RAM, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	desc_at(TABLE, 2, DATA + 512, 1, VIRTQ_DESC_F_WRITE, 0);
	desc(7, TABLE, 48, VIRTQ_DESC_F_INDIRECT, 0);
	avail(7);
	expect_refused(7, "outside guest RAM");
	assert_int_equal(F->chain.tail_gpa, DATA + 512);
	expect_still_working(8);
}

static void test_indirect_not_negotiated(void **state)
{
	(void)state;
	desc_at(TABLE, 0, DATA, 16, 0, 0);
	desc(0, TABLE, 16, VIRTQ_DESC_F_INDIRECT, 0);
	avail(0);
	expect_refused(0, "not negotiated");
	expect_still_working(1);
}

/* ---- ring-level violations: the queue breaks until the driver enables it again ------------ */

static void test_avail_idx_jump(void **state)
{
	(void)state;
	desc(0, DATA, 16, 0, 0);
	set_avail_idx(17); /* 17 new entries in a ring of 16 */
	assert_int_equal(pop(), -EIO);
	assert_true(F->vq.broken);
	assert_non_null(F->vq.broken_why);
	assert_int_equal(pop(), 0);
	assert_int_equal(vq_pending(&F->vq), 0);
	/* the driver resets and starts over */
	assert_int_equal(vq_enable(&F->vq, 16, DESC, AVAIL, USED, true), 0);
	F->avail_idx = 0;
	set_avail_idx(0);
	expect_still_working(0);
}

static void test_head_out_of_range(void **state)
{
	uint16_t head = 16;

	(void)state;
	put(AVAIL + 4, &head, 2);
	set_avail_idx(1);
	assert_int_equal(pop(), -EIO);
	assert_true(F->vq.broken);
}

static void test_enable_checks(void **state)
{
	struct virtq vq;

	(void)state;
	vq_init(&vq, &F->mem, "enable");
	assert_int_equal(vq_enable(&vq, 0, DESC, AVAIL, USED, false), -EINVAL);
	assert_int_equal(vq_enable(&vq, 12, DESC, AVAIL, USED, false), -EINVAL);
	assert_int_equal(vq_enable(&vq, 512, DESC, AVAIL, USED, false), -EINVAL);
	assert_int_equal(vq_enable(&vq, 16, DESC + 8, AVAIL, USED, false), -EINVAL);
	assert_int_equal(vq_enable(&vq, 16, DESC, AVAIL + 1, USED, false), -EINVAL);
	assert_int_equal(vq_enable(&vq, 16, DESC, AVAIL, USED + 2, false), -EINVAL);
	assert_int_equal(vq_enable(&vq, 16, RAM, AVAIL, USED, false), -EINVAL);
	assert_int_equal(vq_enable(&vq, 16, DESC, VIRTIO_MMIO_BASE, USED, false), -EINVAL);
	assert_int_equal(vq_enable(&vq, 16, DESC, AVAIL, RAM - 64, false), -EINVAL);
	assert_int_equal(vq_enable(&vq, 16, DESC, AVAIL, 0xfffffffffffff000ull, false), -EINVAL);
	assert_int_equal(vq.size, 0);
	assert_int_equal(vq_pop(&vq, &F->chain), 0);
	assert_int_equal(vq_push(&vq, 0, 0), -EIO);
	/* rings spanning two pages are fine */
	assert_int_equal(vq_enable(&vq, 256, 0x50800, 0x52ff0, 0x53ff0, false), 0);
	vq_destroy(&vq);
}

/*
 * A discard of a ring page invalidates its cache: the next access translates again and sees
 * the page as it is now (zeros). A private ring page breaks the queue.
 */
static void test_ring_page_discarded_and_private(void **state)
{
	uint64_t refreshes = F->vq.desc.pages[0].refreshes;

	(void)state;
	desc(0, DATA, 16, 0, 0);
	avail(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(F->chain.out_len, 16);
	assert_int_equal(vq_push(&F->vq, 0, 0), 0);
	assert_true(F->vq.desc.pages[0].valid);

	/* the descriptor table's page is discarded (balloon): the cache is invalidated first */
	assert_int_equal(guest_mem_discard(&F->mem, DESC, 0x1000), 0);
	assert_false(F->vq.desc.pages[0].valid);
	avail(0);
	assert_int_equal(pop(), 1); /* descriptor 0 now reads as zeros: an empty chain */
	assert_int_equal(F->chain.nr_out + F->chain.nr_in, 0);
	assert_true(F->vq.desc.pages[0].refreshes > refreshes);
	assert_int_equal(vq_push(&F->vq, 0, 0), 0);
	expect_still_working(1);

	/* the available ring's page is discarded: its index reads 0, behind the device: broken */
	assert_int_equal(guest_mem_discard(&F->mem, AVAIL, 0x1000), 0);
	assert_int_equal(pop(), -EIO);
	assert_int_equal(vq_enable(&F->vq, 16, DESC, AVAIL, USED, true), 0);
	F->avail_idx = 0;

	/* the used ring's page turns private: returning a chain fails, the queue breaks */
	assert_int_equal(guest_mem_convert(&F->mem, USED, 0x1000, true), 0);
	desc(0, DATA, 16, 0, 0);
	avail(0);
	assert_int_equal(pop(), 1);
	assert_int_equal(vq_push(&F->vq, 0, 0), -EIO);
	assert_true(F->vq.broken);
	assert_int_equal(pop(), 0);
	assert_int_equal(guest_mem_convert(&F->mem, USED, 0x1000, false), 0);
}

static void test_interrupt_suppression(void **state)
{
	uint16_t flags = VIRTQ_AVAIL_F_NO_INTERRUPT;

	(void)state;
	assert_true(vq_should_interrupt(&F->vq));
	put(AVAIL, &flags, 2);
	assert_false(vq_should_interrupt(&F->vq));
}

/* used_event is the driver's, after the available ring; avail_event the device's, after
 * the used ring */
static void set_used_event(uint16_t v)
{
	put(AVAIL + 4 + 2ull * F->size, &v, 2);
}

static uint16_t avail_event(void)
{
	uint16_t v;

	get(USED + 4 + 8ull * F->size, &v, 2);
	return v;
}

static void push_one(uint16_t head)
{
	assert_int_equal(vq_push(&F->vq, head, 0), 0);
}

/*
 * VIRTIO_F_EVENT_IDX: an interrupt exactly when the used index steps over used_event (the
 * NO_INTERRUPT flag no longer counts), and avail_event follows the device whenever it finds
 * the ring empty. Across the 16-bit wrap too.
 */
static void test_event_idx(void **state)
{
	uint16_t flags = VIRTQ_AVAIL_F_NO_INTERRUPT, poison = 0xbeef;

	(void)state;
	put(USED + 4 + 8ull * F->size, &poison, 2);
	vq_set_event_idx(&F->vq, true);
	/* empty: avail_event published as the next index the device looks at */
	assert_int_equal(pop(), 0);
	assert_int_equal(avail_event(), 0);
	desc(0, DATA, 16, 0, 0);
	for (int i = 0; i < 3; i++)
		avail(0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pop(), 1);
	assert_int_equal(avail_event(), 0); /* not empty yet when last looked */
	assert_int_equal(pop(), 0);
	assert_int_equal(avail_event(), 3);

	/* the first decision interrupts; then only when used_event is passed */
	put(AVAIL, &flags, 2); /* ignored with EVENT_IDX */
	set_used_event(1);
	push_one(0); /* used idx 1: first decision */
	assert_true(vq_should_interrupt(&F->vq));
	push_one(0); /* used idx 2: steps over used_event 1 */
	assert_true(vq_should_interrupt(&F->vq));
	push_one(0); /* used idx 3: used_event 1 already passed */
	assert_false(vq_should_interrupt(&F->vq));
	set_used_event(5);
	push_one(0);
	push_one(0); /* 3 -> 5, event at 5 not stepped over (needs the index to pass it) */
	assert_false(vq_should_interrupt(&F->vq));
	push_one(0);
	push_one(0); /* 5 -> 7 steps over 5: one decision for two pushes */
	assert_true(vq_should_interrupt(&F->vq));
	assert_false(vq_should_interrupt(&F->vq)); /* nothing new */

	/* across the wrap: used index from 0xfffe to 0x0001 over used_event 0xffff */
	F->vq.used_idx = 0xfffe;
	(void)vq_should_interrupt(&F->vq); /* the last decision now at 0xfffe */
	set_used_event(0xffff);
	push_one(0);
	assert_false(vq_should_interrupt(&F->vq)); /* 0xffff: event not yet passed */
	push_one(0);
	push_one(0); /* 0x0001 */
	assert_true(vq_should_interrupt(&F->vq));

	/* disabled again by a re-enable: back to the flag */
	assert_int_equal(vq_enable(&F->vq, 16, DESC, AVAIL, USED, true), 0);
	assert_false(vq_should_interrupt(&F->vq));
	flags = 0;
	put(AVAIL, &flags, 2);
	assert_true(vq_should_interrupt(&F->vq));
}

/* 16-bit indexes wrap: 70000 chains through a ring of 16. */
static void test_index_wrap(void **state)
{
	(void)state;
	desc(0, DATA, 16, VIRTQ_DESC_F_NEXT, 1);
	desc(1, DATA + 16, 1, VIRTQ_DESC_F_WRITE, 0);
	for (unsigned int n = 0; n < 70000; n++) {
		avail(0);
		if (pop() != 1)
			fail_msg("pop %u failed", n);
		assert_int_equal(vq_push(&F->vq, 0, 1), 0);
	}
	assert_int_equal(used_idx(), (uint16_t)70000);
}

/* ---- fuzz: random tables and rings, invariants checked on every accepted chain ------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t rnd_addr(void)
{
	switch (rnd() % 6) {
	case 0:
		return rnd();
	case 1:
		return RAM - (rnd() % 64);
	case 2:
		return TABLE + (rnd() % 64) * 16;
	default:
		return DATA + rnd() % (RAM - DATA);
	}
}

static void random_desc(uint64_t table, uint16_t i, uint16_t n)
{
	uint16_t flags = (uint16_t)(rnd() % 8);
	uint32_t len = rnd() % 4 == 0 ? (uint32_t)rnd() : (uint32_t)(rnd() % 8192);
	uint16_t next = rnd() % 8 == 0 ? (uint16_t)rnd() : (uint16_t)(rnd() % n);

	if (flags & VIRTQ_DESC_F_INDIRECT && rnd() % 2)
		len = (uint32_t)(rnd() % 64) * 16;
	desc_at(table, i, rnd_addr(), len, flags, next);
}

static void test_fuzz(void **state)
{
	unsigned int accepted = 0, refused = 0, broken = 0;

	(void)state;
	for (unsigned int round = 0; round < 3000; round++) {
		int ret;

		for (uint16_t i = 0; i < F->size; i++)
			random_desc(DESC, i, F->size);
		for (uint16_t i = 0; i < 64; i++)
			random_desc(TABLE, i, 64);
		if (rnd() % 16 == 0) {
			set_avail_idx((uint16_t)rnd());
		} else {
			uint16_t head =
				rnd() % 32 == 0 ? (uint16_t)rnd() : (uint16_t)(rnd() % F->size);

			avail(head);
		}
		for (unsigned int k = 0; k < 4; k++) {
			uint64_t out = 0, in = 0;

			ret = pop();
			if (ret == 0)
				break;
			if (ret == -EIO) {
				broken++;
				assert_int_equal(
					vq_enable(&F->vq, F->size, DESC, AVAIL, USED, true), 0);
				F->avail_idx = 0;
				set_avail_idx(0);
				break;
			}
			assert_true(ret == 1 || ret == -EINVAL);
			assert_true(F->chain.head < F->size);
			assert_true(F->chain.nr_out + F->chain.nr_in <= VIRTIO_QUEUE_MAX);
			if (ret == 1) {
				accepted++;
				for (unsigned int b = 0; b < F->chain.nr_out + F->chain.nr_in;
				     b++) {
					const struct vq_buf *buf = &F->chain.buf[b];

					assert_true(buf->len > 0);
					assert_true(buf->gpa < RAM && buf->len <= RAM - buf->gpa);
					if (b < F->chain.nr_out)
						out += buf->len;
					else
						in += buf->len;
				}
				assert_int_equal(out, F->chain.out_len);
				assert_int_equal(in, F->chain.in_len);
			} else {
				refused++;
				assert_non_null(F->chain.error);
				if (F->chain.tail_len)
					assert_true(F->chain.tail_gpa < RAM &&
						    F->chain.tail_len <= RAM - F->chain.tail_gpa);
			}
			assert_int_equal(vq_push(&F->vq, F->chain.head, 0), 0);
		}
	}
	print_message("fuzz: %u accepted, %u refused, %u broken rings\n", accepted, refused,
		      broken);
	assert_true(accepted > 0 && refused > 0 && broken > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_simple_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_framing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_length_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_longer_than_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_buffer_outside_ram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_buffer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readable_after_writable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_not_negotiated, setup_no_indirect,
						teardown),
		cmocka_unit_test_setup_teardown(test_avail_idx_jump, setup, teardown),
		cmocka_unit_test_setup_teardown(test_head_out_of_range, setup, teardown),
		cmocka_unit_test_setup_teardown(test_enable_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_page_discarded_and_private, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_interrupt_suppression, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuzz, setup_256, teardown),
	};

	return cmocka_run_group_tests_name("virtqueue", tests, NULL, NULL);
}
