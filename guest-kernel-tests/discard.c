/* SPDX-License-Identifier: MIT */
/*
 * Discard (punch-hole) through minivmm's test device.
 *
 * Fills `pages=N` (default 16) pages of scratch RAM with a pattern, asks the
 * VMM to discard some of them (single pages and a multi-page range) and checks
 * that exactly those read zero -- in the guest's own view, through the VMM's
 * device path (MEM_READ) and through its shared cache (CACHE_READ) -- while
 * the others keep the pattern. Then sends bad requests (unaligned gpa/len,
 * len 0, beyond RAM, in the MMIO hole, lengths that overflow 2^64, unknown
 * command, a hostile request address): each must get a negative errno and
 * change nothing, and the VM must keep running.
 *
 * rss=SIZE (e.g. rss=32M): instead, fill SIZE bytes, print a marker, hold,
 * discard them all, print a marker, hold, check they read zero: for measuring
 * the VMM's memory before/after from the host. hold_tsc=N TSC ticks per hold
 * (default 3e9).
 */
#include "rt/rt.h"
#include "rt/testdev.h"

#define PAGE TESTDEV_PAGE_SIZE
#define MAX_PAGES 256
#define QWORDS (PAGE / 8)

static unsigned failures;

#define FAIL(...)                                      \
	do {                                           \
		printf("discard: FAIL: " __VA_ARGS__); \
		failures++;                            \
	} while (0)

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t pattern(unsigned page, unsigned q)
{
	return 0xd15ca4d000000000ull | ((uint64_t)page << 12) | q;
}

static volatile uint64_t *page_ptr(uint64_t base, unsigned page)
{
	return (volatile uint64_t *)(uintptr_t)(base + (uint64_t)page * PAGE);
}

static void fill_page(uint64_t base, unsigned page)
{
	volatile uint64_t *p = page_ptr(base, page);

	for (unsigned q = 0; q < QWORDS; q++)
		p[q] = pattern(page, q);
}

static bool discarded(unsigned page, unsigned n)
{
	return page == 1 || (page >= 4 && page <= 6) || page == n - 1;
}

/* Every qword of every page: zero where discarded, the pattern elsewhere. */
static void verify_pages(uint64_t base, unsigned n, const char *when)
{
	unsigned bad_pages = 0, zeroed = 0;

	for (unsigned i = 0; i < n; i++)
		zeroed += discarded(i, n);
	for (unsigned i = 0; i < n; i++) {
		volatile uint64_t *p = page_ptr(base, i);
		bool zero = discarded(i, n);

		for (unsigned q = 0; q < QWORDS; q++) {
			uint64_t want = zero ? 0 : pattern(i, q);
			uint64_t got = p[q];

			if (got != want) {
				FAIL("%s: page %u (0x%lx) qword %u is 0x%lx, expected 0x%lx (%s)\n",
				     when, i, base + i * PAGE, q, got, want,
				     zero ? "discarded" : "kept");
				bad_pages++;
				break;
			}
		}
	}
	if (!bad_pages)
		printf("discard: %s: %u discarded pages read zero, %u kept their pattern\n", when,
		       zeroed, n - zeroed);
}

/* The VMM's views of a page agree with the guest's: device path and cache. */
static void check_vmm_view(uint64_t base, unsigned page, unsigned q, uint64_t want)
{
	uint64_t gpa = base + page * PAGE + q * 8, v = ~0ull;
	int32_t r = testdev_mem_read(gpa, &v);

	if (r != 0 || v != want)
		FAIL("MEM_READ 0x%lx: %s, value 0x%lx, expected 0 and 0x%lx\n", gpa,
		     testdev_errname(r), v, want);
	v = ~0ull;
	r = testdev_cache_read(gpa, &v);
	if (r != 0 || v != want)
		FAIL("CACHE_READ 0x%lx: %s, value 0x%lx, expected 0 and 0x%lx\n", gpa,
		     testdev_errname(r), v, want);
}

struct bad_request {
	const char *what;
	uint32_t cmd;
	uint64_t gpa, len;
	int32_t expect; /* the errno the VMM documents; any negative value passes */
};

static void bad_request(const struct bad_request *b)
{
	uint64_t v = 0x1234;
	int32_t r = testdev_call(b->cmd, b->gpa, b->len, &v);

	if (r >= 0) {
		FAIL("bad request '%s' (cmd %u gpa 0x%lx len 0x%lx) returned %d, expected a negative errno\n",
		     b->what, b->cmd, b->gpa, b->len, r);
		return;
	}
	printf("discard: bad request %-36s -> %s%s%s\n", b->what, testdev_errname(r),
	       r == b->expect ? "" : ", documented: ",
	       r == b->expect ? "" : testdev_errname(b->expect));
}

static void bad_address(const char *what, uint32_t gpa)
{
	int32_t r = testdev_submit_raw(gpa);

	if (r >= 0)
		FAIL("request at '%s' (0x%x) returned %d, expected a negative errno\n", what, gpa,
		     r);
	else
		printf("discard: request address %-30s -> %s\n", what, testdev_errname(r));
}

