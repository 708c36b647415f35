// SPDX-License-Identifier: MIT
/*
 * The Xen dispatcher against fake guest memory (tests/unit/xen_fake.h): every hypercall and
 * sub-op minivmm implements, the 2-level delivery order, errors, and the blocking calls with
 * threads as vCPUs. The concurrent hammering is in test_xen_stress.c.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include <linux/kvm.h>

#include "xen_fake.h"

#define SHINFO_A 0x200000ull
#define SHINFO_B 0x201000ull
#define VINFO_PG 0x210000ull
#define BALLOON 0x300000ull
#define VECTOR 0xf3

static struct xf F;

static int setup(void **state)
{
	(void)state;
	return xf_init(&F, 4, true);
}

static int teardown(void **state)
{
	(void)state;
	xf_fini(&F);
	return 0;
}

static struct shared_info *shinfo(uint64_t gpa)
{
	return xf_ptr(&F, gpa);
}

static uint64_t raised(unsigned int v)
{
	return atomic_load(&F.apic[v].raised);
}

/* what a guest's upcall handler does first */
static void guest_ack(struct vcpu_info *vi)
{
	__atomic_store_n(&vi->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
	__atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
}

static bool port_pending(struct shared_info *s, uint32_t port)
{
	return __atomic_load_n(&s->evtchn_pending[port / 64], __ATOMIC_SEQ_CST) &
	       1ull << (port % 64);
}

static void clear_port(struct shared_info *s, uint32_t port)
{
	__atomic_fetch_and(&s->evtchn_pending[port / 64], ~(1ull << (port % 64)), __ATOMIC_SEQ_CST);
}

/* ---- xen_version ----------------------------------------------------------------------- */

static void test_version(void **state)
{
	struct xen_feature_info fi = { .submap_idx = 0 };
	char extra[XEN_EXTRAVERSION_LEN];

	(void)state;
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_xen_version, XENVER_version, 0, 0), 0x40011);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_xen_version, XENVER_get_features,
			       xf_arg(&F, 0, &fi, sizeof(fi)), 0),
			 0);
	xf_arg_out(&F, 0, &fi, sizeof(fi));
	assert_true(fi.submap & 1u << XENFEAT_hvm_callback_vector);
	/* the fake has a TSC: every vcpu_info carries a pvclock */
	assert_true(fi.submap & 1u << XENFEAT_hvm_safe_pvclock);
	fi.submap_idx = 1;
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_xen_version, XENVER_get_features,
			       xf_arg(&F, 0, &fi, sizeof(fi)), 0),
			 -XEN_EINVAL);
	assert_int_equal(
		xf_hc(&F, 0, __HYPERVISOR_xen_version, XENVER_get_features, XF_HOLE_GVA, 0),
		-XEN_EFAULT);
	/* a guest-physical address is not a guest-virtual one */
	assert_int_equal(
		xf_hc(&F, 0, __HYPERVISOR_xen_version, XENVER_get_features, XF_SCRATCH(0), 0),
		-XEN_EFAULT);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_xen_version, XENVER_extraversion,
			       xf_gva(XF_SCRATCH(0)), 0),
			 0);
	xf_arg_out(&F, 0, extra, sizeof(extra));
	assert_int_equal(extra[0], '.');
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_xen_version, XENVER_pagesize, 0, 0), 4096);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_xen_version, 99, 0, 0), -XEN_ENOSYS);
}

/* ---- shared_info ----------------------------------------------------------------------- */

static void test_shared_info_map_and_move(void **state)
{
	struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = XENMAPSPACE_shared_info };
	struct shared_info *a = shinfo(SHINFO_A), *b = shinfo(SHINFO_B);
	int64_t port;

	(void)state;
	memset(a, 0x5a, 4096); /* guest RAM had something in it: the first mapping is fresh */
	port = xf_bind_ipi(&F, 0, 1);
	assert_true(port > 0);
	assert_int_equal(xf_send(&F, 0, (uint32_t)port), 0); /* no shared_info yet: lost */

	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_A), 0);
	assert_int_equal(a->evtchn_pending[0], 0);
	assert_int_equal(a->evtchn_mask[63], 0);
	assert_true(a->wc_version && !(a->wc_version & 1));
	assert_true(a->wc_sec > 1600000000u);
	/* vcpu_info slots got their time info: it reads as Xen system time */
	assert_true(a->vcpu_info[1].time.version && !(a->vcpu_info[1].time.version & 1));
	{
		uint64_t g = xf_guest_time(&a->vcpu_info[1].time), h = xen_system_time(F.xen);

		assert_true(g + 5000000 > h && h + 5000000 > g);
	}

	/* move it: contents come along, the old page is left alone from then on */
	assert_int_equal(xf_send(&F, 0, (uint32_t)port), 0);
	assert_true(port_pending(a, (uint32_t)port));
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_B), 0);
	assert_true(port_pending(b, (uint32_t)port));
	memset(a, 0, 4096);
	clear_port(b, (uint32_t)port);
	guest_ack(&b->vcpu_info[1]);
	assert_int_equal(xf_send(&F, 0, (uint32_t)port), 0);
	assert_true(port_pending(b, (uint32_t)port));
	assert_false(port_pending(a, (uint32_t)port));
	assert_int_equal(b->vcpu_info[1].evtchn_upcall_pending, 1);
	assert_int_equal(a->vcpu_info[1].evtchn_upcall_pending, 0);

	/* errors */
	x.gpfn = XF_RAM_SIZE >> 12; /* past RAM */
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap,
			       xf_arg(&F, 0, &x, sizeof(x)), 0),
			 -XEN_EINVAL);
	x.gpfn = SHINFO_A >> 12;
	x.idx = 1;
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap,
			       xf_arg(&F, 0, &x, sizeof(x)), 0),
			 -XEN_EINVAL);
	x.idx = 0;
	x.domid = 5;
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap,
			       xf_arg(&F, 0, &x, sizeof(x)), 0),
			 -XEN_ESRCH);
	x.domid = DOMID_SELF;
	x.space = 1; /* grant table */
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap,
			       xf_arg(&F, 0, &x, sizeof(x)), 0),
			 -XEN_ENOSYS);
	assert_int_equal(
		xf_hc(&F, 0, __HYPERVISOR_memory_op, XENMEM_add_to_physmap, XF_HOLE_GVA, 0),
		-XEN_EFAULT);
	/* a private page cannot be shared_info */
	assert_int_equal(guest_mem_convert(&F.mem, SHINFO_A, 4096, true), 0);
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_A), -XEN_EINVAL);
	assert_int_equal(guest_mem_convert(&F.mem, SHINFO_A, 4096, false), 0);
	/* the failed attempt left it where it was */
	clear_port(b, (uint32_t)port);
	assert_int_equal(xf_send(&F, 0, (uint32_t)port), 0);
	assert_true(port_pending(b, (uint32_t)port));
}

/* ---- delivery -------------------------------------------------------------------------- */

static void test_ipi_2level(void **state)
{
	struct shared_info *s = shinfo(SHINFO_A);
	struct vcpu_info *vi = &s->vcpu_info[1];
	uint64_t r0;
	int64_t port;

	(void)state;
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_A), 0);
	assert_int_equal(xf_set_upcall_vector(&F, 0, 1, VECTOR), 0);
	port = xf_bind_ipi(&F, 0, 1);
	assert_true(port > 0);

	r0 = raised(1);
	assert_int_equal(xf_send(&F, 0, (uint32_t)port), 0);
	assert_true(port_pending(s, (uint32_t)port));
	assert_int_equal(vi->evtchn_pending_sel, 1ull << (port / 64));
	assert_int_equal(vi->evtchn_upcall_pending, 1);
	assert_int_equal(raised(1), r0 + 1);
	assert_int_equal(atomic_load(&F.apic[1].last_vector), VECTOR);
	assert_int_equal(raised(0), 0);

	/* already pending: coalesced, no second upcall */
	assert_int_equal(xf_send(&F, 2, (uint32_t)port), 0);
	assert_int_equal(raised(1), r0 + 1);

	/* pending again but the selector is still set: no upcall either (2-level step 2) */
	clear_port(s, (uint32_t)port);
	assert_int_equal(xf_send(&F, 2, (uint32_t)port), 0);
	assert_int_equal(raised(1), r0 + 1);

	/* the guest handled it: the next one raises again */
	guest_ack(vi);
	clear_port(s, (uint32_t)port);
	assert_int_equal(xf_send(&F, 3, (uint32_t)port), 0);
	assert_int_equal(raised(1), r0 + 2);

	/* re-binding the upcall vector with one pending raises it on the new vector */
	assert_int_equal(xf_set_upcall_vector(&F, 0, 1, 0xe0), 0);
	assert_int_equal(raised(1), r0 + 3);
	assert_int_equal(atomic_load(&F.apic[1].last_vector), 0xe0);
}

