/* SPDX-License-Identifier: MIT */
/*
 * Shared helpers for the cmocka host unit tests (header-only: the Makefile builds each
 * tests/unit/test_*.c as one translation unit).
 *
 *  - a per-binary temporary directory made with mkdtemp() and removed, with everything in it,
 *    by the group teardown;
 *  - capturing stderr around a call (dup2 onto a file in that directory), so tests can assert
 *    on the messages the code prints and keep the test output readable.
 *
 * Never assert while stderr is captured: cmocka reports failures on stderr and a failing
 * assertion longjmps out of the test, so call, stop the capture, then assert.
 */
#ifndef MINIVMM_TESTS_UNIT_H
#define MINIVMM_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static char unit_tmpdir[512];

/* Group setup: make the temporary directory (under $TMPDIR, else /tmp). */
static inline int unit_tmpdir_setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	if (!base || !*base)
		base = "/tmp";
	if (snprintf(unit_tmpdir, sizeof(unit_tmpdir), "%s/minivmm-unit-XXXXXX", base) >=
		    (int)sizeof(unit_tmpdir) ||
	    !mkdtemp(unit_tmpdir)) {
		fprintf(stderr, "mkdtemp %s: %s\n", unit_tmpdir, strerror(errno));
		unit_tmpdir[0] = '\0';
		return -1;
	}
	return 0;
}

static inline int unit_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Group teardown: remove the temporary directory and everything in it. */
static inline int unit_tmpdir_teardown(void **state)
{
	(void)state;
	if (!unit_tmpdir[0])
		return 0;
	if (nftw(unit_tmpdir, unit_rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0) {
		fprintf(stderr, "removing %s: %s\n", unit_tmpdir, strerror(errno));
		return -1;
	}
	unit_tmpdir[0] = '\0';
	return 0;
}

/* "<tmpdir>/<name>" into buf (PATH_MAX bytes). */
static inline char *unit_path(char *buf, const char *name)
{
	if (snprintf(buf, PATH_MAX, "%s/%s", unit_tmpdir, name) >= PATH_MAX)
		fail_msg("path too long: %s/%s", unit_tmpdir, name);
	return buf;
}

/* Create or replace "<tmpdir>/<name>" with len bytes of data; the full path goes to path. */
static inline void unit_write_file(char *path, const char *name, const void *data, size_t len)
{
	FILE *f;

	unit_path(path, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static inline void unit_write_text(char *path, const char *name, const char *text)
{
	unit_write_file(path, name, text, strlen(text));
}

/*
 * ---- tracked allocations ------------------------------------------------------------------
 * A failing assertion longjmps out of the test; buffers from unit_alloc() are then freed by
 * unit_free_all() in the teardown, so a failure does not also show up as a leak under ASan.
 */

#define UNIT_MAX_ALLOCS 64
static void *unit_allocs[UNIT_MAX_ALLOCS];

static inline void *unit_alloc(size_t size)
{
	void *p = calloc(1, size ? size : 1);

	assert_non_null(p);
	for (int i = 0; i < UNIT_MAX_ALLOCS; i++) {
		if (!unit_allocs[i]) {
			unit_allocs[i] = p;
			return p;
		}
	}
	free(p);
	fail_msg("more than %d tracked allocations", UNIT_MAX_ALLOCS);
	return NULL;
}

static inline void unit_free(void *p)
{
	if (!p)
		return;
	for (int i = 0; i < UNIT_MAX_ALLOCS; i++) {
		if (unit_allocs[i] == p)
			unit_allocs[i] = NULL;
	}
	free(p);
}

static inline void unit_free_all(void)
{
	for (int i = 0; i < UNIT_MAX_ALLOCS; i++) {
		free(unit_allocs[i]);
		unit_allocs[i] = NULL;
	}
}

/* ---- stderr capture ------------------------------------------------------------------- */

static int unit_saved_stderr = -1;
static int unit_capture_fd = -1;

static inline void unit_capture_begin(void)
{
	char path[PATH_MAX];

	fflush(stderr);
	unit_path(path, "stderr.capture");
	unit_capture_fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (unit_capture_fd < 0)
		return;
	unlink(path);
	unit_saved_stderr = dup(STDERR_FILENO);
	dup2(unit_capture_fd, STDERR_FILENO);
}

/* Stop capturing; what was written goes to buf (NUL-terminated, truncated to len - 1). */
static inline void unit_capture_end(char *buf, size_t len)
{
	ssize_t n = 0;

	buf[0] = '\0';
	fflush(stderr);
	if (unit_saved_stderr >= 0) {
		dup2(unit_saved_stderr, STDERR_FILENO);
		close(unit_saved_stderr);
		unit_saved_stderr = -1;
	}
	if (unit_capture_fd >= 0) {
		n = pread(unit_capture_fd, buf, len - 1, 0);
		close(unit_capture_fd);
		unit_capture_fd = -1;
	}
	buf[n > 0 ? n : 0] = '\0';
}

/* Run stmt with stderr captured into the char array buf. */
#define CAPTURE_STDERR(buf, stmt)                   \
	do {                                        \
		unit_capture_begin();               \
		stmt;                               \
		unit_capture_end(buf, sizeof(buf)); \
	} while (0)

/* Assert that haystack contains needle, printing both when it does not. */
#define assert_contains(haystack, needle)                              \
	do {                                                           \
		const char *h_ = (haystack), *n_ = (needle);           \
		if (!strstr(h_, n_))                                   \
			fail_msg("expected \"%s\" in \"%s\"", n_, h_); \
	} while (0)

#endif