static void hold(uint64_t ticks)
{
	uint64_t t0 = rdtsc();

	while (rdtsc() - t0 < ticks)
		cpu_relax();
}

static int rss_mode(uint64_t bytes)
{
	uint64_t hold_tsc = 3000000000ull, base, pages = bytes / PAGE;
	int32_t r;

	cmdline_get_u64("hold_tsc", &hold_tsc);
	base = testdev_scratch(bytes);
	if (!bytes || bytes % PAGE || !base) {
		printf("discard: FAIL: rss=%lu: need a page multiple that fits in low RAM\n",
		       bytes);
		return 1;
	}
	/* rep stosq: string instructions are cheap under the emulator, stosq 8x more so
	 * than memset's stosb */
	{
		void *d = (void *)(uintptr_t)base;
		uint64_t n = bytes / 8;

		__asm__ volatile("rep stosq"
				 : "+D"(d), "+c"(n)
				 : "a"(0xa5a5a5a5a5a5a5a5ull)
				 : "memory");
	}
	printf("discard: rss: filled %lu MiB at 0x%lx\n", bytes >> 20, base);
	hold(hold_tsc);
	r = testdev_discard(base, bytes);
	if (r) {
		printf("discard: FAIL: rss: DISCARD 0x%lx+0x%lx: %s\n", base, bytes,
		       testdev_errname(r));
		return 1;
	}
	printf("discard: rss: discarded %lu MiB\n", bytes >> 20);
	hold(hold_tsc);
	for (uint64_t i = 0; i < pages; i++) {
		uint64_t v = *page_ptr(base, (unsigned)i);

		if (v) {
			printf("discard: FAIL: rss: page 0x%lx reads 0x%lx after the discard\n",
			       base + i * PAGE, v);
			return 1;
		}
	}
	printf("discard: rss: OK\n");
	return 0;
}

