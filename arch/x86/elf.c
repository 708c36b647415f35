// SPDX-License-Identifier: MIT
/*
 * ELF kernels through libelf: PT_LOAD segments go to their physical addresses (p_paddr, as for
 * vmlinux whose virtual addresses are in the kernel half), and the entry is the 32-bit address
 * in the Xen PVH note. Every size and offset comes from the file, so every one is checked.
 */
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>

#include "../../vmm/guest_mem.h"
#include "boot.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18

static void elf_error(const struct boot_image *img, const char *what)
{
	fprintf(stderr, "minivmm: %s: %s\n", img->path, what);
}

int elf_is_elf(const struct boot_image *img)
{
	return img->size >= 4 && !memcmp(img->data, ELFMAG, SELFMAG);
}

static int find_pvh_entry(Elf *elf, const struct boot_image *img, uint64_t *entry)
{
	size_t nphdr;

	if (elf_getphdrnum(elf, &nphdr))
		return -1;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		Elf_Data *data;
		GElf_Nhdr nh;
		size_t off = 0, name_off, desc_off;

		if (!gelf_getphdr(elf, (int)i, &ph)) {
			elf_error(img, "corrupt program header table");
			return -1;
		}
		if (ph.p_type != PT_NOTE)
			continue;
		if (ph.p_offset > img->size || ph.p_filesz > img->size - ph.p_offset) {
			elf_error(img, "PT_NOTE segment extends past the end of the file");
			return -1;
		}
		data = elf_getdata_rawchunk(elf, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
		if (!data)
			continue;
		while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			const char *name = (const char *)data->d_buf + name_off;
			const uint8_t *desc = (const uint8_t *)data->d_buf + desc_off;

			if (nh.n_type != XEN_ELFNOTE_PHYS32_ENTRY || nh.n_namesz != 4 ||
			    memcmp(name, "Xen", 4))
				continue;
			if (nh.n_descsz == 4) {
				uint32_t v;

				memcpy(&v, desc, 4);
				*entry = v;
			} else if (nh.n_descsz == 8) {
				memcpy(entry, desc, 8);
			} else {
				elf_error(img, "PVH entry note has a bad size");
				return -1;
			}
			if (*entry > 0xffffffffull) {
				elf_error(img, "PVH entry is above 4 GiB");
				return -1;
			}
			return 0;
		}
	}
	return -ENOENT;
}

int elf_load_pvh(struct guest_mem *mem, const struct boot_image *img, struct boot_info *info)
{
	uint64_t lo = UINT64_MAX, hi = 0, entry = 0;
	GElf_Ehdr eh;
	size_t nphdr;
	int loaded = 0, ret = -1;
	bool entry_loaded = false;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -1;
	elf = elf_memory((char *)img->data, img->size);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		elf_error(img, "not a valid ELF file");
		goto out;
	}
	if (eh.e_machine != EM_X86_64 && eh.e_machine != EM_386) {
		elf_error(img, "ELF file is not for x86");
		goto out;
	}
	if (eh.e_type != ET_EXEC) {
		elf_error(img, "ELF file is not an executable (ET_EXEC)");
		goto out;
	}
	if (elf_getphdrnum(elf, &nphdr) || !nphdr) {
		elf_error(img, "ELF file has no program headers");
		goto out;
	}
	ret = find_pvh_entry(elf, img, &entry);
	if (ret == -ENOENT) {
		elf_error(img, "ELF file has no Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); "
			       "a vmlinux needs CONFIG_PVH=y");
		ret = -1;
		goto out;
	}
	if (ret)
		goto out;
	ret = -1;

	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		void *dst;
		char msg[160];

		if (!gelf_getphdr(elf, (int)i, &ph)) {
			elf_error(img, "corrupt program header table");
			goto out;
		}
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		if (ph.p_filesz > ph.p_memsz) {
			snprintf(msg, sizeof(msg),
				 "segment %zu: file size %#llx exceeds memory size %#llx", i,
				 (unsigned long long)ph.p_filesz, (unsigned long long)ph.p_memsz);
			elf_error(img, msg);
			goto out;
		}
		if (ph.p_offset > img->size || ph.p_filesz > img->size - ph.p_offset) {
			snprintf(
				msg, sizeof(msg),
				"segment %zu: file range %#llx+%#llx is outside the file (%zu bytes)",
				i, (unsigned long long)ph.p_offset, (unsigned long long)ph.p_filesz,
				img->size);
			elf_error(img, msg);
			goto out;
		}
		dst = guest_mem_boot_ptr(mem, ph.p_paddr, ph.p_memsz);
		if (!dst) {
			snprintf(msg, sizeof(msg),
				 "segment %zu: guest range %#llx+%#llx is not in guest RAM "
				 "(more --memory?)",
				 i, (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz);
			elf_error(img, msg);
			goto out;
		}
		memcpy(dst, img->data + ph.p_offset, ph.p_filesz);
		memset((uint8_t *)dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
		if (entry >= ph.p_paddr && entry - ph.p_paddr < ph.p_memsz)
			entry_loaded = true;
		if (ph.p_paddr < lo)
			lo = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > hi)
			hi = ph.p_paddr + ph.p_memsz;
		loaded++;
	}
	if (!loaded) {
		elf_error(img, "ELF file has no loadable segments");
		goto out;
	}
	if (!entry_loaded) {
		elf_error(img, "PVH entry point lies outside the loaded segments");
		goto out;
	}
	info->entry_mode = BOOT_ENTRY_PVH32;
	info->entry = entry;
	info->kernel_start = lo;
	info->kernel_end = hi;
	info->format = "PVH ELF";
	ret = 0;
out:
	if (elf)
		elf_end(elf);
	return ret;
}
