/* SPDX-License-Identifier: MIT */
#ifndef MINIVMM_DEVICES_H
#define MINIVMM_DEVICES_H

#include <stddef.h>
#include <stdint.h>

struct vm;
struct serial;
struct testdev;

/* 8250 UART: output to out_fd, input through serial_input() from the main loop. */
struct serial *serial_create(struct vm *vm, uint16_t base, uint32_t irq, int out_fd);
void serial_input(struct serial *s, const uint8_t *buf, size_t len);
/* Send output to sink instead of out_fd (called under the UART's lock). */
void serial_set_sink(struct serial *s, void (*sink)(void *arg, const uint8_t *buf, size_t len),
		     void *arg);
void serial_destroy(struct serial *s);
uint64_t serial_bytes_out(struct serial *s);

int exit_port_init(struct vm *vm);
/* Guest-kernel-test control: discard, convert, access through a VMM cache (testdev.c). */
struct testdev *testdev_create(struct vm *vm);
void testdev_destroy(struct testdev *td);
int i8042_init(struct vm *vm);
/* ACPI sleep control/status and reset registers (ports named by the FADT). */
int acpi_pm_init(struct vm *vm);

#endif
