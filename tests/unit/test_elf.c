// SPDX-License-Identifier: MIT
/*
 * arch/x86/elf.c and boot.c: PVH ELF images crafted in memory by a small builder, loaded into
 * guest memory without KVM; hostile images (truncated at every length, bad headers, bad notes,
 * segments outside the file or outside RAM) must fail cleanly; boot_load() end to end from
 * temporary files, checking hvm_start_info, the memory map, the command line and the initrd.
 */
#include "unit.h"

#include <elf.h>

#include "../../arch/x86/boot.h"
#include "../../arch/x86/layout.h"
#include "../../vmm/config.h"
#include "../../vmm/guest_mem.h"

#define PAGE 4096ull
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336ec578u
#define KVADDR 0xffffffff80000000ull /* vmlinux-style virtual addresses */

/* ---- ELF builder ---------------------------------------------------------------------- */

struct seg {
	uint32_t type; /* 0: PT_LOAD */
	uint64_t paddr;
	uint64_t filesz;
	uint64_t memsz;
	uint8_t seed; /* file bytes are seg_byte(seed, i) */
};

struct elf_spec {
	uint16_t machine; /* 0: EM_X86_64 */
	uint16_t type;	  /* 0: ET_EXEC */
	bool no_note;
	const char *note_owner; /* NULL: "Xen" */
	uint32_t note_type;	/* 0: XEN_ELFNOTE_PHYS32_ENTRY */
	int note_descsz;	/* 0: 4; < 0: an empty descriptor */
	uint64_t entry;
	int nsegs;
	struct seg segs[4];
};

struct elf_img {
	uint8_t *data;
	size_t size;
	int note_phdr; /* index of the PT_NOTE header, -1 if none */
	size_t seg_off[4];
};

static uint8_t seg_byte(uint8_t seed, uint64_t i)
{
	return (uint8_t)(seed + i * 13 + (i >> 9));
}

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static Elf64_Ehdr *ehdr(struct elf_img *im)
{
	return (Elf64_Ehdr *)im->data;
}

static Elf64_Phdr *phdr(struct elf_img *im, int i)
{
	return (Elf64_Phdr *)(im->data + sizeof(Elf64_Ehdr) + (size_t)i * sizeof(Elf64_Phdr));
}

/*
 * Layout: ELF header, program headers (the loads, then the note), the note, then each
 * segment's file bytes 16-byte aligned. The last segment's bytes end the file, so cutting the
 * file anywhere cuts something the loader needs.
 */
static void elf_build(const struct elf_spec *s, struct elf_img *im)
{
	const char *owner = s->note_owner ? s->note_owner : "Xen";
	uint32_t namesz = (uint32_t)strlen(owner) + 1;
	uint32_t descsz = s->note_descsz < 0 ? 0 : s->note_descsz ? (uint32_t)s->note_descsz : 4;
	int phnum = s->nsegs + (s->no_note ? 0 : 1);
	size_t note_off = align_up(sizeof(Elf64_Ehdr) + (size_t)phnum * sizeof(Elf64_Phdr), 4);
	size_t note_size = 12 + align_up(namesz, 4) + align_up(descsz, 4);
	size_t off = s->no_note ? note_off : note_off + note_size;
	Elf64_Ehdr *eh;

	memset(im, 0, sizeof(*im));
	for (int i = 0; i < s->nsegs; i++) {
		off = align_up(off, 16);
		im->seg_off[i] = off;
		off += s->segs[i].filesz;
	}
	im->size = off;
	im->data = unit_alloc(im->size);

	eh = ehdr(im);
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_ident[EI_OSABI] = ELFOSABI_SYSV;
	eh->e_type = s->type ? s->type : ET_EXEC;
	eh->e_machine = s->machine ? s->machine : EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = KVADDR + s->entry; /* the ELF entry is virtual and must be ignored */
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = (uint16_t)phnum;

	for (int i = 0; i < s->nsegs; i++) {
		const struct seg *sg = &s->segs[i];
		Elf64_Phdr *ph = phdr(im, i);

		ph->p_type = sg->type ? sg->type : PT_LOAD;
		ph->p_flags = PF_R | PF_X;
		ph->p_offset = im->seg_off[i];
		ph->p_vaddr = KVADDR + sg->paddr;
		ph->p_paddr = sg->paddr;
		ph->p_filesz = sg->filesz;
		ph->p_memsz = sg->memsz;
		ph->p_align = 16;
		for (uint64_t b = 0; b < sg->filesz; b++)
			im->data[im->seg_off[i] + b] = seg_byte(sg->seed, b);
	}
	im->note_phdr = -1;
	if (!s->no_note) {
		Elf64_Phdr *ph = phdr(im, s->nsegs);
		Elf64_Nhdr nh = { .n_namesz = namesz,
				  .n_descsz = descsz,
				  .n_type =
					  s->note_type ? s->note_type : XEN_ELFNOTE_PHYS32_ENTRY };
		uint8_t *p = im->data + note_off;

		im->note_phdr = s->nsegs;
		ph->p_type = PT_NOTE;
		ph->p_flags = PF_R;
		ph->p_offset = note_off;
		ph->p_filesz = note_size;
		ph->p_align = 4;
		memcpy(p, &nh, sizeof(nh));
		memcpy(p + 12, owner, namesz);
		memcpy(p + 12 + align_up(namesz, 4), &s->entry, descsz < 8 ? descsz : 8);
	}
}