int test_main(void)
{
	uint64_t n = 16, rss, base, ram_top, low_end;
	int32_t r;

	if (!testdev_present()) {
		printf("discard: FAIL: no test device at port 0x%x (needs minivmm)\n",
		       TESTDEV_PORT);
		return 1;
	}
	if (cmdline_get_u64("rss", &rss))
		return rss_mode(rss);
	cmdline_get_u64("pages", &n);
	if (n < 8 || n > MAX_PAGES) {
		printf("discard: FAIL: pages=%lu: need 8..%u\n", n, MAX_PAGES);
		return 1;
	}
	base = testdev_scratch(n * PAGE);
	ram_top = testdev_ram_top();
	low_end = testdev_ram_end_of(base);
	if (!base) {
		printf("discard: FAIL: no scratch RAM for %lu pages\n", n);
		return 1;
	}
	printf("discard: %lu pages at 0x%lx (request page 0x%lx, RAM top 0x%lx)\n", n, base,
	       testdev_request_page(), ram_top);

	for (unsigned i = 0; i < n; i++)
		fill_page(base, i);
	check_vmm_view(base, 0, 5, pattern(0, 5));
	check_vmm_view(base, 4, 511, pattern(4, 511));

	/* single pages, a three-page range, the last page */
	struct {
		unsigned first, count;
	} d[] = { { 1, 1 }, { 4, 3 }, { (unsigned)n - 1, 1 } };
	for (unsigned k = 0; k < sizeof(d) / sizeof(d[0]); k++) {
		uint64_t gpa = base + d[k].first * PAGE, len = d[k].count * PAGE;

		r = testdev_discard(gpa, len);
		if (r)
			FAIL("DISCARD 0x%lx+0x%lx: %s\n", gpa, len, testdev_errname(r));
	}
	verify_pages(base, (unsigned)n, "after discard");
	check_vmm_view(base, 1, 0, 0);
	check_vmm_view(base, 5, 100, 0);
	check_vmm_view(base, 0, 511, pattern(0, 511));
	check_vmm_view(base, 7, 0, pattern(7, 0));

	/* a discarded page is ordinary memory again */
	fill_page(base, 5);
	if (page_ptr(base, 5)[17] != pattern(5, 17))
		FAIL("page 5 does not hold a new pattern after the discard\n");
	check_vmm_view(base, 5, 17, pattern(5, 17));
	r = testdev_discard(base + 5 * PAGE, PAGE);
	if (r)
		FAIL("second DISCARD of page 5: %s\n", testdev_errname(r));

	/* hostile requests: each gets a negative errno, nothing changes */
	const struct bad_request bad[] = {
		{ "unaligned gpa (+8)", TESTDEV_DISCARD, base + 8, PAGE, -TD_EINVAL },
		{ "unaligned gpa (+2048)", TESTDEV_DISCARD, base + 2048, PAGE, -TD_EINVAL },
		{ "unaligned len (100)", TESTDEV_DISCARD, base, 100, -TD_EINVAL },
		{ "unaligned len (page+1)", TESTDEV_DISCARD, base, PAGE + 1, -TD_EINVAL },
		{ "len 0", TESTDEV_DISCARD, base, 0, -TD_EINVAL },
		{ "beyond RAM (RAM top)", TESTDEV_DISCARD, ram_top, PAGE, -TD_EFAULT },
		{ "beyond RAM (1 TiB)", TESTDEV_DISCARD, 1ull << 40, PAGE, -TD_EFAULT },
		{ "straddling the end of RAM", TESTDEV_DISCARD, low_end - PAGE, 2 * PAGE,
		  -TD_EFAULT },
		{ "MMIO hole start 0xc0000000", TESTDEV_DISCARD, 0xc0000000ull, PAGE, -TD_EFAULT },
		{ "MMIO hole (LAPIC page)", TESTDEV_DISCARD, 0xfee00000ull, PAGE, -TD_EFAULT },
		{ "the whole MMIO hole", TESTDEV_DISCARD, 0xc0000000ull, 0x40000000ull,
		  -TD_EFAULT },
		{ "huge len, gpa+len wraps 2^64", TESTDEV_DISCARD, base, 0ull - PAGE, -TD_EINVAL },
		{ "len 2^64-1", TESTDEV_DISCARD, base, ~0ull, -TD_EINVAL },
		{ "len 2^63", TESTDEV_DISCARD, base, 1ull << 63, -TD_EFAULT },
		{ "gpa 2^64-4K", TESTDEV_DISCARD, 0ull - PAGE, PAGE, -TD_EINVAL },
		{ "gpa 2^64-4K, len 8K (wraps to 0)", TESTDEV_DISCARD, 0ull - PAGE, 2 * PAGE,
		  -TD_EINVAL },
		{ "CACHE_READ unaligned", TESTDEV_CACHE_READ, base + 4, 8, -TD_EINVAL },
		{ "CACHE_READ MMIO hole", TESTDEV_CACHE_READ, 0xc0000000ull, 8, -TD_EFAULT },
		{ "CACHE_WRITE beyond RAM", TESTDEV_CACHE_WRITE, ram_top, 8, -TD_EFAULT },
		{ "CACHE_WRITE gpa 2^64-8", TESTDEV_CACHE_WRITE, 0ull - 8, 8, -TD_EFAULT },
		{ "MEM_READ unaligned", TESTDEV_MEM_READ, base + 1, 8, -TD_EINVAL },
		{ "MEM_READ beyond RAM", TESTDEV_MEM_READ, ram_top, 8, -TD_EFAULT },
		{ "MEM_READ gpa 2^64-8", TESTDEV_MEM_READ, 0ull - 8, 8, -TD_EFAULT },
		{ "unknown command 99", 99, base, PAGE, -TD_ENOSYS },
		{ "command 0", 0, base, PAGE, -TD_ENOSYS },
	};
	for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		bad_request(&bad[k]);
	bad_address("unaligned (request+4)", (uint32_t)testdev_request_page() + 4);
	bad_address("MMIO hole 0xc0000000", 0xc0000000u);
	bad_address("LAPIC 0xfee00000", 0xfee00000u);
	bad_address("top of 4 GiB 0xfffffff8", 0xfffffff8u);
	if (low_end < 0xc0000000ull)
		bad_address("straddling the end of RAM", (uint32_t)(low_end - 16));

	/* RAM above 4 GiB (not in the guest's identity map): the VMM's paths only */
	if (ram_top > 0x100000000ull) {
		uint64_t hi = ram_top - 2 * PAGE;

		r = testdev_cache_write(hi + 8, 0x41ba00000000002aull);
		if (r)
			FAIL("CACHE_WRITE above 4 GiB 0x%lx: %s\n", hi + 8, testdev_errname(r));
		check_vmm_view(hi, 0, 1, 0x41ba00000000002aull);
		r = testdev_discard(hi, PAGE);
		if (r)
			FAIL("DISCARD above 4 GiB 0x%lx: %s\n", hi, testdev_errname(r));
		check_vmm_view(hi, 0, 1, 0);
		bad_request(&(struct bad_request){ "across the MMIO hole into high RAM",
						   TESTDEV_DISCARD, 0xbffff000ull, 0x40002000ull,
						   -TD_EFAULT });
		bad_request(&(struct bad_request){ "straddling the 4 GiB boundary", TESTDEV_DISCARD,
						   0xfffff000ull, 2 * PAGE, -TD_EFAULT });
		printf("discard: RAM above 4 GiB: written, discarded, reads zero\n");
	}

	/* nothing above discarded or changed anything */
	verify_pages(base, (unsigned)n, "after bad requests");
	check_vmm_view(base, 2, 3, pattern(2, 3));
	if (testdev_mismatches)
		FAIL("%u requests had a result in memory different from port 0x%x's\n",
		     testdev_mismatches, TESTDEV_RESULT_PORT);
	if (failures) {
		printf("discard: FAILED (%u failures)\n", failures);
		return 1;
	}
	printf("discard: OK\n");
	return 0;
}
