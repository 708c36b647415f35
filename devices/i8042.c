// SPDX-License-Identifier: MIT
/*
 * The part of the i8042 keyboard controller guests use to reboot: command 0xfe (pulse reset)
 * ends the VM with status 0, which is how Linux's `reboot` leaves (reboot=k, the default).
 * No keyboard is attached: status reads 0 (nothing to read, input buffer empty).
 */
#include <string.h>

#include "../arch/x86/layout.h"
#include "../vmm/io_bus.h"
#include "../vmm/vm.h"
#include "devices.h"

#define I8042_CMD_RESET 0xfe

static void i8042_io(struct vcpu *vcpu, uint64_t off, uint8_t *data, uint32_t len, bool is_write,
		     void *opaque)
{
	(void)opaque;
	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (off == I8042_CMD_PORT - I8042_DATA_PORT && data[0] == I8042_CMD_RESET)
		vm_request_stop(vcpu->vm, VM_EXIT_OK, "guest reset through the i8042");
}

int i8042_init(struct vm *vm)
{
	return io_bus_register(&vm->pio, I8042_DATA_PORT, 5, i8042_io, NULL, "i8042");
}
