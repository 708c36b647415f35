/* SPDX-License-Identifier: MIT */
/*
 * A guest-triggered memory layout change under a running vCPU.
 *
 * The RAM region above 4 GiB (the config gives a little more than 3 GiB, so
 * it is small) is removed and added back, empty, by minivmm's main thread
 * with every vCPU paused, each time vCPU 0 asks with TESTDEV_REMAP_REGION.
 * Meanwhile vCPU 1 (the writer) does CACHE_WRITE(value unique to the
 * iteration) then CACHE_READ of one word in that region, through the VMM's
 * shared cache, at least `iters=N` (default 500) times and until it has seen
 * a remap wipe its write. vCPU 0 brackets each request with a sequence
 * counter (odd while one is in flight). A read is correct when it returns
 *   - the value just written, unless a whole remap ran between the write's
 *     completion and the read's start (then the write must be gone);
 *   - 0 when a remap overlapped the window (a remap empties the region).
 * The guest also maps the region itself (PDPT[4]: 4-5 GiB): after each
 * cached read the writer reads the word through its own mapping (it must
 * agree with the cache when no remap ran), then writes a second word
 * directly and reads it back in a loop: the value or 0 after a remap, never
 * anything else. A read of the region while its KVM slot is gone would be an
 * MMIO exit the VMM answers with all ones: that is what pausing prevents.
 * Every cache access must succeed: the vCPUs are paused while the region is
 * gone, so they can never see the hole. Every remap must succeed, more of
 * them must succeed while vCPU 1 is halted in the kernel (it has to be kicked
 * out to park), and bad requests get their errno without changing memory.
 * With `xen=1` (and --xen) vCPU 1 sleeps in SCHEDOP_block instead of hlt for
 * that last part: a pause has to get it out of the VMM's block loop, and the
 * block must return to the guest each time.
 */
#include "rt/rt.h"
#include "rt/testdev.h"
#include "rt/xen.h"

#define PAGE TESTDEV_PAGE_SIZE
#define HIGH_RAM 0x100000000ull
#define MAX_REPORTS 10

#define SPIN_READS 64

static volatile uint64_t op_seq; /* odd while vCPU 0 has a remap in flight */
static volatile uint32_t writer_ready, writer_done;
static uint64_t target, direct_target, iters = 500, max_iters;

/* writer's results (read by vCPU 0 once writer_done is set) */
static uint64_t w_iters, w_value, w_zero, w_between, w_bad, w_mem_checked;
static uint64_t w_guest_checked, w_direct_reads, w_direct_zero;

/* xen=1: vCPU 1 ends in a SCHEDOP_block loop */
static uint64_t xen_mode;
static volatile uint32_t ap_blocking;
static volatile uint64_t ap_blocks;
static volatile long ap_block_err;

extern uint64_t pml4[]; /* rt/entry.S: PML4[0] -> PDPT, PDPT[0..3]: 0-4 GiB */
static uint64_t high_pd[512] __attribute__((aligned(4096)));

/* Map [HIGH_RAM, HIGH_RAM + len) 1:1 with 2 MiB pages (len <= 1 GiB, 2 MiB aligned). */
static bool map_high(uint64_t len)
{
	uint64_t *pdpt = (uint64_t *)(uintptr_t)(pml4[0] & ~0xfffull), cr3;

	if (len > (1ull << 30) || len & ((2ull << 20) - 1) || pdpt[4] & 1)
		return false;
	for (uint64_t k = 0; k < len >> 21; k++)
		high_pd[k] = (HIGH_RAM + (k << 21)) | 0x83; /* present, writable, 2 MiB */
	pdpt[4] = (uint64_t)(uintptr_t)high_pd | 0x3;
	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
	return true;
}

static uint64_t seq(void)
{
	return __atomic_load_n(&op_seq, __ATOMIC_SEQ_CST);
}

static void bad(uint64_t i, const char *why, uint64_t want, uint64_t got, int32_t rw, int32_t rr,
		uint64_t s1, uint64_t sa, uint64_t sb, uint64_t s2)
{
	if (w_bad++ < MAX_REPORTS)
		printf("mem_remap: BAD iteration %lu: %s: wrote 0x%lx (%s), read 0x%lx (%s), op_seq %lu/%lu/%lu/%lu\n",
		       i, why, want, testdev_errname(rw), got, testdev_errname(rr), s1, sa, sb, s2);
}

