// SPDX-License-Identifier: MIT
/*
 * Configuration: INI files (libinih) and the command line both land in config_set(), so a key
 * means the same thing in both places and errors name the accepted values the same way.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <regex.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "config.h"

#define MIB (1ull << 20)

void config_defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->memory = 256 * MIB;
	cfg->backing = MEM_BACKING_MEMFD;
	cfg->log_level = LOG_WARN;
	cfg->xen_version = 4u << 16 | 17u;
	cfg->xen_percpu_upcalls = true;
	cfg->boot_protocol = BOOT_PROTOCOL_AUTO;
	cfg->seccomp = SANDBOX_DEFAULT_MODE; /* on (log in sanitizer builds) */
}

int parse_size(const char *s, uint64_t *out, const char **why)
{
	unsigned long long v;
	uint64_t shift = 20;
	char *end;

	*why = "expected a size such as 512M, 2G or 1048576B";
	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno) {
		*why = "size too large";
		return -1;
	}
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'B':
		shift = 0, end++;
		break;
	case 'K':
		shift = 10, end++;
		break;
	case 'M':
		shift = 20, end++;
		break;
	case 'G':
		shift = 30, end++;
		break;
	case 'T':
		shift = 40, end++;
		break;
	default:
		return -1;
	}
	if (shift && (!strcasecmp(end, "iB") || !strcasecmp(end, "B")))
		end += strlen(end);
	if (*end)
		return -1;
	if (v > (UINT64_MAX >> shift)) {
		*why = "size too large";
		return -1;
	}
	*out = (uint64_t)v << shift;
	return 0;
}

int parse_uint(const char *s, unsigned int min, unsigned int max, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };

	for (unsigned int i = 0; i < 4; i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*out = !strcasecmp(s, yes[i]);
			return 0;
		}
	}
	return -1;
}

static const char *const protocol_names[] = {
	[BOOT_PROTOCOL_AUTO] = "auto",
	[BOOT_PROTOCOL_LINUX64] = "linux64",
	[BOOT_PROTOCOL_PVH] = "pvh",
};

const char *boot_protocol_name(enum boot_protocol p)
{
	return protocol_names[p];
}

int boot_protocol_parse(const char *s, enum boot_protocol *out)
{
	for (unsigned int i = 0; i < 3; i++) {
		if (!strcmp(s, protocol_names[i])) {
			*out = (enum boot_protocol)i;
			return 0;
		}
	}
	return -1;
}

/* A relative path in a config file is relative to the file's directory (base_dir). */
static int set_path(char *dst, const char *value, const char *base_dir, char *err, size_t len)
{
	char path[CONFIG_PATH_MAX];
	int n;

	if (!*value) {
		snprintf(err, len, "empty path");
		return -1;
	}
	if (value[0] == '/' || !base_dir || !*base_dir)
		n = snprintf(path, sizeof(path), "%s", value);
	else
		n = snprintf(path, sizeof(path), "%s%s%s", base_dir,
			     base_dir[strlen(base_dir) - 1] == '/' ? "" : "/", value);
	if (n >= (int)sizeof(path)) {
		snprintf(err, len, "path too long");
		return -1;
	}
	memcpy(dst, path, (size_t)n + 1);
	return 0;
}

/*
 * Console patterns are user input compiled by glibc's regcomp(), which builds a tree whose
 * size multiplies with every stacked or nested repetition: `x` followed by 24 `+` takes
 * 12 GiB. Refuse what no smoke test needs before compiling: a repetition right after another,
 * more than 3 nested quantified groups, intervals above 255; then compile to report syntax.
 */
