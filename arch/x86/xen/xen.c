// SPDX-License-Identifier: MIT
/*
 * Xen HVM core: state, the hypercall dispatcher, guest-pointer copies, xen_version, memory_op
 * (shared_info, balloon), hvm_op, vcpu_op, the hypercall page, vcpu_time_info and stats.
 * Event channels are in evtchn.c, blocking and timers in xen_sched.c. Rules: xen.h.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../../vmm/guest_mem.h"
#include "../../../vmm/log.h"
#include "xen_internal.h"

uint64_t xen_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t xen_system_time(const struct xen *xen)
{
	return xen_now_ns() - xen->boot_ns;
}

bool xen_domid_is_self(uint16_t domid)
{
	return domid == DOMID_SELF || domid == XEN_DOMID;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

struct xen *xen_new(struct guest_mem *mem, const struct xen_config *cfg, const struct xen_ops *ops,
		    void *opaque, _Atomic bool *vm_stopping)
{
	struct xen *xen;

	if (!cfg->nr_vcpus || !ops || !ops->translate || !ops->raise_vector || !ops->shutdown)
		return NULL;
	xen = calloc(1, sizeof(*xen));
	if (!xen)
		return NULL;
	xen->vcpus = calloc(cfg->nr_vcpus, sizeof(*xen->vcpus));
	xen->timer_fire = calloc(cfg->nr_vcpus, sizeof(*xen->timer_fire));
	if (!xen->vcpus || !xen->timer_fire) {
		free(xen->vcpus);
		free(xen->timer_fire);
		free(xen);
		return NULL;
	}
	xen->mem = mem;
	xen->ops = ops;
	xen->opaque = opaque;
	xen->vm_stopping = vm_stopping;
	xen->nr_vcpus = cfg->nr_vcpus;
	xen->version = cfg->version ? cfg->version : XEN_DEFAULT_VERSION;
	xen->boot_ns = xen_now_ns();
	xen->shinfo_gpa = XEN_INVALID_GPA;
	xen->timer_wake_at = UINT64_MAX;
	xen->timer_fd = -1;
	mutex_init(&xen->lock, "xen->lock", LOCK_RANK_XEN);
	gpc_init(&xen->shinfo_cache, mem, "xen shared_info");
	for (unsigned int i = 0; i < cfg->nr_vcpus; i++) {
		struct xen_vcpu *v = &xen->vcpus[i];

		v->xen = xen;
		v->id = i;
		v->vcpu_info_gpa = XEN_INVALID_GPA;
		gpc_init(&v->vcpu_info_cache, mem, "xen vcpu_info");
	}
	if (cfg->timer_thread && xen_timer_thread_start(xen)) {
		xen_free(xen);
		return NULL;
	}
	return xen;
}

void xen_stop(struct xen *xen)
{
	if (!xen)
		return;
	atomic_store(&xen->stopping, true);
	for (unsigned int i = 0; i < xen->nr_vcpus; i++) {
		atomic_fetch_add(&xen->vcpus[i].wake_seq, 1);
		xen_futex_wake(&xen->vcpus[i].wake_seq);
	}
	xen_timer_thread_kick(xen);
}

void xen_free(struct xen *xen)
{
	if (!xen)
		return;
	xen_stop(xen);
	xen_timer_thread_stop(xen);
	for (unsigned int i = 0; i < xen->nr_vcpus; i++)
		gpc_destroy(&xen->vcpus[i].vcpu_info_cache);
	gpc_destroy(&xen->shinfo_cache);
	mutex_destroy(&xen->lock);
	free(xen->timer_fire);
	free(xen->vcpus);
	free(xen);
}

/* ---- guest pointers -------------------------------------------------------------------- */

/* Guest pointers are guest-virtual: translate page by page on the calling vCPU. */
static int xen_copy(struct xen_vcpu *v, uint64_t gva, void *buf, size_t len, bool to_guest)
{
	struct xen *xen = v->xen;
	uint8_t *p = buf;

	while (len) {
		size_t chunk = XEN_PAGE_SIZE - (gva & (XEN_PAGE_SIZE - 1));
		uint64_t gpa;
		int err;

		if (chunk > len)
			chunk = len;
		if (xen->ops->translate(xen->opaque, v->id, gva & ~(uint64_t)(XEN_PAGE_SIZE - 1),
					&gpa))
			return -XEN_EFAULT;
		gpa = (gpa & ~(uint64_t)(XEN_PAGE_SIZE - 1)) | (gva & (XEN_PAGE_SIZE - 1));
		err = to_guest ? guest_mem_write(xen->mem, gpa, p, chunk)
			       : guest_mem_read(xen->mem, gpa, p, chunk);
		if (err)
			return -XEN_EFAULT; /* hole, MMIO or a private page */
		p += chunk;
		gva += chunk;
		len -= chunk;
	}
	return 0;
}

int xen_copy_from_guest(struct xen_vcpu *v, void *dst, uint64_t gva, size_t len)
{
	return xen_copy(v, gva, dst, len, false);
}

int xen_copy_to_guest(struct xen_vcpu *v, uint64_t gva, const void *src, size_t len)
{
	return xen_copy(v, gva, (void *)src, len, true);
}

/* ---- shared_info / vcpu_info through the caches ----------------------------------------- */

struct shared_info *xen_shinfo_begin_locked(struct xen *xen)
{
	if (xen->shinfo_gpa == XEN_INVALID_GPA)
		return NULL;
	return gpc_begin(&xen->shinfo_cache, xen->shinfo_gpa, XEN_PAGE_SIZE);
}

void xen_shinfo_end(struct xen *xen)
{
	gpc_end(&xen->shinfo_cache);
}

