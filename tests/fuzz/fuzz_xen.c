// SPDX-License-Identifier: MIT
/*
 * The Xen hypercall dispatcher (arch/x86/xen: xen.c, evtchn.c, xen_sched.c, xen_cpuid.c)
 * against the fake VM of tests/unit/xen_fake.h: guest RAM without KVM (8 MiB at 0 plus 64 KiB
 * at 4 GiB past a hole), guest-virtual = guest-physical + XF_GVA_OFF, a fake local APIC per
 * vCPU. A fresh VM per input, with 1-8 vCPUs and, when the first byte asks, the dispatcher's
 * own timer thread.
 *
 * The input is a list of operations (enum op): hypercalls with any number, vCPU and argument
 * registers (each argument raw, small, a pointer into RAM, a pointer that straddles a page,
 * or a wild one), hypercalls whose argument structure the input writes to the vCPU's scratch
 * page first, guest RAM writes and fills (random contents of shared_info, vcpu_info, port
 * lists, extent lists), page attribute changes (private, shared, discarded), the single-shot
 * timers, the hypercall page MSR, CPUID leaves and the stats printers.
 *
 * Blocking calls (SCHEDOP_block, SCHEDOP_poll) get ops->interrupted: the input says how many
 * times it answers "no" (each time it bumps the vCPU's wake word so the wait returns at
 * once) before it answers "yes", so the wait loops run without the fuzzer ever sleeping.
 *
 * After every operation:
 *  - the result is >= 0 or one of the Xen errnos the code uses;
 *  - no lock is held, no invalidation in flight, every valid cache points where a fresh
 *    translation would (vcpu_info and shared_info caches included);
 *  - the port table is consistent: port 0 free, states known, target vCPUs exist,
 *    interdomain ends point at each other, VIRQ ports and the vCPUs' VIRQ tables agree;
 *  - shared_info and vcpu_info locations are sane (page-aligned, inside a page, 8-aligned);
 *  - what a successful call promises holds: add_to_physmap moved shared_info there,
 *    register_vcpu_info put vcpu_info there with upcall_pending set, a send set the pending
 *    bit where the guest can see it, shutdown reached ops->shutdown, the hypercall page holds
 *    the stubs, XENVER_version is the version.
 * After every input: the dispatcher's timer thread is gone and no fd was left open.
 */
#include <linux/kvm.h>

#include "../../arch/x86/xen/xen_internal.h"
#include "../unit/xen_fake.h"
#include "fuzz_common.h"

enum op {
	OP_HC,	      /* vcpu u8, nr u8, 5 args, waits u8 (flag 0: nr is a u64) */
	OP_HC_STRUCT, /* call u8, vcpu u8, sub u8, len u8, bytes: struct at the scratch page */
	OP_MEM_WRITE, /* gpa u24, len u8, bytes */
	OP_MEM_FILL,  /* page u16, byte u8, pages u8 */
	OP_ATTR,      /* page u16, pages u8: flag 0 private/shared, flag 1 discard */
	OP_TIMERS,    /* run the due single-shot timers */
	OP_HCPAGE,    /* value u64, port u16 */
	OP_MISC,      /* flag 0,1: cpuid fixup, stats, guest acks */
	NR_OPS
};
#define OP_FLAG(op, n) (((op) >> (3 + (n))) & 1)

#define MAX_OPS 1024
#define HIGH_RAM 0x100000000ull /* a second region past a hole */
#define HIGH_SIZE (64 * 1024ull)
#define PAGES (XF_RAM_SIZE / 4096)

struct fuzz_xen {
	struct xf xf; /* first: ops get &xf as opaque */
	unsigned int waits;
	uint64_t interrupted_calls;
	uint64_t calls; /* hypercalls so far */
};

/* Blocking hypercalls ask this between waits; see the header. */
static bool fx_interrupted(void *opaque, unsigned int vcpu)
{
	struct fuzz_xen *fx = (struct fuzz_xen *)opaque;
	struct xen_vcpu *v = &fx->xf.xen->vcpus[vcpu];

	fx->interrupted_calls++;
	if (!fx->waits)
		return true;
	fx->waits--;
	/* the caller read wake_seq before asking: its futex wait returns at once */
	atomic_fetch_add(&v->wake_seq, 1);
	return false;
}

