// SPDX-License-Identifier: MIT
/*
 * minivmm entry point: `minivmm run`, `minivmm caps`, --help, --version.
 * Exit statuses: the guest's own (exit port), 0 clean poweroff/reboot, 1 guest or VMM failure,
 * 2 usage or configuration error.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "kvm.h"
#include "log.h"
#include "sandbox.h"
#include "suite.h"
#include "vm.h"

#ifndef MINIVMM_VERSION
#define MINIVMM_VERSION "0.1.0"
#endif

static void usage_main(FILE *out)
{
	fprintf(out,
		"usage: minivmm <command> [options]\n"
		"\n"
		"A minimal KVM virtual machine monitor.\n"
		"\n"
		"commands:\n"
		"  run     boot a guest (minivmm run --help)\n"
		"  test    run config files as smoke tests (minivmm test --help)\n"
		"  caps    show what this host's KVM offers and what minivmm does without each\n"
		"  help    this text\n"
		"\n"
		"  --help, --version\n");
}

static void usage_run(FILE *out)
{
	fprintf(out,
		"usage: minivmm run [options]\n"
		"\n"
		"Boot a guest kernel. Options override the config file's keys, named in [].\n"
		"\n"
		"  -c, --config FILE          INI config file ([machine], [memory], [boot])\n"
		"  -k, --kernel PATH          kernel: bzImage, or ELF with a PVH note [boot] kernel\n"
		"  -i, --initrd PATH          initial ramdisk                   [boot] initrd\n"
		"  -a, --cmdline STR          kernel command line               [boot] cmdline\n"
		"      --boot-protocol P      auto|linux64|pvh (default auto)   [boot] protocol\n"
		"  -p, --cpus N               vCPUs (default 1)                 [machine] cpus\n"
		"  -m, --memory SIZE          guest RAM, K/M/G suffix, bare number = MiB\n"
		"                             (default 256M)                    [memory] size\n"
		"      --memory-backing B     memfd|guest_memfd|anonymous (default memfd)\n"
		"                                                               [memory] backing\n"
		"      --memory-hugepages S   2M|none (memfd only)              [memory] hugepages\n"
		"      --log-level L          error|warn|info|debug (default warn)\n"
		"                                                               [machine] log-level\n"
		"      --stats[=FORMAT]       at exit, print exit counts per vCPU and run figures,\n"
		"                             FORMAT text (default) or json  [machine] stats\n"
		"      --stats-file FILE      write --stats there, not to stderr [machine] stats-file\n"
		"      --xen                  Xen HVM guest interface           [xen] enabled\n"
		"      --xen-version V        Xen version guests see (4.17)     [xen] version\n"
		"      --seccomp MODE         on|log|off (default on): each thread's syscall\n"
		"                             filter; log lets forbidden calls through and\n"
		"                             the kernel logs them               [machine] seccomp\n"
		"      --user USER            run as USER (a name, or UID:GID) once /dev/kvm\n"
		"                             and the files are open             [machine] user\n"
		"\n"
		"Devices (virtio-mmio, described to the guest in ACPI as LNRO0005):\n"
		"      --disk path=FILE[,readonly][,id=NAME]\n"
		"                             virtio-blk on a raw image (repeatable; FILE alone\n"
		"                             works too)       [disk] path, readonly, id\n"
		"      --rng                  virtio-rng fed by the host's getrandom [devices] rng\n"
		"      --balloon[=TARGET]     virtio-balloon with free page reporting; TARGET:\n"
		"                             memory to take from the guest at start\n"
		"                                    [devices] balloon, balloon-target\n"
		"      --virtio-console SINK  virtio-console (/dev/hvc0 in Linux), output only:\n"
		"                             [file=]PATH[,truncate] appends to PATH (created if\n"
		"                             missing; emptied first with ,truncate), stdout,\n"
		"                             null (discarded), none (no device)\n"
		"                                                    [devices] virtio-console\n"
		"\n"
		"Smoke tests (config section [test]):\n"
		"      --timeout SECONDS      end the VM after this long, exit 124 [test] timeout\n"
		"      --expect REGEX         console must match (repeatable)      [test] expect\n"
		"      --fail-on REGEX        console must not match (repeatable)  [test] fail-on\n"
		"      --expect-exit          end the VM once every --expect matched [test] expect-exit\n"
		"      --console-log FILE     keep the whole console in FILE       [test] console-log\n"
		"  -h, --help                 this text\n"
		"\n"
		"Console: COM1 on stdin/stdout. On a terminal, Ctrl-A x quits.\n"
		"Patterns are POSIX extended regexes matched per console line (and against a\n"
		"partial line, so prompts match).\n"
		"Exit status: the guest's code written to port 0xf4; 0 poweroff/reboot; 1 guest or\n"
		"VMM failure (triple fault, emulation failure); 2 usage or config error; 3 an\n"
		"--expect never matched; 4 a --fail-on matched; 124 --timeout expired;\n"
		"128+N when stopped by signal N; 159 (128+SIGSYS) a forbidden syscall\n"
		"(--seccomp).\n");
}

enum {
	OPT_BOOT_PROTOCOL = 256,
	OPT_MEMORY_BACKING,
	OPT_MEMORY_HUGEPAGES,
	OPT_LOG_LEVEL,
	OPT_STATS,
	OPT_STATS_FILE,
	OPT_TIMEOUT,
	OPT_EXPECT,
	OPT_FAIL_ON,
	OPT_EXPECT_EXIT,
	OPT_CONSOLE_LOG,
	OPT_XEN,
	OPT_XEN_VERSION,
	OPT_SECCOMP,
	OPT_USER,
	OPT_DISK,
	OPT_RNG,
	OPT_BALLOON,
	OPT_VIRTIO_CONSOLE,
};

static const struct option run_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "kernel", required_argument, NULL, 'k' },
	{ "initrd", required_argument, NULL, 'i' },
	{ "cmdline", required_argument, NULL, 'a' },
	{ "boot-protocol", required_argument, NULL, OPT_BOOT_PROTOCOL },
	{ "cpus", required_argument, NULL, 'p' },
	{ "memory", required_argument, NULL, 'm' },
	{ "memory-backing", required_argument, NULL, OPT_MEMORY_BACKING },
	{ "memory-hugepages", required_argument, NULL, OPT_MEMORY_HUGEPAGES },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "stats", optional_argument, NULL, OPT_STATS },
	{ "stats-file", required_argument, NULL, OPT_STATS_FILE },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "expect", required_argument, NULL, OPT_EXPECT },
	{ "fail-on", required_argument, NULL, OPT_FAIL_ON },
	{ "expect-exit", no_argument, NULL, OPT_EXPECT_EXIT },
	{ "console-log", required_argument, NULL, OPT_CONSOLE_LOG },
	{ "xen", no_argument, NULL, OPT_XEN },
	{ "xen-version", required_argument, NULL, OPT_XEN_VERSION },
	{ "seccomp", required_argument, NULL, OPT_SECCOMP },
	{ "user", required_argument, NULL, OPT_USER },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "rng", no_argument, NULL, OPT_RNG },
	{ "balloon", optional_argument, NULL, OPT_BALLOON },
	{ "virtio-console", required_argument, NULL, OPT_VIRTIO_CONSOLE },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* Each option maps onto the config key it overrides. */
