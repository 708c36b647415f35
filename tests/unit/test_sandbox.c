// SPDX-License-Identifier: MIT
/*
 * The sandbox: each role's seccomp filter, installed by a thread for itself.
 *
 * A filter cannot be removed, so every case that installs one runs in a forked child; the
 * child reports through its exit status (and its stderr, collected through a pipe), the
 * parent asserts. Children end with the raw exit_group syscall: sanitizers intercept _exit()
 * to run their leak check, which a filter would (rightly) refuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/futex.h>
#include <liburing.h>
#include <linux/falloc.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../../vmm/kvm.h"
#include "../../vmm/sandbox.h"
#include "unit.h"

/* ---- running a case in a child ------------------------------------------------------------ */

struct child_result {
	int status; /* exit status, or 128 + signal */
	char err[4096];
};

static void child_exit(int code)
{
	syscall(SYS_exit_group, code);
	_exit(code);
}

/* Run fn in a forked child with stderr captured; fn returns the child's exit status. */
static void run_child(int (*fn)(void *), void *arg, struct child_result *r)
{
	int pipefd[2];
	size_t len = 0;
	ssize_t n;
	pid_t pid;
	int ws;

	assert_int_equal(pipe(pipefd), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipefd[0]);
		dup2(pipefd[1], STDERR_FILENO);
		close(pipefd[1]);
		child_exit(fn(arg));
	}
	close(pipefd[1]);
	while ((n = read(pipefd[0], r->err + len, sizeof(r->err) - 1 - len)) > 0)
		len += (size_t)n;
	r->err[len] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	/* a real death by SIGSYS would also read 159: the handler's message tells them apart */
	if (WIFSIGNALED(ws))
		fprintf(stderr, "child killed by signal %d; stderr: %s\n", WTERMSIG(ws), r->err);
	assert_false(WIFSIGNALED(ws));
}

static void assert_stopped(const struct child_result *r, const char *message)
{
	if (r->status != SANDBOX_EXIT_STATUS)
		fail_msg("exit status %d, expected %d; stderr: %s", r->status, SANDBOX_EXIT_STATUS,
			 r->err);
	assert_contains(r->err, message);
}

static void assert_clean_exit(const struct child_result *r)
{
	if (r->status != 0)
		fail_msg("child exit status %d; stderr: %s", r->status, r->err);
}

struct forbidden {
	enum sandbox_role role;
	enum sandbox_mode mode;
	int what;
};

enum {
	DO_SOCKET,
	DO_EXECVE,
	DO_IOCTL_CREATE_VM,
	DO_IOCTL_KVM_RUN,
	DO_MMAP_EXEC,
	DO_MPROTECT_EXEC,
	DO_FALLOCATE_ALLOCATE,
	DO_TGKILL_PARENT,
	DO_OPEN_WRITE,
	DO_SETUID,
};

static int do_forbidden(void *arg)
{
	const struct forbidden *f = arg;
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	int mfd = memfd_create("sandbox-test", MFD_CLOEXEC);
	char *const argv[] = { "true", NULL };
	pid_t parent = getppid();
	void *p;

	if (null_fd < 0 || mfd < 0 || ftruncate(mfd, 1 << 20))
		return 20;
	sandbox_set_mode(f->mode);
	if (sandbox_apply(f->role))
		return 21;
	switch (f->what) {
	case DO_SOCKET:
		return socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 22;
	case DO_EXECVE:
		execve("/bin/true", argv, NULL);
		return 22;
	case DO_IOCTL_CREATE_VM:
		ioctl(null_fd, KVM_CREATE_VM, 0);
		return 22;
	case DO_IOCTL_KVM_RUN:
		ioctl(null_fd, KVM_RUN, 0);
		return 22;
	case DO_MMAP_EXEC:
		p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		return p == MAP_FAILED ? 22 : 0;
	case DO_MPROTECT_EXEC:
		p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return 23;
		mprotect(p, 4096, PROT_READ | PROT_EXEC);
		return 22;
	case DO_FALLOCATE_ALLOCATE:
		fallocate(mfd, 0, 0, 4096);
		return 22;
	case DO_TGKILL_PARENT:
		syscall(SYS_tgkill, parent, parent, 0);
		return 22;
	case DO_OPEN_WRITE:
		open("/dev/null", O_WRONLY | O_CLOEXEC);
		return 22;
	case DO_SETUID:
		return setuid(0) == 0 ? 0 : 22;
	}
	return 24;
}

