// SPDX-License-Identifier: MIT
/*
 * A small lockdep. Each thread keeps the locks it holds, in acquisition order, with the site
 * that took them. Acquiring a lock whose rank is not above every held rank is an inversion: the
 * report names both locks and both sites, then aborts, so a test run fails loudly at the first
 * wrong order instead of deadlocking some day.
 */
#include <stdio.h>
#include <stdlib.h>

#include "lock.h"

#ifdef LOCKDEP
#define LOCKDEP_MAX_HELD 16

struct held_lock {
	const void *lock;
	const struct lock_class *cls;
	const char *file;
	int line;
};

static __thread struct held_lock held[LOCKDEP_MAX_HELD];
static __thread int nr_held;

static void lockdep_acquire(const void *lock, const struct lock_class *cls, const char *file,
			    int line)
{
	for (int i = 0; i < nr_held; i++) {
		if (held[i].cls->rank < cls->rank)
			continue;
		fprintf(stderr,
			"lockdep: lock order violation\n"
			"  acquiring %s (rank %d) at %s:%d\n"
			"  while holding %s (rank %d) taken at %s:%d\n",
			cls->name, cls->rank, file, line, held[i].cls->name, held[i].cls->rank,
			held[i].file, held[i].line);
		abort();
	}
	if (nr_held == LOCKDEP_MAX_HELD) {
		fprintf(stderr, "lockdep: too many locks held at %s:%d\n", file, line);
		abort();
	}
	held[nr_held++] = (struct held_lock){ lock, cls, file, line };
}

static void lockdep_release(const void *lock)
{
	for (int i = nr_held - 1; i >= 0; i--) {
		if (held[i].lock != lock)
			continue;
		for (int j = i; j < nr_held - 1; j++)
			held[j] = held[j + 1];
		nr_held--;
		return;
	}
	fprintf(stderr, "lockdep: releasing a lock that is not held\n");
	abort();
}

int lockdep_held_count(void)
{
	return nr_held;
}

void lockdep_assert_none_held(const char *what)
{
	if (!nr_held)
		return;
	fprintf(stderr, "lockdep: %s while holding %s taken at %s:%d\n", what,
		held[nr_held - 1].cls->name, held[nr_held - 1].file, held[nr_held - 1].line);
	abort();
}
#else
static inline void lockdep_acquire(const void *lock, const struct lock_class *cls, const char *file,
				   int line)
{
	(void)lock, (void)cls, (void)file, (void)line;
}

static inline void lockdep_release(const void *lock)
{
	(void)lock;
}

int lockdep_held_count(void)
{
	return 0;
}

void lockdep_assert_none_held(const char *what)
{
	(void)what;
}
#endif

void lockdep__enter(const void *key, const struct lock_class *cls, const char *file, int line)
{
	lockdep_acquire(key, cls, file, line);
}

void lockdep__leave(const void *key)
{
	lockdep_release(key);
}

static void die_pthread(int err, const char *what)
{
	if (!err)
		return;
	fprintf(stderr, "minivmm: %s failed: error %d\n", what, err);
	abort();
}

void mutex_init(struct mutex *m, const char *name, enum lock_rank rank)
{
	die_pthread(pthread_mutex_init(&m->m, NULL), "pthread_mutex_init");
	m->cls = (struct lock_class){ name, rank };
}

void mutex_destroy(struct mutex *m)
{
	pthread_mutex_destroy(&m->m);
}

void rwlock_init(struct rwlock *l, const char *name, enum lock_rank rank)
{
	die_pthread(pthread_rwlock_init(&l->rw, NULL), "pthread_rwlock_init");
	l->cls = (struct lock_class){ name, rank };
}

void rwlock_destroy(struct rwlock *l)
{
	pthread_rwlock_destroy(&l->rw);
}

void mutex__lock(struct mutex *m, const char *file, int line)
{
	lockdep_acquire(m, &m->cls, file, line);
	die_pthread(pthread_mutex_lock(&m->m), "pthread_mutex_lock");
}

void mutex__unlock(struct mutex *m)
{
	lockdep_release(m);
	die_pthread(pthread_mutex_unlock(&m->m), "pthread_mutex_unlock");
}

void rwlock__read_lock(struct rwlock *l, const char *file, int line)
{
	lockdep_acquire(l, &l->cls, file, line);
	die_pthread(pthread_rwlock_rdlock(&l->rw), "pthread_rwlock_rdlock");
}

void rwlock__write_lock(struct rwlock *l, const char *file, int line)
{
	lockdep_acquire(l, &l->cls, file, line);
	die_pthread(pthread_rwlock_wrlock(&l->rw), "pthread_rwlock_wrlock");
}

void rwlock__unlock(struct rwlock *l)
{
	lockdep_release(l);
	die_pthread(pthread_rwlock_unlock(&l->rw), "pthread_rwlock_unlock");
}