static const struct {
	int opt;
	const char *section, *key;
} option_keys[] = {
	{ 'k', "boot", "kernel" },
	{ 'i', "boot", "initrd" },
	{ 'a', "boot", "cmdline" },
	{ OPT_BOOT_PROTOCOL, "boot", "protocol" },
	{ 'p', "machine", "cpus" },
	{ 'm', "memory", "size" },
	{ OPT_MEMORY_BACKING, "memory", "backing" },
	{ OPT_MEMORY_HUGEPAGES, "memory", "hugepages" },
	{ OPT_LOG_LEVEL, "machine", "log-level" },
	{ OPT_STATS, "machine", "stats" },
	{ OPT_STATS_FILE, "machine", "stats-file" },
	{ OPT_TIMEOUT, "test", "timeout" },
	{ OPT_EXPECT, "test", "expect" },
	{ OPT_FAIL_ON, "test", "fail-on" },
	{ OPT_EXPECT_EXIT, "test", "expect-exit" },
	{ OPT_CONSOLE_LOG, "test", "console-log" },
	{ OPT_XEN, "xen", "enabled" },
	{ OPT_XEN_VERSION, "xen", "version" },
	{ OPT_SECCOMP, "machine", "seccomp" },
	{ OPT_USER, "machine", "user" },
	{ OPT_RNG, "devices", "rng" },
	{ OPT_BALLOON, "devices", "balloon" },
	{ OPT_VIRTIO_CONSOLE, "devices", "virtio-console" },
};