uint64_t xen_vcpu_info_gpa_locked(struct xen *xen, struct xen_vcpu *v)
{
	if (v->vcpu_info_gpa != XEN_INVALID_GPA)
		return v->vcpu_info_gpa;
	if (v->id < XEN_LEGACY_MAX_VCPUS && xen->shinfo_gpa != XEN_INVALID_GPA)
		return xen->shinfo_gpa + v->id * sizeof(struct vcpu_info);
	return XEN_INVALID_GPA;
}

struct vcpu_info *xen_vcpu_info_begin_locked(struct xen *xen, struct xen_vcpu *v)
{
	uint64_t gpa = xen_vcpu_info_gpa_locked(xen, v);

	if (gpa == XEN_INVALID_GPA)
		return NULL;
	return gpc_begin(&v->vcpu_info_cache, gpa, sizeof(struct vcpu_info));
}

void xen_vcpu_info_end(struct xen_vcpu *v)
{
	gpc_end(&v->vcpu_info_cache);
}

/* Word-wise atomic copies: the guest may touch these pages with locked instructions. */
static void load_words(uint64_t *dst, const uint64_t *src, size_t words)
{
	for (size_t i = 0; i < words; i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

static void store_words(uint64_t *dst, const uint64_t *src, size_t words)
{
	for (size_t i = 0; i < words; i++)
		__atomic_store_n(&dst[i], src[i], __ATOMIC_RELAXED);
}

static uint8_t xen_upcall_vector_locked(struct xen *xen, struct xen_vcpu *v)
{
	uint64_t via = xen->hvm_params[HVM_PARAM_CALLBACK_IRQ];

	if (v->upcall_vector)
		return v->upcall_vector;
	if (via >> 56 == HVM_PARAM_CALLBACK_TYPE_VECTOR)
		return (uint8_t)via;
	/*
	 * Linux sets "GSI 1" once it uses per-vCPU vectors, "to look enlightened", and a vCPU
	 * may get events before it set its own vector (they are raised when it does): only a
	 * guest relying on the GSI alone is warned about.
	 */
	if (via && !xen->gsi_callback_warned && !xen->percpu_vectors) {
		xen->gsi_callback_warned = true;
		pr_warn("xen: callback via GSI/PCI INTx (%#llx) is not delivered; guests need the "
			"callback vector or a per-vCPU upcall vector",
			(unsigned long long)via);
	}
	return 0;
}

void xen_notify_upcall_locked(struct xen *xen, struct xen_vcpu *v, struct xen_notify *n)
{
	n->vcpu = (int)v->id;
	n->vector = xen_upcall_vector_locked(xen, v);
	n->callback = n->vector && !v->upcall_vector;
}

void xen_upcall_dropped(struct xen *xen, unsigned int vcpu)
{
	if (vcpu < xen->nr_vcpus)
		atomic_store(&xen->vcpus[vcpu].upcall_owed, true);
}

void xen_upcall_retry_locked(struct xen *xen, struct xen_vcpu *v, struct xen_notify *n)
{
	struct vcpu_info *vi;

	if (!atomic_exchange(&v->upcall_owed, false))
		return;
	vi = xen_vcpu_info_begin_locked(xen, v);
	if (!vi)
		return;
	/* the guest cleared it meanwhile: it took its events, nothing is owed */
	if (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST)) {
		xen_notify_upcall_locked(xen, v, n);
		atomic_fetch_add(&v->upcalls_reraised, 1);
	}
	xen_vcpu_info_end(v);
}

void xen_notify_init(struct xen_notify *n)
{
	n->vcpu = -1;
	n->vector = 0;
	n->callback = false;
	n->wake_pollers = false;
}

void xen_vcpu_wake(struct xen_vcpu *v)
{
	if (!atomic_load(&v->blocked))
		return;
	atomic_fetch_add(&v->wake_seq, 1);
	xen_futex_wake(&v->wake_seq);
}

void xen_notify_apply(struct xen *xen, const struct xen_notify *n)
{
	if (n->vcpu >= 0) {
		struct xen_vcpu *v = &xen->vcpus[n->vcpu];

		atomic_fetch_add(&v->upcalls, 1);
		if (n->callback && xen->ops->raise_callback)
			xen->ops->raise_callback(xen->opaque, (unsigned int)n->vcpu);
		else if (n->vector)
			xen->ops->raise_vector(xen->opaque, (unsigned int)n->vcpu, n->vector);
		xen_vcpu_wake(v);
	}
	if (n->wake_pollers) {
		for (unsigned int i = 0; i < xen->nr_vcpus; i++) {
			struct xen_vcpu *v = &xen->vcpus[i];

			if (atomic_load(&v->polling)) {
				atomic_fetch_add(&v->wake_seq, 1);
				xen_futex_wake(&v->wake_seq);
			}
		}
	}
}

/* ---- time ------------------------------------------------------------------------------ */

/* Xen's set_time_scale(): ns = ((tsc_delta << shift) * mul) >> 32, 2^31 <= mul < 2^32. */
static void time_scale(uint64_t hz, uint32_t *mul, int8_t *shift)
{
	uint64_t tps64 = hz;
	uint32_t tps32;
	int s = 0;

	while (tps64 > 2000000000ull) {
		tps64 >>= 1;
		s--;
	}
	tps32 = (uint32_t)tps64;
	while (tps32 <= 1000000000u) {
		tps32 <<= 1;
		s++;
	}
	*mul = (uint32_t)((1000000000ull << 32) / tps32);
	*shift = (int8_t)s;
}

/* One (TSC, system time) reference for the VM, sampled on the first vCPU that calls. */
static void xen_time_sample(struct xen_vcpu *v)
{
	struct xen *xen = v->xen;
	uint64_t t0, t1, tsc;
	uint32_t khz = 0;

	if (!xen->ops->read_tsc)
		return;
	t0 = xen_now_ns();
	if (xen->ops->read_tsc(xen->opaque, v->id, &tsc, &khz) || khz < 1000)
		return;
	t1 = xen_now_ns();
	mutex_lock(&xen->lock);
	if (!atomic_load(&xen->time_ref_valid)) {
		xen->time_ref.tsc = tsc;
		xen->time_ref.system_ns = t0 + (t1 - t0) / 2 - xen->boot_ns;
		time_scale((uint64_t)khz * 1000, &xen->time_ref.mul, &xen->time_ref.shift);
		atomic_store(&xen->time_ref_valid, true);
	}
	mutex_unlock(&xen->lock);
}

/* Caller holds xen->lock and is inside vi's cache section. */
void xen_write_time_info(struct xen *xen, struct vcpu_info *vi)
{
	struct vcpu_time_info *t = &vi->time;
	uint32_t version;

	if (!atomic_load(&xen->time_ref_valid))
		return;
	version = (__atomic_load_n(&t->version, __ATOMIC_RELAXED) + 1) | 1;
	/* odd version, fields, even version: release stores keep that order (no fences: TSan) */
	__atomic_store_n(&t->version, version, __ATOMIC_SEQ_CST);
	__atomic_store_n(&t->tsc_timestamp, xen->time_ref.tsc, __ATOMIC_RELEASE);
	__atomic_store_n(&t->system_time, xen->time_ref.system_ns, __ATOMIC_RELEASE);
	__atomic_store_n(&t->tsc_to_system_mul, xen->time_ref.mul, __ATOMIC_RELEASE);
	__atomic_store_n(&t->tsc_shift, xen->time_ref.shift, __ATOMIC_RELEASE);
	__atomic_store_n(&t->flags, (uint8_t)XEN_PVCLOCK_TSC_STABLE_BIT, __ATOMIC_RELEASE);
	__atomic_store_n(&t->version, version + 1, __ATOMIC_RELEASE);
}

/* ---- stats ----------------------------------------------------------------------------- */

void xen_count_unsupported(struct xen_vcpu *v, uint64_t nr, uint64_t sub)
{
	uint64_t key = nr << 32 | (sub & 0xffffffffu);

	v->stats.unsupported++;
	for (unsigned int i = 0; i < sizeof(v->unsupported) / sizeof(v->unsupported[0]); i++) {
		if (v->unsupported[i].count && v->unsupported[i].key != key)
			continue;
		v->unsupported[i].key = key;
		v->unsupported[i].count++;
		return;
	}
}

static const char *const hypercall_names[XEN_NR_HYPERCALLS] = {
	[__HYPERVISOR_memory_op] = "memory_op",
	[__HYPERVISOR_set_timer_op] = "set_timer_op",
	[__HYPERVISOR_xen_version] = "xen_version",
	[__HYPERVISOR_console_io] = "console_io",
	[__HYPERVISOR_vm_assist] = "vm_assist",
	[__HYPERVISOR_grant_table_op] = "grant_table_op",
	[__HYPERVISOR_vcpu_op] = "vcpu_op",
	[__HYPERVISOR_sched_op] = "sched_op",
	[__HYPERVISOR_event_channel_op] = "event_channel_op",
	[__HYPERVISOR_physdev_op] = "physdev_op",
	[__HYPERVISOR_hvm_op] = "hvm_op",
};

static const char *const evtchn_op_names[EVTCHNOP_COUNT] = {
	"bind_interdomain", "bind_virq",    "bind_pirq", "close",  "send",  "status",
	"alloc_unbound",    "bind_ipi",	    "bind_vcpu", "unmask", "reset", "init_control",
	"expand_array",	    "set_priority",
};

void xen_get_vcpu_stats(struct xen *xen, unsigned int vcpu, struct xen_vcpu_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (vcpu >= xen->nr_vcpus)
		return;
	*out = xen->vcpus[vcpu].stats;
	out->upcalls = atomic_load(&xen->vcpus[vcpu].upcalls);
	out->timers = atomic_load(&xen->vcpus[vcpu].timer_fires);
	out->upcalls_reraised = atomic_load(&xen->vcpus[vcpu].upcalls_reraised);
	out->callbacks_injected = atomic_load(&xen->vcpus[vcpu].callbacks_injected);
}

void xen_get_event_stats(struct xen *xen, struct xen_event_stats *out)
{
	out->delivered = atomic_load(&xen->events_sent);
	out->coalesced = atomic_load(&xen->events_coalesced);
	out->masked = atomic_load(&xen->events_masked);
	out->undeliverable = atomic_load(&xen->events_lost);
	out->timer_moves = atomic_load(&xen->timer_moves);
}

#define STAT_LINE 1024
#define XEN_UNSUPPORTED_SLOTS \
	(sizeof(((struct xen_vcpu *)0)->unsupported) / sizeof(struct xen_unsupported))

/* "hvm_op/9" for a sub-op of a known hypercall, "hypercall/41" for an unknown hypercall */
static void unsupported_name(uint64_t key, char *buf, size_t len)
{
	uint64_t nr = key >> 32;

	if (nr < XEN_NR_HYPERCALLS && hypercall_names[nr])
		snprintf(buf, len, "%s/%llu", hypercall_names[nr],
			 (unsigned long long)(key & 0xffffffffu));
	else
		snprintf(buf, len, "hypercall/%llu", (unsigned long long)nr);
}

void xen_print_stats_core(struct xen *xen, FILE *out)
{
	fprintf(out,
		"minivmm stats: xen: events delivered %llu, coalesced %llu, masked %llu, "
		"undeliverable %llu; timer thread moved earlier by %llu set timers\n",
		(unsigned long long)atomic_load(&xen->events_sent),
		(unsigned long long)atomic_load(&xen->events_coalesced),
		(unsigned long long)atomic_load(&xen->events_masked),
		(unsigned long long)atomic_load(&xen->events_lost),
		(unsigned long long)atomic_load(&xen->timer_moves));
	for (unsigned int i = 0; i < xen->nr_vcpus; i++) {
		struct xen_vcpu *v = &xen->vcpus[i];
		char line[STAT_LINE];
		size_t off = 0;

#define APPEND(...)                                                                           \
	do {                                                                                  \
		if (off < sizeof(line))                                                       \
			off += (size_t)snprintf(line + off, sizeof(line) - off, __VA_ARGS__); \
	} while (0)
		APPEND("%llu hypercalls", (unsigned long long)v->stats.hypercalls);
		for (unsigned int nr = 0; nr < XEN_NR_HYPERCALLS; nr++) {
			if (v->stats.by_nr[nr])
				APPEND(" %s=%llu",
				       hypercall_names[nr] ? hypercall_names[nr] : "other",
				       (unsigned long long)v->stats.by_nr[nr]);
		}
		APPEND(";");
		for (unsigned int op = 0; op < EVTCHNOP_COUNT; op++) {
			if (v->stats.evtchn_ops[op])
				APPEND(" evtchn_%s=%llu", evtchn_op_names[op],
				       (unsigned long long)v->stats.evtchn_ops[op]);
		}
		APPEND("; upcalls %llu (%llu raised again, %llu injected as the callback "
		       "vector), timers %llu, blocked %.3f ms, unsupported %llu",
		       (unsigned long long)atomic_load(&v->upcalls),
		       (unsigned long long)atomic_load(&v->upcalls_reraised),
		       (unsigned long long)atomic_load(&v->callbacks_injected),
		       (unsigned long long)atomic_load(&v->timer_fires),
		       (double)v->stats.blocked_ns / 1e6, (unsigned long long)v->stats.unsupported);
		for (unsigned int u = 0; u < XEN_UNSUPPORTED_SLOTS; u++) {
			char name[64];

			if (!v->unsupported[u].count)
				continue;
			unsupported_name(v->unsupported[u].key, name, sizeof(name));
			APPEND(" %s=%llu", name, (unsigned long long)v->unsupported[u].count);
		}
#undef APPEND
		fprintf(out, "minivmm stats: xen vcpu%u: %s\n", i, line);
	}
}

void xen_print_stats_json(struct xen *xen, FILE *out)
{
	fprintf(out,
		"{\"events\":{\"delivered\":%llu,\"coalesced\":%llu,\"masked\":%llu,"
		"\"undeliverable\":%llu},\"timer_thread_moved\":%llu,\"vcpus\":[",
		(unsigned long long)atomic_load(&xen->events_sent),
		(unsigned long long)atomic_load(&xen->events_coalesced),
		(unsigned long long)atomic_load(&xen->events_masked),
		(unsigned long long)atomic_load(&xen->events_lost),
		(unsigned long long)atomic_load(&xen->timer_moves));
	for (unsigned int i = 0; i < xen->nr_vcpus; i++) {
		struct xen_vcpu *v = &xen->vcpus[i];
		bool first = true;

		fprintf(out, "%s{\"id\":%u,\"hypercalls\":%llu,\"by_hypercall\":{", i ? "," : "", i,
			(unsigned long long)v->stats.hypercalls);
		for (unsigned int nr = 0; nr < XEN_NR_HYPERCALLS; nr++) {
			if (!v->stats.by_nr[nr])
				continue;
			if (hypercall_names[nr])
				fprintf(out, "%s\"%s\":%llu", first ? "" : ",", hypercall_names[nr],
					(unsigned long long)v->stats.by_nr[nr]);
			else
				fprintf(out, "%s\"%u\":%llu", first ? "" : ",", nr,
					(unsigned long long)v->stats.by_nr[nr]);
			first = false;
		}
		fputs("},\"event_channel_ops\":{", out);
		first = true;
		for (unsigned int op = 0; op < EVTCHNOP_COUNT; op++) {
			if (!v->stats.evtchn_ops[op])
				continue;
			fprintf(out, "%s\"%s\":%llu", first ? "" : ",", evtchn_op_names[op],
				(unsigned long long)v->stats.evtchn_ops[op]);
			first = false;
		}
		fprintf(out,
			"},\"upcalls\":%llu,\"upcalls_reraised\":%llu,\"callbacks_injected\":%llu,"
			"\"timers\":%llu,\"blocked_s\":%.6f,\"unsupported\":%llu,",
			(unsigned long long)atomic_load(&v->upcalls),
			(unsigned long long)atomic_load(&v->upcalls_reraised),
			(unsigned long long)atomic_load(&v->callbacks_injected),
			(unsigned long long)atomic_load(&v->timer_fires),
			(double)v->stats.blocked_ns / 1e9,
			(unsigned long long)v->stats.unsupported);
		/* which ones (the first XEN_UNSUPPORTED_SLOTS kinds) */
		fputs("\"unsupported_ops\":{", out);
		first = true;
		for (unsigned int u = 0; u < XEN_UNSUPPORTED_SLOTS; u++) {
			char name[64];

			if (!v->unsupported[u].count)
				continue;
			unsupported_name(v->unsupported[u].key, name, sizeof(name));
			fprintf(out, "%s\"%s\":%llu", first ? "" : ",", name,
				(unsigned long long)v->unsupported[u].count);
			first = false;
		}
		fputs("}}", out);
	}
	fputs("]}", out);
}

/* ---- xen_version ----------------------------------------------------------------------- */

static int64_t xen_version_op(struct xen_vcpu *v, uint32_t cmd, uint64_t arg)
{
	struct xen *xen = v->xen;

	switch (cmd) {
	case XENVER_version:
		return xen->version;
	case XENVER_extraversion: {
		char extra[XEN_EXTRAVERSION_LEN] = ".0-minivmm";

		return xen_copy_to_guest(v, arg, extra, sizeof(extra));
	}
	case XENVER_changeset: {
		char changeset[XEN_CHANGESET_LEN] = "minivmm";

		return xen_copy_to_guest(v, arg, changeset, sizeof(changeset));
	}
	case XENVER_get_features: {
		struct xen_feature_info fi;
		int err = xen_copy_from_guest(v, &fi, arg, sizeof(fi));

		if (err)
			return err;
		if (fi.submap_idx != 0)
			return -XEN_EINVAL;
		fi.submap = 1u << XENFEAT_writable_page_tables |
			    1u << XENFEAT_auto_translated_physmap |
			    1u << XENFEAT_hvm_callback_vector;
		/*
		 * Every vcpu_info carries a pvclock (xen_write_time_info) once the VM's TSC
		 * reference exists: Linux then takes its TSC frequency, clock, wall clock and
		 * timer (VCPUOP_set_singleshot_timer + VIRQ_TIMER) from Xen, as it must where
		 * the PIT cannot calibrate the TSC and there is no HPET or PM timer.
		 */
		if (atomic_load(&xen->time_ref_valid))
			fi.submap |= 1u << XENFEAT_hvm_safe_pvclock;
		return xen_copy_to_guest(v, arg, &fi, sizeof(fi));
	}
	case XENVER_pagesize:
		return XEN_PAGE_SIZE;
	default:
		xen_count_unsupported(v, __HYPERVISOR_xen_version, cmd);
		return -XEN_ENOSYS;
	}
}

/* ---- memory_op ------------------------------------------------------------------------- */

static void write_wallclock(struct xen *xen, struct shared_info *s)
{
	struct timespec rt;
	uint64_t ns, sys = xen_system_time(xen), wc;
	uint32_t version = (__atomic_load_n(&s->wc_version, __ATOMIC_RELAXED) + 1) | 1;

	clock_gettime(CLOCK_REALTIME, &rt);
	ns = (uint64_t)rt.tv_sec * 1000000000ull + (uint64_t)rt.tv_nsec;
	wc = ns > sys ? ns - sys : 0; /* wall clock at system time 0 */
	__atomic_store_n(&s->wc_version, version, __ATOMIC_SEQ_CST);
	__atomic_store_n(&s->wc_sec, (uint32_t)(wc / 1000000000ull), __ATOMIC_RELEASE);
	__atomic_store_n(&s->wc_sec_hi, (uint32_t)(wc / 1000000000ull >> 32), __ATOMIC_RELEASE);
	__atomic_store_n(&s->wc_nsec, (uint32_t)(wc % 1000000000ull), __ATOMIC_RELEASE);
	__atomic_store_n(&s->wc_version, version + 1, __ATOMIC_RELEASE);
}

/*
 * Put shared_info at new_gpa. As in Xen, shared_info is one page that moves with its contents
 * (a first mapping shows a fresh page): pending and mask bits survive a move, and a send
 * serialised after the move (xen->lock) lands in the new page only.
 */
static int64_t xen_map_shared_info(struct xen *xen, uint64_t new_gpa)
{
	static const size_t words = XEN_PAGE_SIZE / sizeof(uint64_t);
	uint64_t buf[XEN_PAGE_SIZE / sizeof(uint64_t)];
	bool first = false;
	struct shared_info *s;

	memset(buf, 0, sizeof(buf));
	mutex_lock(&xen->lock);
	if (xen->shinfo_gpa == new_gpa) {
		mutex_unlock(&xen->lock);
		return 0;
	}
	s = xen_shinfo_begin_locked(xen);
	if (s) {
		load_words(buf, (const uint64_t *)s, words);
		xen_shinfo_end(xen);
	} else {
		first = xen->shinfo_gpa == XEN_INVALID_GPA;
	}
	s = gpc_begin(&xen->shinfo_cache, new_gpa, XEN_PAGE_SIZE);
	if (!s) {
		/* not RAM, or private: the old location stays (the cache retargets to it) */
		mutex_unlock(&xen->lock);
		return -XEN_EINVAL;
	}
	store_words((uint64_t *)s, buf, words);
	if (first)
		write_wallclock(xen, s);
	xen_shinfo_end(xen);
	xen->shinfo_gpa = new_gpa;

	/* vcpu_infos in the shared_info slots moved with it: give them the time info */
	for (unsigned int i = 0; i < xen->nr_vcpus && i < XEN_LEGACY_MAX_VCPUS; i++) {
		struct xen_vcpu *v = &xen->vcpus[i];
		struct vcpu_info *vi;

		if (v->vcpu_info_gpa != XEN_INVALID_GPA)
			continue;
		vi = xen_vcpu_info_begin_locked(xen, v);
		if (vi) {
			xen_write_time_info(xen, vi);
			xen_vcpu_info_end(v);
		}
	}
	mutex_unlock(&xen->lock);
	return 0;
}

static int64_t xen_add_to_physmap(struct xen_vcpu *v, uint64_t arg)
{
	struct xen_add_to_physmap x;
	int err = xen_copy_from_guest(v, &x, arg, sizeof(x));

	if (err)
		return err;
	if (!xen_domid_is_self(x.domid))
		return -XEN_ESRCH;
	if (x.space != XENMAPSPACE_shared_info) {
		xen_count_unsupported(v, __HYPERVISOR_memory_op, 0x700 | (x.space & 0xff));
		return -XEN_ENOSYS;
	}
	if (x.idx != 0 || x.gpfn >= 1ull << (52 - XEN_PAGE_SHIFT))
		return -XEN_EINVAL;
	return xen_map_shared_info(v->xen, x.gpfn << XEN_PAGE_SHIFT);
}

#define XEN_MAX_EXTENT_ORDER 9 /* 2 MiB, Xen's domU limit */

/*
 * decrease_reservation discards the pages (the guest reads zeros from then on: our backing
 * cannot make holes cheaply, Xen would unmap them); populate_physmap checks the frames are
 * RAM again. Like Xen, the result is the number of extents done; an error stops early.
 */
static int64_t xen_reservation(struct xen_vcpu *v, unsigned int op, uint64_t start, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct xen_memory_reservation r;
	uint64_t i;

	if (xen_copy_from_guest(v, &r, arg, sizeof(r)))
		return -XEN_EFAULT;
	if (!xen_domid_is_self(r.domid))
		return -XEN_ESRCH;
	if (r.extent_order > XEN_MAX_EXTENT_ORDER || start >= r.nr_extents)
		return (int64_t)start;
	for (i = start; i < r.nr_extents; i++) {
		uint64_t gfn, len = (uint64_t)XEN_PAGE_SIZE << r.extent_order;

		if ((i & 1023) == 1023 &&
		    (atomic_load(&xen->stopping) || atomic_load(xen->vm_stopping)))
			break; /* the guest sees a partial count and retries */
		if (xen_copy_from_guest(v, &gfn, r.extent_start + i * sizeof(gfn), sizeof(gfn)))
			break;
		if (gfn & ((1ull << r.extent_order) - 1) || gfn >= 1ull << (52 - XEN_PAGE_SHIFT))
			break;
		if (op == XENMEM_decrease_reservation) {
			if (guest_mem_discard(xen->mem, gfn << XEN_PAGE_SHIFT, len))
				break;
		} else if (!guest_mem_is_ram(xen->mem, gfn << XEN_PAGE_SHIFT, len)) {
			break;
		}
	}
	return (int64_t)i;
}

static int64_t xen_memory_op(struct xen_vcpu *v, uint64_t cmd, uint64_t arg)
{
	unsigned int op = (unsigned int)(cmd & MEMOP_CMD_MASK);
	uint64_t start = cmd >> MEMOP_EXTENT_SHIFT;

	switch (op) {
	case XENMEM_add_to_physmap:
		return start ? -XEN_EINVAL : xen_add_to_physmap(v, arg);
	case XENMEM_decrease_reservation:
	case XENMEM_populate_physmap:
		return xen_reservation(v, op, start, arg);
	default:
		xen_count_unsupported(v, __HYPERVISOR_memory_op, op);
		return -XEN_ENOSYS;
	}
}

/* ---- hvm_op ---------------------------------------------------------------------------- */

static int64_t xen_hvm_param_op(struct xen_vcpu *v, uint64_t op, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct xen_hvm_param p;
	int err = xen_copy_from_guest(v, &p, arg, sizeof(p));

	if (err)
		return err;
	if (!xen_domid_is_self(p.domid))
		return -XEN_ESRCH;
	if (p.index >= HVM_NR_PARAMS)
		return -XEN_EINVAL;
	if (op == HVMOP_get_param) {
		mutex_lock(&xen->lock);
		p.value = xen->hvm_params[p.index];
		mutex_unlock(&xen->lock);
		return xen_copy_to_guest(v, arg, &p, sizeof(p));
	}
	/* a guest may only set its callback; the rest belongs to the toolstack */
	if (p.index != HVM_PARAM_CALLBACK_IRQ)
		return -XEN_EPERM;
	switch (p.value >> 56) {
	case HVM_PARAM_CALLBACK_TYPE_GSI:
	case HVM_PARAM_CALLBACK_TYPE_PCI_INTX:
		break;
	case HVM_PARAM_CALLBACK_TYPE_VECTOR:
		if ((uint8_t)p.value < 0x10)
			return -XEN_EINVAL;
		break;
	default:
		return -XEN_EINVAL;
	}
	mutex_lock(&xen->lock);
	xen->hvm_params[HVM_PARAM_CALLBACK_IRQ] = p.value;
	atomic_store(&xen->callback_vector,
		     p.value >> 56 == HVM_PARAM_CALLBACK_TYPE_VECTOR ? (uint8_t)p.value : 0);
	mutex_unlock(&xen->lock);
	return 0;
}

uint8_t xen_callback_due(struct xen *xen, unsigned int vcpu)
{
	struct xen_vcpu *v;
	struct vcpu_info *vi;
	uint8_t vector = 0;

	/* the common case, per-vCPU vectors or no Xen guest at all: one load, no lock */
	if (!atomic_load(&xen->callback_vector) || vcpu >= xen->nr_vcpus)
		return 0;
	v = &xen->vcpus[vcpu];
	mutex_lock(&xen->lock);
	if (!v->upcall_vector) {
		vi = xen_vcpu_info_begin_locked(xen, v);
		if (vi) {
			if (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST))
				vector = atomic_load(&xen->callback_vector); /* written locked */
			xen_vcpu_info_end(v);
		}
	}
	mutex_unlock(&xen->lock);
	return vector;
}

