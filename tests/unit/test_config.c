// SPDX-License-Identifier: MIT
/*
 * vmm/config.c: value parsers, config_set for every key, the INI loader (on temporary files,
 * with the "file:line:" diagnostics captured from stderr) and config_validate.
 */
#include "unit.h"

#include "../../vmm/config.h"

#define SIZE_HINT "expected a size such as 512M, 2G or 1048576B"

/* ---- parse_size ----------------------------------------------------------------------- */

static void expect_size(const char *s, uint64_t want)
{
	uint64_t out = 0xdeadbeef;
	const char *why = NULL;

	if (parse_size(s, &out, &why) != 0)
		fail_msg("parse_size(\"%s\") failed: %s", s, why ? why : "(no reason)");
	if (out != want)
		fail_msg("parse_size(\"%s\") = %llu, want %llu", s, (unsigned long long)out,
			 (unsigned long long)want);
}

/* Must fail, leave *out alone, and give the reason `why_want` (NULL: any non-empty reason). */
static void expect_size_error(const char *s, const char *why_want)
{
	uint64_t out = 0x1234;
	const char *why = NULL;

	if (parse_size(s, &out, &why) != -1)
		fail_msg("parse_size(\"%s\") accepted: %llu", s ? s : "(null)",
			 (unsigned long long)out);
	assert_int_equal(out, 0x1234);
	assert_non_null(why);
	assert_true(why[0] != '\0');
	if (why_want)
		assert_string_equal(why, why_want);
}

static void test_parse_size_suffixes(void **state)
{
	(void)state;
	expect_size("1048576B", 1048576);
	expect_size("1b", 1);
	expect_size("0B", 0);
	expect_size("512K", 512ull << 10);
	expect_size("512k", 512ull << 10);
	expect_size("64M", 64 * MiB);
	expect_size("64m", 64 * MiB);
	expect_size("1G", GiB);
	expect_size("3g", 3 * GiB);
	expect_size("2T", 2ull << 40);
	expect_size("1t", 1ull << 40);
}

static void test_parse_size_binary_suffixes(void **state)
{
	(void)state;
	expect_size("4KiB", 4ull << 10);
	expect_size("64MiB", 64 * MiB);
	expect_size("64mib", 64 * MiB);
	expect_size("2GiB", 2 * GiB);
	expect_size("1TiB", 1ull << 40);
	expect_size("4KB", 4ull << 10);
	expect_size("64MB", 64 * MiB);
	expect_size("2GB", 2 * GiB);
	/* "B" is bytes on its own and takes no further suffix */
	expect_size_error("1BiB", SIZE_HINT);
	expect_size_error("1BB", SIZE_HINT);
	expect_size_error("64MiBs", SIZE_HINT);
	expect_size_error("64Mi", SIZE_HINT);
}

static void test_parse_size_bare_is_mib(void **state)
{
	(void)state;
	expect_size("1", MiB);
	expect_size("256", 256 * MiB);
	expect_size("0", 0);
	expect_size("4096", 4 * GiB);
}

static void test_parse_size_limits(void **state)
{
	(void)state;
	/* the largest representable value of each unit */
	expect_size("18446744073709551615B", UINT64_MAX);
	expect_size("16777215T", 16777215ull << 40);
	expect_size("17179869183G", 17179869183ull << 30);
	expect_size("17592186044415", 17592186044415ull << 20);
	/* one more overflows after the shift */
	expect_size_error("16777216T", "size too large");
	expect_size_error("17179869184G", "size too large");
	expect_size_error("17592186044416M", "size too large");
	expect_size_error("17592186044416", "size too large");
	expect_size_error("18014398509481984K", "size too large");
	/* does not even fit in 64 bits before the shift */
	expect_size_error("18446744073709551616B", NULL);
	expect_size_error("99999999999999999999999999M", NULL);
}

static void test_parse_size_garbage(void **state)
{
	(void)state;
	expect_size_error("", SIZE_HINT);
	expect_size_error(NULL, SIZE_HINT);
	expect_size_error("-1", SIZE_HINT);
	expect_size_error("-1G", SIZE_HINT);
	expect_size_error("+1G", SIZE_HINT);
	expect_size_error(" 1G", SIZE_HINT);
	expect_size_error("1G ", SIZE_HINT);
	expect_size_error("1 G", SIZE_HINT);
	expect_size_error("G", SIZE_HINT);
	expect_size_error("abc", SIZE_HINT);
	expect_size_error("12X", SIZE_HINT);
	expect_size_error("12MX", SIZE_HINT);
	expect_size_error("1.5G", SIZE_HINT);
	expect_size_error("0x10", SIZE_HINT);
	expect_size_error("1P", SIZE_HINT);
	expect_size_error("1GG", SIZE_HINT);
}

/* ---- parse_uint / parse_bool ---------------------------------------------------------- */

