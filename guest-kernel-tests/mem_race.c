/* SPDX-License-Identifier: MIT */
/*
 * Two vCPUs race on one page through minivmm's test device.
 *
 * vCPU 1 (the writer) runs `iters=N` (default 2000) iterations of
 * CACHE_WRITE(value unique to the iteration) then CACHE_READ, both through
 * the VMM's one shared guest-physical cache, and then reads the page itself.
 * vCPU 0 keeps sending DISCARD / CONVERT_PRIVATE / CONVERT_SHARED of the same
 * page until the writer is done.
 *
 * vCPU 0 brackets every request with a sequence counter (odd while a request
 * is in flight), so the writer knows whether a destructive request could have
 * overlapped its window. A read is correct when it
 *   - returns the value just written, unless a whole destructive request ran
 *     between the write's completion and the read's start (then the write
 *     must have been wiped: reading it is a stale access);
 *   - returns 0 when a destructive request overlapped the window (every one
 *     of them discards);
 *   - fails cleanly: a negative errno, the request's value field untouched.
 * Any other value, a 0 with no request in the window, a write reported failed
 * whose value is read back, or the guest's own view disagreeing with the
 * cache when nothing ran in between is a failure. Exit 0 only without any.
 */
#include "rt/rt.h"
#include "rt/testdev.h"

#define PAGE TESTDEV_PAGE_SIZE
#define SENTINEL ((uint64_t)0x5e471e1700000000)
#define MAX_REPORTS 10

enum {
	E_FAULT,
	E_PERM,
	E_OTHER,
	NR_ECLASS
};

struct counts {
	uint64_t ok, fail[NR_ECLASS];
};

static volatile uint64_t op_seq; /* odd while vCPU 0 has a request in flight */
static volatile uint32_t writer_ready, writer_done;
static uint64_t target, iters = 2000;

/* writer's results (read by vCPU 0 once writer_done is set) */
static struct counts w_write, w_read;
static uint64_t w_read_value, w_read_zero, w_direct_checked, w_bad, w_stale_windows;
/* vCPU 0's results */
static struct counts op_counts[3];
static const char *const op_name[3] = { "DISCARD", "CONVERT_PRIVATE", "CONVERT_SHARED" };

static unsigned eclass(int32_t r)
{
	return r == -TD_EFAULT ? E_FAULT : r == -TD_EPERM ? E_PERM : E_OTHER;
}

static void count(struct counts *c, int32_t r)
{
	if (r == 0)
		c->ok++;
	else
		c->fail[eclass(r)]++;
}

static uint64_t seq(void)
{
	return __atomic_load_n(&op_seq, __ATOMIC_SEQ_CST);
}

static void bad(uint64_t i, const char *why, uint64_t want, uint64_t got, int32_t rw, int32_t rr,
		uint64_t s1, uint64_t sa, uint64_t sb, uint64_t s2)
{
	if (w_bad++ < MAX_REPORTS)
		printf("mem_race: BAD iteration %lu: %s: wrote 0x%lx (%s), read 0x%lx (%s), op_seq %lu/%lu/%lu/%lu\n",
		       i, why, want, testdev_errname(rw), got, testdev_errname(rr), s1, sa, sb, s2);
}

static void writer(uint32_t apic_id)
{
	volatile uint64_t *direct = (volatile uint64_t *)(uintptr_t)target;

	(void)apic_id;
	__atomic_store_n(&writer_ready, 1u, __ATOMIC_SEQ_CST);
	for (uint64_t i = 1; i <= iters; i++) {
		uint64_t val = 0xa11ce00000000000ull | i, got = SENTINEL, g;
		uint64_t s1, sa, sb, s2, s3;
		int32_t rw, rr;
		bool no_op_whole, op_between;

		s1 = seq();
		rw = testdev_cache_write(target, val);
		sa = seq();
		if ((i & 3) == 0) /* leave room for a whole request between write and read */
			delay_loops(400);
		sb = seq();
		rr = testdev_cache_read(target, &got);
		s2 = seq();
		g = *direct;
		s3 = seq();

		count(&w_write, rw);
		count(&w_read, rr);
		if (rw > 0 || rr > 0) {
			bad(i, "positive result", val, got, rw, rr, s1, sa, sb, s2);
			continue;
		}
		/* nothing in flight from before the write until after the read */
		no_op_whole = s1 == s2 && !(s1 & 1);
		/* a whole request ran after the write completed and before the read began */
		op_between = !(sa & 1) && sb >= sa + 2;
		w_stale_windows += op_between;
		if (rr < 0) {
			if (got != SENTINEL)
				bad(i, "failed read changed the value", val, got, rw, rr, s1, sa,
				    sb, s2);
			else if (rw == 0 && no_op_whole)
				bad(i, "read failed with no request in flight after a good write",
				    val, got, rw, rr, s1, sa, sb, s2);
			continue;
		}
		if (got == val) {
			if (rw != 0)
				bad(i, "a write reported failed was read back", val, got, rw, rr,
				    s1, sa, sb, s2);
			else if (op_between)
				bad(i, "value survived a discard that ran between write and read",
				    val, got, rw, rr, s1, sa, sb, s2);
			else
				w_read_value++;
			/* the guest's own mapping agrees when nothing ran from write to here */
			if (rw == 0 && s1 == s3 && !(s1 & 1)) {
				w_direct_checked++;
				if (g != val)
					bad(i, "guest view differs from the cache", val, g, rw, rr,
					    s1, sa, sb, s3);
			}
		} else if (got == 0) {
			if (no_op_whole)
				bad(i, "read 0 with no discard in flight", val, got, rw, rr, s1, sa,
				    sb, s2);
			else
				w_read_zero++;
		} else {
			bad(i, "read a value never written in this iteration", val, got, rw, rr, s1,
			    sa, sb, s2);
		}
	}
	__atomic_store_n(&writer_done, 1u, __ATOMIC_SEQ_CST);
}