void xen_callback_injected(struct xen *xen, unsigned int vcpu)
{
	struct xen_vcpu *v;

	if (vcpu >= xen->nr_vcpus)
		return;
	v = &xen->vcpus[vcpu];
	atomic_fetch_add(&v->callbacks_injected, 1);
	v->callback_retry_ns = 0;
}

static int64_t xen_set_upcall_vector(struct xen_vcpu *v, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct xen_hvm_evtchn_upcall_vector u;
	struct xen_notify n;
	struct xen_vcpu *t;
	struct vcpu_info *vi;
	int err = xen_copy_from_guest(v, &u, arg, sizeof(u));

	if (err)
		return err;
	if (u.vcpu >= xen->nr_vcpus)
		return -XEN_ENOENT;
	if (u.vector < 0x10)
		return -XEN_EINVAL;
	t = &xen->vcpus[u.vcpu];
	xen_notify_init(&n);
	mutex_lock(&xen->lock);
	t->upcall_vector = u.vector;
	xen->percpu_vectors = true;
	/* as Xen: an upcall already pending is raised on the new vector */
	vi = xen_vcpu_info_begin_locked(xen, t);
	if (vi) {
		if (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST)) {
			n.vcpu = (int)t->id;
			n.vector = u.vector;
		}
		xen_vcpu_info_end(t);
	}
	mutex_unlock(&xen->lock);
	xen_notify_apply(xen, &n);
	return 0;
}

