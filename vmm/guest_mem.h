/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: regions, each backed by one fd (memfd, guest_memfd) or shared anonymous memory,
 * mapped twice: once for KVM, once as the VMM's own access view. Every VMM access to guest
 * memory goes through this API, which checks ranges and page attributes (private pages are
 * PROT_NONE in the access view and refused here).
 *
 * Destructive operations (discard, private/shared conversion, region removal) run the
 * invalidation protocol of gpc.h first: raise invalidate_in_progress, invalidate every cache
 * over the range, do the change under layout_lock (write), bump invalidate_seq, drop the count.
 */
#ifndef MINIVMM_GUEST_MEM_H
#define MINIVMM_GUEST_MEM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lock.h"

#define GUEST_MEM_MAX_REGIONS 8
#define GPC_REGISTRY_BUCKETS 1024

enum mem_backing {
	MEM_BACKING_MEMFD,
	MEM_BACKING_GUEST_MEMFD,
	MEM_BACKING_ANONYMOUS,
};

struct gpc;

struct mem_region {
	uint64_t gpa;
	uint64_t size;
	int fd;			/* backing fd, -1 for anonymous memory */
	void *kvm_map;		/* the mapping KVM is given */
	void *view;		/* the VMM's access view of the same pages */
	uint64_t *private_bits; /* one bit per page: private (not accessible to the VMM) */
	uint32_t slot;
	bool registered; /* KVM slot exists */
};

struct guest_mem {
	enum mem_backing backing;
	int vm_fd; /* -1: no KVM (unit tests, fuzzers) */
	bool kvm_memory_attributes;
	uint64_t hugepage_size; /* 0: base pages */

	/* region table and private bits; write-locked for every destructive step */
	struct rwlock layout_lock;
	struct mem_region regions[GUEST_MEM_MAX_REGIONS];
	int nr_regions;
	_Atomic uint64_t generation; /* bumped by every layout change */

	_Atomic int invalidate_in_progress;
	_Atomic uint64_t invalidate_seq;

	struct mutex registry_lock; /* the buckets and each active cache's gpa */
	struct gpc *buckets[GPC_REGISTRY_BUCKETS];
	unsigned int nr_caches;

	/*
	 * Test hooks. refresh_hook runs inside gpc_refresh between translation and publication;
	 * invalidate_hook runs once the caches over [gpa, gpa+len) are marked (begin = true) and
	 * again after the destructive step, before the sequence moves (begin = false).
	 */
	void (*refresh_hook)(struct gpc *gpc, void *arg);
	void *refresh_hook_arg;
	void (*invalidate_hook)(void *arg, uint64_t gpa, uint64_t len, bool begin);
	void *invalidate_hook_arg;

	_Atomic uint64_t discarded_bytes;
	_Atomic uint64_t conversions;
};

int guest_mem_init(struct guest_mem *mem, int vm_fd, enum mem_backing backing,
		   uint64_t hugepage_size);
int guest_mem_add_ram(struct guest_mem *mem, uint64_t gpa, uint64_t size);
/* Split `ram_size` around the 32-bit MMIO hole and add the regions. */
int guest_mem_add_ram_layout(struct guest_mem *mem, uint64_t ram_size);
int guest_mem_remove_region(struct guest_mem *mem, uint64_t gpa);
/*
 * Remove the region that is exactly [gpa, gpa+size) and add it back, empty, over the same
 * backing (one invalidation window; KVM's slot deleted and re-created). -ENOENT when no region
 * is exactly that range. Every vCPU must be paused (vm_pause_all); never waits for vCPUs.
 */
int guest_mem_remap_region(struct guest_mem *mem, uint64_t gpa, uint64_t size);
void guest_mem_destroy(struct guest_mem *mem);
const char *mem_backing_name(enum mem_backing backing);
int mem_backing_parse(const char *name, enum mem_backing *out);

/*
 * Translate to the access view. Fails (NULL, *err = -EFAULT) for holes and ranges crossing a
 * region boundary, (-EPERM) for private pages. Caller holds layout_lock (read) or runs before any
 * vCPU does (loaders).
 */
void *guest_mem_translate_locked(struct guest_mem *mem, uint64_t gpa, uint64_t len, int *err);
void *guest_mem_boot_ptr(struct guest_mem *mem, uint64_t gpa, uint64_t len);

/* Copy in or out under layout_lock; -EFAULT on holes, -EPERM on private pages. */
int guest_mem_read(struct guest_mem *mem, uint64_t gpa, void *buf, size_t len);
int guest_mem_write(struct guest_mem *mem, uint64_t gpa, const void *buf, size_t len);

int guest_mem_discard(struct guest_mem *mem, uint64_t gpa, uint64_t len);
int guest_mem_convert(struct guest_mem *mem, uint64_t gpa, uint64_t len, bool to_private);
int guest_mem_is_private(struct guest_mem *mem, uint64_t gpa);
bool guest_mem_is_ram(struct guest_mem *mem, uint64_t gpa, uint64_t len);
/* Pages actually allocated in the backing (st_blocks, or mincore for anonymous memory). */
uint64_t guest_mem_resident_bytes(struct guest_mem *mem);

/* Invalidation protocol steps, exported for the layout-change path and for tests. */
void guest_mem_invalidate_begin(struct guest_mem *mem, uint64_t gpa, uint64_t len);
void guest_mem_invalidate_end(struct guest_mem *mem, uint64_t gpa, uint64_t len);

#endif
