// SPDX-License-Identifier: MIT
/*
 * Pause-all (vm_pause_all/vm_resume_all) and the main-thread-served layout change, without
 * KVM: a fake struct vm whose guest RAM has no KVM (vm_fd = -1) and fake vCPU threads that
 * run the real pause protocol (vcpu_pause_point at the top of their loop, vcpu_outside_* while
 * waiting for the main thread, vcpu_kick's immediate_exit as the wake-up of a vCPU "in
 * KVM_RUN"). The real run loop (vcpu.c) needs /dev/kvm; the guest test
 * guest-kernel-tests/mem_remap.c covers it. Runs under lockdep (every unit build).
 *
 *  - a pause returns only when no fake vCPU is inside its "guest" section, including vCPUs
 *    sleeping in a fake KVM_RUN (or Xen block) that only a kick ends; remaps under pause
 *    leave the caches consistent;
 *  - a vCPU blocked in gpc_refresh() behind another thread's invalidation keeps the pauser
 *    waiting until that invalidation ends, then parks: no deadlock, and the invalidator never
 *    waited for vCPUs;
 *  - a vCPU waiting for the main thread (vm_call_main) counts as parked; two vCPUs pausing
 *    at once do not deadlock;
 *  - bad remap requests get their errno; a pause inside an invalidation is a lockdep abort.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>
#include <time.h>

#include "unit.h"

#include "../../arch/x86/layout.h"
#include "../../vmm/gpc.h"
#include "../../vmm/vm.h"

#define NR_VCPUS 3
#define LOW_SIZE (2ull << 20)
#define HIGH_SIZE (2ull << 20)
#define WATCHDOG_S 120

struct fake {
	struct vm vm;
	struct gpc cache; /* shared by every vCPU, as the test device's is */
	pthread_t threads[NR_VCPUS];
	_Atomic bool stop;
	_Atomic int in_guest;	/* fake vCPUs inside their "guest" section */
	_Atomic int violations; /* a vCPU found in the guest while paused */
	_Atomic bool paused;	/* between vm_pause_all() and vm_resume_all() */
	_Atomic uint64_t loops[NR_VCPUS];
	_Atomic uint64_t bad_values;
	/* the refresh-blocked scenario */
	_Atomic int handler_state; /* 1: entering gpc_begin, 2: returned */
	_Atomic bool pause_done;
	_Atomic int state_when_paused;
};

static struct fake *F;

