// SPDX-License-Identifier: MIT
/*
 * Guest-physical caches; the protocol is stated in gpc.h and modelled in tests/model/gpc.pml.
 * A change here changes the model in the same commit.
 */
#include <errno.h>
#include <sched.h>
#include <string.h>

#include "../arch/x86/layout.h"
#include "gpc.h"

static unsigned int bucket_of(uint64_t gpa)
{
	uint64_t gfn = gpa / GUEST_PAGE_SIZE;

	return (unsigned int)((gfn * 0x9e3779b97f4a7c15ull) >> 54) % GPC_REGISTRY_BUCKETS;
}

void gpc_init(struct gpc *gpc, struct guest_mem *mem, const char *name)
{
	memset(gpc, 0, sizeof(*gpc));
	gpc->mem = mem;
	gpc->name = name;
	rwlock_init(&gpc->lock, "gpc->lock", LOCK_RANK_CACHE);
	mutex_init(&gpc->refresh_lock, "gpc->refresh_lock", LOCK_RANK_CACHE_REFRESH);
}

void gpc_destroy(struct gpc *gpc)
{
	gpc_deactivate(gpc);
	rwlock_destroy(&gpc->lock);
	mutex_destroy(&gpc->refresh_lock);
}

static void registry_unlink(struct guest_mem *mem, struct gpc *gpc)
{
	struct gpc **pp = &mem->buckets[bucket_of(gpc->gpa)];

	for (; *pp; pp = &(*pp)->next) {
		if (*pp == gpc) {
			*pp = gpc->next;
			gpc->next = NULL;
			mem->nr_caches--;
			return;
		}
	}
}

static void registry_link(struct guest_mem *mem, struct gpc *gpc)
{
	unsigned int b = bucket_of(gpc->gpa);

	gpc->next = mem->buckets[b];
	mem->buckets[b] = gpc;
	mem->nr_caches++;
}

static bool crosses_page(uint64_t gpa, uint32_t len)
{
	return !len || (gpa & (GUEST_PAGE_SIZE - 1)) + len > GUEST_PAGE_SIZE;
}

/*
 * Make the cache point at [gpa, gpa+len) but invalid. Invalidations find it in its new
 * bucket from here on, before any translation for the new gpa is taken. Returns true, and
 * changes nothing, when another refresher made the cache valid for this range while we
 * waited for refresh_lock: invalidating its fresh result would let two users of one cache
 * undo each other's refreshes forever (the livelock tests/model found).
 */
static bool gpc_retarget(struct gpc *gpc, uint64_t gpa, uint32_t len)
{
	struct guest_mem *mem = gpc->mem;

	mutex_lock(&mem->registry_lock);
	write_lock(&gpc->lock);
	if (gpc_check(gpc, gpa, len)) {
		rwlock_unlock(&gpc->lock);
		mutex_unlock(&mem->registry_lock);
		return true;
	}
	if (gpc->active)
		registry_unlink(mem, gpc);
	gpc->valid = false;
	gpc->ptr = NULL;
	gpc->gpa = gpa;
	gpc->len = len;
	gpc->active = true;
	registry_link(mem, gpc);
	rwlock_unlock(&gpc->lock);
	mutex_unlock(&mem->registry_lock);
	return false;
}