static int pattern_check(const char *re, char *err, size_t err_len)
{
	int nesting[65] = { 0 }; /* per open group: deepest repetition nesting inside it */
	int depth = 0;
	bool prev_quant = false;
	regex_t compiled;
	int rc;

	for (const char *p = re; *p; p++) {
		bool quant = *p == '*' || *p == '+' || *p == '?' || *p == '{';

		if (*p == '\\' && p[1]) {
			p++;
			prev_quant = false;
			continue;
		}
		if (quant && prev_quant) {
			snprintf(err, err_len, "pattern '%s': a repetition directly after another",
				 re);
			return -1;
		}
		if (quant && p > re && p[-1] != ')' && nesting[depth] < 1)
			nesting[depth] = 1; /* a repeated atom */
		if (*p == '{') {
			const char *q = p + 1;

			for (; *q && *q != '}'; q++) {
				if (*q >= '0' && *q <= '9' && strtol(q, NULL, 10) > 255) {
					snprintf(err, err_len,
						 "pattern '%s': interval bound above 255", re);
					return -1;
				}
			}
			p = *q ? q : p;
		} else if (*p == '(' && depth < 64) {
			nesting[++depth] = 0;
		} else if (*p == ')' && depth > 0) {
			int inner = nesting[depth--];

			if (p[1] == '*' || p[1] == '+' || p[1] == '?' || p[1] == '{')
				inner++;
			if (inner > nesting[depth])
				nesting[depth] = inner;
		}
		prev_quant = quant;
	}
	if (nesting[0] > 3) {
		snprintf(err, err_len, "pattern '%s': repetitions nested more than 3 deep", re);
		return -1;
	}
	rc = regcomp(&compiled, re, REG_EXTENDED | REG_NOSUB);
	if (rc) {
		char why[128];

		regerror(rc, &compiled, why, sizeof(why));
		snprintf(err, err_len, "pattern '%s': %s", re, why);
		return -1;
	}
	regfree(&compiled);
	return 0;
}

struct config_key {
	const char *section;
	const char *key;
	const char *accepted; /* for error messages */
};

static const struct config_key config_keys[] = {
	{ "machine", "cpus", "a number from 1 to 256" },
	{ "machine", "log-level", "error, warn, info, debug" },
	{ "machine", "stats", "none, text or json" },
	{ "machine", "stats-file", "a file path" },
	{ "machine", "seccomp", "on, log, off" },
	{ "machine", "user", "a user name or UID:GID" },
	{ "memory", "size", "a size such as 512M or 2G" },
	{ "memory", "backing", "memfd, guest_memfd, anonymous" },
	{ "memory", "hugepages", "2M or none" },
	{ "boot", "kernel", "a file path" },
	{ "boot", "initrd", "a file path" },
	{ "boot", "cmdline", "a kernel command line (repeat the key to continue it)" },
	{ "boot", "protocol", "auto, linux64, pvh" },
	{ "test", "timeout", "seconds, 0 for none" },
	{ "test", "expect", "an extended regex (repeatable)" },
	{ "test", "fail-on", "an extended regex (repeatable)" },
	{ "test", "expect-exit", "true or false" },
	{ "test", "console-log", "a file path" },
	{ "test", "exit-status", "a number from 0 to 255" },
	{ "xen", "enabled", "true or false" },
	{ "xen", "version", "MAJOR.MINOR, e.g. 4.17" },
	{ "xen", "kvm-leaves", "true or false" },
	{ "xen", "percpu-upcalls", "true or false" },
	{ "xen", "transport", "auto, kvm, pio" },
	{ "disk", "path", "a raw disk image (starts a new disk)" },
	{ "disk", "readonly", "true or false" },
	{ "disk", "id", "up to 20 characters (the guest's serial)" },
	{ "devices", "rng", "true or false" },
	{ "devices", "balloon", "true or false" },
	{ "devices", "balloon-target", "a size such as 64M (memory the balloon takes)" },
	{ "devices", "virtio-console",
	  "[file=]PATH[,truncate] (appended to), stdout, null (discarded) or none (no device)" },
};

/* Keys that may be given more than once, each adding a value ([disk]: once per disk). */
static bool key_repeatable(const char *section, const char *key)
{
	return !strcmp(section, "disk") || !strcmp(key, "expect") || !strcmp(key, "fail-on") ||
	       !strcmp(key, "cmdline");
}

#define NR_CONFIG_KEYS (sizeof(config_keys) / sizeof(config_keys[0]))

static void accepted_keys(const char *section, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < NR_CONFIG_KEYS && off < len; i++) {
		if (strcmp(config_keys[i].section, section))
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
					config_keys[i].key);
	}
}

#define DISK_KEY_READONLY 1u
#define DISK_KEY_ID 2u