static void elf_free(struct elf_img *im)
{
	unit_free(im->data);
	im->data = NULL;
}

/* A vmlinux-like kernel: text at 1 MiB, data + bss at 2 MiB, entry in the text. */
static struct elf_spec good_spec(void)
{
	struct elf_spec s = {
		.entry = 0x100040,
		.nsegs = 2,
		.segs = {
			{ .paddr = 0x100000, .filesz = 0x1800, .memsz = 0x1800, .seed = 1 },
			{ .paddr = 0x200000, .filesz = 0x234, .memsz = 0x3000, .seed = 2 },
		},
	};
	return s;
}

/* ---- fixtures ------------------------------------------------------------------------- */

struct fixture {
	struct guest_mem mem;
	char msg[4096]; /* stderr of the last load */
};

/* 64 MiB of low RAM and 2 MiB above the 32-bit MMIO hole. */
static int mem_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || guest_mem_init(&f->mem, -1, MEM_BACKING_MEMFD, 0) ||
	    guest_mem_add_ram_layout(&f->mem, 64 * MiB) ||
	    guest_mem_add_ram(&f->mem, HIGH_RAM_START, 2 * MiB))
		return -1;
	*state = f;
	return 0;
}

static int mem_teardown(void **state)
{
	struct fixture *f = *state;

	unit_free_all();
	guest_mem_destroy(&f->mem);
	free(f);
	return 0;
}

/* Load size bytes of data (copied to a buffer of exactly that size, so ASan sees overreads). */
static int load_bytes(struct fixture *f, const uint8_t *data, size_t size, struct boot_info *info)
{
	uint8_t *copy = unit_alloc(size);
	struct boot_image img = { .path = "test.elf", .data = copy, .size = size };
	int ret;

	if (size)
		memcpy(copy, data, size);
	memset(info, 0, sizeof(*info));
	unit_capture_begin();
	ret = elf_load_pvh(&f->mem, &img, info);
	unit_capture_end(f->msg, sizeof(f->msg));
	unit_free(copy);
	return ret;
}

static int load_img(struct fixture *f, struct elf_img *im, struct boot_info *info)
{
	return load_bytes(f, im->data, im->size, info);
}

/* The image must be refused with -1 and a "test.elf: ..." message containing `why`. */
static void expect_reject(struct fixture *f, struct elf_img *im, const char *why)
{
	struct boot_info info;
	int ret = load_img(f, im, &info);

	if (ret != -1)
		fail_msg("hostile image loaded: ret %d, entry %#llx (expected \"%s\")", ret,
			 (unsigned long long)info.entry, why);
	assert_contains(f->msg, "minivmm: test.elf: ");
	assert_contains(f->msg, why);
}

static void build_and_reject(struct fixture *f, const struct elf_spec *s, const char *why)
{
	struct elf_img im;

	elf_build(s, &im);
	expect_reject(f, &im, why);
	elf_free(&im);
}

static void check_segment(struct guest_mem *mem, const struct seg *sg)
{
	uint8_t *buf = unit_alloc(sg->memsz);

	assert_int_equal(guest_mem_read(mem, sg->paddr, buf, sg->memsz), 0);
	for (uint64_t i = 0; i < sg->memsz; i++) {
		uint8_t want = i < sg->filesz ? seg_byte(sg->seed, i) : 0;

		if (buf[i] != want)
			fail_msg("guest byte %#llx is %#x, want %#x (%s)",
				 (unsigned long long)(sg->paddr + i), buf[i], want,
				 i < sg->filesz ? "file data" : "bss");
	}
	unit_free(buf);
}

static uint8_t gbyte(struct guest_mem *mem, uint64_t gpa)
{
	uint8_t b = 0;

	assert_int_equal(guest_mem_read(mem, gpa, &b, 1), 0);
	return b;
}

static void gfill(struct guest_mem *mem, uint64_t gpa, uint8_t v, size_t len)
{
	uint8_t *buf = unit_alloc(len);

	memset(buf, v, len);
	assert_int_equal(guest_mem_write(mem, gpa, buf, len), 0);
	unit_free(buf);
}

/* ---- good images ---------------------------------------------------------------------- */

