// SPDX-License-Identifier: MIT
/*
 * Diagnostics go to stderr, one line each, prefixed so they never mix with the guest console
 * (stdout). A single fprintf per message keeps lines whole across threads (stdio locks the stream).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

enum log_level log_level = LOG_WARN;

static const char *const level_names[] = {
	[LOG_ERROR] = "error",
	[LOG_WARN] = "warn",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

void log_msg(enum log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "minivmm: %s: %s\n", level_names[level], line);
}

bool log_ratelimit_pass(_Atomic unsigned long *count, unsigned long *nth)
{
	unsigned long n = atomic_fetch_add_explicit(count, 1, memory_order_relaxed) + 1;

	*nth = n;
	return n <= LOG_RATELIMIT_BURST || (n & (n - 1)) == 0;
}

int log_parse_level(const char *name, enum log_level *out)
{
	for (unsigned int i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcmp(name, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}