/* [disk]: `path` starts a disk, `readonly` and `id` apply to the last one. */
static int config_set_disk(struct vm_config *cfg, const struct config_key *k, const char *value,
			   const char *base_dir, char *err, size_t err_len)
{
	struct disk_config *d = cfg->nr_disks ? &cfg->disks[cfg->nr_disks - 1] : NULL;
	unsigned int bit = !strcmp(k->key, "readonly") ? DISK_KEY_READONLY : DISK_KEY_ID;

	if (!strcmp(k->key, "path")) {
		if (cfg->nr_disks == CONFIG_MAX_DISKS) {
			snprintf(err, err_len, "more than %d disks", CONFIG_MAX_DISKS);
			return -1;
		}
		d = &cfg->disks[cfg->nr_disks];
		memset(d, 0, sizeof(*d));
		if (set_path(d->path, value, base_dir, err, err_len))
			return -1;
		cfg->nr_disks++;
		return 0;
	}
	if (!d) {
		snprintf(err, err_len, "'%s' before the disk's 'path'", k->key);
		return -1;
	}
	if (d->keys_set & bit) {
		snprintf(err, err_len, "duplicate key '%s' for disk %s", k->key, d->path);
		return -1;
	}
	if (bit == DISK_KEY_READONLY) {
		if (parse_bool(value, &d->readonly)) {
			snprintf(err, err_len, "bad value '%s' for readonly (accepted: %s)", value,
				 k->accepted);
			return -1;
		}
	} else {
		if (!*value || strlen(value) > CONFIG_DISK_ID_MAX) {
			snprintf(err, err_len, "bad value '%s' for id (accepted: %s)", value,
				 k->accepted);
			return -1;
		}
		strcpy(d->id, value);
	}
	d->keys_set |= bit;
	return 0;
}

/*
 * [devices] virtio-console (and --virtio-console): "none", "null", "stdout", or a file:
 * "[file=]PATH[,truncate]". Only a trailing ",truncate" is special, so a path may hold
 * commas; "file=" names a file called "stdout" or "none".
 */
static int config_set_vcon(struct vm_config *cfg, const struct config_key *k, const char *value,
			   const char *base_dir, char *err, size_t err_len)
{
	static const char suffix[] = ",truncate";
	char path[CONFIG_PATH_MAX];
	size_t len = strlen(value);
	bool truncate = false;

	cfg->vcon_truncate = false;
	if (!strcmp(value, "none")) {
		cfg->vcon_sink = VCON_SINK_NONE;
		return 0;
	}
	if (!strcmp(value, "null")) {
		cfg->vcon_sink = VCON_SINK_NULL;
		return 0;
	}
	if (!strcmp(value, "stdout")) {
		cfg->vcon_sink = VCON_SINK_STDOUT;
		return 0;
	}
	if (!strncmp(value, "file=", 5)) {
		value += 5;
		len -= 5;
	}
	if (len >= sizeof(suffix) - 1 && !strcmp(value + len - (sizeof(suffix) - 1), suffix)) {
		truncate = true;
		len -= sizeof(suffix) - 1;
	}
	if (!len || len >= sizeof(path)) {
		snprintf(err, err_len, "bad value for %s (accepted: %s)", k->key, k->accepted);
		return -1;
	}
	memcpy(path, value, len);
	path[len] = '\0';
	if (set_path(cfg->vcon_path, path, base_dir, err, err_len))
		return -1;
	cfg->vcon_sink = VCON_SINK_FILE;
	cfg->vcon_truncate = truncate;
	return 0;
}

int config_add_disk(struct vm_config *cfg, const char *spec, char *err, size_t err_len)
{
	char buf[CONFIG_PATH_MAX + 64], *save = NULL, *item;
	bool first = true;

	if (strlen(spec) >= sizeof(buf)) {
		snprintf(err, err_len, "disk specification too long");
		return -1;
	}
	strcpy(buf, spec);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		const char *key = item, *value = "true";
		char *eq = strchr(item, '=');

		if (eq) {
			*eq = '\0';
			value = eq + 1;
		} else if (first) {
			key = "path";
			value = item;
		}
		if (first && strcmp(key, "path")) {
			snprintf(err, err_len, "'%s': a disk starts with path=FILE or FILE", spec);
			return -1;
		}
		if (!first && !strcmp(key, "path")) {
			snprintf(err, err_len, "'%s': one path per --disk", spec);
			return -1;
		}
		if (config_set(cfg, "disk", key, value, NULL, err, err_len))
			return -1;
		first = false;
	}
	if (first) {
		snprintf(err, err_len, "empty disk specification");
		return -1;
	}
	return 0;
}

