// SPDX-License-Identifier: MIT
/*
 * Per-thread seccomp filters (libseccomp), io_uring restrictions, --user and inherited fds.
 * The contract is in sandbox.h; the allow lists are the tables below: one table per group of
 * needs, each entry saying who needs it, and one list of groups per role (roles[]), plus the
 * io_uring opcodes per role (uring_roles[]). To let a role do something new, add an entry to
 * the group that owns it (or a new group, listed in the role): nothing else changes. The
 * filter tests the entries in table order, the role's first group first.
 *
 * Argument filters: ioctl is allowed by request number only (the fd is not checked: KVM's
 * numbers mean nothing to other files), compared on the low 32 bits as the kernel does; mmap
 * and mprotect never with PROT_EXEC; fallocate only punches holes; madvise only with the
 * advice malloc and the discard path use; tgkill only at this process; rt_sigaction only for
 * SIGABRT (abort()); newfstatat only on an fd (AT_EMPTY_PATH). One quiet refusal: read-only
 * openat fails with EACCES (libc's lazy probes of /proc, see runtime_rules).
 *
 * Not allowed in any role, for instance: any other open, socket, connect, execve, fork/clone
 * (threads are created before filtering), ptrace, mount, bpf, setuid, prctl, seccomp,
 * io_uring_setup (a new ring would be unrestricted), KVM_CREATE_*, KVM_SET_CPUID2.
 *
 * A forbidden call in mode on traps into sandbox_sigsys() below; everything it uses is
 * async-signal-safe: write(2), tcsetattr(3), exit_group(2), and strings prepared when the
 * first filter was built (syscall names from libseccomp, the thread's role and name in TLS).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/falloc.h>
#include <liburing.h>
#include <pthread.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#include "kvm.h"
#include "log.h"
#include "sandbox.h"

/* termios2 requests (glibc >= 2.42 may use them for tcgetattr/tcsetattr), x86 values. */
#define SANDBOX_TCGETS2 0x802c542aul
#define SANDBOX_TCSETS2 0x402c542bul
#define SANDBOX_TCSETSW2 0x402c542cul
#define SANDBOX_TCSETSF2 0x402c542dul

/* ---- rules ------------------------------------------------------------------------------ */

enum arg_value {
	VALUE_CONST,
	VALUE_SELF_PID, /* the value is getpid(), filled in when the filter is built */
};

struct arg_rule {
	uint8_t arg;		/* syscall argument index, 0-5 */
	enum scmp_compare op;	/* SCMP_CMP_EQ or SCMP_CMP_MASKED_EQ */
	uint64_t a, b;		/* EQ: a = value; MASKED_EQ: a = mask, b = value */
	enum arg_value dynamic; /* VALUE_SELF_PID replaces a (EQ) */
};

struct rule {
	int nr;	     /* SCMP_SYS(name); a negative pseudo number when this arch lacks it */
	int nr_args; /* 0: any arguments */
	struct arg_rule args[2];
	int deny_errno; /* 0: allowed; else it fails with this errno in mode on (logged in log) */
};

/* clang-format off */
#define ALLOW(name) { .nr = SCMP_SYS(name) }
#define ALLOW_EQ(name, n, v) \
	{ .nr = SCMP_SYS(name), .nr_args = 1, .args = { { (n), SCMP_CMP_EQ, (v), 0 } } }
#define ALLOW_MASKED(name, n, mask, v) \
	{ .nr = SCMP_SYS(name), .nr_args = 1, .args = { { (n), SCMP_CMP_MASKED_EQ, (mask), (v) } } }
/* ioctl by request number: the kernel only looks at the low 32 bits of it */
#define IOCTL(req) ALLOW_MASKED(ioctl, 1, 0xffffffffull, (uint64_t)(req))
/* argument n is this process's pid */
#define ALLOW_SELF(name, n) \
	{ .nr = SCMP_SYS(name), .nr_args = 1, .args = { { (n), SCMP_CMP_EQ, 0, 0, VALUE_SELF_PID } } }
/* fails with errno e instead of stopping minivmm (mode on) */
#define DENY_EQ(name, n, v, e) \
	{ .nr = SCMP_SYS(name), .nr_args = 1, .args = { { (n), SCMP_CMP_EQ, (v), 0 } }, .deny_errno = (e) }
#define GROUP(n, table) { (n), (table), sizeof(table) / sizeof((table)[0]) }
/* clang-format on */

struct rule_group {
	const char *name;
	const struct rule *rules;
	size_t nr_rules;
};

/*
 * runtime: what libc and the thread machinery do in any role after set-up.
 */
