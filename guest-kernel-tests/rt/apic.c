/* SPDX-License-Identifier: MIT */
/* Local APIC helpers (xAPIC MMIO, physical destination mode). */
#include "rt.h"

#define ICR_INIT 0x00000500u
#define ICR_STARTUP 0x00000600u
#define ICR_LEVEL_ASSERT 0x00004000u

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_enable(void)
{
	lapic_write(LAPIC_SVR, 0x100 | 0xff);
}

bool lapic_icr_wait(void)
{
	for (unsigned i = 0; i < 100000; i++) {
		if (!(lapic_read(LAPIC_ICR_LO) & LAPIC_ICR_BUSY))
			return true;
		cpu_relax();
	}
	return false;
}

static void icr_send(uint32_t apic_id, uint32_t lo)
{
	lapic_icr_wait();
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	lapic_icr_wait();
}

void lapic_send_init(uint32_t apic_id)
{
	icr_send(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
}

void lapic_send_sipi(uint32_t apic_id, uint8_t vector)
{
	icr_send(apic_id, ICR_STARTUP | ICR_LEVEL_ASSERT | vector);
}

void delay_loops(uint64_t n)
{
	while (n--)
		cpu_relax();
}