static void check_forbidden(enum sandbox_role role, int what, const char *message)
{
	struct forbidden f = { role, SANDBOX_ON, what };
	struct child_result r;

	run_child(do_forbidden, &f, &r);
	assert_stopped(&r, message);
}

/* ---- the vCPU role ----------------------------------------------------------------------- */

static void test_vcpu_socket_stops_minivmm(void **state)
{
	(void)state;
	check_forbidden(SANDBOX_ROLE_VCPU, DO_SOCKET,
			"minivmm: seccomp: vCPU thread made forbidden syscall socket (nr 41");
}

static void test_vcpu_execve_stops_minivmm(void **state)
{
	(void)state;
	check_forbidden(SANDBOX_ROLE_VCPU, DO_EXECVE,
			"minivmm: seccomp: vCPU thread made forbidden syscall execve (nr 59");
}

static void test_vcpu_ioctl_filtered_by_request(void **state)
{
	(void)state;
	check_forbidden(SANDBOX_ROLE_VCPU, DO_IOCTL_CREATE_VM,
			"forbidden syscall ioctl (nr 16, KVM_CREATE_VM, args ");
}

static void test_vcpu_no_executable_memory(void **state)
{
	(void)state;
	check_forbidden(SANDBOX_ROLE_VCPU, DO_MMAP_EXEC, "forbidden syscall mmap (nr 9");
	check_forbidden(SANDBOX_ROLE_VCPU, DO_MPROTECT_EXEC, "forbidden syscall mprotect (nr 10");
}

static void test_vcpu_argument_filters(void **state)
{
	(void)state;
	/* fallocate only punches holes; signals only to this process; no open for writing */
	check_forbidden(SANDBOX_ROLE_VCPU, DO_FALLOCATE_ALLOCATE,
			"forbidden syscall fallocate (nr 285, args ");
	check_forbidden(SANDBOX_ROLE_VCPU, DO_TGKILL_PARENT, "forbidden syscall tgkill (nr 234");
	check_forbidden(SANDBOX_ROLE_VCPU, DO_OPEN_WRITE, "forbidden syscall openat (nr 257");
	check_forbidden(SANDBOX_ROLE_VCPU, DO_SETUID, "forbidden syscall setuid (nr 105");
}

static volatile sig_atomic_t kicks;

static void kick_handler(int sig)
{
	(void)sig;
	kicks++;
}

static pthread_mutex_t test_lock = PTHREAD_MUTEX_INITIALIZER;

