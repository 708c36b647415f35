/* SPDX-License-Identifier: MIT */
/*
 * Loads an empty IDT (limit 0) and executes ud2: #UD cannot be delivered ->
 * #GP -> #DF -> triple fault -> shutdown. The VMM must report the shutdown
 * and exit 1. Reaching the end is a failure (exit 2).
 */
#include "rt/rt.h"

int test_main(void)
{
	printf("triple_fault: loading an empty IDT and executing ud2\n");
	idt_load_raw(0, 0);
	__asm__ volatile("ud2");
	printf("triple_fault: FAIL: still running after ud2\n");
	return 2;
}