static void test_callback_param(void **state)
{
	struct xen_hvm_param p = { .domid = DOMID_SELF,
				   .index = HVM_PARAM_CALLBACK_IRQ,
				   .value = 2ull << 56 | 0xf1 };
	struct shared_info *s = shinfo(SHINFO_A);
	int64_t port;

	(void)state;
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_A), 0);
	assert_int_equal(
		xf_hc(&F, 0, __HYPERVISOR_hvm_op, HVMOP_set_param, xf_arg(&F, 0, &p, sizeof(p)), 0),
		0);
	p.value = 0;
	assert_int_equal(
		xf_hc(&F, 0, __HYPERVISOR_hvm_op, HVMOP_get_param, xf_arg(&F, 0, &p, sizeof(p)), 0),
		0);
	xf_arg_out(&F, 0, &p, sizeof(p));
	assert_int_equal(p.value, 2ull << 56 | 0xf1);

	/*
	 * No per-vCPU vector: the global callback vector, on the port's vCPU. It bypasses the
	 * APIC: the target is kicked, and its own thread finds it due while its vcpu_info has
	 * an upcall pending (level triggered, as Xen's hvm_vcpu_has_pending_irq()).
	 */
	port = xf_bind_ipi(&F, 0, 2);
	assert_int_equal(xen_callback_due(F.xen, 2), 0);
	assert_int_equal(xf_send(&F, 0, (uint32_t)port), 0);
	assert_int_equal(raised(2), 0);
	assert_int_equal(atomic_load(&F.apic[2].callbacks), 1);
	assert_int_equal(xen_callback_due(F.xen, 2), 0xf1);
	assert_int_equal(xen_callback_due(F.xen, 2), 0xf1); /* still: nothing took it */
	assert_int_equal(xen_callback_due(F.xen, 1), 0);
	assert_int_equal(xen_callback_due(F.xen, 99), 0);

	/* the guest could not take it (interrupts off): the timer thread kicks again */
	assert_int_equal(xen_callback_retry(F.xen, 2), XEN_CALLBACK_RETRY_NS);
	for (int i = 0; i < 10000 && atomic_load(&F.apic[2].callbacks) < 2; i++)
		usleep(1000);
	assert_int_equal(atomic_load(&F.apic[2].callbacks), 2);
	xen_callback_injected(F.xen, 2);
	/* a vCPU that stays unable waits twice as long each time, up to the cap, until an
	 * injection (vCPU 1, whose kicks nothing below counts) */
	assert_int_equal(xen_callback_retry(F.xen, 1), XEN_CALLBACK_RETRY_NS);
	for (uint64_t want = 2 * XEN_CALLBACK_RETRY_NS; want < XEN_CALLBACK_RETRY_MAX_NS; want *= 2)
		assert_int_equal(xen_callback_retry(F.xen, 1), want);
	assert_int_equal(xen_callback_retry(F.xen, 1), XEN_CALLBACK_RETRY_MAX_NS);
	assert_int_equal(xen_callback_retry(F.xen, 1), XEN_CALLBACK_RETRY_MAX_NS);
	assert_int_equal(xen_callback_retry(F.xen, 99), 0);
	xen_callback_injected(F.xen, 1);
	assert_int_equal(xen_callback_retry(F.xen, 1), XEN_CALLBACK_RETRY_NS);
	guest_ack(&s->vcpu_info[2]);
	assert_int_equal(xen_callback_due(F.xen, 2), 0);

	/* a vCPU with its own vector takes its upcalls through its APIC, never as the callback */
	assert_int_equal(xf_set_upcall_vector(&F, 0, 2, VECTOR), 0);
	clear_port(s, (uint32_t)port);
	assert_int_equal(xf_send(&F, 0, (uint32_t)port), 0);
	assert_int_equal(raised(2), 1);
	assert_int_equal(atomic_load(&F.apic[2].last_vector), VECTOR);
	assert_int_equal(atomic_load(&F.apic[2].callbacks), 2);
	assert_int_equal(xen_callback_due(F.xen, 2), 0);
	guest_ack(&s->vcpu_info[2]);
	{
		struct xen_vcpu_stats st;

		xen_get_vcpu_stats(F.xen, 2, &st);
		assert_int_equal(st.callbacks_injected, 1);
	}

	/* Linux sets GSI 1 "to look enlightened": accepted, delivers nothing (vCPU 3 has no
	 * vector of its own) and the callback is no longer due */
	port = xf_bind_ipi(&F, 0, 3);
	assert_int_equal(xf_send(&F, 0, (uint32_t)port), 0);
	assert_int_equal(xen_callback_due(F.xen, 3), 0xf1);
	p.value = 1;
	assert_int_equal(
		xf_hc(&F, 0, __HYPERVISOR_hvm_op, HVMOP_set_param, xf_arg(&F, 0, &p, sizeof(p)), 0),
		0);
	assert_int_equal(xen_callback_due(F.xen, 3), 0);
	guest_ack(&s->vcpu_info[3]);
	clear_port(s, (uint32_t)port);
	assert_int_equal(xf_send(&F, 0, (uint32_t)port), 0);
	assert_int_equal(raised(3), 0);
	assert_int_equal(atomic_load(&F.apic[3].callbacks), 1);

	p.index = 2; /* HVM_PARAM_STORE_PFN: the toolstack's */
	assert_int_equal(
		xf_hc(&F, 0, __HYPERVISOR_hvm_op, HVMOP_set_param, xf_arg(&F, 0, &p, sizeof(p)), 0),
		-XEN_EPERM);
	p.index = HVM_NR_PARAMS;
	assert_int_equal(
		xf_hc(&F, 0, __HYPERVISOR_hvm_op, HVMOP_get_param, xf_arg(&F, 0, &p, sizeof(p)), 0),
		-XEN_EINVAL);
	p.index = 0;
	p.value = 9ull << 56;
	assert_int_equal(
		xf_hc(&F, 0, __HYPERVISOR_hvm_op, HVMOP_set_param, xf_arg(&F, 0, &p, sizeof(p)), 0),
		-XEN_EINVAL);
	p.value = 2ull << 56 | 3; /* exception vectors are not callbacks */
	assert_int_equal(
		xf_hc(&F, 0, __HYPERVISOR_hvm_op, HVMOP_set_param, xf_arg(&F, 0, &p, sizeof(p)), 0),
		-XEN_EINVAL);
	p.domid = 7;
	assert_int_equal(
		xf_hc(&F, 0, __HYPERVISOR_hvm_op, HVMOP_get_param, xf_arg(&F, 0, &p, sizeof(p)), 0),
		-XEN_ESRCH);
}

static void test_mask_unmask(void **state)
{
	struct shared_info *s = shinfo(SHINFO_A);
	struct vcpu_info *vi = &s->vcpu_info[0];
	int64_t port;

	(void)state;
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_A), 0);
	assert_int_equal(xf_set_upcall_vector(&F, 0, 0, VECTOR), 0);
	port = xf_bind_ipi(&F, 0, 0);
	__atomic_fetch_or(&s->evtchn_mask[port / 64], 1ull << (port % 64), __ATOMIC_SEQ_CST);

	assert_int_equal(xf_send(&F, 0, (uint32_t)port), 0);
	assert_true(port_pending(s, (uint32_t)port));
	assert_int_equal(vi->evtchn_pending_sel, 0);
	assert_int_equal(vi->evtchn_upcall_pending, 0);
	assert_int_equal(raised(0), 0);

	/* unmask delivers the event that arrived while masked */
	assert_int_equal(xf_port_op(&F, 0, EVTCHNOP_unmask, (uint32_t)port), 0);
	assert_false(s->evtchn_mask[port / 64] & 1ull << (port % 64));
	assert_int_equal(vi->evtchn_pending_sel, 1ull << (port / 64));
	assert_int_equal(vi->evtchn_upcall_pending, 1);
	assert_int_equal(raised(0), 1);
	/* unmasking again does nothing more */
	assert_int_equal(xf_port_op(&F, 0, EVTCHNOP_unmask, (uint32_t)port), 0);
	assert_int_equal(raised(0), 1);
	/* unmask of a port with nothing pending raises nothing */
	guest_ack(vi);
	clear_port(s, (uint32_t)port);
	__atomic_fetch_or(&s->evtchn_mask[port / 64], 1ull << (port % 64), __ATOMIC_SEQ_CST);
	assert_int_equal(xf_port_op(&F, 0, EVTCHNOP_unmask, (uint32_t)port), 0);
	assert_int_equal(raised(0), 1);
	assert_int_equal(xf_port_op(&F, 0, EVTCHNOP_unmask, 0), -XEN_EINVAL);
	assert_int_equal(xf_port_op(&F, 0, EVTCHNOP_unmask, 4096), -XEN_EINVAL);
}

