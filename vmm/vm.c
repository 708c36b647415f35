// SPDX-License-Identifier: MIT
/*
 * VM lifecycle. vm_create() builds everything before any vCPU runs: KVM VM, guest RAM,
 * kernel, devices, vCPUs. vm_run() starts the vCPU threads and turns the main thread into the
 * event loop (io_uring: console input, signals, the stop eventfd) until the VM stops; then it
 * joins the vCPUs. Shutdown is always the same path: vm_request_stop() from whichever thread
 * sees the reason first.
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../arch/x86/layout.h"
#include "../arch/x86/xen/xen.h"
#include "../devices/devices.h"
#include "../devices/virtio/virtio.h"
#include "log.h"
#include "sandbox.h"
#include "vm.h"

uint64_t vm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int vm_check_backing(struct vm *vm)
{
	const struct kvm_caps *c = &vm->kvm.caps;

	if (vm->cfg->backing != MEM_BACKING_GUEST_MEMFD)
		return 0;
	if (!c->guest_memfd || !c->user_memory2 || (c->guest_memfd_flags & 3) != 3) {
		fprintf(stderr,
			"minivmm: --memory-backing guest_memfd: this host's KVM does not offer "
			"an mmap-able guest_memfd (GUEST_MEMFD=%d, GUEST_MEMFD_FLAGS=%d); "
			"use memfd or anonymous\n",
			c->guest_memfd, c->guest_memfd_flags);
		return -1;
	}
	return 0;
}

static void console_sink(void *arg, const uint8_t *buf, size_t len)
{
	console_output(arg, buf, len);
}

/*
 * virtio devices from [disk] and [devices], in this order (it fixes their MMIO slots and
 * IRQs, which the DSDT describes: config_virtio_devices()): disks, rng, balloon, console.
 */
