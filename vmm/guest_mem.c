// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../arch/x86/layout.h"
#include "gpc.h"
#include "guest_mem.h"
#include "kvm.h"
#include "log.h"

#ifndef MFD_HUGE_2MB
#define MFD_HUGE_2MB (21 << 26)
#endif

#define PAGE_SIZE GUEST_PAGE_SIZE
#define PAGE_SHIFT 12

/*
 * Guest RAM is shared with the guest: it may change a buffer while the VMM copies it, and two
 * vCPUs' hypercalls may name the same guest buffer at once. The VMM copies such data exactly
 * once and never synchronizes through it, so those races belong to the guest. ThreadSanitizer
 * is told to ignore the guest side of these copies (it reported one from the Xen chaos stress
 * test) and still checks the VMM's own buffer; everything around the copy stays checked.
 */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GUEST_MEM_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define GUEST_MEM_TSAN 1
#endif

#ifdef GUEST_MEM_TSAN
/* the ThreadSanitizer runtime's annotations: ignore this thread's reads (writes) until End */
void AnnotateIgnoreReadsBegin(const char *file, int line);
void AnnotateIgnoreReadsEnd(const char *file, int line);
void AnnotateIgnoreWritesBegin(const char *file, int line);
void AnnotateIgnoreWritesEnd(const char *file, int line);

static void copy_from_guest_ram(void *buf, const void *guest, size_t len)
{
	AnnotateIgnoreReadsBegin(__FILE__, __LINE__); /* the write to buf is still checked */
	memcpy(buf, guest, len);
	AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
}

static void copy_to_guest_ram(void *guest, const void *buf, size_t len)
{
	AnnotateIgnoreWritesBegin(__FILE__, __LINE__); /* the read of buf is still checked */
	memcpy(guest, buf, len);
	AnnotateIgnoreWritesEnd(__FILE__, __LINE__);
}
#else
static inline void copy_from_guest_ram(void *buf, const void *guest, size_t len)
{
	memcpy(buf, guest, len);
}

static inline void copy_to_guest_ram(void *guest, const void *buf, size_t len)
{
	memcpy(guest, buf, len);
}
#endif

static const char *const backing_names[] = {
	[MEM_BACKING_MEMFD] = "memfd",
	[MEM_BACKING_GUEST_MEMFD] = "guest_memfd",
	[MEM_BACKING_ANONYMOUS] = "anonymous",
};

const char *mem_backing_name(enum mem_backing backing)
{
	return backing_names[backing];
}

int mem_backing_parse(const char *name, enum mem_backing *out)
{
	for (unsigned int i = 0; i < sizeof(backing_names) / sizeof(backing_names[0]); i++) {
		if (!strcmp(name, backing_names[i])) {
			*out = (enum mem_backing)i;
			return 0;
		}
	}
	return -1;
}

int guest_mem_init(struct guest_mem *mem, int vm_fd, enum mem_backing backing,
		   uint64_t hugepage_size)
{
	memset(mem, 0, sizeof(*mem));
	mem->vm_fd = vm_fd;
	mem->backing = backing;
	mem->hugepage_size = hugepage_size;
	rwlock_init(&mem->layout_lock, "mem->layout_lock", LOCK_RANK_MEM_LAYOUT);
	mutex_init(&mem->registry_lock, "mem->registry_lock", LOCK_RANK_MEM_REGISTRY);
	return 0;
}