/* What a vCPU thread does; each failure has its own exit status. */
static int do_vcpu_allowed(void *arg)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	int mfd = memfd_create("sandbox-test", MFD_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec deadline = { .it_value = { 3600, 0 } };
	int pipefd[2];
	struct timespec ts;
	uint8_t *shared, *p;
	char *big;
	sigset_t set;

	(void)arg;
	sigemptyset(&sa.sa_mask);
	if (null_fd < 0 || mfd < 0 || tfd < 0 || ftruncate(mfd, 1 << 20) || pipe(pipefd) ||
	    sigaction(SIGUSR1, &sa, NULL))
		return 30;
	shared = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return 31;
	sandbox_set_mode(SANDBOX_ON);
	if (sandbox_apply(SANDBOX_ROLE_VCPU))
		return 32;
	if (sandbox_thread_role() != SANDBOX_ROLE_VCPU)
		return 33;
	/* KVM_RUN and KVM_TRANSLATE pass the filter (and /dev/null says ENOTTY) */
	if (ioctl(null_fd, KVM_RUN, 0) != -1 || errno != ENOTTY)
		return 34;
	if (ioctl(null_fd, KVM_TRANSLATE, NULL) != -1 || errno != ENOTTY)
		return 35;
	if (ioctl(null_fd, KVM_IRQ_LINE, NULL) != -1 || errno != ENOTTY)
		return 36;
	/* a Xen single-shot timer armed on this vCPU moves the timer thread's timerfd */
	if (timerfd_settime(tfd, 0, &deadline, NULL))
		return 49;
	if (isatty(pipefd[1])) /* TCGETS */
		return 37;
	/* console output and diagnostics */
	if (write(pipefd[1], "x", 1) != 1)
		return 38;
	/* time, yield, locks */
	if (clock_gettime(CLOCK_MONOTONIC, &ts) || syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts))
		return 39;
	if (sched_yield())
		return 40;
	pthread_mutex_lock(&test_lock);
	pthread_mutex_unlock(&test_lock);
	ts = (struct timespec){ 0, 1000 };
	if (nanosleep(&ts, NULL))
		return 41;
	/* a kick: pthread_kill -> tgkill, handler, rt_sigreturn */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (pthread_kill(pthread_self(), SIGUSR1) || kicks != 1)
		return 42;
	/* malloc, small and large, and memory that is not executable */
	big = malloc(8 << 20);
	if (!big)
		return 43;
	memset(big, 1, 8 << 20);
	free(big);
	free(malloc(100));
	p = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || mprotect(p, 4096, PROT_NONE) ||
	    mprotect(p, 4096, PROT_READ | PROT_WRITE) || madvise(p, 1 << 16, MADV_DONTNEED) ||
	    munmap(p, 1 << 16))
		return 44;
	/* the discard paths: punch-hole on a memfd, MADV_REMOVE on shared anonymous memory */
	if (fallocate(mfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096))
		return 45;
	shared[0] = 1;
	if (madvise(shared, 1 << 16, MADV_REMOVE) || shared[0] != 0)
		return 46;
	/* libc's own read-only probes fail quietly */
	if (open("/proc/sys/vm/overcommit_memory", O_RDONLY | O_CLOEXEC) != -1 || errno != EACCES)
		return 47;
	/* a second filter for the same thread is refused */
	if (sandbox_apply(SANDBOX_ROLE_MAIN) != -1)
		return 48;
	fprintf(stderr, "vcpu allowed calls done\n");
	return 0;
}

static void test_vcpu_allowed_calls_work(void **state)
{
	struct child_result r;

	(void)state;
	run_child(do_vcpu_allowed, NULL, &r);
	assert_clean_exit(&r);
	assert_contains(r.err, "vcpu allowed calls done");
}

/* ---- per thread, never process-wide ---------------------------------------------------------- */

struct thread_case {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int step;
	int apply_result;
};

static void step_wait(struct thread_case *c, int step)
{
	pthread_mutex_lock(&c->lock);
	while (c->step < step)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
}

static void step_set(struct thread_case *c, int step)
{
	pthread_mutex_lock(&c->lock);
	c->step = step;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void *vcpu_like_thread(void *arg)
{
	struct thread_case *c = arg;

	pthread_setname_np(pthread_self(), "vcpu7");
	c->apply_result = sandbox_apply(SANDBOX_ROLE_VCPU);
	step_set(c, 1);
	step_wait(c, 2);
	socket(AF_UNIX, SOCK_STREAM, 0); /* stops the whole process */
	return NULL;
}

static int do_thread_only(void *arg)
{
	struct thread_case c = { .lock = PTHREAD_MUTEX_INITIALIZER,
				 .cond = PTHREAD_COND_INITIALIZER };
	pthread_t t;
	int fd;

	(void)arg;
	sandbox_set_mode(SANDBOX_ON);
	if (pthread_create(&t, NULL, vcpu_like_thread, &c))
		return 50;
	step_wait(&c, 1);
	if (c.apply_result)
		return 51;
	/* this thread is not filtered: no TSYNC */
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0)
		return 52;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return 53;
	close(fd);
	step_set(&c, 2);
	pthread_join(t, NULL);
	return 54; /* not reached: the thread's socket() ends the process */
}

static void test_filter_is_per_thread(void **state)
{
	struct child_result r;

	(void)state;
	run_child(do_thread_only, NULL, &r);
	assert_stopped(&r, "minivmm: seccomp: vCPU thread made forbidden syscall socket (nr 41");
	assert_contains(r.err, "in thread vcpu7");
}

/* ---- the timer role (the Xen timer thread) ------------------------------------------------- */

