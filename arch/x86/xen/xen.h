/* SPDX-License-Identifier: MIT */
/*
 * Xen HVM emulation: one hypercall dispatcher for both transports, 2-level event channels,
 * shared_info and vcpu_info reached through guest-physical caches (vmm/gpc.h).
 *
 * Two layers:
 *  - the core (xen.c, evtchn.c, xen_sched.c, xen_cpuid.c) knows guest memory, caches and
 *    locks but no KVM: what it needs from the VMM (translating a guest-virtual address on the
 *    calling vCPU, raising an interrupt vector on a vCPU, stopping the VM) comes through
 *    struct xen_ops. The unit and stress tests drive it with threads as vCPUs.
 *  - the glue (xen_kvm.c) binds it to a struct vm: picks the transport, installs the MSR
 *    filter or KVM_XEN_HVM_CONFIG, decodes KVM_EXIT_XEN / port-I/O hypercalls from registers,
 *    sets up CPUID, prints stats.
 *
 * Threads and locks (DESIGN.md "Locks and their order"): every hypercall runs on the calling
 * vCPU's thread. Xen state (port table, bindings, shared_info/vcpu_info locations, upcall
 * settings, timers) is under xen->lock (LOCK_RANK_XEN), taken by hypercalls, by the timer
 * thread and by nothing else. Under it the code may enter the shared_info cache and a
 * vcpu_info cache, one after the other (never nested: both are LOCK_RANK_CACHE), and may
 * refresh them; it never waits for a vCPU, never discards memory and never blocks. Guest
 * bits (pending, mask, selector, upcall_pending) are changed with atomic operations only, in
 * the 2-level order. Interrupts are raised and sleepers woken after xen->lock is dropped.
 * Blocking (SCHEDOP_block / SCHEDOP_poll) happens on the vCPU's own thread with no lock
 * held, on a futex word that senders, timers and xen_stop() bump.
 */
#ifndef MINIVMM_XEN_H
#define MINIVMM_XEN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "xen_abi.h"

struct guest_mem;
struct xen;
struct kvm_cpuid2;

#define XEN_VERSION(major, minor) ((uint32_t)(major) << 16 | (uint32_t)(minor))
#define XEN_DEFAULT_VERSION XEN_VERSION(4, 17)
#define XEN_DOMID 1 /* our own domain id; DOMID_SELF means it too */

/* How many hypercall numbers and event channel ops the stats count one by one (policy, not
 * ABI: higher ones count only in the totals) */
#define XEN_NR_HYPERCALLS 64
#define EVTCHNOP_COUNT (EVTCHNOP_set_priority + 1)

/* What the core needs from the VMM. All callbacks may run on any vCPU thread or the timer
 * thread, never with xen->lock held; translate and read_tsc only on the named vCPU's thread. */
struct xen_ops {
	/* guest-virtual -> guest-physical on the calling vCPU; 0 or -1 (not mapped) */
	int (*translate)(void *opaque, unsigned int vcpu, uint64_t gva, uint64_t *gpa);
	/* raise a fixed interrupt with `vector` on vCPU `vcpu` (its local APIC) */
	void (*raise_vector)(void *opaque, unsigned int vcpu, uint8_t vector);
	/* SCHEDOP_shutdown: stop the VM (reason is SHUTDOWN_*) */
	void (*shutdown)(void *opaque, unsigned int vcpu, unsigned int reason);
	/* optional: the calling vCPU's TSC now and its frequency, for vcpu_time_info */
	int (*read_tsc)(void *opaque, unsigned int vcpu, uint64_t *tsc, uint32_t *khz);
	/*
	 * optional: vCPU `vcpu` has the global callback vector pending; make its own thread
	 * call xen_callback_due() soon (a kick). Without it the vector goes to the local APIC
	 * like a per-vCPU one (which then needs an EOI the guest never sends).
	 */
	void (*raise_callback)(void *opaque, unsigned int vcpu);
	/* optional: true when somebody wants this vCPU out of a blocking hypercall (a kick) */
	bool (*interrupted)(void *opaque, unsigned int vcpu);
};

struct xen_config {
	unsigned int nr_vcpus;
	uint32_t version;  /* XEN_VERSION(major, minor) */
	bool timer_thread; /* run the single-shot timers (tests may drive xen_timers_run) */
};

/* ---- core ------------------------------------------------------------------------------ */
struct xen *xen_new(struct guest_mem *mem, const struct xen_config *cfg, const struct xen_ops *ops,
		    void *opaque, _Atomic bool *vm_stopping);
void xen_free(struct xen *xen);
/* Wake every blocked vCPU and the timer thread; blocking hypercalls return from now on. */
void xen_stop(struct xen *xen);

/*
 * One hypercall from vCPU `vcpu`: nr and the five argument registers (RDI, RSI, RDX, R10, R8).
 * Returns what goes to RAX: >= 0, or a negative Xen errno.
 */
int64_t xen_hypercall(struct xen *xen, unsigned int vcpu, uint64_t nr, const uint64_t args[5]);

/*
 * The hypercall-page MSR was written with `value` (gpa | page index) by vCPU `vcpu`: fill the
 * page with 32-byte stubs `mov $nr,%eax; out %eax,$port; ret`. 0, or -1 for #GP.
 */
int xen_write_hypercall_page(struct xen *xen, unsigned int vcpu, uint64_t value, uint16_t port);

/*
 * The glue's raise_vector found vCPU `vcpu`'s local APIC refusing the upcall (KVM drops fixed
 * interrupts to a software-disabled APIC, where Xen's vLAPIC keeps them in the IRR). Linux
 * sets its per-vCPU upcall vectors before it enables the local APICs, and a 2-level upcall is
 * only raised when evtchn_upcall_pending goes 0 -> 1: a lost one would silence the vCPU for
 * good. The core raises it again at the vCPU's next hypercall or next event. Any thread.
 */
