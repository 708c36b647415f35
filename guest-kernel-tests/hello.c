/* SPDX-License-Identifier: MIT */
/* Smallest test: a marker line on the console, exit 0. */
#include "rt/rt.h"

int test_main(void)
{
	printf("hello from minivmm guest (apic %u, cmdline \"%s\")\n", lapic_id(), rt_cmdline);
	return 0;
}
