// SPDX-License-Identifier: MIT
/*
 * Unit tests of the guest-physical cache: every state transition, refresh failures, and the
 * refresh-versus-invalidation interleavings of seed 000 forced with the test hooks.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../arch/x86/layout.h"
#include "../../vmm/gpc.h"
#include "../../vmm/guest_mem.h"

#define RAM_SIZE (16ull << 20)
#define PAGE GUEST_PAGE_SIZE

static int setup_mem(void **state)
{
	struct guest_mem *mem = calloc(1, sizeof(*mem));

	guest_mem_init(mem, -1, MEM_BACKING_MEMFD, 0);
	assert_int_equal(guest_mem_add_ram(mem, 0, RAM_SIZE), 0);
	*state = mem;
	return 0;
}

static int teardown_mem(void **state)
{
	guest_mem_destroy(*state);
	free(*state);
	return 0;
}

static void test_activate_check_access(void **state)
{
	struct guest_mem *mem = *state;
	struct gpc gpc;
	uint32_t v = 0x12345678, out = 0;
	void *p;

	gpc_init(&gpc, mem, "test");
	assert_false(gpc.active);
	assert_int_equal(gpc_activate(&gpc, 0x5000 + 16, 64), 0);
	gpc_read_lock(&gpc);
	assert_true(gpc_check(&gpc, 0x5000 + 16, 64));
	assert_true(gpc_check(&gpc, 0x5000 + 16, 8));
	assert_false(gpc_check(&gpc, 0x5000 + 16, 65)); /* longer than cached */
	assert_false(gpc_check(&gpc, 0x6000 + 16, 64)); /* other gpa */
	gpc_read_unlock(&gpc);

	p = gpc_begin(&gpc, 0x5000 + 16, 4);
	assert_non_null(p);
	memcpy(p, &v, 4);
	gpc_end(&gpc);
	assert_int_equal(guest_mem_read(mem, 0x5000 + 16, &out, 4), 0);
	assert_int_equal(out, v);
	gpc_destroy(&gpc);
}

static void test_refresh_errors(void **state)
{
	struct guest_mem *mem = *state;
	struct gpc gpc;

	gpc_init(&gpc, mem, "test");
	/* crossing a page boundary or zero length */
	assert_int_equal(gpc_refresh(&gpc, 0x5ff0, 32), -EINVAL);
	assert_int_equal(gpc_refresh(&gpc, 0x5000, 0), -EINVAL);
	/* beyond RAM, in the MMIO hole */
	assert_int_equal(gpc_refresh(&gpc, RAM_SIZE, 8), -EFAULT);
	assert_int_equal(gpc_refresh(&gpc, LAPIC_ADDR, 8), -EFAULT);
	assert_null(gpc_begin(&gpc, LAPIC_ADDR, 8));
	gpc_read_lock(&gpc);
	assert_false(gpc.valid);
	gpc_read_unlock(&gpc);
	/* private pages cannot be cached */
	assert_int_equal(guest_mem_convert(mem, 0x7000, PAGE, true), 0);
	assert_int_equal(gpc_refresh(&gpc, 0x7000, 8), -EPERM);
	assert_false(gpc.valid);
	assert_int_equal(guest_mem_convert(mem, 0x7000, PAGE, false), 0);
	assert_int_equal(gpc_refresh(&gpc, 0x7000, 8), 0);
	assert_true(gpc.valid);
	gpc_destroy(&gpc);
}

static void test_discard_invalidates_overlapping_only(void **state)
{
	struct guest_mem *mem = *state;
	struct gpc a, b;
	uint8_t *p;

	gpc_init(&a, mem, "a");
	gpc_init(&b, mem, "b");
	assert_int_equal(gpc_activate(&a, 0x10000, 64), 0);
	assert_int_equal(gpc_activate(&b, 0x20000, 64), 0);
	p = gpc_begin(&a, 0x10000, 64);
	memset(p, 0xaa, 64);
	gpc_end(&a);

	assert_int_equal(guest_mem_discard(mem, 0x10000, PAGE), 0);
	assert_false(a.valid);
	assert_null(a.ptr);
	assert_true(b.valid);

	/* the next user refreshes and sees the discarded (zero) page */
	p = gpc_begin(&a, 0x10000, 64);
	assert_non_null(p);
	for (int i = 0; i < 64; i++)
		assert_int_equal(p[i], 0);
	gpc_end(&a);
	assert_int_equal(a.refreshes, 2);
	gpc_destroy(&a);
	gpc_destroy(&b);
}

static void test_conversion_revokes_cache(void **state)
{
	struct guest_mem *mem = *state;
	struct gpc gpc;

	gpc_init(&gpc, mem, "test");
	assert_int_equal(gpc_activate(&gpc, 0x30000, 8), 0);
	assert_int_equal(guest_mem_convert(mem, 0x30000, PAGE, true), 0);
	assert_false(gpc.valid);
	assert_null(gpc_begin(&gpc, 0x30000, 8));
	assert_int_equal(guest_mem_convert(mem, 0x30000, PAGE, false), 0);
	assert_non_null(gpc_begin(&gpc, 0x30000, 8));
	gpc_end(&gpc);
	gpc_destroy(&gpc);
}