static int vm_create_virtio(struct vm *vm, const struct vm_config *cfg)
{
	if (!config_virtio_devices(cfg))
		return 0;
	vm->virtio = virtio_hub_create(vm);
	if (!vm->virtio)
		return -1;
	for (int i = 0; i < cfg->nr_disks; i++) {
		const struct disk_config *d = &cfg->disks[i];

		if (!virtio_blk_create(vm->virtio, d->path, d->readonly, d->id))
			return -VM_EXIT_USAGE;
	}
	if (cfg->rng && !virtio_rng_create(vm->virtio))
		return -1;
	if (cfg->balloon && !virtio_balloon_create(vm->virtio, cfg->balloon_target))
		return -1;
	if (cfg->vcon_sink == VCON_SINK_FILE) {
		int fd = virtio_console_open(cfg->vcon_path, cfg->vcon_truncate);

		if (fd < 0)
			return -VM_EXIT_USAGE;
		if (!virtio_console_create(vm->virtio, fd, true, cfg->vcon_path))
			return -1;
	} else if (cfg->vcon_sink != VCON_SINK_NONE &&
		   !virtio_console_create(vm->virtio,
					  cfg->vcon_sink == VCON_SINK_STDOUT ? STDOUT_FILENO : -1,
					  false, "stdout")) {
		return -1;
	}
	/* the DSDT describes config_virtio_devices(cfg) slots */
	return virtio_hub_nr_devices(vm->virtio) == config_virtio_devices(cfg) ? 0 : -1;
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->fd = -1;
	vm->stop_eventfd = -1;
	vm->start_ns = vm_now_ns();
	mutex_init(&vm->config_lock, "vm->config_lock", LOCK_RANK_VM_CONFIG);
	vm->request_eventfd = -1;
	if (vm_requests_init(vm))
		return -1;

	if (kvm_sys_open(&vm->kvm))
		return -1;
	if (config_validate(cfg, (unsigned int)vm->kvm.caps.max_vcpus) || vm_check_backing(vm))
		return -VM_EXIT_USAGE;
	vm->fd = kvm_vm_create(&vm->kvm);
	if (vm->fd < 0)
		return -1;
	if (kvm_vm_setup_x86(vm->fd))
		return -1;
	if (vm->kvm.caps.exit_hypercall & (1 << KVM_HC_MAP_GPA_RANGE) &&
	    kvm_vm_enable_cap(vm->fd, KVM_CAP_EXIT_HYPERCALL, 1ull << KVM_HC_MAP_GPA_RANGE))
		pr_warn("enabling KVM_HC_MAP_GPA_RANGE exits failed: %s", strerror(errno));

	guest_mem_init(&vm->mem, vm->fd, cfg->backing, cfg->hugepage_size);
	vm->mem.kvm_memory_attributes = vm->kvm.caps.memory_attributes > 0;
	vm->mem_ready = true;
	if (guest_mem_add_ram_layout(&vm->mem, cfg->memory))
		return -1;
	ret = vm_create_virtio(vm, cfg);
	if (ret)
		return ret;
	if (boot_load(&vm->mem, cfg, &vm->boot))
		return -VM_EXIT_USAGE;
	pr_info("loaded %s %s: entry %#llx, kernel %#llx-%#llx, initrd %llu bytes", vm->boot.format,
		cfg->kernel, (unsigned long long)vm->boot.entry,
		(unsigned long long)vm->boot.kernel_start, (unsigned long long)vm->boot.kernel_end,
		(unsigned long long)vm->boot.initrd_size);

	if (console_init(&vm->console, vm, cfg, STDOUT_FILENO)) {
		console_destroy(&vm->console);
		return -VM_EXIT_USAGE;
	}
	vm->console_ready = true;
	if (vm_open_stats(vm))
		return -VM_EXIT_USAGE;
	vm->stop_eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vm->serial = serial_create(vm, COM1_PORT, COM1_IRQ, STDOUT_FILENO);
	if (vm->serial)
		serial_set_sink(vm->serial, console_sink, &vm->console);
	vm->testdev = testdev_create(vm);
	if (vm->stop_eventfd < 0 || !vm->serial || !vm->testdev || exit_port_init(vm) ||
	    i8042_init(vm) || acpi_pm_init(vm)) {
		pr_err("setting up devices failed");
		return -1;
	}
	if (cfg->xen) {
		struct xen_vm_config xc = {
			.version = cfg->xen_version,
			.keep_kvm_leaves = cfg->xen_kvm_leaves,
			.percpu_upcalls = cfg->xen_percpu_upcalls,
			.transport = cfg->xen_transport,
		};

		vm->xen = xen_create(vm, &xc);
		if (!vm->xen)
			return -1;
	}

	vm->vcpus = calloc(cfg->cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -1;
	for (unsigned int i = 0; i < cfg->cpus; i++) {
		if (vcpu_init(vm, &vm->vcpus[i], (int)i))
			return -1;
		vm->nr_vcpus++;
	}
	pr_info("VM: %u vCPU(s), %llu MiB %s RAM", vm->nr_vcpus,
		(unsigned long long)(cfg->memory >> 20), mem_backing_name(cfg->backing));
	return 0;
}

void vm_request_stop(struct vm *vm, int status, const char *why)
{
	bool expected = false;
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong(&vm->stopping, &expected, true))
		return;
	vm->exit_status = status;
	vm->stop_ns = vm_now_ns();
	snprintf(vm->stop_reason, sizeof(vm->stop_reason), "%s", why);
	pr_info("stopping: %s (exit status %d)", why, status);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	xen_stop(vm->xen); /* vCPUs blocked in SCHEDOP_block/poll, the Xen timer thread */
	if (vm->stop_eventfd >= 0 && write(vm->stop_eventfd, &one, sizeof(one)) < 0)
		pr_debug("stop eventfd: %s", strerror(errno));
}

void vm_pause_all(struct vm *vm)
{
	struct vcpu *self = vcpu_current();

	/* a vCPU that pauses the others is parked itself: two vCPUs pausing at once then
	 * each find the other parked, whichever gets config_lock first */
	if (self)
		vcpu_outside_begin(self);
	mutex_lock(&vm->config_lock);
	atomic_store(&vm->pause_requested, true);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		mutex_lock(&v->lock);
		while (!v->parked && !v->outside && !v->exited)
			pthread_cond_wait(&v->cond, &v->lock.m);
		mutex_unlock(&v->lock);
	}
	vm->pauses++;
}