static int64_t xen_hvm_op(struct xen_vcpu *v, uint64_t op, uint64_t arg)
{
	switch (op) {
	case HVMOP_set_param:
	case HVMOP_get_param:
		return xen_hvm_param_op(v, op, arg);
	case HVMOP_set_evtchn_upcall_vector:
		return xen_set_upcall_vector(v, arg);
	case HVMOP_pagetable_dying:
		/*
		 * A hint for shadow paging, which there is none of here (KVM pages with NPT/EPT).
		 * Linux asks once at boot with gpa 0 and, on an error, never again: answered as
		 * QEMU's Xen emulation does, and not counted as unsupported.
		 */
		return -XEN_ENOSYS;
	default:
		xen_count_unsupported(v, __HYPERVISOR_hvm_op, op);
		return -XEN_ENOSYS;
	}
}

/* ---- vcpu_op --------------------------------------------------------------------------- */

/*
 * Move vcpu_info of t (any vCPU may do it, as Linux does for its APs; unlike Xen 4.17 a
 * vCPU may also re-register). The contents move with it and, as Xen does, everything is
 * marked pending on the new copy so that no event is lost in between.
 */
static int64_t xen_register_vcpu_info(struct xen_vcpu *t, uint64_t gfn, uint32_t offset)
{
	struct xen *xen = t->xen;
	uint64_t buf[sizeof(struct vcpu_info) / sizeof(uint64_t)];
	uint64_t new_gpa;
	struct vcpu_info *vi;
	struct xen_notify n;

	if (offset > XEN_PAGE_SIZE - sizeof(struct vcpu_info) || offset & 7 ||
	    gfn >= 1ull << (52 - XEN_PAGE_SHIFT))
		return -XEN_EINVAL;
	new_gpa = (gfn << XEN_PAGE_SHIFT) + offset;
	memset(buf, 0, sizeof(buf));
	xen_notify_init(&n);
	mutex_lock(&xen->lock);
	vi = xen_vcpu_info_begin_locked(xen, t);
	if (vi) {
		load_words(buf, (const uint64_t *)vi, sizeof(buf) / sizeof(buf[0]));
		xen_vcpu_info_end(t);
	}
	vi = gpc_begin(&t->vcpu_info_cache, new_gpa, sizeof(*vi));
	if (!vi) {
		mutex_unlock(&xen->lock);
		return -XEN_EINVAL;
	}
	store_words((uint64_t *)vi, buf, sizeof(buf) / sizeof(buf[0]));
	__atomic_fetch_or(&vi->evtchn_pending_sel, ~0ull, __ATOMIC_SEQ_CST);
	__atomic_store_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST);
	xen_write_time_info(xen, vi);
	xen_vcpu_info_end(t);
	t->vcpu_info_gpa = new_gpa;
	xen_notify_upcall_locked(xen, t, &n);
	mutex_unlock(&xen->lock);
	xen_notify_apply(xen, &n);
	return 0;
}