static const struct xen_ops fx_ops = {
	.translate = xf_translate,
	.raise_vector = xf_raise,
	.raise_callback = xf_raise_callback,
	.shutdown = xf_shutdown,
	.read_tsc = xf_read_tsc,
	.interrupted = fx_interrupted,
};

/* ---- invariants ----------------------------------------------------------------------- */

static FUZZ_NO_COVERAGE void check_result(int64_t r)
{
	if (r >= 0)
		return;
	switch (-r) {
	case XEN_EPERM:
	case XEN_ENOENT:
	case XEN_ESRCH:
	case XEN_EFAULT:
	case XEN_EBUSY:
	case XEN_EEXIST:
	case XEN_EINVAL:
	case XEN_ENOSPC:
	case XEN_ENOSYS:
	case XEN_ETIME:
		return;
	default:
		dprintf(fuzz_report_fd, "fuzz: hypercall returned %lld\n", (long long)r);
		FUZZ_CHECK(!"a Xen errno");
	}
}

/*
 * Ports are allocated lowest first and a call allocates at most one, so every port in use
 * lies below 1 + the number of calls so far: only those are scanned (and beyond them one
 * that must be free).
 */
static FUZZ_NO_COVERAGE void check_xen(struct fuzz_xen *fx)
{
	struct xen *xen = fx->xf.xen;
	uint32_t bound = fx->calls + 2 < XEN_NR_PORTS ? (uint32_t)fx->calls + 2 : XEN_NR_PORTS;

	fuzz_check_quiescent(&fx->xf.mem);
	FUZZ_CHECK(xen->ports[0].state == ECS_FREE);
	if (bound < XEN_NR_PORTS)
		FUZZ_CHECK(xen->ports[bound].state == ECS_FREE);
	for (uint32_t p = 0; p < bound; p++) {
		const struct xen_port *c = &xen->ports[p];

		switch (c->state) {
		case ECS_FREE:
			FUZZ_CHECK(c->vcpu == 0 && c->remote_port == 0 && c->virq == 0);
			break;
		case ECS_UNBOUND:
		case ECS_IPI:
			break;
		case ECS_INTERDOMAIN:
			FUZZ_CHECK(c->remote_port > 0 && c->remote_port < XEN_NR_PORTS);
			FUZZ_CHECK(xen->ports[c->remote_port].state == ECS_INTERDOMAIN);
			FUZZ_CHECK(xen->ports[c->remote_port].remote_port == p);
			break;
		case ECS_VIRQ:
			FUZZ_CHECK(c->virq < XEN_NR_VIRQS && c->remote_port < xen->nr_vcpus);
			FUZZ_CHECK(xen->vcpus[c->remote_port].virq_port[c->virq] == p);
			break;
		default:
			FUZZ_CHECK(!"a known port state");
		}
		FUZZ_CHECK(c->vcpu < xen->nr_vcpus);
	}
	FUZZ_CHECK(xen->shinfo_gpa == XEN_INVALID_GPA ||
		   (!(xen->shinfo_gpa & (XEN_PAGE_SIZE - 1)) && xen->shinfo_gpa < 1ull << 52));
	for (unsigned int i = 0; i < xen->nr_vcpus; i++) {
		const struct xen_vcpu *v = &xen->vcpus[i];
		uint64_t gpa = v->vcpu_info_gpa;

		FUZZ_CHECK(!atomic_load(&v->blocked) && !atomic_load(&v->polling));
		FUZZ_CHECK(v->upcall_vector == 0 || v->upcall_vector >= 0x10);
		FUZZ_CHECK(gpa == XEN_INVALID_GPA ||
			   (!(gpa & 7) && (gpa & (XEN_PAGE_SIZE - 1)) + sizeof(struct vcpu_info) <=
						  XEN_PAGE_SIZE));
		for (unsigned int virq = 0; virq < XEN_NR_VIRQS; virq++) {
			uint32_t p = v->virq_port[virq];

			if (!p)
				continue;
			FUZZ_CHECK(p < XEN_NR_PORTS && xen->ports[p].state == ECS_VIRQ);
			FUZZ_CHECK(xen->ports[p].virq == virq && xen->ports[p].remote_port == i);
		}
	}
}

/* ---- arguments ------------------------------------------------------------------------ */

static uint64_t scratch_gva(unsigned int vcpu)
{
	return xf_gva(XF_SCRATCH(vcpu % XF_MAX_VCPUS));
}