static void test_load_good(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = good_spec();
	struct boot_info info;
	struct elf_img im;

	/* stale data where the segments go: the file bytes replace it, the bss is zeroed */
	gfill(&f->mem, 0x100000 - PAGE, 0x55, 0x3000);
	gfill(&f->mem, 0x200000 - PAGE, 0xaa, 0x5000);
	elf_build(&s, &im);
	assert_int_equal(load_img(f, &im, &info), 0);
	assert_string_equal(f->msg, "");
	assert_int_equal(info.entry_mode, BOOT_ENTRY_PVH32);
	assert_int_equal(info.entry, 0x100040);
	assert_int_equal(info.kernel_start, 0x100000);
	assert_int_equal(info.kernel_end, 0x203000);
	assert_non_null(info.format);
	assert_string_equal(info.format, "PVH ELF");
	check_segment(&f->mem, &s.segs[0]);
	check_segment(&f->mem, &s.segs[1]);
	/* nothing written outside [p_paddr, p_paddr + p_memsz) */
	assert_int_equal(gbyte(&f->mem, 0x100000 - 1), 0x55);
	assert_int_equal(gbyte(&f->mem, 0x101800), 0x55);
	assert_int_equal(gbyte(&f->mem, 0x200000 - 1), 0xaa);
	assert_int_equal(gbyte(&f->mem, 0x203000), 0xaa);
	elf_free(&im);
}

static void test_load_desc8_and_order(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = {
		.entry = 0x1000000,
		.note_descsz = 8,
		.nsegs = 3,
		.segs = {
			/* not sorted by address; a zero-size PT_LOAD is ignored */
			{ .paddr = 0x1000000, .filesz = 0x1000, .memsz = 0x2000, .seed = 3 },
			{ .paddr = 0x800000, .filesz = 0, .memsz = 0, .seed = 4 },
			{ .paddr = 0x400000, .filesz = 0x10, .memsz = 0x10, .seed = 5 },
		},
	};
	struct boot_info info;
	struct elf_img im;

	elf_build(&s, &im);
	assert_int_equal(load_img(f, &im, &info), 0);
	assert_int_equal(info.entry, 0x1000000);
	assert_int_equal(info.kernel_start, 0x400000);
	assert_int_equal(info.kernel_end, 0x1002000);
	check_segment(&f->mem, &s.segs[0]);
	check_segment(&f->mem, &s.segs[2]);
	elf_free(&im);
}

static void test_load_other_notes_skipped(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = good_spec();
	struct boot_info info;
	struct elf_img im;
	uint8_t *buf;
	size_t note_off;

	/* prepend a Linux note and a Xen note of another type in the same PT_NOTE */
	elf_build(&s, &im);
	note_off = phdr(&im, im.note_phdr)->p_offset;
	buf = unit_alloc(im.size + 40);
	memcpy(buf, im.data, note_off);
	{
		Elf64_Nhdr a = { 6, 4, 1 }, b = { 4, 0, 17 };
		uint8_t *p = buf + note_off;

		memcpy(p, &a, 12);
		memcpy(p + 12, "Linux\0\0\0", 8);
		memcpy(p + 20, "\x11\x22\x33\x44", 4);
		memcpy(p + 24, &b, 12);
		memcpy(p + 36, "Xen\0", 4);
	}
	memcpy(buf + note_off + 40, im.data + note_off, im.size - note_off);
	im.size += 40;
	unit_free(im.data);
	im.data = buf;
	phdr(&im, im.note_phdr)->p_filesz += 40;
	for (int i = 0; i < s.nsegs; i++)
		phdr(&im, i)->p_offset += 40;
	assert_int_equal(load_img(f, &im, &info), 0);
	assert_int_equal(info.entry, 0x100040);
	check_segment(&f->mem, &s.segs[0]);
	check_segment(&f->mem, &s.segs[1]);
	elf_free(&im);
}

static void test_elf_is_elf(void **state)
{
	uint8_t elf[] = { 0x7f, 'E', 'L', 'F', 2 }, mz[] = { 'M', 'Z', 0, 0, 0 };
	struct boot_image img = { .path = "x", .data = elf, .size = sizeof(elf) };

	(void)state;
	assert_true(elf_is_elf(&img));
	img.size = 4;
	assert_true(elf_is_elf(&img));
	img.size = 3;
	assert_false(elf_is_elf(&img));
	img.size = 0;
	assert_false(elf_is_elf(&img));
	img.data = mz;
	img.size = sizeof(mz);
	assert_false(elf_is_elf(&img));
}

/* ---- hostile images ------------------------------------------------------------------- */

static void test_truncated_every_length(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = good_spec();
	struct boot_info info;
	struct elf_img im;
	size_t bad_len = SIZE_MAX;
	int bad_ret = 0, ret;

	s.segs[0].filesz = s.segs[0].memsz = 0x300; /* keep the loop short */
	elf_build(&s, &im);
	unit_capture_begin();
	for (size_t len = 0; len < im.size; len++) {
		uint8_t *copy = malloc(len ? len : 1);
		struct boot_image img = { .path = "test.elf", .data = copy, .size = len };

		memcpy(copy, im.data, len);
		ret = elf_load_pvh(&f->mem, &img, &info);
		free(copy);
		if (ret != -1 && bad_len == SIZE_MAX) {
			bad_len = len;
			bad_ret = ret;
		}
	}
	unit_capture_end(f->msg, sizeof(f->msg));
	if (bad_len != SIZE_MAX)
		fail_msg("image truncated to %zu of %zu bytes: ret %d, want -1", bad_len, im.size,
			 bad_ret);
	/* and the whole image still loads */
	assert_int_equal(load_img(f, &im, &info), 0);
	assert_int_equal(info.entry, 0x100040);
	elf_free(&im);
}