static int do_timer_allowed(void *arg)
{
	int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec deadline = { .it_value = { 0, 1000000 } };
	uint64_t expirations = 0;

	(void)arg;
	sandbox_set_mode(SANDBOX_ON);
	if (null_fd < 0 || tfd < 0 || sandbox_apply(SANDBOX_ROLE_TIMER))
		return 110;
	/* arm the next deadline, sleep in read() until it passes, then raise the interrupt */
	if (timerfd_settime(tfd, 0, &deadline, NULL))
		return 111;
	if (read(tfd, &expirations, sizeof(expirations)) != sizeof(expirations) || !expirations)
		return 112;
	if (ioctl(null_fd, KVM_SIGNAL_MSI, NULL) != -1 || errno != ENOTTY)
		return 113;
	return 0;
}

static void test_timer_role(void **state)
{
	struct child_result r;

	(void)state;
	run_child(do_timer_allowed, NULL, &r);
	assert_clean_exit(&r);
	check_forbidden(
		SANDBOX_ROLE_TIMER, DO_IOCTL_KVM_RUN,
		"minivmm: seccomp: timer thread made forbidden syscall ioctl (nr 16, KVM_RUN");
	check_forbidden(SANDBOX_ROLE_TIMER, DO_EXECVE,
			"timer thread made forbidden syscall execve");
}

/* ---- the main role and its io_uring ---------------------------------------------------------- */

static int do_main_allowed(void *arg)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	int pipefd[2], null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	char c;

	(void)arg;
	sandbox_set_mode(SANDBOX_ON);
	if (null_fd < 0 || pipe(pipefd) || sandbox_io_uring_init(&ring, 8, SANDBOX_ROLE_MAIN) ||
	    sandbox_io_uring_enable(&ring, SANDBOX_ROLE_MAIN))
		return 60;
	if (sandbox_apply(SANDBOX_ROLE_MAIN))
		return 61;
	/* the event loop: poll, wait, read */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_poll_add(sqe, pipefd[0], POLLIN);
	if (io_uring_submit(&ring) != 1 || write(pipefd[1], "y", 1) != 1)
		return 62;
	if (io_uring_wait_cqe(&ring, &cqe) || !(cqe->res & POLLIN))
		return 63;
	io_uring_cqe_seen(&ring, cqe);
	if (read(pipefd[0], &c, 1) != 1 || c != 'y')
		return 64;
	/* serial input raises an IRQ; shutdown unregisters RAM */
	if (ioctl(null_fd, KVM_IRQ_LINE, NULL) != -1 || errno != ENOTTY)
		return 65;
	if (ioctl(null_fd, KVM_SET_USER_MEMORY_REGION, NULL) != -1 || errno != ENOTTY)
		return 66;
	io_uring_queue_exit(&ring);
	close(pipefd[0]);
	close(pipefd[1]);
	return 0;
}

static void test_main_allowed_calls_work(void **state)
{
	struct child_result r;

	(void)state;
	run_child(do_main_allowed, NULL, &r);
	assert_clean_exit(&r);
}

static void test_main_cannot_run_a_vcpu(void **state)
{
	(void)state;
	check_forbidden(
		SANDBOX_ROLE_MAIN, DO_IOCTL_KVM_RUN,
		"minivmm: seccomp: main thread made forbidden syscall ioctl (nr 16, KVM_RUN");
	check_forbidden(SANDBOX_ROLE_MAIN, DO_EXECVE, "main thread made forbidden syscall execve");
}

