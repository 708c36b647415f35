// SPDX-License-Identifier: MIT
/*
 * Config parsing: the INI loader and the option values the command line shares with it.
 *
 * Each input is used three ways:
 *  1. the whole input is an INI file read by config_load_file() (through a memfd path, so
 *     libinih's reader and the "file:line:" error path run as for a real file);
 *  2. split at NUL bytes into section, key, value and base directory for config_set(), with
 *     an error buffer of a size taken from the input (every message must fit and be a string);
 *  3. its first NUL-terminated string is the value of every known key and the argument of
 *     every value parser; parse_size() is checked against a reference implementation.
 * After every step the config must still hold only values a key can legally have.
 */
#include <limits.h>
#include <strings.h>

#include "../../vmm/config.h"
#include "fuzz_common.h"

static struct fuzz_file ini;

/* Every key config.c knows (a key missing here is still reached through step 2). */
static const struct {
	const char *section, *key;
} keys[] = {
	{ "machine", "cpus" },	     { "machine", "log-level" }, { "machine", "stats" },
	{ "machine", "stats-file" }, { "memory", "size" },	 { "memory", "backing" },
	{ "memory", "hugepages" },   { "boot", "kernel" },	 { "boot", "initrd" },
	{ "boot", "cmdline" },	     { "boot", "protocol" },	 { "test", "timeout" },
	{ "test", "expect" },	     { "test", "fail-on" },	 { "test", "expect-exit" },
	{ "test", "console-log" },   { "test", "exit-status" },
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet();
	fuzz_file_init(&ini, "fuzz-config.ini");
	return 0;
}

