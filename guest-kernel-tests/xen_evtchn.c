/* SPDX-License-Identifier: MIT */
/*
 * Xen event channels on one vCPU (minivmm --xen), events delivered as upcalls on the
 * per-vCPU vector: loopback interdomain (alloc_unbound + bind_interdomain to ourselves),
 * mask/unmask (an event sent while masked arrives on unmask), status and close, VIRQ_TIMER
 * from the single-shot timer and set_timer_op, SCHEDOP_poll (times out; wakes on the
 * polled port), SCHEDOP_block (wakes on an upcall), EVTCHNOP_reset.
 */
#include "rt/xen.h"

#define MS 1000000ull

static volatile uint32_t hits_a, hits_b, hits_timer;

static void count(uint32_t port, void *arg)
{
	(void)port;
	(*(volatile uint32_t *)arg)++;
}

/* spin with interrupts on until *c reaches want or ms pass; true if it did */
static bool wait_count(volatile uint32_t *c, uint32_t want, uint64_t ms)
{
	uint64_t end = xen_time_ns() + ms * MS;

	irq_enable();
	while (*c < want && xen_time_ns() < end)
		cpu_relax();
	irq_disable();
	return *c >= want;
}

static long status_of(uint32_t port, struct evtchn_status *s)
{
	memset(s, 0, sizeof(*s));
	s->dom = DOMID_SELF;
	s->port = port;
	return xen_evtchn_op(EVTCHNOP_status, s);
}

static long poll_ports(uint32_t *ports, uint32_t n, uint64_t timeout)
{
	struct sched_poll p = {
		.ports = (uint64_t)(uintptr_t)ports,
		.nr_ports = n,
		.timeout = timeout,
	};

	return xen_op(__HYPERVISOR_sched_op, SCHEDOP_poll, &p);
}

static long singleshot(uint64_t deadline, uint32_t flags)
{
	struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = deadline, .flags = flags };

	return xen_hcall(__HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, 0, (uintptr_t)&t);
}

static void loopback_and_mask(bool *ok)
{
	struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = DOMID_SELF };
	struct evtchn_bind_interdomain bi = { .remote_dom = DOMID_SELF };
	struct evtchn_status st;
	uint32_t a, b;

	XEN_EXPECT(ok, xen_evtchn_op(EVTCHNOP_alloc_unbound, &au), 0);
	a = au.port;
	xen_port_handler(a, 0, count, (void *)&hits_a);
	XEN_EXPECT(ok, status_of(a, &st), 0);
	XEN_EXPECT(ok, st.status, EVTCHNSTAT_unbound);
	bi.remote_port = a;
	XEN_EXPECT(ok, xen_evtchn_op(EVTCHNOP_bind_interdomain, &bi), 0);
	b = bi.local_port;
	xen_port_handler(b, 0, count, (void *)&hits_b);
	/* Xen notifies a fresh interdomain binding at once */
	if (!wait_count(&hits_b, 1, 1000)) {
		printf("xen_evtchn: FAIL: no notification on binding\n");
		*ok = false;
	}
	XEN_EXPECT(ok, xen_send(b), 0);
	if (!wait_count(&hits_a, 1, 1000)) {
		printf("xen_evtchn: FAIL: loopback b -> a lost\n");
		*ok = false;
	}
	XEN_EXPECT(ok, xen_send(a), 0);
	if (!wait_count(&hits_b, 2, 1000)) {
		printf("xen_evtchn: FAIL: loopback a -> b lost\n");
		*ok = false;
	}
	XEN_EXPECT(ok, status_of(b, &st), 0);
	XEN_EXPECT(ok, st.status, EVTCHNSTAT_interdomain);
	XEN_EXPECT(ok, st.u.interdomain.port, a);
	printf("xen_evtchn: loopback %u <-> %u: delivered both ways\n", a, b);

	/* masked: pending, no upcall; the unmask hypercall delivers it */
	xen_mask(a);
	XEN_EXPECT(ok, xen_send(b), 0);
	if (wait_count(&hits_a, 2, 20)) {
		printf("xen_evtchn: FAIL: a masked event was delivered\n");
		*ok = false;
	}
	XEN_EXPECT(ok, xen_pending(a), 1);
	XEN_EXPECT(ok, xen_unmask(a), 0);
	if (!wait_count(&hits_a, 2, 1000)) {
		printf("xen_evtchn: FAIL: the event sent while masked did not arrive on unmask\n");
		*ok = false;
	}
	XEN_EXPECT(ok, hits_a, 2);
	XEN_EXPECT(ok, hits_b, 2);
	printf("xen_evtchn: mask/unmask: the event sent while masked arrived on unmask\n");

	/* close one end: the other becomes unbound and sends to it go nowhere */
	XEN_EXPECT(ok, xen_close(a), 0);
	XEN_EXPECT(ok, status_of(b, &st), 0);
	XEN_EXPECT(ok, st.status, EVTCHNSTAT_unbound);
	XEN_EXPECT(ok, xen_send(b), 0);
	XEN_EXPECT(ok, xen_send(a), -XEN_EINVAL);
	XEN_EXPECT(ok, xen_close(b), 0);
}