void xen_upcall_dropped(struct xen *xen, unsigned int vcpu);

/*
 * The global callback vector (HVM_PARAM_CALLBACK_IRQ of type vector). Xen injects it without
 * the local APIC, so the guest never EOIs it (Linux's handler does not), and it is level
 * triggered: due whenever the vCPU's evtchn_upcall_pending is set and it can take an
 * interrupt. Raised through the APIC, its ISR bit would stay set and block every later upcall.
 * So a sender only kicks the target (ops->raise_callback), and the target's own thread, out
 * of KVM_RUN, asks xen_callback_due() before each entry and injects the vector itself when
 * the guest has interrupts enabled; when it has not, xen_callback_retry() has the timer
 * thread kick it again shortly (KVM reports no interrupt window to a VMM with an in-kernel
 * irqchip). Only the vCPU's thread calls these three, holding no lock.
 */
/* The vector to inject into vCPU `vcpu` now, 0: none (per-vCPU vector, or nothing pending). */
uint8_t xen_callback_due(struct xen *xen, unsigned int vcpu);
void xen_callback_injected(struct xen *xen, unsigned int vcpu);
/*
 * Due, but the vCPU cannot take it yet (interrupts off): kick it again in
 * XEN_CALLBACK_RETRY_NS, doubling up to XEN_CALLBACK_RETRY_MAX_NS while it stays so (a guest
 * spinning with interrupts off costs an exit per retry), back to the first after an injection.
 * Returns the delay chosen (0: no such vCPU).
 */
uint64_t xen_callback_retry(struct xen *xen, unsigned int vcpu);
#define XEN_CALLBACK_RETRY_NS (200 * 1000ull)
#define XEN_CALLBACK_RETRY_MAX_NS (10 * 1000 * 1000ull)

/* Xen system time: nanoseconds since the VM was created (the guest's vcpu_time_info clock). */
uint64_t xen_system_time(const struct xen *xen);
/* Fire the single-shot timers due by now; returns the next deadline (0: none). */
uint64_t xen_timers_run(struct xen *xen);

/*
 * CPUID: add the Xen leaves at 0x40000000 for vCPU `vcpu` to a table about to be given to
 * KVM_SET_CPUID2 (room for `max_entries`). KVM's own leaves are dropped, or moved to
 * 0x40000100 when keep_kvm_leaves (Linux then prefers KVM: its detection takes the highest
 * base). Returns 0 or -1 (no room).
 */
int xen_cpuid_fixup(struct kvm_cpuid2 *cpuid, uint32_t max_entries, unsigned int vcpu,
		    uint32_t version, bool keep_kvm_leaves, bool percpu_upcalls);

struct xen_vcpu_stats {
	uint64_t hypercalls;
	uint64_t by_nr[XEN_NR_HYPERCALLS];
	uint64_t evtchn_ops[EVTCHNOP_COUNT];
	uint64_t unsupported;
	uint64_t blocked_ns;	     /* time spent in block/poll */
	uint64_t upcalls;	     /* upcalls raised on this vCPU (any thread) */
	uint64_t timers;	     /* single-shot timers fired for it (the timer thread) */
	uint64_t upcalls_reraised;   /* upcalls its APIC refused, raised again */
	uint64_t callbacks_injected; /* global callback vectors injected by its own thread */
};
/* Counters of vCPU `vcpu`; read them when its thread is quiet. */
void xen_get_vcpu_stats(struct xen *xen, unsigned int vcpu, struct xen_vcpu_stats *out);
struct xen_event_stats {
	uint64_t delivered, coalesced, masked, undeliverable;
	uint64_t timer_moves; /* set timers that moved the timer thread's expiry earlier */
};
void xen_get_event_stats(struct xen *xen, struct xen_event_stats *out);
void xen_print_stats_core(struct xen *xen, FILE *out);
/* The same as one JSON object (for minivmm --stats=json). */
void xen_print_stats_json(struct xen *xen, FILE *out);

/* ---- glue (xen_kvm.c): minivmm's struct vm / struct vcpu -------------------------------- */
struct vm;
struct vcpu;

struct xen_vm_config {
	uint32_t version;
	bool keep_kvm_leaves;
	bool percpu_upcalls; /* XEN_HVM_CPUID_UPCALL_VECTOR in CPUID leaf 4 */
	enum {
		XEN_TRANSPORT_AUTO,
		XEN_TRANSPORT_KVM,
		XEN_TRANSPORT_PIO
	} transport;
};

/* After guest memory and the I/O buses exist, before vCPUs: NULL on failure (printed). */
struct xen *xen_create(struct vm *vm, const struct xen_vm_config *cfg);
/* In vcpu_init, after the base CPUID is set: Xen CPUID leaves, sync regs. */
int xen_vcpu_init(struct xen *xen, struct vcpu *vcpu);
/* kvm_cpuid_fixup_t adding the Xen leaves for vCPU arg (a struct vcpu *). */
int xen_vcpu_cpuid_fixup(struct kvm_cpuid2 *cpuid, uint32_t max_entries, void *arg);
/* Before each entry, on the vCPU's thread: inject the global callback vector if due. */
void xen_vcpu_deliver_callback(struct xen *xen, struct vcpu *vcpu);
/* KVM_EXIT_XEN, KVM_EXIT_X86_WRMSR, KVM_EXIT_X86_RDMSR: true when handled. */
bool xen_handle_exit(struct xen *xen, struct vcpu *vcpu);
void xen_print_stats(struct xen *xen, FILE *out);
void xen_destroy(struct xen *xen);

#endif
