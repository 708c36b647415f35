/* SPDX-License-Identifier: MIT */
/* Xen HVM guest support: see xen.h. */
#include "xen.h"

uint8_t xen_hypercall_page[XEN_PAGE_SIZE] __attribute__((aligned(4096)));
static struct shared_info shared_page __attribute__((aligned(4096)));
volatile struct shared_info *xen_shared;
volatile struct vcpu_info *xen_vcpu[RT_MAX_CPUS];
volatile uint64_t xen_upcalls[RT_MAX_CPUS];
volatile uint64_t xen_stray_events;
static bool registered[RT_MAX_CPUS];

#define XEN_MAX_HANDLERS 32 /* a small table: rt/ is linked into every test image */

static struct {
	uint32_t port;
	uint32_t cpu;
	xen_port_fn fn;
	void *arg;
} handlers[XEN_MAX_HANDLERS];

static int handler_of(uint32_t port)
{
	for (int i = 0; i < XEN_MAX_HANDLERS; i++)
		if (handlers[i].fn && handlers[i].port == port)
			return i;
	return -1;
}

void xen_upcall_entry(void);
void xen_upcall(void);

bool xen_callback_global;
volatile uint64_t xen_callback_in_isr;

bool xen_callback_check(const char *test)
{
	uint64_t n = 0;

	if (!xen_callback_global)
		return true;
	for (unsigned i = 0; i < RT_MAX_CPUS; i++)
		n += xen_upcalls[i];
	if (xen_callback_in_isr) {
		printf("%s: FAIL: %lu of %lu upcalls on the global callback vector were in service "
		       "in the local APIC (Xen injects it without the APIC; nobody EOIs it)\n",
		       test, xen_callback_in_isr, n);
		return false;
	}
	printf("%s: %lu upcalls on the global callback vector, none through the local APIC\n", test,
	       n);
	return n > 0;
}

static void set_gate(uint8_t vector, void (*fn)(void))
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} d;
	volatile uint8_t *g;
	uint64_t a = (uint64_t)(uintptr_t)fn;

	__asm__ volatile("sidt %0" : "=m"(d));
	g = (volatile uint8_t *)(uintptr_t)(d.base + vector * 16u);
	*(volatile uint16_t *)(g + 0) = (uint16_t)a;
	*(volatile uint16_t *)(g + 2) = 0x18; /* the runtime's 64-bit code selector */
	g[4] = 0;
	g[5] = 0x8e; /* present, DPL0, interrupt gate */
	*(volatile uint16_t *)(g + 6) = (uint16_t)(a >> 16);
	*(volatile uint32_t *)(g + 8) = (uint32_t)(a >> 32);
	*(volatile uint32_t *)(g + 12) = 0;
}

/* The 2-level upcall: ports of this CPU that are pending and unmasked. */
void xen_upcall(void)
{
	unsigned cpu = lapic_id();
	volatile struct vcpu_info *vi = cpu < RT_MAX_CPUS ? xen_vcpu[cpu] : 0;

	if (vi) {
		xen_upcalls[cpu]++;
		if (xen_callback_global && lapic_read(LAPIC_ISR + XEN_UPCALL_VECTOR / 32 * 0x10) &
						   1u << XEN_UPCALL_VECTOR % 32)
			xen_callback_in_isr++;
		while (__atomic_exchange_n(&vi->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST)) {
			uint64_t sel =
				__atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);

			while (sel) {
				unsigned w = (unsigned)__builtin_ctzll(sel);
				uint64_t bits;

				sel &= sel - 1;
				bits = xen_shared->evtchn_pending[w] & ~xen_shared->evtchn_mask[w];
				while (bits) {
					unsigned b = (unsigned)__builtin_ctzll(bits);
					uint32_t port = w * 64 + b;
					int h = handler_of(port);

					bits &= bits - 1;
					if (h < 0 || handlers[h].cpu != cpu) {
						xen_stray_events++;
						continue; /* another CPU's, or nobody's */
					}
					if (!(__atomic_fetch_and(&xen_shared->evtchn_pending[w],
								 ~(1ull << b), __ATOMIC_SEQ_CST) &
					      (1ull << b)))
						continue;
					handlers[h].fn(port, handlers[h].arg);
				}
			}
		}
	}
	/* the global callback vector never went through the local APIC: nothing to EOI */
	if (!xen_callback_global)
		lapic_write(LAPIC_EOI, 0);
}

void xen_port_handler(uint32_t port, unsigned cpu, xen_port_fn fn, void *arg)
{
	int h = handler_of(port);

	for (int i = 0; h < 0 && i < XEN_MAX_HANDLERS; i++)
		if (!handlers[i].fn)
			h = i;
	if (h < 0) {
		printf("xen: more than %d port handlers\n", XEN_MAX_HANDLERS);
		return;
	}
	handlers[h].port = port;
	handlers[h].cpu = cpu;
	handlers[h].arg = arg;
	__atomic_store_n(&handlers[h].fn, fn, __ATOMIC_SEQ_CST);
}

long xen_map_shared_info(volatile struct shared_info *page)
{
	struct xen_add_to_physmap x = {
		.domid = DOMID_SELF,
		.space = XENMAPSPACE_shared_info,
		.gpfn = (uint64_t)(uintptr_t)page >> XEN_PAGE_SHIFT,
	};
	long r = xen_op(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, &x);

	if (r == 0) {
		xen_shared = page;
		for (unsigned i = 0; i < RT_MAX_CPUS; i++)
			if (!registered[i])
				xen_vcpu[i] = &page->vcpu_info[i];
	}
	return r;
}