static const struct rule runtime_rules[] = {
	ALLOW(exit),		/* a thread returning from its start function */
	ALLOW(exit_group),	/* exit(), _exit(); the SIGSYS handler's exit */
	ALLOW(rt_sigreturn),	/* return from a signal handler: vCPU kicks (SIGUSR1) */
	ALLOW(restart_syscall), /* the kernel restarting a sleep interrupted by a kick */
	ALLOW(rt_sigprocmask),	/* pthread_sigmask; pthread_kill and abort block signals */
	ALLOW_EQ(rt_sigaction, 0, SIGABRT), /* abort() resets SIGABRT before raising it again */
	ALLOW(futex),	      /* mutexes, rwlocks, condvars, pthread_once, pthread_join */
	ALLOW(sched_yield),   /* gpc refresh waiting for an invalidation (gpc.c) */
	ALLOW(clock_gettime), /* time stamps: the vDSO falls back to the syscall on */
	ALLOW(clock_getres),  /* hosts whose clock source it cannot read */
	ALLOW(gettimeofday),
	ALLOW(time),
	ALLOW(clock_nanosleep), /* short sleeps (usleep, nanosleep) */
	ALLOW(nanosleep),
	ALLOW(getpid), /* pthread_kill, raise: tgkill(getpid(), tid, sig) */
	ALLOW(gettid),
	ALLOW_SELF(tgkill, 0), /* vcpu_kick() (SIGUSR1), raise, abort: this process only */
	ALLOW(brk),	       /* malloc */
	ALLOW_MASKED(mmap, 2, PROT_EXEC, 0),	 /* malloc, thread arenas; never executable */
	ALLOW_MASKED(mprotect, 2, PROT_EXEC, 0), /* arenas growing; guest_mem_convert() */
	ALLOW(munmap),
	ALLOW(mremap),			     /* realloc of large blocks */
	ALLOW_EQ(madvise, 2, MADV_DONTNEED), /* free(), thread stacks at exit */
	ALLOW_EQ(madvise, 2, MADV_FREE),
	ALLOW_EQ(madvise, 2, MADV_HUGEPAGE), /* glibc.malloc.hugetlb */
	ALLOW_EQ(madvise, 2, MADV_REMOVE),   /* discard of anonymous guest RAM (guest_mem.c) */
	ALLOW(write),  /* console (stdout), diagnostics (stderr), --console-log, eventfds */
	ALLOW(writev), /* glibc's fatal messages (malloc corruption, assert) */
	/* stdio's first write to a stream: fstat (for its buffer size) and isatty */
	ALLOW(fstat),
	ALLOW_MASKED(newfstatat, 3, AT_EMPTY_PATH, AT_EMPTY_PATH),
	IOCTL(TCGETS),
	IOCTL(SANDBOX_TCGETS2),
	/* terminal restored: by the main thread at exit, by the SIGSYS handler in any thread */
	IOCTL(TCSETS),
	IOCTL(TCSETSW),
	IOCTL(TCSETSF),
	IOCTL(SANDBOX_TCSETS2),
	IOCTL(SANDBOX_TCSETSW2),
	IOCTL(SANDBOX_TCSETSF2),
	/*
	 * glibc opens /proc and /sys files lazily, read-only, and copes when it cannot: malloc
	 * reads /proc/sys/vm/overcommit_memory the first time a thread's heap shrinks, so the
	 * main thread does when it frees what a vCPU thread allocated. Such opens fail with
	 * EACCES (and an audit line); any other open stops minivmm.
	 */
	DENY_EQ(openat, 2, O_RDONLY | O_CLOEXEC, EACCES),
};

/* guest_memory: discards and private/shared conversions (guest_mem.c), from any thread that
 * serves a device or a hypercall: punch-hole on memfd/guest_memfd (madvise MADV_REMOVE and
 * mprotect of the access view are in runtime), KVM's copy of the page attributes. */
static const struct rule guest_memory_rules[] = {
	ALLOW_EQ(fallocate, 1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE),
	IOCTL(KVM_SET_MEMORY_ATTRIBUTES),
};

/* interrupts: device interrupts raised from where the device runs (serial THR/IER writes on
 * a vCPU thread, console input in the main loop), and the Xen timer thread's timerfd
 * (xen_sched.c), set by vCPUs arming timers, by that thread, and by a stop from anywhere. */
static const struct rule interrupt_rules[] = {
	IOCTL(KVM_IRQ_LINE),
	IOCTL(KVM_SIGNAL_MSI),
	ALLOW(timerfd_settime),
};

/* xen_timer: the Xen timer thread sleeps in read() on its timerfd. */
static const struct rule xen_timer_rules[] = {
	ALLOW(read),
};