/* Free 2 MiB hugepages: hugetlb memory is not overcommitted, a missing page is a SIGBUS. */
static uint64_t free_hugepages_2m(void)
{
	unsigned long long n = 0;
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages", "r");

	if (f) {
		if (fscanf(f, "%llu", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

static int region_create_backing(struct guest_mem *mem, struct mem_region *r)
{
	unsigned int mfd_flags = MFD_CLOEXEC;

	switch (mem->backing) {
	case MEM_BACKING_MEMFD:
		if (mem->hugepage_size) {
			uint64_t need = r->size >> 21, have = free_hugepages_2m();

			if (have < need) {
				pr_err("--memory-hugepages 2M: %llu MiB needs %llu free 2 MiB hugepages, the host has %llu (see /proc/sys/vm/nr_hugepages)",
				       (unsigned long long)(r->size >> 20),
				       (unsigned long long)need, (unsigned long long)have);
				return -ENOMEM;
			}
			mfd_flags |= MFD_HUGETLB | MFD_HUGE_2MB;
		}
		r->fd = memfd_create("minivmm-ram", mfd_flags);
		if (r->fd < 0) {
			pr_err("memfd_create%s: %s", mem->hugepage_size ? " (2 MiB hugetlb)" : "",
			       strerror(errno));
			return -errno;
		}
		if (ftruncate(r->fd, (off_t)r->size) < 0) {
			int err = errno;

			pr_err("sizing guest RAM memfd to %llu bytes: %s",
			       (unsigned long long)r->size, strerror(err));
			return -err;
		}
		return 0;
	case MEM_BACKING_GUEST_MEMFD:
		r->fd = kvm_vm_create_guest_memfd(
			mem->vm_fd, r->size, GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED);
		if (r->fd < 0) {
			pr_err("KVM_CREATE_GUEST_MEMFD (MMAP|INIT_SHARED): %s", strerror(errno));
			return -errno;
		}
		return 0;
	case MEM_BACKING_ANONYMOUS:
		r->fd = -1;
		return 0;
	}
	return -EINVAL;
}

/*
 * Map the region twice. For fd backings both are MAP_SHARED mappings of the fd; for anonymous
 * memory the first is shared anonymous (shmem) memory and mremap(old_size = 0) makes the second
 * mapping of the same pages.
 */
static int region_map(struct mem_region *r)
{
	int prot = PROT_READ | PROT_WRITE;

	if (r->fd >= 0) {
		r->kvm_map = mmap(NULL, r->size, prot, MAP_SHARED | MAP_NORESERVE, r->fd, 0);
		if (r->kvm_map == MAP_FAILED)
			goto fail;
		r->view = mmap(NULL, r->size, prot, MAP_SHARED | MAP_NORESERVE, r->fd, 0);
	} else {
		r->kvm_map = mmap(NULL, r->size, prot, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE,
				  -1, 0);
		if (r->kvm_map == MAP_FAILED)
			goto fail;
		r->view = mremap(r->kvm_map, 0, r->size, MREMAP_MAYMOVE);
	}
	if (r->view == MAP_FAILED) {
		r->view = NULL;
		goto fail;
	}
	/*
	 * Ask for transparent hugepages: shmem (memfd, shared anonymous memory) gets them only
	 * when asked and when /sys/kernel/mm/transparent_hugepage/shmem_enabled allows "advise".
	 * Under nested paging every TLB miss walks two page tables: 2 MiB pages make Linux guests
	 * boot markedly faster. Best effort; guest_memfd ignores it.
	 */
	madvise(r->kvm_map, r->size, MADV_HUGEPAGE);
	return 0;
fail:
	pr_err("mapping %llu MiB of guest RAM: %s", (unsigned long long)(r->size >> 20),
	       strerror(errno));
	if (r->kvm_map == MAP_FAILED)
		r->kvm_map = NULL;
	return -ENOMEM;
}

static void region_release(struct guest_mem *mem, struct mem_region *r)
{
	if (r->registered && mem->vm_fd >= 0)
		kvm_vm_set_memory(mem->vm_fd, r->slot,
				  mem->backing == MEM_BACKING_GUEST_MEMFD ? KVM_MEM_GUEST_MEMFD : 0,
				  r->gpa, 0, r->kvm_map, r->fd, 0);
	if (r->view)
		munmap(r->view, r->size);
	if (r->kvm_map)
		munmap(r->kvm_map, r->size);
	if (r->fd >= 0)
		close(r->fd);
	free(r->private_bits);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

static uint32_t free_slot(struct guest_mem *mem)
{
	for (uint32_t slot = 0;; slot++) {
		bool used = false;

		for (int i = 0; i < mem->nr_regions; i++)
			used |= mem->regions[i].slot == slot;
		if (!used)
			return slot;
	}
}

int guest_mem_add_ram(struct guest_mem *mem, uint64_t gpa, uint64_t size)
{
	uint64_t align = mem->hugepage_size ? mem->hugepage_size : PAGE_SIZE;
	struct mem_region r = { .gpa = gpa, .size = size, .fd = -1 };
	int ret;

	if (!size || (gpa | size) & (align - 1) || gpa + size < gpa)
		return -EINVAL;
	if (mem->nr_regions == GUEST_MEM_MAX_REGIONS)
		return -ENOSPC;
	for (int i = 0; i < mem->nr_regions; i++) {
		const struct mem_region *o = &mem->regions[i];

		if (gpa < o->gpa + o->size && o->gpa < gpa + size)
			return -EEXIST;
	}
	ret = region_create_backing(mem, &r);
	if (ret)
		goto fail;
	ret = region_map(&r);
	if (ret)
		goto fail;
	r.private_bits = calloc((size / PAGE_SIZE + 63) / 64, sizeof(uint64_t));
	if (!r.private_bits) {
		ret = -ENOMEM;
		goto fail;
	}
	r.slot = free_slot(mem);
	if (mem->vm_fd >= 0) {
		uint32_t flags = mem->backing == MEM_BACKING_GUEST_MEMFD ? KVM_MEM_GUEST_MEMFD : 0;

		if (kvm_vm_set_memory(mem->vm_fd, r.slot, flags, gpa, size, r.kvm_map, r.fd, 0) <
		    0) {
			ret = -errno;
			pr_err("registering guest RAM %#llx+%#llx with KVM: %s",
			       (unsigned long long)gpa, (unsigned long long)size, strerror(errno));
			goto fail;
		}
		r.registered = true;
	}
	write_lock(&mem->layout_lock);
	mem->regions[mem->nr_regions++] = r;
	atomic_fetch_add(&mem->generation, 1);
	rwlock_unlock(&mem->layout_lock);
	return 0;
fail:
	region_release(mem, &r);
	return ret;
}

int guest_mem_add_ram_layout(struct guest_mem *mem, uint64_t ram_size)
{
	uint64_t low = ram_size < MMIO_HOLE_START ? ram_size : MMIO_HOLE_START;
	int ret = guest_mem_add_ram(mem, 0, low);

	if (!ret && ram_size > low)
		ret = guest_mem_add_ram(mem, HIGH_RAM_START, ram_size - low);
	return ret;
}

static int region_punch(struct mem_region *r, uint64_t off, uint64_t len);

static struct mem_region *find_region(struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	for (int i = 0; i < mem->nr_regions; i++) {
		struct mem_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
			return r;
	}
	return NULL;
}

int guest_mem_remove_region(struct guest_mem *mem, uint64_t gpa)
{
	struct mem_region *r, victim;
	uint64_t size = 0;

	read_lock(&mem->layout_lock);
	r = find_region(mem, gpa, 1);
	if (r && r->gpa == gpa)
		size = r->size;
	rwlock_unlock(&mem->layout_lock);
	if (!size)
		return -ENOENT;

	guest_mem_invalidate_begin(mem, gpa, size);
	write_lock(&mem->layout_lock);
	r = find_region(mem, gpa, 1);
	if (!r || r->gpa != gpa) { /* removed meanwhile by another thread */
		rwlock_unlock(&mem->layout_lock);
		guest_mem_invalidate_end(mem, gpa, size);
		return -ENOENT;
	}
	victim = *r;
	*r = mem->regions[--mem->nr_regions];
	atomic_fetch_add(&mem->generation, 1);
	rwlock_unlock(&mem->layout_lock);
	region_release(mem, &victim);
	guest_mem_invalidate_end(mem, gpa, size);
	return 0;
}

/*
 * Remove the region that is exactly [gpa, gpa+size) and add it back over the same backing,
 * empty, with new mappings. One invalidation window covers both steps, so a cache refresh
 * waits for the region to be back instead of failing; an uncached guest_mem_read() in the
 * gap gets -EFAULT, as for any hole. The new mappings are made before the old ones go, so
 * they lie elsewhere: a stale pointer into the old view faults instead of reaching the new
 * pages. KVM's slot is deleted and re-created: the caller must have paused every vCPU
 * (vm_remap_region), and this never waits for vCPUs (lock.h).
 */
int guest_mem_remap_region(struct guest_mem *mem, uint64_t gpa, uint64_t size)
{
	uint32_t flags = mem->backing == MEM_BACKING_GUEST_MEMFD ? KVM_MEM_GUEST_MEMFD : 0;
	struct mem_region *r, old, fresh = { .gpa = gpa, .size = size, .fd = -1 };
	bool had_private = false;
	int ret = 0;

	read_lock(&mem->layout_lock);
	r = find_region(mem, gpa, 1);
	if (!r || r->gpa != gpa || r->size != size)
		ret = -ENOENT;
	else
		fresh.fd = r->fd;
	rwlock_unlock(&mem->layout_lock);
	if (ret)
		return ret;
	fresh.private_bits = calloc((size / PAGE_SIZE + 63) / 64, sizeof(uint64_t));
	if (!fresh.private_bits || region_map(&fresh)) {
		fresh.fd = -1; /* still the live region's */
		region_release(mem, &fresh);
		return -ENOMEM;
	}

	guest_mem_invalidate_begin(mem, gpa, size);
	write_lock(&mem->layout_lock);
	r = find_region(mem, gpa, 1);
	if (!r || r->gpa != gpa || r->size != size || r->fd != fresh.fd) {
		rwlock_unlock(&mem->layout_lock); /* changed meanwhile by another thread */
		guest_mem_invalidate_end(mem, gpa, size);
		fresh.fd = -1;
		region_release(mem, &fresh);
		return -ENOENT;
	}
	old = *r;
	*r = mem->regions[--mem->nr_regions];
	atomic_fetch_add(&mem->generation, 1);
	rwlock_unlock(&mem->layout_lock);

	/* removed: no translation and no KVM slot covers the range any more */
	if (old.registered && mem->vm_fd >= 0 &&
	    kvm_vm_set_memory(mem->vm_fd, old.slot, flags, gpa, 0, old.kvm_map, old.fd, 0) < 0)
		pr_warn("deleting KVM slot %u: %s", old.slot, strerror(errno));
	for (uint64_t i = 0; i < (size / PAGE_SIZE + 63) / 64; i++)
		had_private |= old.private_bits[i] != 0;

	/* re-added, empty: the backing's pages are freed (fresh anonymous memory is empty) */
	if (fresh.fd >= 0)
		ret = region_punch(&fresh, 0, size);
	if (!ret && had_private && mem->kvm_memory_attributes &&
	    kvm_vm_set_memory_attributes(mem->vm_fd, gpa, size, 0) < 0)
		ret = -errno;
	fresh.slot = old.slot;
	if (!ret && mem->vm_fd >= 0) {
		if (kvm_vm_set_memory(mem->vm_fd, fresh.slot, flags, gpa, size, fresh.kvm_map,
				      fresh.fd, 0) < 0)
			ret = -errno;
		else
			fresh.registered = true;
	}
	if (ret) {
		/* the region stays removed: nothing maps it, every access gets an error */
		pr_err("re-adding guest RAM %#llx+%#llx: %s", (unsigned long long)gpa,
		       (unsigned long long)size, strerror(-ret));
		region_release(mem, &fresh); /* closes the backing */
	} else {
		write_lock(&mem->layout_lock);
		mem->regions[mem->nr_regions++] = fresh;
		atomic_fetch_add(&mem->generation, 1);
		rwlock_unlock(&mem->layout_lock);
	}
	/* no cache points into the old mappings: invalidated, and refreshes are held off */
	munmap(old.view, old.size);
	munmap(old.kvm_map, old.size);
	free(old.private_bits);
	guest_mem_invalidate_end(mem, gpa, size);
	return ret;
}

void guest_mem_destroy(struct guest_mem *mem)
{
	for (int i = 0; i < mem->nr_regions; i++)
		region_release(mem, &mem->regions[i]);
	mem->nr_regions = 0;
	rwlock_destroy(&mem->layout_lock);
	mutex_destroy(&mem->registry_lock);
}

static bool range_has_private(const struct mem_region *r, uint64_t gpa, uint64_t len)
{
	uint64_t first = (gpa - r->gpa) >> PAGE_SHIFT;
	uint64_t last = (gpa - r->gpa + len - 1) >> PAGE_SHIFT;

	for (uint64_t p = first; p <= last; p++) {
		if (r->private_bits[p / 64] & (1ull << (p % 64)))
			return true;
	}
	return false;
}

static void *translate(struct guest_mem *mem, uint64_t gpa, uint64_t len, int *err)
{
	struct mem_region *r;

	if (!len) {
		*err = -EINVAL;
		return NULL;
	}
	r = find_region(mem, gpa, len);
	if (!r) {
		*err = -EFAULT;
		return NULL;
	}
	if (range_has_private(r, gpa, len)) {
		*err = -EPERM;
		return NULL;
	}
	return (uint8_t *)r->view + (gpa - r->gpa);
}

void *guest_mem_translate_locked(struct guest_mem *mem, uint64_t gpa, uint64_t len, int *err)
{
	return translate(mem, gpa, len, err);
}

void *guest_mem_boot_ptr(struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	void *p;
	int err;

	read_lock(&mem->layout_lock);
	p = translate(mem, gpa, len, &err);
	rwlock_unlock(&mem->layout_lock);
	return p;
}

int guest_mem_read(struct guest_mem *mem, uint64_t gpa, void *buf, size_t len)
{
	int err = 0;
	void *p;

	read_lock(&mem->layout_lock);
	p = translate(mem, gpa, len, &err);
	if (p)
		copy_from_guest_ram(buf, p, len);
	rwlock_unlock(&mem->layout_lock);
	return p ? 0 : err;
}

int guest_mem_write(struct guest_mem *mem, uint64_t gpa, const void *buf, size_t len)
{
	int err = 0;
	void *p;

	read_lock(&mem->layout_lock);
	p = translate(mem, gpa, len, &err);
	if (p)
		copy_to_guest_ram(p, buf, len);
	rwlock_unlock(&mem->layout_lock);
	return p ? 0 : err;
}

bool guest_mem_is_ram(struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	bool ret;

	read_lock(&mem->layout_lock);
	ret = find_region(mem, gpa, len) != NULL;
	rwlock_unlock(&mem->layout_lock);
	return ret;
}

int guest_mem_is_private(struct guest_mem *mem, uint64_t gpa)
{
	struct mem_region *r;
	int ret = -EFAULT;

	read_lock(&mem->layout_lock);
	r = find_region(mem, gpa, 1);
	if (r)
		ret = range_has_private(r, gpa, 1);
	rwlock_unlock(&mem->layout_lock);
	return ret;
}

static const struct lock_class invalidate_class = { "mem->invalidate_in_progress",
						    LOCK_RANK_MEM_INVALIDATE };

void guest_mem_invalidate_begin(struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	lockdep_enter(&mem->invalidate_in_progress, &invalidate_class);
	atomic_fetch_add(&mem->invalidate_in_progress, 1);
	mutex_lock(&mem->registry_lock);
	gpc_registry_invalidate(mem, gpa, len);
	mutex_unlock(&mem->registry_lock);
	if (mem->invalidate_hook)
		mem->invalidate_hook(mem->invalidate_hook_arg, gpa, len, true);
}

void guest_mem_invalidate_end(struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	if (mem->invalidate_hook)
		mem->invalidate_hook(mem->invalidate_hook_arg, gpa, len, false);
	atomic_fetch_add(&mem->invalidate_seq, 1);
	atomic_fetch_sub(&mem->invalidate_in_progress, 1);
	lockdep_leave(&mem->invalidate_in_progress);
}

/* Free the backing pages of [off, off+len) in region r; both mappings then read zeros. */
static int region_punch(struct mem_region *r, uint64_t off, uint64_t len)
{
	if (r->fd >= 0) {
		if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			      (off_t)len) < 0)
			return -errno;
		return 0;
	}
	if (madvise((uint8_t *)r->kvm_map + off, len, MADV_REMOVE) < 0)
		return -errno;
	return 0;
}

/* Validate a page-aligned range inside one region; caller holds layout_lock. */
static struct mem_region *find_page_range(struct guest_mem *mem, uint64_t gpa, uint64_t len,
					  int *err)
{
	struct mem_region *r;

	if (!len || (gpa | len) & (PAGE_SIZE - 1) || gpa + len < gpa) {
		*err = -EINVAL;
		return NULL;
	}
	r = find_region(mem, gpa, len);
	if (!r)
		*err = -EFAULT;
	return r;
}

int guest_mem_discard(struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	struct mem_region *r;
	int ret = 0;

	read_lock(&mem->layout_lock);
	r = find_page_range(mem, gpa, len, &ret);
	rwlock_unlock(&mem->layout_lock);
	if (!r)
		return ret;

	guest_mem_invalidate_begin(mem, gpa, len);
	write_lock(&mem->layout_lock);
	r = find_page_range(mem, gpa, len, &ret);
	if (r)
		ret = region_punch(r, gpa - r->gpa, len);
	rwlock_unlock(&mem->layout_lock);
	guest_mem_invalidate_end(mem, gpa, len);
	if (!ret)
		atomic_fetch_add(&mem->discarded_bytes, len);
	return ret;
}

static void set_private_bits(struct mem_region *r, uint64_t gpa, uint64_t len, bool private)
{
	for (uint64_t p = (gpa - r->gpa) >> PAGE_SHIFT; p < (gpa - r->gpa + len) >> PAGE_SHIFT;
	     p++) {
		if (private)
			r->private_bits[p / 64] |= 1ull << (p % 64);
		else
			r->private_bits[p / 64] &= ~(1ull << (p % 64));
	}
}

/*
 * Private pages are discarded on every conversion (no data crosses the boundary, as in QEMU)
 * and revoked from the access view, so neither a device nor a hypercall can reach them.
 */
int guest_mem_convert(struct guest_mem *mem, uint64_t gpa, uint64_t len, bool to_private)
{
	struct mem_region *r;
	uint8_t *view;
	int ret = 0;

	read_lock(&mem->layout_lock);
	r = find_page_range(mem, gpa, len, &ret);
	rwlock_unlock(&mem->layout_lock);
	if (!r)
		return ret;

	guest_mem_invalidate_begin(mem, gpa, len);
	write_lock(&mem->layout_lock);
	r = find_page_range(mem, gpa, len, &ret);
	if (!r)
		goto out;
	if (mem->kvm_memory_attributes &&
	    kvm_vm_set_memory_attributes(mem->vm_fd, gpa, len,
					 to_private ? KVM_MEMORY_ATTRIBUTE_PRIVATE : 0) < 0) {
		ret = -errno;
		goto out;
	}
	view = (uint8_t *)r->view + (gpa - r->gpa);
	ret = region_punch(r, gpa - r->gpa, len);
	if (!ret && mprotect(view, len, to_private ? PROT_NONE : PROT_READ | PROT_WRITE) < 0)
		ret = -errno;
	if (!ret) {
		set_private_bits(r, gpa, len, to_private);
		atomic_fetch_add(&mem->conversions, 1);
	}
out:
	rwlock_unlock(&mem->layout_lock);
	guest_mem_invalidate_end(mem, gpa, len);
	return ret;
}

/* mincore on the access view counts resident pages for every backing (guest_memfd has no
 * st_blocks); private pages are PROT_NONE in the view but mincore still reports them. */
uint64_t guest_mem_resident_bytes(struct guest_mem *mem)
{
	uint64_t total = 0;

	read_lock(&mem->layout_lock);
	for (int i = 0; i < mem->nr_regions; i++) {
		struct mem_region *r = &mem->regions[i];
		size_t pages = r->size / PAGE_SIZE;
		unsigned char *vec = malloc(pages);

		if (vec && mincore(r->view, r->size, vec) == 0) {
			for (size_t p = 0; p < pages; p++)
				total += (vec[p] & 1) ? PAGE_SIZE : 0;
		}
		free(vec);
	}
	rwlock_unlock(&mem->layout_lock);
	return total;
}
