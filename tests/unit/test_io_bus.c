// SPDX-License-Identifier: MIT
/*
 * vmm/io_bus.c: range registration (overlaps, wrap-around, table full) and dispatch (offsets,
 * lengths, direction, opaque pointers, unclaimed accesses reading as all ones).
 */
#include "unit.h"

#include "../../vmm/io_bus.h"

struct call {
	struct vcpu *vcpu;
	uint64_t addr;
	uint32_t len;
	bool is_write;
	void *opaque;
	uint8_t data[8];
};

#define MAX_CALLS 16
static struct call calls[MAX_CALLS];
static int nr_calls;

/* Records the access; a read returns 0xc0 + offset + i in byte i. */
static void handler(struct vcpu *vcpu, uint64_t addr, uint8_t *data, uint32_t len, bool is_write,
		    void *opaque)
{
	struct call *c = &calls[nr_calls++ % MAX_CALLS];

	c->vcpu = vcpu;
	c->addr = addr;
	c->len = len;
	c->is_write = is_write;
	c->opaque = opaque;
	memset(c->data, 0, sizeof(c->data));
	if (is_write) {
		memcpy(c->data, data, len);
	} else {
		for (uint32_t i = 0; i < len; i++)
			data[i] = (uint8_t)(0xc0 + addr + i);
	}
}

static int reset(void **state)
{
	(void)state;
	memset(calls, 0, sizeof(calls));
	nr_calls = 0;
	return 0;
}

static void test_register(void **state)
{
	struct io_bus bus = { 0 };
	int a, b;

	(void)state;
	assert_int_equal(io_bus_register(&bus, 0x3f8, 8, handler, &a, "com1"), 0);
	assert_int_equal(io_bus_register(&bus, 0x60, 1, handler, &b, "i8042-data"), 0);
	assert_int_equal(bus.nr, 2);
	assert_int_equal(bus.ranges[0].base, 0x3f8);
	assert_int_equal(bus.ranges[0].len, 8);
	assert_ptr_equal(bus.ranges[0].handler, handler);
	assert_ptr_equal(bus.ranges[0].opaque, &a);
	assert_string_equal(bus.ranges[0].name, "com1");
	assert_int_equal(bus.ranges[1].base, 0x60);
	assert_int_equal(bus.ranges[1].len, 1);
	assert_ptr_equal(bus.ranges[1].opaque, &b);
	assert_string_equal(bus.ranges[1].name, "i8042-data");
}

static void test_register_overlap(void **state)
{
	struct io_bus bus = { 0 };

	(void)state;
	assert_int_equal(io_bus_register(&bus, 0x100, 0x10, handler, NULL, "a"), 0);
	/* the same range, inside, around, and over either end */
	assert_int_equal(io_bus_register(&bus, 0x100, 0x10, handler, NULL, "x"), -EEXIST);
	assert_int_equal(io_bus_register(&bus, 0x104, 2, handler, NULL, "x"), -EEXIST);
	assert_int_equal(io_bus_register(&bus, 0xf0, 0x40, handler, NULL, "x"), -EEXIST);
	assert_int_equal(io_bus_register(&bus, 0xf8, 0x9, handler, NULL, "x"), -EEXIST);
	assert_int_equal(io_bus_register(&bus, 0x10f, 1, handler, NULL, "x"), -EEXIST);
	assert_int_equal(io_bus_register(&bus, 0x10f, 0x100, handler, NULL, "x"), -EEXIST);
	assert_int_equal(io_bus_register(&bus, 0, UINT64_MAX, handler, NULL, "x"), -EEXIST);
	assert_int_equal(bus.nr, 1);
	/* touching either end is not an overlap */
	assert_int_equal(io_bus_register(&bus, 0xf8, 0x8, handler, NULL, "below"), 0);
	assert_int_equal(io_bus_register(&bus, 0x110, 0x8, handler, NULL, "above"), 0);
	assert_int_equal(bus.nr, 3);
	/* and a range overlapping one of those is refused too */
	assert_int_equal(io_bus_register(&bus, 0x117, 2, handler, NULL, "x"), -EEXIST);
	assert_int_equal(bus.nr, 3);
}