static void timers(bool *ok, uint32_t tport)
{
	uint64_t t0, t1;

	/* the single-shot timer fires VIRQ_TIMER */
	t0 = xen_time_ns();
	XEN_EXPECT(ok, singleshot(t0 + 5 * MS, VCPU_SSHOTTMR_future), 0);
	if (!wait_count(&hits_timer, 1, 2000)) {
		printf("xen_evtchn: FAIL: no VIRQ_TIMER\n");
		*ok = false;
	}
	t1 = xen_time_ns();
	if (t1 - t0 < 5 * MS) {
		printf("xen_evtchn: FAIL: the timer fired early (%lu ns)\n", t1 - t0);
		*ok = false;
	}
	printf("xen_evtchn: VIRQ_TIMER after %lu us (asked 5000)\n", (t1 - t0) / 1000);
	XEN_EXPECT(ok, singleshot(1, VCPU_SSHOTTMR_future), -XEN_ETIME);
	/* stopped before its deadline: nothing (a loaded host may delay the stop past it) */
	t0 = xen_time_ns() + 50 * MS;
	XEN_EXPECT(ok, singleshot(t0, 0), 0);
	XEN_EXPECT(ok, xen_hcall(__HYPERVISOR_vcpu_op, VCPUOP_stop_singleshot_timer, 0, 0), 0);
	t1 = xen_time_ns();
	if (wait_count(&hits_timer, 2, 100) && t1 < t0) {
		printf("xen_evtchn: FAIL: a stopped timer fired\n");
		*ok = false;
	}
	hits_timer = 1;
	/* set_timer_op is the same timer */
	XEN_EXPECT(ok, xen_set_timer(xen_time_ns() + 2 * MS), 0);
	if (!wait_count(&hits_timer, 2, 2000)) {
		printf("xen_evtchn: FAIL: set_timer_op did not fire\n");
		*ok = false;
	}

	/* SCHEDOP_block returns once the timer's upcall is pending (interrupts off here) */
	t0 = xen_time_ns();
	XEN_EXPECT(ok, singleshot(t0 + 5 * MS, 0), 0);
	XEN_EXPECT(ok, xen_hcall(__HYPERVISOR_sched_op, SCHEDOP_block, 0, 0), 0);
	t1 = xen_time_ns();
	XEN_EXPECT(ok, xen_pending(tport), 1);
	if (t1 - t0 < 5 * MS || t1 - t0 > 2000 * MS) {
		printf("xen_evtchn: FAIL: SCHEDOP_block returned after %lu ns\n", t1 - t0);
		*ok = false;
	}
	wait_count(&hits_timer, 3, 1000);
	printf("xen_evtchn: SCHEDOP_block woke on the timer upcall after %lu us\n",
	       (t1 - t0) / 1000);
}

