// SPDX-License-Identifier: MIT
/*
 * Stress of the Xen dispatcher with threads as vCPUs against fake guest memory (xen_fake.h),
 * run in the debug (lockdep), ASan+UBSan and TSan builds.
 *
 * test_pingpong_under_remap: two pairs of vCPUs play IPI ping-pong (bind_ipi + send) in
 * lockstep, one pair waiting in SCHEDOP_block, the other in SCHEDOP_poll, while
 *  - every vCPU keeps moving its own vcpu_info (VCPUOP_register_vcpu_info) and vCPU 0 keeps
 *    moving shared_info (XENMEM_add_to_physmap), and the old pages are discarded right after;
 *  - two vCPUs run a single-shot timer (VIRQ_TIMER) continuously;
 *  - every vCPU opens, uses and closes loopback channels (port-table churn);
 *  - a host thread invalidates the live pages over and over (the caches must refresh).
 * It asserts: every ping answered exactly once (none lost: the pair would stall; none
 * doubled: counts match), no write ever lands in a page after it was left and discarded
 * (checked when the page is taken again), timers fired, nothing undeliverable, no deadlock.
 *
 * test_chaos: vCPUs issue random hypercalls with random and hostile arguments while a host
 * thread discards and converts (private and back) the pages shared_info and vcpu_info live
 * in. It asserts only safety: every result is 0, a count or a Xen errno; no crash (a stale
 * pointer into a private page faults: its access view is PROT_NONE); no lockdep report.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "xen_fake.h"

#define NR_VCPUS 4
#define RUN_MS 1500
#define STALL_NS (20ull * 1000000000ull)
#define WATCHDOG_S 240
#define VECTOR 0xf3

#define SHINFO_POOL(k) (0x200000ull + (uint64_t)(k)*0x1000)
#define VINFO_POOL(v, k) (0x210000ull + ((uint64_t)(v)*3 + (uint64_t)(k)) * 0x1000)
#define POOL_START 0x200000ull
#define POOL_END 0x400000ull

static struct xf F;

static void watchdog(int sig)
{
	static const char msg[] = "test_xen_stress: watchdog fired: deadlock or lost wake-up?\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	abort();
}

static bool page_is_zero(uint64_t gpa)
{
	const uint64_t *p = xf_ptr(&F, gpa);

	for (unsigned int i = 0; i < 512; i++) {
		if (__atomic_load_n(&p[i], __ATOMIC_RELAXED))
			return false;
	}
	return true;
}

/* ---- ping-pong under remapping ---------------------------------------------------------- */

struct gvcpu {
	unsigned int id;
	bool pinger;
	bool use_poll;
	uint32_t my_port, peer_port, timer_port;
	_Atomic uint64_t vinfo_gpa; /* where this (guest) vCPU put its vcpu_info */
	unsigned int vinfo_k;
	uint64_t received, sent, timer_events, rounds;
	unsigned int seed;
	bool stalled;
};

static struct gvcpu G[NR_VCPUS];
static pthread_rwlock_t guest_shinfo_lock = PTHREAD_RWLOCK_INITIALIZER;
static _Atomic uint64_t guest_shinfo_gpa;
static _Atomic bool run_stop, host_stop;
static _Atomic uint64_t violations, shinfo_moves, vinfo_moves, churn;