static void test_loopback_interdomain(void **state)
{
	struct shared_info *s = shinfo(SHINFO_A);
	struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = DOMID_SELF };
	struct evtchn_bind_interdomain b = { .remote_dom = DOMID_SELF };
	struct evtchn_status st = { .dom = DOMID_SELF };
	uint32_t pa, pb;

	(void)state;
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_A), 0);
	assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_alloc_unbound, &a, sizeof(a)), 0);
	pa = a.port;
	assert_true(pa > 0);
	st.port = pa;
	assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_status, &st, sizeof(st)), 0);
	assert_int_equal(st.status, EVTCHNSTAT_unbound);
	assert_int_equal(st.u.unbound.dom, XEN_DOMID);

	assert_int_equal(xf_send(&F, 0, pa), 0); /* unbound: dropped */
	assert_false(port_pending(s, pa));

	b.remote_port = pa;
	assert_int_equal(xf_evtchn(&F, 1, EVTCHNOP_bind_interdomain, &b, sizeof(b)), 0);
	pb = b.local_port;
	assert_true(pb > 0 && pb != pa);
	assert_true(port_pending(s, pb)); /* Xen notifies a fresh binding conservatively */
	clear_port(s, pb);

	assert_int_equal(xf_send(&F, 0, pb), 0);
	assert_true(port_pending(s, pa));
	assert_false(port_pending(s, pb));
	assert_int_equal(xf_send(&F, 0, pa), 0);
	assert_true(port_pending(s, pb));

	st.port = pb;
	assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_status, &st, sizeof(st)), 0);
	assert_int_equal(st.status, EVTCHNSTAT_interdomain);
	assert_int_equal(st.u.interdomain.port, pa);

	/* binding to a port that is not unbound, or to another domain */
	assert_int_equal(xf_evtchn(&F, 1, EVTCHNOP_bind_interdomain, &b, sizeof(b)), -XEN_EINVAL);
	b.remote_dom = 3;
	assert_int_equal(xf_evtchn(&F, 1, EVTCHNOP_bind_interdomain, &b, sizeof(b)), -XEN_ESRCH);
	b.remote_dom = DOMID_SELF;
	b.remote_port = 4096;
	assert_int_equal(xf_evtchn(&F, 1, EVTCHNOP_bind_interdomain, &b, sizeof(b)), -XEN_EINVAL);

	/* closing one end leaves the other unbound; closing clears its pending bit */
	assert_int_equal(xf_port_op(&F, 0, EVTCHNOP_close, pa), 0);
	assert_false(port_pending(s, pa));
	st.port = pb;
	assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_status, &st, sizeof(st)), 0);
	assert_int_equal(st.status, EVTCHNSTAT_unbound);
	st.port = pa;
	assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_status, &st, sizeof(st)), 0);
	assert_int_equal(st.status, EVTCHNSTAT_closed);
	assert_int_equal(xf_send(&F, 0, pa), -XEN_EINVAL);
	assert_int_equal(xf_port_op(&F, 0, EVTCHNOP_close, pa), -XEN_EINVAL);

	/* the survivor can be bound again (it is unbound to ourselves) */
	b.remote_port = pb;
	assert_int_equal(xf_evtchn(&F, 1, EVTCHNOP_bind_interdomain, &b, sizeof(b)), 0);
	/* bind_vcpu moves an interdomain port's notifications */
	{
		struct evtchn_bind_vcpu bv = { .port = pb, .vcpu = 3 };

		assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), 0);
		st.port = pb;
		assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_status, &st, sizeof(st)), 0);
		assert_int_equal(st.vcpu, 3);
		guest_ack(&s->vcpu_info[3]);
		clear_port(s, pb);
		assert_int_equal(xf_send(&F, 0, b.local_port), 0);
		assert_int_equal(s->vcpu_info[3].evtchn_upcall_pending, 1);
		bv.vcpu = 9;
		assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_bind_vcpu, &bv, sizeof(bv)),
				 -XEN_ENOENT);
	}
	/* reset closes everything */
	{
		struct evtchn_reset r = { .dom = DOMID_SELF };

		assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_reset, &r, sizeof(r)), 0);
		st.port = pb;
		assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_status, &st, sizeof(st)), 0);
		assert_int_equal(st.status, EVTCHNSTAT_closed);
		r.dom = 2;
		assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_reset, &r, sizeof(r)), -XEN_ESRCH);
	}
}

/* ---- timers ---------------------------------------------------------------------------- */

static bool wait_for(_Atomic uint64_t *counter, uint64_t value, uint64_t timeout_ms)
{
	uint64_t end = xf_now_ns() + timeout_ms * 1000000ull;

	while (atomic_load(counter) < value) {
		if (xf_now_ns() > end)
			return false;
		usleep(200);
	}
	return true;
}

static void test_virq_timer(void **state)
{
	struct shared_info *s = shinfo(SHINFO_A);
	struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 0 };
	struct vcpu_set_singleshot_timer t = { 0 };
	uint64_t t0;

	(void)state;
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_A), 0);
	assert_int_equal(xf_set_upcall_vector(&F, 0, 0, VECTOR), 0);
	assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_bind_virq, &bv, sizeof(bv)), 0);
	assert_true(bv.port > 0);
	assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_bind_virq, &bv, sizeof(bv)), -XEN_EEXIST);

	t0 = xen_system_time(F.xen);
	t.timeout_abs_ns = xf_guest_time(&s->vcpu_info[0].time) + 3000000; /* +3 ms */
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 0,
			       xf_arg(&F, 0, &t, sizeof(t))),
			 0);
	assert_true(wait_for(&F.apic[0].raised, 1, 2000));
	assert_true(xen_system_time(F.xen) >= t0 + 3000000);
	assert_true(port_pending(s, bv.port));
	assert_int_equal(atomic_load(&F.apic[0].last_vector), VECTOR);

	/* a stopped timer does not fire */
	guest_ack(&s->vcpu_info[0]);
	clear_port(s, bv.port);
	t.timeout_abs_ns = xen_system_time(F.xen) + 20000000;
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 0,
			       xf_arg(&F, 0, &t, sizeof(t))),
			 0);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_stop_singleshot_timer, 0, 0), 0);
	usleep(50000);
	assert_int_equal(raised(0), 1);

	/* set_timer_op: the same timer; 0 stops it */
	assert_int_equal(
		xf_hc(&F, 0, __HYPERVISOR_set_timer_op, xen_system_time(F.xen) + 1000000, 0, 0), 0);
	assert_true(wait_for(&F.apic[0].raised, 2, 2000));
	guest_ack(&s->vcpu_info[0]);
	clear_port(s, bv.port);
	assert_int_equal(
		xf_hc(&F, 0, __HYPERVISOR_set_timer_op, xen_system_time(F.xen) + 20000000, 0, 0),
		0);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_set_timer_op, 0, 0, 0), 0);
	usleep(50000);
	assert_int_equal(raised(0), 2);

	/* errors */
	t.timeout_abs_ns = 1;
	t.flags = VCPU_SSHOTTMR_future;
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 0,
			       xf_arg(&F, 0, &t, sizeof(t))),
			 -XEN_ETIME);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 1,
			       xf_arg(&F, 0, &t, sizeof(t))),
			 -XEN_EINVAL); /* only for oneself */
	bv.virq = XEN_NR_VIRQS;
	assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_bind_virq, &bv, sizeof(bv)), -XEN_EINVAL);
	bv.virq = 2; /* VIRQ_CONSOLE: global, so vCPU 0 only */
	bv.vcpu = 1;
	assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_bind_virq, &bv, sizeof(bv)), -XEN_EINVAL);
	bv.virq = VIRQ_TIMER;
	bv.vcpu = 4;
	assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_bind_virq, &bv, sizeof(bv)), -XEN_ENOENT);
	/* a VIRQ port cannot be sent to, a per-vCPU one not re-bound */
	bv.vcpu = 1;
	assert_int_equal(xf_evtchn(&F, 1, EVTCHNOP_bind_virq, &bv, sizeof(bv)), 0);
	assert_int_equal(xf_send(&F, 1, bv.port), -XEN_EINVAL);
	{
		struct evtchn_bind_vcpu b = { .port = bv.port, .vcpu = 0 };

		assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_bind_vcpu, &b, sizeof(b)), -XEN_EINVAL);
	}
	/* closing frees the binding */
	assert_int_equal(xf_port_op(&F, 1, EVTCHNOP_close, bv.port), 0);
	assert_int_equal(xf_evtchn(&F, 1, EVTCHNOP_bind_virq, &bv, sizeof(bv)), 0);
}

