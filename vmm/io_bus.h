/* SPDX-License-Identifier: MIT */
/*
 * Port-I/O and MMIO dispatch. Devices register ranges while the VM is built; the table is
 * read-only once vCPUs run, so lookups on the exit path take no lock.
 */
#ifndef MINIVMM_IO_BUS_H
#define MINIVMM_IO_BUS_H

#include <stdbool.h>
#include <stdint.h>

#define IO_BUS_MAX_RANGES 32

struct vcpu;

/* data is little-endian, len 1..8; a read handler fills data. */
typedef void (*io_handler_t)(struct vcpu *vcpu, uint64_t addr, uint8_t *data, uint32_t len,
			     bool is_write, void *opaque);

struct io_range {
	uint64_t base;
	uint64_t len;
	io_handler_t handler;
	void *opaque;
	const char *name;
};

struct io_bus {
	struct io_range ranges[IO_BUS_MAX_RANGES];
	int nr;
};

int io_bus_register(struct io_bus *bus, uint64_t base, uint64_t len, io_handler_t handler,
		    void *opaque, const char *name);
/* Returns false when no device claims addr (reads then see all ones). */
bool io_bus_dispatch(struct io_bus *bus, struct vcpu *vcpu, uint64_t addr, uint8_t *data,
		     uint32_t len, bool is_write);

#endif