/* io_uring operations bypass seccomp: the ring itself refuses what its role does not use */
static void test_io_uring_restricted(void **state)
{
	struct io_uring ring;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	char path[] = "/tmp/minivmm-sandbox-XXXXXX", buf[8] = { 0 };
	int pipefd[2], file, event_fd;

	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	file = mkstemp(path);
	assert_true(file >= 0);
	unlink(path);
	assert_int_equal(write(file, "image", 5), 5);
	event_fd = eventfd(0, EFD_CLOEXEC);
	assert_true(event_fd >= 0);

	sandbox_set_mode(SANDBOX_ON);
	/* set-up on the disabled ring, as the virtio hub does: files, an eventfd */
	assert_int_equal(sandbox_io_uring_init(&ring, 8, SANDBOX_ROLE_MAIN), 0);
	assert_int_equal(io_uring_register_files_sparse(&ring, 2), 0);
	assert_int_equal(io_uring_register_eventfd(&ring, event_fd), 0);
	assert_int_equal(sandbox_io_uring_enable(&ring, SANDBOX_ROLE_MAIN), 0);
	sandbox_set_mode(SANDBOX_OFF);

	/* registering an image file afterwards, and reading it through the fixed file */
	assert_int_equal(io_uring_register_files_update(&ring, 0, &file, 1), 1);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_read(sqe, 0, buf, 5, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	assert_int_equal(io_uring_submit(&ring), 1);
	assert_int_equal(io_uring_wait_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->res, 5);
	assert_string_equal(buf, "image");
	io_uring_cqe_seen(&ring, cqe);

	/* an opcode the role does not use */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_openat(sqe, AT_FDCWD, "/etc/passwd", O_RDONLY, 0);
	assert_int_equal(io_uring_submit(&ring), 1);
	assert_int_equal(io_uring_wait_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->res, -EACCES);
	io_uring_cqe_seen(&ring, cqe);

	/* an SQE flag the role does not use */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_poll_add(sqe, pipefd[0], POLLIN);
	sqe->flags |= IOSQE_ASYNC;
	assert_int_equal(io_uring_submit(&ring), 1);
	assert_int_equal(io_uring_wait_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->res, -EACCES);
	io_uring_cqe_seen(&ring, cqe);

	/* what the event loop does */
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_poll_add(sqe, pipefd[0], POLLIN);
	assert_int_equal(io_uring_submit(&ring), 1);
	assert_int_equal(write(pipefd[1], "z", 1), 1);
	assert_int_equal(io_uring_wait_cqe(&ring, &cqe), 0);
	assert_true(cqe->res & POLLIN);
	io_uring_cqe_seen(&ring, cqe);

	/* register operations other than FILES_UPDATE */
	assert_int_equal(io_uring_register_files(&ring, pipefd, 1), -EACCES);
	assert_int_equal(io_uring_unregister_eventfd(&ring), -EACCES);
	io_uring_queue_exit(&ring);

	/* a role that drives no ring gets nothing through */
	sandbox_set_mode(SANDBOX_ON);
	assert_int_equal(sandbox_io_uring_init(&ring, 8, SANDBOX_ROLE_VCPU), 0);
	assert_int_equal(sandbox_io_uring_enable(&ring, SANDBOX_ROLE_VCPU), 0);
	sandbox_set_mode(SANDBOX_OFF);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	assert_int_equal(io_uring_submit(&ring), 1);
	assert_int_equal(io_uring_wait_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->res, -EACCES);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);

	/* mode log: an ordinary ring */
	sandbox_set_mode(SANDBOX_LOG);
	assert_int_equal(sandbox_io_uring_init(&ring, 8, SANDBOX_ROLE_MAIN), 0);
	assert_int_equal(sandbox_io_uring_enable(&ring, SANDBOX_ROLE_MAIN), 0);
	sandbox_set_mode(SANDBOX_OFF);
	sqe = io_uring_get_sqe(&ring);
	io_uring_prep_nop(sqe);
	assert_int_equal(io_uring_submit(&ring), 1);
	assert_int_equal(io_uring_wait_cqe(&ring, &cqe), 0);
	assert_int_equal(cqe->res, 0);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
	close(pipefd[0]);
	close(pipefd[1]);
	close(file);
	close(event_fd);
}

/* ---- modes --------------------------------------------------------------------------------- */

static void test_log_mode_lets_calls_through(void **state)
{
	struct forbidden f = { SANDBOX_ROLE_VCPU, SANDBOX_LOG, DO_SOCKET };
	struct child_result r;

	(void)state;
	run_child(do_forbidden, &f, &r);
	assert_clean_exit(&r);
	assert_null(strstr(r.err, "seccomp:"));
}

static int do_off(void *arg)
{
	(void)arg;
	sandbox_set_mode(SANDBOX_OFF);
	if (sandbox_apply(SANDBOX_ROLE_VCPU))
		return 70;
	return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == 0 && sandbox_thread_role() == -1 ? 0 : 71;
}

