// SPDX-License-Identifier: MIT
/*
 * bzImage through the 64-bit boot protocol (Documentation/arch/x86/boot.rst): the real-mode
 * setup is skipped, the protected-mode kernel is copied to its load address and entered in
 * long mode at load + 0x200 with RSI pointing at a zero page (boot_params) that minivmm fills
 * as a boot loader would: the setup header copied from the file, then the loader's fields.
 *
 * Every field comes from an untrusted file, so each is checked before it is used, and each
 * failure names the file and says what is wrong.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../../vmm/guest_mem.h"
#include "boot.h"
#include "cpu.h"
#include "layout.h"

#define SETUP_HDR_OFFSET 0x1f1
/* where boot_params continues after the setup header and its padding */
#define SETUP_HDR_END_MAX 0x290
#define HDRS_MAGIC "HdrS"
#define BOOT_VERSION_64 0x020c /* 2.12: xloadflags, the first with a 64-bit entry */
#define ENTRY_64_OFFSET 0x200
#define DEFAULT_SETUP_SECTS 4

#define XLF_KERNEL_64 (1u << 0)
#define LOADED_HIGH (1u << 0)
#define CAN_USE_HEAP (1u << 7)
#define LOADER_UNDEFINED 0xff
/* heap_end_ptr counts from the real-mode setup; only its 16-bit code uses the heap. */
#define SETUP_HEAP_END 0xfe00

#define E820_TABLE_MAX 128

/* The setup header (boot.rst "The Real-Mode Kernel Header"), as far as protocol 2.15. */
struct setup_header {
	uint8_t setup_sects;
	uint16_t root_flags;
	uint32_t syssize;
	uint16_t ram_size;
	uint16_t vid_mode;
	uint16_t root_dev;
	uint16_t boot_flag;
	uint16_t jump;
	uint32_t header;
	uint16_t version;
	uint32_t realmode_swtch;
	uint16_t start_sys_seg;
	uint16_t kernel_version;
	uint8_t type_of_loader;
	uint8_t loadflags;
	uint16_t setup_move_size;
	uint32_t code32_start;
	uint32_t ramdisk_image;
	uint32_t ramdisk_size;
	uint32_t bootsect_kludge;
	uint16_t heap_end_ptr;
	uint8_t ext_loader_ver;
	uint8_t ext_loader_type;
	uint32_t cmd_line_ptr;
	uint32_t initrd_addr_max;
	uint32_t kernel_alignment;
	uint8_t relocatable_kernel;
	uint8_t min_alignment;
	uint16_t xloadflags;
	uint32_t cmdline_size;
	uint32_t hardware_subarch;
	uint64_t hardware_subarch_data;
	uint32_t payload_offset;
	uint32_t payload_length;
	uint64_t setup_data;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t handover_offset;
	uint32_t kernel_info_offset;
} __attribute__((packed));

struct boot_e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

/* boot_params ("zero page"): only the fields a 64-bit boot loader sets are named. */
struct boot_params {
	uint8_t _pad0[0x070];
	uint64_t acpi_rsdp_addr;
	uint8_t _pad1[0x1e8 - 0x078];
	uint8_t e820_entries;
	uint8_t _pad2[SETUP_HDR_OFFSET - 0x1e9];
	struct setup_header hdr;
	uint8_t _pad3[0x2d0 - SETUP_HDR_OFFSET - sizeof(struct setup_header)];
	struct boot_e820_entry e820_table[E820_TABLE_MAX];
	uint8_t _pad4[0x1000 - 0x2d0 - E820_TABLE_MAX * sizeof(struct boot_e820_entry)];
} __attribute__((packed));

#define HDR_OFF(field) (SETUP_HDR_OFFSET + __builtin_offsetof(struct setup_header, field))
_Static_assert(HDR_OFF(syssize) == 0x1f4, "syssize");
_Static_assert(HDR_OFF(header) == 0x202, "header magic");
_Static_assert(HDR_OFF(version) == 0x206, "version");
_Static_assert(HDR_OFF(type_of_loader) == 0x210, "type_of_loader");
_Static_assert(HDR_OFF(ramdisk_image) == 0x218, "ramdisk_image");
_Static_assert(HDR_OFF(heap_end_ptr) == 0x224, "heap_end_ptr");
_Static_assert(HDR_OFF(cmd_line_ptr) == 0x228, "cmd_line_ptr");
_Static_assert(HDR_OFF(initrd_addr_max) == 0x22c, "initrd_addr_max");
_Static_assert(HDR_OFF(xloadflags) == 0x236, "xloadflags");
_Static_assert(HDR_OFF(cmdline_size) == 0x238, "cmdline_size");
_Static_assert(HDR_OFF(pref_address) == 0x258, "pref_address");
_Static_assert(HDR_OFF(init_size) == 0x260, "init_size");
_Static_assert(HDR_OFF(kernel_info_offset) == 0x268, "kernel_info_offset");
_Static_assert(sizeof(struct boot_params) == 0x1000, "boot_params is one page");
_Static_assert(__builtin_offsetof(struct boot_params, e820_table) == 0x2d0, "e820_table");