/* One argument register: the selector's low 3 bits say what kind of value. */
static uint64_t in_arg(struct fuzz_in *in, unsigned int vcpu)
{
	uint8_t sel = in_u8(in);

	switch (sel & 7) {
	case 0:
		return in_u64(in);
	case 1:
		return sel >> 3; /* a small number: sub-ops, vCPU ids, ports */
	case 2:			 /* a pointer into RAM */
		return xf_gva((in_le(in, 3)) % XF_RAM_SIZE);
	case 3: /* a pointer that runs into the next page (maybe private or a hole) */
		return xf_gva(((uint64_t)in_u16(in) % PAGES) * 4096 + 4096 - (sel >> 3));
	case 4: /* the vCPU's scratch page, plus a small offset */
		return scratch_gva(vcpu) + (sel >> 3) * 8;
	case 5: /* wild: the unmapped hole, a physical address, the top of the space */
		switch ((sel >> 3) & 3) {
		case 0:
			return XF_HOLE_GVA + in_u16(in);
		case 1:
			return in_le(in, 3);
		case 2:
			return ~0ull - in_u8(in);
		default:
			return xf_gva(HIGH_RAM);
		}
	case 6:
		return in_u32(in);
	default:
		return in_u8(in);
	}
}

/* ---- operations ----------------------------------------------------------------------- */

struct hc_state { /* what a call promised, checked after it; arguments read before it */
	uint64_t nr, a[5];
	unsigned int vcpu;
	int port_state; /* EVTCHNOP_send: the port's state, -1: not a send */
	uint32_t port;	/* the port that must become pending */
	int shutdowns;
	bool physmap_ok; /* XENMEM_add_to_physmap: its argument */
	struct xen_add_to_physmap physmap;
	bool reg_ok; /* VCPUOP_register_vcpu_info: its argument */
	struct vcpu_register_vcpu_info reg;
};

static bool guest_read(struct fuzz_xen *fx, uint64_t gpa, void *buf, size_t len)
{
	return guest_mem_read(&fx->xf.mem, gpa, buf, len) == 0;
}

/* A guest-virtual argument read as the dispatcher would (false: not readable). */
static bool arg_read(struct fuzz_xen *fx, uint64_t gva, void *buf, size_t len)
{
	uint64_t gpa;

	/* the fake translation is linear: a struct never crosses into another mapping */
	return !xf_translate(NULL, 0, gva, &gpa) && !xf_translate(NULL, 0, gva + len - 1, &gpa) &&
	       guest_read(fx, gva - XF_GVA_OFF, buf, len);
}

static FUZZ_NO_COVERAGE void hc_before(struct fuzz_xen *fx, struct hc_state *s)
{
	struct xen *xen = fx->xf.xen;
	uint32_t sub = (uint32_t)s->a[0];
	struct evtchn_port_op op;

	s->port_state = -1;
	s->shutdowns = atomic_load(&fx->xf.shutdowns);
	if (s->nr == __HYPERVISOR_memory_op && (s->a[0] & MEMOP_CMD_MASK) == XENMEM_add_to_physmap)
		s->physmap_ok = arg_read(fx, s->a[1], &s->physmap, sizeof(s->physmap));
	if (s->nr == __HYPERVISOR_vcpu_op && sub == VCPUOP_register_vcpu_info)
		s->reg_ok = arg_read(fx, s->a[2], &s->reg, sizeof(s->reg));
	if (s->nr != __HYPERVISOR_event_channel_op || sub != EVTCHNOP_send ||
	    !arg_read(fx, s->a[1], &op, sizeof(op)))
		return;
	if (op.port > 0 && op.port < XEN_NR_PORTS) {
		s->port = op.port;
		s->port_state = xen->ports[op.port].state;
		if (s->port_state == ECS_INTERDOMAIN)
			s->port = xen->ports[op.port].remote_port;
	}
}