void vm_resume_all(struct vm *vm)
{
	struct vcpu *self = vcpu_current();

	atomic_store(&vm->pause_requested, false);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		mutex_lock(&v->lock);
		pthread_cond_broadcast(&v->cond);
		mutex_unlock(&v->lock);
	}
	mutex_unlock(&vm->config_lock);
	if (self)
		vcpu_outside_end(self);
}

/* The region [gpa, gpa+len) may be remapped: a whole region, none of the guest's boot data. */
static int vm_check_remap(struct vm *vm, uint64_t gpa, uint64_t len)
{
	const struct boot_info *b = &vm->boot;
	int ret = -ENOENT;

	if (!len || (gpa | len) & (GUEST_PAGE_SIZE - 1) || gpa + len < gpa)
		return -EINVAL;
	read_lock(&vm->mem.layout_lock);
	for (int i = 0; i < vm->mem.nr_regions; i++) {
		const struct mem_region *r = &vm->mem.regions[i];
		uint64_t end = r->gpa + r->size;

		if (r->gpa != gpa || r->size != len)
			continue;
		ret = 0;
		/* boot structures and page tables at the bottom, the kernel, the initrd */
		if (r->gpa < BIOS_HOLE_END || (b->kernel_start < end && r->gpa < b->kernel_end) ||
		    (b->initrd_size && b->initrd_start < end &&
		     r->gpa < b->initrd_start + b->initrd_size))
			ret = -EBUSY;
	}
	rwlock_unlock(&vm->mem.layout_lock);
	return ret;
}

int vm_remap_region(struct vm *vm, uint64_t gpa, uint64_t len)
{
	int ret = vm_check_remap(vm, gpa, len);
	uint64_t t0, t1, t2;

	if (ret)
		return ret;
	/* pause first, then invalidate (vm.h): never the other way round */
	t0 = vm_now_ns();
	vm_pause_all(vm);
	t1 = vm_now_ns();
	ret = guest_mem_remap_region(&vm->mem, gpa, len);
	if (!ret)
		vm->remaps++;
	vm_resume_all(vm);
	t2 = vm_now_ns();
	pr_debug("remap of guest RAM %#llx+%#llx: %s; pause %llu us, remap %llu us",
		 (unsigned long long)gpa, (unsigned long long)len, ret ? strerror(-ret) : "done",
		 (unsigned long long)(t1 - t0) / 1000, (unsigned long long)(t2 - t1) / 1000);
	return ret;
}

struct vm_request {
	enum vm_request_op op;
	uint64_t gpa, len;
	int result;
	bool done;
	struct vm_request *next;
};

int vm_requests_init(struct vm *vm)
{
	mutex_init(&vm->request_lock, "vm->request_lock", LOCK_RANK_VM_REQUEST);
	pthread_cond_init(&vm->request_cond, NULL);
	vm->requests = NULL;
	vm->requests_closed = false;
	vm->request_eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return vm->request_eventfd < 0 ? -1 : 0;
}

void vm_requests_destroy(struct vm *vm)
{
	if (vm->request_eventfd < 0)
		return;
	close(vm->request_eventfd);
	vm->request_eventfd = -1;
	pthread_cond_destroy(&vm->request_cond);
	mutex_destroy(&vm->request_lock);
}

static int vm_request_run(struct vm *vm, struct vm_request *req)
{
	switch (req->op) {
	case VM_REQ_REMAP_REGION:
		return vm_remap_region(vm, req->gpa, req->len);
	}
	return -ENOSYS;
}