static void test_off_mode_installs_nothing(void **state)
{
	struct child_result r;

	(void)state;
	run_child(do_off, NULL, &r);
	assert_clean_exit(&r);
}

static void test_mode_names(void **state)
{
	enum sandbox_mode m;

	(void)state;
	assert_int_equal(sandbox_mode_parse("on", &m), 0);
	assert_int_equal(m, SANDBOX_ON);
	assert_int_equal(sandbox_mode_parse("log", &m), 0);
	assert_int_equal(m, SANDBOX_LOG);
	assert_int_equal(sandbox_mode_parse("off", &m), 0);
	assert_int_equal(m, SANDBOX_OFF);
	assert_int_equal(sandbox_mode_parse("kill", &m), -1);
	assert_int_equal(sandbox_mode_parse("", &m), -1);
	assert_string_equal(sandbox_mode_name(SANDBOX_LOG), "log");
	assert_string_equal(sandbox_role_name(SANDBOX_ROLE_VCPU), "vCPU");
	assert_string_equal(sandbox_role_name(SANDBOX_ROLE_MAIN), "main");
	assert_string_equal(sandbox_role_name(SANDBOX_ROLE_TIMER), "timer");
	/* a process that never chose a mode (tests, `minivmm test`) is not sandboxed */
	assert_int_equal(sandbox_get_mode(), SANDBOX_OFF);
}

/* ---- the terminal is put back when a violation stops minivmm -------------------------------- */

struct tty_case {
	int fd;
};

static int do_tty(void *arg)
{
	const struct tty_case *t = arg;
	struct termios saved, raw;

	if (tcgetattr(t->fd, &saved))
		return 80;
	raw = saved;
	cfmakeraw(&raw);
	if (tcsetattr(t->fd, TCSANOW, &raw))
		return 81;
	sandbox_set_terminal(t->fd, &saved);
	sandbox_set_mode(SANDBOX_ON);
	if (sandbox_apply(SANDBOX_ROLE_VCPU))
		return 82;
	socket(AF_INET, SOCK_DGRAM, 0);
	return 83;
}

static void test_terminal_restored_on_violation(void **state)
{
	struct termios before, after;
	struct tty_case t;
	struct child_result r;
	int master;

	(void)state;
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0 || grantpt(master) || unlockpt(master)) {
		print_message("no pseudo-terminal here: skipped\n");
		skip();
	}
	t.fd = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(t.fd >= 0);
	assert_int_equal(tcgetattr(t.fd, &before), 0);
	assert_true(before.c_lflag & ICANON);
	run_child(do_tty, &t, &r);
	assert_stopped(&r, "forbidden syscall socket");
	assert_int_equal(tcgetattr(t.fd, &after), 0);
	assert_int_equal(after.c_lflag, before.c_lflag);
	assert_int_equal(after.c_oflag, before.c_oflag);
	close(t.fd);
	close(master);
}

/* ---- inherited fds and --user ----------------------------------------------------------- */

static int do_close_fds(void *arg)
{
	(void)arg;
	if (dup2(STDERR_FILENO, 9) != 9 || dup2(STDERR_FILENO, 200) != 200)
		return 90;
	sandbox_close_inherited_fds();
	for (int fd = 3; fd < 256; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			return 91;
	}
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0)
			return 92;
	}
	return 0;
}

static void test_inherited_fds_closed(void **state)
{
	struct child_result r;

	(void)state;
	run_child(do_close_fds, NULL, &r);
	assert_clean_exit(&r);
}

struct drop_thread {
	struct thread_case c;
	pid_t tid;
};

static void *filtered_waiter(void *arg)
{
	struct drop_thread *d = arg;

	d->tid = (pid_t)syscall(SYS_gettid);
	d->c.apply_result = sandbox_apply(SANDBOX_ROLE_TIMER);
	step_set(&d->c, 1);
	step_wait(&d->c, 2); /* a futex wait, interrupted by glibc's set*id signal */
	return NULL;
}

