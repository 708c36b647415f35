/* SPDX-License-Identifier: MIT */
/*
 * boot_load(), the production kernel-loading path, driven by a fuzz input: the kernel is
 * read from a memfd path, the rest of the configuration comes from the input's trailer
 * (fuzz_boot_params), the guest RAM is the usual 64 MiB layout with one private page.
 * Whatever boot_load() accepts must describe guest RAM consistently; what the guest will
 * read (PVH start info or zero page) is checked too. Shared by fuzz_elf and fuzz_bzimage.
 */
#ifndef MINIVMM_FUZZ_BOOT_H
#define MINIVMM_FUZZ_BOOT_H

#include "../../arch/x86/boot.h"
#include "../../arch/x86/layout.h"
#include "../../vmm/config.h"
#include "fuzz_common.h"

#define FUZZ_RAM_SIZE (64 * MiB)
#define FUZZ_RAM_PRIVATE (32 * MiB)
#define HVM_START_MAGIC 0x336ec578u

static struct guest_mem boot_ram;
static struct fuzz_file kernel_file, initrd_file;

static void fuzz_boot_init(void)
{
	fuzz_mem_init(&boot_ram, MEM_BACKING_MEMFD);
	FUZZ_SETUP(guest_mem_add_ram_layout(&boot_ram, FUZZ_RAM_SIZE) == 0);
	fuzz_mem_private(&boot_ram, FUZZ_RAM_PRIVATE, 0x1000);
	fuzz_file_init(&kernel_file, "fuzz-kernel");
	fuzz_file_init(&initrd_file, "fuzz-initrd");
}

/* Both ends of the kernel's range are guest RAM (it may span holes between ELF segments). */
static void check_kernel_range(struct guest_mem *mem, const struct boot_info *info)
{
	FUZZ_CHECK(info->format != NULL);
	FUZZ_CHECK(info->kernel_start < info->kernel_end);
	FUZZ_CHECK(info->entry >= info->kernel_start && info->entry < info->kernel_end);
	FUZZ_CHECK(guest_mem_is_ram(mem, info->kernel_start, 1));
	FUZZ_CHECK(guest_mem_is_ram(mem, info->kernel_end - 1, 1));
}

static void check_pvh(struct guest_mem *mem, const struct boot_info *info)
{
	FUZZ_CHECK(info->entry_mode == BOOT_ENTRY_PVH32);
	FUZZ_CHECK(!strcmp(info->format, "PVH ELF"));
	FUZZ_CHECK(info->entry <= 0xffffffffull);
	check_kernel_range(mem, info);
}

static void check_linux64(struct guest_mem *mem, const struct boot_info *info)
{
	FUZZ_CHECK(info->entry_mode == BOOT_ENTRY_LINUX64);
	FUZZ_CHECK(!strcmp(info->format, "bzImage"));
	FUZZ_CHECK(info->entry == info->kernel_start + 0x200);
	FUZZ_CHECK(info->kernel_start >= KERNEL_LOAD_ADDR);
	FUZZ_CHECK(info->kernel_end <= MMIO_HOLE_START);
	check_kernel_range(mem, info);
}

static uint32_t ram_u32(uint64_t gpa)
{
	uint32_t v = 0;

	FUZZ_CHECK(guest_mem_read(&boot_ram, gpa, &v, sizeof(v)) == 0);
	return v;
}

static uint8_t ram_u8(uint64_t gpa)
{
	uint8_t v = 0;

	FUZZ_CHECK(guest_mem_read(&boot_ram, gpa, &v, sizeof(v)) == 0);
	return v;
}

static void fuzz_boot_load(const uint8_t *data, size_t size)
{
	struct fuzz_boot_params p = fuzz_boot_params(data, size);
	static struct vm_config cfg; /* some 30 KiB: not on the stack */
	struct boot_info info;

	config_defaults(&cfg);
	cfg.memory = FUZZ_RAM_SIZE;
	cfg.cpus = p.cpus;
	cfg.boot_protocol = (enum boot_protocol)p.protocol;
	snprintf(cfg.kernel, sizeof(cfg.kernel), "%s", kernel_file.path);
	snprintf(cfg.cmdline, sizeof(cfg.cmdline), "console=ttyS0 fuzz=1");
	fuzz_file_set(&kernel_file, data, size);
	if (p.initrd_size) {
		fuzz_file_set_size(&initrd_file, p.initrd_size);
		snprintf(cfg.initrd, sizeof(cfg.initrd), "%s", initrd_file.path);
	}

	if (boot_load(&boot_ram, &cfg, &info))
		return;

	FUZZ_CHECK(info.initrd_size == p.initrd_size);
	if (p.initrd_size) {
		FUZZ_CHECK(info.initrd_start >= info.kernel_end);
		FUZZ_CHECK(info.initrd_start >= BIOS_HOLE_END);
		FUZZ_CHECK(info.initrd_start % GUEST_PAGE_SIZE == 0);
		FUZZ_CHECK(info.initrd_start + info.initrd_size <= MMIO_HOLE_START);
		FUZZ_CHECK(guest_mem_is_ram(&boot_ram, info.initrd_start, info.initrd_size));
	}
	if (info.entry_mode == BOOT_ENTRY_PVH32) {
		FUZZ_CHECK(p.protocol != BOOT_PROTOCOL_LINUX64);
		check_pvh(&boot_ram, &info);
		FUZZ_CHECK(info.kernel_start >= BIOS_HOLE_END);
		FUZZ_CHECK(info.boot_arg == PVH_START_INFO_ADDR);
		/* hvm_start_info: magic, nr_modules, memmap_entries */
		FUZZ_CHECK(ram_u32(PVH_START_INFO_ADDR) == HVM_START_MAGIC);
		FUZZ_CHECK(ram_u32(PVH_START_INFO_ADDR + 12) == (p.initrd_size ? 1u : 0u));
		FUZZ_CHECK(ram_u32(PVH_START_INFO_ADDR + 48) >= 1 &&
			   ram_u32(PVH_START_INFO_ADDR + 48) <= E820_MAX);
	} else {
		FUZZ_CHECK(p.protocol != BOOT_PROTOCOL_PVH);
		check_linux64(&boot_ram, &info);
		FUZZ_CHECK(info.boot_arg == ZERO_PAGE_ADDR);
		/* zero page: e820_entries, "HdrS", type_of_loader, cmd_line_ptr, code32_start */
		FUZZ_CHECK(ram_u8(ZERO_PAGE_ADDR + 0x1e8) >= 1 &&
			   ram_u8(ZERO_PAGE_ADDR + 0x1e8) <= E820_MAX);
		/* the header is copied up to 0x202 + the byte at 0x201 (boot.rst) */
		if (data[0x201] >= 4)
			FUZZ_CHECK(ram_u32(ZERO_PAGE_ADDR + 0x202) == 0x53726448u);
		FUZZ_CHECK(ram_u8(ZERO_PAGE_ADDR + 0x210) == 0xff);
		FUZZ_CHECK(ram_u32(ZERO_PAGE_ADDR + 0x228) == CMDLINE_ADDR);
		FUZZ_CHECK(ram_u32(ZERO_PAGE_ADDR + 0x214) == info.kernel_start);
		FUZZ_CHECK(ram_u32(ZERO_PAGE_ADDR + 0x218) == info.initrd_start);
		FUZZ_CHECK(ram_u32(ZERO_PAGE_ADDR + 0x21c) == info.initrd_size);
	}
}

#endif
