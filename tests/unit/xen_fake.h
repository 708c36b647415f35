/* SPDX-License-Identifier: MIT */
/*
 * A fake VM for the Xen core tests (header-only; included by tests/unit/test_xen*.c and
 * tests/fuzz/fuzz_xen.c): guest RAM in a memfd without KVM, guest-virtual addresses =
 * guest-physical + XF_GVA_OFF (so code that confuses the two faults), a hole in the virtual
 * space, and a fake local APIC per vCPU that records the vectors raised on it.
 */
#ifndef MINIVMM_TESTS_XEN_FAKE_H
#define MINIVMM_TESTS_XEN_FAKE_H

#include <linux/futex.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../../arch/x86/layout.h"
#include "../../arch/x86/xen/xen.h"
#include "../../vmm/guest_mem.h"

#define XF_RAM_SIZE (8ull << 20)
#define XF_GVA_OFF 0xffff888000000000ull
#define XF_HOLE_GVA (XF_GVA_OFF + XF_RAM_SIZE) /* not mapped */
#define XF_MAX_VCPUS 8
#define XF_SCRATCH(v) (0x100000ull + (uint64_t)(v)*0x1000) /* per-vCPU argument page */

struct xf_apic {
	_Atomic uint64_t raised;
	_Atomic uint64_t callbacks; /* kicks for the global callback vector (not the APIC) */
	_Atomic uint32_t last_vector;
	_Atomic uint32_t irq; /* futex word: bumped on every raise */
};

struct xf {
	struct guest_mem mem;
	struct xen *xen;
	unsigned int nr_vcpus;
	_Atomic bool stopping;
	struct xf_apic apic[XF_MAX_VCPUS];
	_Atomic int shutdowns;
	_Atomic int shutdown_reason;
};

static inline uint64_t xf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int xf_translate(void *opaque, unsigned int vcpu, uint64_t gva, uint64_t *gpa)
{
	(void)opaque, (void)vcpu;
	if (gva < XF_GVA_OFF || gva - XF_GVA_OFF >= XF_RAM_SIZE)
		return -1;
	*gpa = gva - XF_GVA_OFF;
	return 0;
}

