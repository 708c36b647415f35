/* SPDX-License-Identifier: MIT */
/*
 * The guest console as a CI job sees it: bytes go to stdout (live) and to an optional log
 * file, and are matched as they stream against --expect and --fail-on patterns (POSIX
 * extended regexes, matched per line; a partial line is matched too, so prompts without a
 * newline count; a pattern cannot span lines).
 */
#ifndef MINIVMM_CONSOLE_H
#define MINIVMM_CONSOLE_H

#include <regex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "lock.h"

#define CONSOLE_LINE_MAX 4096

struct vm;

struct console_pattern {
	const char *text;
	regex_t re;
	bool matched;
	uint64_t matched_ns; /* since VM start */
};

struct console {
	/* the write to out_fd/log_fd: keeps vCPUs' output in order; may block on a slow reader */
	struct mutex out_lock;
	_Atomic bool closing; /* the VM is stopping: output is dropped, blocked writes give up */
	struct mutex lock;    /* everything below; never held across I/O (the main loop takes it) */
	struct vm *vm;
	int out_fd;
	int log_fd;
	struct console_pattern expect[CONFIG_MAX_PATTERNS];
	struct console_pattern fail_on[CONFIG_MAX_PATTERNS];
	int nr_expect, nr_fail_on, nr_matched;
	bool expect_exit;
	const struct console_pattern *failed; /* the fail-on pattern that matched */
	char line[CONSOLE_LINE_MAX + 1];
	size_t line_len;
	size_t partial_matched_len; /* line_len when the partial line was last matched */
	uint64_t partial_ns;
	uint64_t bytes;
	uint64_t first_byte_ns;
	uint64_t start_ns;
};

/* Compiles the patterns of cfg; prints "--expect 'x': <regex error>" and fails on a bad one. */
int console_init(struct console *con, struct vm *vm, const struct vm_config *cfg, int out_fd);
void console_destroy(struct console *con);
/* Guest output: write it out, log it, match it. Stops the VM on fail-on or when done. */
void console_output(struct console *con, const uint8_t *buf, size_t len);
bool console_all_expected(struct console *con);
/*
 * The VM is stopping: drop further output, and make a write blocked on a reader that went
 * away give up at its next EINTR (the vCPU kicks), so vCPU threads can be joined.
 */
void console_close_output(struct console *con);
/* Match the pending partial line now (the main loop calls this every CONSOLE_POLL_MS). */
void console_poll(struct console *con);
/* Are patterns still waiting to match? */
bool console_watching(struct console *con);

#define CONSOLE_POLL_MS 50

#endif