static void test_parse_uint_bounds(void **state)
{
	unsigned int v = 77;

	(void)state;
	assert_int_equal(parse_uint("1", 1, 256, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(parse_uint("256", 1, 256, &v), 0);
	assert_int_equal(v, 256);
	assert_int_equal(parse_uint("42", 1, 256, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_uint("0", 0, 0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(parse_uint("4294967295", 0, UINT_MAX, &v), 0);
	assert_int_equal(v, UINT_MAX);

	v = 77;
	assert_int_equal(parse_uint("0", 1, 256, &v), -1);
	assert_int_equal(parse_uint("257", 1, 256, &v), -1);
	assert_int_equal(parse_uint("4294967296", 0, UINT_MAX, &v), -1);
	assert_int_equal(parse_uint("99999999999999999999999", 0, UINT_MAX, &v), -1);
	assert_int_equal(parse_uint("", 0, 10, &v), -1);
	assert_int_equal(parse_uint(NULL, 0, 10, &v), -1);
	assert_int_equal(parse_uint("-1", 0, UINT_MAX, &v), -1);
	assert_int_equal(parse_uint(" 1", 0, 10, &v), -1);
	assert_int_equal(parse_uint("1 ", 0, 10, &v), -1);
	assert_int_equal(parse_uint("4x", 0, 10, &v), -1);
	assert_int_equal(parse_uint("two", 0, 10, &v), -1);
	assert_int_equal(v, 77); /* untouched by every failure */
}

static void test_parse_bool(void **state)
{
	static const char *const yes[] = { "1", "true", "yes", "on", "TRUE", "Yes", "ON" };
	static const char *const no[] = { "0", "false", "no", "off", "FALSE", "No", "Off" };
	static const char *const bad[] = { "", "2", "y", "n", "enabled", "truee", " true", "-1" };
	bool b;

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = false;
		assert_int_equal(parse_bool(yes[i], &b), 0);
		assert_true(b);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = true;
		assert_int_equal(parse_bool(no[i], &b), 0);
		assert_false(b);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = true;
		if (parse_bool(bad[i], &b) != -1)
			fail_msg("parse_bool(\"%s\") accepted", bad[i]);
		assert_true(b);
	}
}

static void test_boot_protocol_names(void **state)
{
	enum boot_protocol p;

	(void)state;
	assert_string_equal(boot_protocol_name(BOOT_PROTOCOL_AUTO), "auto");
	assert_string_equal(boot_protocol_name(BOOT_PROTOCOL_LINUX64), "linux64");
	assert_string_equal(boot_protocol_name(BOOT_PROTOCOL_PVH), "pvh");
	assert_int_equal(boot_protocol_parse("pvh", &p), 0);
	assert_int_equal(p, BOOT_PROTOCOL_PVH);
	assert_int_equal(boot_protocol_parse("linux64", &p), 0);
	assert_int_equal(p, BOOT_PROTOCOL_LINUX64);
	assert_int_equal(boot_protocol_parse("auto", &p), 0);
	assert_int_equal(p, BOOT_PROTOCOL_AUTO);
	assert_int_equal(boot_protocol_parse("bios", &p), -1);
	assert_int_equal(boot_protocol_parse("", &p), -1);
}

static void test_defaults(void **state)
{
	struct vm_config cfg;

	(void)state;
	memset(&cfg, 0xa5, sizeof(cfg));
	config_defaults(&cfg);
	assert_int_equal(cfg.cpus, 1);
	assert_int_equal(cfg.memory, 256 * MiB);
	assert_int_equal(cfg.backing, MEM_BACKING_MEMFD);
	assert_int_equal(cfg.hugepage_size, 0);
	assert_int_equal(cfg.log_level, LOG_WARN);
	assert_int_equal(cfg.boot_protocol, BOOT_PROTOCOL_AUTO);
	assert_int_equal(cfg.stats, STATS_NONE);
	assert_string_equal(cfg.stats_file, "");
	assert_string_equal(cfg.kernel, "");
	assert_string_equal(cfg.initrd, "");
	assert_string_equal(cfg.cmdline, "");
	assert_int_equal(cfg.timeout_s, 0);
	assert_int_equal(cfg.nr_expect, 0);
	assert_int_equal(cfg.nr_fail_on, 0);
	assert_false(cfg.expect_exit);
	assert_string_equal(cfg.console_log, "");
	assert_int_equal(cfg.expected_status, 0);
}

/* ---- config_set ----------------------------------------------------------------------- */

static struct vm_config set_cfg;
static char set_err[512];

static int set(const char *section, const char *key, const char *value)
{
	memset(set_err, 0, sizeof(set_err));
	return config_set(&set_cfg, section, key, value, "/base/dir", set_err, sizeof(set_err));
}

/* The value is refused and the message names the value and the accepted values. */
static void expect_bad(const char *section, const char *key, const char *value,
		       const char *accepted)
{
	char want[512];

	if (set(section, key, value) != -1)
		fail_msg("[%s] %s = '%s' accepted", section, key, value);
	snprintf(want, sizeof(want), "bad value '%s' for %s (accepted: %s)", value, key, accepted);
	assert_string_equal(set_err, want);
}

static int set_setup(void **state)
{
	(void)state;
	config_defaults(&set_cfg);
	return 0;
}

static void test_set_cpus(void **state)
{
	(void)state;
	assert_int_equal(set("machine", "cpus", "4"), 0);
	assert_int_equal(set_cfg.cpus, 4);
	assert_int_equal(set("machine", "cpus", "256"), 0);
	assert_int_equal(set_cfg.cpus, 256);
	assert_int_equal(set("machine", "cpus", "1"), 0);
	assert_int_equal(set_cfg.cpus, 1);
	expect_bad("machine", "cpus", "0", "a number from 1 to 256");
	expect_bad("machine", "cpus", "257", "a number from 1 to 256");
	expect_bad("machine", "cpus", "many", "a number from 1 to 256");
	expect_bad("machine", "cpus", "", "a number from 1 to 256");
	expect_bad("machine", "cpus", "-2", "a number from 1 to 256");
	assert_int_equal(set_cfg.cpus, 1);
}

static void test_set_log_level(void **state)
{
	static const struct {
		const char *name;
		enum log_level level;
	} levels[] = {
		{ "error", LOG_ERROR },
		{ "warn", LOG_WARN },
		{ "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		set_cfg.log_level = (enum log_level)99;
		assert_int_equal(set("machine", "log-level", levels[i].name), 0);
		assert_int_equal(set_cfg.log_level, levels[i].level);
	}
	expect_bad("machine", "log-level", "verbose", "error, warn, info, debug");
	expect_bad("machine", "log-level", "", "error, warn, info, debug");
	assert_int_equal(set_cfg.log_level, LOG_DEBUG);
}

static void test_set_stats(void **state)
{
	static const struct {
		const char *value;
		enum stats_format want;
	} ok[] = {
		{ "text", STATS_TEXT },	 { "none", STATS_NONE }, { "json", STATS_JSON },
		{ "false", STATS_NONE }, { "true", STATS_TEXT }, { "off", STATS_NONE },
		{ "yes", STATS_TEXT },	 { "0", STATS_NONE },	 { "on", STATS_TEXT },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (set("machine", "stats", ok[i].value))
			fail_msg("stats = %s refused: %s", ok[i].value, set_err);
		assert_int_equal(set_cfg.stats, ok[i].want);
	}
	expect_bad("machine", "stats", "maybe", "none, text or json");
	expect_bad("machine", "stats", "JSON", "none, text or json");
	expect_bad("machine", "stats", "", "none, text or json");
	assert_int_equal(set_cfg.stats, STATS_TEXT);
}

static void test_set_stats_file(void **state)
{
	(void)state;
	assert_int_equal(set("machine", "stats-file", "/run/stats.json"), 0);
	assert_string_equal(set_cfg.stats_file, "/run/stats.json");
	assert_int_equal(set("machine", "stats-file", "out/stats.json"), 0);
	assert_string_equal(set_cfg.stats_file, "/base/dir/out/stats.json");
	assert_int_equal(set("machine", "stats-file", ""), -1);
	assert_string_equal(set_err, "empty path");
}

static void test_set_test_section(void **state)
{
	char pattern[CONFIG_PATTERN_MAX + 1];

	(void)state;
	assert_int_equal(set("test", "timeout", "30"), 0);
	assert_int_equal(set_cfg.timeout_s, 30);
	assert_int_equal(set("test", "timeout", "0"), 0);
	assert_int_equal(set_cfg.timeout_s, 0);
	assert_int_equal(set("test", "timeout", "604800"), 0);
	assert_int_equal(set_cfg.timeout_s, 604800);
	expect_bad("test", "timeout", "604801", "seconds, 0 for none");
	expect_bad("test", "timeout", "10s", "seconds, 0 for none");
	assert_int_equal(set_cfg.timeout_s, 604800);

	assert_int_equal(set("test", "expect-exit", "true"), 0);
	assert_true(set_cfg.expect_exit);
	assert_int_equal(set("test", "expect-exit", "no"), 0);
	assert_false(set_cfg.expect_exit);
	expect_bad("test", "expect-exit", "sometimes", "true or false");

	assert_int_equal(set("test", "exit-status", "255"), 0);
	assert_int_equal(set_cfg.expected_status, 255);
	assert_int_equal(set("test", "exit-status", "0"), 0);
	assert_int_equal(set_cfg.expected_status, 0);
	expect_bad("test", "exit-status", "256", "a number from 0 to 255");
	expect_bad("test", "exit-status", "-1", "a number from 0 to 255");

	assert_int_equal(set("test", "console-log", "console.txt"), 0);
	assert_string_equal(set_cfg.console_log, "/base/dir/console.txt");
	assert_int_equal(set("test", "console-log", ""), -1);
	assert_string_equal(set_err, "empty path");

	/* expect and fail-on accumulate, up to CONFIG_MAX_PATTERNS each */
	assert_int_equal(set("test", "expect", "Linux version [0-9.]+"), 0);
	assert_int_equal(set("test", "expect", "login:"), 0);
	assert_int_equal(set("test", "fail-on", "Kernel panic"), 0);
	assert_int_equal(set_cfg.nr_expect, 2);
	assert_int_equal(set_cfg.nr_fail_on, 1);
	assert_string_equal(set_cfg.expect[0], "Linux version [0-9.]+");
	assert_string_equal(set_cfg.expect[1], "login:");
	assert_string_equal(set_cfg.fail_on[0], "Kernel panic");
	for (int i = 2; i < CONFIG_MAX_PATTERNS; i++)
		assert_int_equal(set("test", "expect", "more"), 0);
	assert_int_equal(set_cfg.nr_expect, CONFIG_MAX_PATTERNS);
	assert_int_equal(set("test", "expect", "one too many"), -1);
	assert_string_equal(set_err, "more than 16 expect patterns");
	assert_int_equal(set_cfg.nr_expect, CONFIG_MAX_PATTERNS);

	assert_int_equal(set("test", "fail-on", ""), -1);
	assert_string_equal(set_err, "fail-on pattern must be 1 to 255 characters");
	memset(pattern, 'p', sizeof(pattern));
	pattern[CONFIG_PATTERN_MAX - 1] = '\0';
	assert_int_equal(set("test", "fail-on", pattern), 0);
	assert_string_equal(set_cfg.fail_on[1], pattern);
	pattern[CONFIG_PATTERN_MAX - 1] = 'p';
	pattern[CONFIG_PATTERN_MAX] = '\0';
	assert_int_equal(set("test", "fail-on", pattern), -1);
	assert_string_equal(set_err, "fail-on pattern must be 1 to 255 characters");
	assert_int_equal(set_cfg.nr_fail_on, 2);
}

static void test_set_memory_size(void **state)
{
	(void)state;
	assert_int_equal(set("memory", "size", "512M"), 0);
	assert_int_equal(set_cfg.memory, 512 * MiB);
	assert_int_equal(set("memory", "size", "2G"), 0);
	assert_int_equal(set_cfg.memory, 2 * GiB);
	assert_int_equal(set("memory", "size", "128"), 0);
	assert_int_equal(set_cfg.memory, 128 * MiB);

	assert_int_equal(set("memory", "size", "lots"), -1);
	assert_string_equal(set_err, "bad value 'lots' for size: " SIZE_HINT);
	assert_int_equal(set("memory", "size", "99999999T"), -1);
	assert_string_equal(set_err, "bad value '99999999T' for size: size too large");
	assert_int_equal(set_cfg.memory, 128 * MiB);
}

static void test_set_backing(void **state)
{
	(void)state;
	assert_int_equal(set("memory", "backing", "anonymous"), 0);
	assert_int_equal(set_cfg.backing, MEM_BACKING_ANONYMOUS);
	assert_int_equal(set("memory", "backing", "guest_memfd"), 0);
	assert_int_equal(set_cfg.backing, MEM_BACKING_GUEST_MEMFD);
	assert_int_equal(set("memory", "backing", "memfd"), 0);
	assert_int_equal(set_cfg.backing, MEM_BACKING_MEMFD);
	expect_bad("memory", "backing", "shm", "memfd, guest_memfd, anonymous");
	expect_bad("memory", "backing", "MEMFD", "memfd, guest_memfd, anonymous");
	assert_int_equal(set_cfg.backing, MEM_BACKING_MEMFD);
}

static void test_set_hugepages(void **state)
{
	(void)state;
	assert_int_equal(set("memory", "hugepages", "2M"), 0);
	assert_int_equal(set_cfg.hugepage_size, 2 * MiB);
	assert_int_equal(set("memory", "hugepages", "none"), 0);
	assert_int_equal(set_cfg.hugepage_size, 0);
	assert_int_equal(set("memory", "hugepages", "2m"), 0);
	assert_int_equal(set_cfg.hugepage_size, 2 * MiB);
	expect_bad("memory", "hugepages", "1G", "2M or none");
	expect_bad("memory", "hugepages", "yes", "2M or none");
	assert_int_equal(set_cfg.hugepage_size, 2 * MiB);
}

static void check_path_key(const char *key, char *field)
{
	char longpath[CONFIG_PATH_MAX + 16];

	assert_int_equal(set("boot", key, "/abs/vmlinux"), 0);
	assert_string_equal(field, "/abs/vmlinux");
	/* relative paths are resolved against base_dir (the config file's directory) */
	assert_int_equal(set("boot", key, "images/vmlinux"), 0);
	assert_string_equal(field, "/base/dir/images/vmlinux");
	/* without a base directory they stay as given (relative to the cwd) */
	assert_int_equal(config_set(&set_cfg, "boot", key, "rel", NULL, set_err, sizeof(set_err)),
			 0);
	assert_string_equal(field, "rel");
	assert_int_equal(config_set(&set_cfg, "boot", key, "rel2", "", set_err, sizeof(set_err)),
			 0);
	assert_string_equal(field, "rel2");

	assert_int_equal(set("boot", key, ""), -1);
	assert_string_equal(set_err, "empty path");

	/* exactly CONFIG_PATH_MAX - 1 bytes fit, one more does not */
	memset(longpath, 'a', sizeof(longpath));
	longpath[0] = '/';
	longpath[CONFIG_PATH_MAX - 1] = '\0';
	assert_int_equal(set("boot", key, longpath), 0);
	assert_string_equal(field, longpath);
	longpath[CONFIG_PATH_MAX - 1] = 'a';
	longpath[CONFIG_PATH_MAX] = '\0';
	assert_int_equal(set("boot", key, longpath), -1);
	assert_string_equal(set_err, "path too long");
	/* relative: "/base/dir/" + value must fit as well: 10 + 4085 bytes do, 10 + 4086 not */
	longpath[CONFIG_PATH_MAX - 10] = '\0';
	assert_int_equal(strlen(longpath + 1), CONFIG_PATH_MAX - 11);
	assert_int_equal(set("boot", key, longpath + 1), 0);
	assert_int_equal(strlen(field), CONFIG_PATH_MAX - 1);
	assert_memory_equal(field, "/base/dir/aaa", 13);
	longpath[CONFIG_PATH_MAX - 10] = 'a';
	longpath[CONFIG_PATH_MAX - 9] = '\0';
	assert_int_equal(set("boot", key, longpath + 1), -1);
	assert_string_equal(set_err, "path too long");
}

static void test_set_kernel(void **state)
{
	(void)state;
	check_path_key("kernel", set_cfg.kernel);
}

static void test_set_initrd(void **state)
{
	(void)state;
	check_path_key("initrd", set_cfg.initrd);
}

static void test_set_cmdline(void **state)
{
	char big[sizeof(set_cfg.cmdline) + 1];

	(void)state;
	assert_int_equal(set("boot", "cmdline", "console=ttyS0 root=/dev/vda rw"), 0);
	assert_string_equal(set_cfg.cmdline, "console=ttyS0 root=/dev/vda rw");
	assert_int_equal(set("boot", "cmdline", ""), 0);
	assert_string_equal(set_cfg.cmdline, "");

	memset(big, 'x', sizeof(big));
	big[sizeof(set_cfg.cmdline) - 1] = '\0'; /* 4095 characters: the most that fit */
	assert_int_equal(set("boot", "cmdline", big), 0);
	assert_string_equal(set_cfg.cmdline, big);
	big[sizeof(set_cfg.cmdline) - 1] = 'x';
	big[sizeof(set_cfg.cmdline)] = '\0'; /* 4096 */
	assert_int_equal(set("boot", "cmdline", big), -1);
	assert_string_equal(set_err, "cmdline longer than 4095 bytes");
}

static void test_set_protocol(void **state)
{
	(void)state;
	assert_int_equal(set("boot", "protocol", "pvh"), 0);
	assert_int_equal(set_cfg.boot_protocol, BOOT_PROTOCOL_PVH);
	assert_int_equal(set("boot", "protocol", "linux64"), 0);
	assert_int_equal(set_cfg.boot_protocol, BOOT_PROTOCOL_LINUX64);
	assert_int_equal(set("boot", "protocol", "auto"), 0);
	assert_int_equal(set_cfg.boot_protocol, BOOT_PROTOCOL_AUTO);
	expect_bad("boot", "protocol", "multiboot", "auto, linux64, pvh");
	expect_bad("boot", "protocol", "PVH", "auto, linux64, pvh");
	assert_int_equal(set_cfg.boot_protocol, BOOT_PROTOCOL_AUTO);
}

/*
 * The lists of accepted keys and sections: each known one must be named (in table order),
 * so the checks survive new keys but not a key missing from the message.
 */
#define MACHINE_KEYS "cpus", "log-level", "stats", "stats-file"
#define MEMORY_KEYS "size", "backing", "hugepages"
#define BOOT_KEYS "kernel", "initrd", "cmdline", "protocol"
#define TEST_KEYS "timeout", "expect", "fail-on", "expect-exit", "console-log", "exit-status"

static void expect_words(const char *prefix, const char *const *words, size_t n)
{
	const char *p = set_err, *end;

	if (strncmp(set_err, prefix, strlen(prefix)))
		fail_msg("\"%s\" does not start with \"%s\"", set_err, prefix);
	p += strlen(prefix);
	end = strrchr(p, ')');
	if (!end || end[1])
		fail_msg("\"%s\" does not end with the list in parentheses", set_err);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(words[i]);
		const char *hit = p;

		/* a whole item of the comma-separated list, not a substring of another */
		while ((hit = strstr(hit, words[i])) && hit < end &&
		       !((hit == p || hit[-1] == ' ') && (hit[len] == ',' || hit + len == end)))
			hit++;
		if (!hit || hit >= end)
			fail_msg("\"%s\" does not list \"%s\"", set_err, words[i]);
		p = hit + len;
	}
}

#define expect_accepted_keys(prefix, ...)                             \
	do {                                                          \
		static const char *const w_[] = { __VA_ARGS__ };      \
		expect_words(prefix, w_, sizeof(w_) / sizeof(w_[0])); \
	} while (0)
#define expect_accepted_sections(prefix) \
	expect_accepted_keys(prefix, "machine", "memory", "boot", "test", "xen", "disk", "devices")

static void test_set_xen(void **state)
{
	(void)state;
	assert_false(set_cfg.xen);
	assert_int_equal(set_cfg.xen_version, 4u << 16 | 17);
	assert_int_equal(set("xen", "enabled", "true"), 0);
	assert_true(set_cfg.xen);
	assert_int_equal(set("xen", "version", "4.13"), 0);
	assert_int_equal(set_cfg.xen_version, 4u << 16 | 13);
	expect_bad("xen", "version", "4", "MAJOR.MINOR, e.g. 4.17");
	expect_bad("xen", "version", "4.17.1", "MAJOR.MINOR, e.g. 4.17");
	expect_bad("xen", "version", "4.70000", "MAJOR.MINOR, e.g. 4.17");
	assert_int_equal(set_cfg.xen_version, 4u << 16 | 13);
	assert_int_equal(set("xen", "kvm-leaves", "yes"), 0);
	assert_true(set_cfg.xen_kvm_leaves);
	assert_true(set_cfg.xen_percpu_upcalls);
	assert_int_equal(set("xen", "percpu-upcalls", "false"), 0);
	assert_false(set_cfg.xen_percpu_upcalls);
	expect_bad("xen", "percpu-upcalls", "global", "true or false");
	assert_int_equal(set("xen", "transport", "pio"), 0);
	assert_int_equal(set_cfg.xen_transport, 2);
	expect_bad("xen", "transport", "vmcall", "auto, kvm, pio");
	assert_int_equal(set("machine", "version", "4.17"), -1); /* keys belong to their section */
}

static void test_set_disk(void **state)
{
	(void)state;
	assert_int_equal(set_cfg.nr_disks, 0);
	/* readonly and id belong to the disk whose path came before them */
	assert_int_equal(set("disk", "readonly", "true"), -1);
	assert_string_equal(set_err, "'readonly' before the disk's 'path'");
	assert_int_equal(set("disk", "path", "a.img"), 0);
	assert_string_equal(set_cfg.disks[0].path, "/base/dir/a.img");
	assert_int_equal(set("disk", "readonly", "yes"), 0);
	assert_int_equal(set("disk", "id", "12345678901234567890"), 0);
	assert_int_equal(set("disk", "id", "again"), -1);
	assert_string_equal(set_err, "duplicate key 'id' for disk /base/dir/a.img");
	assert_int_equal(set("disk", "path", "/abs/b.img"), 0);
	expect_bad("disk", "readonly", "ro", "true or false");
	expect_bad("disk", "id", "123456789012345678901",
		   "up to 20 characters (the guest's serial)");
	expect_bad("disk", "id", "", "up to 20 characters (the guest's serial)");
	assert_int_equal(set_cfg.nr_disks, 2);
	assert_true(set_cfg.disks[0].readonly);
	assert_string_equal(set_cfg.disks[0].id, "12345678901234567890");
	assert_false(set_cfg.disks[1].readonly);
	assert_string_equal(set_cfg.disks[1].id, "");
	for (int i = 2; i < CONFIG_MAX_DISKS; i++)
		assert_int_equal(set("disk", "path", "c.img"), 0);
	assert_int_equal(set("disk", "path", "d.img"), -1);
	assert_contains(set_err, "more than");
}

static void test_add_disk_spec(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(config_add_disk(&set_cfg, "/img/a.raw", err, sizeof(err)), 0);
	assert_int_equal(
		config_add_disk(&set_cfg, "path=/img/b.raw,readonly,id=bee", err, sizeof(err)), 0);
	assert_int_equal(set_cfg.nr_disks, 2);
	assert_string_equal(set_cfg.disks[0].path, "/img/a.raw");
	assert_false(set_cfg.disks[0].readonly);
	assert_string_equal(set_cfg.disks[1].path, "/img/b.raw");
	assert_true(set_cfg.disks[1].readonly);
	assert_string_equal(set_cfg.disks[1].id, "bee");
	assert_int_equal(config_add_disk(&set_cfg, "", err, sizeof(err)), -1);
	assert_int_equal(config_add_disk(&set_cfg, "id=x", err, sizeof(err)), -1);
	assert_contains(err, "starts with path=FILE");
	assert_int_equal(config_add_disk(&set_cfg, "a.raw,path=b.raw", err, sizeof(err)), -1);
	assert_contains(err, "one path per --disk");
	assert_int_equal(config_add_disk(&set_cfg, "a.raw,readonly=maybe", err, sizeof(err)), -1);
	assert_contains(err, "bad value 'maybe' for readonly");
	assert_int_equal(config_add_disk(&set_cfg, "a.raw,size=1G", err, sizeof(err)), -1);
	assert_contains(err, "unknown key 'size' in [disk]");
}

static void test_set_devices(void **state)
{
	(void)state;
	assert_false(set_cfg.rng);
	assert_false(set_cfg.balloon);
	assert_int_equal(config_virtio_devices(&set_cfg), 0);
	assert_int_equal(set("devices", "rng", "on"), 0);
	assert_int_equal(set("devices", "balloon", "true"), 0);
	assert_int_equal(set("devices", "balloon-target", "64M"), 0);
	assert_int_equal(set_cfg.balloon_target, 64 * MiB);
	assert_int_equal(set("devices", "balloon-target", "lots"), -1);
	assert_contains(set_err, "bad value 'lots' for balloon-target");
	expect_bad("devices", "rng", "2", "true or false");
	assert_int_equal(set("disk", "path", "/x.img"), 0);
	assert_int_equal(config_virtio_devices(&set_cfg), 3);
}

static void test_set_virtio_console(void **state)
{
	(void)state;
	assert_int_equal(set_cfg.vcon_sink, VCON_SINK_NONE);
	/* a relative path is relative to the config file's directory; appended by default */
	assert_int_equal(set("devices", "virtio-console", "logs/guest.log"), 0);
	assert_int_equal(set_cfg.vcon_sink, VCON_SINK_FILE);
	assert_string_equal(set_cfg.vcon_path, "/base/dir/logs/guest.log");
	assert_false(set_cfg.vcon_truncate);
	assert_int_equal(config_virtio_devices(&set_cfg), 1);
	/* file= and ,truncate; a comma elsewhere belongs to the path */
	assert_int_equal(set("devices", "virtio-console", "file=/a,b.log,truncate"), 0);
	assert_string_equal(set_cfg.vcon_path, "/a,b.log");
	assert_true(set_cfg.vcon_truncate);
	/* file= names a file called like a keyword */
	assert_int_equal(set("devices", "virtio-console", "file=stdout"), 0);
	assert_int_equal(set_cfg.vcon_sink, VCON_SINK_FILE);
	assert_string_equal(set_cfg.vcon_path, "/base/dir/stdout");
	assert_false(set_cfg.vcon_truncate);
	assert_int_equal(set("devices", "virtio-console", "stdout"), 0);
	assert_int_equal(set_cfg.vcon_sink, VCON_SINK_STDOUT);
	assert_int_equal(set("devices", "virtio-console", "null"), 0);
	assert_int_equal(set_cfg.vcon_sink, VCON_SINK_NULL);
	assert_int_equal(config_virtio_devices(&set_cfg), 1);
	/* none: no device (the command line can take back a config file's console) */
	assert_int_equal(set("devices", "virtio-console", "none"), 0);
	assert_int_equal(set_cfg.vcon_sink, VCON_SINK_NONE);
	assert_int_equal(config_virtio_devices(&set_cfg), 0);
	/* no path */
	assert_int_equal(set("devices", "virtio-console", ""), -1);
	assert_contains(set_err, "bad value for virtio-console");
	assert_int_equal(set("devices", "virtio-console", "file=,truncate"), -1);
	assert_contains(set_err, "stdout, null");
}

static void test_set_unknown_section(void **state)
{
	struct vm_config before = set_cfg;

	(void)state;
	assert_int_equal(set("network", "cpus", "2"), -1);
	expect_accepted_sections("unknown section [network] (accepted: ");
	assert_int_equal(set("", "cpus", "2"), -1);
	expect_accepted_sections("unknown section [] (accepted: ");
	/* sections and keys are case sensitive */
	assert_int_equal(set("Machine", "cpus", "2"), -1);
	assert_contains(set_err, "unknown section [Machine]");
	assert_memory_equal(&set_cfg, &before, sizeof(before));
}

static void test_set_unknown_key(void **state)
{
	struct vm_config before = set_cfg;

	(void)state;
	assert_int_equal(set("machine", "memory", "2G"), -1);
	expect_accepted_keys("unknown key 'memory' in [machine] (accepted: ", MACHINE_KEYS);
	assert_int_equal(set("memory", "cpus", "2"), -1);
	expect_accepted_keys("unknown key 'cpus' in [memory] (accepted: ", MEMORY_KEYS);
	assert_int_equal(set("boot", "bzimage", "x"), -1);
	expect_accepted_keys("unknown key 'bzimage' in [boot] (accepted: ", BOOT_KEYS);
	assert_int_equal(set("test", "expected", "x"), -1);
	expect_accepted_keys("unknown key 'expected' in [test] (accepted: ", TEST_KEYS);
	assert_int_equal(set("machine", "CPUS", "2"), -1);
	assert_contains(set_err, "unknown key 'CPUS' in [machine]");
	assert_memory_equal(&set_cfg, &before, sizeof(before));
}

static void test_set_small_error_buffer(void **state)
{
	char err[16];

	(void)state;
	memset(err, 'Z', sizeof(err));
	assert_int_equal(config_set(&set_cfg, "boot", "protocol", "nonsense", NULL, err, 8), -1);
	assert_int_equal(strlen(err), 7); /* truncated and terminated inside err_len */
	assert_int_equal(err[8], 'Z');
}

/* ---- config_load_file ----------------------------------------------------------------- */

static int load(struct vm_config *cfg, const char *path, char *msg, size_t len)
{
	int ret;

	unit_capture_begin();
	ret = config_load_file(cfg, path);
	unit_capture_end(msg, len);
	return ret;
}

static void test_load_good_file(void **state)
{
	static const char ini[] = "; minivmm test VM\n"
				  "# comment\n"
				  "\n"
				  "[machine]\n"
				  "cpus = 4\n"
				  "log-level = debug\n"
				  "stats = json\n"
				  "stats-file = /run/vm.stats\n"
				  "\n"
				  "[memory]\n"
				  "size = 3G\n"
				  "backing=anonymous\n"
				  "hugepages = 2M\n"
				  "[boot]\n"
				  "kernel = /images/vmlinux\n"
				  "initrd = /images/initrd.img\n"
				  "cmdline = console=ttyS0 root=/dev/vda rw\n"
				  "protocol = pvh\n"
				  "[test]\n"
				  "timeout = 60\n"
				  "expect = Linux version\n"
				  "fail-on = Kernel panic\n"
				  "expect = ^login:\n"
				  "expect-exit = true\n"
				  "console-log = /tmp/console.log\n"
				  "exit-status = 3\n";
	char path[PATH_MAX], msg[1024];
	struct vm_config cfg;

	(void)state;
	unit_write_text(path, "good.ini", ini);
	config_defaults(&cfg);
	assert_int_equal(load(&cfg, path, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	assert_int_equal(cfg.cpus, 4);
	assert_int_equal(cfg.log_level, LOG_DEBUG);
	assert_int_equal(cfg.stats, STATS_JSON);
	assert_string_equal(cfg.stats_file, "/run/vm.stats");
	assert_int_equal(cfg.memory, 3 * GiB);
	assert_int_equal(cfg.backing, MEM_BACKING_ANONYMOUS);
	assert_int_equal(cfg.hugepage_size, 2 * MiB);
	assert_string_equal(cfg.kernel, "/images/vmlinux");
	assert_string_equal(cfg.initrd, "/images/initrd.img");
	assert_string_equal(cfg.cmdline, "console=ttyS0 root=/dev/vda rw");
	assert_int_equal(cfg.boot_protocol, BOOT_PROTOCOL_PVH);
	assert_int_equal(cfg.timeout_s, 60);
	assert_int_equal(cfg.nr_expect, 2);
	assert_string_equal(cfg.expect[0], "Linux version");
	assert_string_equal(cfg.expect[1], "^login:");
	assert_int_equal(cfg.nr_fail_on, 1);
	assert_string_equal(cfg.fail_on[0], "Kernel panic");
	assert_true(cfg.expect_exit);
	assert_string_equal(cfg.console_log, "/tmp/console.log");
	assert_int_equal(cfg.expected_status, 3);
}

static void test_load_keeps_unset_fields(void **state)
{
	char path[PATH_MAX], msg[1024];
	struct vm_config cfg;

	(void)state;
	unit_write_text(path, "partial.ini", "[machine]\ncpus = 2\n");
	config_defaults(&cfg);
	strcpy(cfg.cmdline, "from the command line");
	assert_int_equal(load(&cfg, path, msg, sizeof(msg)), 0);
	assert_int_equal(cfg.cpus, 2);
	assert_int_equal(cfg.memory, 256 * MiB);
	assert_string_equal(cfg.cmdline, "from the command line");

	unit_write_text(path, "empty.ini", "");
	config_defaults(&cfg);
	assert_int_equal(load(&cfg, path, msg, sizeof(msg)), 0);
	assert_int_equal(cfg.cpus, 1);
}

static void test_load_relative_paths(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX], want[PATH_MAX + 32], msg[1024];
	struct vm_config cfg;

	(void)state;
	unit_path(dir, "vmdir");
	assert_int_equal(mkdir(dir, 0700), 0);
	unit_write_text(path, "vmdir/vm.ini",
			"[boot]\nkernel = images/vmlinux\ninitrd = /abs/initrd\n"
			"[machine]\nstats-file = stats.json\n[test]\nconsole-log = logs/c.txt\n");
	config_defaults(&cfg);
	assert_int_equal(load(&cfg, path, msg, sizeof(msg)), 0);
	snprintf(want, sizeof(want), "%s/images/vmlinux", dir);
	assert_string_equal(cfg.kernel, want);
	assert_string_equal(cfg.initrd, "/abs/initrd");
	snprintf(want, sizeof(want), "%s/stats.json", dir);
	assert_string_equal(cfg.stats_file, want);
	snprintf(want, sizeof(want), "%s/logs/c.txt", dir);
	assert_string_equal(cfg.console_log, want);

	unit_write_text(path, "vmdir/vm2.ini", "[boot]\ninitrd = ../initrd.img\n");
	config_defaults(&cfg);
	assert_int_equal(load(&cfg, path, msg, sizeof(msg)), 0);
	snprintf(want, sizeof(want), "%s/../initrd.img", dir);
	assert_string_equal(cfg.initrd, want);
}

static void test_load_relative_config_path(void **state)
{
	char cwd[PATH_MAX], path[PATH_MAX], msg[1024];
	struct vm_config cfg;
	int ret1, ret2;

	(void)state;
	unit_write_text(path, "cwd.ini", "[boot]\nkernel = vmlinux\n");
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(unit_tmpdir), 0);
	/* a config file named without a directory: paths stay relative to the cwd */
	config_defaults(&cfg);
	ret1 = load(&cfg, "cwd.ini", msg, sizeof(msg));
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(ret1, 0);
	assert_string_equal(cfg.kernel, "vmlinux");

	assert_int_equal(chdir(unit_tmpdir), 0);
	config_defaults(&cfg);
	ret2 = load(&cfg, "./cwd.ini", msg, sizeof(msg));
	assert_int_equal(chdir(cwd), 0);
	assert_int_equal(ret2, 0);
	assert_string_equal(cfg.kernel, "./vmlinux");
}

/*
 * Load `text` and expect failure with "minivmm: <path>:<line>: <what>" on stderr, one line.
 * A `what` ending in "(accepted: " only has to start the message (the list is checked by the
 * config_set tests).
 */
static void expect_load_error(const char *name, const char *text, int line, const char *what)
{
	char path[PATH_MAX], msg[2048], want[PATH_MAX + 600];
	struct vm_config cfg;
	size_t wlen, plen = strlen("(accepted: ");
	bool prefix;

	unit_write_text(path, name, text);
	config_defaults(&cfg);
	assert_int_equal(load(&cfg, path, msg, sizeof(msg)), -1);
	wlen = strlen(what);
	prefix = wlen >= plen && !strcmp(what + wlen - plen, "(accepted: ");
	snprintf(want, sizeof(want), "minivmm: %s:%d: %s%s", path, line, what, prefix ? "" : "\n");
	if (prefix ? strncmp(msg, want, strlen(want)) : strcmp(msg, want))
		fail_msg("%s: got \"%s\", want \"%s\"%s", name, msg, want, prefix ? "..." : "");
	/* exactly one line */
	assert_non_null(strchr(msg, '\n'));
	assert_int_equal(strchr(msg, '\n')[1], '\0');
}

static void test_load_unknown_key_line(void **state)
{
	(void)state;
	expect_load_error("unknown-key.ini",
			  "# line 1\n[machine]\ncpus = 2\n\n; comment\nmemory = 2G\nstats = 1\n", 6,
			  "unknown key 'memory' in [machine] (accepted: ");
	expect_load_error("unknown-key2.ini", "[boot]\nkernl = /vmlinux\n", 2,
			  "unknown key 'kernl' in [boot] (accepted: ");
	expect_load_error("unknown-section.ini", "[machine]\ncpus=1\n[network]\nmodel = x\n", 4,
			  "unknown section [network] (accepted: ");
	expect_load_error("no-section.ini", "\ncpus = 2\n", 2, "unknown section [] (accepted: ");
}

static void test_load_bad_value_line(void **state)
{
	(void)state;
	expect_load_error("bad-cpus.ini", "[machine]\nstats = on\ncpus = 0\n", 3,
			  "bad value '0' for cpus (accepted: a number from 1 to 256)");
	expect_load_error("bad-size.ini", "[memory]\n\n\nsize = huge\n", 4,
			  "bad value 'huge' for size: " SIZE_HINT);
	expect_load_error(
		"bad-backing.ini", "[memory]\nbacking = tmpfs\n", 2,
		"bad value 'tmpfs' for backing (accepted: memfd, guest_memfd, anonymous)");
	expect_load_error("empty-kernel.ini", "[boot]\nkernel =\n", 2, "empty path");
}

/* [disk] may come several times; its keys repeat once per disk. */
static void test_load_disks(void **state)
{
	char path[PATH_MAX], msg[512];
	struct vm_config cfg;

	(void)state;
	unit_write_text(path, "disks.ini",
			"[disk]\npath = one.img\nreadonly = true\nid = first\n"
			"[devices]\nrng = true\n"
			"[disk]\npath = /two.img\nid = second\n");
	config_defaults(&cfg);
	assert_int_equal(load(&cfg, path, msg, sizeof(msg)), 0);
	assert_int_equal(cfg.nr_disks, 2);
	assert_non_null(strstr(cfg.disks[0].path, "/one.img"));
	assert_true(cfg.disks[0].readonly);
	assert_string_equal(cfg.disks[1].path, "/two.img");
	assert_string_equal(cfg.disks[1].id, "second");
	assert_true(cfg.rng);
	unit_write_text(path, "disk-dup.ini", "[disk]\npath = a\nid = x\nid = y\n");
	config_defaults(&cfg);
	assert_int_equal(load(&cfg, path, msg, sizeof(msg)), -1);
	assert_contains(msg, "disk-dup.ini:4: duplicate key 'id' for disk ");
}

static void test_load_duplicate_key(void **state)
{
	(void)state;
	expect_load_error("dup.ini", "[machine]\ncpus = 2\nstats = on\ncpus = 4\n", 4,
			  "duplicate key 'cpus' in [machine]");
	/* the same section opened twice is still one namespace */
	expect_load_error("dup2.ini",
			  "[boot]\nkernel = /a\n[machine]\ncpus = 1\n[boot]\nkernel = /b\n", 6,
			  "duplicate key 'kernel' in [boot]");
	expect_load_error("dup3.ini", "[test]\nexpect = a\ntimeout = 1\nexpect = b\ntimeout = 2\n",
			  5, "duplicate key 'timeout' in [test]");
}

static void test_load_syntax_error_line(void **state)
{
	const char *what = "syntax error (expected [section] or key = value)";

	(void)state;
	expect_load_error("syntax1.ini", "[machine]\ncpus = 2\njust some words\n", 3, what);
	expect_load_error("syntax2.ini", "[machine\ncpus = 2\n", 1, what);
	expect_load_error("syntax3.ini", "[boot]\n\n\n\nkernel\n", 5, what);
}

/*
 * Several errors: the first one (by line) is reported, with its own message. A syntax error
 * before a bad key must not be reported as the bad key at the syntax error's line.
 */
static void test_load_first_error_wins(void **state)
{
	(void)state;
	expect_load_error("first1.ini", "[machine]\nbogus = 1\nnot a key value line\n", 2,
			  "unknown key 'bogus' in [machine] (accepted: ");
	expect_load_error("first2.ini", "[machine]\nnot a key value line\ncpus = 2\nbogus = 1\n", 2,
			  "syntax error (expected [section] or key = value)");
}

/*
 * libinih caps a line at 200 bytes: an over-long line is refused with its line number (never
 * silently split), and a long command line is written as several `cmdline =` lines, which
 * are joined with spaces.
 */
static void test_load_long_line(void **state)
{
	char path[PATH_MAX], msg[2048], text[2048], cmdline[600];
	struct vm_config cfg;
	size_t n = 0, off = 0;
	char *word;

	(void)state;
	while (n < 500)
		n += (size_t)snprintf(cmdline + n, sizeof(cmdline) - n, "opt%zu=%zu ", n, n);
	cmdline[n - 1] = '\0';
	snprintf(text, sizeof(text), "[machine]\ncpus = 3\n[boot]\ncmdline = %s\n", cmdline);
	unit_write_text(path, "long.ini", text);
	config_defaults(&cfg);
	assert_int_equal(load(&cfg, path, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "long.ini:4: line longer than"));

	/* the same command line, one word per `cmdline =` line */
	off = (size_t)snprintf(text, sizeof(text), "[boot]\n");
	for (char *copy = strdup(cmdline), *save = NULL, *p = copy;
	     (word = strtok_r(p, " ", &save)); p = NULL) {
		off += (size_t)snprintf(text + off, sizeof(text) - off, "cmdline = %s\n", word);
		if (!save || !*save)
			free(copy);
	}
	off += (size_t)snprintf(text + off, sizeof(text) - off, "[machine]\ncpus = 3\n");
	unit_write_text(path, "long2.ini", text);
	config_defaults(&cfg);
	assert_int_equal(load(&cfg, path, msg, sizeof(msg)), 0);
	assert_string_equal(cfg.cmdline, cmdline);
	assert_int_equal(cfg.cpus, 3);
}

/*
 * Keys indented under their section header are ordinary keys: an indented line must not be
 * taken as a continuation of the previous value (which made "duplicate key" errors, or for a
 * repeatable key, silently one more pattern).
 */
static void test_load_indented_keys(void **state)
{
	static const char ini[] = "[machine]\n"
				  "    cpus = 2\n"
				  "    stats = text\n"
				  "[test]\n"
				  "\texpect = Linux version\n"
				  "\ttimeout = 30\n";
	char path[PATH_MAX], msg[1024];
	struct vm_config cfg;

	(void)state;
	unit_write_text(path, "indented.ini", ini);
	config_defaults(&cfg);
	if (load(&cfg, path, msg, sizeof(msg)) != 0)
		fail_msg("indented keys refused: %s", msg);
	assert_int_equal(cfg.cpus, 2);
	assert_int_equal(cfg.stats, STATS_TEXT);
	assert_int_equal(cfg.timeout_s, 30);
	assert_int_equal(cfg.nr_expect, 1);
	assert_string_equal(cfg.expect[0], "Linux version");
}

static void test_load_missing_file(void **state)
{
	char path[PATH_MAX], msg[1024], want[PATH_MAX + 100];
	struct vm_config cfg;

	(void)state;
	unit_path(path, "does-not-exist.ini");
	config_defaults(&cfg);
	assert_int_equal(load(&cfg, path, msg, sizeof(msg)), -1);
	snprintf(want, sizeof(want), "minivmm: %s: cannot open config file: %s\n", path,
		 strerror(ENOENT));
	assert_string_equal(msg, want);
	assert_int_equal(cfg.cpus, 1);
}

/* ---- config_validate ------------------------------------------------------------------ */

static int validate(const struct vm_config *cfg, unsigned int max_vcpus, char *msg, size_t len)
{
	int ret;

	unit_capture_begin();
	ret = config_validate(cfg, max_vcpus);
	unit_capture_end(msg, len);
	return ret;
}

static void valid_cfg(struct vm_config *cfg)
{
	config_defaults(cfg);
	strcpy(cfg->kernel, "/images/vmlinux");
	cfg->memory = 64 * MiB;
}

static void test_validate_ok(void **state)
{
	struct vm_config cfg;
	char msg[512];

	(void)state;
	valid_cfg(&cfg);
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "");
	cfg.cpus = 8;
	cfg.memory = 2 * MiB; /* the minimum */
	cfg.hugepage_size = 2 * MiB;
	assert_int_equal(validate(&cfg, 8, msg, sizeof(msg)), 0);
	cfg.hugepage_size = 0;
	cfg.memory = 2 * MiB + 4096;
	cfg.backing = MEM_BACKING_ANONYMOUS;
	assert_int_equal(validate(&cfg, 8, msg, sizeof(msg)), 0);
}

static void test_validate_no_kernel(void **state)
{
	struct vm_config cfg;
	char msg[512];

	(void)state;
	valid_cfg(&cfg);
	cfg.kernel[0] = '\0';
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), -1);
	assert_contains(msg, "no kernel given");
}

static void test_validate_cpus(void **state)
{
	struct vm_config cfg;
	char msg[512];

	(void)state;
	valid_cfg(&cfg);
	cfg.cpus = 9;
	assert_int_equal(validate(&cfg, 8, msg, sizeof(msg)), -1);
	assert_contains(msg, "9 vCPUs requested");
	assert_contains(msg, "at most 8");
	cfg.cpus = 8;
	assert_int_equal(validate(&cfg, 8, msg, sizeof(msg)), 0);
}

static void test_validate_memory(void **state)
{
	struct vm_config cfg;
	char msg[512];

	(void)state;
	valid_cfg(&cfg);
	cfg.memory = 2 * MiB - 4096;
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), -1);
	assert_contains(msg, "must be at least 2M and a multiple of 4K");
	cfg.memory = 0;
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), -1);
	assert_contains(msg, "must be at least 2M");

	cfg.memory = 64 * MiB + 512;
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), -1);
	assert_contains(msg, "multiple of 4K");
	cfg.memory = 64 * MiB + 4095;
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), -1);
	assert_contains(msg, "multiple of 4K");
}

