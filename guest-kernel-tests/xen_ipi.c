/* SPDX-License-Identifier: MIT */
/*
 * IPIs over Xen event channels between 2 vCPUs (minivmm --xen --cpus 2): each vCPU binds an
 * IPI port to itself; the BSP sends, the AP's upcall handler answers, n round trips (n=,
 * default 100). Every ping and every answer must arrive exactly once. Then: the AP in
 * SCHEDOP_poll is woken by a send from the BSP; an interdomain loopback port is moved to the
 * AP with bind_vcpu. Prints the send-to-upcall latency and sends per second.
 */
#include "rt/xen.h"

#define MS 1000000ul

static uint32_t port_bsp, port_ap, port_moved;
static volatile uint32_t port_poll;
static volatile uint32_t rx_bsp, rx_ap, rx_moved, timed_out;
static volatile uint32_t ap_ready, ap_polling, ap_done, ap_fail;
static volatile uint64_t ap_poll_ns;
static struct vcpu_info ap_vcpu_info __attribute__((aligned(64)));

static void bsp_rx(uint32_t port, void *arg)
{
	(void)port, (void)arg;
	rx_bsp++;
}

static void ap_rx(uint32_t port, void *arg)
{
	(void)port, (void)arg;
	rx_ap++;
	if (port_poll)
		return;		/* just a wake-up for the next phase */
	if (xen_send(port_bsp)) /* answer from the handler, as Linux's IPI handlers may */
		ap_fail = 1;
}

static void watchdog(uint32_t port, void *arg)
{
	(void)port, (void)arg;
	timed_out = 1;
}

static void moved_rx(uint32_t port, void *arg)
{
	(void)port, (void)arg;
	rx_moved++;
}

static long poll_one(uint32_t port, uint64_t timeout)
{
	struct sched_poll p = {
		.ports = (uint64_t)(uintptr_t)&port,
		.nr_ports = 1,
		.timeout = timeout,
	};

	return xen_op(__HYPERVISOR_sched_op, SCHEDOP_poll, &p);
}

static void ap_main(uint32_t apic_id)
{
	long p;
	uint64_t t0;

	/* its own vcpu_info, registered by itself */
	if (apic_id != 1 || !xen_cpu_setup(1) || xen_register_vcpu_info(1, &ap_vcpu_info)) {
		ap_fail = 1;
		ap_ready = 1;
		return;
	}
	p = xen_bind_ipi(1);
	if (p <= 0) {
		ap_fail = 1;
		ap_ready = 1;
		return;
	}
	port_ap = (uint32_t)p;
	xen_port_handler(port_ap, 1, ap_rx, 0);
	__atomic_store_n(&ap_ready, 1, __ATOMIC_SEQ_CST);

	/* serve pings, idle in hlt, until the BSP moves on to the poll test */
	while (!port_poll)
		wait_for_interrupt();

	/* poll with interrupts off: woken by the BSP's send, long before 5 s */
	ap_polling = 1;
	t0 = xen_time_ns();
	if (poll_one(port_poll, t0 + 5000 * MS))
		ap_fail = 1;
	ap_poll_ns = xen_time_ns() - t0;
	if (!xen_pending(port_poll) && !xen_kvm_transport())
		ap_fail = 1;
	ap_done = 1;
	/*
	 * Idle in SCHEDOP_block (the VM stops while this vCPU sleeps in the VMM). It returns with
	 * an upcall pending; sti; hlt takes it (under PVM a one-instruction sti window may not).
	 */
	for (;;) {
		if (xen_hcall(__HYPERVISOR_sched_op, SCHEDOP_block, 0, 0))
			ap_fail = 1;
		wait_for_interrupt();
	}
}

/* sleep in hlt until *c reaches want or the watchdog timer fires */
static bool wait_count(volatile uint32_t *c, uint32_t want, uint64_t ms)
{
	timed_out = 0;
	if (xen_set_timer(xen_time_ns() + ms * MS))
		return false;
	while (*c < want && !timed_out)
		wait_for_interrupt();
	xen_set_timer(0);
	return *c >= want;
}