static void writer(uint32_t apic_id)
{
	(void)apic_id;
	__atomic_store_n(&writer_ready, 1u, __ATOMIC_SEQ_CST);
	for (uint64_t i = 1; i <= max_iters && (i <= iters || !w_zero); i++) {
		volatile uint64_t *guest = (volatile uint64_t *)(uintptr_t)target;
		volatile uint64_t *direct = (volatile uint64_t *)(uintptr_t)direct_target;
		uint64_t val = 0xb0b0000000000000ull | i, dval = 0xd0d0000000000000ull | i;
		uint64_t got = 0x5e471e17, m = 0, g, s1, sa, sb, s2, s3, d1, d2;
		int32_t rw, rr, rm = 0;
		bool no_op_whole, op_between;

		w_iters = i;
		s1 = seq();
		rw = testdev_cache_write(target, val);
		sa = seq();
		if ((i & 3) == 0) /* leave room for a whole remap between write and read */
			delay_loops(400);
		sb = seq();
		rr = testdev_cache_read(target, &got);
		s2 = seq();
		if ((i & 7) == 0) /* the uncached device path too, when nothing ran meanwhile */
			rm = testdev_mem_read(target, &m);
		g = *guest;
		s3 = seq();

		if (rw != 0 || rr != 0) {
			bad(i, "a cache access failed: the layout change was visible", val, got, rw,
			    rr, s1, sa, sb, s2);
			continue;
		}
		/* nothing in flight from before the write until after the read */
		no_op_whole = s1 == s2 && !(s1 & 1);
		/* a whole remap ran after the write completed and before the read began */
		op_between = !(sa & 1) && sb >= sa + 2;
		w_between += op_between;
		if (got == val) {
			if (op_between)
				bad(i, "value survived a remap that ran between write and read",
				    val, got, rw, rr, s1, sa, sb, s2);
			else
				w_value++;
		} else if (got == 0) {
			if (no_op_whole)
				bad(i, "read 0 with no remap in flight", val, got, rw, rr, s1, sa,
				    sb, s2);
			else
				w_zero++;
		} else {
			bad(i, "read a value never written in this iteration", val, got, rw, rr, s1,
			    sa, sb, s2);
		}
		if ((i & 7) == 0 && s1 == s3 && !(s1 & 1)) {
			w_mem_checked++;
			if (rm != 0 || m != val)
				bad(i, "guest_mem_read disagrees with the cache", val, m, rw, rm,
				    s1, sa, sb, s3);
		}
		/* the guest's own mapping: KVM's slot is over the same pages as the cache */
		if (s1 == s3 && !(s1 & 1)) {
			w_guest_checked++;
			if (g != val)
				bad(i, "the guest's view differs from the cache", val, g, rw, rr,
				    s1, sa, sb, s3);
		} else if (g != val && g != 0) {
			bad(i, "the guest read neither the value nor zero", val, g, rw, rr, s1, sa,
			    sb, s3);
		}

		/* written by the guest, read by the guest while remaps go on */
		d1 = seq();
		*direct = dval;
		for (unsigned k = 0; k < SPIN_READS; k++) {
			uint64_t d = *direct;

			w_direct_reads++;
			if (d == dval)
				continue;
			d2 = seq();
			if (d == 0 && (d2 != d1 || (d1 & 1))) {
				w_direct_zero++;
				break;
			}
			bad(i,
			    d == 0 ? "the guest's write vanished with no remap"
				   : "the guest read a value it never wrote (a hole?)",
			    dval, d, 0, 0, d1, d1, d2, d2);
			break;
		}
	}
	__atomic_store_n(&writer_done, 1u, __ATOMIC_SEQ_CST);
	if (!xen_mode)
		return; /* to cli; hlt */
	if (!xen_cpu_setup(1)) {
		ap_block_err = -1;
		return;
	}
	__atomic_store_n(&ap_blocking, 1u, __ATOMIC_SEQ_CST);
	for (;;) { /* no event ever comes: only a pause's kick makes it return */
		long r = xen_hcall(__HYPERVISOR_sched_op, SCHEDOP_block, 0, 0);

		if (r)
			ap_block_err = r;
		__atomic_fetch_add(&ap_blocks, 1, __ATOMIC_SEQ_CST);
	}
}

struct bad_request {
	const char *what;
	uint64_t gpa, len;
	int32_t want;
};

/* The high region and the one holding this guest (and its boot data) */
static uint64_t region, region_len, low_end;