static uint64_t timer_moves(void)
{
	struct xen_event_stats ev;

	xen_get_event_stats(F.xen, &ev);
	return ev.timer_moves;
}

static void arm_at(unsigned int v, uint64_t deadline)
{
	assert_int_equal(xf_hc(&F, v, __HYPERVISOR_set_timer_op, deadline, 0, 0), 0);
}

static void bind_timers(unsigned int n)
{
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_A), 0);
	for (unsigned int v = 0; v < n; v++) {
		struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = v };

		assert_int_equal(xf_set_upcall_vector(&F, v, v, VECTOR), 0);
		assert_int_equal(xf_evtchn(&F, v, EVTCHNOP_bind_virq, &bv, sizeof(bv)), 0);
	}
}

static int setup_no_timer_thread(void **state)
{
	(void)state;
	return xf_init(&F, 4, false);
}

/*
 * A timer set no earlier than the deadline the timer thread will look at anyway leaves its
 * timerfd alone (a guest re-arms at every tick); an earlier one moves it, and so does any
 * timer while it waits for none; one already due fires on the spot. The test plays the timer
 * thread (xen_timers_run) itself.
 */
static void test_timer_moves(void **state)
{
	uint64_t base = xen_system_time(F.xen) + 3600 * 1000000000ull, w0 = timer_moves();
	struct xen_vcpu_stats st;

	(void)state;
	bind_timers(2);
	arm_at(0, base + 1000); /* none armed: moved */
	assert_int_equal(timer_moves(), w0 + 1);
	arm_at(1, base + 3000); /* later: the thread looks at base + 1000 first */
	arm_at(1, base + 2000);
	assert_int_equal(timer_moves(), w0 + 1);
	assert_int_equal(xen_timers_run(F.xen), base + 1000);
	arm_at(1, base + 1000); /* equal: not moved either */
	assert_int_equal(timer_moves(), w0 + 1);
	arm_at(1, base + 999); /* earlier: moved */
	assert_int_equal(timer_moves(), w0 + 2);
	arm_at(0, base + 500); /* earlier than that again */
	assert_int_equal(timer_moves(), w0 + 3);
	assert_int_equal(xen_timers_run(F.xen), base + 500);

	/* stopped timers: the thread waits for none after its next look, so a timer moves it */
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_set_timer_op, 0, 0, 0), 0);
	assert_int_equal(xf_hc(&F, 1, __HYPERVISOR_set_timer_op, 0, 0, 0), 0);
	assert_int_equal(xen_timers_run(F.xen), 0);
	arm_at(1, base + 5000);
	assert_int_equal(timer_moves(), w0 + 4);

	/*
	 * A timer already due fires at once on the caller's thread, replacing the vCPU's armed
	 * one, and the thread's expiry is not moved: the one left is vCPU 1's.
	 */
	arm_at(0, base + 6000);
	assert_int_equal(timer_moves(), w0 + 4);
	arm_at(0, xen_system_time(F.xen));
	assert_int_equal(raised(0), 1);
	assert_int_equal(raised(1), 0);
	assert_int_equal(timer_moves(), w0 + 4);
	xen_get_vcpu_stats(F.xen, 0, &st);
	assert_int_equal(st.timers, 1);
	assert_int_equal(xen_timers_run(F.xen), base + 5000);
	assert_int_equal(raised(0), 1);
}

/*
 * With the real thread: a timer whose setting left the timerfd alone still fires, and not
 * early; so does one that moved it while the thread slept.
 */
static void test_timer_unmoved_fires(void **state)
{
	uint64_t d0, d1;

	(void)state;
	bind_timers(2);
	d0 = xen_system_time(F.xen) + 50000000;
	d1 = d0 + 150000000;
	arm_at(0, d0);
	arm_at(1, d1 + 100000000);
	arm_at(1, d1); /* re-armed nearer, still after vCPU 0's */
	assert_true(wait_for(&F.apic[0].raised, 1, 5000));
	assert_true(xen_system_time(F.xen) >= d0);
	assert_true(wait_for(&F.apic[1].raised, 1, 5000));
	assert_true(xen_system_time(F.xen) >= d1);
	assert_int_equal(raised(0), 1);

	/* the thread sleeps towards a far deadline; a nearer one set meanwhile fires first */
	for (unsigned int v = 0; v < 2; v++) {
		guest_ack(&shinfo(SHINFO_A)->vcpu_info[v]);
		for (uint32_t port = 1; port < 64; port++)
			clear_port(shinfo(SHINFO_A), port);
	}
	arm_at(0, xen_system_time(F.xen) + 3600 * 1000000000ull);
	usleep(10000);
	d1 = xen_system_time(F.xen) + 30000000;
	arm_at(1, d1);
	assert_true(wait_for(&F.apic[1].raised, 2, 5000));
	assert_true(xen_system_time(F.xen) >= d1);
	assert_int_equal(raised(0), 1);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_set_timer_op, 0, 0, 0), 0);
}

/* ---- blocking -------------------------------------------------------------------------- */

struct blocker {
	unsigned int vcpu;
	uint64_t nr, a0, a1;
	int64_t ret;
	uint64_t took_ns;
	_Atomic bool done;
};

static void *blocker_thread(void *arg)
{
	struct blocker *b = arg;
	uint64_t t0 = xf_now_ns();

	b->ret = xf_hc(&F, b->vcpu, b->nr, b->a0, b->a1, 0);
	b->took_ns = xf_now_ns() - t0;
	atomic_store(&b->done, true);
	return NULL;
}

static int64_t poll_ports(unsigned int v, const uint32_t *ports, uint32_t n, uint64_t timeout,
			  uint64_t *gva)
{
	struct sched_poll p = { .ports = xf_gva(XF_SCRATCH(v) + 512),
				.nr_ports = n,
				.timeout = timeout };

	memcpy(xf_ptr(&F, XF_SCRATCH(v) + 512), ports, n * sizeof(*ports));
	*gva = xf_arg(&F, v, &p, sizeof(p));
	return 0;
}

static void test_poll(void **state)
{
	struct shared_info *s = shinfo(SHINFO_A);
	struct blocker b = { .vcpu = 1, .nr = __HYPERVISOR_sched_op, .a0 = SCHEDOP_poll };
	pthread_t th;
	uint32_t ports[2];
	uint64_t now;
	int64_t p1, p2;

	(void)state;
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_A), 0);
	p1 = xf_bind_ipi(&F, 1, 1);
	p2 = xf_bind_ipi(&F, 1, 2);
	ports[0] = (uint32_t)p2;
	ports[1] = (uint32_t)p1;

	/* nothing pending: times out after the (absolute) timeout */
	now = xen_system_time(F.xen);
	poll_ports(1, ports, 2, now + 30000000, &b.a1);
	blocker_thread(&b);
	assert_int_equal(b.ret, 0);
	assert_true(b.took_ns >= 29000000);
	assert_true(b.took_ns < 2000000000);

	/* a polled port pending (even masked): at once */
	__atomic_fetch_or(&s->evtchn_mask[0], 1ull << p1, __ATOMIC_SEQ_CST);
	assert_int_equal(xf_send(&F, 0, (uint32_t)p1), 0);
	poll_ports(1, ports, 2, xen_system_time(F.xen) + 5000000000ull, &b.a1);
	blocker_thread(&b);
	assert_int_equal(b.ret, 0);
	assert_true(b.took_ns < 1000000000);
	clear_port(s, (uint32_t)p1);

	/* woken by a send from another vCPU, long before the timeout */
	atomic_store(&b.done, false);
	poll_ports(1, ports, 2, xen_system_time(F.xen) + 10000000000ull, &b.a1);
	pthread_create(&th, NULL, blocker_thread, &b);
	usleep(20000);
	assert_false(atomic_load(&b.done));
	assert_int_equal(xf_send(&F, 0, (uint32_t)p1), 0); /* masked: no upcall, but polled */
	pthread_join(th, NULL);
	assert_int_equal(b.ret, 0);
	assert_true(b.took_ns < 5000000000ull);
	assert_true(port_pending(s, (uint32_t)p1));

	/* errors */
	{
		struct sched_poll p = { .ports = xf_gva(XF_SCRATCH(1) + 512), .nr_ports = 129 };

		assert_int_equal(xf_hc(&F, 1, __HYPERVISOR_sched_op, SCHEDOP_poll,
				       xf_arg(&F, 1, &p, sizeof(p)), 0),
				 -XEN_EINVAL);
		p.nr_ports = 1;
		ports[0] = 0;
		memcpy(xf_ptr(&F, XF_SCRATCH(1) + 512), ports, 4);
		assert_int_equal(xf_hc(&F, 1, __HYPERVISOR_sched_op, SCHEDOP_poll,
				       xf_arg(&F, 1, &p, sizeof(p)), 0),
				 -XEN_EINVAL);
		p.ports = XF_HOLE_GVA;
		assert_int_equal(xf_hc(&F, 1, __HYPERVISOR_sched_op, SCHEDOP_poll,
				       xf_arg(&F, 1, &p, sizeof(p)), 0),
				 -XEN_EFAULT);
		p.ports = xf_gva(XF_RAM_SIZE - 2); /* straddles the end of the mapping */
		p.nr_ports = 1;
		assert_int_equal(xf_hc(&F, 1, __HYPERVISOR_sched_op, SCHEDOP_poll,
				       xf_arg(&F, 1, &p, sizeof(p)), 0),
				 -XEN_EFAULT);
	}
}