/* vcpu: the KVM_RUN loop and what a vCPU's own exits need (vcpu.c). */
static const struct rule vcpu_rules[] = {
	IOCTL(KVM_RUN),
	IOCTL(KVM_GET_REGS),  /* vcpu_dump() after a fatal exit; hypercall arguments */
	IOCTL(KVM_SET_REGS),  /* hypercall results (Xen by port I/O without sync regs) */
	IOCTL(KVM_GET_SREGS), /* vcpu_dump(); paging mode for guest-virtual pointers */
	IOCTL(KVM_TRANSLATE), /* guest-virtual -> guest-physical (vcpu_dump, Xen pointers) */
};

/* xen: Xen HVM emulation (arch/x86/xen) on vCPU threads: hypercalls, time info. */
static const struct rule xen_rules[] = {
	IOCTL(KVM_GET_MSRS), /* the vCPU's TSC for vcpu_time_info (xen_kvm.c kvm_read_tsc) */
	/* the global callback vector, queued by the vCPU itself (kvm_vcpu_inject_external) */
	IOCTL(KVM_GET_MP_STATE),
	IOCTL(KVM_SET_MP_STATE),
	IOCTL(KVM_GET_VCPU_EVENTS),
	IOCTL(KVM_SET_VCPU_EVENTS),
};

/* event_loop: the main thread's io_uring loop (vm.c) and its shutdown. */
static const struct rule event_loop_rules[] = {
	ALLOW(io_uring_enter),		   /* submit, wait for completions */
	ALLOW(read),			   /* stdin, signalfd, eventfds after a poll completion */
	ALLOW(close),			   /* teardown: ring, signalfd, vCPU fds, backing fds */
	IOCTL(KVM_SET_USER_MEMORY_REGION), /* vm_destroy(): RAM slots removed */
	IOCTL(KVM_SET_USER_MEMORY_REGION2),
	ALLOW_EQ(getrusage, 0, RUSAGE_SELF), /* --stats: peak RSS */
};

/*
 * virtio: devices/virtio, served from the main loop: virtio-rng's entropy, ioeventfds and
 * irqfds deassigned at shutdown. The block I/O (and the final fsync of an image at exit)
 * goes through the hub's ring (uring_roles[]); the balloon's discards are guest_memory's.
 */
static const struct rule virtio_rules[] = {
	ALLOW(getrandom),
	IOCTL(KVM_IOEVENTFD),
	IOCTL(KVM_IRQFD),
};

/* io: a helper thread doing blocking I/O on fds opened for it (no such thread yet). */
static const struct rule io_rules[] = {
	ALLOW(read),
	ALLOW(readv),
	ALLOW(pread64),
	ALLOW(preadv),
	ALLOW(preadv2),
	ALLOW(pwrite64),
	ALLOW(pwritev),
	ALLOW(pwritev2),
	ALLOW(fsync),
	ALLOW(fdatasync),
	ALLOW(lseek),
	ALLOW(io_uring_enter),
	ALLOW_EQ(fallocate, 1, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE), /* discard */
	ALLOW_EQ(fallocate, 1, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE), /* write zeroes */
};

/*
 * sanitizer: ASan/TSan builds only: their runtimes swap signal stacks at thread exit and
 * advise their shadow memory. What they do to report (leak checks by ptrace, symbolizer
 * processes) is not allowed: these builds default to mode log (SANDBOX_DEFAULT_MODE).
 */
static const struct rule sanitizer_rules[] = {
	ALLOW(sigaltstack),
	ALLOW(madvise),
};

static const struct rule_group group_runtime = GROUP("runtime", runtime_rules);
static const struct rule_group group_sanitizer = GROUP("sanitizer", sanitizer_rules);
static const struct rule_group group_guest_memory = GROUP("guest memory", guest_memory_rules);
static const struct rule_group group_interrupts = GROUP("interrupts", interrupt_rules);
static const struct rule_group group_vcpu = GROUP("vcpu", vcpu_rules);
static const struct rule_group group_event_loop = GROUP("event loop", event_loop_rules);
static const struct rule_group group_xen = GROUP("xen", xen_rules);
static const struct rule_group group_xen_timer = GROUP("xen timer", xen_timer_rules);
static const struct rule_group group_virtio = GROUP("virtio", virtio_rules);
static const struct rule_group group_io = GROUP("io", io_rules);

#define MAX_GROUPS 8

/*
 * The roles: which groups each role's filter allows, and the syscall to test first (its hot
 * path: KVM_RUN for a vCPU, io_uring_enter for the loop).
 *   main:  the event loop, the devices it serves (console input -> serial IRQ, virtio),
 *          discards it may do for devices (balloon), the shutdown path (vm_destroy, --stats).
 *   vCPU:  KVM_RUN, port I/O and MMIO handlers (they write to stdout and log files and raise
 *          IRQs), discards/conversions (testdev, KVM_HC_MAP_GPA_RANGE, memory faults, Xen
 *          decrease_reservation), Xen hypercalls (block/poll sleep on a futex).
 *   timer: sleeps on a timerfd, raises interrupts (the Xen single-shot timers, xen_sched.c).
 *   I/O:   blocking reads/writes/syncs on already-open fds.
 */