/*
 * The runstate area (guest-virtual, as on Xen) gets the vCPU's state once: running since now,
 * no time runnable or offline. minivmm does not see its vCPU threads being descheduled, so it
 * never updates the area and the guest accounts no steal time; Linux requires the
 * registration to succeed (it BUG()s otherwise) once it uses the Xen clock.
 */
static int64_t xen_register_runstate(struct xen_vcpu *v, uint64_t arg)
{
	struct vcpu_runstate_info r = { .state = RUNSTATE_running };
	uint64_t gva;
	int err = xen_copy_from_guest(v, &gva, arg, sizeof(gva));

	if (err)
		return err;
	if (!gva)
		return 0; /* Xen: a null handle unregisters */
	r.state_entry_time = xen_system_time(v->xen);
	return xen_copy_to_guest(v, gva, &r, sizeof(r));
}

/*
 * A second copy of the vCPU's vcpu_time_info, guest-virtual, that Linux maps into its vDSO.
 * The VM's time reference never changes, so one copy at registration stays right.
 */
static int64_t xen_register_time_area(struct xen_vcpu *v, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct vcpu_time_info t = { .version = 2, .flags = XEN_PVCLOCK_TSC_STABLE_BIT };
	uint64_t gva;
	int err = xen_copy_from_guest(v, &gva, arg, sizeof(gva));

	if (err)
		return err;
	if (!gva)
		return 0;
	if (!atomic_load(&xen->time_ref_valid))
		return -XEN_ENOSYS; /* no pvclock here (XENFEAT_hvm_safe_pvclock is not offered) */
	t.tsc_timestamp = xen->time_ref.tsc;
	t.system_time = xen->time_ref.system_ns;
	t.tsc_to_system_mul = xen->time_ref.mul;
	t.tsc_shift = xen->time_ref.shift;
	return xen_copy_to_guest(v, gva, &t, sizeof(t));
}