static void polls(bool *ok, uint32_t tport)
{
	uint32_t ports[2];
	uint64_t t0, t1;
	long p = xen_bind_ipi(0);

	if (xen_kvm_transport()) {
		ports[0] = tport;
		XEN_EXPECT(ok, poll_ports(ports, 1, xen_time_ns() + 10 * MS), 0);
		printf("xen_evtchn: SCHEDOP_poll is served by KVM (as a yield) under KVM_EXIT_XEN: "
		       "not checked\n");
		return;
	}
	if (p <= 0) {
		printf("xen_evtchn: FAIL: bind_ipi %ld\n", p);
		*ok = false;
		return;
	}
	xen_mask((uint32_t)p); /* no handler: only poll looks at it */
	ports[0] = (uint32_t)p;
	ports[1] = tport;

	/* nothing pending: returns at the timeout */
	t0 = xen_time_ns();
	XEN_EXPECT(ok, poll_ports(ports, 1, t0 + 10 * MS), 0);
	t1 = xen_time_ns();
	if (t1 - t0 < 10 * MS || xen_pending(ports[0])) {
		printf("xen_evtchn: FAIL: poll returned after %lu ns\n", t1 - t0);
		*ok = false;
	}
	printf("xen_evtchn: poll timed out after %lu us (asked 10000)\n", (t1 - t0) / 1000);

	/* wakes on a polled port: the timer's, long before the timeout */
	t0 = xen_time_ns();
	XEN_EXPECT(ok, singleshot(t0 + 5 * MS, 0), 0);
	XEN_EXPECT(ok, poll_ports(ports, 2, t0 + 3000 * MS), 0);
	t1 = xen_time_ns();
	if (!xen_pending(tport) || t1 - t0 > 1500 * MS) {
		printf("xen_evtchn: FAIL: poll did not wake on the polled port (%lu ns)\n",
		       t1 - t0);
		*ok = false;
	}
	printf("xen_evtchn: poll woke on its port after %lu us\n", (t1 - t0) / 1000);
	wait_count(&hits_timer, 4, 1000);

	/* a pending port: at once */
	XEN_EXPECT(ok, xen_send(ports[0]), 0);
	t0 = xen_time_ns();
	XEN_EXPECT(ok, poll_ports(ports, 1, t0 + 3000 * MS), 0);
	if (xen_time_ns() - t0 > 1000 * MS) {
		printf("xen_evtchn: FAIL: poll of a pending port blocked\n");
		*ok = false;
	}
	XEN_EXPECT(ok, poll_ports(ports, 129, 0), -XEN_EINVAL);
	ports[1] = 0;
	XEN_EXPECT(ok, poll_ports(ports, 2, 0), -XEN_EINVAL);
	XEN_EXPECT(ok, poll_ports((uint32_t *)0x7fff00000000ull, 1, 0), -XEN_EFAULT);
}

int test_main(void)
{
	struct evtchn_status st;
	struct evtchn_reset reset = { .dom = DOMID_SELF };
	bool ok = true;
	long tport;

	if (!xen_setup() || !xen_cpu_setup(0))
		return 1;
	loopback_and_mask(&ok);
	tport = xen_bind_virq(VIRQ_TIMER, 0);
	if (tport <= 0) {
		printf("xen_evtchn: FAIL: bind_virq %ld\n", tport);
		return 1;
	}
	xen_port_handler((uint32_t)tport, 0, count, (void *)&hits_timer);
	XEN_EXPECT(&ok, xen_bind_virq(VIRQ_TIMER, 0), -XEN_EEXIST);
	timers(&ok, (uint32_t)tport);
	polls(&ok, (uint32_t)tport);

	XEN_EXPECT(&ok, xen_evtchn_op(EVTCHNOP_reset, &reset), 0);
	XEN_EXPECT(&ok, status_of((uint32_t)tport, &st), 0);
	XEN_EXPECT(&ok, st.status, EVTCHNSTAT_closed);
	ok &= xen_callback_check("xen_evtchn");
	printf("xen_evtchn: %s\n", ok ? "OK" : "FAILED");
	return ok ? 0 : 1;
}
