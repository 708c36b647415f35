// SPDX-License-Identifier: MIT
/*
 * `minivmm test`: run config files as smoke tests, in parallel, each VM in its own child
 * process (`minivmm run --config F`) with its console and diagnostics in its own log, so
 * consoles never mix. One line per test, a final "N passed, N failed", optional JUnit XML.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "suite.h"
#include "vm.h"

#define SUITE_MAX_TESTS 512
#define SUITE_DEFAULT_TIMEOUT_S 300

extern char **environ;

struct suite_test {
	char config[CONFIG_PATH_MAX];
	char name[128];
	char log[CONFIG_PATH_MAX + 160];
	int expected_status;
	pid_t pid;
	int status; /* exit status, or 128+signal */
	double start, seconds;
	bool done, passed;
	char reason[256];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int add_test(struct suite_test *tests, int *n, const char *path)
{
	struct suite_test *t;
	const char *base = strrchr(path, '/');
	struct vm_config cfg;

	if (*n == SUITE_MAX_TESTS) {
		fprintf(stderr, "minivmm test: more than %d tests\n", SUITE_MAX_TESTS);
		return -1;
	}
	config_defaults(&cfg);
	if (config_load_file(&cfg, path))
		return -1;
	t = &tests[(*n)++];
	memset(t, 0, sizeof(*t));
	snprintf(t->config, sizeof(t->config), "%s", path);
	snprintf(t->name, sizeof(t->name), "%s", base ? base + 1 : path);
	if (strlen(t->name) > 4 && !strcmp(t->name + strlen(t->name) - 4, ".ini"))
		t->name[strlen(t->name) - 4] = '\0';
	t->expected_status = cfg.expected_status;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int collect(struct suite_test *tests, int *n, const char *arg)
{
	struct stat st;
	struct dirent *de;
	char *names[SUITE_MAX_TESTS];
	int nr = 0, ret = 0;
	DIR *d;

	if (stat(arg, &st) < 0) {
		fprintf(stderr, "minivmm test: %s: %s\n", arg, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return add_test(tests, n, arg);
	d = opendir(arg);
	if (!d)
		return -1;
	while ((de = readdir(d)) && nr < SUITE_MAX_TESTS) {
		size_t len = strlen(de->d_name);

		if (len > 4 && !strcmp(de->d_name + len - 4, ".ini"))
			names[nr++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, (size_t)nr, sizeof(names[0]), cmp_str);
	for (int i = 0; i < nr; i++) {
		char path[CONFIG_PATH_MAX];

		snprintf(path, sizeof(path), "%s/%s", arg, names[i]);
		if (!ret && add_test(tests, n, path))
			ret = -1;
		free(names[i]);
	}
	if (!nr) {
		fprintf(stderr, "minivmm test: %s: no .ini files\n", arg);
		return -1;
	}
	return ret;
}

static int start_test(struct suite_test *t, const char *self, const char *log_dir)
{
	posix_spawn_file_actions_t fa;
	char timeout[32];
	char *argv[] = { (char *)self, "run", "--config", t->config, "--timeout", timeout, NULL };
	struct vm_config cfg;
	char name[sizeof(t->name)];
	int err;

	/* the config's own timeout wins (argv order: later options override earlier ones) */
	config_defaults(&cfg);
	config_load_file(&cfg, t->config);
	snprintf(timeout, sizeof(timeout), "%u",
		 cfg.timeout_s ? cfg.timeout_s : SUITE_DEFAULT_TIMEOUT_S);
	memcpy(name, t->name, sizeof(name)); /* snprintf must not read from its own target */
	snprintf(t->log, sizeof(t->log), "%s/%s.log", log_dir, name);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, t->log, O_WRONLY | O_CREAT | O_TRUNC,
					 0644);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	t->start = now_s();
	err = posix_spawn(&t->pid, self, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		snprintf(t->reason, sizeof(t->reason), "cannot start: %s", strerror(err));
		t->done = true;
		return -1;
	}
	return 0;
}

/* The last "minivmm: error:" line of the log says why, when there is one. */
static void last_error_line(const char *log, char *out, size_t len)
{
	char line[512];
	FILE *f = fopen(log, "r");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "minivmm: ");

		if (!p || (!strstr(p, "error") && !strstr(p, "never matched")))
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, len, "%s", p + strlen("minivmm: "));
	}
	fclose(f);
}

static void finish_test(struct suite_test *t, int wstatus)
{
	char err[200];

	t->seconds = now_s() - t->start;
	t->done = true;
	t->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
	t->passed = t->status == t->expected_status;
	if (t->passed) {
		snprintf(t->reason, sizeof(t->reason), "exit %d", t->status);
		return;
	}
	last_error_line(t->log, err, sizeof(err));
	switch (t->status) {
	case VM_EXIT_TIMEOUT:
		snprintf(t->reason, sizeof(t->reason), "timed out");
		break;
	case VM_EXIT_EXPECT:
		snprintf(t->reason, sizeof(t->reason), "%s", err[0] ? err : "expectation not met");
		break;
	case VM_EXIT_FAIL_ON:
		snprintf(t->reason, sizeof(t->reason), "fail-on pattern matched");
		break;
	default:
		snprintf(t->reason, sizeof(t->reason), "exit status %d, expected %d%s%s", t->status,
			 t->expected_status, err[0] ? ": " : "", err);
	}
}

static void xml_text(FILE *out, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && i < max; i++) {
		unsigned char c = (unsigned char)s[i];

		switch (c) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		default:
			/* XML 1.0 allows no other control characters */
			if (c < 0x20 && c != '\n' && c != '\t')
				fputc('?', out);
			else
				fputc(c, out);
		}
	}
}