static const char *option_name(int opt)
{
	for (size_t i = 0; run_options[i].name; i++) {
		if (run_options[i].val == opt)
			return run_options[i].name;
	}
	return "?";
}

static int parse_run_args(int argc, char **argv, struct vm_config *cfg)
{
	const char *short_opts = "+c:k:i:a:p:m:h";

	argv[0] = "minivmm run"; /* how getopt names us in its messages */
	char err[512];
	int opt;

	/* pass 1: the config file, so that every other option overrides it */
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, short_opts, run_options, NULL)) != -1) {
		if (opt == 'h') {
			usage_run(stdout);
			exit(0);
		}
		if (opt == 'c' && config_load_file(cfg, optarg))
			return -1;
	}

	opterr = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, short_opts, run_options, NULL)) != -1) {
		bool handled = false;

		switch (opt) {
		case 'c':
			continue;
		case OPT_STATS:
			optarg = optarg ? optarg : "text";
			break;
		case OPT_EXPECT_EXIT:
		case OPT_XEN:
		case OPT_RNG:
			optarg = "true";
			break;
		case OPT_BALLOON:
			if (optarg && config_set(cfg, "devices", "balloon-target", optarg, NULL,
						 err, sizeof(err))) {
				fprintf(stderr, "minivmm: --balloon: %s\n", err);
				return -1;
			}
			optarg = "true";
			break;
		case OPT_DISK:
			if (config_add_disk(cfg, optarg, err, sizeof(err))) {
				fprintf(stderr, "minivmm: --disk: %s\n", err);
				return -1;
			}
			continue;
		case '?':
			fprintf(stderr, "minivmm: try 'minivmm run --help'\n");
			return -1;
		}
		for (size_t i = 0; i < sizeof(option_keys) / sizeof(option_keys[0]); i++) {
			if (option_keys[i].opt != opt)
				continue;
			handled = true;
			if (config_set(cfg, option_keys[i].section, option_keys[i].key, optarg,
				       NULL, err, sizeof(err))) {
				fprintf(stderr, "minivmm: --%s: %s\n", option_name(opt), err);
				return -1;
			}
		}
		if (!handled)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "minivmm: unexpected argument '%s' (try 'minivmm run --help')\n",
			argv[optind]);
		return -1;
	}
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	struct vm_config cfg;
	struct vm vm;
	int ret;

	sandbox_close_inherited_fds(); /* before minivmm opens anything */
	config_defaults(&cfg);
	if (parse_run_args(argc, argv, &cfg))
		return VM_EXIT_USAGE;
	log_level = cfg.log_level;
	sandbox_set_mode(cfg.seccomp); /* both before any thread starts */
	if (cfg.user[0] && sandbox_set_user(cfg.user))
		return VM_EXIT_USAGE;

	ret = vm_create(&vm, &cfg);
	if (ret == 0 && sandbox_drop_privileges()) /* --user: everything is open */
		ret = -VM_EXIT_FAILURE;
	if (ret == 0) {
		ret = vm_run(&vm);
		vm_print_stats(&vm, ret);
	} else {
		ret = ret == -VM_EXIT_USAGE ? VM_EXIT_USAGE : VM_EXIT_FAILURE;
	}
	vm_destroy(&vm);
	return ret;
}

static int cmd_caps(void)
{
	struct kvm_sys sys;

	if (kvm_sys_open(&sys))
		return VM_EXIT_FAILURE;
	kvm_caps_print(&sys, stdout);
	kvm_sys_close(&sys);
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		usage_main(stderr);
		return VM_EXIT_USAGE;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage_main(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("minivmm %s\n", MINIVMM_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "test"))
		return suite_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "caps"))
		return cmd_caps();
	fprintf(stderr, "minivmm: unknown command '%s' (try 'minivmm --help')\n", cmd);
	return VM_EXIT_USAGE;
}
