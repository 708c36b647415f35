/* SPDX-License-Identifier: MIT */
/*
 * Checks the PVH memory map (hvm_start_info.memmap):
 *  - there is at least one entry and entries do not overlap;
 *  - the RAM total is within MEM_SLACK of mem= from the command line;
 *  - low memory is RAM starting at address 0;
 *  - the loaded image (1 MiB .. __image_end) lies inside one RAM entry.
 */
#include "rt/rt.h"

#define MIB ((uint64_t)1 << 20)
#define MEM_SLACK (4 * MIB)

static bool covered_by_ram(uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < rt_memmap_entries; i++) {
		const struct hvm_memmap_entry *e = &rt_memmap[i];

		if (e->type == E820_RAM && e->addr <= start && end <= e->addr + e->size)
			return true;
	}
	return false;
}

int test_main(void)
{
	uint64_t ram = 0, mem = 0;
	bool ok = true, low = false;
	uint64_t img_start = (uint64_t)(uintptr_t)__image_start;
	uint64_t img_end = (uint64_t)(uintptr_t)__image_end;

	printf("memmap: start_info version %u flags 0x%x, %u entries at 0x%lx\n",
	       rt_start_info.version, rt_start_info.flags, rt_start_info.memmap_entries,
	       rt_start_info.memmap_paddr);
	if (rt_start_info.memmap_entries > RT_MAX_MEMMAP)
		printf("memmap: only the first %u entries are checked\n", RT_MAX_MEMMAP);
	for (unsigned i = 0; i < rt_memmap_entries; i++) {
		const struct hvm_memmap_entry *e = &rt_memmap[i];

		if (e->size)
			printf("memmap: [%u] 0x%016lx-0x%016lx size 0x%lx type %u (%s)\n", i,
			       e->addr, e->addr + e->size - 1, e->size, e->type,
			       e820_type_name(e->type));
		else
			printf("memmap: [%u] 0x%016lx empty, type %u (%s)\n", i, e->addr, e->type,
			       e820_type_name(e->type));
		if (e->type == E820_RAM) {
			ram += e->size;
			if (e->addr == 0 && e->size > 0)
				low = true;
		}
		if (e->addr + e->size < e->addr) {
			printf("memmap: FAIL: entry %u wraps around\n", i);
			ok = false;
		}
		for (unsigned j = 0; j < i; j++) {
			const struct hvm_memmap_entry *f = &rt_memmap[j];

			if (e->size && f->size && e->addr < f->addr + f->size &&
			    f->addr < e->addr + e->size) {
				printf("memmap: FAIL: entries %u and %u overlap\n", j, i);
				ok = false;
			}
		}
	}
	if (rt_memmap_entries == 0) {
		printf("memmap: FAIL: no memory map\n");
		ok = false;
	}
	printf("memmap: RAM total 0x%lx (%lu KiB)\n", ram, ram >> 10);

	if (!cmdline_get_u64("mem", &mem)) {
		printf("memmap: FAIL: no mem=SIZE on the command line \"%s\"\n", rt_cmdline);
		ok = false;
	} else {
		uint64_t diff = ram > mem ? ram - mem : mem - ram;

		printf("memmap: mem= 0x%lx (%lu MiB), RAM differs by %lu KiB\n", mem, mem / MIB,
		       diff >> 10);
		if (diff > MEM_SLACK) {
			printf("memmap: FAIL: RAM total is more than %lu MiB away from mem=\n",
			       MEM_SLACK / MIB);
			ok = false;
		}
	}
	if (!low) {
		printf("memmap: FAIL: no RAM entry starting at 0\n");
		ok = false;
	}
	if (!covered_by_ram(img_start, img_end)) {
		printf("memmap: FAIL: image 0x%lx-0x%lx is not inside one RAM entry\n", img_start,
		       img_end);
		ok = false;
	}
	printf("memmap: %s\n", ok ? "OK" : "FAILED");
	return ok ? 0 : 1;
}
