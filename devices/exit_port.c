// SPDX-License-Identifier: MIT
/*
 * The exit port (QEMU's isa-debug-exit at 0xf4): a write of `code` ends the VM and minivmm
 * exits with `code` (low 8 bits, as any process status). Test guests use it to report.
 */
#include <stdio.h>
#include <string.h>

#include "../arch/x86/layout.h"
#include "../vmm/io_bus.h"
#include "../vmm/vm.h"
#include "devices.h"

static void exit_port_io(struct vcpu *vcpu, uint64_t off, uint8_t *data, uint32_t len,
			 bool is_write, void *opaque)
{
	uint32_t code = 0;
	char why[64];

	(void)off, (void)opaque;
	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	memcpy(&code, data, len < 4 ? len : 4);
	snprintf(why, sizeof(why), "guest wrote %u to the exit port", code);
	vm_request_stop(vcpu->vm, (int)(code & 0xff), why);
}

int exit_port_init(struct vm *vm)
{
	return io_bus_register(&vm->pio, EXIT_PORT, 4, exit_port_io, NULL, "exit-port");
}