int vm_call_main(struct vm *vm, enum vm_request_op op, uint64_t gpa, uint64_t len)
{
	struct vm_request req = { .op = op, .gpa = gpa, .len = len };
	struct vcpu *self = vcpu_current();
	struct vm_request **tail;
	uint64_t one = 1;

	/* on the main thread, or with no main loop at all (tests, fuzzers): run it here */
	if (!vm->main_running || pthread_equal(pthread_self(), vm->main_thread))
		return vm_request_run(vm, &req);
	lockdep_assert_none_held("waiting for the main thread");
	mutex_lock(&vm->request_lock);
	if (vm->requests_closed) {
		mutex_unlock(&vm->request_lock);
		return -ESHUTDOWN;
	}
	for (tail = &vm->requests; *tail; tail = &(*tail)->next)
		;
	*tail = &req;
	mutex_unlock(&vm->request_lock);
	if (write(vm->request_eventfd, &one, sizeof(one)) < 0)
		pr_debug("request eventfd: %s", strerror(errno));

	/* the main thread pauses every vCPU: this one is parked while it waits */
	if (self)
		vcpu_outside_begin(self);
	mutex_lock(&vm->request_lock);
	while (!req.done)
		pthread_cond_wait(&vm->request_cond, &vm->request_lock.m);
	mutex_unlock(&vm->request_lock);
	if (self)
		vcpu_outside_end(self);
	return req.result;
}

static void vm_request_complete(struct vm *vm, struct vm_request *req, int result)
{
	mutex_lock(&vm->request_lock);
	req->result = result;
	req->done = true; /* the requester may return (and its request go) once we unlock */
	pthread_cond_broadcast(&vm->request_cond);
	mutex_unlock(&vm->request_lock);
}

void vm_serve_requests(struct vm *vm)
{
	uint64_t n;

	if (read(vm->request_eventfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		pr_debug("request eventfd: %s", strerror(errno));
	for (;;) {
		struct vm_request *req;

		mutex_lock(&vm->request_lock);
		req = vm->requests;
		if (req)
			vm->requests = req->next;
		mutex_unlock(&vm->request_lock);
		if (!req)
			return;
		vm_request_complete(vm, req, vm_request_run(vm, req));
	}
}

void vm_close_requests(struct vm *vm)
{
	struct vm_request *req;

	mutex_lock(&vm->request_lock);
	vm->requests_closed = true;
	while ((req = vm->requests)) {
		vm->requests = req->next;
		req->result = -ESHUTDOWN;
		req->done = true;
	}
	pthread_cond_broadcast(&vm->request_cond);
	mutex_unlock(&vm->request_lock);
}

/* Terminal: raw mode on a terminal, with QEMU's escape: Ctrl-A x quits, Ctrl-A Ctrl-A sends ^A. */
struct terminal {
	bool is_tty;
	bool escape;
	struct termios saved;
};

static void terminal_raw(struct terminal *con)
{
	struct termios raw;

	con->is_tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &con->saved) == 0;
	if (!con->is_tty)
		return;
	raw = con->saved;
	cfmakeraw(&raw);
	raw.c_oflag |= OPOST | ONLCR;
	tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	sandbox_set_terminal(STDIN_FILENO, &con->saved); /* restored if seccomp stops us */
}

static void terminal_restore(struct terminal *con)
{
	if (con->is_tty)
		tcsetattr(STDIN_FILENO, TCSANOW, &con->saved);
	sandbox_set_terminal(-1, NULL);
}

static void terminal_input(struct vm *vm, struct terminal *con, uint8_t *buf, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t c = buf[i];

		if (con->is_tty && con->escape) {
			con->escape = false;
			if (c == 'x') {
				vm_request_stop(vm, VM_EXIT_OK, "Ctrl-A x on the console");
				return;
			}
			if (c != 0x01)
				continue;
		} else if (con->is_tty && c == 0x01) {
			con->escape = true;
			continue;
		}
		buf[out++] = c;
	}
	if (out)
		serial_input(vm->serial, buf, out);
}

enum loop_tag {
	TAG_STDIN = 1,
	TAG_STOP,
	TAG_SIGNAL,
	TAG_TIMEOUT,
	TAG_CONSOLE_POLL,
	TAG_VIRTIO,
	TAG_REQUEST,
};

static void loop_console_poll(struct io_uring *ring, struct __kernel_timespec *ts)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	ts->tv_sec = 0;
	ts->tv_nsec = CONSOLE_POLL_MS * 1000000ll;
	io_uring_prep_timeout(sqe, ts, 0, 0);
	io_uring_sqe_set_data64(sqe, TAG_CONSOLE_POLL);
}