static int64_t xen_vcpu_op(struct xen_vcpu *v, uint32_t cmd, uint32_t vcpuid, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct xen_vcpu *t;
	int err;

	if (vcpuid >= xen->nr_vcpus)
		return -XEN_ENOENT;
	t = &xen->vcpus[vcpuid];
	switch (cmd) {
	case VCPUOP_register_vcpu_info: {
		struct vcpu_register_vcpu_info r;

		err = xen_copy_from_guest(v, &r, arg, sizeof(r));
		return err ? err : xen_register_vcpu_info(t, r.mfn, r.offset);
	}
	case VCPUOP_is_up:
		return 1;
	case VCPUOP_register_runstate_memory_area:
		/* written through the caller's page tables, which Linux's per-CPU data share */
		return xen_register_runstate(v, arg);
	case VCPUOP_register_vcpu_time_memory_area:
		return xen_register_time_area(v, arg);
	case VCPUOP_stop_periodic_timer:
		return 0; /* there is no periodic timer */
	case VCPUOP_set_singleshot_timer: {
		struct vcpu_set_singleshot_timer s;

		if (t != v)
			return -XEN_EINVAL;
		err = xen_copy_from_guest(v, &s, arg, sizeof(s));
		if (err)
			return err;
		return xen_set_timer(v, s.timeout_abs_ns, s.flags & VCPU_SSHOTTMR_future);
	}
	case VCPUOP_stop_singleshot_timer:
		if (t != v)
			return -XEN_EINVAL;
		return xen_stop_timer(v);
	default:
		xen_count_unsupported(v, __HYPERVISOR_vcpu_op, cmd);
		return -XEN_ENOSYS;
	}
}