int config_set(struct vm_config *cfg, const char *section, const char *key, const char *value,
	       const char *base_dir, char *err, size_t err_len)
{
	const struct config_key *k = NULL;
	const char *why;
	char keys[256];

	for (size_t i = 0; i < NR_CONFIG_KEYS; i++) {
		if (!strcmp(config_keys[i].section, section) && !strcmp(config_keys[i].key, key))
			k = &config_keys[i];
	}
	if (!k) {
		accepted_keys(section, keys, sizeof(keys));
		if (!keys[0])
			snprintf(
				err, err_len,
				"unknown section [%s] (accepted: machine, memory, boot, test, xen, "
				"disk, devices)",
				section);
		else
			snprintf(err, err_len, "unknown key '%s' in [%s] (accepted: %s)", key,
				 section, keys);
		return -1;
	}

	if (!strcmp(section, "disk"))
		return config_set_disk(cfg, k, value, base_dir, err, err_len);
	if (!strcmp(key, "cpus")) {
		if (parse_uint(value, 1, CONFIG_MAX_CPUS, &cfg->cpus))
			goto bad;
	} else if (!strcmp(key, "log-level")) {
		if (log_parse_level(value, &cfg->log_level))
			goto bad;
	} else if (!strcmp(key, "stats")) {
		bool on;

		if (!strcmp(value, "text"))
			cfg->stats = STATS_TEXT;
		else if (!strcmp(value, "json"))
			cfg->stats = STATS_JSON;
		else if (!strcmp(value, "none") || !parse_bool(value, &on))
			cfg->stats = strcmp(value, "none") && on ? STATS_TEXT : STATS_NONE;
		else
			goto bad;
	} else if (!strcmp(key, "stats-file")) {
		return set_path(cfg->stats_file, value, base_dir, err, err_len);
	} else if (!strcmp(key, "seccomp")) {
		if (sandbox_mode_parse(value, &cfg->seccomp))
			goto bad;
	} else if (!strcmp(key, "user")) {
		if (!*value || strlen(value) >= sizeof(cfg->user))
			goto bad;
		strcpy(cfg->user, value);
	} else if (!strcmp(key, "timeout")) {
		if (parse_uint(value, 0, 7 * 24 * 3600, &cfg->timeout_s))
			goto bad;
	} else if (!strcmp(key, "expect") || !strcmp(key, "fail-on")) {
		bool expect = !strcmp(key, "expect");
		int *n = expect ? &cfg->nr_expect : &cfg->nr_fail_on;
		char(*list)[CONFIG_PATTERN_MAX] = expect ? cfg->expect : cfg->fail_on;

		if (*n == CONFIG_MAX_PATTERNS) {
			snprintf(err, err_len, "more than %d %s patterns", CONFIG_MAX_PATTERNS,
				 key);
			return -1;
		}
		if (!*value || strlen(value) >= CONFIG_PATTERN_MAX) {
			snprintf(err, err_len, "%s pattern must be 1 to %d characters", key,
				 CONFIG_PATTERN_MAX - 1);
			return -1;
		}
		if (pattern_check(value, err, err_len))
			return -1;
		strcpy(list[(*n)++], value);
	} else if (!strcmp(key, "expect-exit")) {
		if (parse_bool(value, &cfg->expect_exit))
			goto bad;
	} else if (!strcmp(key, "console-log")) {
		return set_path(cfg->console_log, value, base_dir, err, err_len);
	} else if (!strcmp(key, "exit-status")) {
		unsigned int v;

		if (parse_uint(value, 0, 255, &v))
			goto bad;
		cfg->expected_status = (int)v;
	} else if (!strcmp(key, "size")) {
		if (parse_size(value, &cfg->memory, &why)) {
			snprintf(err, err_len, "bad value '%s' for %s: %s", value, key, why);
			return -1;
		}
	} else if (!strcmp(key, "backing")) {
		if (mem_backing_parse(value, &cfg->backing))
			goto bad;
	} else if (!strcmp(key, "hugepages")) {
		if (!strcmp(value, "none"))
			cfg->hugepage_size = 0;
		else if (!strcasecmp(value, "2M"))
			cfg->hugepage_size = 2 * MIB;
		else
			goto bad;
	} else if (!strcmp(key, "kernel")) {
		return set_path(cfg->kernel, value, base_dir, err, err_len);
	} else if (!strcmp(key, "initrd")) {
		return set_path(cfg->initrd, value, base_dir, err, err_len);
	} else if (!strcmp(key, "cmdline")) {
		if (strlen(value) >= sizeof(cfg->cmdline)) {
			snprintf(err, err_len, "cmdline longer than %zu bytes",
				 sizeof(cfg->cmdline) - 1);
			return -1;
		}
		strcpy(cfg->cmdline, value);
	} else if (!strcmp(key, "protocol")) {
		if (boot_protocol_parse(value, &cfg->boot_protocol))
			goto bad;
	} else if (!strcmp(key, "enabled")) {
		if (parse_bool(value, &cfg->xen))
			goto bad;
	} else if (!strcmp(key, "version")) {
		unsigned int major, minor;
		char tail;

		if (sscanf(value, "%u.%u%c", &major, &minor, &tail) != 2 || major > 0xffff ||
		    minor > 0xffff)
			goto bad;
		cfg->xen_version = major << 16 | minor;
	} else if (!strcmp(key, "kvm-leaves")) {
		if (parse_bool(value, &cfg->xen_kvm_leaves))
			goto bad;
	} else if (!strcmp(key, "percpu-upcalls")) {
		if (parse_bool(value, &cfg->xen_percpu_upcalls))
			goto bad;
	} else if (!strcmp(key, "transport")) {
		static const char *const names[] = { "auto", "kvm", "pio" };
		int t = -1;

		for (int i = 0; i < 3; i++)
			t = !strcmp(value, names[i]) ? i : t;
		if (t < 0)
			goto bad;
		cfg->xen_transport = t;
	} else if (!strcmp(key, "rng")) {
		if (parse_bool(value, &cfg->rng))
			goto bad;
	} else if (!strcmp(key, "balloon")) {
		if (parse_bool(value, &cfg->balloon))
			goto bad;
	} else if (!strcmp(key, "balloon-target")) {
		if (parse_size(value, &cfg->balloon_target, &why)) {
			snprintf(err, err_len, "bad value '%s' for %s: %s", value, key, why);
			return -1;
		}
	} else if (!strcmp(key, "virtio-console")) {
		return config_set_vcon(cfg, k, value, base_dir, err, err_len);
	}
	return 0;
bad:
	snprintf(err, err_len, "bad value '%s' for %s (accepted: %s)", value, key, k->accepted);
	return -1;
}