static void loop_poll(struct io_uring *ring, int fd, enum loop_tag tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	io_uring_prep_poll_add(sqe, fd, POLLIN);
	io_uring_sqe_set_data64(sqe, tag);
}

static void vm_main_loop(struct vm *vm, int sig_fd)
{
	struct terminal con = { 0 };
	struct __kernel_timespec timeout = { 0 }, poll_interval = { 0 };
	struct io_uring ring;
	int err;

	err = sandbox_io_uring_init(&ring, 8, SANDBOX_ROLE_MAIN);
	err = err ?: sandbox_io_uring_enable(&ring, SANDBOX_ROLE_MAIN);
	if (err) {
		pr_err("io_uring_queue_init: %s", strerror(-err));
		vm_request_stop(vm, VM_EXIT_FAILURE, "no event loop");
		return;
	}
	terminal_raw(&con);
	loop_poll(&ring, STDIN_FILENO, TAG_STDIN);
	loop_poll(&ring, vm->stop_eventfd, TAG_STOP);
	loop_poll(&ring, sig_fd, TAG_SIGNAL);
	loop_poll(&ring, vm->request_eventfd, TAG_REQUEST);
	if (vm->virtio)
		loop_poll(&ring, virtio_hub_fd(vm->virtio), TAG_VIRTIO);
	if (vm->cfg->timeout_s) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		timeout.tv_sec = vm->cfg->timeout_s;
		io_uring_prep_timeout(sqe, &timeout, 0, 0);
		io_uring_sqe_set_data64(sqe, TAG_TIMEOUT);
	}
	if (console_watching(&vm->console))
		loop_console_poll(&ring, &poll_interval);
	/* the vCPU threads are running (unaffected: filters are per thread); from here on this
	 * thread serves guest input */
	if (sandbox_apply(SANDBOX_ROLE_MAIN))
		vm_request_stop(vm, VM_EXIT_FAILURE, "no seccomp filter for the main thread");

	while (!atomic_load(&vm->stopping)) {
		struct io_uring_cqe *cqe;
		uint8_t buf[256];
		ssize_t n;
		uint64_t tag;

		io_uring_submit(&ring);
		err = io_uring_wait_cqe(&ring, &cqe);
		if (err == -EINTR)
			continue;
		if (err) {
			pr_err("io_uring_wait_cqe: %s", strerror(-err));
			vm_request_stop(vm, VM_EXIT_FAILURE, "event loop failed");
			break;
		}
		tag = io_uring_cqe_get_data64(cqe);
		io_uring_cqe_seen(&ring, cqe);
		switch (tag) {
		case TAG_STDIN:
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n > 0)
				terminal_input(vm, &con, buf, (size_t)n);
			/* at EOF (or a read error) stdin is no longer polled; the guest runs on */
			if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
				loop_poll(&ring, STDIN_FILENO, TAG_STDIN);
			break;
		case TAG_SIGNAL: {
			struct signalfd_siginfo si;

			if (read(sig_fd, &si, sizeof(si)) == sizeof(si)) {
				char why[64];

				snprintf(why, sizeof(why), "received %s",
					 strsignal((int)si.ssi_signo));
				vm_request_stop(vm, 128 + (int)si.ssi_signo, why);
			}
			loop_poll(&ring, sig_fd, TAG_SIGNAL);
			break;
		}
		case TAG_TIMEOUT: {
			char why[64];

			snprintf(why, sizeof(why), "--timeout of %u s expired", vm->cfg->timeout_s);
			vm_request_stop(vm, VM_EXIT_TIMEOUT, why);
			break;
		}
		case TAG_CONSOLE_POLL:
			console_poll(&vm->console);
			if (console_watching(&vm->console))
				loop_console_poll(&ring, &poll_interval);
			break;
		case TAG_VIRTIO: /* queue notifications and block I/O completions */
			virtio_hub_run(vm->virtio);
			loop_poll(&ring, virtio_hub_fd(vm->virtio), TAG_VIRTIO);
			break;
		case TAG_REQUEST: /* vm_call_main() from vCPU threads: layout changes */
			vm_serve_requests(vm);
			loop_poll(&ring, vm->request_eventfd, TAG_REQUEST);
			break;
		case TAG_STOP:
		default:
			break;
		}
	}
	terminal_restore(&con);
	io_uring_queue_exit(&ring);
}