static void test_block(void **state)
{
	struct shared_info *s = shinfo(SHINFO_A);
	struct blocker b = { .vcpu = 2, .nr = __HYPERVISOR_sched_op, .a0 = SCHEDOP_block };
	pthread_t th;
	int64_t port;

	(void)state;
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_A), 0);
	assert_int_equal(xf_set_upcall_vector(&F, 0, 2, VECTOR), 0);
	port = xf_bind_ipi(&F, 0, 2);
	s->vcpu_info[2].evtchn_upcall_mask = 1;

	pthread_create(&th, NULL, blocker_thread, &b);
	usleep(30000);
	assert_false(atomic_load(&b.done));
	assert_int_equal(xf_send(&F, 0, (uint32_t)port), 0);
	pthread_join(th, NULL);
	assert_int_equal(b.ret, 0);
	assert_int_equal(s->vcpu_info[2].evtchn_upcall_mask, 0); /* block enables events */
	/* with an upcall pending it returns at once */
	blocker_thread(&b);
	assert_true(b.took_ns < 100000000);

	/* stopping the VM gets a blocked vCPU out */
	guest_ack(&s->vcpu_info[2]);
	atomic_store(&b.done, false);
	pthread_create(&th, NULL, blocker_thread, &b);
	usleep(20000);
	assert_false(atomic_load(&b.done));
	xen_stop(F.xen);
	pthread_join(th, NULL);
	assert_true(b.took_ns < 5000000000ull);
}

static void test_shutdown(void **state)
{
	struct sched_shutdown sd = { .reason = SHUTDOWN_crash };

	(void)state;
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0), 0);
	sd.reason = 77;
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_sched_op, SCHEDOP_shutdown,
			       xf_arg(&F, 0, &sd, sizeof(sd)), 0),
			 -XEN_EINVAL);
	assert_int_equal(atomic_load(&F.shutdowns), 0);
	sd.reason = SHUTDOWN_crash;
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_sched_op, SCHEDOP_shutdown,
			       xf_arg(&F, 0, &sd, sizeof(sd)), 0),
			 0);
	assert_int_equal(atomic_load(&F.shutdowns), 1);
	assert_int_equal(atomic_load(&F.shutdown_reason), SHUTDOWN_crash);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_sched_op, 42, 0, 0), -XEN_ENOSYS);
}

/* ---- vcpu_info ------------------------------------------------------------------------- */

static void test_register_vcpu_info(void **state)
{
	struct shared_info *s = shinfo(SHINFO_A);
	struct vcpu_info *r = (struct vcpu_info *)((char *)xf_ptr(&F, VINFO_PG) + 128);
	struct vcpu_info *r2 = (struct vcpu_info *)((char *)xf_ptr(&F, VINFO_PG) + 1024);
	uint64_t r0;
	int64_t port;

	(void)state;
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_A), 0);
	assert_int_equal(xf_set_upcall_vector(&F, 0, 1, VECTOR), 0);
	port = xf_bind_ipi(&F, 0, 1);
	s->vcpu_info[1].arch_cr2 = 0x1234; /* some guest state in the slot */
	memset(r, 0x77, sizeof(*r));

	/* registered by another vCPU (Linux registers its APs' from the BSP) */
	r0 = raised(1);
	assert_int_equal(xf_register_vcpu_info(&F, 0, 1, VINFO_PG + 128), 0);
	assert_int_equal(r->arch_cr2, 0x1234);	       /* contents moved along */
	assert_int_equal(r->evtchn_upcall_pending, 1); /* and everything marked pending */
	assert_int_equal(r->evtchn_pending_sel, ~0ull);
	assert_int_equal(raised(1), r0 + 1);
	assert_true(r->time.version && !(r->time.version & 1) && r->time.tsc_to_system_mul);

	/* events go to the new place only */
	guest_ack(r);
	memset(&s->vcpu_info[1], 0, sizeof(s->vcpu_info[1]));
	assert_int_equal(xf_send(&F, 2, (uint32_t)port), 0);
	assert_int_equal(r->evtchn_upcall_pending, 1);
	assert_int_equal(r->evtchn_pending_sel, 1ull << (port / 64));
	assert_int_equal(s->vcpu_info[1].evtchn_upcall_pending, 0);

	/* re-registering moves it again; the old copy is then left alone */
	assert_int_equal(xf_register_vcpu_info(&F, 1, 1, VINFO_PG + 1024), 0);
	memset(r, 0, sizeof(*r));
	guest_ack(r2);
	clear_port(s, (uint32_t)port);
	assert_int_equal(xf_send(&F, 2, (uint32_t)port), 0);
	assert_int_equal(r2->evtchn_upcall_pending, 1);
	assert_int_equal(r->evtchn_upcall_pending, 0);
	assert_int_equal(r->evtchn_pending_sel, 0);

	/* errors */
	assert_int_equal(xf_register_vcpu_info(&F, 0, 1, VINFO_PG + 4090), -XEN_EINVAL);
	assert_int_equal(xf_register_vcpu_info(&F, 0, 1, VINFO_PG + 4), -XEN_EINVAL);
	assert_int_equal(xf_register_vcpu_info(&F, 0, 1, XF_RAM_SIZE), -XEN_EINVAL);
	assert_int_equal(xf_register_vcpu_info(&F, 0, 4, VINFO_PG), -XEN_ENOENT);
	assert_int_equal(
		xf_hc(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 1, XF_HOLE_GVA),
		-XEN_EFAULT);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_is_up, 3, 0), 1);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_is_up, 4, 0), -XEN_ENOENT);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_stop_periodic_timer, 2, 0), 0);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vcpu_op, 99, 0, 0), -XEN_ENOSYS);
}

/* The page under shared_info is discarded or made private: sends fail cleanly, then work. */
static void test_send_vs_discard_and_conversion(void **state)
{
	struct shared_info *s = shinfo(SHINFO_A);
	int64_t port;

	(void)state;
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_A), 0);
	port = xf_bind_ipi(&F, 0, 1);
	assert_int_equal(xf_send(&F, 0, (uint32_t)port), 0);
	assert_true(port_pending(s, (uint32_t)port));

	assert_int_equal(guest_mem_discard(&F.mem, SHINFO_A, 4096), 0);
	assert_false(port_pending(s, (uint32_t)port)); /* the page is gone: zeros */
	assert_int_equal(xf_send(&F, 0, (uint32_t)port), 0);
	assert_true(port_pending(s, (uint32_t)port)); /* landed in the repopulated page */

	assert_int_equal(guest_mem_convert(&F.mem, SHINFO_A, 4096, true), 0);
	/* the access view of a private page is PROT_NONE: a stale pointer would crash here */
	assert_int_equal(xf_send(&F, 0, (uint32_t)port), 0);
	assert_int_equal(xf_port_op(&F, 0, EVTCHNOP_unmask, (uint32_t)port), 0);
	assert_int_equal(guest_mem_convert(&F.mem, SHINFO_A, 4096, false), 0);
	assert_false(port_pending(s, (uint32_t)port));
	assert_int_equal(xf_send(&F, 0, (uint32_t)port), 0);
	assert_true(port_pending(s, (uint32_t)port));
}

/* ---- memory_op: balloon ---------------------------------------------------------------- */

static int64_t reservation(unsigned int op, const uint64_t *gfns, uint64_t n, uint32_t order)
{
	struct xen_memory_reservation r = { .extent_start = xf_gva(XF_SCRATCH(0) + 512),
					    .nr_extents = n,
					    .extent_order = order,
					    .domid = DOMID_SELF };

	memcpy(xf_ptr(&F, XF_SCRATCH(0) + 512), gfns, n * sizeof(*gfns));
	return xf_hc(&F, 0, __HYPERVISOR_memory_op, op, xf_arg(&F, 0, &r, sizeof(r)), 0);
}

