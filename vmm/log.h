/* SPDX-License-Identifier: MIT */
#ifndef MINIVMM_LOG_H
#define MINIVMM_LOG_H

#include <stdatomic.h>
#include <stdbool.h>

enum log_level {
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
};

extern enum log_level log_level;

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int log_parse_level(const char *name, enum log_level *out);

#define pr_err(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/*
 * Warnings a guest can trigger at will (device registers, protocol errors) are rate limited
 * per call site, so a hostile guest cannot flood the host's log: the first LOG_RATELIMIT_BURST
 * are printed, then only the 2^k-th, each followed by how many there have been.
 */
#define LOG_RATELIMIT_BURST 10
bool log_ratelimit_pass(_Atomic unsigned long *count, unsigned long *nth);
#define pr_warn_ratelimited(...)                                                              \
	do {                                                                                  \
		static _Atomic unsigned long log_rl_count__;                                  \
		unsigned long log_rl_nth__;                                                   \
		if (log_ratelimit_pass(&log_rl_count__, &log_rl_nth__)) {                     \
			pr_warn(__VA_ARGS__);                                                 \
			if (log_rl_nth__ >= LOG_RATELIMIT_BURST)                              \
				pr_warn("(the warning above: %lu times so far, the rest not " \
					"shown)",                                             \
					log_rl_nth__);                                        \
		}                                                                             \
	} while (0)

#endif