/* An invalidation must reach caches already marked invalid: their state still matters. */
static void test_invalidation_reaches_invalid_caches(void **state)
{
	struct guest_mem *mem = *state;
	struct gpc gpc;
	static uint8_t sentinel;

	gpc_init(&gpc, mem, "test");
	assert_int_equal(gpc_activate(&gpc, 0x40000, 8), 0);
	gpc_write_lock(&gpc);
	gpc.valid = false;
	gpc.ptr = &sentinel; /* stands for a pointer a cleanup still owes */
	gpc_write_unlock(&gpc);
	assert_int_equal(guest_mem_discard(mem, 0x40000, PAGE), 0);
	assert_null(gpc.ptr);
	gpc_destroy(&gpc);
}

static void test_deactivate_unregisters(void **state)
{
	struct guest_mem *mem = *state;
	struct gpc gpc;

	gpc_init(&gpc, mem, "test");
	assert_int_equal(gpc_activate(&gpc, 0x50000, 8), 0);
	assert_int_equal(mem->nr_caches, 1);
	gpc_deactivate(&gpc);
	assert_int_equal(mem->nr_caches, 0);
	assert_false(gpc.valid);
	/* re-targeting moves the cache between registry buckets */
	assert_int_equal(gpc_activate(&gpc, 0x51000, 8), 0);
	assert_int_equal(gpc_refresh(&gpc, 0x52000, 8), 0);
	assert_int_equal(mem->nr_caches, 1);
	assert_int_equal(guest_mem_discard(mem, 0x51000, PAGE), 0);
	assert_true(gpc.valid);
	assert_int_equal(guest_mem_discard(mem, 0x52000, PAGE), 0);
	assert_false(gpc.valid);
	gpc_destroy(&gpc);
}

static void test_layout_change_invalidates(void **state)
{
	struct guest_mem *mem = *state;
	struct gpc gpc;

	gpc_init(&gpc, mem, "test");
	assert_int_equal(guest_mem_add_ram(mem, 1ull << 32, 4 << 20), 0);
	assert_int_equal(gpc_activate(&gpc, (1ull << 32) + 0x1000, 8), 0);
	assert_int_equal(guest_mem_remove_region(mem, 1ull << 32), 0);
	assert_false(gpc.valid);
	assert_null(gpc_begin(&gpc, (1ull << 32) + 0x1000, 8));
	assert_int_equal(guest_mem_add_ram(mem, 1ull << 32, 4 << 20), 0);
	assert_non_null(gpc_begin(&gpc, (1ull << 32) + 0x1000, 8));
	gpc_end(&gpc);
	/* a generation bump alone fails the check */
	atomic_fetch_add(&mem->generation, 1);
	gpc_read_lock(&gpc);
	assert_false(gpc_check(&gpc, (1ull << 32) + 0x1000, 8));
	gpc_read_unlock(&gpc);
	gpc_destroy(&gpc);
}

/*
 * Seed 000: an invalidation that starts after refresh translated but before it publishes.
 * The hook runs between translation and publication and starts an invalidation on another
 * thread, returning once that invalidation has marked the caches (count raised). Refresh
 * must not publish its translation; it waits and translates again after the invalidation.
 */
struct race {
	struct guest_mem *mem;
	uint64_t gpa;
	int hook_calls;
	bool finish_inside_hook;
	bool valid_seen_during_invalidation;
	pthread_t thread;
	pthread_mutex_t m;
	pthread_cond_t cv;
	bool begun;
	struct gpc *gpc;
};

static void *invalidator(void *arg)
{
	struct race *r = arg;

	guest_mem_invalidate_begin(r->mem, r->gpa, PAGE);
	pthread_mutex_lock(&r->m);
	r->begun = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->m);
	usleep(20000);
	/* the destructive step: nobody may hold a valid cache over the page now */
	gpc_read_lock(r->gpc);
	r->valid_seen_during_invalidation |= r->gpc->valid;
	gpc_read_unlock(r->gpc);
	guest_mem_invalidate_end(r->mem, r->gpa, PAGE);
	return NULL;
}

static void race_hook(struct gpc *gpc, void *arg)
{
	struct race *r = arg;

	(void)gpc;
	if (r->hook_calls++)
		return;
	if (r->finish_inside_hook) {
		/* begins and ends entirely between translation and publication */
		guest_mem_invalidate_begin(r->mem, r->gpa, PAGE);
		guest_mem_invalidate_end(r->mem, r->gpa, PAGE);
		return;
	}
	pthread_create(&r->thread, NULL, invalidator, r);
	pthread_mutex_lock(&r->m);
	while (!r->begun)
		pthread_cond_wait(&r->cv, &r->m);
	pthread_mutex_unlock(&r->m);
}

