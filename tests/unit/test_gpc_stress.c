// SPDX-License-Identifier: MIT
/*
 * Stress: user threads check-and-write through shared caches over a few pages while another
 * thread discards and converts those pages and changes the layout (pause users, remove the
 * region, add it back). Run under lockdep (debug), ASan and TSan builds.
 *
 * What it asserts:
 *  - no access inside a destructive window: the invalidate hook flags a page between "caches
 *    marked" and "destructive step done"; a user inside its read section on that page fails
 *    the test (revoked pages would also fault: they are PROT_NONE in the access view, and a
 *    removed region is unmapped);
 *  - discarded pages read zero right after the discard, unless a user refreshed after it;
 *  - no deadlock: a watchdog aborts if the run overstays;
 *  - progress: every user completed accesses;
 *  - readers in a tight loop do not starve invalidations (test_readers_do_not_starve_...).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../arch/x86/layout.h"
#include "../../vmm/gpc.h"
#include "../../vmm/guest_mem.h"

#define RAM_BASE (1ull << 32)
#define RAM_SIZE (2ull << 20)
#define NR_PAGES 4
#define NR_USERS 4
#define NR_SHARED 2 /* caches per page shared by all users */
#define RUN_MS 1500
#define WATCHDOG_S 120

struct stress {
	struct guest_mem mem;
	struct gpc shared[NR_PAGES][NR_SHARED];
	_Atomic int destroying[NR_PAGES];
	_Atomic bool stop;
	_Atomic int pause_request;
	_Atomic int parked;
	_Atomic uint64_t accesses[NR_USERS];
	_Atomic uint64_t violations;
	_Atomic uint64_t discards, conversions, layout_changes;
};

static struct stress *S;

static uint64_t page_gpa(int page)
{
	return RAM_BASE + (uint64_t)page * GUEST_PAGE_SIZE;
}

static void invalidate_hook(void *arg, uint64_t gpa, uint64_t len, bool begin)
{
	struct stress *s = arg;

	for (int p = 0; p < NR_PAGES; p++) {
		if (page_gpa(p) < gpa + len && gpa < page_gpa(p) + GUEST_PAGE_SIZE)
			atomic_fetch_add(&s->destroying[p], begin ? 1 : -1);
	}
}

struct user_arg {
	int id;
	unsigned int seed;
};

static void *user_thread(void *arg)
{
	struct user_arg *u = arg;
	struct gpc own[NR_PAGES];

	for (int p = 0; p < NR_PAGES; p++)
		gpc_init(&own[p], &S->mem, "own");
	while (!atomic_load(&S->stop)) {
		int page = (int)(rand_r(&u->seed) % NR_PAGES);
		int which = (int)(rand_r(&u->seed) % (NR_SHARED + 1));
		struct gpc *gpc = which == NR_SHARED ? &own[page] : &S->shared[page][which];
		uint64_t gpa = page_gpa(page) + 64 * (uint64_t)u->id;
		volatile uint64_t *ptr;

		if (atomic_load(&S->pause_request)) {
			/* a vCPU reaching its pause point between exits */
			atomic_fetch_add(&S->parked, 1);
			while (atomic_load(&S->pause_request) && !atomic_load(&S->stop))
				sched_yield();
			atomic_fetch_sub(&S->parked, 1);
			continue;
		}
		ptr = gpc_begin(gpc, gpa, 16);
		if (!ptr)
			continue; /* private or removed: the guest would get an error */
		if (atomic_load(&S->destroying[page]))
			atomic_fetch_add(&S->violations, 1);
		ptr[0] = (uint64_t)u->id << 32 | (uint32_t)atomic_load(&S->accesses[u->id]);
		ptr[1] = ptr[0];
		if (ptr[1] != ptr[0])
			atomic_fetch_add(&S->violations, 1);
		if (atomic_load(&S->destroying[page]))
			atomic_fetch_add(&S->violations, 1);
		gpc_end(gpc);
		atomic_fetch_add(&S->accesses[u->id], 1);
	}
	for (int p = 0; p < NR_PAGES; p++)
		gpc_destroy(&own[p]);
	return NULL;
}

static void layout_change(struct stress *s)
{
	/* pause every user (the VM's pause-all), then remove and re-add the region */
	atomic_store(&s->pause_request, 1);
	while (atomic_load(&s->parked) < NR_USERS && !atomic_load(&s->stop))
		sched_yield();
	assert_int_equal(guest_mem_remove_region(&s->mem, RAM_BASE), 0);
	assert_int_equal(guest_mem_add_ram(&s->mem, RAM_BASE, RAM_SIZE), 0);
	atomic_store(&s->pause_request, 0);
	atomic_fetch_add(&s->layout_changes, 1);
}