/*
 * libinih as Debian builds it stops lines at INI_MAX_LINE (200) and treats indented lines as
 * continuations of the previous value. Feeding it through our own reader gives every line a
 * number we know (so errors name the right line), refuses over-long lines instead of letting
 * them be split, and strips indentation so an indented key is a key, not a continuation.
 * A long kernel command line is written as several `cmdline =` lines, joined with spaces.
 */
struct ini_ctx {
	struct vm_config *cfg;
	const char *path;
	FILE *file;
	int line;
	int error_line;
	char base_dir[CONFIG_PATH_MAX];
	char seen[NR_CONFIG_KEYS];
	char error[512];
};

static char *config_ini_reader(char *buf, int size, void *arg)
{
	struct ini_ctx *ctx = arg;
	char *line = NULL, *p;
	size_t cap = 0;
	ssize_t len;

	if (ctx->error[0])
		return NULL; /* stop at the first error */
	len = getline(&line, &cap, ctx->file);
	if (len < 0) {
		free(line);
		return NULL;
	}
	ctx->line++;
	for (p = line; *p == ' ' || *p == '\t'; p++)
		;
	if (strcspn(p, "\n") > (size_t)size - 2) {
		snprintf(
			ctx->error, sizeof(ctx->error),
			"line longer than %d characters (split a long cmdline over several 'cmdline =' lines)",
			size - 2);
		ctx->error_line = ctx->line;
		free(line);
		return NULL;
	}
	snprintf(buf, (size_t)size, "%s", p);
	free(line);
	return buf;
}