static void xml_file(FILE *out, const char *path)
{
	char buf[4096];
	size_t n, total = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while ((n = fread(buf, 1, sizeof(buf) - 1, f)) > 0 && total < (1u << 20)) {
		buf[n] = '\0';
		xml_text(out, buf, n);
		total += n;
	}
	fclose(f);
}

static int write_junit(const char *path, struct suite_test *tests, int n, double seconds)
{
	int failures = 0;
	FILE *out = fopen(path, "w");

	if (!out) {
		fprintf(stderr, "minivmm test: --junit %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (int i = 0; i < n; i++)
		failures += !tests[i].passed;
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(out, "<testsuites tests=\"%d\" failures=\"%d\" time=\"%.3f\">\n", n, failures,
		seconds);
	fprintf(out,
		"  <testsuite name=\"minivmm\" tests=\"%d\" failures=\"%d\" errors=\"0\" time=\"%.3f\">\n",
		n, failures, seconds);
	for (int i = 0; i < n; i++) {
		struct suite_test *t = &tests[i];

		fprintf(out, "    <testcase classname=\"minivmm.smoke\" name=\"");
		xml_text(out, t->name, sizeof(t->name));
		fprintf(out, "\" time=\"%.3f\">\n", t->seconds);
		if (!t->passed) {
			fprintf(out, "      <failure message=\"");
			xml_text(out, t->reason, sizeof(t->reason));
			fprintf(out, "\" type=\"exit-%d\"/>\n", t->status);
		}
		fprintf(out, "      <system-out>");
		xml_file(out, t->log);
		fprintf(out, "</system-out>\n    </testcase>\n");
	}
	fprintf(out, "  </testsuite>\n</testsuites>\n");
	return fclose(out) ? -1 : 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: minivmm test [--jobs N] [--junit FILE] [--log-dir DIR] CONFIG_OR_DIR...\n"
		"\n"
		"Run each config file (every *.ini of a directory) as a smoke test: pass when\n"
		"`minivmm run --config FILE` exits with [test] exit-status (default 0). Tests without\n"
		"[test] timeout get %d s. Prints one line per test and \"N passed, N failed\";\n"
		"exits 1 if any failed.\n"
		"\n"
		"  -j, --jobs N        parallel VMs (default: number of CPUs)\n"
		"      --junit FILE    write a JUnit XML report\n"
		"      --log-dir DIR   keep each test's console and diagnostics in DIR/NAME.log\n"
		"                      (default: a directory under $TMPDIR, printed at the end)\n",
		SUITE_DEFAULT_TIMEOUT_S);
}

int suite_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "junit", required_argument, NULL, 'J' },
		{ "log-dir", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct suite_test tests[SUITE_MAX_TESTS];
	unsigned int jobs = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	const char *junit = NULL;
	char log_dir[CONFIG_PATH_MAX] = "", self[CONFIG_PATH_MAX];
	int n = 0, next = 0, running = 0, passed = 0, failed = 0, opt;
	bool tty = isatty(STDOUT_FILENO);
	ssize_t len;
	double t0;

	argv[0] = "minivmm test";
	optind = 1;
	while ((opt = getopt_long(argc, argv, "+j:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			if (parse_uint(optarg, 1, 1024, &jobs)) {
				fprintf(stderr,
					"minivmm test: --jobs: expected a number from 1 to 1024\n");
				return VM_EXIT_USAGE;
			}
			break;
		case 'J':
			junit = optarg;
			break;
		case 'L':
			snprintf(log_dir, sizeof(log_dir), "%s", optarg);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return VM_EXIT_USAGE;
		}
	}
	if (optind == argc) {
		usage(stderr);
		return VM_EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++) {
		if (collect(tests, &n, argv[i]))
			return VM_EXIT_USAGE;
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0)
		return VM_EXIT_FAILURE;
	self[len] = '\0';
	if (!log_dir[0]) {
		const char *tmp = getenv("TMPDIR");

		snprintf(log_dir, sizeof(log_dir), "%s/minivmm-test-XXXXXX", tmp ? tmp : "/tmp");
		if (!mkdtemp(log_dir)) {
			perror("minivmm test: mkdtemp");
			return VM_EXIT_FAILURE;
		}
	} else if (mkdir(log_dir, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "minivmm test: --log-dir %s: %s\n", log_dir, strerror(errno));
		return VM_EXIT_USAGE;
	}

	t0 = now_s();
	while (next < n || running) {
		int wstatus;
		pid_t pid;

		while (next < n && running < (int)jobs) {
			if (start_test(&tests[next], self, log_dir) == 0)
				running++;
			next++;
		}
		if (tty)
			printf("\r\033[K[%d/%d done, %d running]", next - running, n, running);
		fflush(stdout);
		if (!running)
			continue;
		pid = waitpid(-1, &wstatus, 0);
		if (pid < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (int i = 0; i < n; i++) {
			struct suite_test *t = &tests[i];

			if (t->pid != pid || t->done)
				continue;
			finish_test(t, wstatus);
			running--;
			if (tty)
				printf("\r\033[K");
			printf("%s %s (%.2f s): %s\n", t->passed ? "PASS" : "FAIL", t->name,
			       t->seconds, t->reason);
		}
	}
	for (int i = 0; i < n; i++) {
		if (tests[i].passed)
			passed++;
		else
			failed++;
	}
	if (tty)
		printf("\r\033[K");
	printf("logs: %s\n", log_dir);
	if (junit && write_junit(junit, tests, n, now_s() - t0))
		failed += !failed;
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? VM_EXIT_FAILURE : 0;
}
