/* SPDX-License-Identifier: MIT */
/*
 * Xen HVM basics (run with minivmm --xen): CPUID leaves, the hypercall page, xen_version,
 * shared_info with its wall clock and the vcpu_time_info clock, the Xen errno of bad ports,
 * vCPU ids, sub-ops and pointers; then the cost of a hypercall against a bare port-I/O exit,
 * both measured here, in the same run (bench=N iterations, default 200).
 */
#include "rt/xen.h"

#define BAD_GVA 0x7fff00000000ull /* not mapped by the runtime's page tables */
#define MMIO_GVA 0xd0000000ull	  /* mapped, but not RAM */

static void check_cpuid(bool *ok, uint32_t *version)
{
	uint32_t a, b, c, d;

	cpuid(XEN_CPUID_BASE, &a, &b, &c, &d);
	if (a < XEN_CPUID_BASE + 4) {
		printf("xen_basic: FAIL: last Xen leaf 0x%x\n", a);
		*ok = false;
	}
	cpuid(XEN_CPUID_BASE + 1, version, &b, &c, &d);
	cpuid(XEN_CPUID_BASE + 2, &a, &b, &c, &d);
	XEN_EXPECT(ok, a, 1);
	XEN_EXPECT(ok, b, XEN_HYPERCALL_MSR);
	cpuid(XEN_CPUID_BASE + 4, &a, &b, &c, &d);
	XEN_EXPECT(ok, a & (XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_UPCALL_VECTOR),
		   XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_UPCALL_VECTOR);
	XEN_EXPECT(ok, b, 0);
	cpuid(XEN_CPUID_BASE + 0x100, &a, &b, &c, &d);
	if (b == 0x4b4d564b) /* "KVMK": Linux would then pick KVM */
		printf("xen_basic: note: KVM leaves at 0x40000100\n");
}

static void check_errors(bool *ok)
{
	struct evtchn_bind_ipi ipi = { .vcpu = 7 };
	struct vcpu_register_vcpu_info vi = { .mfn = 0x100, .offset = 4090 }; /* crosses a page */
	struct xen_hvm_param param = { .domid = DOMID_SELF, .index = 2 };
	struct xen_hvm_evtchn_upcall_vector uv = { .vcpu = 0, .vector = 3 };
	struct xen_add_to_physmap xatp = { .domid = 5, .gpfn = 0x100 }; /* another domain */
	uint32_t port;

	/* ports */
	port = 0;
	XEN_EXPECT(ok, xen_evtchn_op(EVTCHNOP_send, &port), -XEN_EINVAL);
	port = 5000;
	XEN_EXPECT(ok, xen_evtchn_op(EVTCHNOP_send, &port), -XEN_EINVAL);
	port = 100; /* free */
	XEN_EXPECT(ok, xen_evtchn_op(EVTCHNOP_send, &port), -XEN_EINVAL);
	XEN_EXPECT(ok, xen_evtchn_op(EVTCHNOP_close, &port), -XEN_EINVAL);
	port = 0xffffffffu;
	XEN_EXPECT(ok, xen_evtchn_op(EVTCHNOP_unmask, &port), -XEN_EINVAL);
	/* vCPU ids */
	XEN_EXPECT(ok, xen_evtchn_op(EVTCHNOP_bind_ipi, &ipi), -XEN_ENOENT);
	XEN_EXPECT(ok, xen_hcall(__HYPERVISOR_vcpu_op, VCPUOP_is_up, 5, 0), -XEN_ENOENT);
	XEN_EXPECT(ok,
		   xen_hcall(__HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 9, (uintptr_t)&vi),
		   -XEN_ENOENT);
	XEN_EXPECT(ok,
		   xen_hcall(__HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 0, (uintptr_t)&vi),
		   -XEN_EINVAL);
	/* sub-ops and hypercalls */
	XEN_EXPECT(ok, xen_hcall(60, 0, 0, 0), -XEN_ENOSYS);
	XEN_EXPECT(ok, xen_hcall(__HYPERVISOR_xen_version, 99, 0, 0), -XEN_ENOSYS);
	XEN_EXPECT(ok, xen_evtchn_op(EVTCHNOP_init_control, &port), -XEN_ENOSYS);
	XEN_EXPECT(ok, xen_evtchn_op(99, &port), -XEN_ENOSYS);
	XEN_EXPECT(ok, xen_hcall(__HYPERVISOR_sched_op, 77, 0, 0), -XEN_ENOSYS);
	XEN_EXPECT(ok, xen_hcall(__HYPERVISOR_memory_op, 99, 0, 0), -XEN_ENOSYS);
	XEN_EXPECT(ok, xen_op(__HYPERVISOR_hvm_op, HVMOP_set_param, &param), -XEN_EPERM);
	XEN_EXPECT(ok, xen_op(__HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, &uv),
		   -XEN_EINVAL);
	XEN_EXPECT(ok, xen_op(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, &xatp), -XEN_ESRCH);
	/* pointers: unmapped, not RAM */
	XEN_EXPECT(ok, xen_op(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_ipi, (void *)BAD_GVA),
		   -XEN_EFAULT);
	XEN_EXPECT(ok, xen_op(__HYPERVISOR_event_channel_op, EVTCHNOP_status, (void *)MMIO_GVA),
		   -XEN_EFAULT);
	XEN_EXPECT(ok, xen_op(__HYPERVISOR_xen_version, XENVER_get_features, (void *)BAD_GVA),
		   -XEN_EFAULT);
	XEN_EXPECT(ok, xen_op(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, (void *)MMIO_GVA),
		   -XEN_EFAULT);
}