static unsigned bad_requests(void)
{
	const struct bad_request reqs[] = {
		{ "unaligned address", region + 0x800, region_len, -TD_EINVAL },
		{ "unaligned length", region, region_len - 0x800, -TD_EINVAL },
		{ "empty range", region, 0, -TD_EINVAL },
		{ "wrapping range", 0xfffffffffffff000ull, 0x2000, -TD_EINVAL },
		{ "half a region", region, region_len / 2, -TD_ENOENT },
		{ "a region and more", region, region_len + PAGE, -TD_ENOENT },
		{ "past the end of RAM", region + region_len, PAGE, -TD_ENOENT },
		{ "the MMIO hole", 0xd0000000ull, PAGE, -TD_ENOENT },
		{ "the region holding this guest", 0, low_end, -TD_EBUSY },
	};
	unsigned failures = 0;

	for (unsigned k = 0; k < sizeof(reqs) / sizeof(reqs[0]); k++) {
		int32_t r = testdev_remap_region(reqs[k].gpa, reqs[k].len);

		if (r != reqs[k].want) {
			printf("mem_remap: FAIL: remap of %s (0x%lx+0x%lx): %s, expected %s\n",
			       reqs[k].what, reqs[k].gpa, reqs[k].len, testdev_errname(r),
			       testdev_errname(reqs[k].want));
			failures++;
		}
	}
	return failures;
}

/* write, read back, optionally expecting `before` first */
static bool cache_rw(uint64_t value, bool check_before, uint64_t before)
{
	uint64_t v = 0x5e471e17;
	int32_t r = testdev_cache_read(target, &v);

	if (r || (check_before && v != before)) {
		printf("mem_remap: FAIL: read %s 0x%lx, expected 0x%lx\n", testdev_errname(r), v,
		       before);
		return false;
	}
	r = testdev_cache_write(target, value);
	if (!r)
		r = testdev_cache_read(target, &v);
	if (r || v != value) {
		printf("mem_remap: FAIL: write/read back: %s 0x%lx, expected 0x%lx\n",
		       testdev_errname(r), v, value);
		return false;
	}
	return true;
}