/* "Uid:" or "Gid:" of a thread: real, effective, saved, fs all equal to want */
static bool thread_ids_are(pid_t tid, const char *field, unsigned int want)
{
	char path[64], line[256], expect[128];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	snprintf(expect, sizeof(expect), "%s\t%u\t%u\t%u\t%u\n", field, want, want, want, want);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		found |= !strcmp(line, expect);
	fclose(f);
	return found;
}

/* Drops to arg while a filtered thread runs: glibc makes that thread switch too. */
static int do_drop(void *arg)
{
	struct drop_thread d = { .c = { .lock = PTHREAD_MUTEX_INITIALIZER,
					.cond = PTHREAD_COND_INITIALIZER } };
	gid_t groups[4];
	pthread_t t;
	int n;

	sandbox_set_mode(SANDBOX_ON);
	if (sandbox_set_user(arg))
		return 100;
	if (pthread_create(&t, NULL, filtered_waiter, &d))
		return 101;
	step_wait(&d.c, 1);
	if (d.c.apply_result)
		return 102;
	if (sandbox_drop_privileges())
		return 103;
	if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534 || getegid() != 65534)
		return 104;
	n = getgroups(4, groups);
	if (n != 1 || groups[0] != 65534)
		return 105;
	/* raw syscalls, this thread only (glibc's setuid() would make the filtered thread try) */
	if (syscall(SYS_setresuid, -1, 0, -1) == 0 || syscall(SYS_setresgid, -1, 0, -1) == 0)
		return 106;
	if (!thread_ids_are(d.tid, "Uid:", 65534) || !thread_ids_are(d.tid, "Gid:", 65534))
		return 107;
	step_set(&d.c, 2);
	pthread_join(t, NULL);
	return 0;
}

static int do_drop_bad(void *arg)
{
	return sandbox_set_user(arg) == -1 ? 0 : 110;
}

/* A filtered thread can switch to the --user ids, and only to them */
static int do_setuid_other(void *arg)
{
	(void)arg;
	sandbox_set_mode(SANDBOX_ON);
	if (sandbox_set_user("65534:65534") || sandbox_apply(SANDBOX_ROLE_VCPU))
		return 111;
	syscall(SYS_setresuid, 0, 0, 0);
	return 112;
}

static void test_drop_privileges(void **state)
{
	struct child_result r;
	struct passwd *pw;

	(void)state;
	run_child(do_drop_bad, "no-such-user-minivmm", &r);
	assert_clean_exit(&r);
	assert_contains(r.err, "--user no-such-user-minivmm: no such user");
	run_child(do_drop_bad, "12:x", &r);
	assert_clean_exit(&r);
	assert_contains(r.err, "expected a user name or UID:GID");
	run_child(do_setuid_other, NULL, &r);
	assert_stopped(&r, "vCPU thread made forbidden syscall setresuid (nr 117, args 0x0, 0x0");
	if (geteuid() != 0) {
		print_message("not root: dropping privileges not tested\n");
		skip();
	}
	run_child(do_drop, "65534:65534", &r);
	assert_clean_exit(&r);
	pw = getpwnam("nobody");
	if (pw && pw->pw_uid == 65534 && pw->pw_gid == 65534) {
		run_child(do_drop, "nobody", &r);
		assert_clean_exit(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vcpu_socket_stops_minivmm),
		cmocka_unit_test(test_vcpu_execve_stops_minivmm),
		cmocka_unit_test(test_vcpu_ioctl_filtered_by_request),
		cmocka_unit_test(test_vcpu_no_executable_memory),
		cmocka_unit_test(test_vcpu_argument_filters),
		cmocka_unit_test(test_vcpu_allowed_calls_work),
		cmocka_unit_test(test_filter_is_per_thread),
		cmocka_unit_test(test_timer_role),
		cmocka_unit_test(test_main_allowed_calls_work),
		cmocka_unit_test(test_main_cannot_run_a_vcpu),
		cmocka_unit_test(test_io_uring_restricted),
		cmocka_unit_test(test_log_mode_lets_calls_through),
		cmocka_unit_test(test_off_mode_installs_nothing),
		cmocka_unit_test(test_mode_names),
		cmocka_unit_test(test_terminal_restored_on_violation),
		cmocka_unit_test(test_inherited_fds_closed),
		cmocka_unit_test(test_drop_privileges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