static const struct {
	const char *name;
	const struct rule_group *groups[MAX_GROUPS];
	int hot_nr;
} roles[SANDBOX_NR_ROLES] = {
	[SANDBOX_ROLE_MAIN] = { "main",
				{ &group_event_loop, &group_interrupts, &group_guest_memory,
				  &group_virtio, &group_runtime },
				SCMP_SYS(io_uring_enter) },
	[SANDBOX_ROLE_VCPU] = { "vCPU",
				{ &group_vcpu, &group_interrupts, &group_guest_memory, &group_xen,
				  &group_runtime },
				SCMP_SYS(ioctl) },
	[SANDBOX_ROLE_TIMER] = { "timer",
				 { &group_xen_timer, &group_interrupts, &group_runtime },
				 SCMP_SYS(read) },
	[SANDBOX_ROLE_IO] = { "I/O", { &group_io, &group_runtime }, SCMP_SYS(io_uring_enter) },
};

/*
 * io_uring: operations submitted to a ring never pass through seccomp, so in mode on a ring
 * only takes its role's opcodes and SQE flags, and no register operation after set-up.
 *   main: the event loop's ring (vm.c): POLL_ADD (stdin, signalfd, stop eventfd), TIMEOUT
 *         (--timeout), cancelling them; the virtio hub's ring (devices/virtio): READ of the
 *         queue notification eventfds, READ, WRITE, FSYNC, FALLOCATE on registered image
 *         files, WRITE and POLL_ADD (POLLOUT) on the virtio-console's sink, and FILES_UPDATE
 *         to register an image or a sink.
 *   I/O:  file reads, writes, syncs and fallocate on registered files.
 *   vCPU, timer: none (they drive no ring).
 */
static const struct {
	uint8_t ops[16];
	int nr_ops;
	uint8_t sqe_flags;
	uint8_t register_ops[8];
	int nr_register_ops;
} uring_roles[SANDBOX_NR_ROLES] = {
	[SANDBOX_ROLE_MAIN] = { { IORING_OP_POLL_ADD, IORING_OP_POLL_REMOVE, IORING_OP_TIMEOUT,
				  IORING_OP_TIMEOUT_REMOVE, IORING_OP_ASYNC_CANCEL, IORING_OP_READ,
				  IORING_OP_WRITE, IORING_OP_FSYNC, IORING_OP_FALLOCATE },
				9,
				IOSQE_FIXED_FILE,
				{ IORING_REGISTER_FILES_UPDATE },
				1 },
	[SANDBOX_ROLE_IO] = { { IORING_OP_READV, IORING_OP_WRITEV, IORING_OP_READ, IORING_OP_WRITE,
				IORING_OP_FSYNC, IORING_OP_FALLOCATE },
			      6,
			      IOSQE_FIXED_FILE },
};

/* ---- names for the SIGSYS message -------------------------------------------------------- */

#define MAX_SYSCALL_NR 512

static const char *syscall_names[MAX_SYSCALL_NR]; /* from libseccomp, at first use */

/* clang-format off */
#define IOCTL_NAME(x) { x, #x }
/* clang-format on */
static const struct {
	unsigned long req;
	const char *name;
} ioctl_names[] = {
	IOCTL_NAME(KVM_RUN),
	IOCTL_NAME(KVM_GET_REGS),
	IOCTL_NAME(KVM_SET_REGS),
	IOCTL_NAME(KVM_GET_SREGS),
	IOCTL_NAME(KVM_SET_SREGS),
	IOCTL_NAME(KVM_TRANSLATE),
	IOCTL_NAME(KVM_INTERRUPT),
	IOCTL_NAME(KVM_GET_MSRS),
	IOCTL_NAME(KVM_SET_MSRS),
	IOCTL_NAME(KVM_SET_CPUID2),
	IOCTL_NAME(KVM_GET_LAPIC),
	IOCTL_NAME(KVM_SET_LAPIC),
	IOCTL_NAME(KVM_GET_VCPU_EVENTS),
	IOCTL_NAME(KVM_SET_VCPU_EVENTS),
	IOCTL_NAME(KVM_GET_MP_STATE),
	IOCTL_NAME(KVM_SET_MP_STATE),
	IOCTL_NAME(KVM_NMI),
	IOCTL_NAME(KVM_IRQ_LINE),
	IOCTL_NAME(KVM_IRQ_LINE_STATUS),
	IOCTL_NAME(KVM_SIGNAL_MSI),
	IOCTL_NAME(KVM_IRQFD),
	IOCTL_NAME(KVM_IOEVENTFD),
	IOCTL_NAME(KVM_SET_GSI_ROUTING),
	IOCTL_NAME(KVM_SET_USER_MEMORY_REGION),
	IOCTL_NAME(KVM_SET_USER_MEMORY_REGION2),
	IOCTL_NAME(KVM_SET_MEMORY_ATTRIBUTES),
	IOCTL_NAME(KVM_CREATE_GUEST_MEMFD),
	IOCTL_NAME(KVM_CREATE_VM),
	IOCTL_NAME(KVM_CREATE_VCPU),
	IOCTL_NAME(KVM_CHECK_EXTENSION),
	IOCTL_NAME(KVM_ENABLE_CAP),
	IOCTL_NAME(KVM_GET_CLOCK),
	IOCTL_NAME(KVM_SET_CLOCK),
	IOCTL_NAME(KVM_XEN_HVM_CONFIG),
	IOCTL_NAME(KVM_XEN_HVM_GET_ATTR),
	IOCTL_NAME(KVM_XEN_HVM_SET_ATTR),
	IOCTL_NAME(KVM_XEN_VCPU_GET_ATTR),
	IOCTL_NAME(KVM_XEN_VCPU_SET_ATTR),
	IOCTL_NAME(KVM_XEN_HVM_EVTCHN_SEND),
	IOCTL_NAME(KVM_X86_SET_MSR_FILTER),
	IOCTL_NAME(TCGETS),
	IOCTL_NAME(TCSETS),
	IOCTL_NAME(FIONBIO),
	IOCTL_NAME(FIONREAD),
};

