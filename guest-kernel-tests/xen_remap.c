/* SPDX-License-Identifier: MIT */
/*
 * The send-versus-remap race (minivmm --xen --cpus 2): vCPU 1 sends to vCPU 0 without a
 * pause, each send waiting only for the previous one to be seen, while vCPU 0 keeps moving
 * shared_info (XENMEM_add_to_physmap) and its vcpu_info (VCPUOP_register_vcpu_info) between
 * pages and has the host discard each old page (test device). Checks: no send is lost (the
 * sender would wait forever: bounded) or doubled (counts match), and nothing is written to
 * a page after it was left and discarded (it reads all zero when it is taken again).
 * moves= (default 40) sets the length of the run.
 */
#include "rt/testdev.h"
#include "rt/xen.h"

#define MS 1000000ul
#define NPAGES 3

static struct shared_info shinfo_pool[NPAGES] __attribute__((aligned(4096)));
static uint8_t vinfo_pool[NPAGES][4096] __attribute__((aligned(4096)));
static struct vcpu_info ap_vcpu_info __attribute__((aligned(64)));

/*
 * A send counts as lost when its event has not arrived after this long. Generous on purpose:
 * on a loaded host the emulated receiver can be descheduled for seconds, and a truly lost
 * event never arrives at all.
 */
#define LOST_AFTER_NS (20000 * MS)

static uint32_t port0;
static volatile uint32_t received, sent, stop, ap_ready, ap_fail, ap_stuck, ap_stopped;

static void rx(uint32_t port, void *arg)
{
	(void)port, (void)arg;
	received++;
}

/* the sender: send, wait (bounded) until vCPU 0 saw it, again */
static void ap_main(uint32_t apic_id)
{
	if (apic_id != 1 || !xen_cpu_setup(1) || xen_register_vcpu_info(1, &ap_vcpu_info)) {
		ap_fail = 1;
		ap_ready = 1;
		return;
	}
	ap_ready = 1;
	while (!stop) {
		uint64_t t0;

		if (xen_send(port0)) {
			ap_fail = 1;
			break;
		}
		sent++;
		for (t0 = xen_time_ns(); received < sent && !stop;) {
			if (xen_time_ns() - t0 > LOST_AFTER_NS) {
				ap_stuck = 1; /* lost */
				stop = 1;
				break;
			}
			cpu_relax();
		}
	}
	ap_stopped = 1; /* `sent` is final: a send may follow the BSP's stop by one round */
}

static bool page_zero(const void *p)
{
	const volatile uint64_t *q = p;

	for (unsigned i = 0; i < 512; i++)
		if (q[i])
			return false;
	return true;
}

int test_main(void)
{
	uint64_t moves = 40, t0;
	unsigned cur = 0, vcur = 0, dirty = 0;
	bool ok = true;
	long p;

	cmdline_get_u64("moves", &moves);
	if (!xen_setup() || !xen_cpu_setup(0))
		return 1;
	/* start in the pools */
	if (xen_map_shared_info(&shinfo_pool[0]) ||
	    xen_register_vcpu_info(0, (struct vcpu_info *)vinfo_pool[0]))
		return 1;
	p = xen_bind_ipi(0);
	if (p <= 0)
		return 1;
	port0 = (uint32_t)p;
	xen_port_handler(port0, 0, rx, 0);
	if (!smp_start_aps(2, ap_main))
		return 1;
	for (t0 = xen_time_ns(); !ap_ready && xen_time_ns() - t0 < 10000 * MS;)
		cpu_relax();
	if (!ap_ready || ap_fail)
		return 1;

	for (uint64_t m = 0; m < moves && !stop; m++) {
		unsigned next = (cur + 1) % NPAGES, vnext = (vcur + 1) % NPAGES;
		unsigned off = (unsigned)(m % 60) * 64;
		uint64_t old_s = (uintptr_t)&shinfo_pool[cur], old_v = (uintptr_t)vinfo_pool[vcur];

		/* a page taken again must still be as the discard left it */
		if (!page_zero(&shinfo_pool[next]) || !page_zero(vinfo_pool[vnext])) {
			printf("xen_remap: FAIL: move %lu: a discarded page was written to\n", m);
			dirty++;
		}
		irq_disable();
		XEN_EXPECT(&ok, xen_map_shared_info(&shinfo_pool[next]), 0);
		XEN_EXPECT(&ok,
			   xen_register_vcpu_info(0, (struct vcpu_info *)(vinfo_pool[vnext] + off)),
			   0);
		irq_enable(); /* events that raced the moves arrive now */
		cur = next;
		vcur = vnext;
		XEN_EXPECT(&ok, testdev_discard(old_s, 4096), 0);
		XEN_EXPECT(&ok, testdev_discard(old_v, 4096), 0);
		for (t0 = xen_time_ns(); xen_time_ns() - t0 < 5 * MS;)
			cpu_relax(); /* take some sends between moves */
	}
	stop = 1;
	for (t0 = xen_time_ns(); !ap_stopped && xen_time_ns() - t0 < LOST_AFTER_NS;)
		cpu_relax();
	for (t0 = xen_time_ns(); received < sent && xen_time_ns() - t0 < LOST_AFTER_NS;)
		cpu_relax();
	irq_disable();
	for (unsigned i = 0; i < NPAGES; i++)
		if (i != cur && !page_zero(&shinfo_pool[i]))
			dirty++;
	for (unsigned i = 0; i < NPAGES; i++)
		if (i != vcur && !page_zero(vinfo_pool[i]))
			dirty++;
	printf("xen_remap: %lu moves of shared_info and vcpu_info, old pages discarded; %u sends, "
	       "%u received\n",
	       moves, sent, received);
	if (ap_stuck || ap_fail || received != sent || dirty) {
		printf("xen_remap: FAIL: stuck %u fail %u sent %u received %u stale writes %u\n",
		       ap_stuck, ap_fail, sent, received, dirty);
		ok = false;
	}
	if (sent < moves / 4 || !sent) {
		printf("xen_remap: FAIL: only %u sends raced %lu moves\n", sent, moves);
		ok = false;
	}
	printf("xen_remap: %s\n", ok ? "OK" : "FAILED");
	return ok ? 0 : 1;
}