static void test_bad_header(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = good_spec();
	struct elf_img im;

	elf_build(&s, &im);
	ehdr(&im)->e_ident[EI_MAG1] = 'X';
	expect_reject(f, &im, "not a valid ELF file");
	elf_free(&im);

	elf_build(&s, &im);
	ehdr(&im)->e_ident[EI_CLASS] = ELFCLASSNONE;
	expect_reject(f, &im, "");
	elf_free(&im);

	elf_build(&s, &im);
	ehdr(&im)->e_ident[EI_CLASS] = 7;
	expect_reject(f, &im, "");
	elf_free(&im);
}

static void test_wrong_machine(void **state)
{
	static const uint16_t machines[] = { EM_ARM, EM_AARCH64, EM_RISCV, EM_PPC64, 0xffff };
	struct fixture *f = *state;
	struct elf_spec s = good_spec();

	for (size_t i = 0; i < sizeof(machines) / sizeof(machines[0]); i++) {
		s.machine = machines[i];
		build_and_reject(f, &s, "ELF file is not for x86");
	}
}

static void test_not_executable(void **state)
{
	static const uint16_t types[] = { ET_DYN, ET_REL, ET_CORE, ET_NONE + 0x1234 };
	struct fixture *f = *state;
	struct elf_spec s = good_spec();

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		s.type = types[i];
		build_and_reject(f, &s, "not an executable (ET_EXEC)");
	}
}

static void test_no_load_segments(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = { .entry = 0x100040 };

	/* only the note */
	build_and_reject(f, &s, "no loadable segments");
	/* PT_LOADs of zero size and other segment types do not count */
	s.nsegs = 2;
	s.segs[0] = (struct seg){ .paddr = 0x100000 };
	s.segs[1] = (struct seg){
		.type = PT_GNU_STACK, .paddr = 0x100000, .filesz = 0x100, .memsz = 0x100
	};
	build_and_reject(f, &s, "no loadable segments");
	/* no program headers at all */
	s.nsegs = 0;
	s.no_note = true;
	build_and_reject(f, &s, "no program headers");
}

static void test_no_pvh_note(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = good_spec();

	s.no_note = true;
	build_and_reject(f, &s, "no Xen PVH entry note");
	s.no_note = false;
	s.note_owner = "Linux";
	build_and_reject(f, &s, "no Xen PVH entry note");
	s.note_owner = "Xe";
	build_and_reject(f, &s, "no Xen PVH entry note");
	s.note_owner = "XenX";
	build_and_reject(f, &s, "no Xen PVH entry note");
	s.note_owner = NULL;
	s.note_type = 17; /* another Xen note */
	build_and_reject(f, &s, "no Xen PVH entry note");
}

static void test_note_bad_desc_size(void **state)
{
	static const int sizes[] = { -1, 1, 2, 3, 5, 6, 7, 12, 16 };
	struct fixture *f = *state;
	struct elf_spec s = good_spec();

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		s.note_descsz = sizes[i];
		build_and_reject(f, &s, "PVH entry note has a bad size");
	}
}

static void test_note_hostile(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = good_spec();
	struct elf_img im;
	Elf64_Nhdr *nh;

	/* PT_NOTE file range past the end of the file */
	elf_build(&s, &im);
	phdr(&im, im.note_phdr)->p_offset = im.size + 8;
	expect_reject(f, &im, "PT_NOTE segment extends past the end of the file");
	phdr(&im, im.note_phdr)->p_offset = UINT64_MAX - 3;
	expect_reject(f, &im, "PT_NOTE segment extends past the end of the file");
	elf_free(&im);

	elf_build(&s, &im);
	phdr(&im, im.note_phdr)->p_filesz = im.size;
	expect_reject(f, &im, "PT_NOTE segment extends past the end of the file");
	phdr(&im, im.note_phdr)->p_filesz = UINT64_MAX;
	expect_reject(f, &im, "PT_NOTE segment extends past the end of the file");
	elf_free(&im);

	/* the segment ends before the descriptor: no usable note */
	elf_build(&s, &im);
	phdr(&im, im.note_phdr)->p_filesz = 16;
	expect_reject(f, &im, "no Xen PVH entry note");
	elf_free(&im);

	/* the note header claims sizes running past the segment */
	elf_build(&s, &im);
	nh = (Elf64_Nhdr *)(im.data + phdr(&im, im.note_phdr)->p_offset);
	nh->n_descsz = 0xfffffff0;
	expect_reject(f, &im, "");
	nh->n_descsz = 4;
	nh->n_namesz = 0xfffffff0;
	expect_reject(f, &im, "");
	elf_free(&im);
}

static void test_entry_above_4g(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = good_spec();

	s.note_descsz = 8;
	s.entry = HIGH_RAM_START + 0x40;
	s.segs[0].paddr = HIGH_RAM_START; /* the entry is inside a loaded segment */
	build_and_reject(f, &s, "PVH entry is above 4 GiB");
}

