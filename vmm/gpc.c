// SPDX-License-Identifier: MIT
/*
 * Guest-physical caches; the protocol is stated in gpc.h and modelled in tests/model/gpc.pml.
 * A change here changes the model in the same commit.
 */
#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "../arch/x86/layout.h"
#include "gpc.h"

/* gpc->lock: the reader-writer lock described in gpc.h. */
#define GPC_LOCK_WRITER (1u << 31)

#ifdef LOCKDEP
#define lock_acquired(l, file, line) lockdep__enter(l, &(l)->cls, file, line)
#define lock_released(l) lockdep__leave(l)
#else
#define lock_acquired(l, file, line) ((void)(file), (void)(line))
#define lock_released(l) ((void)0)
#endif

/* A thread's slot, numbered from 1 so that 0 (the TLS initial value) means "not chosen yet". */
static __thread unsigned int my_slot;
static _Atomic unsigned int next_slot;

static inline struct gpc_lock_slot *reader_slot(struct gpc_lock *l)
{
	if (__builtin_expect(!my_slot, 0)) {
		unsigned int n = atomic_fetch_add_explicit(&next_slot, 1, memory_order_relaxed);

		my_slot = n % GPC_LOCK_SLOTS + 1;
	}
	return &l->slot[my_slot - 1];
}

/*
 * Both sides hold gpc->lock briefly (a writer to set a few fields, a reader for one access,
 * at most under device and console locks): spin a little, then give the CPU to the holder.
 */
static void lock_wait(unsigned int *spins)
{
	if (++*spins < 100) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
		return;
	}
	sched_yield();
}

static void gpc_lock_init(struct gpc_lock *l, const char *name, enum lock_rank rank)
{
	for (unsigned int i = 0; i < GPC_LOCK_SLOTS; i++)
		atomic_init(&l->slot[i].state, 0);
	l->cls = (struct lock_class){ name, rank };
}

static inline void read_lock_at(struct gpc_lock *l, const char *file, int line)
{
	struct gpc_lock_slot *s = reader_slot(l);
	unsigned int spins = 0;

	lock_acquired(l, file, line);
	/*
	 * Every access to a slot is a read-modify-write or a load of its one word, so its
	 * modification order alone decides: a reader counted before the writer's mark is waited
	 * for, one counted after sees the mark and leaves without touching the cache.
	 */
	while (atomic_fetch_add_explicit(&s->state, 1, memory_order_acquire) & GPC_LOCK_WRITER) {
		atomic_fetch_sub_explicit(&s->state, 1, memory_order_relaxed);
		while (atomic_load_explicit(&s->state, memory_order_relaxed) & GPC_LOCK_WRITER)
			lock_wait(&spins);
	}
}

static inline void read_unlock(struct gpc_lock *l)
{
	atomic_fetch_sub_explicit(&reader_slot(l)->state, 1, memory_order_release);
	lock_released(l);
}

/* Own the slot against other writers: set the writer bit once no other writer has it. */
static void mark_slot(struct gpc_lock_slot *s, unsigned int *spins)
{
	uint32_t old = atomic_load_explicit(&s->state, memory_order_relaxed);

	for (;;) {
		if (old & GPC_LOCK_WRITER) {
			lock_wait(spins);
			old = atomic_load_explicit(&s->state, memory_order_relaxed);
			continue;
		}
		if (atomic_compare_exchange_weak_explicit(&s->state, &old, old | GPC_LOCK_WRITER,
							  memory_order_acquire,
							  memory_order_relaxed))
			return;
	}
}

static void write_lock_at(struct gpc_lock *l, const char *file, int line)
{
	unsigned int spins = 0;

	lock_acquired(l, file, line);
	/*
	 * Mark the slots in index order, so two writers meet at slot 0 and never hold slots the
	 * other waits for. Marked slots turn new readers away; those already inside leave after
	 * their access, so the drains below overlap instead of adding up.
	 */
	for (unsigned int i = 0; i < GPC_LOCK_SLOTS; i++)
		mark_slot(&l->slot[i], &spins);
	for (unsigned int i = 0; i < GPC_LOCK_SLOTS; i++) {
		while (atomic_load_explicit(&l->slot[i].state, memory_order_acquire) !=
		       GPC_LOCK_WRITER)
			lock_wait(&spins);
	}
}

static void write_unlock(struct gpc_lock *l)
{
	for (unsigned int i = 0; i < GPC_LOCK_SLOTS; i++)
		atomic_fetch_and_explicit(&l->slot[i].state, ~GPC_LOCK_WRITER,
					  memory_order_release);
	lock_released(l);
}

void gpc__read_lock(struct gpc *gpc, const char *file, int line)
{
	read_lock_at(&gpc->lock, file, line);
}

void gpc_read_unlock(struct gpc *gpc)
{
	read_unlock(&gpc->lock);
}

void gpc__write_lock(struct gpc *gpc, const char *file, int line)
{
	write_lock_at(&gpc->lock, file, line);
}

void gpc_write_unlock(struct gpc *gpc)
{
	write_unlock(&gpc->lock);
}

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
	gpc_lock_init(&gpc->lock, "gpc->lock", LOCK_RANK_CACHE);
	mutex_init(&gpc->refresh_lock, "gpc->refresh_lock", LOCK_RANK_CACHE_REFRESH);
}

void gpc_destroy(struct gpc *gpc)
{
	gpc_deactivate(gpc);
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
	gpc_write_lock(gpc);
	if (gpc_check(gpc, gpa, len)) {
		gpc_write_unlock(gpc);
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
	gpc_write_unlock(gpc);
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

		gpc_write_lock(gpc);
		if (atomic_load(&mem->invalidate_in_progress) ||
		    atomic_load(&mem->invalidate_seq) != seq) {
			gpc_write_unlock(gpc);
			continue;
		}
		gpc->ptr = ptr;
		gpc->generation = generation;
		gpc->valid = true;
		gpc->refreshes++;
		gpc_write_unlock(gpc);
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
	gpc_write_lock(gpc);
	if (gpc->active)
		registry_unlink(mem, gpc);
	gpc->active = false;
	gpc->valid = false;
	gpc->ptr = NULL;
	gpc_write_unlock(gpc);
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
	read_lock_at(&gpc->lock, __FILE__, __LINE__);
	while (!gpc_check(gpc, gpa, len)) {
		read_unlock(&gpc->lock);
		if (gpc_refresh(gpc, gpa, len))
			return NULL;
		read_lock_at(&gpc->lock, __FILE__, __LINE__);
	}
	return gpc->ptr;
}

void gpc_end(struct gpc *gpc)
{
	read_unlock(&gpc->lock);
}

static void invalidate_one(struct gpc *gpc)
{
	gpc_write_lock(gpc);
	gpc->valid = false;
	gpc->ptr = NULL;
	gpc_write_unlock(gpc);
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