int gpc_refresh(struct gpc *gpc, uint64_t gpa, uint32_t len)
{
	struct guest_mem *mem = gpc->mem;
	uint64_t seq, generation;
	int err = 0;
	void *ptr;

	if (crosses_page(gpa, len))
		return -EINVAL;

	mutex_lock(&gpc->refresh_lock);
	if (gpc_retarget(gpc, gpa, len)) {
		mutex_unlock(&gpc->refresh_lock);
		return 0;
	}
	for (;;) {
		/*
		 * An invalidation that raised the count before we read the sequence may already
		 * have passed this cache; wait for it to finish rather than race it.
		 */
		while (atomic_load(&mem->invalidate_in_progress))
			sched_yield();
		seq = atomic_load(&mem->invalidate_seq);

		read_lock(&mem->layout_lock);
		ptr = guest_mem_translate_locked(mem, gpa, len, &err);
		generation = atomic_load(&mem->generation);
		rwlock_unlock(&mem->layout_lock);
		if (!ptr)
			break;

		if (mem->refresh_hook)
			mem->refresh_hook(gpc, mem->refresh_hook_arg);

		write_lock(&gpc->lock);
		if (atomic_load(&mem->invalidate_in_progress) ||
		    atomic_load(&mem->invalidate_seq) != seq) {
			rwlock_unlock(&gpc->lock);
			continue;
		}
		gpc->ptr = ptr;
		gpc->generation = generation;
		gpc->valid = true;
		gpc->refreshes++;
		rwlock_unlock(&gpc->lock);
		break;
	}
	mutex_unlock(&gpc->refresh_lock);
	return err;
}

int gpc_activate(struct gpc *gpc, uint64_t gpa, uint32_t len)
{
	return gpc_refresh(gpc, gpa, len);
}

void gpc_deactivate(struct gpc *gpc)
{
	struct guest_mem *mem = gpc->mem;

	mutex_lock(&gpc->refresh_lock);
	mutex_lock(&mem->registry_lock);
	write_lock(&gpc->lock);
	if (gpc->active)
		registry_unlink(mem, gpc);
	gpc->active = false;
	gpc->valid = false;
	gpc->ptr = NULL;
	rwlock_unlock(&gpc->lock);
	mutex_unlock(&mem->registry_lock);
	mutex_unlock(&gpc->refresh_lock);
}

bool gpc_check(struct gpc *gpc, uint64_t gpa, uint32_t len)
{
	return gpc->valid && gpc->gpa == gpa && gpc->len >= len &&
	       gpc->generation == atomic_load(&gpc->mem->generation);
}

void *gpc_begin(struct gpc *gpc, uint64_t gpa, uint32_t len)
{
	read_lock(&gpc->lock);
	while (!gpc_check(gpc, gpa, len)) {
		rwlock_unlock(&gpc->lock);
		if (gpc_refresh(gpc, gpa, len))
			return NULL;
		read_lock(&gpc->lock);
	}
	return gpc->ptr;
}

void gpc_end(struct gpc *gpc)
{
	rwlock_unlock(&gpc->lock);
}

static void invalidate_one(struct gpc *gpc)
{
	write_lock(&gpc->lock);
	gpc->valid = false;
	gpc->ptr = NULL;
	rwlock_unlock(&gpc->lock);
}

static void invalidate_bucket(struct gpc *head, uint64_t start, uint64_t end)
{
	for (struct gpc *gpc = head; gpc; gpc = gpc->next) {
		/* valid or not: a cache mid-refresh must lose whatever it was about to trust */
		if (gpc->gpa < end && start < gpc->gpa + gpc->len)
			invalidate_one(gpc);
	}
}

void gpc_registry_invalidate(struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	uint64_t first = gpa / GUEST_PAGE_SIZE;
	uint64_t last = (gpa + len - 1) / GUEST_PAGE_SIZE;
	uint64_t end = gpa + len;

	if (!len || end < gpa)
		end = UINT64_MAX;
	/* Walk the range's own buckets when that is cheaper than walking all of them. */
	if (end != UINT64_MAX && last - first < GPC_REGISTRY_BUCKETS) {
		for (uint64_t gfn = first; gfn <= last; gfn++)
			invalidate_bucket(mem->buckets[bucket_of(gfn * GUEST_PAGE_SIZE)], gpa, end);
		return;
	}
	for (unsigned int b = 0; b < GPC_REGISTRY_BUCKETS; b++)
		invalidate_bucket(mem->buckets[b], gpa, end);
}
