/* SPDX-License-Identifier: MIT */
/*
 * Xen HVM guest support for guest-kernel-tests (written from Xen's public headers, on
 * purpose independent of the VMM's arch/x86/xen/xen_abi.h): CPUID detection, the hypercall
 * page, shared_info and vcpu_info, a 2-level upcall handler on a per-vCPU vector, the
 * vcpu_time_info clock, and the test device's discard request.
 *
 * Usage: xen_setup() on the BSP (detects Xen, installs the hypercall page, maps shared_info,
 * installs the upcall vector gate), then on each CPU xen_cpu_setup() (upcall vector,
 * optionally its own vcpu_info). Bind ports with xen_bind_*(), give them a handler with
 * xen_port_handler(); handlers run in interrupt context with interrupts disabled.
 */
#ifndef RT_XEN_H
#define RT_XEN_H

#include "rt.h"

/* ---- ABI ---- */
#define XEN_CPUID_BASE 0x40000000u
#define XEN_UPCALL_VECTOR 0xf3
#define DOMID_SELF 0x7ff0u
#define XEN_NR_PORTS 4096

#define HC_set_timer_op 15
#define HC_memory_op 12
#define HC_xen_version 17
#define HC_vcpu_op 24
#define HC_sched_op 29
#define HC_event_channel_op 32
#define HC_hvm_op 34

#define XEN_EPERM 1
#define XEN_ENOENT 2
#define XEN_ESRCH 3
#define XEN_EFAULT 14
#define XEN_EEXIST 17
#define XEN_EINVAL 22
#define XEN_ENOSYS 38
#define XEN_ETIME 62

#define XENVER_version 0
#define XENVER_extraversion 1
#define XENVER_get_features 6
#define XENFEAT_hvm_callback_vector 8

#define XENMEM_decrease_reservation 1
#define XENMEM_populate_physmap 6
#define XENMEM_add_to_physmap 7

#define HVMOP_set_param 0
#define HVMOP_get_param 1
#define HVMOP_set_evtchn_upcall_vector 23

#define VCPUOP_is_up 3
#define VCPUOP_set_singleshot_timer 8
#define VCPUOP_stop_singleshot_timer 9
#define VCPUOP_register_vcpu_info 10

#define SCHEDOP_yield 0
#define SCHEDOP_block 1
#define SCHEDOP_shutdown 2
#define SCHEDOP_poll 3

#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq 1
#define EVTCHNOP_close 3
#define EVTCHNOP_send 4
#define EVTCHNOP_status 5
#define EVTCHNOP_alloc_unbound 6
#define EVTCHNOP_bind_ipi 7
#define EVTCHNOP_bind_vcpu 8
#define EVTCHNOP_unmask 9
#define EVTCHNOP_reset 10
#define EVTCHNOP_init_control 11
#define VIRQ_TIMER 0

struct xen_vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad1[2];
};

struct xen_vcpu_info {
	uint8_t evtchn_upcall_pending;
	uint8_t evtchn_upcall_mask;
	uint8_t pad[6];
	uint64_t evtchn_pending_sel;
	uint64_t cr2, pad2;
	struct xen_vcpu_time_info time;
};

struct xen_shared_info {
	struct xen_vcpu_info vcpu_info[32];
	uint64_t evtchn_pending[64];
	uint64_t evtchn_mask[64];
	uint32_t wc_version, wc_sec, wc_nsec, wc_sec_hi;
	uint8_t rest[4096 - 0xc10];
};

_Static_assert(sizeof(struct xen_vcpu_info) == 64, "vcpu_info");
_Static_assert(__builtin_offsetof(struct xen_shared_info, evtchn_pending) == 0x800, "shinfo");
_Static_assert(__builtin_offsetof(struct xen_shared_info, evtchn_mask) == 0xa00, "shinfo");
_Static_assert(__builtin_offsetof(struct xen_shared_info, wc_version) == 0xc00, "shinfo");

