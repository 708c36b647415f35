/* SPDX-License-Identifier: MIT */
#ifndef MINIVMM_VM_H
#define MINIVMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../arch/x86/boot.h"
#include "config.h"
#include "console.h"
#include "guest_mem.h"
#include "io_bus.h"
#include "kvm.h"
#include "lock.h"

#define VCPU_EXIT_REASONS 64

struct vcpu {
	struct vm *vm;
	int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	_Atomic bool thread_started;	   /* set by the main thread once pthread_create returned */
	uint64_t exits[VCPU_EXIT_REASONS]; /* written by this vCPU's thread only */
	uint64_t pio_exits_unhandled;
	uint64_t map_gpa_requests;
};

/* Exit statuses of `minivmm run` (README "Exit status"). */
enum vm_exit_status {
	VM_EXIT_OK = 0,
	VM_EXIT_FAILURE = 1,
	VM_EXIT_USAGE = 2,
	VM_EXIT_EXPECT = 3,    /* an --expect pattern never matched */
	VM_EXIT_FAIL_ON = 4,   /* a --fail-on pattern matched */
	VM_EXIT_TIMEOUT = 124, /* --timeout expired (as timeout(1)) */
};

struct serial;
struct testdev;
struct xen;
struct virtio_hub;

struct vm {
	const struct vm_config *cfg;
	struct kvm_sys kvm;
	int fd;
	struct guest_mem mem;
	struct boot_info boot;
	struct io_bus pio;
	struct io_bus mmio;
	struct vcpu *vcpus;
	unsigned int nr_vcpus;

	struct mutex config_lock; /* vCPU set and layout changes (LOCK_RANK_VM_CONFIG) */
	_Atomic bool stopping;
	int exit_status; /* set once, by the first vm_request_stop() */
	char stop_reason[160];
	uint64_t stop_ns;
	int stop_eventfd; /* wakes the main loop */

	struct console console;
	bool console_ready;
	struct serial *serial;
	struct testdev *testdev;
	struct xen *xen;	   /* --xen: Xen HVM emulation (arch/x86/xen), else NULL */
	struct virtio_hub *virtio; /* NULL without virtio devices */
	bool mem_ready;
	uint64_t start_ns;
	FILE *stats_out; /* --stats-file, opened by vm_create() */
};

int vm_create(struct vm *vm, const struct vm_config *cfg);
/* Starts the vCPU threads, runs the main loop until the VM stops, joins them. */
int vm_run(struct vm *vm);
void vm_destroy(struct vm *vm);

/* First caller wins: records the exit status and stops every vCPU. Safe from any thread. */
void vm_request_stop(struct vm *vm, int status, const char *why);
/* stats.c: --stats as text or one JSON object, to --stats-file or stderr. */
void vm_print_stats(struct vm *vm, int status);
/* Open --stats-file now, with the other files (the sandbox allows no open later). */
int vm_open_stats(struct vm *vm);
uint64_t vm_now_ns(void);

/* vcpu.c */
int vcpu_init(struct vm *vm, struct vcpu *vcpu, int id);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
const char *kvm_exit_reason_name(unsigned int reason);
void vcpu_signals_init(void);

#endif