typedef unsigned long long ull;

/* One line naming the file; returns -1 for `return bz_error(...)`. */
static int __attribute__((format(printf, 2, 3)))
bz_error(const struct boot_image *img, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "minivmm: %s: ", img->path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

bool bzimage_is_bzimage(const struct boot_image *img)
{
	return img->size >= HDR_OFF(header) + 4 &&
	       !memcmp(img->data + HDR_OFF(header), HDRS_MAGIC, 4);
}

/* The header as the file has it; the caller checked the file holds the whole header. */
static struct setup_header bzimage_hdr(const struct boot_image *img)
{
	struct setup_header hdr;

	memcpy(&hdr, img->data + SETUP_HDR_OFFSET, sizeof(hdr));
	return hdr;
}

static uint64_t setup_size(const struct setup_header *hdr)
{
	return ((uint64_t)(hdr->setup_sects ? hdr->setup_sects : DEFAULT_SETUP_SECTS) + 1) * 512;
}

/* [addr, addr + size) is guest RAM above the boot data and below the 32-bit MMIO hole. */
static bool kernel_fits(struct guest_mem *mem, uint64_t addr, uint64_t size)
{
	return addr >= KERNEL_LOAD_ADDR && addr <= MMIO_HOLE_START &&
	       size <= MMIO_HOLE_START - addr && guest_mem_boot_ptr(mem, addr, size);
}

int bzimage_load(struct guest_mem *mem, const struct boot_image *img, struct boot_info *info)
{
	struct setup_header hdr;
	uint64_t setup, kernel_size, need, addr;

	if (!bzimage_is_bzimage(img))
		return bz_error(img, "not a bzImage: no \"HdrS\" setup header magic at %#x",
				(unsigned int)HDR_OFF(header));
	/* Headers before 2.12 end earlier, but those are refused just below anyway. */
	if (img->size < SETUP_HDR_OFFSET + sizeof(hdr))
		return bz_error(img, "truncated: %zu bytes end inside the setup header", img->size);
	hdr = bzimage_hdr(img);
	if (hdr.version < BOOT_VERSION_64)
		return bz_error(img,
				"boot protocol %u.%02u is too old: the 64-bit entry needs "
				"2.12 (Linux 3.8+)",
				hdr.version >> 8, hdr.version & 0xff);
	if (!(hdr.xloadflags & XLF_KERNEL_64))
		return bz_error(img,
				"kernel has no 64-bit entry point (xloadflags %#x lacks "
				"XLF_KERNEL_64); is it a 32-bit kernel?",
				hdr.xloadflags);

	setup = setup_size(&hdr);
	if (img->size <= setup)
		return bz_error(img, "truncated: %zu bytes, the real-mode setup alone is %llu",
				img->size, (ull)setup);
	kernel_size = img->size - setup;
	/* syssize counts 16-byte units of the protected-mode part, CRC included */
	if ((uint64_t)hdr.syssize * 16 > kernel_size)
		return bz_error(img,
				"truncated: the header says %llu bytes of kernel, the file has "
				"%llu",
				(ull)hdr.syssize * 16, (ull)kernel_size);

	if (kernel_size <= ENTRY_64_OFFSET)
		return bz_error(img,
				"kernel of %llu bytes ends before its 64-bit entry at offset %#x",
				(ull)kernel_size, ENTRY_64_OFFSET);

	/* init_size is what the kernel needs from its load address to decompress in place */
	need = hdr.init_size > kernel_size ? hdr.init_size : kernel_size;
	addr = hdr.pref_address;
	if (!kernel_fits(mem, addr, need)) {
		uint64_t align = hdr.kernel_alignment;

		if (!hdr.relocatable_kernel)
			return bz_error(img,
					"kernel is not relocatable and needs %llu MiB of RAM from "
					"%#llx; give the guest more --memory",
					(ull)(need + (1 << 20) - 1) >> 20, (ull)hdr.pref_address);
		if (!align || (align & (align - 1)) || align > (1ull << 30))
			return bz_error(img, "bad kernel_alignment %#llx", (ull)align);
		addr = (KERNEL_LOAD_ADDR + align - 1) & ~(align - 1);
		if (!kernel_fits(mem, addr, need))
			return bz_error(img,
					"kernel too big for guest RAM: it needs %llu MiB from "
					"%#llx; give the guest more --memory",
					(ull)(need + (1 << 20) - 1) >> 20, (ull)addr);
	}

	memcpy(guest_mem_boot_ptr(mem, addr, kernel_size), img->data + setup, kernel_size);
	if (x86_write_long_mode_tables(mem))
		return bz_error(img, "no guest RAM for the boot page tables at %#llx",
				(ull)BOOT_PML4_ADDR);

	info->entry_mode = BOOT_ENTRY_LINUX64;
	info->entry = addr + ENTRY_64_OFFSET;
	info->kernel_start = addr;
	info->kernel_end = addr + need;
	info->format = "bzImage";
	return 0;
}

uint64_t bzimage_initrd_max(const struct boot_image *img)
{
	struct setup_header hdr = bzimage_hdr(img);

	/* initrd_addr_max is the last byte the initrd may occupy, so its end may be one more */
	return (uint64_t)hdr.initrd_addr_max + 1;
}

int bzimage_setup(struct guest_mem *mem, const struct boot_image *img, struct boot_info *info,
		  const char *cmdline, uint64_t rsdp_addr)
{
	struct boot_params *bp = guest_mem_boot_ptr(mem, ZERO_PAGE_ADDR, sizeof(*bp));
	char *cl = guest_mem_boot_ptr(mem, CMDLINE_ADDR, CMDLINE_MAX);
	struct setup_header file_hdr = bzimage_hdr(img);
	struct e820_entry e820[E820_MAX];
	size_t cmdline_len = strlen(cmdline);
	size_t hdr_end;
	int n;

	if (!bp || !cl)
		return bz_error(img, "no guest RAM for the zero page at %#llx",
				(ull)ZERO_PAGE_ADDR);
	/* cmdline_size excludes the terminating NUL */
	if (cmdline_len > file_hdr.cmdline_size || cmdline_len >= CMDLINE_MAX)
		return bz_error(img, "command line is %zu bytes, the kernel accepts at most %llu",
				cmdline_len,
				(ull)(file_hdr.cmdline_size < CMDLINE_MAX - 1
					      ? file_hdr.cmdline_size
					      : CMDLINE_MAX - 1));
	memcpy(cl, cmdline, cmdline_len + 1);

	/*
	 * The header runs from 0x1f1 to 0x202 + the byte at 0x201 (the setup's jump offset);
	 * copy exactly that, as boot.rst asks, but never past the header area of boot_params.
	 */
	hdr_end = 0x202 + img->data[0x201];
	if (hdr_end > SETUP_HDR_END_MAX)
		hdr_end = SETUP_HDR_END_MAX;
	memset(bp, 0, sizeof(*bp));
	memcpy((uint8_t *)bp + SETUP_HDR_OFFSET, img->data + SETUP_HDR_OFFSET,
	       hdr_end - SETUP_HDR_OFFSET);

	bp->hdr.type_of_loader = LOADER_UNDEFINED;
	bp->hdr.loadflags |= LOADED_HIGH | CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = SETUP_HEAP_END;
	bp->hdr.code32_start = (uint32_t)info->kernel_start;
	bp->hdr.cmd_line_ptr = (uint32_t)CMDLINE_ADDR;
	bp->hdr.ramdisk_image = (uint32_t)info->initrd_start;
	bp->hdr.ramdisk_size = (uint32_t)info->initrd_size;
	/* Linux takes the RSDP from here first (protocol 2.14+); older ones scan 0xe0000.. */
	bp->acpi_rsdp_addr = rsdp_addr;

	n = e820_build(mem, e820, E820_MAX);
	for (int i = 0; i < n; i++)
		bp->e820_table[i] =
			(struct boot_e820_entry){ e820[i].addr, e820[i].size, e820[i].type };
	bp->e820_entries = (uint8_t)n;
	info->boot_arg = ZERO_PAGE_ADDR;
	return 0;
}