static void watchdog(int sig)
{
	static const char msg[] = "test_pause: watchdog fired: deadlock?\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(3);
	_exit(3);
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static void fake_setup(void)
{
	struct vm *vm;

	F = calloc(1, sizeof(*F));
	assert_non_null(F);
	vm = &F->vm;
	vm->fd = -1;
	vm->stop_eventfd = -1;
	mutex_init(&vm->config_lock, "vm->config_lock", LOCK_RANK_VM_CONFIG);
	assert_int_equal(vm_requests_init(vm), 0);
	assert_int_equal(guest_mem_init(&vm->mem, -1, MEM_BACKING_MEMFD, 0), 0);
	assert_int_equal(guest_mem_add_ram(&vm->mem, 0, LOW_SIZE), 0);
	assert_int_equal(guest_mem_add_ram(&vm->mem, HIGH_RAM_START, HIGH_SIZE), 0);
	vm->boot.kernel_start = KERNEL_LOAD_ADDR;
	vm->boot.kernel_end = KERNEL_LOAD_ADDR + 0x10000;
	vm->vcpus = calloc(NR_VCPUS, sizeof(*vm->vcpus));
	assert_non_null(vm->vcpus);
	for (int i = 0; i < NR_VCPUS; i++) {
		struct vcpu *v = &vm->vcpus[i];

		v->vm = vm;
		v->id = i;
		v->fd = -1;
		v->run = calloc(1, sizeof(*v->run));
		assert_non_null(v->run);
		vcpu_pause_init(v);
	}
	vm->nr_vcpus = NR_VCPUS;
	gpc_init(&F->cache, &vm->mem, "test");
	vcpu_signals_init();
	signal(SIGALRM, watchdog);
	alarm(WATCHDOG_S);
}

static void fake_start(void *(*fn)(void *))
{
	for (int i = 0; i < NR_VCPUS; i++) {
		struct vcpu *v = &F->vm.vcpus[i];

		assert_int_equal(pthread_create(&v->thread, NULL, fn, v), 0);
		atomic_store(&v->thread_started, true);
	}
}

static void fake_join(void)
{
	atomic_store(&F->stop, true);
	for (int i = 0; i < NR_VCPUS; i++)
		vcpu_kick(&F->vm.vcpus[i]);
	for (int i = 0; i < NR_VCPUS; i++) {
		if (atomic_load(&F->vm.vcpus[i].thread_started))
			pthread_join(F->vm.vcpus[i].thread, NULL);
	}
}

static void fake_teardown(void)
{
	struct vm *vm = &F->vm;

	alarm(0);
	gpc_destroy(&F->cache);
	for (int i = 0; i < NR_VCPUS; i++) {
		vcpu_pause_destroy(&vm->vcpus[i]);
		free(vm->vcpus[i].run);
	}
	free(vm->vcpus);
	guest_mem_destroy(&vm->mem);
	vm_requests_destroy(vm);
	mutex_destroy(&vm->config_lock);
	free(F);
	F = NULL;
}

/* One cache over a few words, one word per vCPU: shared, never retargeted. */
#define WORDS_GPA (HIGH_RAM_START + 0x1000)
#define WORDS_LEN (NR_VCPUS * 8)

/* "KVM_RUN" of a halted vCPU (or Xen SCHEDOP_block): sleeps until a kick. */
static void fake_run_until_kicked(struct vcpu *v)
{
	while (!__atomic_load_n(&v->run->immediate_exit, __ATOMIC_SEQ_CST) &&
	       !atomic_load(&F->stop))
		sleep_us(200);
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

/* One "guest" section: the vCPU touches guest memory through the shared cache. */
static void fake_guest_section(struct vcpu *v, uint64_t n)
{
	uint64_t *p;

	atomic_fetch_add(&F->in_guest, 1);
	if (atomic_load(&F->paused))
		atomic_fetch_add(&F->violations, 1);
	p = gpc_begin(&F->cache, WORDS_GPA, WORDS_LEN);
	if (p) {
		p += v->id;
		uint64_t old = __atomic_load_n(p, __ATOMIC_RELAXED);

		/* what this vCPU wrote last, or 0 after a remap emptied the region */
		if (old != 0 && old != n - 1)
			atomic_fetch_add(&F->bad_values, 1);
		__atomic_store_n(p, n, __ATOMIC_RELAXED);
		gpc_end(&F->cache);
	} else {
		atomic_fetch_add(&F->bad_values, 1); /* the region must never look absent */
	}
	atomic_fetch_add(&F->in_guest, -1);
}

static void *vcpu_loop(void *arg)
{
	struct vcpu *v = arg;

	vcpu_set_current(v);
	for (uint64_t n = 1; !atomic_load(&F->stop); n++) {
		vcpu_pause_point(v);
		if (atomic_load(&F->stop))
			break;
		fake_guest_section(v, n);
		atomic_fetch_add(&F->loops[v->id], 1);
		if (v->id == 0) /* vCPU 0 mostly "halts": only a kick brings it out */
			fake_run_until_kicked(v);
		else if (n % 16 == 0)
			sched_yield();
	}
	vcpu_set_exited(v);
	return NULL;
}

static void test_pause_parks_every_vcpu(void **state)
{
	uint64_t before[NR_VCPUS];

	(void)state;
	fake_setup();
	assert_int_equal(gpc_activate(&F->cache, WORDS_GPA, WORDS_LEN), 0);
	fake_start(vcpu_loop);
	for (int round = 0; round < 200; round++) {
		for (int i = 0; i < NR_VCPUS; i++)
			before[i] = atomic_load(&F->loops[i]);
		vm_pause_all(&F->vm);
		atomic_store(&F->paused, true);
		assert_int_equal(atomic_load(&F->in_guest), 0);
		/* the region goes and comes back while they are parked: no vCPU notices */
		assert_int_equal(guest_mem_remap_region(&F->vm.mem, HIGH_RAM_START, HIGH_SIZE), 0);
		if (round % 50 == 0)
			sleep_us(2000); /* give a wrongly running vCPU time to show itself */
		assert_int_equal(atomic_load(&F->in_guest), 0);
		atomic_store(&F->paused, false);
		vm_resume_all(&F->vm);
		/* progress: vCPU 0 "halts" after each section, so only kicks drive it */
		if (round % 50 == 49) {
			for (int i = 0; i < NR_VCPUS; i++)
				while (atomic_load(&F->loops[i]) == before[i])
					sched_yield();
		}
	}
	fake_join();
	assert_int_equal(atomic_load(&F->violations), 0);
	assert_int_equal(atomic_load(&F->bad_values), 0);
	assert_int_equal(F->vm.pauses, 200);
	for (int i = 0; i < NR_VCPUS; i++)
		assert_true(atomic_load(&F->loops[i]) > 0);
	fake_teardown();
}

/* vCPU 1's "exit handler" refreshes the cache while another thread's invalidation runs. */
static void *refresh_vcpu(void *arg)
{
	struct vcpu *v = arg;

	vcpu_set_current(v);
	vcpu_pause_point(v);
	if (v->id == 1) {
		void *p;

		atomic_store(&F->handler_state, 1);
		p = gpc_begin(&F->cache, WORDS_GPA, WORDS_LEN); /* waits for the invalidation */
		if (p)
			gpc_end(&F->cache);
		atomic_store(&F->handler_state, p ? 2 : -1);
	}
	while (!atomic_load(&F->stop)) {
		vcpu_pause_point(v);
		fake_run_until_kicked(v);
	}
	vcpu_set_exited(v);
	return NULL;
}

static void *pauser(void *arg)
{
	(void)arg;
	vm_pause_all(&F->vm);
	atomic_store(&F->state_when_paused, atomic_load(&F->handler_state));
	atomic_store(&F->pause_done, true);
	vm_resume_all(&F->vm);
	return NULL;
}

static void test_pause_waits_out_a_refresh(void **state)
{
	pthread_t p;

	(void)state;
	fake_setup();
	assert_int_equal(gpc_activate(&F->cache, WORDS_GPA, WORDS_LEN), 0);
	/* this thread is the invalidator: it never waits for vCPUs while it holds the count */
	guest_mem_invalidate_begin(&F->vm.mem, HIGH_RAM_START, HIGH_SIZE);
	fake_start(refresh_vcpu);
	while (atomic_load(&F->handler_state) == 0)
		sched_yield();
	assert_int_equal(pthread_create(&p, NULL, pauser, NULL), 0);
	sleep_us(50000);
	/* both are stuck behind the invalidation, whatever the timing */
	assert_int_equal(atomic_load(&F->handler_state), 1);
	assert_false(atomic_load(&F->pause_done));
	guest_mem_invalidate_end(&F->vm.mem, HIGH_RAM_START, HIGH_SIZE);
	pthread_join(p, NULL);
	assert_true(atomic_load(&F->pause_done));
	assert_int_equal(atomic_load(&F->state_when_paused), 2); /* parked after its refresh */
	fake_join();
	fake_teardown();
}

/* vCPU 1 asks the main thread for a remap; vCPUs 0 and 2 pause the VM themselves. */
static _Atomic int call_result = 1;
static _Atomic int self_pauses;

static void *requesting_vcpu(void *arg)
{
	struct vcpu *v = arg;

	vcpu_set_current(v);
	if (v->id == 1) {
		vcpu_pause_point(v);
		atomic_store(&call_result,
			     vm_call_main(&F->vm, VM_REQ_REMAP_REGION, HIGH_RAM_START, HIGH_SIZE));
	} else {
		for (int k = 0; k < 50; k++) {
			vcpu_pause_point(v);
			vm_pause_all(&F->vm); /* a vCPU pausing the others counts as parked */
			atomic_fetch_add(&self_pauses, 1);
			vm_resume_all(&F->vm);
		}
	}
	while (!atomic_load(&F->stop)) {
		vcpu_pause_point(v);
		fake_run_until_kicked(v);
	}
	vcpu_set_exited(v);
	return NULL;
}

static void *late_request(void *arg)
{
	(void)arg;
	vcpu_set_current(&F->vm.vcpus[1]);
	atomic_store(&call_result,
		     vm_call_main(&F->vm, VM_REQ_REMAP_REGION, HIGH_RAM_START, HIGH_SIZE));
	return NULL;
}

static void test_main_thread_request(void **state)
{
	uint64_t v = 0x1234, got = 0;
	struct pollfd pfd;
	pthread_t late;

	(void)state;
	fake_setup();
	F->vm.main_thread = pthread_self();
	F->vm.main_running = true;
	assert_int_equal(guest_mem_write(&F->vm.mem, WORDS_GPA, &v, 8), 0);
	fake_start(requesting_vcpu);
	pfd.fd = F->vm.request_eventfd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, -1) != 1)
		;
	vm_serve_requests(&F->vm); /* pauses every vCPU: vCPU 1 waits for us, counted parked */
	while (atomic_load(&call_result) == 1)
		sched_yield();
	assert_int_equal(atomic_load(&call_result), 0);
	assert_int_equal(F->vm.remaps, 1);
	assert_int_equal(guest_mem_read(&F->vm.mem, WORDS_GPA, &got, 8), 0);
	assert_int_equal(got, 0); /* the region came back empty */
	while (atomic_load(&self_pauses) < 100)
		sched_yield();
	fake_join();
	/* the main loop ended: a late request fails instead of waiting forever */
	vm_close_requests(&F->vm);
	atomic_store(&call_result, 1);
	assert_int_equal(pthread_create(&late, NULL, late_request, NULL), 0);
	pthread_join(late, NULL);
	assert_int_equal(atomic_load(&call_result), -ESHUTDOWN);
	fake_teardown();
}