/* The guest's 2-level upcall handler for the ports bound to this vCPU. */
static void guest_handle(struct gvcpu *g)
{
	struct shared_info *s;
	struct vcpu_info *vi;
	uint64_t sel;

	pthread_rwlock_rdlock(&guest_shinfo_lock);
	s = xf_ptr(&F, atomic_load(&guest_shinfo_gpa));
	vi = xf_ptr(&F, atomic_load(&g->vinfo_gpa));
	__atomic_store_n(&vi->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
	sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
	while (sel) {
		unsigned int w = (unsigned int)__builtin_ctzll(sel);
		uint32_t mine[2] = { g->my_port, g->timer_port };

		sel &= sel - 1;
		for (unsigned int i = 0; i < 2; i++) {
			uint64_t bit = 1ull << (mine[i] % 64);

			if (!mine[i] || mine[i] / 64 != w)
				continue;
			if (__atomic_load_n(&s->evtchn_mask[w], __ATOMIC_SEQ_CST) & bit)
				continue;
			if (!(__atomic_fetch_and(&s->evtchn_pending[w], ~bit, __ATOMIC_SEQ_CST) &
			      bit))
				continue;
			if (i == 0) {
				g->received++;
			} else {
				g->timer_events++;
			}
		}
	}
	pthread_rwlock_unlock(&guest_shinfo_lock);
}

static void wait_event(struct gvcpu *g)
{
	if (g->use_poll) {
		struct sched_poll p = { .ports = xf_gva(XF_SCRATCH(g->id) + 512),
					.nr_ports = 1,
					.timeout = xen_system_time(F.xen) + 20000000 };

		memcpy(xf_ptr(&F, XF_SCRATCH(g->id) + 512), &g->my_port, 4);
		assert_int_equal(xf_hc(&F, g->id, __HYPERVISOR_sched_op, SCHEDOP_poll,
				       xf_arg(&F, g->id, &p, sizeof(p)), 0),
				 0);
	} else {
		assert_int_equal(xf_hc(&F, g->id, __HYPERVISOR_sched_op, SCHEDOP_block, 0, 0), 0);
	}
	guest_handle(g); /* the upcall, once interrupts are enabled again */
}

static void move_vcpu_info(struct gvcpu *g)
{
	uint64_t old = atomic_load(&g->vinfo_gpa), next;

	g->vinfo_k = (g->vinfo_k + 1) % 3;
	next = VINFO_POOL(g->id, g->vinfo_k);
	if (!page_is_zero(next))
		atomic_fetch_add(&violations, 1); /* something wrote after it was discarded */
	next += (uint64_t)(rand_r(&g->seed) % 64) * 64;
	assert_int_equal(xf_register_vcpu_info(&F, g->id, g->id, next), 0);
	atomic_store(&g->vinfo_gpa, next);
	guest_handle(g); /* registration marks everything pending */
	assert_int_equal(guest_mem_discard(&F.mem, old & ~0xfffull, 4096), 0);
	atomic_fetch_add(&vinfo_moves, 1);
}

static void move_shared_info(struct gvcpu *g)
{
	static unsigned int k;
	uint64_t old = atomic_load(&guest_shinfo_gpa), next = SHINFO_POOL((k = (k + 1) % 3));

	(void)g;
	pthread_rwlock_wrlock(&guest_shinfo_lock);
	if (!page_is_zero(next))
		atomic_fetch_add(&violations, 1);
	assert_int_equal(xf_map_shinfo(&F, 0, next), 0);
	atomic_store(&guest_shinfo_gpa, next);
	pthread_rwlock_unlock(&guest_shinfo_lock);
	assert_int_equal(guest_mem_discard(&F.mem, old, 4096), 0);
	atomic_fetch_add(&shinfo_moves, 1);
}

static void loopback_churn(struct gvcpu *g)
{
	struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = DOMID_SELF };
	struct evtchn_bind_interdomain b = { .remote_dom = DOMID_SELF };

	assert_int_equal(xf_evtchn(&F, g->id, EVTCHNOP_alloc_unbound, &a, sizeof(a)), 0);
	b.remote_port = a.port;
	assert_int_equal(xf_evtchn(&F, g->id, EVTCHNOP_bind_interdomain, &b, sizeof(b)), 0);
	assert_int_equal(xf_send(&F, g->id, b.local_port), 0);
	assert_int_equal(xf_port_op(&F, g->id, EVTCHNOP_close, b.local_port), 0);
	assert_int_equal(xf_port_op(&F, g->id, EVTCHNOP_close, a.port), 0);
	atomic_fetch_add(&churn, 1);
}

static void arm_timer(struct gvcpu *g)
{
	if (g->timer_port)
		assert_int_equal(xf_hc(&F, g->id, __HYPERVISOR_set_timer_op,
				       xen_system_time(F.xen) + 200000, 0, 0),
				 0);
}