static void test_segment_outside_file(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = good_spec();
	const char *why = "is outside the file";
	struct elf_img im;
	Elf64_Phdr *ph;

	elf_build(&s, &im);
	ph = phdr(&im, 1);
	ph->p_offset = im.size - ph->p_filesz + 1; /* one byte past EOF */
	expect_reject(f, &im, why);
	ph->p_offset = im.size; /* starts at EOF */
	expect_reject(f, &im, why);
	ph->p_offset = im.size + 0x10000;
	expect_reject(f, &im, why);
	ph->p_offset = UINT64_MAX - 0x10;
	expect_reject(f, &im, why);
	ph->p_offset = UINT64_MAX;
	expect_reject(f, &im, why);
	elf_free(&im);

	elf_build(&s, &im);
	ph = phdr(&im, 0);
	ph->p_filesz = ph->p_memsz = im.size; /* offset + filesz past EOF */
	expect_reject(f, &im, why);
	ph->p_filesz = ph->p_memsz = UINT64_MAX;
	expect_reject(f, &im, why);
	ph->p_filesz = ph->p_memsz = UINT64_MAX - ph->p_offset + 1; /* offset + filesz wraps */
	expect_reject(f, &im, why);
	elf_free(&im);
}

static void test_filesz_above_memsz(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = good_spec();
	struct elf_img im;

	elf_build(&s, &im);
	phdr(&im, 0)->p_memsz = phdr(&im, 0)->p_filesz - 1;
	expect_reject(f, &im, "segment 0:");
	elf_free(&im);
}

static void expect_paddr_reject(struct fixture *f, uint64_t paddr, uint64_t memsz)
{
	struct elf_spec s = good_spec();
	struct elf_img im;

	elf_build(&s, &im);
	phdr(&im, 1)->p_paddr = paddr;
	phdr(&im, 1)->p_memsz = memsz;
	expect_reject(f, &im, "is not in guest RAM");
	elf_free(&im);
}

static void test_paddr_outside_ram(void **state)
{
	struct fixture *f = *state;

	expect_paddr_reject(f, 64 * MiB, 0x1000);		/* just past low RAM */
	expect_paddr_reject(f, 64 * MiB - 0x1000, 0x2000);	/* runs past the end */
	expect_paddr_reject(f, 0x10000000, 0x1000);		/* between RAM and the hole */
	expect_paddr_reject(f, MMIO_HOLE_START, 0x1000);	/* the MMIO hole */
	expect_paddr_reject(f, VIRTIO_MMIO_BASE, 0x1000);	/* a device */
	expect_paddr_reject(f, LAPIC_ADDR, 0x1000);		/* the local APIC */
	expect_paddr_reject(f, MMIO_HOLE_END - 0x1000, 0x2000); /* from the hole into high RAM */
	expect_paddr_reject(f, HIGH_RAM_START + 2 * MiB - 0x100, 0x1000); /* past high RAM */
	expect_paddr_reject(f, 0x200000, 1ull << 40);			  /* huge bss */
	expect_paddr_reject(f, 0x200000, UINT64_MAX);
	/* p_paddr + p_memsz wraps around 2^64 */
	expect_paddr_reject(f, UINT64_MAX - 0xfff, 0x2000);
	expect_paddr_reject(f, UINT64_MAX, 0x1000);
	expect_paddr_reject(f, 0x200000, UINT64_MAX - 0x100000);
	expect_paddr_reject(f, 0x200000, UINT64_MAX - 0x200000 + 1);
}

static void test_entry_outside_segments(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = good_spec();
	const char *why = "PVH entry point lies outside the loaded segments";
	static const uint64_t entries[] = {
		0,	    0x5000,	0xfffff, /* below the first segment */
		0x203000,			 /* one past the end of the last */
		0x10000000, 0xffffffff,		 /* far above */
		0x180000,			 /* in the gap between the two segments */
		0x101800,			 /* just past the first segment */
	};

	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		s.entry = entries[i];
		build_and_reject(f, &s, why);
	}
	/* the first and last byte of the segments are fine */
	{
		struct boot_info info;
		struct elf_img im;

		s.entry = 0x100000;
		elf_build(&s, &im);
		assert_int_equal(load_img(f, &im, &info), 0);
		assert_int_equal(info.entry, 0x100000);
		elf_free(&im);
		s.entry = 0x202fff;
		elf_build(&s, &im);
		assert_int_equal(load_img(f, &im, &info), 0);
		assert_int_equal(info.entry, 0x202fff);
		elf_free(&im);
	}
}