static void test_register_invalid(void **state)
{
	struct io_bus bus = { 0 };

	(void)state;
	assert_int_equal(io_bus_register(&bus, 0x100, 0, handler, NULL, "empty"), -EINVAL);
	assert_int_equal(io_bus_register(&bus, UINT64_MAX, 2, handler, NULL, "wraps"), -EINVAL);
	assert_int_equal(io_bus_register(&bus, UINT64_MAX - 0xf, 0x20, handler, NULL, "wraps"),
			 -EINVAL);
	assert_int_equal(io_bus_register(&bus, 1, UINT64_MAX, handler, NULL, "wraps"), -EINVAL);
	assert_int_equal(bus.nr, 0);
	/* the very top of the address space is fine as long as it does not wrap */
	assert_int_equal(io_bus_register(&bus, UINT64_MAX - 0xf, 0xf, handler, NULL, "top"), 0);
	assert_int_equal(bus.nr, 1);
}

static void test_register_full(void **state)
{
	struct io_bus bus = { 0 };

	(void)state;
	for (int i = 0; i < IO_BUS_MAX_RANGES; i++)
		assert_int_equal(io_bus_register(&bus, (uint64_t)i * 0x10, 4, handler, NULL, "r"),
				 0);
	assert_int_equal(bus.nr, IO_BUS_MAX_RANGES);
	assert_int_equal(io_bus_register(&bus, 0x10000, 4, handler, NULL, "one too many"), -EINVAL);
	assert_int_equal(bus.nr, IO_BUS_MAX_RANGES);
	/* every registered range still dispatches */
	for (int i = 0; i < IO_BUS_MAX_RANGES; i++) {
		uint8_t d = 0;

		assert_true(io_bus_dispatch(&bus, NULL, (uint64_t)i * 0x10 + 3, &d, 1, false));
		assert_int_equal(d, 0xc3);
	}
}

static void test_dispatch_read_write(void **state)
{
	struct io_bus bus = { 0 };
	struct vcpu *vcpu = (struct vcpu *)0x1234; /* opaque to the bus, passed through */
	int dev_a, dev_b;
	uint8_t data[8];

	reset(state);
	assert_int_equal(io_bus_register(&bus, 0x3f8, 8, handler, &dev_a, "com1"), 0);
	assert_int_equal(io_bus_register(&bus, 0xd0000000, 0x1000, handler, &dev_b, "mmio"), 0);

	/* a read at the device's third register: offset 2, handler fills the data */
	memset(data, 0, sizeof(data));
	assert_true(io_bus_dispatch(&bus, vcpu, 0x3fa, data, 1, false));
	assert_int_equal(nr_calls, 1);
	assert_ptr_equal(calls[0].vcpu, vcpu);
	assert_int_equal(calls[0].addr, 2);
	assert_int_equal(calls[0].len, 1);
	assert_false(calls[0].is_write);
	assert_ptr_equal(calls[0].opaque, &dev_a);
	assert_int_equal(data[0], 0xc2);
	assert_int_equal(data[1], 0);

	/* a 4-byte write to the MMIO range, the data passed through untouched */
	memcpy(data, "\x78\x56\x34\x12\xee\xee\xee\xee", 8);
	assert_true(io_bus_dispatch(&bus, vcpu, 0xd0000010, data, 4, true));
	assert_int_equal(nr_calls, 2);
	assert_int_equal(calls[1].addr, 0x10);
	assert_int_equal(calls[1].len, 4);
	assert_true(calls[1].is_write);
	assert_ptr_equal(calls[1].opaque, &dev_b);
	assert_memory_equal(calls[1].data, "\x78\x56\x34\x12\0\0\0\0", 8);

	/* an 8-byte read at the last offset of the MMIO range */
	memset(data, 0, sizeof(data));
	assert_true(io_bus_dispatch(&bus, NULL, 0xd0000fff, data, 8, false));
	assert_int_equal(calls[2].addr, 0xfff);
	assert_int_equal(calls[2].len, 8);
	assert_ptr_equal(calls[2].vcpu, NULL);
	assert_int_equal(data[0], (uint8_t)(0xc0 + 0xfff));
	assert_int_equal(data[7], (uint8_t)(0xc0 + 0xfff + 7));

	/* first and last port of com1 */
	assert_true(io_bus_dispatch(&bus, vcpu, 0x3f8, data, 1, true));
	assert_int_equal(calls[3].addr, 0);
	assert_true(io_bus_dispatch(&bus, vcpu, 0x3ff, data, 1, true));
	assert_int_equal(calls[4].addr, 7);
	assert_int_equal(nr_calls, 5);
}