/* libinih (as Debian builds it) reports the first failing line as ini_parse_file's result. */
static int config_ini_handler(void *user, const char *section, const char *key, const char *value)
{
	struct ini_ctx *ctx = user;
	char joined[sizeof(ctx->cfg->cmdline) + 1];
	bool again = false;

	if (ctx->error[0])
		return 0;
	ctx->error_line = ctx->line;
	for (size_t i = 0; i < NR_CONFIG_KEYS; i++) {
		if (strcmp(config_keys[i].section, section) || strcmp(config_keys[i].key, key))
			continue;
		again = ctx->seen[i];
		if (again && !key_repeatable(section, key)) {
			snprintf(ctx->error, sizeof(ctx->error), "duplicate key '%s' in [%s]", key,
				 section);
			return 0;
		}
		ctx->seen[i] = 1;
	}
	if (again && !strcmp(key, "cmdline")) {
		if ((size_t)snprintf(joined, sizeof(joined), "%s %s", ctx->cfg->cmdline, value) >=
		    sizeof(joined)) {
			snprintf(ctx->error, sizeof(ctx->error), "cmdline longer than %zu bytes",
				 sizeof(ctx->cfg->cmdline) - 1);
			return 0;
		}
		value = joined;
	}
	return config_set(ctx->cfg, section, key, value, ctx->base_dir, ctx->error,
			  sizeof(ctx->error)) == 0;
}

int config_load_file(struct vm_config *cfg, const char *path)
{
	struct ini_ctx ctx = { .cfg = cfg, .path = path };
	const char *slash = strrchr(path, '/');
	FILE *f;
	int ret;

	/* "/vm.ini" has base_dir "/"; "vm.ini" has none: its paths stay relative to the cwd */
	if (slash)
		snprintf(ctx.base_dir, sizeof(ctx.base_dir), "%.*s",
			 (int)(slash - path) + (slash == path), path);
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "minivmm: %s: cannot open config file: %s\n", path,
			strerror(errno));
		return -1;
	}
	ctx.file = f;
	ret = ini_parse_stream(config_ini_reader, &ctx, config_ini_handler, &ctx);
	fclose(f);
	if (ret == 0 && !ctx.error[0])
		return 0;
	/* inih reports the first line its own parser rejected; ours may come first */
	if (ctx.error[0] && (ret <= 0 || ctx.error_line <= ret))
		fprintf(stderr, "minivmm: %s:%d: %s\n", path, ctx.error_line, ctx.error);
	else if (ret > 0)
		fprintf(stderr,
			"minivmm: %s:%d: syntax error (expected [section] or key = value)\n", path,
			ret);
	else
		fprintf(stderr, "minivmm: %s: cannot parse config file\n", path);
	return -1;
}

int config_validate(const struct vm_config *cfg, unsigned int max_vcpus)
{
	struct sysinfo si;

	if (!cfg->kernel[0]) {
		fprintf(stderr,
			"minivmm: no kernel given (--kernel PATH or [boot] kernel = PATH)\n");
		return -1;
	}
	if (cfg->cpus > max_vcpus) {
		fprintf(stderr, "minivmm: %u vCPUs requested, this host's KVM allows at most %u\n",
			cfg->cpus, max_vcpus);
		return -1;
	}
	if (cfg->balloon_target && !cfg->balloon) {
		fprintf(stderr, "minivmm: balloon-target needs the balloon ([devices] balloon = "
				"true or --balloon)\n");
		return -1;
	}
	if (cfg->balloon_target > cfg->memory) {
		fprintf(stderr, "minivmm: balloon-target is more than the guest's memory\n");
		return -1;
	}
	if (config_virtio_devices(cfg) > CONFIG_MAX_VIRTIO) {
		fprintf(stderr,
			"minivmm: at most %d virtio devices (disks, rng, balloon, "
			"virtio-console)\n",
			CONFIG_MAX_VIRTIO);
		return -1;
	}
	if (cfg->memory < 2 * MIB || cfg->memory & 0xfff) {
		fprintf(stderr,
			"minivmm: memory size %llu bytes: must be at least 2M and a multiple of 4K\n",
			(unsigned long long)cfg->memory);
		return -1;
	}
	if (cfg->hugepage_size && cfg->memory % cfg->hugepage_size) {
		fprintf(stderr,
			"minivmm: memory size must be a multiple of the 2M hugepage size\n");
		return -1;
	}
	if (cfg->hugepage_size && cfg->backing != MEM_BACKING_MEMFD) {
		fprintf(stderr, "minivmm: hugepages need the memfd backing\n");
		return -1;
	}
	if (sysinfo(&si) == 0 && cfg->memory > (uint64_t)si.totalram * si.mem_unit) {
		fprintf(stderr, "minivmm: memory size %lluM is more than this host has (%lluM)\n",
			(unsigned long long)(cfg->memory / MIB),
			(unsigned long long)((uint64_t)si.totalram * si.mem_unit / MIB));
		return -1;
	}
	return 0;
}