static void print_counts(const char *what, const struct counts *c)
{
	printf("mem_race: %-16s ok %lu, failed %lu (-EFAULT %lu, -EPERM %lu, other %lu)\n", what,
	       c->ok, c->fail[E_FAULT] + c->fail[E_PERM] + c->fail[E_OTHER], c->fail[E_FAULT],
	       c->fail[E_PERM], c->fail[E_OTHER]);
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

int test_main(void)
{
	/* discard, convert both ways, discard a private page */
	static const uint8_t cycle[] = { 0, 1, 2, 0, 1, 0, 2 };
	uint64_t cpus = 2, wait_tsc = 20000000000ull, ops = 0, rnd = 0x2545f4914f6cdd1dull, t0;
	unsigned failures = 0;
	uint64_t v = 0;
	int32_t r;

	if (!testdev_present()) {
		printf("mem_race: FAIL: no test device at port 0x%x (needs minivmm)\n",
		       TESTDEV_PORT);
		return 1;
	}
	cmdline_get_u64("cpus", &cpus);
	cmdline_get_u64("iters", &iters);
	cmdline_get_u64("wait_tsc", &wait_tsc);
	target = testdev_scratch(PAGE);
	if (cpus < 2 || !target || !iters) {
		printf("mem_race: FAIL: needs cpus=2 (got %lu), iters >= 1 and scratch RAM\n",
		       cpus);
		return 1;
	}
	target += 0x100;
	printf("mem_race: page 0x%lx, %lu writer iterations on vCPU 1\n", target & ~(PAGE - 1),
	       iters);
	if (!smp_start_aps(2, writer)) {
		printf("mem_race: FAIL: cannot start vCPU 1\n");
		return 1;
	}
	t0 = rdtsc();
	while (!__atomic_load_n(&writer_ready, __ATOMIC_SEQ_CST)) {
		if (rdtsc() - t0 > wait_tsc) {
			printf("mem_race: FAIL: vCPU 1 did not start\n");
			return 1;
		}
		cpu_relax();
	}

	t0 = rdtsc();
	while (!__atomic_load_n(&writer_done, __ATOMIC_SEQ_CST)) {
		unsigned op = cycle[ops % sizeof(cycle)];

		__atomic_fetch_add(&op_seq, 1, __ATOMIC_SEQ_CST);
		r = testdev_call(TESTDEV_DISCARD + op, target & ~(PAGE - 1), PAGE, NULL);
		__atomic_fetch_add(&op_seq, 1, __ATOMIC_SEQ_CST);
		count(&op_counts[op], r);
		ops++;
		rnd ^= rnd << 13, rnd ^= rnd >> 7, rnd ^= rnd << 17;
		delay_loops(rnd % 48);
		if (rdtsc() - t0 > 10 * wait_tsc) {
			printf("mem_race: FAIL: vCPU 1 not done after %lu requests\n", ops);
			return 1;
		}
	}

	/* back to shared; the cache must work afterwards */
	r = testdev_convert_shared(target & ~(PAGE - 1), PAGE);
	if (r == 0)
		r = testdev_cache_write(target, 0x600dull);
	if (r == 0)
		r = testdev_cache_read(target, &v);
	if (r != 0 || v != 0x600d || *(volatile uint64_t *)(uintptr_t)target != 0x600d) {
		printf("mem_race: FAIL: page unusable after the race: %s, value 0x%lx\n",
		       testdev_errname(r), v);
		failures++;
	}

	print_counts("CACHE_WRITE", &w_write);
	print_counts("CACHE_READ", &w_read);
	printf("mem_race: reads: %lu the written value, %lu zero after a discard, %lu clean errors, %lu bad\n",
	       w_read_value, w_read_zero,
	       w_read.fail[E_FAULT] + w_read.fail[E_PERM] + w_read.fail[E_OTHER], w_bad);
	printf("mem_race: %lu windows with a whole request between write and read; guest view checked %lu times\n",
	       w_stale_windows, w_direct_checked);
	for (unsigned k = 0; k < 3; k++)
		print_counts(op_name[k], &op_counts[k]);
	printf("mem_race: %lu requests on vCPU 0\n", ops);

	for (unsigned k = 0; k < 3; k++) {
		if (op_counts[k].fail[E_FAULT] + op_counts[k].fail[E_PERM] +
		    op_counts[k].fail[E_OTHER]) {
			printf("mem_race: FAIL: %s of a valid page failed\n", op_name[k]);
			failures++;
		}
	}
	if (w_bad) {
		printf("mem_race: FAIL: %lu bad reads\n", w_bad);
		failures++;
	}
	if (w_read.ok == 0 ||
	    w_read_zero + w_read.fail[E_FAULT] + w_read.fail[E_PERM] + w_read.fail[E_OTHER] == 0) {
		printf("mem_race: FAIL: the race never happened (no good read or no discarded/failed one)\n");
		failures++;
	}
	if (testdev_mismatches) {
		printf("mem_race: FAIL: %u requests had a result in memory different from the port's\n",
		       testdev_mismatches);
		failures++;
	}
	if (failures)
		return 1;
	printf("mem_race: OK\n");
	return 0;
}
