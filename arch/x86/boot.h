/* SPDX-License-Identifier: MIT */
/*
 * Kernel loading. Loaders work on a struct guest_mem and a config only (no KVM), so unit tests
 * and fuzzers drive them against fake guest memory.
 */
#ifndef MINIVMM_ARCH_X86_BOOT_H
#define MINIVMM_ARCH_X86_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guest_mem;
struct vm_config;

enum boot_entry {
	BOOT_ENTRY_PVH32,   /* 32-bit protected mode, paging off, EBX = hvm_start_info */
	BOOT_ENTRY_LINUX64, /* long mode, identity map, RSI = boot_params */
};

struct boot_info {
	enum boot_entry entry_mode;
	uint64_t entry;
	uint64_t boot_arg; /* EBX (PVH start info) or RSI (zero page) */
	uint64_t kernel_start;
	uint64_t kernel_end;
	uint64_t initrd_start;
	uint64_t initrd_size;
	const char *format; /* "PVH ELF", "bzImage", for logs */
};

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_MAX 16

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};

/* The guest's memory map, derived from the RAM regions. Returns the number of entries. */
int e820_build(struct guest_mem *mem, struct e820_entry *map, int max);

/* A file read whole into memory, with its name for messages. */
struct boot_image {
	const char *path;
	uint8_t *data;
	size_t size;
};

int boot_image_read(struct boot_image *img, const char *path, size_t max_size);
void boot_image_free(struct boot_image *img);

/*
 * ELF with a Xen PVH note (XEN_ELFNOTE_PHYS32_ENTRY): loads PT_LOAD segments at their
 * physical addresses. Returns 0, or -1 after printing "<path>: <reason>". -ENOENT (with no
 * message) when the ELF has no PVH note.
 */
int elf_load_pvh(struct guest_mem *mem, const struct boot_image *img, struct boot_info *info);
/* Is this an ELF file at all (magic check)? */
int elf_is_elf(const struct boot_image *img);

/* hvm_start_info + memmap + cmdline + initrd module for a PVH entry; rsdp_addr may be 0. */
int pvh_setup(struct guest_mem *mem, struct boot_info *info, const char *cmdline,
	      uint64_t rsdp_addr);

/* Does the file carry a bzImage setup header ("HdrS" at 0x202)? */
bool bzimage_is_bzimage(const struct boot_image *img);
/*
 * bzImage for the 64-bit boot protocol: checks the setup header, copies the protected-mode
 * kernel to its load address, writes the long-mode page tables and GDT. Returns 0, or -1
 * after printing "<path>: <reason>".
 */
int bzimage_load(struct guest_mem *mem, const struct boot_image *img, struct boot_info *info);
/* Where the initrd must end at the latest (after a successful bzimage_load). */
uint64_t bzimage_initrd_max(const struct boot_image *img);
/* The zero page: setup header, cmdline, e820, initrd, RSDP. After bzimage_load + initrd. */
int bzimage_setup(struct guest_mem *mem, const struct boot_image *img, struct boot_info *info,
		  const char *cmdline, uint64_t rsdp_addr);

/*
 * ACPI tables for `cpus` vCPUs (RSDP at ACPI_RSDP_ADDR, XSDT, FADT, DSDT, MADT) in the
 * reserved BIOS area; *rsdp_addr gets the RSDP's address. Prints why on failure.
 */
/* virtio_devices: virtio-mmio slots 0..n-1 in use (described in the DSDT); xen_hvm: the
 * guest is a Xen HVM guest (--xen), which must not look like a Xen PVH one */
int acpi_setup(struct guest_mem *mem, unsigned int cpus, unsigned int virtio_devices, bool xen_hvm,
	       uint64_t *rsdp_addr);
/* Intel MP table at MPTABLE_ADDR, for kernels without ACPI (none above 254 vCPUs). */
int mptable_setup(struct guest_mem *mem, unsigned int cpus);

/* Load the initrd high in low RAM; fills info->initrd_*. max_addr bounds its end. */
int initrd_load(struct guest_mem *mem, const struct boot_image *img, uint64_t max_addr,
		struct boot_info *info);

/* Load kernel and initrd as cfg says, choosing the protocol. Prints errors itself. */
int boot_load(struct guest_mem *mem, const struct vm_config *cfg, struct boot_info *info);

#endif