/* ---- the dispatcher -------------------------------------------------------------------- */

static int64_t xen_dispatch(struct xen_vcpu *v, uint64_t nr, const uint64_t a[5])
{
	/* int-typed sub-op arguments are truncated as Xen's prototypes do */
	switch (nr) {
	case __HYPERVISOR_xen_version:
		return xen_version_op(v, (uint32_t)a[0], a[1]);
	case __HYPERVISOR_memory_op:
		return xen_memory_op(v, a[0], a[1]);
	case __HYPERVISOR_hvm_op:
		return xen_hvm_op(v, a[0], a[1]);
	case __HYPERVISOR_vcpu_op:
		return xen_vcpu_op(v, (uint32_t)a[0], (uint32_t)a[1], a[2]);
	case __HYPERVISOR_sched_op:
		return xen_sched_op(v, (uint32_t)a[0], a[1]);
	case __HYPERVISOR_event_channel_op:
		return xen_evtchn_op(v, (uint32_t)a[0], a[1]);
	case __HYPERVISOR_set_timer_op:
		return a[0] ? xen_set_timer(v, a[0], false) : xen_stop_timer(v);
	case __HYPERVISOR_vm_assist:
		/*
		 * Only the runstate update flag means something to an HVM guest; it is trivially
		 * honoured (the runstate area is never updated, so never seen mid-update).
		 */
		if ((a[0] != VMASST_CMD_enable && a[0] != VMASST_CMD_disable) ||
		    a[1] != VMASST_TYPE_runstate_update_flag)
			return -XEN_EINVAL;
		return 0;
	default:
		xen_count_unsupported(v, nr, 0);
		return -XEN_ENOSYS;
	}
}

