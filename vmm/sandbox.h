/* SPDX-License-Identifier: MIT */
/*
 * The sandbox: a seccomp filter per thread role, io_uring rings restricted to the opcodes their
 * role submits, dropping privileges (--user) and closing inherited file descriptors.
 *
 * Per thread, never process-wide: each thread calls sandbox_apply() for its own role once its
 * set-up is done and before it touches guest input. NO_NEW_PRIVS is set and the filter loaded
 * by the calling thread only (no SECCOMP_FILTER_FLAG_TSYNC). A thread created afterwards by a
 * filtered thread inherits that filter (and may add its own, which can only narrow it), so
 * threads are created before their creator is filtered: vm_run() starts the vCPU threads
 * first, then filters the main thread; helper threads started during set-up (the Xen timer
 * thread) filter themselves.
 *
 * Every role's allow list is in sandbox.c, with who needs each entry; extend a role there.
 *
 * Modes (--seccomp, [machine] seccomp), one per process, set by sandbox_set_mode() before the
 * first thread starts; until then it is off (unit tests, `minivmm test`, `minivmm caps`):
 *   on   (minivmm run's default) a forbidden syscall stops minivmm: the thread gets SIGSYS
 *        (SCMP_ACT_TRAP), the handler prints
 *          minivmm: seccomp: vCPU thread made forbidden syscall socket (nr 41, args ...) ...
 *        restores the terminal and exits with status SANDBOX_EXIT_STATUS (159 = 128 + SIGSYS,
 *        what a shell shows for a process killed by SIGSYS; the kernel also writes an audit
 *        line). io_uring rings only accept their role's opcodes.
 *   log  forbidden syscalls are allowed and the kernel logs each one (SCMP_ACT_LOG: dmesg or
 *        the audit log, "type=1326 ... syscall=N"): to find what a new feature needs.
 *   off  no filter.
 */
#ifndef MINIVMM_SANDBOX_H
#define MINIVMM_SANDBOX_H

#include <stdbool.h>

struct io_uring;
struct termios;

enum sandbox_mode {
	SANDBOX_OFF,
	SANDBOX_LOG,
	SANDBOX_ON,
};

enum sandbox_role {
	SANDBOX_ROLE_MAIN,  /* main thread: event loop, devices served there, shutdown */
	SANDBOX_ROLE_VCPU,  /* a vCPU thread: KVM_RUN and the exits it handles itself */
	SANDBOX_ROLE_TIMER, /* sleeps, then raises guest interrupts (the Xen timer thread) */
	SANDBOX_ROLE_IO,    /* blocking I/O on fds opened for it (no such thread yet) */
	SANDBOX_NR_ROLES,
};

/* Exit status of a process stopped by a forbidden syscall in mode on: 128 + SIGSYS. */
#define SANDBOX_EXIT_STATUS 159

/*
 * The default of --seccomp: on, except in ASan/TSan builds, whose runtimes need what no
 * sandbox allows when they report (ptrace for the leak check, a symbolizer process): log.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANDBOX_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANDBOX_SANITIZED 1
#endif
#endif
#ifndef SANDBOX_SANITIZED
#define SANDBOX_SANITIZED 0
#endif
#define SANDBOX_DEFAULT_MODE (SANDBOX_SANITIZED ? SANDBOX_LOG : SANDBOX_ON)

int sandbox_mode_parse(const char *s, enum sandbox_mode *out);
const char *sandbox_mode_name(enum sandbox_mode mode);
const char *sandbox_role_name(enum sandbox_role role);

/* The process's mode: set once, before any thread is started. */
void sandbox_set_mode(enum sandbox_mode mode);
enum sandbox_mode sandbox_get_mode(void);

/*
 * Install the role's seccomp filter on the calling thread, in the process's mode (nothing in
 * mode off). Returns 0, or -1 after printing why: the thread is unfiltered and must not go
 * on to serve the guest.
 */
int sandbox_apply(enum sandbox_role role);

/* The role the calling thread's filter was built for, or -1 when it has none. */
int sandbox_thread_role(void);

/*
 * io_uring_queue_init() for a ring that threads of this role drive. In mode on the ring is
 * created disabled: register its files, buffers or eventfd, then sandbox_io_uring_enable()
 * restricts it to the role's opcodes, SQE flags and register operations
 * (IORING_REGISTER_RESTRICTIONS: io_uring operations bypass seccomp) and enables it; only
 * then can requests be submitted. Both return 0 or a negative errno (the ring is then gone).
 */
int sandbox_io_uring_init(struct io_uring *ring, unsigned int entries, enum sandbox_role role);
int sandbox_io_uring_enable(struct io_uring *ring, enum sandbox_role role);

/*
 * The terminal to put back (tcsetattr TCSANOW) if a forbidden syscall stops minivmm while
 * the terminal is in raw mode; NULL forgets it. The settings are copied.
 */
void sandbox_set_terminal(int fd, const struct termios *saved);

/* Close every fd above 2 (at start-up, before minivmm opens anything). */
void sandbox_close_inherited_fds(void);

/*
 * --user USER (a name: its uid, gid and groups; or UID:GID). sandbox_set_user() resolves it
 * at start-up, before any thread exists: every filter then allows switching to exactly these
 * ids, which glibc makes each thread do. sandbox_drop_privileges() switches for good (real,
 * effective and saved ids) once /dev/kvm and every file is open; without a user it does
 * nothing. Both return 0, or -1 after printing why.
 */
int sandbox_set_user(const char *user);
int sandbox_drop_privileges(void);

#endif