static void *invalidator_thread(void *arg)
{
	struct stress *s = arg;
	unsigned int seed = 1234;

	while (!atomic_load(&s->stop)) {
		int page = (int)(rand_r(&seed) % NR_PAGES);
		int op = (int)(rand_r(&seed) % 16);

		if (op < 10) {
			assert_int_equal(
				guest_mem_discard(&s->mem, page_gpa(page), GUEST_PAGE_SIZE), 0);
			atomic_fetch_add(&s->discards, 1);
		} else if (op < 15) {
			assert_int_equal(
				guest_mem_convert(&s->mem, page_gpa(page), GUEST_PAGE_SIZE, true),
				0);
			usleep(100);
			assert_int_equal(
				guest_mem_convert(&s->mem, page_gpa(page), GUEST_PAGE_SIZE, false),
				0);
			atomic_fetch_add(&s->conversions, 1);
		} else {
			layout_change(s);
		}
		usleep(50);
	}
	return NULL;
}

static void watchdog(int sig)
{
	(void)sig;
	static const char msg[] = "test_gpc_stress: watchdog fired: deadlock?\n";
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	abort();
}

static void test_stress_caches_under_invalidation(void **state)
{
	struct user_arg users[NR_USERS];
	pthread_t ut[NR_USERS], it;
	struct stress *s = calloc(1, sizeof(*s));

	(void)state;
	S = s;
	signal(SIGALRM, watchdog);
	alarm(WATCHDOG_S);
	guest_mem_init(&s->mem, -1, MEM_BACKING_MEMFD, 0);
	assert_int_equal(guest_mem_add_ram(&s->mem, RAM_BASE, RAM_SIZE), 0);
	s->mem.invalidate_hook = invalidate_hook;
	s->mem.invalidate_hook_arg = s;
	for (int p = 0; p < NR_PAGES; p++)
		for (int c = 0; c < NR_SHARED; c++)
			gpc_init(&s->shared[p][c], &s->mem, "shared");

	for (int i = 0; i < NR_USERS; i++) {
		users[i] = (struct user_arg){ .id = i, .seed = (unsigned int)i * 7919u + 1 };
		pthread_create(&ut[i], NULL, user_thread, &users[i]);
	}
	pthread_create(&it, NULL, invalidator_thread, s);
	usleep(RUN_MS * 1000);
	atomic_store(&s->stop, true);
	pthread_join(it, NULL);
	for (int i = 0; i < NR_USERS; i++)
		pthread_join(ut[i], NULL);
	alarm(0);

	printf("stress: %llu discards, %llu conversions, %llu layout changes; accesses per user:",
	       (unsigned long long)s->discards, (unsigned long long)s->conversions,
	       (unsigned long long)s->layout_changes);
	for (int i = 0; i < NR_USERS; i++)
		printf(" %llu", (unsigned long long)s->accesses[i]);
	printf("\n");
	assert_int_equal(atomic_load(&s->violations), 0);
	assert_true(s->discards > 0);
	assert_true(s->conversions > 0);
	for (int i = 0; i < NR_USERS; i++)
		assert_true(s->accesses[i] > 0);
	assert_int_equal(atomic_load(&s->mem.invalidate_in_progress), 0);

	for (int p = 0; p < NR_PAGES; p++)
		for (int c = 0; c < NR_SHARED; c++)
			gpc_destroy(&s->shared[p][c]);
	guest_mem_destroy(&s->mem);
	free(s);
}

/* After a discard returns, the page reads zero until somebody writes through a fresh cache. */
static void test_discard_then_zero(void **state)
{
	struct guest_mem mem;
	struct gpc gpc;
	uint64_t v = 0, *p;

	(void)state;
	guest_mem_init(&mem, -1, MEM_BACKING_ANONYMOUS, 0);
	assert_int_equal(guest_mem_add_ram(&mem, 0, RAM_SIZE), 0);
	gpc_init(&gpc, &mem, "zero");
	for (int round = 0; round < 1000; round++) {
		p = gpc_begin(&gpc, 0x3000, 8);
		assert_non_null(p);
		*p = (uint64_t)round + 1;
		gpc_end(&gpc);
		assert_int_equal(guest_mem_discard(&mem, 0x3000, GUEST_PAGE_SIZE), 0);
		assert_int_equal(guest_mem_read(&mem, 0x3000, &v, 8), 0);
		assert_int_equal(v, 0);
	}
	gpc_destroy(&gpc);
	guest_mem_destroy(&mem);
}