static bool is_string(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void check_config(const struct vm_config *cfg)
{
	FUZZ_CHECK(cfg->cpus >= 1 && cfg->cpus <= CONFIG_MAX_CPUS);
	FUZZ_CHECK(is_string(cfg->kernel, sizeof(cfg->kernel)));
	FUZZ_CHECK(is_string(cfg->initrd, sizeof(cfg->initrd)));
	FUZZ_CHECK(is_string(cfg->cmdline, sizeof(cfg->cmdline)));
	FUZZ_CHECK(is_string(cfg->stats_file, sizeof(cfg->stats_file)));
	FUZZ_CHECK(is_string(cfg->console_log, sizeof(cfg->console_log)));
	FUZZ_CHECK(cfg->boot_protocol <= BOOT_PROTOCOL_PVH);
	FUZZ_CHECK(cfg->backing <= MEM_BACKING_ANONYMOUS);
	FUZZ_CHECK(cfg->log_level <= LOG_DEBUG);
	FUZZ_CHECK(cfg->stats <= STATS_JSON);
	FUZZ_CHECK(cfg->hugepage_size == 0 || cfg->hugepage_size == 2 * MiB);
	FUZZ_CHECK(cfg->timeout_s <= 7 * 24 * 3600);
	FUZZ_CHECK(cfg->expected_status >= 0 && cfg->expected_status <= 255);
	FUZZ_CHECK(cfg->nr_expect >= 0 && cfg->nr_expect <= CONFIG_MAX_PATTERNS);
	FUZZ_CHECK(cfg->nr_fail_on >= 0 && cfg->nr_fail_on <= CONFIG_MAX_PATTERNS);
	for (int i = 0; i < cfg->nr_expect; i++)
		FUZZ_CHECK(cfg->expect[i][0] && is_string(cfg->expect[i], CONFIG_PATTERN_MAX));
	for (int i = 0; i < cfg->nr_fail_on; i++)
		FUZZ_CHECK(cfg->fail_on[i][0] && is_string(cfg->fail_on[i], CONFIG_PATTERN_MAX));
	FUZZ_CHECK(boot_protocol_name(cfg->boot_protocol) != NULL);
	FUZZ_CHECK(mem_backing_name(cfg->backing) != NULL);
}

/*
 * parse_size() as config.h states it: decimal digits, then nothing (MiB) or one of B K M G T
 * (any case); after K/M/G/T an optional "B" or "iB" (any case); no overflow.
 */
static int ref_parse_size(const char *s, uint64_t *out)
{
	unsigned int shift = 20;
	uint64_t v = 0;

	if (!(*s >= '0' && *s <= '9'))
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	switch (*s) {
	case '\0':
		break;
	case 'b':
	case 'B':
		shift = 0, s++;
		break;
	case 'k':
	case 'K':
		shift = 10, s++;
		break;
	case 'm':
	case 'M':
		shift = 20, s++;
		break;
	case 'g':
	case 'G':
		shift = 30, s++;
		break;
	case 't':
	case 'T':
		shift = 40, s++;
		break;
	default:
		return -1;
	}
	if (shift && (!strcasecmp(s, "B") || !strcasecmp(s, "iB")))
		s += strlen(s);
	if (*s || v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

static void fuzz_value_parsers(const char *s)
{
	enum boot_protocol proto;
	enum mem_backing backing;
	enum log_level level;
	const char *why = NULL;
	uint64_t size = 0, ref = 0;
	unsigned int u = 0;
	bool b;
	int rc, ref_rc;

	rc = parse_size(s, &size, &why);
	ref_rc = ref_parse_size(s, &ref);
	FUZZ_CHECK(rc == 0 || (rc == -1 && why && *why));
	FUZZ_CHECK(rc == ref_rc);
	FUZZ_CHECK(rc || size == ref);

	if (!parse_uint(s, 1, CONFIG_MAX_CPUS, &u))
		FUZZ_CHECK(u >= 1 && u <= CONFIG_MAX_CPUS);
	if (!parse_uint(s, 0, UINT_MAX, &u))
		FUZZ_CHECK(*s >= '0' && *s <= '9');
	if (!parse_bool(s, &b))
		FUZZ_CHECK(strlen(s) <= 5);
	if (!boot_protocol_parse(s, &proto))
		FUZZ_CHECK(!strcmp(boot_protocol_name(proto), s));
	if (!mem_backing_parse(s, &backing))
		FUZZ_CHECK(!strcmp(mem_backing_name(backing), s));
	if (!log_parse_level(s, &level))
		FUZZ_CHECK(level <= LOG_DEBUG);
}

/* config_set() may fail, but only with a non-empty message that fits the buffer. */
static void set_and_check(struct vm_config *cfg, const char *section, const char *key,
			  const char *value, const char *base_dir, size_t err_len)
{
	char *err = malloc(err_len);
	int rc;

	FUZZ_SETUP(err);
	memset(err, 0x55, err_len);
	rc = config_set(cfg, section, key, value, base_dir, err, err_len);
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc)
		FUZZ_CHECK(memchr(err, '\0', err_len) && (err_len == 1 || err[0]));
	check_config(cfg);
	free(err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm_config cfg; /* some 30 KiB: not on the stack */
	char *field[4];
	size_t off = 0;

	/* 1. an INI file */
	fuzz_file_set(&ini, data, size);
	config_defaults(&cfg);
	if (config_load_file(&cfg, ini.path) == 0)
		(void)config_validate(&cfg, CONFIG_MAX_CPUS);
	check_config(&cfg);

	/* 2. section NUL key NUL value NUL base_dir: each field its own exact-size string */
	for (int i = 0; i < 4; i++) {
		const uint8_t *nul = off < size ? memchr(data + off, '\0', size - off) : NULL;
		size_t len = off < size ? (nul ? (size_t)(nul - (data + off)) : size - off) : 0;

		field[i] = (char *)fuzz_dup(off < size ? data + off : data, len, 1);
		off += len + 1;
	}
	config_defaults(&cfg);
	set_and_check(&cfg, field[0], field[1], field[2], field[3],
		      1 + (size ? data[size - 1] : 0) * 2);

	/* 3. the first string as every key's value and every parser's argument */
	config_defaults(&cfg);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		set_and_check(&cfg, keys[i].section, keys[i].key, field[0], field[3], 512);
	fuzz_value_parsers(field[0]);

	for (int i = 0; i < 4; i++)
		free(field[i]);
	return 0;
}
