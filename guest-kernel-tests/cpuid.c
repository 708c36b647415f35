/* SPDX-License-Identifier: MIT */
/*
 * What the VMM puts in CPUID: the hypervisor-present bit, each vCPU's own initial APIC id
 * (leaf 1 EBX[31:24], matching the LAPIC it runs on), and a brand string (leaves
 * 0x80000002-4), which KVM leaves empty for user space to fill: without it Linux prints a
 * CPU model of "AMD N/N" or nothing.
 */
#include "rt/rt.h"

static char brand[49];

static bool brand_ok(void)
{
	uint32_t *w = (uint32_t *)brand, max, unused;
	size_t n, visible = 0;
	bool printable = true;

	cpuid(0x80000000, &max, &unused, &unused, &unused);
	if (max < 0x80000004) {
		printf("cpuid: FAIL: max extended leaf %#x has no brand string\n", max);
		return false;
	}
	for (uint32_t leaf = 0; leaf < 3; leaf++)
		cpuid(0x80000002 + leaf, &w[4 * leaf], &w[4 * leaf + 1], &w[4 * leaf + 2],
		      &w[4 * leaf + 3]);
	brand[48] = 0;
	n = strlen(brand);
	for (size_t i = 0; i < n; i++) {
		printable &= brand[i] >= 0x20 && brand[i] < 0x7f;
		visible += brand[i] > 0x20 && brand[i] < 0x7f;
	}
	if (!printable || !visible) {
		printf("cpuid: FAIL: brand string empty or not printable (%u bytes)\n",
		       (unsigned)n);
		return false;
	}
	return true;
}

int test_main(void)
{
	uint32_t a, b, c, d;
	bool ok;

	cpuid(1, &a, &b, &c, &d);
	if (!(c & (1u << 31))) {
		printf("cpuid: FAIL: leaf 1 ECX[31] (hypervisor present) is clear\n");
		return 1;
	}
	if (b >> 24 != lapic_id()) {
		printf("cpuid: FAIL: leaf 1 APIC id %u, LAPIC says %u\n", b >> 24, lapic_id());
		return 1;
	}
	ok = brand_ok();
	if (ok)
		printf("cpuid: brand '%s'\n", brand);
	printf("cpuid: %s\n", ok ? "OK" : "FAIL");
	return ok ? 0 : 1;
}
