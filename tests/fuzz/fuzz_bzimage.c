// SPDX-License-Identifier: MIT
/*
 * bzImage kernels (64-bit boot protocol): arbitrary bytes as the kernel image, loaded without
 * KVM (vm_fd = -1).
 *
 *  - bzimage_load() then bzimage_setup() directly, into an odd layout: 3 MiB at 0 (so
 *    the preferred address and the alignment fallback are often refused) and 2 MiB at 4 GiB
 *    (never acceptable), with a private page at 2 MiB;
 *  - boot_load(), the production path, into the usual 64 MiB layout (fuzz_boot.h); the
 *    input's optional trailer picks vCPUs, initrd size and boot protocol.
 *
 * Seeds are synthetic bzImages (tests/fuzz/gen_corpus.py): a setup header at 0x1f1 and a
 * small protected-mode part, valid and near-valid.
 */
#include "fuzz_boot.h"

static struct guest_mem odd_mem;

#define ODD_LOW (3 * MiB)
#define ODD_PRIVATE (2 * MiB)
#define ODD_HIGH HIGH_RAM_START
#define ODD_HIGH_LEN (2 * MiB)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fuzz_quiet();
	fuzz_mem_init(&odd_mem, MEM_BACKING_ANONYMOUS);
	fuzz_mem_add(&odd_mem, 0, ODD_LOW);
	fuzz_mem_add(&odd_mem, ODD_HIGH, ODD_HIGH_LEN);
	fuzz_mem_private(&odd_mem, ODD_PRIVATE, 0x1000);
	fuzz_boot_init();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size heap copy, so a read past the end of the image is an ASan report */
	struct boot_image img = { .path = "fuzz.bzImage",
				  .data = fuzz_dup(data, size, 0),
				  .size = size };
	struct boot_info info;

	memset(&info, 0, sizeof(info));
	if (bzimage_is_bzimage(&img) && bzimage_load(&odd_mem, &img, &info) == 0) {
		check_linux64(&odd_mem, &info);
		FUZZ_CHECK(bzimage_initrd_max(&img) <= 0x100000000ull);
		if (bzimage_setup(&odd_mem, &img, &info, "console=ttyS0", 0) == 0)
			FUZZ_CHECK(info.boot_arg == ZERO_PAGE_ADDR);
	}
	free(img.data);

	fuzz_boot_load(data, size);
	return 0;
}