static void test_balloon(void **state)
{
	uint64_t gfns[3] = { BALLOON >> 12, (BALLOON >> 12) + 2, XF_RAM_SIZE >> 12 };
	uint8_t *p = xf_ptr(&F, BALLOON);

	(void)state;
	memset(p, 0xab, 3 * 4096);
	/* the third frame is not RAM: two done */
	assert_int_equal(reservation(XENMEM_decrease_reservation, gfns, 3, 0), 2);
	assert_int_equal(p[0], 0);
	assert_int_equal(p[4095], 0);
	assert_int_equal(p[4096], 0xab); /* untouched */
	assert_int_equal(p[2 * 4096 + 17], 0);
	assert_int_equal(reservation(XENMEM_populate_physmap, gfns, 2, 0), 2);
	assert_int_equal(p[0], 0);
	assert_int_equal(p[2 * 4096], 0);
	assert_int_equal(reservation(XENMEM_populate_physmap, gfns, 3, 0), 2);

	/* a 2 MiB extent must be aligned; orders above 9 are refused */
	gfns[0] = (BALLOON >> 12) + 1;
	assert_int_equal(reservation(XENMEM_decrease_reservation, gfns, 1, 9), 0);
	gfns[0] = 0x400000 >> 12;
	memset(xf_ptr(&F, 0x400000), 0xcd, 2 << 20);
	assert_int_equal(reservation(XENMEM_decrease_reservation, gfns, 1, 9), 1);
	assert_int_equal(((uint8_t *)xf_ptr(&F, 0x400000))[(2 << 20) - 1], 0);
	assert_int_equal(reservation(XENMEM_decrease_reservation, gfns, 1, 10), 0);
	/* the extent list is checked too */
	{
		struct xen_memory_reservation r = { .extent_start = XF_HOLE_GVA,
						    .nr_extents = 1,
						    .domid = DOMID_SELF };

		assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_memory_op, XENMEM_decrease_reservation,
				       xf_arg(&F, 0, &r, sizeof(r)), 0),
				 0);
		r.domid = 4;
		assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_memory_op, XENMEM_decrease_reservation,
				       xf_arg(&F, 0, &r, sizeof(r)), 0),
				 -XEN_ESRCH);
	}
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_memory_op, 9 /* memory_map */, 0, 0),
			 -XEN_ENOSYS);
}

/* ---- bad arguments everywhere ---------------------------------------------------------- */

static void test_bad_args(void **state)
{
	static const unsigned int struct_ops[] = {
		EVTCHNOP_bind_interdomain,
		EVTCHNOP_bind_virq,
		EVTCHNOP_close,
		EVTCHNOP_send,
		EVTCHNOP_status,
		EVTCHNOP_alloc_unbound,
		EVTCHNOP_bind_ipi,
		EVTCHNOP_bind_vcpu,
		EVTCHNOP_unmask,
		EVTCHNOP_reset,
	};
	struct xen_vcpu_stats st;
	struct evtchn_alloc_unbound a = { .dom = 9 };
	uint32_t bad_ports[] = { 0, 4096, 65535, 0xffffffffu };

	(void)state;
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_A), 0);
	/* unknown hypercalls and sub-ops */
	assert_int_equal(xf_hc(&F, 0, 0, 0, 0, 0), -XEN_ENOSYS);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_grant_table_op, 0, 0, 0), -XEN_ENOSYS);
	assert_int_equal(xf_hc(&F, 0, 1ull << 40, 0, 0, 0), -XEN_ENOSYS);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_init_control,
			       xf_gva(XF_SCRATCH(0)), 0),
			 -XEN_ENOSYS);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_bind_pirq,
			       xf_gva(XF_SCRATCH(0)), 0),
			 -XEN_ENOSYS);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_event_channel_op, 1000, 0, 0), -XEN_ENOSYS);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_hvm_op, 9, 0, 0), -XEN_ENOSYS);
	assert_int_equal(xf_set_upcall_vector(&F, 0, 0, 5), -XEN_EINVAL);
	assert_int_equal(xf_set_upcall_vector(&F, 0, 4, VECTOR), -XEN_ENOENT);
	/* every struct-taking op: unmapped, wrongly-typed (physical) and private pointers */
	for (unsigned int i = 0; i < sizeof(struct_ops) / sizeof(struct_ops[0]); i++) {
		assert_int_equal(
			xf_hc(&F, 0, __HYPERVISOR_event_channel_op, struct_ops[i], XF_HOLE_GVA, 0),
			-XEN_EFAULT);
		assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_event_channel_op, struct_ops[i], 0, 0),
				 -XEN_EFAULT);
	}
	assert_int_equal(guest_mem_convert(&F.mem, XF_SCRATCH(3), 4096, true), 0);
	assert_int_equal(xf_hc(&F, 3, __HYPERVISOR_event_channel_op, EVTCHNOP_bind_ipi,
			       xf_gva(XF_SCRATCH(3)), 0),
			 -XEN_EFAULT);
	assert_int_equal(guest_mem_convert(&F.mem, XF_SCRATCH(3), 4096, false), 0);
	/* an op whose output cannot be written still does not crash */
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_xen_version, XENVER_extraversion,
			       xf_gva(XF_RAM_SIZE - 8), 0),
			 -XEN_EFAULT);
	/* ports */
	for (unsigned int i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
		assert_int_equal(xf_send(&F, 0, bad_ports[i]), -XEN_EINVAL);
		assert_int_equal(xf_port_op(&F, 0, EVTCHNOP_close, bad_ports[i]), -XEN_EINVAL);
		assert_int_equal(xf_port_op(&F, 0, EVTCHNOP_unmask, bad_ports[i]), -XEN_EINVAL);
	}
	assert_int_equal(xf_send(&F, 0, 77), -XEN_EINVAL); /* free */
	/* vCPU ids */
	assert_int_equal(xf_bind_ipi(&F, 0, 4), -XEN_ENOENT);
	assert_int_equal(xf_bind_ipi(&F, 0, 0xffffffffu), -XEN_ENOENT);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_is_up, 1ull << 32, 0), 1);
	/* domains */
	assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_alloc_unbound, &a, sizeof(a)), -XEN_ESRCH);
	{
		struct evtchn_status s = { .dom = 1234, .port = 1 };

		assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_status, &s, sizeof(s)), -XEN_ESRCH);
		s.dom = DOMID_SELF;
		s.port = 5000;
		assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_status, &s, sizeof(s)), -XEN_EINVAL);
	}
	/* ports run out cleanly */
	{
		int64_t p;
		unsigned int n = 0;

		while ((p = xf_bind_ipi(&F, 1, 1)) > 0)
			n++;
		assert_int_equal(p, -XEN_ENOSPC);
		assert_true(n >= 4000);
	}
	xen_get_vcpu_stats(F.xen, 0, &st);
	assert_true(st.unsupported >= 6);
	assert_true(st.by_nr[__HYPERVISOR_event_channel_op] > 20);
	assert_true(st.evtchn_ops[EVTCHNOP_send] >= 5);
}

/* ---- Linux as a Xen HVM guest --------------------------------------------------------- */

static int64_t hvm_param(unsigned int v, unsigned int op, uint32_t index, uint64_t *value)
{
	struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index, .value = *value };
	int64_t r = xf_hc(&F, v, __HYPERVISOR_hvm_op, op, xf_arg(&F, v, &p, sizeof(p)), 0);

	xf_arg_out(&F, v, &p, sizeof(p));
	*value = p.value;
	return r;
}

/* Linux's pvclock_tsc_khz(): the TSC frequency a guest derives from vcpu_time_info */
static uint64_t pvclock_khz(const struct vcpu_time_info *t)
{
	uint64_t khz = (1000000ull << 32) / t->tsc_to_system_mul;

	return t->tsc_shift < 0 ? khz << -t->tsc_shift : khz >> t->tsc_shift;
}

/*
 * The hypercalls of Linux 7.2 booting as a Xen HVM guest with 2 vCPUs, in its order
 * (enlighten_hvm.c, time.c, events_base.c, events_2l.c, smp.c, spinlock.c, mmu_hvm.c,
 * xenbus_probe.c, hvc_xen.c): each is served, or refused with the errno Linux copes with;
 * only the FIFO event ABI counts as unsupported.
 */
