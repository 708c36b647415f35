// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>

#include "io_bus.h"

int io_bus_register(struct io_bus *bus, uint64_t base, uint64_t len, io_handler_t handler,
		    void *opaque, const char *name)
{
	if (!len || base + len < base || bus->nr == IO_BUS_MAX_RANGES)
		return -EINVAL;
	for (int i = 0; i < bus->nr; i++) {
		const struct io_range *r = &bus->ranges[i];

		if (base < r->base + r->len && r->base < base + len)
			return -EEXIST;
	}
	bus->ranges[bus->nr++] = (struct io_range){ base, len, handler, opaque, name };
	return 0;
}

bool io_bus_dispatch(struct io_bus *bus, struct vcpu *vcpu, uint64_t addr, uint8_t *data,
		     uint32_t len, bool is_write)
{
	for (int i = 0; i < bus->nr; i++) {
		const struct io_range *r = &bus->ranges[i];

		if (addr >= r->base && addr - r->base < r->len) {
			r->handler(vcpu, addr - r->base, data, len, is_write, r->opaque);
			return true;
		}
	}
	if (!is_write)
		memset(data, 0xff, len);
	return false;
}
