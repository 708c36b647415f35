/* SPDX-License-Identifier: MIT */
/*
 * Shared pieces of the libFuzzer harnesses (tests/fuzz/fuzz_*.c): the entry points, an
 * input cursor that never reads past the end (missing bytes read as zero), invariant checks
 * that abort (so libFuzzer keeps the input as a crash), fake guest memory without KVM
 * (vm_fd = -1) and a memfd "file" for the loaders that take a path.
 *
 * Everything here is static: each harness is one translation unit linked against the
 * libFuzzer-instrumented library (build/fuzz/libminivmm-fuzz.a, see fuzz.mk).
 */
#ifndef MINIVMM_FUZZ_COMMON_H
#define MINIVMM_FUZZ_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../vmm/gpc.h"
#include "../../vmm/guest_mem.h"
#include "../../vmm/lock.h"
#include "../../vmm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MiB (1ull << 20)
#define GiB (1ull << 30)

/*
 * Where findings are reported: stderr as it was at start-up. run.sh has libFuzzer close the
 * target's stdout and stderr (-close_fd_mask=3) to drop the diagnostics every rejected input
 * prints; fuzz_quiet(), from LLVMFuzzerInitialize (which runs before that), keeps a copy.
 */
static int fuzz_report_fd = 2;

/* An invariant of the code under test; a violation is a bug, reported like a crash. */
#define FUZZ_CHECK(cond)                                                                         \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			dprintf(fuzz_report_fd, "fuzz: invariant violated: %s (%s:%d)\n", #cond, \
				__FILE__, __LINE__);                                             \
			abort();                                                                 \
		}                                                                                \
	} while (0)

/* The harness's own checks: not coverage the fuzzer should chase (nor pay for). */
#define FUZZ_NO_COVERAGE __attribute__((no_sanitize("coverage")))

/* Setting up the harness itself failed (not a finding): say so and stop. */
#define FUZZ_SETUP(cond)                                                                        \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			dprintf(fuzz_report_fd, "fuzz: harness setup failed: %s (%s:%d): %s\n", \
				#cond, __FILE__, __LINE__, strerror(errno));                    \
			exit(2);                                                                \
		}                                                                               \
	} while (0)

/* ---- input cursor --------------------------------------------------------------------- */

struct fuzz_in {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t in_u8(struct fuzz_in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint64_t in_le(struct fuzz_in *in, unsigned int bytes)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < bytes; i++)
		v |= (uint64_t)in_u8(in) << (8 * i);
	return v;
}

static inline uint16_t in_u16(struct fuzz_in *in)
{
	return (uint16_t)in_le(in, 2);
}

static inline uint32_t in_u32(struct fuzz_in *in)
{
	return (uint32_t)in_le(in, 4);
}

static inline uint64_t in_u64(struct fuzz_in *in)
{
	return in_le(in, 8);
}

/* Up to max bytes into buf; returns how many there were. */
static inline size_t in_bytes(struct fuzz_in *in, void *buf, size_t max)
{
	size_t n = in->n < max ? in->n : max;

	memcpy(buf, in->p, n);
	in->p += n;
	in->n -= n;
	return n;
}

/*
 * A heap copy of exactly `size` bytes (ASan catches a read one past the end), or of size + 1
 * with a terminating NUL when `nul` is set.
 */
static inline uint8_t *fuzz_dup(const uint8_t *data, size_t size, int nul)
{
	size_t len = size + (nul ? 1 : 0);
	uint8_t *p = malloc(len ? len : 1);

	FUZZ_SETUP(p);
	if (size)
		memcpy(p, data, size);
	if (nul)
		p[size] = '\0';
	return p;
}

/* ---- a file whose contents the fuzzer chooses ----------------------------------------- */

/*
 * A memfd opened by path (/proc/self/fd/N), so loaders that take a path -- boot_load(),
 * config_load_file() -- read the fuzz input through their normal open/fstat/read code, with
 * no disk I/O and nothing left behind.
 */
struct fuzz_file {
	int fd;
	char path[64];
};