/* ---- per-thread and process state ---------------------------------------------------------- */

static __thread int thread_role = -1;
static __thread char thread_name[16];

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_error;
/* libseccomp probes the kernel into unlocked globals: one thread builds a filter at a time */
static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER;

static enum sandbox_mode process_mode = SANDBOX_OFF;

#define MAX_USER_GROUPS 64

/* --user, resolved by sandbox_set_user() before any thread exists */
static struct {
	bool set;
	char spec[256];
	uid_t uid;
	gid_t gid;
	gid_t groups[MAX_USER_GROUPS];
	int nr_groups;
} user;

static struct termios tty_saved;
static atomic_int tty_fd = -1;

const char *sandbox_role_name(enum sandbox_role role)
{
	return (unsigned int)role < SANDBOX_NR_ROLES ? roles[role].name : "?";
}

int sandbox_thread_role(void)
{
	return thread_role;
}

static const char *const mode_names[] = {
	[SANDBOX_OFF] = "off",
	[SANDBOX_LOG] = "log",
	[SANDBOX_ON] = "on",
};

const char *sandbox_mode_name(enum sandbox_mode mode)
{
	return (unsigned int)mode <= SANDBOX_ON ? mode_names[mode] : "?";
}

int sandbox_mode_parse(const char *s, enum sandbox_mode *out)
{
	for (unsigned int i = 0; i <= SANDBOX_ON; i++) {
		if (s && !strcmp(s, mode_names[i])) {
			*out = (enum sandbox_mode)i;
			return 0;
		}
	}
	return -1;
}

void sandbox_set_mode(enum sandbox_mode mode)
{
	process_mode = mode;
}

enum sandbox_mode sandbox_get_mode(void)
{
	return process_mode;
}

void sandbox_set_terminal(int fd, const struct termios *saved)
{
	atomic_store(&tty_fd, -1);
	if (!saved)
		return;
	tty_saved = *saved;
	atomic_store(&tty_fd, fd);
}

/* ---- the SIGSYS handler: async-signal-safe only ------------------------------------------ */

struct msg {
	char buf[512];
	size_t len;
};

static void msg_str(struct msg *m, const char *s)
{
	while (*s && m->len < sizeof(m->buf) - 1)
		m->buf[m->len++] = *s++;
}

static void msg_num(struct msg *m, unsigned long long v, unsigned int base)
{
	char tmp[24];
	int n = 0;

	if (base == 16)
		msg_str(m, "0x");
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n && m->len < sizeof(m->buf) - 1)
		m->buf[m->len++] = tmp[--n];
}

