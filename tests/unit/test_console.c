// SPDX-License-Identifier: MIT
/* The console watcher: streaming regex matching across arbitrary chunk boundaries. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../vmm/console.h"
#include "../../vmm/vm.h"

struct fixture {
	struct vm vm;
	struct vm_config cfg;
	struct console con;
	int null_fd;
};

static struct fixture *fixture_new(const char *const *expect, int nr_expect,
				   const char *const *fail_on, int nr_fail_on, bool expect_exit)
{
	struct fixture *f = calloc(1, sizeof(*f));

	config_defaults(&f->cfg);
	for (int i = 0; i < nr_expect; i++)
		strcpy(f->cfg.expect[f->cfg.nr_expect++], expect[i]);
	for (int i = 0; i < nr_fail_on; i++)
		strcpy(f->cfg.fail_on[f->cfg.nr_fail_on++], fail_on[i]);
	f->cfg.expect_exit = expect_exit;
	f->vm.cfg = &f->cfg;
	f->vm.stop_eventfd = -1;
	f->null_fd = open("/dev/null", O_WRONLY);
	assert_int_equal(console_init(&f->con, &f->vm, &f->cfg, f->null_fd), 0);
	return f;
}

static void fixture_free(struct fixture *f)
{
	console_destroy(&f->con);
	close(f->null_fd);
	free(f);
}

static void feed_in_chunks(struct console *con, const char *text, size_t chunk)
{
	size_t len = strlen(text);

	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;

		console_output(con, (const uint8_t *)text + off, n);
	}
}

static void test_match_across_every_chunk_size(void **state)
{
	static const char *const expect[] = { "Linux version [0-9]+\\.[0-9]+", "box login:" };
	const char *text = "booting...\r\nLinux version 6.1 (debian)\r\nwelcome\r\nbox login:";

	(void)state;
	for (size_t chunk = 1; chunk <= strlen(text); chunk++) {
		struct fixture *f = fixture_new(expect, 2, NULL, 0, false);

		feed_in_chunks(&f->con, text, chunk);
		console_poll(&f->con); /* the main loop's periodic look at a trailing prompt */
		assert_true(f->con.expect[0].matched);
		assert_true(f->con.expect[1].matched); /* a prompt: partial line, no newline */
		assert_true(console_all_expected(&f->con));
		assert_false(atomic_load(&f->vm.stopping));
		fixture_free(f);
	}
}

/* `$` matches only where a line really ends, never at the end of a partial line (fuzz_console). */
static void test_dollar_needs_a_line_end(void **state)
{
	static const char *const expect[] = { "^hello$" };
	static const char *const fail_on[] = { "^FAIL$" };
	struct fixture *f = fixture_new(expect, 1, fail_on, 1, false);

	(void)state;
	feed_in_chunks(&f->con, "FAILURES: 0\nhello world\n", 1);
	console_poll(&f->con);
	assert_false(atomic_load(&f->vm.stopping));
	assert_false(f->con.expect[0].matched);
	feed_in_chunks(&f->con, "hello\n", 1);
	assert_true(f->con.expect[0].matched);
	fixture_free(f);
}

static void test_pattern_does_not_span_lines(void **state)
{
	static const char *const expect[] = { "foo bar" };
	struct fixture *f = fixture_new(expect, 1, NULL, 0, false);

	(void)state;
	feed_in_chunks(&f->con, "foo\nbar\n", 3);
	assert_false(f->con.expect[0].matched);
	assert_false(console_all_expected(&f->con));
	fixture_free(f);
}

static void test_fail_on_stops_with_status_4(void **state)
{
	static const char *const expect[] = { "ready" };
	static const char *const fail_on[] = { "Kernel panic|BUG:|Oops" };
	struct fixture *f = fixture_new(expect, 1, fail_on, 1, true);

	(void)state;
	feed_in_chunks(&f->con, "[ 1.0] Oo", 1);
	assert_false(atomic_load(&f->vm.stopping));
	/* the same line also satisfies the expectation: fail-on takes precedence */
	feed_in_chunks(&f->con, "ps: ready\n", 2);
	assert_true(atomic_load(&f->vm.stopping));
	assert_int_equal(f->vm.exit_status, VM_EXIT_FAIL_ON);
	assert_non_null(f->con.failed);
	fixture_free(f);
}

static void test_expect_exit_stops_when_all_matched(void **state)
{
	static const char *const expect[] = { "one", "two" };
	struct fixture *f = fixture_new(expect, 2, NULL, 0, true);

	(void)state;
	feed_in_chunks(&f->con, "one\n", 4);
	assert_false(atomic_load(&f->vm.stopping));
	feed_in_chunks(&f->con, "and two\n", 1);
	assert_true(atomic_load(&f->vm.stopping));
	assert_int_equal(f->vm.exit_status, VM_EXIT_OK);
	fixture_free(f);
}

static void test_long_lines_and_first_byte(void **state)
{
	static const char *const expect[] = { "END" };
	struct fixture *f = fixture_new(expect, 1, NULL, 0, false);
	char *big = malloc(3 * CONSOLE_LINE_MAX + 8);

	(void)state;
	memset(big, 'x', 3 * CONSOLE_LINE_MAX);
	strcpy(big + 3 * CONSOLE_LINE_MAX, "END\n");
	feed_in_chunks(&f->con, big, 1000);
	assert_true(f->con.expect[0].matched);
	assert_int_equal(f->con.bytes, 3 * CONSOLE_LINE_MAX + 4);
	free(big);
	fixture_free(f);
}

static void test_bad_regex_is_an_error(void **state)
{
	struct vm vm = { 0 };
	struct vm_config cfg;
	struct console con;

	(void)state;
	config_defaults(&cfg);
	strcpy(cfg.expect[cfg.nr_expect++], "(unclosed");
	vm.cfg = &cfg;
	assert_int_equal(console_init(&con, &vm, &cfg, -1), -1);
	console_destroy(&con);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_across_every_chunk_size),
		cmocka_unit_test(test_dollar_needs_a_line_end),
		cmocka_unit_test(test_pattern_does_not_span_lines),
		cmocka_unit_test(test_fail_on_stops_with_status_4),
		cmocka_unit_test(test_expect_exit_stops_when_all_matched),
		cmocka_unit_test(test_long_lines_and_first_byte),
		cmocka_unit_test(test_bad_regex_is_an_error),
	};

	return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
