/* SPDX-License-Identifier: MIT */
/*
 * Private/shared conversion through minivmm's test device.
 *
 * 1. Page P (scratch RAM) gets a canary through the VMM's shared cache, so the
 *    cache is valid on P; the guest sees it; MEM_READ sees it.
 * 2. CONVERT_PRIVATE P: conversion discards, so the guest now reads zeros.
 *    The guest still reaches P through KVM's mapping (on a host without
 *    KVM_SET_MEMORY_ATTRIBUTES private pages are enforced only in the VMM's
 *    access view) and writes a private canary over the whole page.
 * 3. CACHE_READ, CACHE_WRITE and MEM_READ of P must fail with a negative
 *    errno, leave the request's value alone, and the canary must be intact:
 *    no VMM-side access reaches a private page, not even through the cache
 *    that was valid on it before the conversion.
 * 4. A neighbouring shared page keeps working through the same cache.
 * 5. CONVERT_SHARED P: P reads zeros (no data crosses the boundary, in either
 *    direction); CACHE_WRITE works and the guest sees the value.
 * 6. A two-page conversion, then converting back only the first page: the
 *    second stays private. Bad conversion requests get a negative errno.
 * 7. The page holding the request slots is converted through its own slot
 *    (only port 0xe4 can report the result), requests from it then fail with
 *    -EFAULT, and a request placed elsewhere converts it back.
 */
#include "rt/rt.h"
#include "rt/testdev.h"

#define PAGE TESTDEV_PAGE_SIZE
#define QWORDS (PAGE / 8)
#define CANARY_SHARED ((uint64_t)0x54a7edca4a7c0001)
#define CANARY_PRIVATE ((uint64_t)0x941fa7eca4a7c002)
#define CACHE_VALUE ((uint64_t)0xcac4e0a1be5a11ed)
#define SENTINEL ((uint64_t)0x5e471e1700000000)

static unsigned failures;

#define FAIL(...)                                      \
	do {                                           \
		printf("convert: FAIL: " __VA_ARGS__); \
		failures++;                            \
	} while (0)

static volatile uint64_t *qw(uint64_t gpa)
{
	return (volatile uint64_t *)(uintptr_t)gpa;
}

static void expect_ok(const char *what, int32_t r, uint64_t gpa)
{
	if (r)
		FAIL("%s 0x%lx: %s, expected 0\n", what, gpa, testdev_errname(r));
}

/* Every qword of the page equals want; reports the first that does not. */
static bool page_is(uint64_t page, uint64_t want, const char *when)
{
	for (unsigned q = 0; q < QWORDS; q++) {
		uint64_t got = *qw(page + q * 8);

		if (got != want) {
			FAIL("%s: page 0x%lx qword %u is 0x%lx, expected 0x%lx\n", when, page, q,
			     got, want);
			return false;
		}
	}
	return true;
}

/* A VMM-side access to a private page: must fail and leave the value alone. */
static void expect_refused(const char *what, uint32_t cmd, uint64_t gpa)
{
	uint64_t v = cmd == TESTDEV_CACHE_WRITE ? 0xbad0bad0bad0bad0ull : SENTINEL;
	int32_t r = testdev_call(cmd, gpa, 8, &v);

	if (r >= 0)
		FAIL("%s of private 0x%lx returned %d (value 0x%lx), expected a negative errno\n",
		     what, gpa, r, v);
	else if (cmd != TESTDEV_CACHE_WRITE && v != SENTINEL)
		FAIL("%s of private 0x%lx failed (%s) but changed the value to 0x%lx\n", what, gpa,
		     testdev_errname(r), v);
	else
		printf("convert: %s of private page 0x%lx -> %s\n", what, gpa, testdev_errname(r));
}

static void bad_convert(const char *what, uint32_t cmd, uint64_t gpa, uint64_t len)
{
	int32_t r = testdev_call(cmd, gpa, len, NULL);

	if (r >= 0)
		FAIL("bad %s '%s' (0x%lx+0x%lx) returned %d, expected a negative errno\n",
		     cmd == TESTDEV_CONVERT_PRIVATE ? "CONVERT_PRIVATE" : "CONVERT_SHARED", what,
		     gpa, len, r);
	else
		printf("convert: bad %s %-28s -> %s\n",
		       cmd == TESTDEV_CONVERT_PRIVATE ? "CONVERT_PRIVATE" : "CONVERT_SHARED", what,
		       testdev_errname(r));
}