static void test_program_header_table_hostile(void **state)
{
	struct fixture *f = *state;
	struct elf_spec s = good_spec();
	struct elf_img im;

	elf_build(&s, &im);
	ehdr(&im)->e_phnum = 0xfffe; /* far more headers than the file holds */
	expect_reject(f, &im, "");
	ehdr(&im)->e_phnum = PN_XNUM; /* count in section 0, but there are no sections */
	expect_reject(f, &im, "");
	ehdr(&im)->e_phnum = 1000;
	expect_reject(f, &im, "");
	elf_free(&im);

	elf_build(&s, &im);
	ehdr(&im)->e_phoff = im.size; /* table past EOF */
	expect_reject(f, &im, "");
	ehdr(&im)->e_phoff = im.size - 8; /* table straddles EOF */
	expect_reject(f, &im, "");
	ehdr(&im)->e_phoff = UINT64_MAX - 0x20;
	expect_reject(f, &im, "");
	elf_free(&im);

	/* PN_XNUM with a section header table whose entry 0 claims a huge count */
	elf_build(&s, &im);
	{
		size_t size = im.size + sizeof(Elf64_Shdr);
		uint8_t *buf = unit_alloc(size);
		Elf64_Shdr sh0 = { .sh_info = 0x7fffffff };

		memcpy(buf, im.data, im.size);
		memcpy(buf + im.size, &sh0, sizeof(sh0));
		unit_free(im.data);
		im.data = buf;
		ehdr(&im)->e_shoff = im.size;
		ehdr(&im)->e_shentsize = sizeof(Elf64_Shdr);
		ehdr(&im)->e_shnum = 1;
		ehdr(&im)->e_phnum = PN_XNUM;
		im.size = size;
	}
	expect_reject(f, &im, "");
	elf_free(&im);
}

/* ---- boot_load end to end ------------------------------------------------------------- */

struct boot_fixture {
	struct guest_mem mem;
	struct vm_config cfg;
	struct boot_info info;
	char msg[4096];
};

static struct boot_fixture *boot_new(void **state, uint64_t ram)
{
	struct boot_fixture *b = calloc(1, sizeof(*b));

	assert_non_null(b);
	*state = b;
	assert_int_equal(guest_mem_init(&b->mem, -1, MEM_BACKING_MEMFD, 0), 0);
	assert_int_equal(guest_mem_add_ram_layout(&b->mem, ram), 0);
	config_defaults(&b->cfg);
	b->cfg.memory = ram;
	return b;
}

static int boot_teardown(void **state)
{
	struct boot_fixture *b = *state;

	unit_free_all();
	if (b) {
		guest_mem_destroy(&b->mem);
		free(b);
	}
	return 0;
}

static void write_kernel(struct boot_fixture *b, const char *name, const struct elf_spec *s)
{
	struct elf_img im;

	elf_build(s, &im);
	unit_write_file(b->cfg.kernel, name, im.data, im.size);
	elf_free(&im);
}

static uint8_t *write_initrd(struct boot_fixture *b, const char *name, size_t size)
{
	uint8_t *data = unit_alloc(size);

	for (size_t i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 31 + (i >> 12) + 7);
	unit_write_file(b->cfg.initrd, name, data, size);
	return data;
}

static int boot(struct boot_fixture *b)
{
	int ret;

	unit_capture_begin();
	ret = boot_load(&b->mem, &b->cfg, &b->info);
	unit_capture_end(b->msg, sizeof(b->msg));
	return ret;
}

static uint32_t g32(struct guest_mem *mem, uint64_t gpa)
{
	uint32_t v = 0;

	assert_int_equal(guest_mem_read(mem, gpa, &v, 4), 0);
	return v;
}

static uint64_t g64(struct guest_mem *mem, uint64_t gpa)
{
	uint64_t v = 0;

	assert_int_equal(guest_mem_read(mem, gpa, &v, 8), 0);
	return v;
}

/* hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h), read field by field. */
static void check_start_info(struct boot_fixture *b, uint32_t nr_modules)
{
	struct guest_mem *mem = &b->mem;
	struct e820_entry e820[E820_MAX];
	uint64_t si = PVH_START_INFO_ADDR, memmap, rsdp;
	uint32_t entries;
	int n;

	assert_int_equal(b->info.boot_arg, PVH_START_INFO_ADDR);
	assert_int_equal(PVH_START_INFO_ADDR, 0x6000);
	assert_int_equal(g32(mem, si + 0), HVM_START_MAGIC); /* magic */
	assert_int_equal(g32(mem, si + 4), 1);		     /* version */
	assert_int_equal(g32(mem, si + 12), nr_modules);
	assert_int_equal(g64(mem, si + 24), CMDLINE_ADDR); /* cmdline_paddr */
	rsdp = g64(mem, si + 32);			   /* rsdp_paddr: none, or an ACPI RSDP */
	if (rsdp) {
		char sig[8];

		assert_int_equal(guest_mem_read(mem, rsdp, sig, sizeof(sig)), 0);
		assert_memory_equal(sig, "RSD PTR ", 8);
	}
	memmap = g64(mem, si + 40);
	entries = g32(mem, si + 48);

	n = e820_build(mem, e820, E820_MAX);
	assert_true(n > 0);
	assert_int_equal(entries, (uint32_t)n);
	assert_true(memmap >= si + 56); /* does not overlap the start info */
	for (int i = 0; i < n; i++) {
		uint64_t e = memmap + (uint64_t)i * 24; /* hvm_memmap_table_entry */

		assert_int_equal(g64(mem, e + 0), e820[i].addr);
		assert_int_equal(g64(mem, e + 8), e820[i].size);
		assert_int_equal(g32(mem, e + 16), e820[i].type);
		assert_int_equal(g32(mem, e + 20), 0);
	}
}