static void test_validate_host_ram(void **state)
{
	struct vm_config cfg;
	char msg[512];

	(void)state;
	valid_cfg(&cfg);
	cfg.memory = 1ull << 50; /* 1 PiB: more than any test host has */
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), -1);
	assert_contains(msg, "is more than this host has");
	assert_contains(msg, "1073741824M");
}

static void test_validate_devices(void **state)
{
	struct vm_config cfg;
	char msg[512];

	(void)state;
	valid_cfg(&cfg);
	cfg.balloon_target = 16 * MiB;
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), -1);
	assert_contains(msg, "balloon-target needs the balloon");
	cfg.balloon = true;
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), 0);
	cfg.balloon_target = 128 * MiB;
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), -1);
	assert_contains(msg, "more than the guest's memory");
	cfg.balloon_target = 0;
	cfg.nr_disks = CONFIG_MAX_DISKS + 1; /* more than the [disk] keys let through */
	cfg.rng = true;
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), -1);
	assert_contains(msg, "at most 8 virtio devices");
	/* the console takes a slot too: 6 disks, rng and balloon leave none for it */
	cfg.nr_disks = CONFIG_MAX_DISKS;
	cfg.balloon = true;
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), 0);
	cfg.vcon_sink = VCON_SINK_NULL;
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), -1);
	assert_contains(msg, "at most 8 virtio devices");
}

