// SPDX-License-Identifier: MIT
/*
 * sched_op (yield, block, poll, shutdown), the single-shot timers and their thread.
 *
 * A blocking hypercall sleeps on its own vCPU thread, holding no lock, on the vCPU's futex
 * word wake_seq: it reads the word, checks its condition under xen->lock, then waits for the
 * word to move. Whoever can make the condition true (a send that raised this vCPU's upcall,
 * a port becoming pending while it polls, a timer, xen_stop()) changes the condition first
 * and bumps the word afterwards, so no wake-up is lost. Waits are also sliced, so a stop
 * or a kick (ops->interrupted) is noticed even without a wake.
 *
 * Timers: one thread per VM sleeps in read() on a timerfd set for the earliest single-shot
 * deadline and delivers VIRQ_TIMER through the ordinary send path, like any other sender
 * thread. Setting an earlier deadline moves the timerfd's expiry (timer_wake_at), without
 * waking the thread; a deadline already due fires at once on the calling vCPU's thread.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../../../vmm/log.h"
#include "../../../vmm/sandbox.h"
#include "xen_internal.h"

#define WAIT_SLICE_NS (100 * 1000 * 1000ull)
#define TIMER_IDLE_NS (1000 * 1000 * 1000ull)

static void xen_futex_wait(_Atomic uint32_t *word, uint32_t seen, uint64_t timeout_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(timeout_ns / 1000000000ull),
		.tv_nsec = (long)(timeout_ns % 1000000000ull),
	};

	/* EINTR (a kick), EAGAIN (the word moved) and ETIMEDOUT all mean: look again */
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

void xen_futex_wake(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static bool xen_stopping(struct xen *xen)
{
	return atomic_load(&xen->stopping) || (xen->vm_stopping && atomic_load(xen->vm_stopping));
}

static bool vcpu_must_return(struct xen_vcpu *v)
{
	struct xen *xen = v->xen;

	return xen_stopping(xen) ||
	       (xen->ops->interrupted && xen->ops->interrupted(xen->opaque, v->id));
}

/*
 * SCHEDOP_block: sleep until an event upcall is pending for this vCPU. (Xen HVM also wakes
 * on any LAPIC interrupt, which the VMM cannot see: HVM guests idle with hlt instead.)
 */
static int64_t sched_block(struct xen_vcpu *v)
{
	struct xen *xen = v->xen;
	uint64_t t0 = xen_now_ns();

	lockdep_assert_none_held("SCHEDOP_block");
	atomic_store(&v->blocked, true);
	for (;;) {
		uint32_t seen = atomic_load(&v->wake_seq);
		struct vcpu_info *vi;
		bool ready = false;

		if (vcpu_must_return(v))
			break;
		mutex_lock(&xen->lock);
		vi = xen_vcpu_info_begin_locked(xen, v);
		if (vi) {
			/* Xen enables event delivery when blocking */
			__atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
			ready = __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST);
			xen_vcpu_info_end(v);
		}
		mutex_unlock(&xen->lock);
		if (ready)
			break;
		xen_futex_wait(&v->wake_seq, seen, WAIT_SLICE_NS);
	}
	atomic_store(&v->blocked, false);
	v->stats.blocked_ns += xen_now_ns() - t0;
	return 0;
}

/*
 * SCHEDOP_poll: return when one of the ports is pending (masked or not), when an upcall is
 * raised on this vCPU (Xen's vcpu_kick unblocks a poller too), or at the timeout (absolute
 * system time; 0: none). Returns 0 in every case, as Xen does; the guest looks at its ports.
 */
static int64_t sched_poll(struct xen_vcpu *v, uint64_t arg)
{
	struct xen *xen = v->xen;
	uint32_t ports[XEN_POLL_MAX_PORTS];
	struct sched_poll p;
	uint64_t t0 = xen_now_ns(), upcalls, deadline = 0;
	int err = xen_copy_from_guest(v, &p, arg, sizeof(p));

	if (err)
		return err;
	if (p.nr_ports > XEN_POLL_MAX_PORTS)
		return -XEN_EINVAL;
	if (p.nr_ports && xen_copy_from_guest(v, ports, p.ports, p.nr_ports * sizeof(ports[0])))
		return -XEN_EFAULT;
	for (uint32_t i = 0; i < p.nr_ports; i++) {
		if (ports[i] == 0 || ports[i] >= XEN_NR_PORTS)
			return -XEN_EINVAL;
	}
	if (p.timeout)
		deadline = xen->boot_ns + p.timeout < xen->boot_ns ? UINT64_MAX
								   : xen->boot_ns + p.timeout;

	lockdep_assert_none_held("SCHEDOP_poll");
	upcalls = atomic_load(&v->upcalls);
	atomic_store(&v->polling, true);
	atomic_store(&v->blocked, true);
	for (;;) {
		uint32_t seen = atomic_load(&v->wake_seq);
		bool ready = false;
		uint64_t now, wait;

		if (vcpu_must_return(v) || atomic_load(&v->upcalls) != upcalls)
			break;
		mutex_lock(&xen->lock);
		for (uint32_t i = 0; i < p.nr_ports && !ready; i++)
			ready = xen_evtchn_is_pending_locked(xen, ports[i]);
		mutex_unlock(&xen->lock);
		if (ready)
			break;
		now = xen_now_ns();
		if (deadline && now >= deadline)
			break;
		wait = WAIT_SLICE_NS;
		if (deadline && deadline - now < wait)
			wait = deadline - now;
		xen_futex_wait(&v->wake_seq, seen, wait);
	}
	atomic_store(&v->polling, false);
	atomic_store(&v->blocked, false);
	v->stats.blocked_ns += xen_now_ns() - t0;
	return 0;
}