static FUZZ_NO_COVERAGE void hc_after(struct fuzz_xen *fx, const struct hc_state *s, int64_t r)
{
	struct xen *xen = fx->xf.xen;
	uint32_t sub = (uint32_t)s->a[0];

	check_result(r);
	if (s->vcpu >= xen->nr_vcpus) {
		FUZZ_CHECK(r == -XEN_EINVAL);
		return;
	}
	if (s->nr == __HYPERVISOR_xen_version && sub == XENVER_version)
		FUZZ_CHECK(r == XEN_VERSION(4, 17));
	if (r != 0)
		return;
	switch (s->nr) {
	case __HYPERVISOR_memory_op:
		if ((s->a[0] & MEMOP_CMD_MASK) != XENMEM_add_to_physmap)
			break;
		FUZZ_CHECK(s->physmap_ok && s->physmap.space == XENMAPSPACE_shared_info);
		FUZZ_CHECK(xen->shinfo_gpa == s->physmap.gpfn << XEN_PAGE_SHIFT);
		break;
	case __HYPERVISOR_vcpu_op: {
		uint32_t target = (uint32_t)s->a[1];
		struct vcpu_info vi;
		uint64_t gpa;

		if (sub != VCPUOP_register_vcpu_info)
			break;
		FUZZ_CHECK(s->reg_ok && target < xen->nr_vcpus);
		gpa = (s->reg.mfn << XEN_PAGE_SHIFT) + s->reg.offset;
		FUZZ_CHECK(xen->vcpus[target].vcpu_info_gpa == gpa);
		/* everything is marked pending on the new copy (the page may be gone again) */
		if (guest_read(fx, gpa, &vi, sizeof(vi)))
			FUZZ_CHECK(vi.evtchn_upcall_pending == 1);
		break;
	}
	case __HYPERVISOR_sched_op:
		if (sub == SCHEDOP_shutdown)
			FUZZ_CHECK(atomic_load(&fx->xf.shutdowns) == s->shutdowns + 1);
		break;
	case __HYPERVISOR_event_channel_op: {
		uint64_t word;

		if (sub != EVTCHNOP_send ||
		    (s->port_state != ECS_IPI && s->port_state != ECS_INTERDOMAIN) ||
		    xen->shinfo_gpa == XEN_INVALID_GPA)
			break;
		/* a sent event is pending where the guest looks, unless the page is not RAM */
		if (guest_read(fx,
			       xen->shinfo_gpa + offsetof(struct shared_info, evtchn_pending) +
				       (s->port / 64) * 8,
			       &word, sizeof(word)))
			FUZZ_CHECK(word & (1ull << (s->port % 64)));
		break;
	}
	default:
		break;
	}
}

static void hypercall(struct fuzz_xen *fx, unsigned int vcpu, uint64_t nr, const uint64_t a[5],
		      unsigned int waits)
{
	struct hc_state s = { .nr = nr, .vcpu = vcpu };
	int64_t r;

	memcpy(s.a, a, sizeof(s.a));
	hc_before(fx, &s);
	fx->waits = waits;
	fx->calls++;
	r = xen_hypercall(fx->xf.xen, vcpu, nr, a);
	fx->waits = 0;
	hc_after(fx, &s, r);
}

/* vCPU ids from the input: one past the last is an error case worth keeping. */
static unsigned int in_vcpu(struct fuzz_xen *fx, struct fuzz_in *in)
{
	return in_u8(in) % (fx->xf.nr_vcpus + 1);
}

static void op_hc(struct fuzz_xen *fx, struct fuzz_in *in, uint8_t op)
{
	unsigned int vcpu = in_vcpu(fx, in);
	uint64_t nr = OP_FLAG(op, 0) ? in_u64(in) : in_u8(in) % XEN_NR_HYPERCALLS;
	uint64_t a[5];

	for (int i = 0; i < 5; i++)
		a[i] = in_arg(in, vcpu);
	hypercall(fx, vcpu, nr, a, in_u8(in) % 4);
}

/* Calls whose argument is a structure in memory: (nr, argument position). */
static const struct {
	uint8_t nr;
	uint8_t ptr_arg; /* which register holds the pointer */
} struct_calls[] = {
	{ __HYPERVISOR_xen_version, 1 },  { __HYPERVISOR_memory_op, 1 },
	{ __HYPERVISOR_hvm_op, 1 },	  { __HYPERVISOR_vcpu_op, 2 },
	{ __HYPERVISOR_sched_op, 1 },	  { __HYPERVISOR_event_channel_op, 1 },
	{ __HYPERVISOR_set_timer_op, 5 },
};
#define NR_STRUCT_CALLS (sizeof(struct_calls) / sizeof(struct_calls[0]))