/*
 * Precedence: a matched --fail-on (4), a timeout (124) and a VMM or guest failure (1) stand;
 * otherwise an --expect that never matched makes it 3; otherwise the guest's own status.
 */
static int vm_final_status(struct vm *vm)
{
	int status = vm->exit_status;

	if (status == VM_EXIT_FAIL_ON || status == VM_EXIT_TIMEOUT || status == VM_EXIT_FAILURE ||
	    status >= 128)
		return status;
	if (!console_all_expected(&vm->console)) {
		for (int i = 0; i < vm->console.nr_expect; i++) {
			if (!vm->console.expect[i].matched)
				pr_err("console never matched --expect '%s'",
				       vm->console.expect[i].text);
		}
		return VM_EXIT_EXPECT;
	}
	return status;
}

/*
 * Join a stopped vCPU, kicking it again now and then: a kick that lands just before the
 * thread enters a blocking write (console output to a reader that went away) is lost, and
 * only a later one makes that write return EINTR and see the console closing.
 */
static void vm_join_vcpu(struct vcpu *vcpu)
{
	struct timespec deadline;

	if (!atomic_load(&vcpu->thread_started))
		return;
	for (;;) {
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += 100 * 1000 * 1000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
		if (pthread_timedjoin_np(vcpu->thread, NULL, &deadline) != ETIMEDOUT)
			return;
		vcpu_kick(vcpu);
	}
}

int vm_run(struct vm *vm)
{
	sigset_t stop_signals, old;
	int sig_fd;

	vcpu_signals_init();
	/*
	 * A reader that went away (minivmm ... | head, a closed console sink) must not kill the
	 * VM with its disks half written: writes then fail with EPIPE, which every sink treats
	 * as "stop writing here", and the guest runs on.
	 */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
	sig_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		pr_err("signalfd: %s", strerror(errno));
		return VM_EXIT_FAILURE;
	}

	vm->main_thread = pthread_self();
	vm->main_running = true;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (vcpu_start(&vm->vcpus[i])) {
			vm_request_stop(vm, VM_EXIT_FAILURE, "could not start vCPUs");
			for (unsigned int j = i; j < vm->nr_vcpus; j++)
				vcpu_set_exited(&vm->vcpus[j]); /* a pausing vCPU waits for none */
			break;
		}
	}
	vm_main_loop(vm, sig_fd);
	vm_close_requests(vm); /* vCPUs waiting for the main thread return to their loop */
	if (vm->console_ready)
		console_close_output(&vm->console);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]); /* covers a stop requested while threads were starting */
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vm_join_vcpu(&vm->vcpus[i]);
	close(sig_fd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return vm_final_status(vm);
}

void vm_destroy(struct vm *vm)
{
	xen_destroy(vm->xen); /* its timer thread raises interrupts: before the VM fd goes */
	vm->xen = NULL;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	free(vm->vcpus);
	vm->vcpus = NULL;
	vm->nr_vcpus = 0;
	/* after the vCPUs, before guest memory: waits for block I/O in flight */
	virtio_hub_destroy(vm->virtio);
	vm->virtio = NULL;
	serial_destroy(vm->serial);
	vm->serial = NULL;
	testdev_destroy(vm->testdev);
	vm->testdev = NULL;
	if (vm->stats_out)
		fclose(vm->stats_out);
	vm->stats_out = NULL;
	if (vm->console_ready)
		console_destroy(&vm->console);
	vm->console_ready = false;
	if (vm->mem_ready)
		guest_mem_destroy(&vm->mem);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->stop_eventfd >= 0)
		close(vm->stop_eventfd);
	kvm_sys_close(&vm->kvm);
	vm_requests_destroy(vm);
	mutex_destroy(&vm->config_lock);
}