long xen_register_vcpu_info(unsigned cpu, volatile struct vcpu_info *vi)
{
	struct vcpu_register_vcpu_info r = {
		.mfn = (uint64_t)(uintptr_t)vi >> XEN_PAGE_SHIFT,
		.offset = (uint32_t)((uintptr_t)vi & (XEN_PAGE_SIZE - 1)),
	};
	long ret = xen_hcall(__HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, cpu,
			     (uint64_t)(uintptr_t)&r);

	if (ret == 0 && cpu < RT_MAX_CPUS) {
		xen_vcpu[cpu] = vi;
		registered[cpu] = true;
	}
	return ret;
}

bool xen_setup(void)
{
	uint32_t a, b, c, d;
	char sig[13], mode[16];

	cpuid(XEN_CPUID_BASE, &a, &b, &c, &d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = 0;
	if (strcmp(sig, "XenVMMXenVMM")) {
		printf("xen: no Xen signature at CPUID 0x%x (\"%s\"): run with --xen\n",
		       XEN_CPUID_BASE, sig);
		return false;
	}
	cpuid(XEN_CPUID_BASE + 2, &a, &b, &c, &d);
	if (a < 1) {
		printf("xen: no hypercall page offered\n");
		return false;
	}
	wrmsr(b, (uint64_t)(uintptr_t)xen_hypercall_page);
	if (xen_hypercall_page[0] == 0) {
		printf("xen: the hypercall page was not written\n");
		return false;
	}
	set_gate(XEN_UPCALL_VECTOR, xen_upcall_entry);
	if (xen_map_shared_info(&shared_page)) {
		printf("xen: mapping shared_info failed\n");
		return false;
	}
	if (cmdline_get("xen-callback", mode, sizeof(mode)) && !strcmp(mode, "global")) {
		struct xen_hvm_param p = {
			.domid = DOMID_SELF,
			.index = HVM_PARAM_CALLBACK_IRQ,
			.value = (uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56 | XEN_UPCALL_VECTOR,
		};

		if (xen_op(__HYPERVISOR_hvm_op, HVMOP_set_param, &p)) {
			printf("xen: setting the global callback vector failed\n");
			return false;
		}
		xen_callback_global = true;
		printf("xen: events arrive on the global callback vector 0x%x\n",
		       XEN_UPCALL_VECTOR);
	}
	return true;
}

bool xen_kvm_transport(void)
{
	return xen_hypercall_page[5] == 0x0f; /* 0f 01 c1 vmcall, 0f 01 d9 vmmcall */
}

bool xen_cpu_setup(unsigned cpu)
{
	struct xen_hvm_evtchn_upcall_vector u = { .vcpu = cpu, .vector = XEN_UPCALL_VECTOR };

	lapic_enable();
	if (xen_callback_global)
		return true;
	if (xen_op(__HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, &u)) {
		printf("xen: cpu %u: set_evtchn_upcall_vector failed\n", cpu);
		return false;
	}
	return true;
}

long xen_bind_ipi(unsigned cpu)
{
	struct evtchn_bind_ipi b = { .vcpu = cpu };
	long r = xen_evtchn_op(EVTCHNOP_bind_ipi, &b);

	return r ? r : (long)b.port;
}

long xen_bind_virq(unsigned virq, unsigned cpu)
{
	struct evtchn_bind_virq b = { .virq = virq, .vcpu = cpu };
	long r = xen_evtchn_op(EVTCHNOP_bind_virq, &b);

	return r ? r : (long)b.port;
}

long xen_send(uint32_t port)
{
	return xen_evtchn_op(EVTCHNOP_send, &port);
}

long xen_close(uint32_t port)
{
	return xen_evtchn_op(EVTCHNOP_close, &port);
}

long xen_unmask(uint32_t port)
{
	return xen_evtchn_op(EVTCHNOP_unmask, &port);
}

void xen_mask(uint32_t port)
{
	__atomic_fetch_or(&xen_shared->evtchn_mask[port / 64], 1ull << (port % 64),
			  __ATOMIC_SEQ_CST);
}

bool xen_pending(uint32_t port)
{
	return xen_shared->evtchn_pending[port / 64] & (1ull << (port % 64));
}

void xen_clear(uint32_t port)
{
	__atomic_fetch_and(&xen_shared->evtchn_pending[port / 64], ~(1ull << (port % 64)),
			   __ATOMIC_SEQ_CST);
}

static uint64_t scale(uint64_t delta, const volatile struct vcpu_time_info *t)
{
	int8_t shift = t->tsc_shift;

	delta = shift < 0 ? delta >> -shift : delta << shift;
	return (uint64_t)(((unsigned __int128)delta * t->tsc_to_system_mul) >> 32);
}

uint64_t xen_time_ns(void)
{
	unsigned cpu = lapic_id();
	volatile struct vcpu_time_info *t = &xen_vcpu[cpu < RT_MAX_CPUS ? cpu : 0]->time;
	uint32_t v;
	uint64_t ns;

	do {
		v = t->version;
		barrier();
		ns = t->system_time + scale(rdtsc() - t->tsc_timestamp, t);
		barrier();
	} while ((v & 1) || v != t->version);
	return ns;
}

uint64_t xen_tsc_to_ns(uint64_t ticks)
{
	unsigned cpu = lapic_id();

	return scale(ticks, &xen_vcpu[cpu < RT_MAX_CPUS ? cpu : 0]->time);
}

long xen_set_timer(uint64_t deadline_ns)
{
	return xen_hcall(__HYPERVISOR_set_timer_op, deadline_ns, 0, 0);
}