static void sandbox_sigsys(int sig, siginfo_t *si, void *ucontext)
{
	const ucontext_t *uc = ucontext;
	int nr = si->si_syscall;
	bool native = si->si_arch == AUDIT_ARCH_X86_64;
	unsigned long long args[3] = { 0 };
	struct msg m = { .len = 0 };
	int saved_errno = errno, fd;

	(void)sig;
#ifdef __x86_64__
	args[0] = (unsigned long long)uc->uc_mcontext.gregs[REG_RDI];
	args[1] = (unsigned long long)uc->uc_mcontext.gregs[REG_RSI];
	args[2] = (unsigned long long)uc->uc_mcontext.gregs[REG_RDX];
#else
	(void)uc;
#endif
	msg_str(&m, "minivmm: seccomp: ");
	msg_str(&m, thread_role >= 0 ? roles[thread_role].name : "unsandboxed");
	msg_str(&m, " thread made forbidden syscall ");
	msg_str(&m, native && nr >= 0 && nr < MAX_SYSCALL_NR && syscall_names[nr]
			    ? syscall_names[nr]
			    : "?");
	msg_str(&m, " (nr ");
	msg_num(&m, (unsigned int)nr, 10);
	if (!native) {
		msg_str(&m, ", arch ");
		msg_num(&m, si->si_arch, 16);
	}
	if (native && nr == SCMP_SYS(ioctl)) {
		for (size_t i = 0; i < sizeof(ioctl_names) / sizeof(ioctl_names[0]); i++) {
			if (ioctl_names[i].req == (args[1] & 0xffffffffull)) {
				msg_str(&m, ", ");
				msg_str(&m, ioctl_names[i].name);
			}
		}
	}
	msg_str(&m, ", args ");
	for (int i = 0; i < 3; i++) {
		msg_str(&m, i ? ", " : "");
		msg_num(&m, args[i], 16);
	}
	msg_str(&m, ")");
	if (thread_name[0]) {
		msg_str(&m, " in thread ");
		msg_str(&m, thread_name);
	}
	msg_str(&m, "; stopping (exit status 159; --seccomp=log allows and logs instead)\n");
	if (write(STDERR_FILENO, m.buf, m.len) < 0)
		errno = saved_errno;
	fd = atomic_load(&tty_fd);
	if (fd >= 0)
		tcsetattr(fd, TCSANOW, &tty_saved);
	/* the raw syscall: sanitizers intercept _exit() to run their leak check first */
	syscall(SYS_exit_group, SANDBOX_EXIT_STATUS);
	_exit(SANDBOX_EXIT_STATUS);
}

/* Once per process: syscall names for the handler, and the handler itself. */
static void sandbox_init(void)
{
	struct sigaction sa = { .sa_sigaction = sandbox_sigsys, .sa_flags = SA_SIGINFO };

	seccomp_api_get(); /* the kernel probes, once */
	for (int nr = 0; nr < MAX_SYSCALL_NR; nr++)
		syscall_names[nr] = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	if (process_mode == SANDBOX_LOG)
		pr_info("seccomp: mode log: forbidden syscalls are allowed, and logged by the "
			"kernel (dmesg or the audit log: type=1326 ... syscall=N)");
	sigfillset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		init_error = errno;
		pr_err("seccomp: installing the SIGSYS handler: %s", strerror(errno));
	}
}

/* ---- building and loading a filter ------------------------------------------------------------ */

static int add_rule(scmp_filter_ctx ctx, const struct rule *r, enum sandbox_mode mode)
{
	uint32_t action = SCMP_ACT_ALLOW;
	struct scmp_arg_cmp cmp[2];

	if (r->nr < 0)
		return 0; /* not a syscall on this architecture (e.g. time on some) */
	if (r->deny_errno) {
		if (mode != SANDBOX_ON)
			return 0; /* the default action, LOG, lets it through */
		action = SCMP_ACT_ERRNO((uint32_t)r->deny_errno);
	}
	for (int i = 0; i < r->nr_args; i++) {
		const struct arg_rule *a = &r->args[i];

		cmp[i] = (struct scmp_arg_cmp){
			.arg = a->arg, .op = a->op, .datum_a = a->a, .datum_b = a->b
		};
		if (a->dynamic == VALUE_SELF_PID)
			cmp[i].datum_a = (uint64_t)getpid();
	}
	return seccomp_rule_add_array(ctx, action, r->nr, (unsigned int)r->nr_args, cmp);
}