static void test_linux_hvm_boot(void **state)
{
	struct xen_feature_info fi = { .submap_idx = 0 };
	struct shared_info *s = shinfo(SHINFO_A);
	struct vcpu_info *vi1 = xf_ptr(&F, VINFO_PG + 0x40);
	struct vcpu_runstate_info *rs = xf_ptr(&F, VINFO_PG + 0x800);
	struct vcpu_set_singleshot_timer t = { 0 };
	struct xen_vcpu_stats st0, st1;
	uint64_t value, runstate_gva = xf_gva(VINFO_PG + 0x800), r1;
	int64_t resched1 = 0;

	(void)state;
	/* xen_setup_features(): submap 0, then 1 fails and ends the loop */
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_xen_version, XENVER_get_features,
			       xf_arg(&F, 0, &fi, sizeof(fi)), 0),
			 0);
	xf_arg_out(&F, 0, &fi, sizeof(fi));
	assert_true(fi.submap & 1u << XENFEAT_hvm_callback_vector);
	assert_true(fi.submap & 1u << XENFEAT_hvm_safe_pvclock);
	/* shared_info; xen_tsc_khz() reads vcpu_info[0]'s pvclock in it: the fake TSC's 1 GHz */
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_A), 0);
	assert_true(pvclock_khz(&s->vcpu_info[0].time) >= 999999 &&
		    pvclock_khz(&s->vcpu_info[0].time) <= 1000001);
	assert_true(s->wc_sec > 1600000000u); /* xen_read_wallclock() */
	/* xen_hvm_init_mmu_ops(): probes HVMOP_pagetable_dying once, takes -ENOSYS as "no" */
	value = 0;
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_hvm_op, HVMOP_pagetable_dying,
			       xf_arg(&F, 0, &value, sizeof(value)), 0),
			 -XEN_ENOSYS);
	/* xen_hvm_smp_prepare_boot_cpu(): vcpu_info of CPU 0 into its per-CPU data */
	assert_int_equal(xf_register_vcpu_info(&F, 0, 0, VINFO_PG), 0);
	/* xen_time_init(): no periodic timer, the runstate area (else BUG()), vm_assist */
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_stop_periodic_timer, 0, 0), 0);
	memset(rs, 0xa5, sizeof(*rs));
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_register_runstate_memory_area, 0,
			       xf_arg(&F, 0, &runstate_gva, sizeof(runstate_gva))),
			 0);
	assert_int_equal(rs->state, RUNSTATE_running);
	assert_int_equal(rs->time[RUNSTATE_runnable] + rs->time[RUNSTATE_offline],
			 0); /* no steal */
	assert_true(rs->state_entry_time <= xen_system_time(F.xen));
	value = XF_HOLE_GVA;
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_register_runstate_memory_area, 0,
			       xf_arg(&F, 0, &value, sizeof(value))),
			 -XEN_EFAULT);
	/* the vDSO's copy of the pvclock: the same clock */
	value = xf_gva(VINFO_PG + 0xc00);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_time_memory_area,
			       0, xf_arg(&F, 0, &value, sizeof(value))),
			 0);
	{
		const struct vcpu_time_info *a = xf_ptr(&F, VINFO_PG + 0xc00);
		const struct vcpu_time_info *b = &s->vcpu_info[0].time;

		assert_true(a->version && !(a->version & 1));
		assert_int_equal(a->tsc_timestamp, b->tsc_timestamp);
		assert_int_equal(a->system_time, b->system_time);
		assert_int_equal(a->tsc_to_system_mul, b->tsc_to_system_mul);
		assert_int_equal(a->tsc_shift, b->tsc_shift);
	}
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vm_assist, VMASST_CMD_enable,
			       VMASST_TYPE_runstate_update_flag, 0),
			 0);
	assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vm_assist, VMASST_CMD_enable, 0, 0),
			 -XEN_EINVAL);
	/* xen_init_IRQ(): FIFO refused, the per-vCPU upcall vector, then GSI 1 "to look
	 * enlightened" */
	{
		uint64_t ctl[2] = { VINFO_PG >> 12, 0 };

		assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_event_channel_op, EVTCHNOP_init_control,
				       xf_arg(&F, 0, ctl, sizeof(ctl)), 0),
				 -XEN_ENOSYS);
	}
	assert_int_equal(xf_set_upcall_vector(&F, 0, 0, VECTOR), 0);
	value = 1;
	assert_int_equal(hvm_param(0, HVMOP_set_param, HVM_PARAM_CALLBACK_IRQ, &value), 0);
	/* per CPU: resched, callfunc, debug VIRQ, callfuncsingle, spinlock kicker; CPU 1's
	 * bound by CPU 0 (xen_cpu_up_prepare_hvm), with its vcpu_info, before CPU 1 runs */
	for (unsigned int cpu = 0; cpu < 2; cpu++) {
		struct evtchn_bind_virq bv = { .virq = VIRQ_DEBUG, .vcpu = cpu };
		int64_t p;

		if (cpu == 1)
			assert_int_equal(xf_register_vcpu_info(&F, 0, 1, VINFO_PG + 0x40), 0);
		p = xf_bind_ipi(&F, 0, cpu);
		assert_true(p > 0);
		if (cpu == 1)
			resched1 = p;
		assert_true(xf_bind_ipi(&F, 0, cpu) > 0);
		assert_int_equal(xf_evtchn(&F, 0, EVTCHNOP_bind_virq, &bv, sizeof(bv)), 0);
		assert_true(xf_bind_ipi(&F, 0, cpu) > 0);
		assert_true(xf_bind_ipi(&F, 0, cpu) > 0);
	}
	/* xenbus and the PV console find no xenstore or console (0: "not set up") */
	for (uint32_t idx = 1; idx <= 2; idx++) { /* STORE_PFN, STORE_EVTCHN */
		value = 0xdead;
		assert_int_equal(hvm_param(0, HVMOP_get_param, idx, &value), 0);
		assert_int_equal(value, 0);
	}
	/* an IPI to CPU 1 before it set its upcall vector (the callback "via" is GSI 1, which
	 * delivers nothing): pending, and raised once CPU 1 sets its vector */
	guest_ack(vi1);
	r1 = raised(1);
	assert_int_equal(xf_send(&F, 0, (uint32_t)resched1), 0);
	assert_true(port_pending(s, (uint32_t)resched1));
	assert_int_equal(vi1->evtchn_upcall_pending, 1);
	assert_int_equal(raised(1), r1);
	assert_int_equal(xf_set_upcall_vector(&F, 1, 1, VECTOR), 0);
	assert_int_equal(raised(1), r1 + 1);
	assert_int_equal(atomic_load(&F.apic[1].last_vector), VECTOR);
	/* CPU 1's clock event: VIRQ_TIMER, a single-shot timer with flags 0 already expired
	 * (Linux wants the event anyway) */
	{
		struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 1 };

		assert_int_equal(xf_evtchn(&F, 1, EVTCHNOP_bind_virq, &bv, sizeof(bv)), 0);
		/* xen_set_irq_priority(): the 2-level ABI has none, as on Xen */
		{
			uint32_t prio[2] = { bv.port, 0 };

			assert_int_equal(xf_hc(&F, 1, __HYPERVISOR_event_channel_op,
					       EVTCHNOP_set_priority,
					       xf_arg(&F, 1, prio, sizeof(prio)), 0),
					 -XEN_ENOSYS);
		}
		guest_ack(vi1);
		t.timeout_abs_ns = xf_guest_time(&vi1->time) - 1000;
		assert_int_equal(xf_hc(&F, 1, __HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 1,
				       xf_arg(&F, 1, &t, sizeof(t))),
				 0);
		assert_true(wait_for(&F.apic[1].raised, r1 + 2, 2000));
		assert_true(port_pending(s, bv.port));
		/* only the vCPU itself may arm its timer */
		assert_int_equal(xf_hc(&F, 0, __HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 1,
				       xf_arg(&F, 0, &t, sizeof(t))),
				 -XEN_EINVAL);
	}
	xen_get_vcpu_stats(F.xen, 0, &st0);
	xen_get_vcpu_stats(F.xen, 1, &st1);
	assert_int_equal(st0.unsupported + st1.unsupported, 1); /* init_control */
	assert_int_equal(st0.evtchn_ops[EVTCHNOP_bind_ipi], 8);
	assert_int_equal(st0.evtchn_ops[EVTCHNOP_send], 1);
	assert_int_equal(st1.by_nr[__HYPERVISOR_hvm_op], 1);
	assert_int_equal(st1.evtchn_ops[EVTCHNOP_set_priority], 1);
}

/*
 * Linux sets a vCPU's upcall vector before its local APIC is enabled; KVM then drops the
 * interrupt (the glue reports it: xen_upcall_dropped). evtchn_upcall_pending stays set, so no
 * later event would raise it again: the owed upcall comes at the vCPU's next hypercall or
 * with the next event for it, and not when the guest took its events meanwhile.
 */
