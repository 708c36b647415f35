/* SPDX-License-Identifier: MIT */
/*
 * Xen HVM guest support for guest-kernel-tests: CPUID detection, the hypercall page,
 * shared_info and vcpu_info, a 2-level upcall handler on a per-vCPU vector, the
 * vcpu_time_info clock. The ABI itself (numbers and structs) is arch/x86/xen/xen_abi.h,
 * the header the VMM implements it from, so the two sides cannot drift apart; what the
 * tests hold the VMM to is Xen's behaviour, which that header does not describe.
 *
 * Usage: xen_setup() on the BSP (detects Xen, installs the hypercall page, maps shared_info,
 * installs the upcall vector gate), then on each CPU xen_cpu_setup() (upcall vector,
 * optionally its own vcpu_info). Bind ports with xen_bind_*(), give them a handler with
 * xen_port_handler(); handlers run in interrupt context with interrupts disabled.
 */
#ifndef RT_XEN_H
#define RT_XEN_H

#include "rt.h"
#include "../../arch/x86/xen/xen_abi.h" /* the ABI, shared with the VMM */

/* the vector this runtime asks for with HVMOP_set_evtchn_upcall_vector (its choice, not ABI) */
#define XEN_UPCALL_VECTOR 0xf3

/* ---- hypercalls ---- */
extern uint8_t xen_hypercall_page[XEN_PAGE_SIZE];

/* a hypercall with all five argument registers (RDI, RSI, RDX, R10, R8) */
static inline long xen_hcall5(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			      uint64_t a5)
{
	register uint64_t r10 __asm__("r10") = a4;
	register uint64_t r8 __asm__("r8") = a5;
	long ret;

	__asm__ volatile("call *%[entry]"
			 : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
			 : [entry] "r"(xen_hypercall_page + nr * XEN_HYPERCALL_STUB_SIZE)
			 : "memory", "rcx", "r9", "r11");
	return ret;
}

static inline long xen_hcall(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3)
{
	return xen_hcall5(nr, a1, a2, a3, 0, 0);
}

static inline long xen_op(unsigned nr, unsigned cmd, void *arg)
{
	return xen_hcall(nr, cmd, (uint64_t)(uintptr_t)arg, 0);
}

static inline long xen_evtchn_op(unsigned cmd, void *arg)
{
	return xen_op(__HYPERVISOR_event_channel_op, cmd, arg);
}

/* ---- CPU helpers ---- */
static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 :
			 : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
/* Sleep until an interrupt was handled (sti; hlt has no window); interrupts off again. */
static inline void wait_for_interrupt(void)
{
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}
static inline void irq_enable(void)
{
	__asm__ volatile("sti" ::: "memory");
}
static inline void irq_disable(void)
{
	__asm__ volatile("cli" ::: "memory");
}

/* ---- state ---- */
extern volatile struct shared_info *xen_shared;
extern volatile struct vcpu_info *xen_vcpu[RT_MAX_CPUS];
typedef void (*xen_port_fn)(uint32_t port, void *arg);

/* Detect Xen, install the hypercall page, map shared_info, install the upcall gate.
 * With xen-callback=global on the command line, events arrive on the global callback vector
 * (HVM_PARAM_CALLBACK_IRQ, as guests before Linux 6.0 use it: never EOIed) instead of
 * per-vCPU vectors. Prints and returns false on failure. */
bool xen_setup(void);
extern bool xen_callback_global;
/* With the global callback: upcalls arrived and none was in service in the local APIC
 * (prints the verdict as "test: ..."). True without the global callback. */
bool xen_callback_check(const char *test);
/* On the calling CPU: HVMOP_set_evtchn_upcall_vector (unless the callback is global); its
 * vcpu_info is the shared_info slot unless xen_register_vcpu_info() moved it. */
bool xen_cpu_setup(unsigned cpu);
long xen_register_vcpu_info(unsigned cpu, volatile struct vcpu_info *vi);
long xen_map_shared_info(volatile struct shared_info *page);

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

/* Compare and report: prints "name: FAIL ..." and sets *ok = false on mismatch. */
#define XEN_EXPECT(ok, expr, want)                                                                \
	do {                                                                                      \
		long got_ = (long)(expr), want_ = (long)(want);                                   \
		if (got_ != want_) {                                                              \
			printf("FAIL %s:%d: %s = %ld, expected %ld\n", __FILE__, __LINE__, #expr, \
			       got_, want_);                                                      \
			*(ok) = false;                                                            \
		}                                                                                 \
	} while (0)

#endif