static void op_hc_struct(struct fuzz_xen *fx, struct fuzz_in *in, uint8_t op)
{
	unsigned int c = in_u8(in) % NR_STRUCT_CALLS, vcpu = in_vcpu(fx, in);
	uint64_t a[5] = { in_u8(in), 0, 0, 0, 0 }, gpa = XF_SCRATCH(vcpu % XF_MAX_VCPUS);
	uint8_t buf[256];
	size_t n = in_bytes(in, buf, in_u8(in));

	if (n)
		(void)guest_mem_write(&fx->xf.mem, gpa, buf, n);
	if (struct_calls[c].nr == __HYPERVISOR_vcpu_op) /* the target vCPU */
		a[1] = OP_FLAG(op, 0) ? (vcpu + 1) % fx->xf.nr_vcpus : vcpu;
	if (struct_calls[c].nr == __HYPERVISOR_memory_op) /* continuation start */
		a[0] |= (uint64_t)(OP_FLAG(op, 0) ? in_u8(in) : 0) << MEMOP_EXTENT_SHIFT;
	if (struct_calls[c].nr == __HYPERVISOR_set_timer_op) /* a deadline near now */
		a[0] = xen_system_time(fx->xf.xen) + (uint64_t)(int8_t)a[0] * 1000;
	if (struct_calls[c].ptr_arg < 5)
		a[struct_calls[c].ptr_arg] = xf_gva(gpa);
	hypercall(fx, vcpu, struct_calls[c].nr, a, OP_FLAG(op, 1) + OP_FLAG(op, 2));
}

static void op_attr(struct fuzz_xen *fx, struct fuzz_in *in, uint8_t op)
{
	uint64_t page = in_u16(in), pages = in_u8(in) % 16 + 1, gpa;

	/* mostly pages of the 8 MiB region; the high region and the hole sometimes */
	if (page >= 0xff00)
		gpa = HIGH_RAM + (page & 0xff) * 4096;
	else
		gpa = (page % PAGES) * 4096;
	if (OP_FLAG(op, 1))
		(void)guest_mem_discard(&fx->xf.mem, gpa, pages * 4096);
	else
		(void)guest_mem_convert(&fx->xf.mem, gpa, pages * 4096, OP_FLAG(op, 0));
}

static void op_hcpage(struct fuzz_xen *fx, struct fuzz_in *in)
{
	uint64_t value = in_u64(in) % (XF_RAM_SIZE + 0x2000);
	uint16_t port = in_u16(in) % 0x120;
	uint8_t page[16];

	if (in_u8(in) & 1)
		value &= ~0xfffull;
	if (xen_write_hypercall_page(fx->xf.xen, 0, value, port))
		return;
	FUZZ_CHECK(!(value & 0xfff) && port <= 0xff);
	if (guest_read(fx, value + 32 * 29, page, sizeof(page))) /* sched_op's stub */
		FUZZ_CHECK(page[0] == 0xb8 && page[1] == 29 && page[5] == 0xe7 && page[6] == port &&
			   page[7] == 0xc3);
}

static void op_cpuid(struct fuzz_in *in)
{
	uint32_t nent = in_u8(in) % 24, max = in_u8(in) % 32;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 32 * sizeof(c->entries[0]));
	uint8_t flags = in_u8(in);

	FUZZ_SETUP(c);
	c->nent = nent;
	for (uint32_t i = 0; i < nent; i++) {
		uint8_t f = in_u8(in);

		/* mostly hypervisor leaves, where the fixup works */
		c->entries[i].function = f & 0x80 ? in_u32(in) : 0x40000000u + (f & 0x7f) * 4;
		c->entries[i].eax = f & 0x40 ? 0x40000000u + in_u8(in) : in_u32(in);
	}
	if (!xen_cpuid_fixup(c, max, flags & 7, XEN_VERSION(4, 17), flags & 8, flags & 16)) {
		bool found = false;

		FUZZ_CHECK(c->nent <= max);
		for (uint32_t i = 0; i < c->nent; i++) {
			FUZZ_CHECK(c->entries[i].function < 0x40000000u ||
				   c->entries[i].function >= 0x40000200u ||
				   (flags & 8 && c->entries[i].function >= 0x40000100u) ||
				   c->entries[i].function <= 0x40000004u);
			found |= c->entries[i].function == 0x40000000u &&
				 c->entries[i].ebx == XEN_CPUID_SIGNATURE_EBX;
		}
		FUZZ_CHECK(found);
	}
	free(c);
}