static int64_t sched_shutdown(struct xen_vcpu *v, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct sched_shutdown s;
	int err = xen_copy_from_guest(v, &s, arg, sizeof(s));

	if (err)
		return err;
	switch (s.reason) {
	case SHUTDOWN_poweroff:
	case SHUTDOWN_reboot:
	case SHUTDOWN_crash:
	case SHUTDOWN_watchdog:
		xen->ops->shutdown(xen->opaque, v->id, s.reason);
		xen_stop(xen);
		return 0;
	case SHUTDOWN_suspend:
		xen_count_unsupported(v, __HYPERVISOR_sched_op, 0x200 | s.reason);
		return -XEN_ENOSYS;
	default:
		return -XEN_EINVAL;
	}
}

int64_t xen_sched_op(struct xen_vcpu *v, uint64_t cmd, uint64_t arg)
{
	switch (cmd) {
	case SCHEDOP_yield:
		sched_yield();
		return 0;
	case SCHEDOP_block:
		return sched_block(v);
	case SCHEDOP_poll:
		return sched_poll(v, arg);
	case SCHEDOP_shutdown:
		return sched_shutdown(v, arg);
	default:
		xen_count_unsupported(v, __HYPERVISOR_sched_op, cmd);
		return -XEN_ENOSYS;
	}
}

/* ---- single-shot timers ---------------------------------------------------------------- */

/*
 * Set timer_fd to expire at Xen system time `at` but within TIMER_IDLE_NS (so that a stop is
 * seen even if a kick is lost in a race with this), or at once when stopping. Callers hold
 * xen->lock (except a stop's kick): the last one to set it saw the latest timers.
 */
static void timer_fd_set(struct xen *xen, uint64_t at)
{
	struct itimerspec its = { 0 };
	uint64_t now = xen_now_ns(), ns;

	if (xen->timer_fd < 0)
		return;
	if (xen_stopping(xen))
		ns = 1; /* long past: expired */
	else if (at < now - xen->boot_ns + TIMER_IDLE_NS)
		ns = xen->boot_ns + at;
	else
		ns = now + TIMER_IDLE_NS;
	its.it_value.tv_sec = (time_t)(ns / 1000000000ull);
	its.it_value.tv_nsec = (long)(ns % 1000000000ull);
	if (timerfd_settime(xen->timer_fd, TFD_TIMER_ABSTIME, &its, NULL))
		pr_warn("xen: timerfd_settime: %s", strerror(errno));
}

int64_t xen_set_timer(struct xen_vcpu *v, uint64_t deadline, bool must_be_future)
{
	struct xen *xen = v->xen;
	uint64_t now = xen_system_time(xen);

	if (must_be_future && deadline < now)
		return -XEN_ETIME;
	if (deadline <= now) {
		/*
		 * Already due (a guest asking for a short delay, or one the exit itself used
		 * up): fire it here, on the vCPU's own thread, as Xen does, rather than through
		 * the timer thread and a context switch.
		 */
		mutex_lock(&xen->lock);
		v->timer_armed = false;
		mutex_unlock(&xen->lock);
		atomic_fetch_add(&v->timer_fires, 1);
		xen_send_virq(xen, v, VIRQ_TIMER);
		return 0;
	}
	mutex_lock(&xen->lock);
	v->timer_deadline = deadline;
	v->timer_armed = true;
	/*
	 * The timer thread sleeps on timer_fd: moving its expiry earlier is a syscall on this
	 * thread, no wake-up, no context switch (a futex wake-up per re-arm cost 60% of the
	 * hypercall time of a Linux boot in the nested L1, one CPU). A deadline no earlier
	 * than the one the thread will look at anyway needs nothing.
	 */
	if (deadline < xen->timer_wake_at) {
		xen->timer_wake_at = deadline;
		timer_fd_set(xen, deadline);
		atomic_fetch_add(&xen->timer_moves, 1);
	}
	mutex_unlock(&xen->lock);
	return 0;
}