static void check_cmdline(struct boot_fixture *b)
{
	char buf[sizeof(b->cfg.cmdline)];

	assert_int_equal(CMDLINE_ADDR, 0x20000);
	assert_int_equal(guest_mem_read(&b->mem, CMDLINE_ADDR, buf, strlen(b->cfg.cmdline) + 1), 0);
	assert_string_equal(buf, b->cfg.cmdline);
}

/* The initrd module: page aligned, above the kernel, as high as possible below `top`. */
static void check_initrd(struct boot_fixture *b, const uint8_t *data, size_t size, uint64_t top)
{
	struct guest_mem *mem = &b->mem;
	uint64_t mod = g64(mem, PVH_START_INFO_ADDR + 16); /* modlist_paddr */
	uint64_t start = b->info.initrd_start;
	uint8_t *buf = unit_alloc(size);

	assert_int_not_equal(mod, 0);
	assert_int_equal(g64(mem, mod + 0), start); /* hvm_modlist_entry.paddr */
	assert_int_equal(g64(mem, mod + 8), size);  /* .size */
	assert_int_equal(g64(mem, mod + 16), 0);    /* .cmdline_paddr */
	assert_int_equal(b->info.initrd_size, size);
	assert_int_equal(start % PAGE, 0);
	assert_true(start >= b->info.kernel_end);
	assert_true(start + size <= top);
	assert_int_equal(start, (top - size) & ~(PAGE - 1));
	/* the module list does not overlap the start info or the memory map */
	assert_true(mod >= PVH_START_INFO_ADDR + 56);
	assert_true(mod + 32 <= g64(mem, PVH_START_INFO_ADDR + 40) ||
		    mod >= g64(mem, PVH_START_INFO_ADDR + 40) + 24 * E820_MAX);

	assert_int_equal(guest_mem_read(mem, start, buf, size), 0);
	assert_memory_equal(buf, data, size);
	unit_free(buf);
}

static void test_boot_load_pvh(void **state)
{
	struct boot_fixture *b = boot_new(state, 64 * MiB);
	struct elf_spec s = good_spec();
	size_t initrd_size = 100001; /* not a page multiple */
	uint8_t *initrd;

	write_kernel(b, "vmlinux", &s);
	initrd = write_initrd(b, "initrd.img", initrd_size);
	strcpy(b->cfg.cmdline, "console=ttyS0 root=/dev/ram0 quiet");
	assert_int_equal(boot(b), 0);
	assert_string_equal(b->msg, "");

	assert_int_equal(b->info.entry_mode, BOOT_ENTRY_PVH32);
	assert_int_equal(b->info.entry, 0x100040);
	assert_int_equal(b->info.kernel_start, 0x100000);
	assert_int_equal(b->info.kernel_end, 0x203000);
	check_segment(&b->mem, &s.segs[0]);
	check_segment(&b->mem, &s.segs[1]);
	check_start_info(b, 1);
	assert_int_equal(g32(&b->mem, PVH_START_INFO_ADDR + 48), 3);
	check_cmdline(b);
	check_initrd(b, initrd, initrd_size, 64 * MiB);
	unit_free(initrd);
}

static void test_boot_load_above_hole(void **state)
{
	struct boot_fixture *b = boot_new(state, 5 * GiB);
	struct elf_spec s = good_spec();
	size_t initrd_size = 3 * PAGE + 17;
	uint8_t *initrd;

	write_kernel(b, "vmlinux", &s);
	initrd = write_initrd(b, "initrd-hi.img", initrd_size);
	strcpy(b->cfg.cmdline, "x");
	assert_int_equal(boot(b), 0);
	check_start_info(b, 1);
	assert_int_equal(g32(&b->mem, PVH_START_INFO_ADDR + 48), 4);
	check_cmdline(b);
	/* below the MMIO hole, never in the high region */
	check_initrd(b, initrd, initrd_size, MMIO_HOLE_START);
	unit_free(initrd);
}

static void test_boot_load_no_initrd(void **state)
{
	struct boot_fixture *b = boot_new(state, 16 * MiB);
	struct elf_spec s = good_spec();

	write_kernel(b, "vmlinux", &s);
	assert_int_equal(boot(b), 0);
	check_start_info(b, 0);
	assert_int_equal(g64(&b->mem, PVH_START_INFO_ADDR + 16), 0);
	assert_int_equal(b->info.initrd_size, 0);
	check_cmdline(b); /* empty */
	assert_int_equal(gbyte(&b->mem, CMDLINE_ADDR), 0);
}

static void test_boot_initrd_fit(void **state)
{
	struct boot_fixture *b = boot_new(state, 4 * MiB);
	struct elf_spec s = good_spec();
	size_t room = 4 * MiB - 0x203000; /* from the kernel's end to the top of RAM */
	uint8_t *initrd;

	write_kernel(b, "vmlinux", &s);
	/* exactly fills the space above the kernel */
	initrd = write_initrd(b, "initrd-fit.img", room);
	assert_int_equal(boot(b), 0);
	assert_int_equal(b->info.initrd_start, 0x203000);
	check_initrd(b, initrd, room, 4 * MiB);
	unit_free(initrd);
}