static void test_upcall_refused_by_apic(void **state)
{
	struct shared_info *s = shinfo(SHINFO_A);
	struct vcpu_info *vi = &s->vcpu_info[1];
	struct xen_vcpu_stats st;
	int64_t p1, p2;

	(void)state;
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_A), 0);
	assert_int_equal(xf_register_vcpu_info(&F, 0, 1, VINFO_PG), 0); /* marks all pending */
	vi = xf_ptr(&F, VINFO_PG);
	p1 = xf_bind_ipi(&F, 0, 1);
	p2 = xf_bind_ipi(&F, 0, 1);
	assert_true(p1 > 0 && p2 > 0);
	assert_int_equal(xf_set_upcall_vector(&F, 0, 1, VECTOR), 0);
	assert_int_equal(raised(1), 1);
	xen_upcall_dropped(F.xen, 1); /* that one hit a disabled APIC */
	/* an event while upcall_pending is still set: 2-level alone would not raise */
	assert_int_equal(xf_send(&F, 0, (uint32_t)p1), 0);
	assert_int_equal(raised(1), 2);
	assert_int_equal(xf_send(&F, 0, (uint32_t)p2), 0);
	assert_int_equal(raised(1), 2); /* owed once, paid once */
	/* refused again: the vCPU's own next hypercall pays it */
	xen_upcall_dropped(F.xen, 1);
	assert_int_equal(xf_hc(&F, 1, __HYPERVISOR_xen_version, XENVER_version, 0, 0), 0x40011);
	assert_int_equal(raised(1), 3);
	assert_int_equal(atomic_load(&F.apic[1].last_vector), VECTOR);
	assert_int_equal(xf_hc(&F, 1, __HYPERVISOR_xen_version, XENVER_version, 0, 0), 0x40011);
	assert_int_equal(raised(1), 3);
	/* the guest took its events before paying: nothing is owed */
	xen_upcall_dropped(F.xen, 1);
	guest_ack(vi);
	assert_int_equal(xf_hc(&F, 1, __HYPERVISOR_xen_version, XENVER_version, 0, 0), 0x40011);
	assert_int_equal(raised(1), 3);
	xen_get_vcpu_stats(F.xen, 1, &st);
	assert_int_equal(st.upcalls_reraised, 2);
	(void)s;
}

/* The stats name what was refused, in text and JSON. */
static void test_stats_unsupported(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	(void)state;
	assert_int_equal(xf_hc(&F, 1, __HYPERVISOR_hvm_op, 77, 0, 0), -XEN_ENOSYS);
	assert_int_equal(xf_hc(&F, 1, __HYPERVISOR_hvm_op, 77, 0, 0), -XEN_ENOSYS);
	assert_int_equal(xf_hc(&F, 1, 41, 0, 0, 0), -XEN_ENOSYS);
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	xen_print_stats_json(F.xen, out);
	fclose(out);
	assert_non_null(strstr(buf, "\"unsupported\":3,\"unsupported_ops\":{\"hvm_op/77\":2,"
				    "\"hypercall/41\":1}"));
	assert_non_null(strstr(buf, "\"id\":0,"));
	free(buf);
	out = open_memstream(&buf, &len);
	assert_non_null(out);
	xen_print_stats_core(F.xen, out);
	fclose(out);
	assert_non_null(strstr(buf, "unsupported 3 hvm_op/77=2 hypercall/41=1"));
	free(buf);
}

/* ---- hypercall page and CPUID ---------------------------------------------------------- */

static void test_hypercall_page(void **state)
{
	uint8_t *p = xf_ptr(&F, 0x220000);

	(void)state;
	assert_int_equal(xen_write_hypercall_page(F.xen, 0, 0x220000, 0x98), 0);
	/* stub 17 (xen_version): mov $17,%eax; out %eax,$0x98; ret */
	assert_int_equal(p[17 * 32 + 0], 0xb8);
	assert_int_equal(p[17 * 32 + 1], 17);
	assert_int_equal(p[17 * 32 + 4], 0);
	assert_int_equal(p[17 * 32 + 5], 0xe7);
	assert_int_equal(p[17 * 32 + 6], 0x98);
	assert_int_equal(p[17 * 32 + 7], 0xc3);
	assert_int_equal(p[127 * 32 + 1], 127);
	assert_int_equal(xen_write_hypercall_page(F.xen, 0, 0x220001, 0x98), -1); /* page 1 */
	assert_int_equal(xen_write_hypercall_page(F.xen, 0, XF_RAM_SIZE, 0x98), -1);
	assert_int_equal(xen_write_hypercall_page(F.xen, 0, 0x220000, 0x100), -1);
}

static void test_cpuid(void **state)
{
	/* a kvm_cpuid2 with room for 16 entries (a flexible array: no struct wrapper) */
	uint64_t buf[(sizeof(struct kvm_cpuid2) + 16 * sizeof(struct kvm_cpuid_entry2)) / 8];
	struct kvm_cpuid2 *cpuid = (struct kvm_cpuid2 *)buf;
	struct kvm_cpuid_entry2 *e = cpuid->entries;
	const struct kvm_cpuid_entry2 *x = NULL, *k = NULL;

	(void)state;
	memset(buf, 0, sizeof(buf));
	cpuid->nent = 4;
	e[0].function = 0;
	e[1].function = 0x40000000; /* KVM's signature leaf */
	e[1].eax = 0x40000001;
	e[1].ebx = 0x4b4d564b;
	e[2].function = 0x40000001;
	e[3].function = 0x80000000;
	assert_int_equal(xen_cpuid_fixup(cpuid, 16, 3, XEN_VERSION(4, 17), false, true), 0);
	assert_int_equal(cpuid->nent, 2 + 5);
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		if (e[i].function == 0x40000000)
			x = &e[i];
		assert_true(e[i].function < 0x40000100 || e[i].function >= 0x40000200);
	}
	assert_non_null(x);
	assert_int_equal(x->eax, 0x40000004);
	assert_int_equal(x->ebx, XEN_CPUID_SIGNATURE_EBX);
	assert_int_equal(x->ecx, XEN_CPUID_SIGNATURE_ECX);
	assert_int_equal(x->edx, XEN_CPUID_SIGNATURE_EDX);
	assert_int_equal(x[1].eax, 0x40011);
	assert_int_equal(x[2].eax, 1);
	assert_int_equal(x[2].ebx, XEN_HYPERCALL_MSR);
	assert_true(x[4].eax & XEN_HVM_CPUID_VCPU_ID_PRESENT);
	assert_true(x[4].eax & XEN_HVM_CPUID_UPCALL_VECTOR);
	assert_int_equal(x[4].ebx, 3);

	/* keeping KVM's: moved to 0x40000100 with its last-leaf pointer */
	memset(buf, 0, sizeof(buf));
	cpuid->nent = 2;
	e[0].function = 0x40000000;
	e[0].eax = 0x40000001;
	e[1].function = 0x40000001;
	assert_int_equal(xen_cpuid_fixup(cpuid, 16, 0, XEN_VERSION(4, 17), true, true), 0);
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		if (e[i].function == 0x40000100)
			k = &e[i];
	}
	assert_non_null(k);
	assert_int_equal(k->eax, 0x40000101);
	/* no per-vCPU upcall vectors offered: the guest takes the global callback vector */
	memset(buf, 0, sizeof(buf));
	cpuid->nent = 1;
	assert_int_equal(xen_cpuid_fixup(cpuid, 16, 1, XEN_VERSION(4, 17), false, false), 0);
	assert_int_equal(e[1].function, 0x40000000);
	assert_int_equal(e[5].function, 0x40000004);
	assert_false(e[5].eax & XEN_HVM_CPUID_UPCALL_VECTOR);
	assert_true(e[5].eax & XEN_HVM_CPUID_VCPU_ID_PRESENT);
	assert_int_equal(e[5].ebx, 1);
	/* no room */
	memset(buf, 0, sizeof(buf));
	cpuid->nent = 12;
	assert_int_equal(xen_cpuid_fixup(cpuid, 16, 0, XEN_VERSION(4, 17), false, true), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_info_map_and_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipi_2level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_callback_param, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mask_unmask, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loopback_interdomain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_virq_timer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timer_moves, setup_no_timer_thread, teardown),
		cmocka_unit_test_setup_teardown(test_timer_unmoved_fires, setup, teardown),
		cmocka_unit_test_setup_teardown(test_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shutdown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_vcpu_info, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_vs_discard_and_conversion, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_balloon, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_hvm_boot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upcall_refused_by_apic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stats_unsupported, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hypercall_page, setup, teardown),
		cmocka_unit_test(test_cpuid),
	};

	return cmocka_run_group_tests_name("xen", tests, NULL, NULL);
}