static void *pingpong_vcpu(void *arg)
{
	struct gvcpu *g = arg;
	uint64_t iter = 0;

	for (;;) {
		uint64_t deadline = xf_now_ns() + STALL_NS;

		if (g->pinger) {
			if (atomic_load(&run_stop))
				break;
			assert_int_equal(xf_send(&F, g->id, g->peer_port), 0);
			g->sent++;
		}
		/* counts, not flags: an event may be handled early (e.g. by a move) */
		while (g->pinger ? g->received < g->sent : g->received == g->sent) {
			if (!g->pinger && atomic_load(&host_stop))
				return NULL;
			if (xf_now_ns() > deadline) {
				g->stalled = true;
				return NULL;
			}
			wait_event(g);
		}
		if (!g->pinger) {
			assert_int_equal(xf_send(&F, g->id, g->peer_port), 0);
			g->sent++;
		}
		g->rounds++;
		iter++;
		arm_timer(g);
		if (iter % 7 == 0)
			move_vcpu_info(g);
		if (g->id == 0 && iter % 11 == 0)
			move_shared_info(g);
		if (iter % 5 == 0)
			loopback_churn(g);
	}
	return NULL;
}

/* the host keeps invalidating the live pages (no data change): caches must refresh */
static void *host_invalidator(void *arg)
{
	unsigned int seed = 99;

	(void)arg;
	while (!atomic_load(&host_stop)) {
		uint64_t gpa =
			(rand_r(&seed) % 2)
				? atomic_load(&guest_shinfo_gpa)
				: atomic_load(&G[rand_r(&seed) % NR_VCPUS].vinfo_gpa) & ~0xfffull;

		guest_mem_invalidate_begin(&F.mem, gpa, 4096);
		if (rand_r(&seed) % 4 == 0)
			sched_yield();
		guest_mem_invalidate_end(&F.mem, gpa, 4096);
		usleep(20);
	}
	return NULL;
}

