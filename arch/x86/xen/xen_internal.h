/* SPDX-License-Identifier: MIT */
/* State shared by the Xen core's files; see xen.h for the threading and locking rules. */
#ifndef MINIVMM_XEN_INTERNAL_H
#define MINIVMM_XEN_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../../../vmm/gpc.h"
#include "../../../vmm/lock.h"
#include "xen.h"

#define XEN_INVALID_GPA UINT64_MAX
#define XEN_NR_PORTS XEN_2L_NR_PORTS

enum xen_port_state {
	ECS_FREE = EVTCHNSTAT_closed,
	ECS_UNBOUND = EVTCHNSTAT_unbound,
	ECS_INTERDOMAIN = EVTCHNSTAT_interdomain,
	ECS_VIRQ = EVTCHNSTAT_virq,
	ECS_IPI = EVTCHNSTAT_ipi,
};

struct xen_port { /* under xen->lock */
	uint8_t state;
	uint8_t virq;
	uint16_t remote_dom;  /* ECS_UNBOUND: who may bind it */
	uint32_t vcpu;	      /* the vCPU notified */
	uint32_t remote_port; /* ECS_INTERDOMAIN: the other end (loopback) */
};

struct xen_vcpu {
	struct xen *xen;
	unsigned int id;

	/* under xen->lock */
	uint64_t vcpu_info_gpa; /* registered location, or XEN_INVALID_GPA: the shared_info slot */
	uint8_t upcall_vector;	/* HVMOP_set_evtchn_upcall_vector, 0: none */
	bool timer_armed;
	uint64_t timer_deadline; /* single-shot timer, Xen system time */
	uint32_t virq_port[XEN_NR_VIRQS];
	struct gpc vcpu_info_cache; /* wherever this vCPU's vcpu_info currently is */

	/* sleeping: the futex word and who wants to be woken */
	_Atomic uint32_t wake_seq;
	_Atomic bool blocked; /* in SCHEDOP_block or SCHEDOP_poll */
	_Atomic bool polling; /* in SCHEDOP_poll: woken by any newly pending port */

	/* written by this vCPU's thread only, except upcalls (atomic) */
	struct xen_vcpu_stats stats;
	_Atomic uint64_t upcalls;
	_Atomic uint64_t timer_fires;
	_Atomic bool upcall_owed;	   /* an upcall was refused by its APIC: raise it again */
	_Atomic uint64_t upcalls_reraised; /* ... and how often that was done */
	/* the global callback could not be injected (interrupts off): Xen system time at
	 * which the timer thread kicks this vCPU to try again, 0: none */
	_Atomic uint64_t callback_retry_at;
	uint64_t callback_retry_ns; /* the vCPU's own thread: the last retry's delay, 0: none */
	_Atomic uint64_t callbacks_injected;
	struct xen_unsupported {
		uint64_t key; /* nr << 32 | sub-op */
		uint64_t count;
	} unsupported[8];
};

/* What to do once xen->lock is dropped. */
struct xen_notify {
	int vcpu;	   /* raise an upcall on this vCPU, -1: none */
	uint8_t vector;	   /* with this vector, 0: none (still wake a sleeper) */
	bool callback;	   /* the vector is the global callback: the target's thread injects */
	bool wake_pollers; /* a port became pending: wake vCPUs in SCHEDOP_poll */
};

struct xen {
	struct guest_mem *mem;
	const struct xen_ops *ops;
	void *opaque;
	_Atomic bool *vm_stopping;
	_Atomic bool stopping;
	unsigned int nr_vcpus;
	uint32_t version;
	uint64_t boot_ns; /* CLOCK_MONOTONIC at creation: Xen system time 0 */

	struct mutex lock;   /* LOCK_RANK_XEN: everything below marked "locked" */
	uint64_t shinfo_gpa; /* locked; XEN_INVALID_GPA until add_to_physmap */
	struct gpc shinfo_cache;
	uint64_t hvm_params[HVM_NR_PARAMS];  /* locked */
	struct xen_port ports[XEN_NR_PORTS]; /* locked; port 0 is never used */
	bool gsi_callback_warned;	     /* locked */
	bool percpu_vectors;		     /* locked: a vCPU set its own upcall vector */
	/* HVM_PARAM_CALLBACK_IRQ's vector when its type is vector, else 0; written locked,
	 * read without the lock by vCPU threads before each entry (xen_callback_due) */
	_Atomic uint8_t callback_vector;

