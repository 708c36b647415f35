// SPDX-License-Identifier: MIT
#include "../../vmm/guest_mem.h"
#include "boot.h"
#include "layout.h"

static int e820_add(struct e820_entry *map, int n, int max, uint64_t addr, uint64_t size,
		    uint32_t type)
{
	if (n < max && size)
		map[n++] = (struct e820_entry){ addr, size, type };
	return n;
}

int e820_build(struct guest_mem *mem, struct e820_entry *map, int max)
{
	int n = 0;

	for (int i = 0; i < mem->nr_regions; i++) {
		const struct mem_region *r = &mem->regions[i];
		uint64_t start = r->gpa, end = r->gpa + r->size;

		if (start < EBDA_START) {
			/* base memory, then the EBDA/VGA/BIOS hole reserved, then the rest */
			uint64_t base_end = end < EBDA_START ? end : EBDA_START;

			n = e820_add(map, n, max, start, base_end - start, E820_RAM);
			n = e820_add(map, n, max, EBDA_START, BIOS_HOLE_END - EBDA_START,
				     E820_RESERVED);
			start = BIOS_HOLE_END;
		}
		if (end > start)
			n = e820_add(map, n, max, start, end - start, E820_RAM);
	}
	return n;
}