int64_t xen_hypercall(struct xen *xen, unsigned int vcpu, uint64_t nr, const uint64_t a[5])
{
	struct xen_vcpu *v;
	int64_t ret;

	if (vcpu >= xen->nr_vcpus)
		return -XEN_EINVAL;
	v = &xen->vcpus[vcpu];
	v->stats.hypercalls++;
	if (nr < XEN_NR_HYPERCALLS)
		v->stats.by_nr[nr]++;
	if (!atomic_load(&xen->time_ref_valid))
		xen_time_sample(v);
	if (atomic_load(&v->upcall_owed)) {
		/* its local APIC may take interrupts now: the vCPU runs kernel code again */
		struct xen_notify n;

		xen_notify_init(&n);
		mutex_lock(&xen->lock);
		xen_upcall_retry_locked(xen, v, &n);
		mutex_unlock(&xen->lock);
		xen_notify_apply(xen, &n);
	}
	ret = xen_dispatch(v, nr, a);
	/* --log-level debug: every hypercall, for following a guest's boot */
	pr_debug("xen: vCPU %u: hypercall %llu(%#llx, %#llx, %#llx) = %lld", vcpu,
		 (unsigned long long)nr, (unsigned long long)a[0], (unsigned long long)a[1],
		 (unsigned long long)a[2], (long long)ret);
	return ret;
}

/* ---- hypercall page -------------------------------------------------------------------- */

int xen_write_hypercall_page(struct xen *xen, unsigned int vcpu, uint64_t value, uint16_t port)
{
	uint8_t page[XEN_PAGE_SIZE];

	(void)vcpu;
	if (value & (XEN_PAGE_SIZE - 1) || port > 0xff)
		return -1; /* one page (index 0) only; the stub uses out imm8 */
	for (unsigned int i = 0; i < XEN_HYPERCALL_STUBS; i++) {
		uint8_t *p = page + i * XEN_HYPERCALL_STUB_SIZE;

		p[0] = 0xb8; /* mov $i, %eax */
		p[1] = (uint8_t)i;
		p[2] = p[3] = p[4] = 0;
		p[5] = 0xe7; /* out %eax, $port */
		p[6] = (uint8_t)port;
		p[7] = 0xc3; /* ret */
		memset(p + 8, 0xcc, XEN_HYPERCALL_STUB_SIZE - 8);
	}
	return guest_mem_write(xen->mem, value, page, sizeof(page)) ? -1 : 0;
}