static scmp_filter_ctx build_filter(enum sandbox_role role, enum sandbox_mode mode)
{
	uint32_t deny = mode == SANDBOX_ON ? SCMP_ACT_TRAP : SCMP_ACT_LOG;
	scmp_filter_ctx ctx = seccomp_init(deny);
	int err = 0;

	if (!ctx) {
		pr_err("seccomp: seccomp_init failed (does this kernel and libseccomp offer %s?)",
		       mode == SANDBOX_ON ? "SCMP_ACT_TRAP" : "SCMP_ACT_LOG");
		return NULL;
	}
	/* this thread only, and NO_NEW_PRIVS is set by sandbox_apply() itself */
	err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 0);
	err = err ?: seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	err = err ?: seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, deny);
	/* an audit line for trapped calls too (kernels and libseccomp that can) */
	if (!err && mode == SANDBOX_ON && seccomp_api_get() >= 3)
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	/* binary tree of syscall numbers: the filter runs on every syscall, KVM_RUN included */
	if (!err)
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	/*
	 * libseccomp tests the rules of one syscall in the reverse order of their addition: add
	 * everything backwards, so that the filter tests the tables top down (KVM_RUN first).
	 */
	for (int g = MAX_GROUPS + SANDBOX_SANITIZED - 1; !err && g >= 0; g--) {
		const struct rule_group *grp =
			g < MAX_GROUPS ? roles[role].groups[g] : &group_sanitizer;

		for (size_t i = grp ? grp->nr_rules : 0; !err && i-- > 0;) {
			err = add_rule(ctx, &grp->rules[i], mode);
			if (err)
				pr_err("seccomp: %s role, %s group, rule %zu (syscall %d): %s",
				       roles[role].name, grp->name, i, grp->rules[i].nr,
				       strerror(-err));
		}
	}
	/*
	 * --user: glibc makes every thread switch its ids, with a signal; allow exactly the
	 * target ids (with those, even a thread still running as root gains nothing)
	 */
	if (!err && user.set)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setgroups), 1,
				       SCMP_A0(SCMP_CMP_EQ, (uint64_t)user.nr_groups)) ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setresgid), 3,
				       SCMP_A0(SCMP_CMP_EQ, user.gid), SCMP_A1(SCMP_CMP_EQ, user.gid),
				       SCMP_A2(SCMP_CMP_EQ, user.gid)) ?:
		      seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setresuid), 3,
				       SCMP_A0(SCMP_CMP_EQ, user.uid), SCMP_A1(SCMP_CMP_EQ, user.uid),
				       SCMP_A2(SCMP_CMP_EQ, user.uid));
	if (!err)
		seccomp_syscall_priority(ctx, roles[role].hot_nr, 255);
	if (err) {
		seccomp_release(ctx);
		return NULL;
	}
	return ctx;
}

int sandbox_apply(enum sandbox_role role)
{
	enum sandbox_mode mode = process_mode;
	scmp_filter_ctx ctx;
	sigset_t sigsys;
	void *warm;
	int err;

	if (mode == SANDBOX_OFF)
		return 0;
	if ((unsigned int)role >= SANDBOX_NR_ROLES || (mode != SANDBOX_LOG && mode != SANDBOX_ON)) {
		pr_err("seccomp: bad role %d or mode %d", role, mode);
		return -1;
	}
	if (thread_role >= 0) {
		pr_err("seccomp: this thread already has the %s filter", roles[thread_role].name);
		return -1;
	}
	pthread_once(&init_once, sandbox_init);
	if (init_error)
		return -1;

	/*
	 * Do the lazy first-use work of libc now, while it may still: the thread's malloc arena
	 * (glibc sizes the arena limit with sched_getaffinity on first use).
	 */
	warm = malloc(64);
	free(warm);
	if (prctl(PR_GET_NAME, thread_name, 0, 0, 0) < 0)
		thread_name[0] = '\0';

	pthread_mutex_lock(&build_lock);
	ctx = build_filter(role, mode);
	pthread_mutex_unlock(&build_lock);
	if (!ctx)
		return -1;
	if (mode == SANDBOX_ON) { /* a blocked SIGSYS would kill without the message */
		sigemptyset(&sigsys);
		sigaddset(&sigsys, SIGSYS);
		pthread_sigmask(SIG_UNBLOCK, &sigsys, NULL);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		pr_err("seccomp: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		seccomp_release(ctx);
		return -1;
	}
	thread_role = role; /* before the load: the handler names the role */
	err = seccomp_load(ctx);
	seccomp_release(ctx);
	if (err) {
		thread_role = -1;
		pr_err("seccomp: loading the %s thread's filter: %s (--seccomp=off runs without)",
		       roles[role].name, strerror(-err));
		return -1;
	}
	pr_debug("seccomp: %s thread %s filtered (mode %s)", roles[role].name, thread_name,
		 mode_names[mode]);
	return 0;
}

/* ---- io_uring ------------------------------------------------------------------------------- */

int sandbox_io_uring_init(struct io_uring *ring, unsigned int entries, enum sandbox_role role)
{
	struct io_uring_params p = { .flags = IORING_SETUP_R_DISABLED };

	if (process_mode != SANDBOX_ON || (unsigned int)role >= SANDBOX_NR_ROLES)
		return io_uring_queue_init(entries, ring, 0);
	return io_uring_queue_init_params(entries, ring, &p);
}

int sandbox_io_uring_enable(struct io_uring *ring, enum sandbox_role role)
{
	struct io_uring_restriction res[32] = { { 0 } };
	unsigned int n = 0;
	int err = 0;

	if (!(ring->flags & IORING_SETUP_R_DISABLED))
		return 0; /* mode log or off: an ordinary ring */
	if ((unsigned int)role >= SANDBOX_NR_ROLES)
		return -EINVAL;
	for (int i = 0; i < uring_roles[role].nr_ops; i++) {
		res[n].opcode = IORING_RESTRICTION_SQE_OP;
		res[n++].sqe_op = uring_roles[role].ops[i];
	}
	res[n].opcode = IORING_RESTRICTION_SQE_FLAGS_ALLOWED;
	res[n++].sqe_flags = uring_roles[role].sqe_flags;
	for (int i = 0; i < uring_roles[role].nr_register_ops; i++) {
		res[n].opcode = IORING_RESTRICTION_REGISTER_OP;
		res[n++].register_op = uring_roles[role].register_ops[i];
	}
	/* the raw syscall: liburing 2.3's shared library lacks io_uring_register_restrictions */
	if (syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_RESTRICTIONS, res, n) <
		    0 ||
	    syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) <
		    0)
		err = -errno;
	if (err) {
		pr_err("io_uring: restricting the %s thread's ring: %s (--seccomp=log runs without)",
		       roles[role].name, strerror(-err));
		io_uring_queue_exit(ring);
		return err;
	}
	ring->flags &= ~IORING_SETUP_R_DISABLED;
	return 0;
}