static void test_validate_hugepages(void **state)
{
	struct vm_config cfg;
	char msg[512];

	(void)state;
	valid_cfg(&cfg);
	cfg.hugepage_size = 2 * MiB;
	cfg.backing = MEM_BACKING_ANONYMOUS;
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), -1);
	assert_contains(msg, "hugepages need the memfd backing");
	cfg.backing = MEM_BACKING_GUEST_MEMFD;
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), -1);
	assert_contains(msg, "hugepages need the memfd backing");

	cfg.backing = MEM_BACKING_MEMFD;
	cfg.memory = 3 * MiB;
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), -1);
	assert_contains(msg, "multiple of the 2M hugepage size");
	cfg.memory = 4 * MiB;
	assert_int_equal(validate(&cfg, 1, msg, sizeof(msg)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size_suffixes),
		cmocka_unit_test(test_parse_size_binary_suffixes),
		cmocka_unit_test(test_parse_size_bare_is_mib),
		cmocka_unit_test(test_parse_size_limits),
		cmocka_unit_test(test_parse_size_garbage),
		cmocka_unit_test(test_parse_uint_bounds),
		cmocka_unit_test(test_parse_bool),
		cmocka_unit_test(test_boot_protocol_names),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test_setup(test_set_cpus, set_setup),
		cmocka_unit_test_setup(test_set_log_level, set_setup),
		cmocka_unit_test_setup(test_set_stats, set_setup),
		cmocka_unit_test_setup(test_set_stats_file, set_setup),
		cmocka_unit_test_setup(test_set_test_section, set_setup),
		cmocka_unit_test_setup(test_set_memory_size, set_setup),
		cmocka_unit_test_setup(test_set_backing, set_setup),
		cmocka_unit_test_setup(test_set_hugepages, set_setup),
		cmocka_unit_test_setup(test_set_kernel, set_setup),
		cmocka_unit_test_setup(test_set_initrd, set_setup),
		cmocka_unit_test_setup(test_set_cmdline, set_setup),
		cmocka_unit_test_setup(test_set_protocol, set_setup),
		cmocka_unit_test_setup(test_set_xen, set_setup),
		cmocka_unit_test_setup(test_set_disk, set_setup),
		cmocka_unit_test_setup(test_add_disk_spec, set_setup),
		cmocka_unit_test_setup(test_set_devices, set_setup),
		cmocka_unit_test_setup(test_set_virtio_console, set_setup),
		cmocka_unit_test_setup(test_set_unknown_section, set_setup),
		cmocka_unit_test_setup(test_set_unknown_key, set_setup),
		cmocka_unit_test_setup(test_set_small_error_buffer, set_setup),
		cmocka_unit_test(test_load_good_file),
		cmocka_unit_test(test_load_keeps_unset_fields),
		cmocka_unit_test(test_load_relative_paths),
		cmocka_unit_test(test_load_relative_config_path),
		cmocka_unit_test(test_load_unknown_key_line),
		cmocka_unit_test(test_load_bad_value_line),
		cmocka_unit_test(test_load_disks),
		cmocka_unit_test(test_load_duplicate_key),
		cmocka_unit_test(test_load_syntax_error_line),
		cmocka_unit_test(test_load_first_error_wins),
		cmocka_unit_test(test_load_long_line),
		cmocka_unit_test(test_load_indented_keys),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test(test_validate_ok),
		cmocka_unit_test(test_validate_no_kernel),
		cmocka_unit_test(test_validate_cpus),
		cmocka_unit_test(test_validate_memory),
		cmocka_unit_test(test_validate_host_ram),
		cmocka_unit_test(test_validate_hugepages),
		cmocka_unit_test(test_validate_devices),
	};

	return cmocka_run_group_tests(tests, unit_tmpdir_setup, unit_tmpdir_teardown);
}