/* a stub shaped like a hypercall stub whose exit the VMM ignores */
__asm__(".text\n"
	"bare_stub: mov $17, %eax\n"
	"	out %eax, $0x99\n"
	"	ret\n");
void bare_stub(void);

static inline void call_bare_stub(void)
{
	__asm__ volatile("call bare_stub" ::: "rax", "memory");
}

/*
 * Interleaved batches of the three, keeping each one's fastest batch: the host is shared and
 * preemption only ever adds time.
 */
static void bench(uint64_t n)
{
	uint64_t best[3] = { ~0ull, ~0ull, ~0ull }, batch = n / 10 ? n / 10 : 1;

	for (unsigned round = 0; round < 10; round++) {
		uint64_t t[4];

		t[0] = rdtsc();
		for (uint64_t i = 0; i < batch; i++)
			xen_hcall(__HYPERVISOR_xen_version, XENVER_version, 0, 0);
		t[1] = rdtsc();
		for (uint64_t i = 0; i < batch; i++)
			outl(0x99, 0); /* the Xen port range, ignored: a bare exit */
		t[2] = rdtsc();
		for (uint64_t i = 0; i < batch; i++)
			call_bare_stub();
		t[3] = rdtsc();
		for (unsigned k = 0; k < 3; k++) {
			uint64_t ns = xen_tsc_to_ns(t[k + 1] - t[k]) / batch;

			best[k] = ns < best[k] ? ns : best[k];
		}
	}
	printf("xen_basic: bench: hypercall (xen_version) round trip %lu ns, bare port-I/O exit %lu "
	       "ns, ratio %lu.%02lu; a stub-shaped call+mov+out+ret without Xen work %lu ns "
	       "(fastest of 10 batches of %lu)\n",
	       best[0], best[1], best[1] ? best[0] / best[1] : 0,
	       best[1] ? (best[0] * 100 / best[1]) % 100 : 0, best[2], batch);
}

int test_main(void)
{
	struct xen_feature_info fi = { .submap_idx = 0 };
	char extra[XEN_EXTRAVERSION_LEN];
	uint32_t version = 0;
	uint64_t t0, t1, n = 200;
	bool ok = true;

	if (!xen_setup())
		return 1;
	check_cpuid(&ok, &version);
	printf("xen_basic: Xen %u.%u, hypercall page at %p\n", version >> 16, version & 0xffff,
	       (void *)xen_hypercall_page);
	XEN_EXPECT(&ok, xen_hcall(__HYPERVISOR_xen_version, XENVER_version, 0, 0), version);
	XEN_EXPECT(&ok, xen_op(__HYPERVISOR_xen_version, XENVER_get_features, &fi), 0);
	XEN_EXPECT(&ok, fi.submap >> XENFEAT_hvm_callback_vector & 1, 1);
	XEN_EXPECT(&ok, xen_op(__HYPERVISOR_xen_version, XENVER_extraversion, extra), 0);

	/* shared_info: the wall clock, and a vcpu_time_info clock that moves */
	if ((xen_shared->wc_version & 1) || !xen_shared->wc_version ||
	    xen_shared->wc_sec < 1600000000u) {
		printf("xen_basic: FAIL: wall clock version %u sec %u\n", xen_shared->wc_version,
		       xen_shared->wc_sec);
		ok = false;
	}
	t0 = xen_time_ns();
	delay_loops(1000);
	t1 = xen_time_ns();
	printf("xen_basic: shared_info at %p, wall clock %u s, system time %lu ns (+%lu ns)\n",
	       (void *)xen_shared, xen_shared->wc_sec, t0, t1 - t0);
	if (!xen_vcpu[0]->time.tsc_to_system_mul || t1 <= t0 || t0 > 60000000000ull) {
		printf("xen_basic: FAIL: vcpu_time_info clock\n");
		ok = false;
	}

	check_errors(&ok);
	cmdline_get_u64("bench", &n);
	if (n)
		bench(n);
	printf("xen_basic: %s\n", ok ? "OK" : "FAILED");
	return ok ? 0 : 1;
}
