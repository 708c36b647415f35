// SPDX-License-Identifier: MIT
/*
 * ACPI power management of a hardware-reduced platform (ACPI 5+, FADT in arch/x86/acpi.c):
 * the sleep control, sleep status and reset registers, one byte each in port I/O space.
 *
 * How a guest powers off under minivmm: Linux's `poweroff` ends in acpi_power_off(), which
 * on a hardware-reduced platform writes SLP_TYP (from the DSDT's \_S5 package) | SLP_EN to
 * the sleep control register. That write ends the VM with status 0. This is the path every
 * ACPI kernel takes on its own, with no command-line option and no paravirtual driver; the
 * alternatives are worse for minivmm: the PM1a control block of full ACPI drags in the SCI,
 * PM timer and GPE blocks, and Xen's SCHEDOP_shutdown needs a Xen guest. A guest without ACPI
 * can still stop the VM through the exit port (devices/exit_port.c) or reboot through the
 * i8042 (devices/i8042.c); the reset register here is the ACPI way to reboot, which Linux
 * tries first, and it likewise ends the VM with status 0, as minivmm does not restart guests.
 *
 * Other sleep states are not offered (the DSDT has only \_S5); should a guest write another
 * SLP_TYP anyway, it returns at once: the status register always reads WAK_STS, as the VM
 * is never asleep, so a guest polling for its wake-up is not left spinning.
 */
#include <string.h>

#include "../arch/x86/layout.h"
#include "../vmm/io_bus.h"
#include "../vmm/log.h"
#include "../vmm/vm.h"
#include "devices.h"

/* ACPI 6.5, 4.8.3.7-8: sleep control and status register bits */
#define SLP_TYP_SHIFT 2
#define SLP_TYP_MASK (7u << SLP_TYP_SHIFT)
#define SLP_EN (1u << 5)
#define WAK_STS (1u << 7)

static void acpi_pm_io(struct vcpu *vcpu, uint64_t off, uint8_t *data, uint32_t len, bool is_write,
		       void *opaque)
{
	uint16_t port = (uint16_t)(ACPI_PM_PORT + off);
	uint8_t v = data[0];

	(void)opaque;
	if (!is_write) {
		memset(data, 0, len);
		if (port == ACPI_SLEEP_STS_PORT)
			data[0] = WAK_STS;
		return;
	}
	switch (port) {
	case ACPI_SLEEP_CTL_PORT:
		if (!(v & SLP_EN))
			break;
		if (((v & SLP_TYP_MASK) >> SLP_TYP_SHIFT) == ACPI_SLEEP_TYP_S5) {
			vm_request_stop(vcpu->vm, VM_EXIT_OK, "guest powered off (ACPI S5)");
			break;
		}
		pr_warn_ratelimited(
			"vcpu%d: guest asked for ACPI sleep type %u, which minivmm does not "
			"offer; ignored",
			vcpu->id, (v & SLP_TYP_MASK) >> SLP_TYP_SHIFT);
		break;
	case ACPI_RESET_PORT:
		if (v == ACPI_RESET_VALUE)
			vm_request_stop(vcpu->vm, VM_EXIT_OK, "guest reset (ACPI reset register)");
		break;
	}
}

int acpi_pm_init(struct vm *vm)
{
	return io_bus_register(&vm->pio, ACPI_PM_PORT, ACPI_PM_SIZE, acpi_pm_io, NULL, "acpi-pm");
}
