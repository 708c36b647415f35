// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../vmm/config.h"
#include "../../vmm/guest_mem.h"
#include "boot.h"
#include "layout.h"

#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

int boot_image_read(struct boot_image *img, const char *path, size_t max_size)
{
	struct stat st;
	size_t done = 0;
	int fd;

	memset(img, 0, sizeof(*img));
	img->path = path;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "minivmm: %s: cannot open: %s\n", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "minivmm: %s: not a regular file\n", path);
		goto fail;
	}
	if (st.st_size == 0) {
		fprintf(stderr, "minivmm: %s: file is empty\n", path);
		goto fail;
	}
	if ((uint64_t)st.st_size > max_size) {
		fprintf(stderr, "minivmm: %s: %lld bytes is larger than guest RAM can hold\n", path,
			(long long)st.st_size);
		goto fail;
	}
	img->size = (size_t)st.st_size;
	img->data = malloc(img->size);
	if (!img->data) {
		fprintf(stderr, "minivmm: %s: out of memory\n", path);
		goto fail;
	}
	while (done < img->size) {
		ssize_t n = read(fd, img->data + done, img->size - done);

		if (n <= 0) {
			fprintf(stderr, "minivmm: %s: read failed: %s\n", path,
				n < 0 ? strerror(errno) : "file shrank");
			goto fail;
		}
		done += (size_t)n;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	boot_image_free(img);
	return -1;
}

void boot_image_free(struct boot_image *img)
{
	free(img->data);
	img->data = NULL;
	img->size = 0;
}

/* The highest end of RAM below `limit` reachable in one region starting at or below 1 MiB. */
static uint64_t low_ram_end(struct guest_mem *mem, uint64_t limit)
{
	uint64_t end = 0;

	for (int i = 0; i < mem->nr_regions; i++) {
		const struct mem_region *r = &mem->regions[i];

		if (r->gpa <= KERNEL_LOAD_ADDR && r->gpa + r->size > end)
			end = r->gpa + r->size;
	}
	return end < limit ? end : limit;
}

int initrd_load(struct guest_mem *mem, const struct boot_image *img, uint64_t max_addr,
		struct boot_info *info)
{
	uint64_t top = low_ram_end(mem, max_addr);
	uint64_t start;
	void *dst;

	/* as high as possible, page aligned, above the kernel */
	if (img->size > top)
		goto too_big;
	start = (top - img->size) & ~(GUEST_PAGE_SIZE - 1);
	if (start < info->kernel_end || start < BIOS_HOLE_END)
		goto too_big;
	dst = guest_mem_boot_ptr(mem, start, img->size);
	if (!dst)
		goto too_big;
	memcpy(dst, img->data, img->size);
	info->initrd_start = start;
	info->initrd_size = img->size;
	return 0;
too_big:
	fprintf(stderr,
		"minivmm: %s: initrd of %zu bytes does not fit between the kernel (end %#llx) "
		"and %#llx; give the guest more --memory\n",
		img->path, img->size, (unsigned long long)info->kernel_end,
		(unsigned long long)top);
	return -1;
}

int pvh_setup(struct guest_mem *mem, struct boot_info *info, const char *cmdline,
	      uint64_t rsdp_addr)
{
	struct hvm_start_info *si = guest_mem_boot_ptr(mem, PVH_START_INFO_ADDR, sizeof(*si));
	struct hvm_memmap_entry *mm =
		guest_mem_boot_ptr(mem, PVH_MEMMAP_ADDR, PVH_MEMMAP_MAX * sizeof(*mm));
	size_t cmdline_len = strlen(cmdline) + 1;
	char *cl = guest_mem_boot_ptr(mem, CMDLINE_ADDR, CMDLINE_MAX);
	struct e820_entry e820[E820_MAX];
	int n;

	if (!si || !mm || !cl)
		return -1;
	if (cmdline_len > CMDLINE_MAX) {
		fprintf(stderr, "minivmm: command line longer than %llu bytes\n", CMDLINE_MAX - 1);
		return -1;
	}
	memcpy(cl, cmdline, cmdline_len);
	n = e820_build(mem, e820, E820_MAX);
	for (int i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_entry){ e820[i].addr, e820[i].size, e820[i].type, 0 };
	*si = (struct hvm_start_info){
		.magic = HVM_START_MAGIC,
		.version = 1,
		.cmdline_paddr = CMDLINE_ADDR,
		/* Linux takes it from here rather than scanning the BIOS area */
		.rsdp_paddr = rsdp_addr,
		.memmap_paddr = PVH_MEMMAP_ADDR,
		.memmap_entries = (uint32_t)n,
	};
	if (info->initrd_size) {
		struct hvm_modlist_entry *mod =
			guest_mem_boot_ptr(mem, PVH_MODLIST_ADDR, sizeof(*mod));

		if (!mod)
			return -1;
		*mod = (struct hvm_modlist_entry){ info->initrd_start, info->initrd_size, 0, 0 };
		si->nr_modules = 1;
		si->modlist_paddr = PVH_MODLIST_ADDR;
	}
	info->boot_arg = PVH_START_INFO_ADDR;
	return 0;
}