	/* pvclock reference: one (guest TSC, system time) pair; TSCs of one VM are in sync */
	_Atomic bool time_ref_valid;
	struct {
		uint64_t tsc;
		uint64_t system_ns;
		uint32_t mul;
		int8_t shift;
	} time_ref; /* written once before time_ref_valid */

	/* single-shot timers */
	pthread_t timer_thread;
	bool timer_started;
	int timer_fd; /* the timer thread sleeps in read() on it; -1: no thread */
	/*
	 * locked: the timer thread looks at the timers again by this Xen system time at the
	 * latest (its earliest deadline); UINT64_MAX while it has none or has not looked yet.
	 * A deadline set no earlier leaves timer_fd alone.
	 */
	uint64_t timer_wake_at;
	_Atomic uint64_t timer_moves; /* timer_fd moved earlier by a set timer */
	uint8_t *timer_fire;	      /* scratch of xen_timers_run: xen_sched.c FIRE_* per vCPU */

	/* the glue's (xen_kvm.c) */
	int transport;
	bool keep_kvm_leaves;
	bool percpu_upcalls;
	bool sync_regs;
	uint32_t tsc_khz;

	_Atomic uint64_t events_sent, events_coalesced, events_masked, events_lost;

	struct xen_vcpu *vcpus;
};

/* xen.c */
void xen_notify_init(struct xen_notify *n);
/* v owes an upcall (xen_upcall_dropped) and its vcpu_info still has one pending: raise it. */
void xen_upcall_retry_locked(struct xen *xen, struct xen_vcpu *v, struct xen_notify *n);
void xen_notify_apply(struct xen *xen, const struct xen_notify *n);
int xen_copy_from_guest(struct xen_vcpu *v, void *dst, uint64_t gva, size_t len);
int xen_copy_to_guest(struct xen_vcpu *v, uint64_t gva, const void *src, size_t len);
/* The vcpu_info location of v: registered, or its shared_info slot, or XEN_INVALID_GPA. */
uint64_t xen_vcpu_info_gpa_locked(struct xen *xen, struct xen_vcpu *v);
/* Enter v's vcpu_info through its cache; NULL when it has none or it cannot be mapped. */
struct vcpu_info *xen_vcpu_info_begin_locked(struct xen *xen, struct xen_vcpu *v);
void xen_vcpu_info_end(struct xen_vcpu *v);
struct shared_info *xen_shinfo_begin_locked(struct xen *xen);
void xen_shinfo_end(struct xen *xen);
/* An upcall for v: its per-vCPU vector, else the global callback vector, else none. */
void xen_notify_upcall_locked(struct xen *xen, struct xen_vcpu *v, struct xen_notify *n);
void xen_vcpu_wake(struct xen_vcpu *v);
void xen_count_unsupported(struct xen_vcpu *v, uint64_t nr, uint64_t sub);
bool xen_domid_is_self(uint16_t domid);
void xen_write_time_info(struct xen *xen, struct vcpu_info *vi);
uint64_t xen_now_ns(void);

/* evtchn.c */
int64_t xen_evtchn_op(struct xen_vcpu *v, uint64_t cmd, uint64_t arg);
/* The 2-level delivery of `port` to vCPU `target`; collects what to do after unlock. */
void xen_evtchn_set_pending_locked(struct xen *xen, uint32_t port, struct xen_notify *n);
bool xen_evtchn_is_pending_locked(struct xen *xen, uint32_t port);
/* Deliver v's VIRQ if bound (timer thread, tests). */
void xen_send_virq(struct xen *xen, struct xen_vcpu *v, unsigned int virq);

/* xen_sched.c */
int64_t xen_sched_op(struct xen_vcpu *v, uint64_t cmd, uint64_t arg);
int64_t xen_set_timer(struct xen_vcpu *v, uint64_t deadline, bool must_be_future);
int64_t xen_stop_timer(struct xen_vcpu *v);
int xen_timer_thread_start(struct xen *xen);
/* Make the timer thread look now, from any thread, no lock needed (it sees xen->stopping). */
void xen_timer_thread_kick(struct xen *xen);
void xen_timer_thread_stop(struct xen *xen);
void xen_futex_wake(_Atomic uint32_t *word);

#endif
