// SPDX-License-Identifier: MIT
/*
 * Guest-memory benchmarks, each a ratio or a scaling series measured in one run:
 *  - cache check+access on the fast path vs a plain pointer access (1 thread, all CPUs), for
 *    gpc_begin/gpc_end (per-reader-slot lock) and, as the baseline in the same run, the same
 *    check under one pthread rwlock (what gpc.c did before the slots);
 *  - invalidation latency for one page with 1, 64 and 4096 registered caches (one overlapping);
 *  - discard throughput (fallocate punch-hole) for memfd and guest_memfd.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../arch/x86/layout.h"
#include "../vmm/gpc.h"
#include "../vmm/guest_mem.h"
#include "../vmm/kvm.h"

#define PAGE GUEST_PAGE_SIZE

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct reader {
	struct gpc *gpc;
	struct rwlock *rwlock; /* the baseline's lock */
	volatile uint64_t *plain;
	long iters;
	double ns_cache, ns_rwlock, ns_plain;
	pthread_barrier_t *barrier;
};

/*
 * The previous gpc_begin()/gpc_end(): the same check, under a pthread rwlock (lock.h's
 * wrapper, as gpc.c used) that every reader writes. Out of line like the real ones.
 */
static __attribute__((noinline)) void *rwlock_begin(struct rwlock *l, struct gpc *gpc, uint64_t gpa,
						    uint32_t len)
{
	read_lock(l);
	if (!gpc_check(gpc, gpa, len)) {
		rwlock_unlock(l);
		return NULL; /* the bench's cache is never invalidated */
	}
	return gpc->ptr;
}

static __attribute__((noinline)) void rwlock_end(struct rwlock *l)
{
	rwlock_unlock(l);
}

static void *reader_run(void *arg)
{
	struct reader *r = arg;
	uint64_t sum = 0;
	double t0;

	pthread_barrier_wait(r->barrier);
	t0 = now();
	for (long i = 0; i < r->iters; i++)
		sum += r->plain[i & 7];
	r->ns_plain = (now() - t0) * 1e9 / (double)r->iters;
	pthread_barrier_wait(r->barrier);
	t0 = now();
	for (long i = 0; i < r->iters; i++) {
		volatile uint64_t *p = gpc_begin(r->gpc, 0x10000, 64);

		sum += p[i & 7];
		gpc_end(r->gpc);
	}
	r->ns_cache = (now() - t0) * 1e9 / (double)r->iters;
	pthread_barrier_wait(r->barrier);
	t0 = now();
	for (long i = 0; i < r->iters; i++) {
		volatile uint64_t *p = rwlock_begin(r->rwlock, r->gpc, 0x10000, 64);

		sum += p[i & 7];
		rwlock_end(r->rwlock);
	}
	r->ns_rwlock = (now() - t0) * 1e9 / (double)r->iters;
	return (void *)(uintptr_t)sum;
}