static inline void fuzz_file_init(struct fuzz_file *f, const char *name)
{
	f->fd = memfd_create(name, MFD_CLOEXEC);
	FUZZ_SETUP(f->fd >= 0);
	snprintf(f->path, sizeof(f->path), "/proc/self/fd/%d", f->fd);
}

static inline void fuzz_file_set(struct fuzz_file *f, const void *data, size_t size)
{
	size_t done = 0;

	FUZZ_SETUP(ftruncate(f->fd, 0) == 0);
	while (done < size) {
		ssize_t n = pwrite(f->fd, (const uint8_t *)data + done, size - done, (off_t)done);

		FUZZ_SETUP(n > 0);
		done += (size_t)n;
	}
}

/* A sparse file of `size` zero bytes (an initrd whose size is what matters). */
static inline void fuzz_file_set_size(struct fuzz_file *f, size_t size)
{
	FUZZ_SETUP(ftruncate(f->fd, 0) == 0 && ftruncate(f->fd, (off_t)size) == 0);
}

/* ---- fake guest memory ---------------------------------------------------------------- */

static inline void fuzz_mem_init(struct guest_mem *mem, enum mem_backing backing)
{
	FUZZ_SETUP(guest_mem_init(mem, -1, backing, 0) == 0);
}

static inline void fuzz_mem_add(struct guest_mem *mem, uint64_t gpa, uint64_t size)
{
	int err = guest_mem_add_ram(mem, gpa, size);

	errno = -err;
	FUZZ_SETUP(err == 0);
}

/* Make [gpa, gpa + len) private, as a confidential guest would, so loaders must refuse it. */
static inline void fuzz_mem_private(struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	int err = guest_mem_convert(mem, gpa, len, true);

	errno = -err;
	FUZZ_SETUP(err == 0);
}

/*
 * Every cache gpc_check() would accept points where translating its range now would. Taken in
 * the documented order (layout, registry, each cache), so a thread of the code under test
 * (the Xen timer) may refresh caches meanwhile.
 */
static inline FUZZ_NO_COVERAGE void fuzz_check_caches(struct guest_mem *mem)
{
	unsigned int n = 0;

	read_lock(&mem->layout_lock);
	mutex_lock(&mem->registry_lock);
	for (unsigned int b = 0; b < GPC_REGISTRY_BUCKETS; b++) {
		for (struct gpc *gpc = mem->buckets[b]; gpc; gpc = gpc->next) {
			void *p = NULL;
			int err = 0;

			n++;
			FUZZ_CHECK(gpc->active);
			gpc_read_lock(gpc);
			/*
			 * A cache of an older layout (a region added or remapped since) may
			 * point anywhere: gpc_check() refuses it, so it is refreshed before use.
			 */
			if (gpc->valid && gpc->generation == atomic_load(&mem->generation)) {
				p = guest_mem_translate_locked(mem, gpc->gpa, gpc->len, &err);
				FUZZ_CHECK(p != NULL && p == gpc->ptr);
			}
			gpc_read_unlock(gpc);
		}
	}
	FUZZ_CHECK(n == mem->nr_caches);
	mutex_unlock(&mem->registry_lock);
	rwlock_unlock(&mem->layout_lock);
}

/*
 * Between two operations of a single-threaded harness: no lock held (lockdep), no
 * invalidation in flight, every valid cache consistent.
 */
static inline FUZZ_NO_COVERAGE void fuzz_check_quiescent(struct guest_mem *mem)
{
	FUZZ_CHECK(lockdep_held_count() == 0);
	FUZZ_CHECK(atomic_load(&mem->invalidate_in_progress) == 0);
	fuzz_check_caches(mem);
}

/* ---- resources that must not outlive an input ------------------------------------------ */

