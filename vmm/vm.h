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

	/* pause-all (vm_pause_all): what a pauser waits for, under lock */
	struct mutex lock;   /* LOCK_RANK_VCPU */
	pthread_cond_t cond; /* parked, outside or exited changed, or a pause ended */
	bool parked;	     /* waiting at the top of its run loop */
	int outside;	     /* in a VMM wait that touches no guest state (vcpu_outside_begin) */
	bool exited;	     /* its thread left the run loop for good, or never started */
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
struct vm_request;

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

	struct mutex config_lock; /* vCPU set, pause-all, layout changes (LOCK_RANK_VM_CONFIG) */
	_Atomic bool pause_requested; /* vCPUs park at the top of their run loop while set */
	uint64_t pauses;	      /* under config_lock */
	uint64_t remaps;	      /* under config_lock */

	/* requests served by the main thread for vCPU threads (vm_call_main) */
	struct mutex request_lock; /* LOCK_RANK_VM_REQUEST */
	pthread_cond_t request_cond;
	struct vm_request *requests; /* FIFO head */
	bool requests_closed;	     /* the main loop ended: new requests fail */
	int request_eventfd;	     /* wakes the main loop */
	pthread_t main_thread;
	bool main_running;
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

/*
 * Pause-all. vm_pause_all() returns once no vCPU can run guest code or touch guest memory:
 * each is parked at the top of its run loop, or "outside" (blocked in a VMM wait that touches
 * no guest state: a vCPU waiting for the main thread, or the pausing vCPU itself), or its
 * thread has ended. A vCPU in KVM_RUN (even halted in the kernel), in Xen SCHEDOP_block/poll
 * (they return on a kick) or in an exit handler is kicked and parks when its handler returns.
 * The pauser holds vm->config_lock until vm_resume_all(); pausers are serialised by it.
 *
 * Order, which is what makes it deadlock-free (lock.h): pause first, then invalidate. The
 * pauser takes config_lock holding nothing else (it has the lowest rank) and, while it waits
 * for vCPUs, holds no invalidation: a vCPU waiting in gpc_refresh() for an invalidation
 * therefore always sees it end (the invalidator never waits for vCPUs), returns from its
 * exit handler and parks. The layout change then runs its invalidation with every vCPU
 * parked, and resumes them only after it ended. Callable from the main thread or a vCPU
 * thread (which then counts as parked), never from inside an exit handler holding a lock.
 */
void vm_pause_all(struct vm *vm);
void vm_resume_all(struct vm *vm);

/*
 * Remove the RAM region that is exactly [gpa, gpa+len) and add it back empty (memory reads
 * zero afterwards), with every vCPU paused: guest_mem_remap_region. -EINVAL for an unaligned
 * or empty range, -ENOENT when no region is exactly that range, -EBUSY for the region holding
 * the boot structures, the kernel or the initrd (the guest's own code and page tables).
 * Runs on the calling thread: the main loop serves it for vCPUs (vm_call_main).
 */
int vm_remap_region(struct vm *vm, uint64_t gpa, uint64_t len);

enum vm_request_op {
	VM_REQ_REMAP_REGION = 1, /* vm_remap_region(gpa, len) */
};

/*
 * Have the main thread run a request and wait for its result, "outside" (a pause-all does
 * not wait for the caller). From a vCPU thread holding no lock; on the main thread itself, or
 * with no main loop (unit tests, fuzzers), it runs directly. -ESHUTDOWN once the main loop
 * has ended.
 */
int vm_call_main(struct vm *vm, enum vm_request_op op, uint64_t gpa, uint64_t len);
/* The main loop, when request_eventfd fires (and unit tests): serve every queued request. */
void vm_serve_requests(struct vm *vm);
/* The main loop ended: fail queued and future requests with -ESHUTDOWN. */
void vm_close_requests(struct vm *vm);
int vm_requests_init(struct vm *vm);
void vm_requests_destroy(struct vm *vm);

/* vcpu.c */
int vcpu_init(struct vm *vm, struct vcpu *vcpu, int id);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
/* The vCPU this thread runs, NULL off vCPU threads; vcpu_set_current() for test threads. */
struct vcpu *vcpu_current(void);
void vcpu_set_current(struct vcpu *vcpu);
/* Pause-all state of one vCPU, without KVM (vcpu_init does it; unit tests call it). */
void vcpu_pause_init(struct vcpu *vcpu);
void vcpu_pause_destroy(struct vcpu *vcpu);
/* The top of the run loop: park while a pause is requested. Holds no lock. */
void vcpu_pause_point(struct vcpu *vcpu);
/*
 * Bracket a wait that touches no guest memory, cache or vCPU state (waiting for the main
 * thread): a pauser counts the vCPU as parked meanwhile. Holding no lock and no invalidation;
 * vcpu_outside_end() does not return while a pause is in effect.
 */
void vcpu_outside_begin(struct vcpu *vcpu);
void vcpu_outside_end(struct vcpu *vcpu);
/* The vCPU's thread ended (or will never start): pausers stop waiting for it. */
void vcpu_set_exited(struct vcpu *vcpu);
const char *kvm_exit_reason_name(unsigned int reason);
void vcpu_signals_init(void);

#endif