static void op_misc(struct fuzz_xen *fx, struct fuzz_in *in, uint8_t op)
{
	struct xen *xen = fx->xf.xen;

	switch (OP_FLAG(op, 0) | OP_FLAG(op, 1) << 1) {
	case 0:
		op_cpuid(in);
		break;
	case 1: { /* the stats printers, as --stats does at exit */
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);
		struct xen_vcpu_stats vs;
		struct xen_event_stats es;

		FUZZ_SETUP(f);
		xen_print_stats_core(xen, f);
		xen_print_stats_json(xen, f);
		fclose(f);
		free(buf);
		xen_get_vcpu_stats(xen, in_u8(in), &vs);
		xen_get_event_stats(xen, &es);
		break;
	}
	case 2: { /* what a guest's upcall handler does: clear upcall_pending and the selector */
		struct xen_vcpu *v = &xen->vcpus[in_u8(in) % xen->nr_vcpus];
		uint8_t due = xen_callback_due(xen, v->id), global;
		uint64_t gpa, via;

		/* first what its thread does before entering: the global callback, if due */
		mutex_lock(&xen->lock);
		gpa = xen_vcpu_info_gpa_locked(xen, v);
		via = xen->hvm_params[HVM_PARAM_CALLBACK_IRQ];
		global = via >> 56 == HVM_PARAM_CALLBACK_TYPE_VECTOR ? (uint8_t)via : 0;
		FUZZ_CHECK(!due || (due == global && !v->upcall_vector));
		mutex_unlock(&xen->lock);
		if (due && in_u8(in) % 2)
			xen_callback_injected(xen, v->id);
		else if (due)
			xen_callback_retry(xen, v->id);
		if (gpa != XEN_INVALID_GPA) {
			uint8_t zero[16] = { 0 };

			(void)guest_mem_write(&fx->xf.mem, gpa, zero, sizeof(zero));
		}
		break;
	}
	default: /* the whole VM stops (minivmm's exit path) */
		xen_stop(xen);
		break;
	}
}

static void op_run(struct fuzz_xen *fx, struct fuzz_in *in)
{
	uint8_t op = in_u8(in), buf[256];
	uint64_t a;
	size_t n;

	switch (op & 7) {
	case OP_HC:
		op_hc(fx, in, op);
		break;
	case OP_HC_STRUCT:
		op_hc_struct(fx, in, op);
		break;
	case OP_MEM_WRITE:
		a = in_le(in, 3) % XF_RAM_SIZE;
		n = in_bytes(in, buf, in_u8(in));
		if (n)
			(void)guest_mem_write(&fx->xf.mem, a, buf, n);
		break;
	case OP_MEM_FILL: {
		uint64_t page = in_u16(in) % PAGES, pages = in_u8(in) % 4 + 1;

		memset(buf, in_u8(in), sizeof(buf));
		for (uint64_t off = 0; off < pages * 4096; off += sizeof(buf))
			(void)guest_mem_write(&fx->xf.mem, page * 4096 + off, buf, sizeof(buf));
		break;
	}
	case OP_ATTR:
		op_attr(fx, in, op);
		break;
	case OP_TIMERS:
		(void)xen_timers_run(fx->xf.xen);
		break;
	case OP_HCPAGE:
		op_hcpage(fx, in);
		break;
	case OP_MISC:
		op_misc(fx, in, op);
		break;
	}
	check_xen(fx);
}

FUZZ_QUIET_INITIALIZE()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct fuzz_resources res;
	struct fuzz_xen *fx = calloc(1, sizeof(*fx));
	uint8_t cfg = in_u8(&in);

	FUZZ_SETUP(fx);
	fuzz_resources_take(&res);
	/* first byte: vCPUs (1-8), the timer thread, the RAM backing */
	FUZZ_SETUP(xf_init_ops(&fx->xf, (cfg & 7) + 1, cfg & 8, &fx_ops,
			       cfg & 16 ? MEM_BACKING_ANONYMOUS : MEM_BACKING_MEMFD) == 0);
	fuzz_mem_add(&fx->xf.mem, HIGH_RAM, HIGH_SIZE);
	for (int i = 0; i < MAX_OPS && in.n; i++)
		op_run(fx, &in);
	xf_fini(&fx->xf);
	FUZZ_CHECK(fx->xf.mem.nr_caches == 0);
	free(fx);
	fuzz_resources_check(&res);
	return 0;
}
