/* SPDX-License-Identifier: MIT */
/*
 * Checks the runtime's own IDT: ud2 must reach the #UD handler, which prints
 * the vector, error code and RIP and exits with 0x80 + 6 = 0x86.
 */
#include "rt/rt.h"

int test_main(void)
{
	printf("exception: executing ud2, expecting vector 6\n");
	__asm__ volatile("ud2");
	printf("exception: FAIL: still running after ud2\n");
	return 2;
}