static inline void xf_raise(void *opaque, unsigned int vcpu, uint8_t vector)
{
	struct xf *f = opaque;

	atomic_store(&f->apic[vcpu].last_vector, vector);
	atomic_fetch_add(&f->apic[vcpu].raised, 1);
	atomic_fetch_add(&f->apic[vcpu].irq, 1);
	syscall(SYS_futex, (uint32_t *)&f->apic[vcpu].irq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static inline void xf_raise_callback(void *opaque, unsigned int vcpu)
{
	struct xf *f = opaque;

	atomic_fetch_add(&f->apic[vcpu].callbacks, 1);
}

static inline void xf_shutdown(void *opaque, unsigned int vcpu, unsigned int reason)
{
	struct xf *f = opaque;

	(void)vcpu;
	atomic_store(&f->shutdown_reason, (int)reason);
	atomic_fetch_add(&f->shutdowns, 1);
	atomic_store(&f->stopping, true);
}

/* a 1 GHz TSC that is the monotonic clock */
static inline int xf_read_tsc(void *opaque, unsigned int vcpu, uint64_t *tsc, uint32_t *khz)
{
	(void)opaque, (void)vcpu;
	*tsc = xf_now_ns();
	*khz = 1000000;
	return 0;
}

static const struct xen_ops xf_ops = {
	.translate = xf_translate,
	.raise_vector = xf_raise,
	.raise_callback = xf_raise_callback,
	.shutdown = xf_shutdown,
	.read_tsc = xf_read_tsc,
};

/*
 * The fake VM with the caller's ops (the fuzzer adds `interrupted`; opaque is always f) and
 * RAM backing; xf_fini() undoes it. The caller may add RAM regions before the first
 * hypercall.
 */
static inline int xf_init_ops(struct xf *f, unsigned int nr_vcpus, bool timer_thread,
			      const struct xen_ops *ops, enum mem_backing backing)
{
	struct xen_config cfg = { .nr_vcpus = nr_vcpus,
				  .version = XEN_VERSION(4, 17),
				  .timer_thread = timer_thread };

	memset(f, 0, sizeof(*f));
	f->nr_vcpus = nr_vcpus;
	guest_mem_init(&f->mem, -1, backing, 0);
	if (guest_mem_add_ram(&f->mem, 0, XF_RAM_SIZE)) {
		guest_mem_destroy(&f->mem);
		return -1;
	}
	f->xen = xen_new(&f->mem, &cfg, ops, f, &f->stopping);
	if (!f->xen) {
		guest_mem_destroy(&f->mem);
		return -1;
	}
	return 0;
}

static inline int xf_init(struct xf *f, unsigned int nr_vcpus, bool timer_thread)
{
	return xf_init_ops(f, nr_vcpus, timer_thread, &xf_ops, MEM_BACKING_MEMFD);
}

static inline void xf_fini(struct xf *f)
{
	xen_free(f->xen);
	f->xen = NULL;
	guest_mem_destroy(&f->mem);
}

/* the VMM's view of a guest-physical address (tests only: no cache, no lock held after) */
static inline void *xf_ptr(struct xf *f, uint64_t gpa)
{
	return guest_mem_boot_ptr(&f->mem, gpa, 1);
}

static inline uint64_t xf_gva(uint64_t gpa)
{
	return gpa + XF_GVA_OFF;
}

static inline int64_t xf_hc(struct xf *f, unsigned int vcpu, uint64_t nr, uint64_t a0, uint64_t a1,
			    uint64_t a2)
{
	uint64_t args[5] = { a0, a1, a2, 0, 0 };

	return xen_hypercall(f->xen, vcpu, nr, args);
}

/* Put an argument struct in vCPU v's scratch page; returns its guest-virtual address. */
static inline uint64_t xf_arg(struct xf *f, unsigned int v, const void *arg, size_t len)
{
	memcpy(xf_ptr(f, XF_SCRATCH(v)), arg, len);
	return xf_gva(XF_SCRATCH(v));
}

static inline void xf_arg_out(struct xf *f, unsigned int v, void *arg, size_t len)
{
	memcpy(arg, xf_ptr(f, XF_SCRATCH(v)), len);
}

/* evtchn op with its struct through vCPU v's scratch page (copied back) */
static inline int64_t xf_evtchn(struct xf *f, unsigned int v, unsigned int cmd, void *arg,
				size_t len)
{
	int64_t r = xf_hc(f, v, __HYPERVISOR_event_channel_op, cmd, xf_arg(f, v, arg, len), 0);

	xf_arg_out(f, v, arg, len);
	return r;
}

static inline int64_t xf_map_shinfo(struct xf *f, unsigned int v, uint64_t gpa)
{
	struct xen_add_to_physmap x = {
		.domid = DOMID_SELF, .space = XENMAPSPACE_shared_info, .idx = 0, .gpfn = gpa >> 12
	};

	return xf_hc(f, v, __HYPERVISOR_memory_op, XENMEM_add_to_physmap,
		     xf_arg(f, v, &x, sizeof(x)), 0);
}

static inline int64_t xf_register_vcpu_info(struct xf *f, unsigned int v, unsigned int target,
					    uint64_t gpa)
{
	struct vcpu_register_vcpu_info r = { .mfn = gpa >> 12, .offset = (uint32_t)(gpa & 0xfff) };

	return xf_hc(f, v, __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, target,
		     xf_arg(f, v, &r, sizeof(r)));
}

static inline int64_t xf_set_upcall_vector(struct xf *f, unsigned int v, unsigned int target,
					   uint8_t vector)
{
	struct xen_hvm_evtchn_upcall_vector u = { .vcpu = target, .vector = vector };

	return xf_hc(f, v, __HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector,
		     xf_arg(f, v, &u, sizeof(u)), 0);
}

static inline int64_t xf_bind_ipi(struct xf *f, unsigned int v, unsigned int target)
{
	struct evtchn_bind_ipi b = { .vcpu = target };
	int64_t r = xf_evtchn(f, v, EVTCHNOP_bind_ipi, &b, sizeof(b));

	return r ? r : b.port;
}

static inline int64_t xf_port_op(struct xf *f, unsigned int v, unsigned int cmd, uint32_t port)
{
	struct evtchn_port_op p = { .port = port };

	return xf_evtchn(f, v, cmd, &p, sizeof(p));
}

static inline int64_t xf_send(struct xf *f, unsigned int v, uint32_t port)
{
	return xf_port_op(f, v, EVTCHNOP_send, port);
}

/* system time as the guest computes it from vcpu_time_info (and this 1 GHz fake TSC) */
static inline uint64_t xf_guest_time(const struct vcpu_time_info *t)
{
	uint64_t delta = xf_now_ns() - __atomic_load_n(&t->tsc_timestamp, __ATOMIC_RELAXED);
	int8_t shift = __atomic_load_n(&t->tsc_shift, __ATOMIC_RELAXED);

	delta = shift < 0 ? delta >> -shift : delta << shift;
	return __atomic_load_n(&t->system_time, __ATOMIC_RELAXED) +
	       (uint64_t)(((unsigned __int128)delta *
			   __atomic_load_n(&t->tsc_to_system_mul, __ATOMIC_RELAXED)) >>
			  32);
}

#endif