/* ---- hypercalls ---- */
extern uint8_t xen_hypercall_page[4096];

static inline long xen_hcall(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t r10 __asm__("r10") = 0;
	register uint64_t r8 __asm__("r8") = 0;
	long ret;

	__asm__ volatile("call *%[entry]"
			 : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
			 : [entry] "r"(xen_hypercall_page + nr * 32)
			 : "memory", "rcx", "r9", "r11");
	return ret;
}

static inline long xen_op(unsigned nr, unsigned cmd, void *arg)
{
	return xen_hcall(nr, cmd, (uint64_t)(uintptr_t)arg, 0);
}

static inline long xen_evtchn_op(unsigned cmd, void *arg)
{
	return xen_op(HC_event_channel_op, cmd, arg);
}

/* ---- CPU helpers ---- */
static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
/* Sleep until an interrupt was handled (sti; hlt has no window); interrupts off again. */
static inline void wait_for_interrupt(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }

/* ---- state ---- */
extern volatile struct xen_shared_info *xen_shared;
extern volatile struct xen_vcpu_info *xen_vcpu[RT_MAX_CPUS];
typedef void (*xen_port_fn)(uint32_t port, void *arg);

/* Detect Xen, install the hypercall page, map shared_info, install the upcall gate.
 * Prints and returns false on failure. */
bool xen_setup(void);
/* On the calling CPU: HVMOP_set_evtchn_upcall_vector; its vcpu_info is the shared_info slot
 * unless xen_register_vcpu_info() moved it. */
bool xen_cpu_setup(unsigned cpu);
long xen_register_vcpu_info(unsigned cpu, volatile struct xen_vcpu_info *vi);
long xen_map_shared_info(volatile struct xen_shared_info *page);

/* Port helpers: negative Xen errno or the port. */
long xen_bind_ipi(unsigned cpu);
long xen_bind_virq(unsigned virq, unsigned cpu);
long xen_send(uint32_t port);
long xen_close(uint32_t port);
long xen_unmask(uint32_t port);
/* The handler runs on the CPU the port notifies (set cpu to that CPU); up to 32 ports. */
void xen_port_handler(uint32_t port, unsigned cpu, xen_port_fn fn, void *arg);
void xen_mask(uint32_t port);
bool xen_pending(uint32_t port);
void xen_clear(uint32_t port);

/*
 * True when the hypercall stubs are vmcall/vmmcall (the VMM uses KVM's in-kernel intercept,
 * KVM_EXIT_XEN) rather than port I/O. KVM itself then serves SCHEDOP_yield, and SCHEDOP_poll
 * as a yield (it returns at once: a legal spurious wake-up), so poll semantics cannot be
 * checked there.
 */
bool xen_kvm_transport(void);

/* Xen system time in ns from this CPU's vcpu_time_info and the TSC. */
uint64_t xen_time_ns(void);
/* TSC ticks to ns, with the same scale. */
uint64_t xen_tsc_to_ns(uint64_t ticks);
long xen_set_timer(uint64_t deadline_ns);

/* The upcall handler's statistics (stray: pending, unmasked, but no handler on this CPU) */
extern volatile uint64_t xen_upcalls[RT_MAX_CPUS];
extern volatile uint64_t xen_stray_events;

/* The test device (devices/testdev.c): discard [gpa, gpa+len) from the host side. */
int32_t testdev_discard(uint64_t gpa, uint64_t len);

/* Compare and report: prints "name: FAIL ..." and sets *ok = false on mismatch. */
#define XEN_EXPECT(ok, expr, want)                                                          \
	do {                                                                                \
		long got_ = (long)(expr), want_ = (long)(want);                             \
		if (got_ != want_) {                                                        \
			printf("FAIL %s:%d: %s = %ld, expected %ld\n", __FILE__, __LINE__, #expr, \
			       got_, want_);                                                \
			*(ok) = false;                                                      \
		}                                                                           \
	} while (0)

#endif