uint64_t xen_callback_retry(struct xen *xen, unsigned int vcpu)
{
	struct xen_vcpu *v;
	uint64_t at;

	if (vcpu >= xen->nr_vcpus)
		return 0;
	v = &xen->vcpus[vcpu];
	v->callback_retry_ns =
		v->callback_retry_ns ? 2 * v->callback_retry_ns : XEN_CALLBACK_RETRY_NS;
	if (v->callback_retry_ns > XEN_CALLBACK_RETRY_MAX_NS)
		v->callback_retry_ns = XEN_CALLBACK_RETRY_MAX_NS;
	at = xen_system_time(xen) + v->callback_retry_ns;
	mutex_lock(&xen->lock);
	atomic_store(&v->callback_retry_at, at);
	if (at < xen->timer_wake_at) {
		xen->timer_wake_at = at;
		timer_fd_set(xen, at);
	}
	mutex_unlock(&xen->lock);
	return v->callback_retry_ns;
}

int64_t xen_stop_timer(struct xen_vcpu *v)
{
	struct xen *xen = v->xen;

	mutex_lock(&xen->lock);
	v->timer_armed = false;
	mutex_unlock(&xen->lock);
	return 0;
}

/* what xen_timers_run() does for a vCPU once the lock is dropped (xen->timer_fire) */
#define FIRE_VIRQ_TIMER 1    /* its single-shot timer is due */
#define FIRE_CALLBACK_KICK 2 /* xen_callback_retry() asked for another look */

uint64_t xen_timers_run(struct xen *xen)
{
	uint64_t now = xen_system_time(xen), next = 0;

	mutex_lock(&xen->lock);
	for (unsigned int i = 0; i < xen->nr_vcpus; i++) {
		struct xen_vcpu *v = &xen->vcpus[i];
		uint64_t retry = atomic_load(&v->callback_retry_at);

		xen->timer_fire[i] = 0;
		if (retry && retry <= now) {
			atomic_store(&v->callback_retry_at, 0);
			xen->timer_fire[i] |= FIRE_CALLBACK_KICK;
		} else if (retry && (!next || retry < next)) {
			next = retry;
		}
		if (!v->timer_armed)
			continue;
		if (v->timer_deadline <= now) {
			v->timer_armed = false;
			xen->timer_fire[i] |= FIRE_VIRQ_TIMER;
		} else if (!next || v->timer_deadline < next) {
			next = v->timer_deadline;
		}
	}
	xen->timer_wake_at = next ? next : UINT64_MAX;
	timer_fd_set(xen, xen->timer_wake_at);
	mutex_unlock(&xen->lock);
	for (unsigned int i = 0; i < xen->nr_vcpus; i++) {
		if (xen->timer_fire[i] & FIRE_VIRQ_TIMER) {
			atomic_fetch_add(&xen->vcpus[i].timer_fires, 1);
			xen_send_virq(xen, &xen->vcpus[i], VIRQ_TIMER);
		}
		if ((xen->timer_fire[i] & FIRE_CALLBACK_KICK) && xen->ops->raise_callback)
			xen->ops->raise_callback(xen->opaque, i);
	}
	return next;
}

static void *timer_thread(void *arg)
{
	struct xen *xen = arg;

	pthread_setname_np(pthread_self(), "xen-timer");
	if (sandbox_apply(SANDBOX_ROLE_TIMER))
		_exit(1); /* never run unfiltered: a VMM failure (sandbox_apply said why) */
	while (!xen_stopping(xen)) {
		uint64_t expirations;

		/* fires what is due and sets timer_fd for the next deadline */
		xen_timers_run(xen);
		/* until timer_fd expires: that deadline, an earlier one set since, or a kick */
		if (read(xen->timer_fd, &expirations, sizeof(expirations)) < 0 && errno != EINTR) {
			pr_err("xen: timer thread: read: %s", strerror(errno));
			break;
		}
	}
	return NULL;
}

int xen_timer_thread_start(struct xen *xen)
{
	int err;

	xen->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	if (xen->timer_fd < 0) {
		pr_err("xen: timerfd_create: %s", strerror(errno));
		return -1;
	}
	err = pthread_create(&xen->timer_thread, NULL, timer_thread, xen);
	if (err) {
		pr_err("xen: creating the timer thread: %s", strerror(err));
		close(xen->timer_fd);
		xen->timer_fd = -1;
		return -1;
	}
	xen->timer_started = true;
	return 0;
}

void xen_timer_thread_kick(struct xen *xen)
{
	timer_fd_set(xen, 0); /* no lock: callable from anywhere (vm_request_stop) */
}

void xen_timer_thread_stop(struct xen *xen)
{
	if (!xen->timer_started)
		return;
	atomic_store(&xen->stopping, true);
	mutex_lock(&xen->lock); /* after any xen_timers_run that did not see it stopping */
	timer_fd_set(xen, 0);
	mutex_unlock(&xen->lock);
	pthread_join(xen->timer_thread, NULL);
	xen->timer_started = false;
	close(xen->timer_fd);
	xen->timer_fd = -1;
}