int test_main(void)
{
	uint64_t n = 100, t0, t1, rtt;
	bool ok = true;
	long p;

	cmdline_get_u64("n", &n);
	if (!xen_setup() || !xen_cpu_setup(0))
		return 1;
	p = xen_bind_ipi(0);
	if (p <= 0)
		return 1;
	port_bsp = (uint32_t)p;
	xen_port_handler(port_bsp, 0, bsp_rx, 0);
	p = xen_bind_virq(VIRQ_TIMER, 0);
	if (p <= 0)
		return 1;
	xen_port_handler((uint32_t)p, 0, watchdog, 0);
	if (!smp_start_aps(2, ap_main))
		return 1;
	for (t0 = xen_time_ns(); !ap_ready && xen_time_ns() - t0 < 10000 * MS;)
		cpu_relax();
	if (!ap_ready || ap_fail) {
		printf("xen_ipi: FAIL: the AP did not set up (ready %u fail %u)\n", ap_ready,
		       ap_fail);
		return 1;
	}

	/* ping-pong: the BSP sleeps in hlt for each answer; a watchdog bounds the whole run */
	timed_out = 0;
	XEN_EXPECT(&ok, xen_set_timer(xen_time_ns() + (n * 50 + 2000) * MS), 0);
	t0 = rdtsc();
	for (uint32_t i = 0; i < n; i++) {
		XEN_EXPECT(&ok, xen_send(port_ap), 0);
		while (rx_bsp < i + 1 && !timed_out)
			wait_for_interrupt();
		if (timed_out) {
			printf("xen_ipi: FAIL: round trip %u lost (pings seen %u, answers %u)\n", i,
			       rx_ap, rx_bsp);
			return 1;
		}
	}
	t1 = rdtsc();
	xen_set_timer(0);
	wait_count(&rx_bsp, n + 1, 20); /* a doubled event would show up now */
	if (rx_ap != n || rx_bsp != n || ap_fail) {
		printf("xen_ipi: FAIL: %lu pings sent, %u received, %u answers received\n", n,
		       rx_ap, rx_bsp);
		ok = false;
	}
	rtt = xen_tsc_to_ns(t1 - t0) / n;
	printf("xen_ipi: %lu round trips, none lost or doubled; round trip %lu us, send-to-upcall "
	       "about %lu us, %lu sends/s\n",
	       n, rtt / 1000, rtt / 2000, rtt ? 2000000000ul / rtt : 0);

	/* the AP polls a port; our send wakes it */
	p = xen_bind_ipi(1);
	if (p <= 0)
		return 1;
	xen_mask((uint32_t)p);
	__atomic_store_n(&port_poll, (uint32_t)p, __ATOMIC_SEQ_CST);
	XEN_EXPECT(&ok, xen_send(port_ap), 0); /* wakes the AP from hlt; not answered */
	for (t0 = xen_time_ns(); !ap_polling && xen_time_ns() - t0 < 10000 * MS;)
		cpu_relax();
	for (t0 = xen_time_ns(); xen_time_ns() - t0 < 20 * MS;)
		cpu_relax(); /* let it sleep in the poll */
	XEN_EXPECT(&ok, xen_send(port_poll), 0);
	for (t0 = xen_time_ns(); !ap_done && xen_time_ns() - t0 < 10000 * MS;)
		cpu_relax();
	XEN_EXPECT(&ok, rx_ap, n + 1);
	if (xen_kvm_transport()) {
		/* KVM serves SCHEDOP_poll as a yield there: it returns at once */
		printf("xen_ipi: SCHEDOP_poll is served by KVM (as a yield) under KVM_EXIT_XEN: "
		       "returned after %lu us, not checked\n",
		       ap_poll_ns / 1000);
	} else if (!ap_done || ap_fail || ap_poll_ns > 4000 * MS || ap_poll_ns < 10 * MS) {
		printf("xen_ipi: FAIL: poll on the AP: done %u fail %u after %lu ns\n", ap_done,
		       ap_fail, ap_poll_ns);
		ok = false;
	} else {
		printf("xen_ipi: SCHEDOP_poll on vCPU 1 woken by vCPU 0's send after %lu us\n",
		       ap_poll_ns / 1000);
	}

	/* bind_vcpu: a loopback port's events go to the AP */
	{
		struct evtchn_alloc_unbound au = { .dom = DOMID_SELF, .remote_dom = DOMID_SELF };
		struct evtchn_bind_interdomain bi = { .remote_dom = DOMID_SELF };
		struct evtchn_bind_vcpu bv = { .vcpu = 1 };

		XEN_EXPECT(&ok, xen_evtchn_op(EVTCHNOP_alloc_unbound, &au), 0);
		port_moved = au.port;
		xen_port_handler(port_moved, 1, moved_rx, 0);
		bv.port = port_moved;
		XEN_EXPECT(&ok, xen_evtchn_op(EVTCHNOP_bind_vcpu, &bv), 0);
		bi.remote_port = port_moved;
		XEN_EXPECT(&ok, xen_evtchn_op(EVTCHNOP_bind_interdomain, &bi), 0);
		xen_mask(bi.local_port);
		XEN_EXPECT(&ok, xen_send(bi.local_port), 0);
		if (!wait_count(&rx_moved, 1, 2000)) {
			printf("xen_ipi: FAIL: the event moved by bind_vcpu did not reach vCPU 1\n");
			ok = false;
		}
		bv.vcpu = 2;
		XEN_EXPECT(&ok, xen_evtchn_op(EVTCHNOP_bind_vcpu, &bv), -XEN_ENOENT);
	}
	printf("xen_ipi: upcalls: vCPU 0 %lu, vCPU 1 %lu\n", xen_upcalls[0], xen_upcalls[1]);
	ok &= xen_callback_check("xen_ipi");
	printf("xen_ipi: %s\n", ok ? "OK" : "FAILED");
	return ok ? 0 : 1;
}