/* ---- fds and privileges ------------------------------------------------------------------- */

void sandbox_close_inherited_fds(void)
{
	DIR *dir;
	struct dirent *de;
	int fds[256], n;

#ifdef SYS_close_range
	if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
		return;
#endif
	/* before Linux 5.9: what /proc/self/fd lists, a batch at a time (closing while reading
	 * the directory would skip entries) */
	do {
		n = 0;
		dir = opendir("/proc/self/fd");
		if (!dir)
			return;
		while ((de = readdir(dir)) && n < (int)(sizeof(fds) / sizeof(fds[0]))) {
			int fd = atoi(de->d_name);

			if (fd > 2 && fd != dirfd(dir))
				fds[n++] = fd;
		}
		closedir(dir);
		for (int i = 0; i < n; i++)
			close(fds[i]);
	} while (n == (int)(sizeof(fds) / sizeof(fds[0])));
}

static int parse_id(const char *s, size_t len, unsigned long *out)
{
	char *end;

	if (!len || len > 10 || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || (size_t)(end - s) != len || *out >= 0xffffffffu ? -1 : 0;
}

int sandbox_set_user(const char *spec)
{
	const char *colon = strchr(spec, ':');
	unsigned long uid, gid;
	struct passwd *pw;

	if (colon) {
		if (parse_id(spec, (size_t)(colon - spec), &uid) ||
		    parse_id(colon + 1, strlen(colon + 1), &gid)) {
			pr_err("--user %s: expected a user name or UID:GID", spec);
			return -1;
		}
		user.groups[0] = (gid_t)gid;
		user.nr_groups = 1;
	} else {
		errno = 0;
		pw = getpwnam(spec);
		if (!pw) {
			pr_err("--user %s: %s", spec, errno ? strerror(errno) : "no such user");
			return -1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		user.nr_groups = MAX_USER_GROUPS;
		if (getgrouplist(spec, (gid_t)gid, user.groups, &user.nr_groups) < 0) {
			pr_err("--user %s: in more than %d groups", spec, MAX_USER_GROUPS);
			return -1;
		}
	}
	user.uid = (uid_t)uid;
	user.gid = (gid_t)gid;
	snprintf(user.spec, sizeof(user.spec), "%s", spec);
	user.set = true;
	return 0;
}

int sandbox_drop_privileges(void)
{
	if (!user.set)
		return 0;
	if (getuid() == user.uid && geteuid() == user.uid && getgid() == user.gid &&
	    getegid() == user.gid && user.uid != 0)
		return 0; /* already that user, and without the rights to change groups */
	/* glibc makes every thread do each of these (their filters allow exactly these ids) */
	if (setgroups((size_t)user.nr_groups, user.groups)) {
		pr_err("--user %s: setting the supplementary groups: %s%s", user.spec,
		       strerror(errno), errno == EPERM ? " (dropping privileges needs root)" : "");
		return -1;
	}
	if (setresgid(user.gid, user.gid, user.gid) || setresuid(user.uid, user.uid, user.uid)) {
		pr_err("--user %s: switching to uid %u gid %u: %s", user.spec, user.uid, user.gid,
		       strerror(errno));
		return -1;
	}
	/* this thread only (raw syscalls): root must be gone for good */
	if (user.uid != 0 && (syscall(SYS_setresuid, -1, 0, -1) == 0 ||
			      syscall(SYS_setresgid, -1, 0, -1) == 0 || getuid() != user.uid)) {
		pr_err("--user %s: root could be regained after dropping it", user.spec);
		return -1;
	}
	pr_info("running as uid %u gid %u (--user %s)", user.uid, user.gid, user.spec);
	return 0;
}