static void test_dispatch_unclaimed(void **state)
{
	struct io_bus bus = { 0 };
	uint8_t data[8];

	reset(state);
	assert_int_equal(io_bus_register(&bus, 0x3f8, 8, handler, NULL, "com1"), 0);

	/* just outside the range on either side, and nowhere near it */
	static const uint64_t addrs[] = { 0x3f7, 0x400, 0, 0x80, 0xfee00000, UINT64_MAX };
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		for (uint32_t len = 1; len <= 8; len *= 2) {
			memset(data, 0x5a, sizeof(data));
			assert_false(io_bus_dispatch(&bus, NULL, addrs[i], data, len, false));
			/* reads see all ones, for exactly len bytes */
			for (uint32_t b = 0; b < sizeof(data); b++)
				assert_int_equal(data[b], b < len ? 0xff : 0x5a);

			memset(data, 0x5a, sizeof(data));
			assert_false(io_bus_dispatch(&bus, NULL, addrs[i], data, len, true));
			/* writes go nowhere and leave the buffer alone */
			for (uint32_t b = 0; b < sizeof(data); b++)
				assert_int_equal(data[b], 0x5a);
		}
	}
	assert_int_equal(nr_calls, 0);

	/* an empty bus claims nothing */
	memset(&bus, 0, sizeof(bus));
	memset(data, 0, sizeof(data));
	assert_false(io_bus_dispatch(&bus, NULL, 0x3f8, data, 2, false));
	assert_int_equal(data[0], 0xff);
	assert_int_equal(data[1], 0xff);
	assert_int_equal(data[2], 0);
	assert_int_equal(nr_calls, 0);
}

static void test_dispatch_picks_right_range(void **state)
{
	struct io_bus bus = { 0 };
	int devs[4];
	uint8_t d;

	reset(state);
	/* adjacent ranges: the boundary address belongs to the upper one */
	for (int i = 0; i < 4; i++)
		assert_int_equal(
			io_bus_register(&bus, 0x60 + (uint64_t)i * 4, 4, handler, &devs[i], "dev"),
			0);
	for (uint64_t port = 0x60; port < 0x70; port++) {
		assert_true(io_bus_dispatch(&bus, NULL, port, &d, 1, false));
		assert_ptr_equal(calls[(nr_calls - 1) % MAX_CALLS].opaque,
				 &devs[(port - 0x60) / 4]);
		assert_int_equal(calls[(nr_calls - 1) % MAX_CALLS].addr, port % 4);
	}
	assert_false(io_bus_dispatch(&bus, NULL, 0x70, &d, 1, false));
	assert_false(io_bus_dispatch(&bus, NULL, 0x5f, &d, 1, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register),
		cmocka_unit_test(test_register_overlap),
		cmocka_unit_test(test_register_invalid),
		cmocka_unit_test(test_register_full),
		cmocka_unit_test(test_dispatch_read_write),
		cmocka_unit_test(test_dispatch_unclaimed),
		cmocka_unit_test(test_dispatch_picks_right_range),
	};

	return cmocka_run_group_tests(tests, unit_tmpdir_setup, unit_tmpdir_teardown);
}
