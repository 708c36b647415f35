// SPDX-License-Identifier: MIT
/*
 * The console matcher (vmm/console.c): guest output, which the guest controls completely,
 * matched against the user's --expect and --fail-on patterns.
 *
 * Input: pattern lines up to the first NUL byte, then the guest's output (at most 2 KiB:
 * the UART delivers it a byte at a time and every byte rematches the partial line).
 * A pattern line "!re" is a --fail-on pattern, "+" sets --expect-exit, any other line an
 * --expect pattern; each goes through config_set() as the command line would.
 *
 * The output is fed twice to fresh consoles: one byte per call, as the UART's sink does, and
 * in one call. How the output happens to be cut must not change the verdict: the same
 * --expect patterns match, and a --fail-on pattern matches in both or in neither. (Patterns
 * with GNU backslash operators such as \> or \b are left out of that comparison: a word
 * boundary at the end of a partial line is real for the regex and unknowable for anyone.)
 * Both runs also check byte counts and line bounds.
 */
#include <fcntl.h>

#include "../../vmm/config.h"
#include "../../vmm/console.h"
#include "../../vmm/vm.h"
#include "fuzz_common.h"

#define OUTPUT_MAX 2048

static int null_fd;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet();
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	FUZZ_SETUP(null_fd >= 0);
	return 0;
}

struct verdict {
	bool expect[CONFIG_MAX_PATTERNS];
	bool failed;
	bool stopped;
	int status;
};

/* Feed out[0..len) in pieces of `piece` bytes (0: all at once) to a fresh console. */
static int run_console(const struct vm_config *cfg, const uint8_t *out, size_t len, size_t piece,
		       struct verdict *v)
{
	struct vm *vm = calloc(1, sizeof(*vm));
	struct console *con = calloc(1, sizeof(*con));
	int matched = 0;

	FUZZ_SETUP(vm && con);
	vm->fd = -1;
	vm->stop_eventfd = -1;
	if (console_init(con, vm, cfg, null_fd)) {
		console_destroy(con);
		free(con);
		free(vm);
		return -1;
	}
	for (size_t off = 0; off < len || !len; off += piece ? piece : len) {
		size_t n = piece && len - off > piece ? piece : len - off;

		console_output(con, out + off, n);
		FUZZ_CHECK(con->line_len <= CONSOLE_LINE_MAX);
		FUZZ_CHECK(lockdep_held_count() == 0);
		if (!len)
			break;
	}
	console_poll(con); /* what the main loop's periodic poll does for a trailing prompt */
	FUZZ_CHECK(con->bytes == len);
	for (int i = 0; i < con->nr_expect; i++) {
		v->expect[i] = con->expect[i].matched;
		matched += v->expect[i];
	}
	FUZZ_CHECK(matched == con->nr_matched);
	v->failed = con->failed != NULL;
	v->stopped = atomic_load(&vm->stopping);
	v->status = vm->exit_status;
	/* the first reason to stop wins: an --expect-exit stop may come before the failure */
	if (v->failed)
		FUZZ_CHECK(v->stopped && con->failed->matched);
	FUZZ_CHECK(console_all_expected(con) == (matched == con->nr_expect));
	console_destroy(con);
	free(con);
	free(vm);
	return 0;
}

/*
 * glibc's regcomp() copies the tree of a repeated subexpression once per repetition, so
 * nested repetitions cost exponential memory: "x" followed by 24 '+' takes 12 GiB and 27 s
 * (tests/fuzz/crashes/README.md). That is a finding about pattern validation, not about
 * matching; patterns that could get there are left out so the matcher can be fuzzed, and so
 * are backreferences, whose matching backtracks (exponential time for the user's own pattern).
 */
static bool regcomp_bounded(const char *re)
{
	unsigned int repeats = 0, intervals = 0, digits = 0;

	for (const char *p = re; *p; p++) {
		repeats += *p == '*' || *p == '+' || *p == '?';
		intervals += *p == '{';
		digits = *p >= '0' && *p <= '9' ? digits + 1 : 0;
		if (intervals && digits > 2) /* {m,n} with m, n < 100 */
			return false;
		if (p[0] == '\\' && p[1] >= '1' && p[1] <= '9') /* backreferences backtrack */
			return false;
	}
	return repeats <= 6 && intervals <= 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm_config cfg; /* some 30 KiB: not on the stack */
	const uint8_t *nul = memchr(data, '\0', size);
	size_t head = nul ? (size_t)(nul - data) : size;
	const uint8_t *out = nul ? nul + 1 : data + size;
	size_t out_len = nul ? size - head - 1 : 0;
	bool comparable[CONFIG_MAX_PATTERNS] = { 0 }, fail_comparable = true;
	struct verdict bytewise = { 0 }, whole = { 0 };
	char *patterns = (char *)fuzz_dup(data, head, 1), *line, *save = NULL, err[256];

	config_defaults(&cfg);
	for (line = strtok_r(patterns, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		bool fail_on = line[0] == '!';

		if (!strcmp(line, "+")) {
			cfg.expect_exit = true;
			continue;
		}
		if (!regcomp_bounded(line))
			continue;
		if (config_set(&cfg, "test", fail_on ? "fail-on" : "expect", line + fail_on, NULL,
			       err, sizeof(err)))
			continue;
		if (fail_on && strchr(line, '\\'))
			fail_comparable = false;
		else if (!fail_on)
			comparable[cfg.nr_expect - 1] = !strchr(line, '\\');
	}
	free(patterns);
	if (out_len > OUTPUT_MAX)
		out_len = OUTPUT_MAX;

	if (run_console(&cfg, out, out_len, 1, &bytewise))
		return 0; /* a pattern is not a valid regex: console_init said so */
	FUZZ_CHECK(run_console(&cfg, out, out_len, 0, &whole) == 0);

	for (int i = 0; i < cfg.nr_expect; i++) {
		if (comparable[i] && bytewise.expect[i] != whole.expect[i]) {
			dprintf(fuzz_report_fd,
				"fuzz: --expect '%s' %s when the output comes a byte at a time, "
				"%s when it comes at once\n",
				cfg.expect[i], bytewise.expect[i] ? "matches" : "does not match",
				whole.expect[i] ? "matches" : "does not match");
			FUZZ_CHECK(bytewise.expect[i] == whole.expect[i]);
		}
	}
	if (fail_comparable && bytewise.failed != whole.failed) {
		dprintf(fuzz_report_fd,
			"fuzz: --fail-on %s when the output comes a byte at a time, %s when it "
			"comes at once\n",
			bytewise.failed ? "fires" : "does not fire",
			whole.failed ? "fires" : "does not fire");
		FUZZ_CHECK(bytewise.failed == whole.failed);
	}
	return 0;
}
