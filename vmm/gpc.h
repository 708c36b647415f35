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
 *
 * gpc->lock is a reader-writer lock built for the fast path: GPC_LOCK_SLOTS reader slots, one
 * per cache line. A thread reads through its own slot (a per-thread index, threads beyond
 * GPC_LOCK_SLOTS share slots), so readers on different slots write no common line. A writer
 * owns the slots one by one in index order: it marks the slot, which turns new readers of the
 * slot away, and waits for the slot's readers to leave. Once it owns every slot no reader is
 * inside, the same exclusion as a single rwlock; the lock is a writer's from its first slot,
 * so steady readers cannot starve it (glibc's rwlock prefers readers). Lockdep sees one lock
 * of rank CACHE for both sides: the slots are never taken one at a time by anything else.
 */
#ifndef MINIVMM_GPC_H
#define MINIVMM_GPC_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "lock.h"

#define GPC_LOCK_SLOTS 8
#define GPC_LOCK_LINE 64

/*
 * Padded rather than aligned: caches are embedded in calloc'ed structs (16-byte aligned), and
 * a slot word 64 bytes away from any other word the lock's users touch is alone on its line.
 */
struct gpc_lock_slot {
	_Atomic uint32_t state; /* readers inside, plus GPC_LOCK_WRITER while a writer owns it */
	char pad[GPC_LOCK_LINE - sizeof(uint32_t)];
};

struct gpc_lock {
	char pad[GPC_LOCK_LINE]; /* off the line of the fields readers read */
	struct gpc_lock_slot slot[GPC_LOCK_SLOTS];
	struct lock_class cls;
};

struct gpc {
	struct guest_mem *mem;
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
	struct gpc_lock lock; /* gpa, len, ptr, valid, generation */
};

void gpc_init(struct gpc *gpc, struct guest_mem *mem, const char *name);
/* Register the cache for [gpa, gpa+len) and refresh it; -EINVAL if it crosses a page. */
int gpc_activate(struct gpc *gpc, uint64_t gpa, uint32_t len);
void gpc_deactivate(struct gpc *gpc);
void gpc_destroy(struct gpc *gpc);

/* gpc->lock, for code that looks at (tests: changes) the cache's fields itself. */
void gpc__read_lock(struct gpc *gpc, const char *file, int line);
void gpc_read_unlock(struct gpc *gpc);
void gpc__write_lock(struct gpc *gpc, const char *file, int line);
void gpc_write_unlock(struct gpc *gpc);
#define gpc_read_lock(gpc) gpc__read_lock(gpc, __FILE__, __LINE__)
#define gpc_write_lock(gpc) gpc__write_lock(gpc, __FILE__, __LINE__)

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
