/* SPDX-License-Identifier: MIT */
/* Starting the APs: INIT-SIPI-SIPI to a real-mode trampoline at 0x10000. */
#include "rt.h"

extern const char tramp_start[], tramp_end[];
extern const char tramp_gdt_desc[], tramp_cr3[], tramp_entry[], tramp_stacks[], tramp_stack_size[];
extern const uint64_t gdt[];
extern const char gdt_desc[];
void rt_load_segments(void);

extern char ap_stacks[RT_MAX_CPUS][RT_AP_STACK_SIZE]; /* entry.S, not zeroed */
static volatile ap_fn_t ap_fn;

static void ap_main(uint32_t apic_id)
{
	rt_load_segments();
	idt_load();
	lapic_enable();
	ap_fn(apic_id);
	rt_halt_forever();
}

#define TRAMP_FIELD(f) ((void *)(uintptr_t)(RT_TRAMPOLINE_ADDR + (uintptr_t)((f)-tramp_start)))

bool smp_start_aps(unsigned ncpus, ap_fn_t fn)
{
	size_t len = (size_t)(tramp_end - tramp_start);
	uint64_t cr3;
	uint16_t gdt_limit;
	uint32_t gdt_base = (uint32_t)(uintptr_t)gdt;

	if (ncpus == 0 || ncpus > RT_MAX_CPUS)
		return false;
	if (ncpus == 1)
		return true;
	ap_fn = fn;
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	memcpy(&gdt_limit, gdt_desc, sizeof(gdt_limit));

	memcpy((void *)(uintptr_t)RT_TRAMPOLINE_ADDR, tramp_start, len);
	memcpy(TRAMP_FIELD(tramp_gdt_desc), &gdt_limit, 2);
	memcpy((char *)TRAMP_FIELD(tramp_gdt_desc) + 2, &gdt_base, 4);
	*(volatile uint32_t *)TRAMP_FIELD(tramp_cr3) = (uint32_t)cr3;
	*(volatile uint64_t *)TRAMP_FIELD(tramp_entry) = (uint64_t)(uintptr_t)ap_main;
	*(volatile uint64_t *)TRAMP_FIELD(tramp_stacks) = (uint64_t)(uintptr_t)ap_stacks;
	*(volatile uint64_t *)TRAMP_FIELD(tramp_stack_size) = RT_AP_STACK_SIZE;
	barrier();

	lapic_enable();
	for (unsigned id = 1; id < ncpus; id++)
		lapic_send_init(id);
	delay_loops(2000);
	for (unsigned id = 1; id < ncpus; id++)
		lapic_send_sipi(id, RT_TRAMPOLINE_ADDR >> 12);
	delay_loops(200);
	for (unsigned id = 1; id < ncpus; id++)
		lapic_send_sipi(id, RT_TRAMPOLINE_ADDR >> 12);
	return true;
}
