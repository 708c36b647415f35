/* SPDX-License-Identifier: MIT */
/*
 * Starts the APs (APIC ids 1..cpus-1, cpus= on the command line) with
 * INIT-SIPI-SIPI; each reports in over serial and sets its flag. The BSP
 * waits, bounded, and exits 0 only when every AP reported and no unexpected
 * CPU did.
 *
 * The bound: at least `wait` iterations of a pause loop (default 1M: 6-15 us
 * each under this host's emulated CPL0 depending on load, so ~6-15 s) AND
 * at least `wait_tsc` TSC ticks (default 4e9: ~1.5-4 s of real time on
 * hardware-assisted KVM, where the loop alone is over in milliseconds).
 */
#include "rt/rt.h"

#define DEFAULT_WAIT_LOOPS 1000000ull
#define DEFAULT_WAIT_TSC 4000000000ull

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static volatile uint32_t reported[RT_MAX_CPUS];
static volatile uint32_t nreported;
static volatile uint32_t unexpected;
static unsigned ncpus;

static void ap_report(uint32_t apic_id)
{
	printf("smp: AP %u reporting in\n", apic_id);
	if (apic_id == 0 || apic_id >= ncpus || apic_id >= RT_MAX_CPUS) {
		__atomic_fetch_add(&unexpected, 1u, __ATOMIC_SEQ_CST);
		return;
	}
	if (__atomic_exchange_n(&reported[apic_id], 1u, __ATOMIC_SEQ_CST) == 0)
		__atomic_fetch_add(&nreported, 1u, __ATOMIC_SEQ_CST);
}

int test_main(void)
{
	uint64_t n = 1, wait = DEFAULT_WAIT_LOOPS, wait_tsc = DEFAULT_WAIT_TSC, i, t0;
	uint32_t bsp = lapic_id();

	if (!cmdline_get_u64("cpus", &n) || n == 0 || n > RT_MAX_CPUS) {
		printf("smp: FAIL: need cpus=1..%u on the command line \"%s\"\n", RT_MAX_CPUS,
		       rt_cmdline);
		return 1;
	}
	cmdline_get_u64("wait", &wait);
	cmdline_get_u64("wait_tsc", &wait_tsc);
	ncpus = (unsigned)n;
	printf("smp: BSP apic %u (version 0x%x), starting %u APs\n", bsp, lapic_read(LAPIC_VERSION),
	       ncpus - 1);
	if (bsp != 0) {
		printf("smp: FAIL: BSP APIC id is %u, expected 0\n", bsp);
		return 1;
	}
	if (!smp_start_aps(ncpus, ap_report)) {
		printf("smp: FAIL: cannot start APs\n");
		return 1;
	}
	t0 = rdtsc();
	for (i = 0; nreported < ncpus - 1; i++) {
		if (i >= wait && rdtsc() - t0 >= wait_tsc)
			break;
		cpu_relax();
	}
	/* give a stray extra CPU a moment to show up */
	delay_loops(1000);
	if (nreported != ncpus - 1 || unexpected) {
		printf("smp: FAIL: %u of %u APs reported in, %u unexpected, after %lu loops\n",
		       nreported, ncpus - 1, unexpected, i);
		for (unsigned id = 1; id < ncpus; id++)
			if (!reported[id])
				printf("smp: AP %u missing\n", id);
		return 1;
	}
	printf("smp: all %u APs reported in after %lu loops\n", ncpus - 1, i);
	return 0;
}