int test_main(void)
{
	uint64_t base, p, q, v, ram_top;
	int32_t r;

	if (!testdev_present()) {
		printf("convert: FAIL: no test device at port 0x%x (needs minivmm)\n",
		       TESTDEV_PORT);
		return 1;
	}
	base = testdev_scratch(8 * PAGE);
	ram_top = testdev_ram_top();
	if (!base) {
		printf("convert: FAIL: no scratch RAM\n");
		return 1;
	}
	p = base + PAGE;     /* the page converted */
	q = base + 2 * PAGE; /* its shared neighbour */
	printf("convert: page 0x%lx, neighbour 0x%lx, request page 0x%lx\n", p, q,
	       testdev_request_page());
	for (unsigned k = 0; k < QWORDS; k++)
		*qw(q + k * 8) = 0x9e19b0a000000000ull | k;

	/* 1. shared: canary through the cache, seen by the guest and the device path */
	expect_ok("CACHE_WRITE", testdev_cache_write(p + 64, CANARY_SHARED), p + 64);
	if (*qw(p + 64) != CANARY_SHARED)
		FAIL("guest reads 0x%lx at 0x%lx after CACHE_WRITE 0x%lx\n", *qw(p + 64), p + 64,
		     CANARY_SHARED);
	for (unsigned k = 0; k < QWORDS; k++)
		if (k != 8)
			*qw(p + k * 8) = CANARY_SHARED;
	v = 0;
	expect_ok("MEM_READ", testdev_mem_read(p + 128, &v), p + 128);
	if (v != CANARY_SHARED)
		FAIL("MEM_READ 0x%lx: 0x%lx, expected the canary 0x%lx\n", p + 128, v,
		     CANARY_SHARED);
	v = 0;
	expect_ok("CACHE_READ", testdev_cache_read(p + 64, &v), p + 64);
	if (v != CANARY_SHARED)
		FAIL("CACHE_READ 0x%lx: 0x%lx, expected the canary 0x%lx\n", p + 64, v,
		     CANARY_SHARED);

	/* 2. private: conversion discards; the guest still reaches the page */
	r = testdev_convert_private(p, PAGE);
	expect_ok("CONVERT_PRIVATE", r, p);
	if (page_is(p, 0, "after CONVERT_PRIVATE (the shared canary must be gone)"))
		printf("convert: CONVERT_PRIVATE 0x%lx: %s; the page reads zero\n", p,
		       testdev_errname(r));
	for (unsigned k = 0; k < QWORDS; k++)
		*qw(p + k * 8) = CANARY_PRIVATE;

	/* 3. the VMM cannot reach it: not through the (previously valid) cache, not as a device */
	expect_refused("CACHE_READ", TESTDEV_CACHE_READ, p + 64);
	expect_refused("CACHE_WRITE", TESTDEV_CACHE_WRITE, p + 64);
	expect_refused("CACHE_WRITE", TESTDEV_CACHE_WRITE, p);
	expect_refused("MEM_READ", TESTDEV_MEM_READ, p + 64);
	expect_refused("MEM_READ", TESTDEV_MEM_READ, p + PAGE - 8);
	if (page_is(p, CANARY_PRIVATE, "private canary after the refused accesses"))
		printf("convert: private canary intact\n");

	/* 4. the shared neighbour works through the same cache */
	v = 0;
	expect_ok("CACHE_READ", testdev_cache_read(q + 16, &v), q + 16);
	if (v != (0x9e19b0a000000000ull | 2))
		FAIL("CACHE_READ of shared neighbour 0x%lx: 0x%lx\n", q + 16, v);

	/* 5. back to shared: zeros, then the cache works again */
	r = testdev_convert_shared(p, PAGE);
	expect_ok("CONVERT_SHARED", r, p);
	if (page_is(p, 0, "after CONVERT_SHARED (the private canary must be gone)"))
		printf("convert: CONVERT_SHARED 0x%lx: %s; the page reads zero\n", p,
		       testdev_errname(r));
	v = SENTINEL;
	expect_ok("MEM_READ", testdev_mem_read(p + 64, &v), p + 64);
	if (v != 0)
		FAIL("MEM_READ 0x%lx after CONVERT_SHARED: 0x%lx, expected 0\n", p + 64, v);
	v = SENTINEL;
	expect_ok("CACHE_READ", testdev_cache_read(p + 64, &v), p + 64);
	if (v != 0)
		FAIL("CACHE_READ 0x%lx after CONVERT_SHARED: 0x%lx, expected 0\n", p + 64, v);
	expect_ok("CACHE_WRITE", testdev_cache_write(p + 256, CACHE_VALUE), p + 256);
	if (*qw(p + 256) != CACHE_VALUE)
		FAIL("guest reads 0x%lx at 0x%lx after CACHE_WRITE 0x%lx\n", *qw(p + 256), p + 256,
		     CACHE_VALUE);
	else
		printf("convert: CACHE_WRITE after CONVERT_SHARED: the guest sees 0x%lx\n",
		       CACHE_VALUE);
	if (*qw(q + 16) != (0x9e19b0a000000000ull | 2))
		FAIL("the neighbour page changed: 0x%lx\n", *qw(q + 16));

	/* 6. a two-page range, converted back one page at a time */
	expect_ok("CONVERT_PRIVATE (2 pages)", testdev_convert_private(base + 4 * PAGE, 2 * PAGE),
		  base + 4 * PAGE);
	expect_refused("CACHE_READ", TESTDEV_CACHE_READ, base + 4 * PAGE);
	expect_refused("MEM_READ", TESTDEV_MEM_READ, base + 5 * PAGE + 8);
	expect_ok("CONVERT_SHARED (first page)", testdev_convert_shared(base + 4 * PAGE, PAGE),
		  base + 4 * PAGE);
	v = SENTINEL;
	expect_ok("CACHE_READ", testdev_cache_read(base + 4 * PAGE + 8, &v), base + 4 * PAGE + 8);
	expect_refused("CACHE_READ", TESTDEV_CACHE_READ, base + 5 * PAGE + 8);
	expect_ok("CONVERT_SHARED (second page)", testdev_convert_shared(base + 5 * PAGE, PAGE),
		  base + 5 * PAGE);
	expect_ok("CACHE_WRITE", testdev_cache_write(base + 5 * PAGE + 8, CACHE_VALUE),
		  base + 5 * PAGE + 8);
	if (*qw(base + 5 * PAGE + 8) != CACHE_VALUE)
		FAIL("second page not writable through the cache after CONVERT_SHARED\n");

	/* bad conversions */
	bad_convert("unaligned gpa", TESTDEV_CONVERT_PRIVATE, p + 8, PAGE);
	bad_convert("unaligned len", TESTDEV_CONVERT_PRIVATE, p, 12);
	bad_convert("len 0", TESTDEV_CONVERT_PRIVATE, p, 0);
	bad_convert("beyond RAM", TESTDEV_CONVERT_PRIVATE, ram_top, PAGE);
	bad_convert("MMIO hole", TESTDEV_CONVERT_PRIVATE, 0xc0000000ull, PAGE);
	bad_convert("huge len wrapping 2^64", TESTDEV_CONVERT_PRIVATE, p, 0ull - PAGE);
	bad_convert("unaligned gpa", TESTDEV_CONVERT_SHARED, p + 8, PAGE);
	bad_convert("beyond RAM", TESTDEV_CONVERT_SHARED, ram_top, PAGE);
	bad_convert("MMIO hole", TESTDEV_CONVERT_SHARED, 0xfee00000ull, PAGE);
	bad_convert("huge len wrapping 2^64", TESTDEV_CONVERT_SHARED, p, ~0ull);
	/* none of them touched p */
	v = 0;
	expect_ok("CACHE_READ", testdev_cache_read(p + 256, &v), p + 256);
	if (v != CACHE_VALUE || *qw(p + 256) != CACHE_VALUE)
		FAIL("page 0x%lx changed by a bad conversion request (0x%lx)\n", p, v);

	/* 7. the request page itself: converted through its own slot, only the port can say
	 * how it went; requests from it then fail; a request elsewhere converts it back */
	{
		uint64_t rp = testdev_request_page();
		struct testdev_request alt __attribute__((aligned(64))) = {
			.cmd = TESTDEV_CONVERT_SHARED,
			.gpa = rp,
			.len = PAGE,
		};

		expect_ok("CONVERT_PRIVATE of the request page", testdev_convert_private(rp, PAGE),
			  rp);
		v = SENTINEL;
		r = testdev_mem_read(p + 256, &v);
		if (r != -TD_EFAULT)
			FAIL("request from the private request page: %s, expected -EFAULT\n",
			     testdev_errname(r));
		r = testdev_submit(&alt);
		if (r || alt.result)
			FAIL("CONVERT_SHARED of the request page from 0x%lx: port %s, request %s\n",
			     (uint64_t)(uintptr_t)&alt, testdev_errname(r),
			     testdev_errname(alt.result));
		v = 0;
		expect_ok("MEM_READ after the request page came back",
			  testdev_mem_read(p + 256, &v), p + 256);
		if (v != CACHE_VALUE)
			FAIL("MEM_READ 0x%lx: 0x%lx, expected 0x%lx\n", p + 256, v, CACHE_VALUE);
		else
			printf("convert: request page 0x%lx: private (requests from it %s), shared again\n",
			       rp, testdev_errname(-TD_EFAULT));
	}

	if (testdev_mismatches)
		FAIL("%u requests had a result in memory different from port 0x%x's\n",
		     testdev_mismatches, TESTDEV_RESULT_PORT);
	if (failures) {
		printf("convert: FAILED (%u failures)\n", failures);
		return 1;
	}
	printf("convert: OK\n");
	return 0;
}
