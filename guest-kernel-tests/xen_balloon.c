/* SPDX-License-Identifier: MIT */
/*
 * Xen balloon (minivmm --xen): XENMEM_decrease_reservation gives pages back (the VMM
 * discards them), XENMEM_populate_physmap takes them again, and they read as zeros;
 * neighbours are untouched; bad frames stop the batch (the result counts extents done).
 */
#include "rt/xen.h"

static uint8_t pages[4][4096] __attribute__((aligned(4096)));

static long reservation(unsigned op, uint64_t *gfns, uint64_t n, uint32_t order)
{
	struct xen_memory_reservation r = {
		.extent_start = (uint64_t)(uintptr_t)gfns,
		.nr_extents = n,
		.extent_order = order,
		.domid = DOMID_SELF,
	};

	return xen_op(__HYPERVISOR_memory_op, op, &r);
}

static bool all(const uint8_t *p, uint8_t v)
{
	for (unsigned i = 0; i < 4096; i += 64)
		if (p[i] != v || p[i + 63] != v)
			return false;
	return true;
}

int test_main(void)
{
	uint64_t gfns[3], misaligned, beyond = 0xfffffffffull;
	bool ok = true;

	if (!xen_setup())
		return 1;
	for (unsigned i = 0; i < 4; i++)
		memset(pages[i], 0xab, 4096);
	gfns[0] = (uintptr_t)pages[0] >> 12;
	gfns[1] = (uintptr_t)pages[2] >> 12;
	gfns[2] = beyond; /* not RAM: stops the batch after two */
	XEN_EXPECT(&ok, reservation(XENMEM_decrease_reservation, gfns, 3, 0), 2);
	XEN_EXPECT(&ok, all(pages[0], 0), 1);
	XEN_EXPECT(&ok, all(pages[1], 0xab), 1);
	XEN_EXPECT(&ok, all(pages[2], 0), 1);
	XEN_EXPECT(&ok, all(pages[3], 0xab), 1);
	XEN_EXPECT(&ok, reservation(XENMEM_populate_physmap, gfns, 2, 0), 2);
	XEN_EXPECT(&ok, all(pages[0], 0), 1);
	XEN_EXPECT(&ok, all(pages[2], 0), 1);
	memset(pages[0], 0x5a, 4096); /* usable again */
	XEN_EXPECT(&ok, all(pages[0], 0x5a), 1);
	printf("xen_balloon: decrease_reservation then populate_physmap: zeros, neighbours kept\n");

	misaligned = ((uintptr_t)pages[0] >> 12) | 1;
	XEN_EXPECT(&ok, reservation(XENMEM_decrease_reservation, &misaligned, 1, 9), 0);
	XEN_EXPECT(&ok, reservation(XENMEM_decrease_reservation, &beyond, 1, 0), 0);
	XEN_EXPECT(&ok, reservation(XENMEM_populate_physmap, &beyond, 1, 0), 0);
	XEN_EXPECT(&ok, reservation(XENMEM_decrease_reservation, gfns, 1, 10), 0);
	XEN_EXPECT(&ok, all(pages[0], 0x5a), 1);
	XEN_EXPECT(&ok,
		   xen_op(__HYPERVISOR_memory_op, XENMEM_decrease_reservation,
			  (void *)0x7fff00000000ull),
		   -XEN_EFAULT);
	printf("xen_balloon: %s\n", ok ? "OK" : "FAILED");
	return ok ? 0 : 1;
}