static void run_race(struct guest_mem *mem, bool finish_inside_hook)
{
	struct race r = { .mem = mem, .gpa = 0x60000, .finish_inside_hook = finish_inside_hook };
	struct gpc gpc;

	pthread_mutex_init(&r.m, NULL);
	pthread_cond_init(&r.cv, NULL);
	r.gpc = &gpc;
	gpc_init(&gpc, mem, "race");
	mem->refresh_hook = race_hook;
	mem->refresh_hook_arg = &r;
	assert_int_equal(gpc_refresh(&gpc, r.gpa, 8), 0);
	mem->refresh_hook = NULL;
	if (!finish_inside_hook)
		pthread_join(r.thread, NULL);
	/* the first translation was discarded: refresh translated a second time */
	assert_int_equal(r.hook_calls, 2);
	assert_false(r.valid_seen_during_invalidation);
	assert_true(gpc.valid);
	assert_int_equal(gpc.refreshes, 1);
	gpc_destroy(&gpc);
	pthread_mutex_destroy(&r.m);
	pthread_cond_destroy(&r.cv);
}

static void test_refresh_races_invalidation_in_progress(void **state)
{
	run_race(*state, false);
}

static void test_refresh_races_completed_invalidation(void **state)
{
	run_race(*state, true);
}

/* An invalidation already in progress when refresh starts: refresh waits for it. */
struct early {
	struct guest_mem *mem;
	struct gpc *gpc;
	_Atomic int refreshed;
};

static void *early_refresher(void *arg)
{
	struct early *e = arg;

	gpc_refresh(e->gpc, 0x70000, 8);
	atomic_store(&e->refreshed, 1);
	return NULL;
}

static void test_refresh_waits_for_invalidation(void **state)
{
	struct guest_mem *mem = *state;
	struct gpc gpc;
	struct early e = { .mem = mem, .gpc = &gpc };
	pthread_t t;

	gpc_init(&gpc, mem, "early");
	guest_mem_invalidate_begin(mem, 0x70000, PAGE);
	pthread_create(&t, NULL, early_refresher, &e);
	usleep(50000);
	assert_int_equal(atomic_load(&e.refreshed), 0);
	gpc_read_lock(&gpc);
	assert_false(gpc.valid);
	gpc_read_unlock(&gpc);
	guest_mem_invalidate_end(mem, 0x70000, PAGE);
	pthread_join(t, NULL);
	assert_int_equal(atomic_load(&e.refreshed), 1);
	assert_true(gpc.valid);
	gpc_destroy(&gpc);
}

/* Invalidation visits only the buckets of the range, not every cache. */
static void test_registry_many_caches(void **state)
{
	struct guest_mem *mem = *state;
	enum {
		N = 2048
	};
	struct gpc *caches = calloc(N, sizeof(*caches));
	int valid = 0;

	for (int i = 0; i < N; i++) {
		gpc_init(&caches[i], mem, "many");
		assert_int_equal(gpc_activate(&caches[i], (uint64_t)i * PAGE + 8 * (i % 8), 8), 0);
	}
	assert_int_equal(mem->nr_caches, N);
	assert_int_equal(guest_mem_discard(mem, 100 * PAGE, 2 * PAGE), 0);
	for (int i = 0; i < N; i++)
		valid += caches[i].valid;
	assert_int_equal(valid, N - 2);
	assert_false(caches[100].valid);
	assert_false(caches[101].valid);
	/* a range wider than the bucket table walks them all */
	assert_int_equal(guest_mem_discard(mem, 0, RAM_SIZE), 0);
	valid = 0;
	for (int i = 0; i < N; i++)
		valid += caches[i].valid;
	assert_int_equal(valid, 0);
	for (int i = 0; i < N; i++)
		gpc_destroy(&caches[i]);
	free(caches);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_activate_check_access, setup_mem,
						teardown_mem),
		cmocka_unit_test_setup_teardown(test_refresh_errors, setup_mem, teardown_mem),
		cmocka_unit_test_setup_teardown(test_discard_invalidates_overlapping_only,
						setup_mem, teardown_mem),
		cmocka_unit_test_setup_teardown(test_conversion_revokes_cache, setup_mem,
						teardown_mem),
		cmocka_unit_test_setup_teardown(test_invalidation_reaches_invalid_caches, setup_mem,
						teardown_mem),
		cmocka_unit_test_setup_teardown(test_deactivate_unregisters, setup_mem,
						teardown_mem),
		cmocka_unit_test_setup_teardown(test_layout_change_invalidates, setup_mem,
						teardown_mem),
		cmocka_unit_test_setup_teardown(test_refresh_races_invalidation_in_progress,
						setup_mem, teardown_mem),
		cmocka_unit_test_setup_teardown(test_refresh_races_completed_invalidation,
						setup_mem, teardown_mem),
		cmocka_unit_test_setup_teardown(test_refresh_waits_for_invalidation, setup_mem,
						teardown_mem),
		cmocka_unit_test_setup_teardown(test_registry_many_caches, setup_mem, teardown_mem),
	};

	return cmocka_run_group_tests_name("gpc", tests, NULL, NULL);
}
