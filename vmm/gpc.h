/* SPDX-License-Identifier: MIT */
/*
 * Guest-physical caches: a pointer into the VMM's access view of guest memory that stays
 * valid across exits (Xen shared_info, vcpu_info, virtio rings), the userspace counterpart of
 * KVM's gfn_to_pfn_cache. The protocol, as implemented in gpc.c and guest_mem.c and modelled
 * in tests/model/gpc.pml:
 *
 * User:        read_lock(gpc->lock); while !gpc_check(): { unlock; gpc_refresh() (error ->
 *              give up); read_lock; } access gpc->ptr; unlock.   (gpc_begin/gpc_end do this)
 * Refresh:     under gpc->refresh_lock: publish the new gpa as invalid (registry + write lock),
 *              then: wait while mem->invalidate_in_progress; seq = mem->invalidate_seq;
 *              translate under layout_lock (read) -- may fail: hole, MMIO, private page;
 *              write_lock(gpc->lock); if in_progress or seq moved: unlock, translate again;
 *              else ptr, generation, valid = true; unlock.
 *              valid is never set before the pointer is final (seed 000).
 * Invalidate:  in_progress++; under registry_lock, for EVERY registered cache overlapping the
 *              range, valid or not: write_lock; valid = false; ptr = NULL; unlock.  Then the
 *              destructive step under layout_lock (write); seq++; in_progress--.
 *              Readers are excluded by the write lock, so no access lands after the caches
 *              were marked; refresh cannot publish a translation taken before or during it.
 *
 * Lock order (lock.h): refresh_lock (CACHE_REFRESH) -> layout_lock (MEM_LAYOUT) ->
 * registry_lock (MEM_REGISTRY) -> gpc->lock (CACHE). A cache never spans a page boundary;
 * the registry hashes caches by page so an invalidation visits only overlapping buckets.
 */
#ifndef MINIVMM_GPC_H
#define MINIVMM_GPC_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "lock.h"

struct gpc {
	struct guest_mem *mem;
	struct rwlock lock;	   /* gpa, len, ptr, valid, generation */
	struct mutex refresh_lock; /* one refresh at a time */
	const char *name;
	uint64_t gpa;
	uint32_t len;
	void *ptr;
	bool valid;
	bool active; /* registered with mem */
	uint64_t generation;
	struct gpc *next; /* registry bucket chain, under mem->registry_lock */
	uint64_t refreshes;
};

void gpc_init(struct gpc *gpc, struct guest_mem *mem, const char *name);
/* Register the cache for [gpa, gpa+len) and refresh it; -EINVAL if it crosses a page. */
int gpc_activate(struct gpc *gpc, uint64_t gpa, uint32_t len);
void gpc_deactivate(struct gpc *gpc);
void gpc_destroy(struct gpc *gpc);

/* Caller holds gpc->lock for reading. */
bool gpc_check(struct gpc *gpc, uint64_t gpa, uint32_t len);
int gpc_refresh(struct gpc *gpc, uint64_t gpa, uint32_t len);

/*
 * Returns the pointer with gpc->lock held for reading, or NULL (lock not held) when the range
 * cannot be mapped (hole, private page, cache inactive). Pair with gpc_end().
 */
void *gpc_begin(struct gpc *gpc, uint64_t gpa, uint32_t len);
void gpc_end(struct gpc *gpc);

/* Called by guest_mem_invalidate_begin with the registry lock held. */
void gpc_registry_invalidate(struct guest_mem *mem, uint64_t gpa, uint64_t len);

#endif