static const char *protocol_option(enum boot_protocol p)
{
	return p == BOOT_PROTOCOL_LINUX64 ? "linux64" : "pvh";
}

/*
 * Which protocol boots this image: auto takes PVH for an ELF vmlinux and the 64-bit boot
 * protocol for a bzImage; an explicit choice that the image cannot honour is an error, not
 * a silent fallback. Returns BOOT_PROTOCOL_AUTO (never a real choice) after printing why.
 */
static enum boot_protocol boot_choose(const struct boot_image *kernel, enum boot_protocol want)
{
	bool elf = elf_is_elf(kernel), bz = !elf && bzimage_is_bzimage(kernel);

	if (!elf && !bz) {
		fprintf(stderr,
			"minivmm: %s: not a kernel minivmm can boot: neither an ELF (vmlinux "
			"with a PVH note) nor a bzImage (no \"HdrS\" header at 0x202)\n",
			kernel->path);
		return BOOT_PROTOCOL_AUTO;
	}
	if (want == BOOT_PROTOCOL_AUTO)
		return elf ? BOOT_PROTOCOL_PVH : BOOT_PROTOCOL_LINUX64;
	if (want == BOOT_PROTOCOL_LINUX64 && elf) {
		fprintf(stderr,
			"minivmm: %s: --boot-protocol %s needs a bzImage, this is an ELF file "
			"(use --boot-protocol pvh or auto)\n",
			kernel->path, protocol_option(want));
		return BOOT_PROTOCOL_AUTO;
	}
	if (want == BOOT_PROTOCOL_PVH && bz) {
		fprintf(stderr,
			"minivmm: %s: --boot-protocol %s needs an ELF vmlinux with a PVH note, "
			"this is a bzImage (use --boot-protocol linux64 or auto)\n",
			kernel->path, protocol_option(want));
		return BOOT_PROTOCOL_AUTO;
	}
	return want;
}

int boot_load(struct guest_mem *mem, const struct vm_config *cfg, struct boot_info *info)
{
	struct boot_image kernel, initrd = { 0 };
	enum boot_protocol protocol;
	uint64_t rsdp_addr = 0, initrd_max;
	int ret = -1;

	memset(info, 0, sizeof(*info));
	if (boot_image_read(&kernel, cfg->kernel, cfg->memory))
		return -1;
	if (cfg->initrd[0] && boot_image_read(&initrd, cfg->initrd, cfg->memory))
		goto out;

	protocol = boot_choose(&kernel, cfg->boot_protocol);
	if (protocol == BOOT_PROTOCOL_PVH) {
		if (elf_load_pvh(mem, &kernel, info))
			goto out;
		if (info->kernel_start < BIOS_HOLE_END) {
			fprintf(stderr,
				"minivmm: %s: kernel loads at %#llx, below 1 MiB where the boot "
				"data lives\n",
				cfg->kernel, (unsigned long long)info->kernel_start);
			goto out;
		}
		initrd_max = MMIO_HOLE_START;
	} else if (protocol == BOOT_PROTOCOL_LINUX64) {
		if (bzimage_load(mem, &kernel, info))
			goto out;
		initrd_max = bzimage_initrd_max(&kernel);
	} else {
		goto out;
	}
	if (initrd.size && initrd_load(mem, &initrd, initrd_max, info))
		goto out;

	/* Both protocols get the same platform description: ACPI, and an MP table without */
	if (acpi_setup(mem, cfg->cpus, config_virtio_devices(cfg), cfg->xen, &rsdp_addr) ||
	    mptable_setup(mem, cfg->cpus))
		goto out;
	if (protocol == BOOT_PROTOCOL_PVH)
		ret = pvh_setup(mem, info, cfg->cmdline, rsdp_addr);
	else
		ret = bzimage_setup(mem, &kernel, info, cfg->cmdline, rsdp_addr);
out:
	boot_image_free(&kernel);
	boot_image_free(&initrd);
	return ret;
}
