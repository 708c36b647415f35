/* SPDX-License-Identifier: MIT */
/*
 * Prints one line, then halts forever with interrupts enabled (`sti; hlt`),
 * so the VMM sits idle with a live guest: bench/rss.sh measures the VMM's
 * memory with it. Never exits; not a smoke test.
 */
#include "rt/rt.h"

int test_main(void)
{
	printf("idle: halting with interrupts enabled\n");
	for (;;)
		__asm__ volatile("sti; hlt" ::: "memory");
}