int test_main(void)
{
	uint64_t cpus = 2, wait_tsc = 20000000000ull, ops = 0, halted_ops = 16, t0;
	uint64_t rnd = 0x2545f4914f6cdd1dull, ok = 0, failed = 0;
	unsigned failures = 0;
	int32_t r;

	if (!testdev_present()) {
		printf("mem_remap: FAIL: no test device at port 0x%x (needs minivmm)\n",
		       TESTDEV_PORT);
		return 1;
	}
	cmdline_get_u64("cpus", &cpus);
	cmdline_get_u64("iters", &iters);
	cmdline_get_u64("wait_tsc", &wait_tsc);
	cmdline_get_u64("halted", &halted_ops);
	cmdline_get_u64("xen", &xen_mode);
	if (xen_mode && (!xen_setup() || !xen_cpu_setup(0))) {
		printf("mem_remap: FAIL: xen=1 needs minivmm --xen\n");
		return 1;
	}
	max_iters = 50 * iters;
	region = HIGH_RAM;
	region_len = testdev_ram_end_of(HIGH_RAM) - HIGH_RAM;
	low_end = testdev_ram_end_of((uint64_t)(uintptr_t)__image_start);
	if (cpus < 2 || !iters || testdev_ram_end_of(HIGH_RAM) == 0 || region_len < 2 * PAGE ||
	    !low_end) {
		printf("mem_remap: FAIL: needs cpus=2 (got %lu), iters >= 1, RAM above 4 GiB (a "
		       "little more than 3G of memory)\n",
		       cpus);
		return 1;
	}
	target = region + region_len / 2 + 0x100;
	direct_target = region + region_len - 0x40;
	if (!map_high(region_len)) {
		printf("mem_remap: FAIL: cannot map 0x%lx+0x%lx in the guest's page tables\n",
		       region, region_len);
		return 1;
	}
	printf("mem_remap: region 0x%lx+0x%lx, word 0x%lx; this guest's region ends at 0x%lx\n",
	       region, region_len, target, low_end);

	/* remap empties the region; the cache works on the new one */
	if (!cache_rw(0x1111, false, 0))
		failures++;
	r = testdev_remap_region(region, region_len);
	if (r) {
		printf("mem_remap: FAIL: remap: %s\n", testdev_errname(r));
		return 1;
	}
	if (!cache_rw(0x2222, true, 0))
		failures++;
	printf("mem_remap: one remap: the region reads zero, then keeps what is written\n");

	/* bad requests change nothing */
	failures += bad_requests();
	if (!cache_rw(0x3333, true, 0x2222))
		failures++;
	else
		printf("mem_remap: bad requests refused, the region kept its contents\n");

	printf("mem_remap: %lu writer iterations (at least) on vCPU 1\n", iters);
	if (!smp_start_aps(2, writer)) {
		printf("mem_remap: FAIL: cannot start vCPU 1\n");
		return 1;
	}
	t0 = rdtsc();
	while (!__atomic_load_n(&writer_ready, __ATOMIC_SEQ_CST)) {
		if (rdtsc() - t0 > wait_tsc) {
			printf("mem_remap: FAIL: vCPU 1 did not start\n");
			return 1;
		}
		cpu_relax();
	}

	while (!__atomic_load_n(&writer_done, __ATOMIC_SEQ_CST)) {
		__atomic_fetch_add(&op_seq, 1, __ATOMIC_SEQ_CST);
		r = testdev_remap_region(region, region_len);
		__atomic_fetch_add(&op_seq, 1, __ATOMIC_SEQ_CST);
		if (r == 0) {
			ok++;
		} else if (failed++ < MAX_REPORTS) {
			printf("mem_remap: FAIL: remap %lu while vCPU 1 runs: %s\n", ops,
			       testdev_errname(r));
		}
		ops++;
		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
		delay_loops(rnd % 1024);
	}
	printf("mem_remap: %lu remaps while vCPU 1 ran: %lu ok, %lu failed\n", ops, ok, failed);
	printf("mem_remap: vCPU 1: %lu iterations; reads: %lu the written value, %lu zero after a remap, %lu bad\n",
	       w_iters, w_value, w_zero, w_bad);
	printf("mem_remap: %lu windows with a whole remap between write and read; guest_mem_read checked %lu times, the guest's view %lu times\n",
	       w_between, w_mem_checked, w_guest_checked);
	printf("mem_remap: %lu reads of its own write by vCPU 1, %lu saw it wiped by a remap\n",
	       w_direct_reads, w_direct_zero);
	if (failed)
		failures++;
	if (w_bad) {
		printf("mem_remap: FAIL: %lu bad reads\n", w_bad);
		failures++;
	}
	if (!w_zero || !w_value) {
		printf("mem_remap: FAIL: the race never happened (%lu written values read back, %lu wiped by a remap in %lu iterations)\n",
		       w_value, w_zero, w_iters);
		failures++;
	}

	if (!xen_mode) {
		/* vCPU 1 now sits in cli; hlt inside KVM: each pause must kick it out */
		ok = 0;
		for (uint64_t k = 0; k < halted_ops; k++)
			ok += testdev_remap_region(region, region_len) == 0;
		printf("mem_remap: %lu of %lu remaps ok with vCPU 1 halted\n", ok, halted_ops);
		if (ok != halted_ops)
			failures++;
	} else {
		/* vCPU 1 sleeps in the VMM's SCHEDOP_block: each pause must get it out */
		uint64_t b0, n = 0;

		t0 = rdtsc();
		while (!ap_blocking && !ap_block_err && rdtsc() - t0 < wait_tsc)
			cpu_relax();
		b0 = ap_blocks;
		ok = 0;
		for (; n < halted_ops || (ap_blocks < b0 + 2 && n < 100 * halted_ops); n++)
			ok += testdev_remap_region(region, region_len) == 0;
		if (ok == n && ap_blocking && !ap_block_err && ap_blocks >= b0 + 2) {
			printf("mem_remap: every remap ok with vCPU 1 in SCHEDOP_block (%lu), which returned to the guest %lu times\n",
			       n, ap_blocks - b0);
		} else {
			printf("mem_remap: FAIL: %lu of %lu remaps ok with vCPU 1 in SCHEDOP_block, which returned %lu times (error %ld)\n",
			       ok, n, ap_blocks - b0, ap_block_err);
			failures++;
		}
	}
	if (!cache_rw(0x600d, halted_ops > 0, 0))
		failures++;

	if (testdev_mismatches) {
		printf("mem_remap: FAIL: %u requests had a result in memory different from the port's\n",
		       testdev_mismatches);
		failures++;
	}
	if (failures)
		return 1;
	printf("mem_remap: OK\n");
	return 0;
}
