/* SPDX-License-Identifier: MIT */
/*
 * Ranked locks. Every lock in minivmm is one of these, declared with the rank of its class and a
 * name; a thread may only acquire a lock whose rank is strictly greater than every lock it holds.
 * Debug builds (-DLOCKDEP) keep a per-thread stack of held locks and abort on an inversion,
 * printing both acquisition sites. Release builds compile to plain pthread calls.
 *
 * The global order, outermost first (DESIGN.md "Locks and their order"):
 *
 *   LOCK_RANK_VM_CONFIG      vm->config_lock: layout changes, pause-all, vCPU set; held by
 *                            a pauser from vm_pause_all() to vm_resume_all(), taken with
 *                            nothing else held
 *   LOCK_RANK_VM_REQUEST     vm->request_lock: the queue of requests vCPUs post to the main
 *                            thread (vm_call_main); nothing is taken under it
 *   LOCK_RANK_VCPU           vcpu->lock: a vCPU's paused/run state as seen by others
 *   LOCK_RANK_XEN            xen->lock: event-channel table and Xen domain state (a leaf for
 *                            everything Xen; never held while waiting for vCPUs)
 *   LOCK_RANK_VIRTIO         virtio_dev->lock: a virtio device's transport registers and its
 *                            queue processing (reads and writes guest memory, discards)
 *   LOCK_RANK_CACHE_REFRESH  gpc->refresh_lock: serialises refreshes of one cache
 *   LOCK_RANK_MEM_INVALIDATE mem->invalidate_in_progress, a pseudo-lock: refreshers wait for
 *                            the count to drop while holding the ranks above, so whoever
 *                            raises it must not wait for any of them (or for vCPUs)
 *   LOCK_RANK_MEM_LAYOUT     mem->layout_lock (rwlock): region table and page attributes
 *   LOCK_RANK_MEM_REGISTRY   mem->registry_lock: which caches cover which pages
 *   LOCK_RANK_CACHE          gpc->lock (rwlock): a cache's gpa, pointer, valid flag
 *   LOCK_RANK_DEVICE         per-device register state (UART, ...)
 *   LOCK_RANK_CONSOLE        console line and pattern-matching state (under a device lock;
 *                            the main loop polls it, so never held across I/O)
 *   LOCK_RANK_CONSOLE_OUT    console->out_lock: the write of guest output to stdout and the
 *                            log, which may block on a reader; leaf
 *
 * Pause-all and layout changes (vm.h): the pauser holds config_lock, and per vCPU its lock,
 * while it waits for vCPUs to park; vCPUs park at the top of their run loop holding nothing.
 * A layout change pauses first and invalidates second (config_lock -> invalidation, in rank
 * order): lockdep refuses a pause inside an invalidation, since a vCPU spinning in
 * gpc_refresh() on that invalidation could never park. Nothing that raises the invalidation
 * count waits for vCPUs; a vCPU counted as parked while blocked (vcpu_outside_begin: waiting
 * for the main thread) holds no lock and no invalidation.
 */
#ifndef MINIVMM_LOCK_H
#define MINIVMM_LOCK_H

#include <pthread.h>
#include <stdbool.h>

enum lock_rank {
	LOCK_RANK_VM_CONFIG = 10,
	LOCK_RANK_VM_REQUEST = 15,
	LOCK_RANK_VCPU = 20,
	LOCK_RANK_XEN = 30,
	LOCK_RANK_VIRTIO = 35,
	LOCK_RANK_CACHE_REFRESH = 40,
	LOCK_RANK_MEM_INVALIDATE = 45,
	LOCK_RANK_MEM_LAYOUT = 50,
	LOCK_RANK_MEM_REGISTRY = 60,
	LOCK_RANK_CACHE = 70,
	LOCK_RANK_DEVICE = 80,
	LOCK_RANK_CONSOLE = 90,
	LOCK_RANK_CONSOLE_OUT = 95,
};

struct lock_class {
	const char *name;
	enum lock_rank rank;
};

struct mutex {
	pthread_mutex_t m;
	struct lock_class cls;
};

struct rwlock {
	pthread_rwlock_t rw;
	struct lock_class cls;
};

void mutex_init(struct mutex *m, const char *name, enum lock_rank rank);
void mutex_destroy(struct mutex *m);
void rwlock_init(struct rwlock *l, const char *name, enum lock_rank rank);
void rwlock_destroy(struct rwlock *l);

void mutex__lock(struct mutex *m, const char *file, int line);
void mutex__unlock(struct mutex *m);
void rwlock__read_lock(struct rwlock *l, const char *file, int line);
void rwlock__write_lock(struct rwlock *l, const char *file, int line);
void rwlock__unlock(struct rwlock *l);

#define mutex_lock(m) mutex__lock(m, __FILE__, __LINE__)
#define mutex_unlock(m) mutex__unlock(m)
#define read_lock(l) rwlock__read_lock(l, __FILE__, __LINE__)
#define write_lock(l) rwlock__write_lock(l, __FILE__, __LINE__)
#define rwlock_unlock(l) rwlock__unlock(l)

/*
 * Something that is not a mutex but that other threads wait on as if it were (a count they
 * spin on): entering and leaving it is checked for order like taking and releasing a lock.
 */
void lockdep__enter(const void *key, const struct lock_class *cls, const char *file, int line);
void lockdep__leave(const void *key);
#define lockdep_enter(key, cls) lockdep__enter(key, cls, __FILE__, __LINE__)
#define lockdep_leave(key) lockdep__leave(key)

/* Lockdep: how many locks this thread holds (always 0 without -DLOCKDEP). */
int lockdep_held_count(void);
/* Abort unless this thread holds no lock at all: for points that may block indefinitely. */
void lockdep_assert_none_held(const char *what);

#endif
