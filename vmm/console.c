// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "console.h"
#include "log.h"
#include "vm.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int compile(struct console_pattern *p, const char *text, const char *option)
{
	char err[256];
	int rc;

	p->text = text;
	rc = regcomp(&p->re, text, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		regerror(rc, &p->re, err, sizeof(err));
		fprintf(stderr, "minivmm: %s '%s': %s\n", option, text, err);
		return -1;
	}
	return 0;
}

int console_init(struct console *con, struct vm *vm, const struct vm_config *cfg, int out_fd)
{
	memset(con, 0, sizeof(*con));
	mutex_init(&con->lock, "console->lock", LOCK_RANK_CONSOLE);
	mutex_init(&con->out_lock, "console->out_lock", LOCK_RANK_CONSOLE_OUT);
	con->vm = vm;
	con->out_fd = out_fd;
	con->log_fd = -1;
	con->start_ns = mono_ns();
	con->expect_exit = cfg->expect_exit;
	for (int i = 0; i < cfg->nr_expect; i++) {
		if (compile(&con->expect[i], cfg->expect[i], "--expect"))
			return -1;
		con->nr_expect++;
	}
	for (int i = 0; i < cfg->nr_fail_on; i++) {
		if (compile(&con->fail_on[i], cfg->fail_on[i], "--fail-on"))
			return -1;
		con->nr_fail_on++;
	}
	if (cfg->console_log[0]) {
		con->log_fd =
			open(cfg->console_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (con->log_fd < 0) {
			fprintf(stderr, "minivmm: --console-log %s: %s\n", cfg->console_log,
				strerror(errno));
			return -1;
		}
	}
	return 0;
}

void console_destroy(struct console *con)
{
	for (int i = 0; i < con->nr_expect; i++)
		regfree(&con->expect[i].re);
	for (int i = 0; i < con->nr_fail_on; i++)
		regfree(&con->fail_on[i].re);
	con->nr_expect = con->nr_fail_on = 0;
	if (con->log_fd >= 0)
		close(con->log_fd);
	con->log_fd = -1;
	mutex_destroy(&con->lock);
	mutex_destroy(&con->out_lock);
}

static void write_all(struct console *con, int fd, const uint8_t *buf, size_t len)
{
	while (len && !atomic_load(&con->closing)) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue; /* a kick: the loop condition says whether the VM is stopping */
		if (n <= 0)
			return; /* a closed stdout must not stop the guest */
		buf += n;
		len -= (size_t)n;
	}
}

void console_close_output(struct console *con)
{
	atomic_store(&con->closing, true);
}

/*
 * Match the current line. A partial line (no newline yet: a prompt, or output still coming)
 * is matched with REG_NOTEOL so that `$` only matches where a line really ends.
 * Caller holds con->lock.
 */
static void console_match_line(struct console *con, bool complete)
{
	int eflags = complete ? 0 : REG_NOTEOL;
	char why[128];

	con->line[con->line_len] = '\0';
	for (int i = 0; i < con->nr_fail_on && !con->failed; i++) {
		if (regexec(&con->fail_on[i].re, con->line, 0, NULL, eflags) == 0) {
			con->failed = &con->fail_on[i];
			con->fail_on[i].matched = true;
			con->fail_on[i].matched_ns = mono_ns() - con->start_ns;
			snprintf(why, sizeof(why), "console matched --fail-on '%s'",
				 con->fail_on[i].text);
			vm_request_stop(con->vm, VM_EXIT_FAIL_ON, why);
		}
	}
	for (int i = 0; i < con->nr_expect; i++) {
		struct console_pattern *p = &con->expect[i];

		if (p->matched || regexec(&p->re, con->line, 0, NULL, eflags))
			continue;
		p->matched = true;
		p->matched_ns = mono_ns() - con->start_ns;
		con->nr_matched++;
		pr_info("console matched --expect '%s' after %.3f s", p->text,
			(double)p->matched_ns / 1e9);
	}
	if (con->expect_exit && con->nr_expect && con->nr_matched == con->nr_expect && !con->failed)
		vm_request_stop(con->vm, VM_EXIT_OK, "every --expect pattern matched");
}

/*
 * Complete lines are matched as they end. Matching a partial line after every byte would cost
 * O(line length) per byte (the UART delivers one byte per exit), so a partial line is matched
 * at most every CONSOLE_PARTIAL_NS here, and by console_poll() from the main loop, which
 * catches a prompt that is the last thing the guest printed.
 */
#define CONSOLE_PARTIAL_NS 10000000ull

static void console_match_partial(struct console *con, uint64_t now)
{
	if (!con->line_len || con->partial_matched_len == con->line_len)
		return;
	console_match_line(con, false);
	con->partial_matched_len = con->line_len;
	con->partial_ns = now;
}

void console_output(struct console *con, const uint8_t *buf, size_t len)
{
	bool matching;
	uint64_t now;

	/*
	 * Out first, under its own lock: a stdout nobody reads blocks here, and must not block
	 * the main loop's console_poll() or the --timeout behind it.
	 */
	mutex_lock(&con->out_lock);
	write_all(con, con->out_fd, buf, len);
	if (con->log_fd >= 0)
		write_all(con, con->log_fd, buf, len);
	mutex_unlock(&con->out_lock);

	mutex_lock(&con->lock);
	now = mono_ns();
	if (!con->bytes && len)
		con->first_byte_ns = now - con->start_ns;
	con->bytes += len;
	matching = con->nr_expect || con->nr_fail_on;
	for (size_t i = 0; matching && i < len; i++) {
		char c = (char)buf[i];

		if (c == '\n' || con->line_len == CONSOLE_LINE_MAX) {
			console_match_line(con, c == '\n');
			con->line_len = 0;
			con->partial_matched_len = 0;
			if (c == '\n')
				continue;
		}
		if (c != '\r' && c != '\0')
			con->line[con->line_len++] = c;
	}
	if (matching && now - con->partial_ns >= CONSOLE_PARTIAL_NS)
		console_match_partial(con, now);
	mutex_unlock(&con->lock);
}

void console_poll(struct console *con)
{
	mutex_lock(&con->lock);
	if (con->nr_expect || con->nr_fail_on)
		console_match_partial(con, mono_ns());
	mutex_unlock(&con->lock);
}

bool console_watching(struct console *con)
{
	bool watching;

	mutex_lock(&con->lock);
	watching = (con->nr_fail_on && !con->failed) || con->nr_matched < con->nr_expect;
	mutex_unlock(&con->lock);
	return watching;
}

bool console_all_expected(struct console *con)
{
	bool all;

	mutex_lock(&con->lock);
	all = con->nr_matched == con->nr_expect;
	mutex_unlock(&con->lock);
	return all;
}