static void test_pingpong_under_remap(void **state)
{
	pthread_t th[NR_VCPUS], inv;
	struct xen_vcpu_stats st;
	struct xen_event_stats ev;

	(void)state;
	signal(SIGALRM, watchdog);
	alarm(WATCHDOG_S);
	assert_int_equal(xf_init(&F, NR_VCPUS, true), 0);
	atomic_store(&guest_shinfo_gpa, SHINFO_POOL(0));
	assert_int_equal(xf_map_shinfo(&F, 0, SHINFO_POOL(0)), 0);
	for (unsigned int v = 0; v < NR_VCPUS; v++) {
		struct gvcpu *g = &G[v];

		memset(g, 0, sizeof(*g));
		g->id = v;
		g->pinger = v % 2 == 0;
		g->use_poll = v >= 2;
		g->seed = v * 31 + 7;
		atomic_store(&g->vinfo_gpa, VINFO_POOL(v, 0));
		assert_int_equal(xf_register_vcpu_info(&F, v, v, VINFO_POOL(v, 0)), 0);
		assert_int_equal(xf_set_upcall_vector(&F, v, v, VECTOR), 0);
		g->my_port = (uint32_t)xf_bind_ipi(&F, v, v);
		assert_true(g->my_port > 0);
		if (v == 1 || v == 2) {
			struct evtchn_bind_virq b = { .virq = VIRQ_TIMER, .vcpu = v };

			assert_int_equal(xf_evtchn(&F, v, EVTCHNOP_bind_virq, &b, sizeof(b)), 0);
			g->timer_port = b.port;
		}
	}
	for (unsigned int v = 0; v < NR_VCPUS; v++)
		G[v].peer_port = G[v ^ 1].my_port;
	for (unsigned int v = 0; v < NR_VCPUS; v++)
		guest_handle(&G[v]); /* registration left everything pending */

	for (unsigned int v = 0; v < NR_VCPUS; v++)
		pthread_create(&th[v], NULL, pingpong_vcpu, &G[v]);
	pthread_create(&inv, NULL, host_invalidator, NULL);
	usleep(RUN_MS * 1000);
	atomic_store(&run_stop, true);
	for (unsigned int v = 0; v < NR_VCPUS; v += 2) {
		struct timespec ts;

		/* a lost event stalls a pair; a vCPU in SCHEDOP_block only notices on a wake */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += STALL_NS / 1000000000ull + 2;
		if (pthread_timedjoin_np(th[v], NULL, &ts)) {
			xen_stop(F.xen);
			pthread_join(th[v], NULL);
		}
	}
	atomic_store(&host_stop, true);
	xen_stop(F.xen); /* gets the responders out of their last wait */
	pthread_join(th[1], NULL);
	pthread_join(th[3], NULL);
	pthread_join(inv, NULL);
	alarm(0);

	xen_get_event_stats(F.xen, &ev);
	printf("pingpong: rounds %llu (block) %llu (poll); %llu shared_info moves, %llu vcpu_info "
	       "moves, %llu loopback channels, timer events %llu+%llu; events delivered %llu "
	       "coalesced %llu masked %llu undeliverable %llu\n",
	       (unsigned long long)G[0].rounds, (unsigned long long)G[2].rounds,
	       (unsigned long long)shinfo_moves, (unsigned long long)vinfo_moves,
	       (unsigned long long)churn, (unsigned long long)G[1].timer_events,
	       (unsigned long long)G[2].timer_events, (unsigned long long)ev.delivered,
	       (unsigned long long)ev.coalesced, (unsigned long long)ev.masked,
	       (unsigned long long)ev.undeliverable);
	for (unsigned int v = 0; v < NR_VCPUS; v++) {
		xen_get_vcpu_stats(F.xen, v, &st);
		printf("  vcpu%u: %llu hypercalls, %llu upcalls, blocked %.1f ms, sent %llu, "
		       "received %llu%s\n",
		       v, (unsigned long long)st.hypercalls, (unsigned long long)st.upcalls,
		       (double)st.blocked_ns / 1e6, (unsigned long long)G[v].sent,
		       (unsigned long long)G[v].received, G[v].stalled ? " STALLED" : "");
	}
	for (unsigned int v = 0; v < NR_VCPUS; v++)
		assert_false(G[v].stalled);
	for (unsigned int p = 0; p < NR_VCPUS; p += 2) {
		assert_true(G[p].rounds > 10);
		assert_int_equal(G[p].sent, G[p + 1].received); /* every ping arrived once */
		assert_int_equal(G[p + 1].sent, G[p].received); /* every answer too */
		assert_int_equal(G[p].received, G[p].rounds);
	}
	assert_true(atomic_load(&shinfo_moves) > 0);
	assert_true(atomic_load(&vinfo_moves) > 0);
	assert_true(G[1].timer_events > 0 && G[2].timer_events > 0);
	assert_int_equal(atomic_load(&violations), 0);
	assert_int_equal(ev.undeliverable, 0);
	xf_fini(&F);
}

/* ---- chaos ----------------------------------------------------------------------------- */

static _Atomic uint64_t bad_results, chaos_calls;

static bool valid_result(int64_t r)
{
	static const int64_t errnos[] = { XEN_EPERM,  XEN_ENOENT, XEN_ESRCH,
					  XEN_EFAULT, XEN_EEXIST, XEN_EINVAL,
					  XEN_ENOSPC, XEN_ENOSYS, XEN_ETIME };

	if (r >= 0)
		return true;
	for (unsigned int i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++) {
		if (r == -errnos[i])
			return true;
	}
	return false;
}

static uint64_t pool_gpa(unsigned int *seed)
{
	return POOL_START + (uint64_t)(rand_r(seed) % ((POOL_END - POOL_START) / 4096)) * 4096;
}

static uint64_t hostile_gva(unsigned int *seed, unsigned int v)
{
	switch (rand_r(seed) % 6) {
	case 0:
		return XF_HOLE_GVA;
	case 1:
		return XF_SCRATCH(v); /* physical, not virtual */
	case 2:
		return xf_gva(XF_RAM_SIZE - 1 - rand_r(seed) % 8); /* straddles the end */
	case 3:
		return ((uint64_t)rand_r(seed) << 33) ^ (uint64_t)rand_r(seed);
	default:
		return xf_gva(XF_SCRATCH(v));
	}
}