static void bench_fast_path(struct guest_mem *mem, int threads)
{
	struct reader r[64];
	pthread_t t[64];
	pthread_barrier_t barrier;
	struct gpc gpc;
	struct rwlock rwlock;
	double cache = 0, rw = 0, plain = 0;

	gpc_init(&gpc, mem, "bench");
	gpc_activate(&gpc, 0x10000, 64);
	rwlock_init(&rwlock, "bench rwlock", LOCK_RANK_CACHE);
	pthread_barrier_init(&barrier, NULL, (unsigned int)threads);
	for (int i = 0; i < threads; i++) {
		r[i] = (struct reader){
			.gpc = &gpc, .rwlock = &rwlock, .iters = 5000000, .barrier = &barrier
		};
		r[i].plain = guest_mem_boot_ptr(mem, 0x10000, 64);
		pthread_create(&t[i], NULL, reader_run, &r[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		cache += r[i].ns_cache / threads;
		rw += r[i].ns_rwlock / threads;
		plain += r[i].ns_plain / threads;
	}
	printf("gpc-fast-path-%dthread: %.1f x a plain access (cache check+access %.1f ns, plain %.2f ns per op)\n",
	       threads, cache / plain, cache, plain);
	printf("gpc-fast-path-rwlock-%dthread: %.1f x a plain access (baseline: the check under one pthread rwlock, %.1f ns per op; the slot lock takes %.2f x its time)\n",
	       threads, rw / plain, rw, cache / rw);
	pthread_barrier_destroy(&barrier);
	rwlock_destroy(&rwlock);
	gpc_destroy(&gpc);
}

static void bench_invalidation(struct guest_mem *mem)
{
	static const int counts[] = { 1, 64, 4096 };
	double first = 0;

	for (unsigned int c = 0; c < 3; c++) {
		int n = counts[c], rounds = 2000;
		struct gpc *caches = calloc((size_t)n, sizeof(*caches));
		double t0, ns;

		for (int i = 0; i < n; i++) {
			gpc_init(&caches[i], mem, "bench");
			/* cache 0 overlaps the invalidated page, the others are elsewhere */
			gpc_activate(&caches[i], (uint64_t)(i + 16) * PAGE, 64);
		}
		t0 = now();
		for (int k = 0; k < rounds; k++) {
			guest_mem_invalidate_begin(mem, 16 * PAGE, PAGE);
			guest_mem_invalidate_end(mem, 16 * PAGE, PAGE);
		}
		ns = (now() - t0) * 1e9 / rounds;
		if (!first)
			first = ns;
		printf("gpc-invalidate-%d-caches: %.0f ns per one-page invalidation (%.2f x the 1-cache time; 1 cache overlaps)\n",
		       n, ns, ns / first);
		for (int i = 0; i < n; i++)
			gpc_destroy(&caches[i]);
		free(caches);
	}
}

static void bench_discard(const char *name, struct guest_mem *mem, uint64_t size)
{
	uint8_t *p = guest_mem_boot_ptr(mem, 0, size);
	double t0, secs;
	int rounds = 3;

	secs = 0;
	for (int r = 0; r < rounds; r++) {
		for (uint64_t off = 0; off < size; off += PAGE)
			p[off] = 1; /* populate */
		t0 = now();
		for (uint64_t off = 0; off < size; off += 2ull << 20)
			guest_mem_discard(mem, off, 2ull << 20);
		secs += now() - t0;
	}
	printf("discard-%s: %.1f GiB/s punched (2 MiB discards over %llu MiB, %d rounds)\n", name,
	       (double)(size * rounds) / (1ull << 30) / secs, (unsigned long long)(size >> 20),
	       rounds);
}

int main(void)
{
	struct guest_mem mem;
	struct kvm_sys kvm;
	uint64_t size = 256ull << 20;
	int cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);

	guest_mem_init(&mem, -1, MEM_BACKING_MEMFD, 0);
	guest_mem_add_ram(&mem, 0, size);
	bench_fast_path(&mem, 1);
	bench_fast_path(&mem, cpus > 64 ? 64 : cpus);
	bench_invalidation(&mem);
	bench_discard("memfd", &mem, size);
	guest_mem_destroy(&mem);

	if (kvm_sys_open(&kvm) == 0 && kvm.caps.guest_memfd &&
	    (kvm.caps.guest_memfd_flags & 3) == 3) {
		int vm_fd = kvm_vm_create(&kvm);

		guest_mem_init(&mem, vm_fd, MEM_BACKING_GUEST_MEMFD, 0);
		if (guest_mem_add_ram(&mem, 0, size) == 0)
			bench_discard("guest_memfd", &mem, size);
		guest_mem_destroy(&mem);
		close(vm_fd);
		kvm_sys_close(&kvm);
	} else {
		printf("discard-guest_memfd: not measured (no mmap-able guest_memfd on this host)\n");
	}
	return 0;
}