/* Entries of a /proc/self directory (fds, threads), not counting "." and "..". */
static inline unsigned int fuzz_count_dir(const char *path)
{
	unsigned int n = 0;
	struct dirent *e;
	DIR *d = opendir(path);

	FUZZ_SETUP(d);
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/*
 * Threads of this process, leaving out io_uring's workers (iou-wrk-*, iou-sqp-*): the kernel
 * starts them for a ring's blocking requests and they go some 50 ms after the ring is closed
 * (whether the ring was closed is the fd count's business).
 */
static inline unsigned int fuzz_count_threads(void)
{
	unsigned int n = 0;
	struct dirent *e;
	DIR *d = opendir("/proc/self/task");

	FUZZ_SETUP(d);
	while ((e = readdir(d))) {
		char path[64], comm[32] = "";
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue; /* gone meanwhile */
		if (read(fd, comm, sizeof(comm) - 1) < 0)
			comm[0] = '\0';
		close(fd);
		n += strncmp(comm, "iou-", 4) != 0;
	}
	closedir(d);
	return n;
}

/* Threads and open fds when an input starts; fuzz_resources_check() at its end. */
struct fuzz_resources {
	unsigned int threads, fds;
};

static inline void fuzz_resources_take(struct fuzz_resources *r)
{
	r->threads = fuzz_count_threads();
	r->fds = fuzz_count_dir("/proc/self/fd");
}

/* A thread the code under test started (a timer) or an fd it opened outlived the input. */
static inline void fuzz_resources_check(const struct fuzz_resources *r)
{
	struct fuzz_resources now;

	/*
	 * pthread_join() returns when the thread has cleared its tid, a moment before the kernel
	 * has reaped it from /proc/self/task: give a joined thread up to a second to go.
	 */
	fuzz_resources_take(&now);
	for (int i = 0; i < 10000 && now.threads > r->threads; i++) {
		usleep(100);
		now.threads = fuzz_count_threads();
	}
	/* fewer is fine: a thread of the fuzzer's own (or an earlier input's, being reaped) */
	FUZZ_CHECK(now.threads <= r->threads);
	FUZZ_CHECK(now.fds <= r->fds);
}

/* ---- loader parameters ---------------------------------------------------------------- */

/*
 * Kernel-image inputs may end in a 5-byte trailer "MV" cpus initrd flags choosing the rest of
 * the boot configuration: vCPU count (ACPI MADT and MP table size), an initrd of
 * initrd * 64 KiB (placement against wherever the kernel landed), and the boot protocol
 * (flags % 3: auto, linux64, pvh). Without the trailer: 1 vCPU, no initrd, auto. The trailer
 * stays part of the image (a loader must cope with trailing bytes anyway).
 */
struct fuzz_boot_params {
	unsigned int cpus;
	uint64_t initrd_size;
	unsigned int protocol;
};

#define FUZZ_TRAILER_LEN 5

static inline struct fuzz_boot_params fuzz_boot_params(const uint8_t *data, size_t size)
{
	struct fuzz_boot_params p = { .cpus = 1 };
	const uint8_t *t = data + size - FUZZ_TRAILER_LEN;

	if (size >= FUZZ_TRAILER_LEN && t[0] == 'M' && t[1] == 'V') {
		p.cpus = t[2] ? t[2] : 256;
		p.initrd_size = (uint64_t)t[3] * 64 * 1024;
		p.protocol = t[4] % 3;
	}
	return p;
}

/*
 * Diagnostics of rejected inputs are the common case: log only errors (run.sh drops even
 * those), and keep a descriptor for the harness's own reports. Call from
 * LLVMFuzzerInitialize.
 */
static inline void fuzz_quiet(void)
{
	int fd = fcntl(2, F_DUPFD_CLOEXEC, 10);

	if (fd >= 0)
		fuzz_report_fd = fd;
	log_level = LOG_ERROR;
}

/* The LLVMFuzzerInitialize of a harness that needs nothing but fuzz_quiet(). */
#define FUZZ_QUIET_INITIALIZE()                           \
	int LLVMFuzzerInitialize(int *argc, char ***argv) \
	{                                                 \
		(void)argc, (void)argv;                   \
		fuzz_quiet();                             \
		return 0;                                 \
	}

#endif
