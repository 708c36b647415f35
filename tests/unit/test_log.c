// SPDX-License-Identifier: MIT
/*
 * vmm/log.c: the rate limit of guest-triggerable warnings (the first LOG_RATELIMIT_BURST pass,
 * then only the 2^k-th), also when several threads warn from one call site at once.
 */
#include "unit.h"

#include <pthread.h>

#include "../../vmm/log.h"

static void test_burst_then_powers_of_two(void **state)
{
	_Atomic unsigned long count = 0;
	unsigned long nth, passed = 0;

	(void)state;
	for (unsigned long i = 1; i <= 5000; i++) {
		bool pass = log_ratelimit_pass(&count, &nth);
		bool want = i <= LOG_RATELIMIT_BURST || (i & (i - 1)) == 0;

		assert_int_equal(nth, i);
		assert_int_equal(pass, want);
		passed += pass;
	}
	/* 1..10, then 16, 32, ..., 4096 */
	assert_int_equal(passed, LOG_RATELIMIT_BURST + 9);
}

#define THREADS 4
#define PER_THREAD 25000

static _Atomic unsigned long shared_count;
static _Atomic unsigned long shared_passed;

static void *warner(void *arg)
{
	unsigned long nth;

	(void)arg;
	for (int i = 0; i < PER_THREAD; i++)
		if (log_ratelimit_pass(&shared_count, &nth))
			atomic_fetch_add(&shared_passed, 1);
	return NULL;
}

static void test_threads_share_one_count(void **state)
{
	pthread_t t[THREADS];

	(void)state;
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, warner, NULL), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&shared_count), THREADS * PER_THREAD);
	/* every n is handed out once, so exactly the same n pass as in one thread: 1..10, 16..65536
	 */
	assert_int_equal(atomic_load(&shared_passed), LOG_RATELIMIT_BURST + 13);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_powers_of_two),
		cmocka_unit_test(test_threads_share_one_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