static void *chaos_vcpu(void *arg)
{
	unsigned int v = (unsigned int)(uintptr_t)arg, seed = v * 7919 + 3;
	uint64_t *scratch = xf_ptr(&F, XF_SCRATCH(v));
	uint32_t ports[NR_VCPUS] = { 0 };

	while (!atomic_load(&run_stop)) {
		uint64_t a[5];
		uint64_t nr;
		int64_t r;

		/* what a vCPU thread does before each entry: the global callback, if due */
		if (xen_callback_due(F.xen, v) && rand_r(&seed) % 2)
			xen_callback_retry(F.xen, v);

		/* random but mostly well-formed argument blocks */
		for (unsigned int i = 0; i < 16; i++)
			scratch[i] = rand_r(&seed) % 3
					     ? (uint64_t)(rand_r(&seed) % 4200)
					     : ((uint64_t)rand_r(&seed) << 32 | rand_r(&seed));
		if (rand_r(&seed) % 2)
			scratch[0] = (scratch[0] & ~0xffffull) | DOMID_SELF;
		switch (rand_r(&seed) % 10) {
		case 0: { /* shared_info somewhere in the pool */
			struct xen_add_to_physmap x = { .domid = DOMID_SELF,
							.space = XENMAPSPACE_shared_info,
							.gpfn = pool_gpa(&seed) >> 12 };

			memcpy(scratch, &x, sizeof(x));
			nr = __HYPERVISOR_memory_op;
			a[0] = XENMEM_add_to_physmap;
			break;
		}
		case 1: { /* any vcpu_info anywhere in the pool */
			struct vcpu_register_vcpu_info ri = { .mfn = pool_gpa(&seed) >> 12,
							      .offset = (rand_r(&seed) % 70) * 64 };

			memcpy(scratch, &ri, sizeof(ri));
			nr = __HYPERVISOR_vcpu_op;
			a[0] = VCPUOP_register_vcpu_info;
			a[1] = rand_r(&seed) % (NR_VCPUS + 1);
			a[2] = xf_gva(XF_SCRATCH(v));
			r = xen_hypercall(F.xen, v, nr, a);
			goto check;
		}
		case 2: { /* balloon pages of the pool */
			struct xen_memory_reservation res = { .extent_start =
								      xf_gva(XF_SCRATCH(v) + 512),
							      .nr_extents = 2,
							      .extent_order = rand_r(&seed) % 2,
							      .domid = DOMID_SELF };
			uint64_t gfns[2] = { pool_gpa(&seed) >> 12, pool_gpa(&seed) >> 12 };

			memcpy(scratch, &res, sizeof(res));
			memcpy((char *)scratch + 512, gfns, sizeof(gfns));
			nr = __HYPERVISOR_memory_op;
			a[0] = rand_r(&seed) % 2 ? XENMEM_decrease_reservation
						 : XENMEM_populate_physmap;
			break;
		}
		case 3: /* timers */
			nr = __HYPERVISOR_set_timer_op;
			a[0] = rand_r(&seed) % 4 ? xen_system_time(F.xen) + rand_r(&seed) % 100000
						 : 0;
			break;
		case 4: { /* short polls */
			struct sched_poll p = { .ports = xf_gva(XF_SCRATCH(v) + 512),
						.nr_ports = rand_r(&seed) % 3,
						.timeout = xen_system_time(F.xen) + 50000 };

			memcpy(scratch, &p, sizeof(p));
			nr = __HYPERVISOR_sched_op;
			a[0] = SCHEDOP_poll;
			break;
		}
		case 5:
			nr = __HYPERVISOR_hvm_op;
			a[0] = rand_r(&seed) % 2 ? HVMOP_set_evtchn_upcall_vector
						 : rand_r(&seed) % 3;
			if (a[0] == HVMOP_set_param && rand_r(&seed) % 2) {
				/* the callback: vector (the global one) or GSI */
				struct xen_hvm_param p = {
					.domid = DOMID_SELF,
					.index = HVM_PARAM_CALLBACK_IRQ,
					.value = (uint64_t)(rand_r(&seed) % 3) << 56 | 0xf1,
				};

				memcpy(scratch, &p, sizeof(p));
			}
			break;
		case 6:
		case 7: { /* sends on live ports, (re)bound as needed */
			unsigned int t = rand_r(&seed) % NR_VCPUS;

			if (!ports[t] || rand_r(&seed) % 64 == 0) {
				int64_t p = xf_bind_ipi(&F, v, t);

				ports[t] = p > 0 ? (uint32_t)p : 0;
			}
			if (rand_r(&seed) % 16 == 0)
				xf_port_op(&F, v, EVTCHNOP_unmask, ports[t]);
			r = xf_send(&F, v, ports[t]);
			if (r == -XEN_EINVAL)
				ports[t] = 0; /* closed or reset by another vCPU */
			goto check;
		}
		default: /* event channel ops, mostly */
			nr = __HYPERVISOR_event_channel_op;
			a[0] = rand_r(&seed) % 14;
			if (a[0] == EVTCHNOP_reset && rand_r(&seed) % 32)
				a[0] = EVTCHNOP_send;
			break;
		}
		a[1] = rand_r(&seed) % 8 ? xf_gva(XF_SCRATCH(v)) : hostile_gva(&seed, v);
		if (nr == __HYPERVISOR_set_timer_op)
			a[1] = 0;
		a[2] = a[3] = a[4] = 0;
		r = xen_hypercall(F.xen, v, nr, a);
	check:
		atomic_fetch_add(&chaos_calls, 1);
		if (!valid_result(r))
			atomic_fetch_add(&bad_results, 1);
	}
	return NULL;
}

