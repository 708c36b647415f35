/* SPDX-License-Identifier: MIT */
#ifndef MINIVMM_CONFIG_H
#define MINIVMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "log.h"
#include "sandbox.h"

#define CONFIG_PATH_MAX 4096
#define CONFIG_MAX_CPUS 256
#define CONFIG_MAX_PATTERNS 16
#define CONFIG_PATTERN_MAX 256
#define CONFIG_MAX_DISKS 6    /* with rng and balloon: the 8 virtio-mmio slots */
#define CONFIG_MAX_VIRTIO 8   /* virtio-mmio slots (devices/virtio/virtio.h) */
#define CONFIG_DISK_ID_MAX 20 /* virtio-blk GET_ID */

enum boot_protocol {
	BOOT_PROTOCOL_AUTO,
	BOOT_PROTOCOL_LINUX64,
	BOOT_PROTOCOL_PVH,
};

/* [devices] virtio-console: where the guest's output on it goes */
enum vcon_sink {
	VCON_SINK_NONE,	  /* no device */
	VCON_SINK_FILE,	  /* vcon_path, appended to (truncated first with ",truncate") */
	VCON_SINK_STDOUT, /* minivmm's stdout (shared with COM1) */
	VCON_SINK_NULL,	  /* the device exists, its output is discarded */
};

enum stats_format {
	STATS_NONE,
	STATS_TEXT,
	STATS_JSON,
};

/* [disk]: one virtio-blk disk on a raw image; `path =` starts the next disk */
struct disk_config {
	char path[CONFIG_PATH_MAX];
	bool readonly;
	char id[CONFIG_DISK_ID_MAX + 1]; /* empty: the file's name */
	unsigned int keys_set;		 /* which of readonly/id were given (duplicates) */
};

struct vm_config {
	char kernel[CONFIG_PATH_MAX];
	char initrd[CONFIG_PATH_MAX];
	char cmdline[4096];
	enum boot_protocol boot_protocol;
	unsigned int cpus;
	uint64_t memory;
	enum mem_backing backing;
	uint64_t hugepage_size;
	enum log_level log_level;

	/* [disk] (repeatable) and [devices] */
	struct disk_config disks[CONFIG_MAX_DISKS];
	int nr_disks;
	bool rng;
	bool balloon;
	uint64_t balloon_target; /* bytes the balloon takes at start */
	enum vcon_sink vcon_sink;
	char vcon_path[CONFIG_PATH_MAX];
	bool vcon_truncate;

	enum stats_format stats;
	char stats_file[CONFIG_PATH_MAX]; /* default: stderr */
	enum sandbox_mode seccomp;	  /* per-thread seccomp filters (default on) */
	char user[256];			  /* drop privileges to it once files are open */

	/* [test]: smoke-test behaviour */
	unsigned int timeout_s; /* 0: none */
	char expect[CONFIG_MAX_PATTERNS][CONFIG_PATTERN_MAX];
	int nr_expect;
	char fail_on[CONFIG_MAX_PATTERNS][CONFIG_PATTERN_MAX];
	int nr_fail_on;
	bool expect_exit;
	char console_log[CONFIG_PATH_MAX];
	int expected_status; /* what `minivmm test` counts as a pass */

	/* [xen]: Xen HVM emulation (arch/x86/xen) */
	bool xen;	      /* [xen] enabled */
	uint32_t xen_version; /* [xen] version, major << 16 | minor */
	bool xen_kvm_leaves;  /* [xen] kvm-leaves: KVM's CPUID leaves at 0x40000100 */
	/* [xen] percpu-upcalls: CPUID offers per-vCPU upcall vectors (default); without them
	 * Linux takes its events on the global callback vector */
	bool xen_percpu_upcalls;
	int xen_transport; /* [xen] transport: 0 auto, 1 kvm, 2 pio (XEN_TRANSPORT_*) */
};

void config_defaults(struct vm_config *cfg);

/* virtio-mmio devices the config asks for; vm.c creates them in slots 0..n-1 in this order:
 * disks, rng, balloon, console (the DSDT describes the same slots) */
static inline unsigned int config_virtio_devices(const struct vm_config *cfg)
{
	return (unsigned int)cfg->nr_disks + cfg->rng + cfg->balloon +
	       (cfg->vcon_sink != VCON_SINK_NONE);
}

/*
 * Parse "64M", "1G", "512K", "1048576B"; a bare number is MiB (as QEMU's -m). Returns 0, or -1
 * with *why set to a reason for the user.
 */
int parse_size(const char *s, uint64_t *out, const char **why);
int parse_uint(const char *s, unsigned int min, unsigned int max, unsigned int *out);
int parse_bool(const char *s, bool *out);
const char *boot_protocol_name(enum boot_protocol p);
int boot_protocol_parse(const char *s, enum boot_protocol *out);

/*
 * Set one option by its config-file name (section, key). Used by the INI loader and by the
 * command line, so both accept exactly the same values. On error returns -1 and writes a
 * message naming the accepted values into err.
 */
int config_set(struct vm_config *cfg, const char *section, const char *key, const char *value,
	       const char *base_dir, char *err, size_t err_len);

/*
 * --disk SPEC: "path=FILE[,readonly][,id=NAME]" or "FILE[,readonly][,id=NAME]"; each item goes
 * through config_set("disk", ...). A path cannot contain a comma.
 */
int config_add_disk(struct vm_config *cfg, const char *spec, char *err, size_t err_len);

/* Load an INI file into cfg. On error prints "file:line: ..." and returns -1. */
int config_load_file(struct vm_config *cfg, const char *path);

/* Checks that need the whole config (and the host): returns -1 after printing why. */
int config_validate(const struct vm_config *cfg, unsigned int max_vcpus);

#endif