static void test_remap_bad_requests(void **state)
{
	struct vm *vm;

	(void)state;
	fake_setup();
	vm = &F->vm;
	for (int i = 0; i < NR_VCPUS; i++)
		vcpu_set_exited(&vm->vcpus[i]); /* no threads: nobody to wait for */
	assert_int_equal(vm_remap_region(vm, HIGH_RAM_START + 0x800, HIGH_SIZE), -EINVAL);
	assert_int_equal(vm_remap_region(vm, HIGH_RAM_START, HIGH_SIZE - 0x800), -EINVAL);
	assert_int_equal(vm_remap_region(vm, HIGH_RAM_START, 0), -EINVAL);
	assert_int_equal(vm_remap_region(vm, ~0xfffull, 0x2000), -EINVAL);
	assert_int_equal(vm_remap_region(vm, HIGH_RAM_START, HIGH_SIZE / 2), -ENOENT);
	assert_int_equal(vm_remap_region(vm, HIGH_RAM_START + HIGH_SIZE, 0x1000), -ENOENT);
	assert_int_equal(vm_remap_region(vm, MMIO_HOLE_START, 0x1000), -ENOENT);
	assert_int_equal(vm_remap_region(vm, 0, LOW_SIZE), -EBUSY); /* boot data, kernel */
	assert_int_equal(vm->pauses, 0);			    /* refused before pausing */
	assert_int_equal(vm_remap_region(vm, HIGH_RAM_START, HIGH_SIZE), 0);
	assert_int_equal(vm->pauses, 1);
	fake_teardown();
}

#ifdef LOCKDEP
/* Pausing while this thread holds an invalidation would deadlock: lockdep must refuse it. */
static void test_pause_inside_invalidation_aborts(void **state)
{
	pid_t pid;
	int status = 0;

	(void)state;
	fake_setup();
	for (int i = 0; i < NR_VCPUS; i++)
		vcpu_set_exited(&F->vm.vcpus[i]);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 2);
		guest_mem_invalidate_begin(&F->vm.mem, HIGH_RAM_START, HIGH_SIZE);
		vm_pause_all(&F->vm);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	fake_teardown();
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pause_parks_every_vcpu),
		cmocka_unit_test(test_pause_waits_out_a_refresh),
		cmocka_unit_test(test_main_thread_request),
		cmocka_unit_test(test_remap_bad_requests),
#ifdef LOCKDEP
		cmocka_unit_test(test_pause_inside_invalidation_aborts),
#endif
	};

	return cmocka_run_group_tests_name("pause", tests, NULL, NULL);
}