static void *chaos_host(void *arg)
{
	unsigned int seed = 4242;

	(void)arg;
	while (!atomic_load(&host_stop)) {
		uint64_t gpa = pool_gpa(&seed);

		switch (rand_r(&seed) % 3) {
		case 0:
			assert_int_equal(guest_mem_discard(&F.mem, gpa, 4096), 0);
			break;
		case 1:
			assert_int_equal(guest_mem_convert(&F.mem, gpa, 4096, true), 0);
			usleep(50);
			assert_int_equal(guest_mem_convert(&F.mem, gpa, 4096, false), 0);
			break;
		default:
			guest_mem_invalidate_begin(&F.mem, gpa, 8192);
			guest_mem_invalidate_end(&F.mem, gpa, 8192);
			break;
		}
		usleep(30);
	}
	return NULL;
}

static void test_chaos(void **state)
{
	pthread_t th[NR_VCPUS], host;
	struct xen_event_stats ev;

	(void)state;
	signal(SIGALRM, watchdog);
	alarm(WATCHDOG_S);
	atomic_store(&run_stop, false);
	atomic_store(&host_stop, false);
	assert_int_equal(xf_init(&F, NR_VCPUS, true), 0);
	for (unsigned int v = 0; v < NR_VCPUS; v++)
		pthread_create(&th[v], NULL, chaos_vcpu, (void *)(uintptr_t)v);
	pthread_create(&host, NULL, chaos_host, NULL);
	usleep(RUN_MS * 1000);
	atomic_store(&run_stop, true);
	for (unsigned int v = 0; v < NR_VCPUS; v++)
		pthread_join(th[v], NULL);
	atomic_store(&host_stop, true);
	pthread_join(host, NULL);
	alarm(0);
	printf("chaos: %llu hypercalls, %llu with a result that is no Xen errno\n",
	       (unsigned long long)atomic_load(&chaos_calls),
	       (unsigned long long)atomic_load(&bad_results));
	xen_print_stats_core(F.xen, stdout);
	xen_get_event_stats(F.xen, &ev);
	assert_true(ev.delivered > 100);
	assert_true(atomic_load(&chaos_calls) > 1000);
	assert_int_equal(atomic_load(&bad_results), 0);
	xf_fini(&F);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pingpong_under_remap),
		cmocka_unit_test(test_chaos),
	};

	return cmocka_run_group_tests_name("xen_stress", tests, NULL, NULL);
}