static void test_boot_initrd_too_large(void **state)
{
	struct boot_fixture *b = boot_new(state, 4 * MiB);
	struct elf_spec s = good_spec();
	size_t room = 4 * MiB - 0x203000;

	write_kernel(b, "vmlinux", &s);
	unit_free(write_initrd(b, "initrd-big.img", room + 1));
	assert_int_equal(boot(b), -1);
	assert_contains(b->msg, "initrd-big.img: initrd of");
	assert_contains(b->msg, "does not fit");
	assert_int_equal(b->info.initrd_size, 0);

	/* larger than guest RAM altogether: refused before it is read */
	unit_free(write_initrd(b, "initrd-huge.img", 4 * MiB + 1));
	assert_int_equal(boot(b), -1);
	assert_contains(b->msg, "initrd-huge.img: ");
	assert_contains(b->msg, "larger than guest RAM");
}

static void test_boot_kernel_errors(void **state)
{
	struct boot_fixture *b = boot_new(state, 16 * MiB);
	struct elf_spec s = good_spec();
	char dir[PATH_MAX];

	/* empty file */
	unit_write_file(b->cfg.kernel, "empty-kernel", "", 0);
	assert_int_equal(boot(b), -1);
	assert_contains(b->msg, "empty-kernel: file is empty");

	/* missing file */
	unit_path(b->cfg.kernel, "no-such-kernel");
	assert_int_equal(boot(b), -1);
	assert_contains(b->msg, "no-such-kernel: cannot open");

	/* a directory */
	unit_path(dir, "kernel-dir");
	assert_int_equal(mkdir(dir, 0700), 0);
	strcpy(b->cfg.kernel, dir);
	assert_int_equal(boot(b), -1);
	assert_contains(b->msg, "not a regular file");

	/* not an ELF file */
	unit_write_text(b->cfg.kernel, "not-elf", "#!/bin/sh\necho this is not a kernel\n");
	assert_int_equal(boot(b), -1);
	assert_contains(b->msg, "not-elf: ");

	/* an ELF without the PVH note */
	s.no_note = true;
	write_kernel(b, "no-note", &s);
	assert_int_equal(boot(b), -1);
	assert_contains(b->msg, "no Xen PVH entry note");

	/* a good kernel with a missing initrd */
	s.no_note = false;
	write_kernel(b, "vmlinux", &s);
	unit_path(b->cfg.initrd, "no-such-initrd");
	assert_int_equal(boot(b), -1);
	assert_contains(b->msg, "no-such-initrd: cannot open");

	/* nothing of the failed attempts reached the start info */
	assert_int_not_equal(g32(&b->mem, PVH_START_INFO_ADDR), HVM_START_MAGIC);
}

static void test_boot_kernel_below_1m(void **state)
{
	struct boot_fixture *b = boot_new(state, 16 * MiB);
	struct elf_spec s = good_spec();

	/* would overwrite the boot data (start info, command line) below 1 MiB */
	s.segs[0].paddr = 0x20000;
	s.entry = 0x20040;
	write_kernel(b, "low-kernel", &s);
	assert_int_equal(boot(b), -1);
	assert_contains(b->msg, "below 1 MiB");
}

static void test_boot_kernel_larger_than_ram(void **state)
{
	struct boot_fixture *b = boot_new(state, 4 * MiB);
	struct elf_spec s = good_spec();

	s.nsegs = 1;
	s.segs[0].filesz = s.segs[0].memsz = 4 * MiB;
	write_kernel(b, "big-kernel", &s);
	assert_int_equal(boot(b), -1);
	assert_contains(b->msg, "larger than guest RAM");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, mem_setup, mem_teardown)
#define TB(fn) cmocka_unit_test_teardown(fn, boot_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_load_good),
		T(test_load_desc8_and_order),
		T(test_load_other_notes_skipped),
		cmocka_unit_test(test_elf_is_elf),
		T(test_truncated_every_length),
		T(test_bad_header),
		T(test_wrong_machine),
		T(test_not_executable),
		T(test_no_load_segments),
		T(test_no_pvh_note),
		T(test_note_bad_desc_size),
		T(test_note_hostile),
		T(test_entry_above_4g),
		T(test_segment_outside_file),
		T(test_filesz_above_memsz),
		T(test_paddr_outside_ram),
		T(test_entry_outside_segments),
		T(test_program_header_table_hostile),
		TB(test_boot_load_pvh),
		TB(test_boot_load_above_hole),
		TB(test_boot_load_no_initrd),
		TB(test_boot_initrd_fit),
		TB(test_boot_initrd_too_large),
		TB(test_boot_kernel_errors),
		TB(test_boot_kernel_below_1m),
		TB(test_boot_kernel_larger_than_ram),
	};

	return cmocka_run_group_tests(tests, unit_tmpdir_setup, unit_tmpdir_teardown);
}