/*
 * Writers are not starved: more reader threads than gpc->lock has slots (so slots are shared)
 * keep one cache read-locked back to back, each holding it across a few accesses so that
 * their read sections overlap and the lock is rarely free. Every invalidation of the page
 * must still complete (with a reader-preferring rwlock they can wait forever); the watchdog
 * turns a starved invalidation into a failure. The invalidations also refresh the cache
 * (readers must get back in) and no reader may be inside while the page is being destroyed.
 */
#define NR_HOGS (GPC_LOCK_SLOTS + 2)
#define NR_HOG_INVALIDATIONS 50

struct hogs {
	struct guest_mem mem;
	struct gpc gpc;
	_Atomic int destroying;
	_Atomic bool stop;
	_Atomic int started;
	_Atomic uint64_t accesses[NR_HOGS];
	_Atomic uint64_t violations;
};

static void hog_invalidate_hook(void *arg, uint64_t gpa, uint64_t len, bool begin)
{
	struct hogs *h = arg;

	(void)gpa, (void)len;
	atomic_fetch_add(&h->destroying, begin ? 1 : -1);
}

struct hog_arg {
	struct hogs *h;
	int id;
};

static void *hog_thread(void *arg)
{
	struct hog_arg *a = arg;
	struct hogs *h = a->h;
	bool counted = false;

	while (!atomic_load(&h->stop)) {
		volatile uint64_t *p = gpc_begin(&h->gpc, 0x8000, 8);

		assert_non_null(p);
		for (int i = 0; i < 64; i++)
			(void)p[0]; /* reads only: readers share the cache and the page */
		if (atomic_load(&h->destroying))
			atomic_fetch_add(&h->violations, 1);
		gpc_end(&h->gpc);
		atomic_fetch_add(&h->accesses[a->id], 1);
		if (!counted) {
			counted = true;
			atomic_fetch_add(&h->started, 1);
		}
	}
	return NULL;
}

static uint64_t hog_accesses(struct hogs *h)
{
	uint64_t n = 0;

	for (int i = 0; i < NR_HOGS; i++)
		n += atomic_load(&h->accesses[i]);
	return n;
}

static void test_readers_do_not_starve_invalidation(void **state)
{
	struct hogs *h = calloc(1, sizeof(*h));
	struct hog_arg args[NR_HOGS];
	pthread_t t[NR_HOGS];
	uint64_t before = 0;
	int done;

	(void)state;
	signal(SIGALRM, watchdog);
	alarm(WATCHDOG_S);
	guest_mem_init(&h->mem, -1, MEM_BACKING_MEMFD, 0);
	assert_int_equal(guest_mem_add_ram(&h->mem, 0, RAM_SIZE), 0);
	h->mem.invalidate_hook = hog_invalidate_hook;
	h->mem.invalidate_hook_arg = h;
	gpc_init(&h->gpc, &h->mem, "hogged");
	assert_int_equal(gpc_activate(&h->gpc, 0x8000, 8), 0);
	for (int i = 0; i < NR_HOGS; i++) {
		args[i] = (struct hog_arg){ h, i };
		pthread_create(&t[i], NULL, hog_thread, &args[i]);
	}
	while (atomic_load(&h->started) < NR_HOGS)
		sched_yield();

	for (done = 0; done < NR_HOG_INVALIDATIONS; done++) {
		/*
		 * Readers are back in their loop on the refreshed cache before the next
		 * invalidation (back to back, they would wait in gpc_refresh() instead).
		 */
		while (hog_accesses(h) < before + 4 * NR_HOGS)
			sched_yield();
		assert_int_equal(guest_mem_discard(&h->mem, 0x8000, GUEST_PAGE_SIZE), 0);
		before = hog_accesses(h);
	}
	atomic_store(&h->stop, true);
	for (int i = 0; i < NR_HOGS; i++)
		pthread_join(t[i], NULL);
	alarm(0);

	printf("hogs: %d invalidations completed under %d readers, %llu refreshes\n", done, NR_HOGS,
	       (unsigned long long)h->gpc.refreshes);
	assert_int_equal(done, NR_HOG_INVALIDATIONS);
	assert_int_equal(atomic_load(&h->violations), 0);
	/* each discard found the cache valid and marked it: readers refreshed after each one */
	assert_true(h->gpc.refreshes >= 1 + NR_HOG_INVALIDATIONS);
	gpc_destroy(&h->gpc);
	guest_mem_destroy(&h->mem);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress_caches_under_invalidation),
		cmocka_unit_test(test_discard_then_zero),
		cmocka_unit_test(test_readers_do_not_starve_invalidation),
	};

	return cmocka_run_group_tests_name("gpc_stress", tests, NULL, NULL);
}
