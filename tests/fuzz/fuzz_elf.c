// SPDX-License-Identifier: MIT
/*
 * PVH ELF kernels: arbitrary bytes as the kernel image, loaded without KVM (vm_fd = -1).
 *
 *  - elf_load_pvh() directly, into an odd layout: 2 MiB at 0 and 2 MiB at 4 GiB with one
 *    private page in each, so segments can straddle holes, region ends and private pages;
 *  - boot_load(), the production path (file read, format choice, ELF load, initrd placement,
 *    ACPI and MP tables, PVH start info), into the usual 64 MiB layout (fuzz_boot.h); the
 *    input's optional trailer picks vCPUs, initrd size and boot protocol.
 *
 * Whatever the loaders accept must describe guest RAM consistently (fuzz_boot.h checks).
 */
#include "fuzz_boot.h"

static struct guest_mem odd_mem;

#define ODD_LOW (2 * MiB)
#define ODD_HIGH HIGH_RAM_START
#define ODD_HIGH_LEN (2 * MiB)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet();
	fuzz_mem_init(&odd_mem, MEM_BACKING_ANONYMOUS);
	fuzz_mem_add(&odd_mem, 0, ODD_LOW);
	fuzz_mem_add(&odd_mem, ODD_HIGH, ODD_HIGH_LEN);
	fuzz_mem_private(&odd_mem, ODD_LOW - 0x1000, 0x1000);
	fuzz_mem_private(&odd_mem, ODD_HIGH + MiB, 0x1000);
	fuzz_boot_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size heap copy, so a read past the end of the image is an ASan report */
	struct boot_image img = { .path = "fuzz.elf",
				  .data = fuzz_dup(data, size, 0),
				  .size = size };
	struct boot_info info;

	memset(&info, 0, sizeof(info));
	if (elf_load_pvh(&odd_mem, &img, &info) == 0)
		check_pvh(&odd_mem, &info);
	free(img.data);

	fuzz_boot_load(data, size);
	return 0;
}
