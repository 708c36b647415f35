// SPDX-License-Identifier: MIT
/*
 * 2-level event channels. The port table lives under xen->lock; the guest-visible bits
 * (shared_info pending/mask, vcpu_info selector and upcall_pending) are changed with atomic
 * operations in the 2-level order, through the shared_info cache and then the target's
 * vcpu_info cache (one after the other: both caches have the same lock rank). The upcall
 * interrupt is raised after xen->lock is dropped (struct xen_notify).
 *
 * Only our own domain exists: interdomain channels are loopback (alloc_unbound with
 * remote_dom = self, then bind_interdomain to it).
 */
#include <string.h>

#include "xen_internal.h"

static bool port_valid(uint64_t port)
{
	return port > 0 && port < XEN_NR_PORTS;
}

/* VIRQs that exist once per vCPU; the others are global and bound on vCPU 0 */
static bool virq_is_global(uint32_t virq)
{
	return !(virq == VIRQ_TIMER || virq == VIRQ_DEBUG || virq == 7 /* XENOPROF */ ||
		 virq == 13 /* XENPMU */);
}

static uint32_t port_alloc_locked(struct xen *xen)
{
	for (uint32_t p = 1; p < XEN_NR_PORTS; p++) {
		if (xen->ports[p].state == ECS_FREE)
			return p;
	}
	return 0;
}

void xen_evtchn_set_pending_locked(struct xen *xen, uint32_t port, struct xen_notify *n)
{
	struct xen_vcpu *t = &xen->vcpus[xen->ports[port].vcpu];
	uint64_t word = port / XEN_BITS_PER_WORD, bit = 1ull << (port % XEN_BITS_PER_WORD);
	struct shared_info *s;
	struct vcpu_info *vi;
	uint64_t old;
	bool masked;

	/* (1) test-and-set pending; stop if it was pending already */
	s = xen_shinfo_begin_locked(xen);
	if (!s) {
		atomic_fetch_add(&xen->events_lost, 1); /* no shared_info, or unmappable */
		return;
	}
	old = __atomic_fetch_or(&s->evtchn_pending[word], bit, __ATOMIC_SEQ_CST);
	masked = __atomic_load_n(&s->evtchn_mask[word], __ATOMIC_SEQ_CST) & bit;
	xen_shinfo_end(xen);
	if (old & bit) {
		atomic_fetch_add(&xen->events_coalesced, 1);
		return;
	}
	n->wake_pollers = true;
	if (masked) {
		atomic_fetch_add(&xen->events_masked, 1);
		return;
	}
	/* (2) unmasked: flag the word in the target's selector; (3) then upcall_pending */
	atomic_fetch_add(&xen->events_sent, 1);
	vi = xen_vcpu_info_begin_locked(xen, t);
	if (!vi)
		return;
	old = __atomic_fetch_or(&vi->evtchn_pending_sel, 1ull << word, __ATOMIC_SEQ_CST);
	if (!(old & (1ull << word)) &&
	    !__atomic_exchange_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST)) {
		xen_notify_upcall_locked(xen, t, n);
	}
	xen_vcpu_info_end(t);
	/* already pending, but its last upcall was refused: this event must not wait too */
	if (n->vcpu < 0)
		xen_upcall_retry_locked(xen, t, n);
}

bool xen_evtchn_is_pending_locked(struct xen *xen, uint32_t port)
{
	struct shared_info *s = xen_shinfo_begin_locked(xen);
	bool pending;

	if (!s)
		return false;
	pending = __atomic_load_n(&s->evtchn_pending[port / XEN_BITS_PER_WORD], __ATOMIC_SEQ_CST) &
		  1ull << (port % XEN_BITS_PER_WORD);
	xen_shinfo_end(xen);
	return pending;
}

static void clear_pending_locked(struct xen *xen, uint32_t port)
{
	struct shared_info *s = xen_shinfo_begin_locked(xen);

	if (!s)
		return;
	__atomic_fetch_and(&s->evtchn_pending[port / XEN_BITS_PER_WORD],
			   ~(1ull << (port % XEN_BITS_PER_WORD)), __ATOMIC_SEQ_CST);
	xen_shinfo_end(xen);
}

void xen_send_virq(struct xen *xen, struct xen_vcpu *v, unsigned int virq)
{
	struct xen_notify n;
	uint32_t port;

	xen_notify_init(&n);
	mutex_lock(&xen->lock);
	port = v->virq_port[virq];
	if (port && xen->ports[port].state == ECS_VIRQ)
		xen_evtchn_set_pending_locked(xen, port, &n);
	mutex_unlock(&xen->lock);
	xen_notify_apply(xen, &n);
}

/* ---- operations ------------------------------------------------------------------------ */

static int64_t evtchn_alloc_unbound(struct xen_vcpu *v, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct evtchn_alloc_unbound a;
	int err = xen_copy_from_guest(v, &a, arg, sizeof(a));
	uint32_t port;

	if (err)
		return err;
	if (!xen_domid_is_self(a.dom))
		return -XEN_ESRCH;
	mutex_lock(&xen->lock);
	port = port_alloc_locked(xen);
	if (port)
		xen->ports[port] = (struct xen_port){
			.state = ECS_UNBOUND,
			.remote_dom = a.remote_dom == DOMID_SELF ? XEN_DOMID : a.remote_dom,
		};
	mutex_unlock(&xen->lock);
	if (!port)
		return -XEN_ENOSPC;
	a.port = port;
	return xen_copy_to_guest(v, arg, &a, sizeof(a));
}

static int64_t evtchn_bind_interdomain(struct xen_vcpu *v, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct evtchn_bind_interdomain b;
	int err = xen_copy_from_guest(v, &b, arg, sizeof(b));
	struct xen_notify n;
	struct xen_port *r;
	uint32_t port = 0;
	int64_t ret = 0;

	if (err)
		return err;
	if (!xen_domid_is_self(b.remote_dom))
		return -XEN_ESRCH; /* no other domain exists */
	if (!port_valid(b.remote_port))
		return -XEN_EINVAL;
	xen_notify_init(&n);
	mutex_lock(&xen->lock);
	r = &xen->ports[b.remote_port];
	if (r->state != ECS_UNBOUND || r->remote_dom != XEN_DOMID) {
		ret = -XEN_EINVAL;
	} else if (!(port = port_alloc_locked(xen))) {
		ret = -XEN_ENOSPC;
	} else {
		xen->ports[port] = (struct xen_port){
			.state = ECS_INTERDOMAIN,
			.remote_dom = XEN_DOMID,
			.remote_port = b.remote_port,
		};
		r->state = ECS_INTERDOMAIN;
		r->remote_port = port;
		/* as Xen: the remote may have sent before we bound; notify conservatively */
		xen_evtchn_set_pending_locked(xen, port, &n);
	}
	mutex_unlock(&xen->lock);
	xen_notify_apply(xen, &n);
	if (ret)
		return ret;
	b.local_port = port;
	return xen_copy_to_guest(v, arg, &b, sizeof(b));
}

static int64_t evtchn_bind_virq(struct xen_vcpu *v, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct evtchn_bind_virq b;
	int err = xen_copy_from_guest(v, &b, arg, sizeof(b));
	struct xen_vcpu *t;
	uint32_t port = 0;
	int64_t ret = 0;

	if (err)
		return err;
	if (b.virq >= XEN_NR_VIRQS || (virq_is_global(b.virq) && b.vcpu != 0))
		return -XEN_EINVAL;
	if (b.vcpu >= xen->nr_vcpus)
		return -XEN_ENOENT;
	t = &xen->vcpus[b.vcpu];
	mutex_lock(&xen->lock);
	if (t->virq_port[b.virq]) {
		ret = -XEN_EEXIST;
	} else if (!(port = port_alloc_locked(xen))) {
		ret = -XEN_ENOSPC;
	} else {
		xen->ports[port] = (struct xen_port){
			.state = ECS_VIRQ,
			.virq = (uint8_t)b.virq,
			.vcpu = b.vcpu,
			.remote_port = b.vcpu, /* the vCPU whose table holds the binding */
		};
		t->virq_port[b.virq] = port;
	}
	mutex_unlock(&xen->lock);
	if (ret)
		return ret;
	b.port = port;
	return xen_copy_to_guest(v, arg, &b, sizeof(b));
}

static int64_t evtchn_bind_ipi(struct xen_vcpu *v, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct evtchn_bind_ipi b;
	int err = xen_copy_from_guest(v, &b, arg, sizeof(b));
	uint32_t port;

	if (err)
		return err;
	if (b.vcpu >= xen->nr_vcpus)
		return -XEN_ENOENT;
	mutex_lock(&xen->lock);
	port = port_alloc_locked(xen);
	if (port)
		xen->ports[port] = (struct xen_port){ .state = ECS_IPI, .vcpu = b.vcpu };
	mutex_unlock(&xen->lock);
	if (!port)
		return -XEN_ENOSPC;
	b.port = port;
	return xen_copy_to_guest(v, arg, &b, sizeof(b));
}

static int64_t evtchn_bind_vcpu(struct xen_vcpu *v, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct evtchn_bind_vcpu b;
	int err = xen_copy_from_guest(v, &b, arg, sizeof(b));
	struct xen_port *c;
	int64_t ret = 0;

	if (err)
		return err;
	if (b.vcpu >= xen->nr_vcpus)
		return -XEN_ENOENT;
	if (!port_valid(b.port))
		return -XEN_EINVAL;
	mutex_lock(&xen->lock);
	c = &xen->ports[b.port];
	switch (c->state) {
	case ECS_VIRQ:
		if (virq_is_global(c->virq))
			c->vcpu = b.vcpu;
		else
			ret = -XEN_EINVAL;
		break;
	case ECS_UNBOUND:
	case ECS_INTERDOMAIN:
		c->vcpu = b.vcpu;
		break;
	default:
		ret = -XEN_EINVAL;
		break;
	}
	mutex_unlock(&xen->lock);
	return ret;
}

static int64_t close_locked(struct xen *xen, uint32_t port)
{
	struct xen_port *c = &xen->ports[port];

	switch (c->state) {
	case ECS_FREE:
		return -XEN_EINVAL;
	case ECS_VIRQ:
		xen->vcpus[c->remote_port].virq_port[c->virq] = 0;
		break;
	case ECS_INTERDOMAIN: {
		struct xen_port *r = &xen->ports[c->remote_port];

		if (c->remote_port != port) {
			r->state = ECS_UNBOUND;
			r->remote_dom = XEN_DOMID;
			r->remote_port = 0;
		}
		break;
	}
	default:
		break;
	}
	clear_pending_locked(xen, port);
	*c = (struct xen_port){ .state = ECS_FREE };
	return 0;
}

static int64_t evtchn_close(struct xen_vcpu *v, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct evtchn_port_op c;
	int err = xen_copy_from_guest(v, &c, arg, sizeof(c));
	int64_t ret;

	if (err)
		return err;
	if (!port_valid(c.port))
		return -XEN_EINVAL;
	mutex_lock(&xen->lock);
	ret = close_locked(xen, c.port);
	mutex_unlock(&xen->lock);
	return ret;
}

static int64_t evtchn_send(struct xen_vcpu *v, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct evtchn_port_op s;
	int err = xen_copy_from_guest(v, &s, arg, sizeof(s));
	struct xen_notify n;
	struct xen_port *c;
	int64_t ret = 0;

	if (err)
		return err;
	if (!port_valid(s.port))
		return -XEN_EINVAL;
	xen_notify_init(&n);
	mutex_lock(&xen->lock);
	c = &xen->ports[s.port];
	switch (c->state) {
	case ECS_INTERDOMAIN:
		xen_evtchn_set_pending_locked(xen, c->remote_port, &n);
		break;
	case ECS_IPI:
		xen_evtchn_set_pending_locked(xen, s.port, &n);
		break;
	case ECS_UNBOUND:
		break; /* nobody listens yet: dropped, as in Xen */
	default:
		ret = -XEN_EINVAL;
		break;
	}
	mutex_unlock(&xen->lock);
	xen_notify_apply(xen, &n);
	return ret;
}

static int64_t evtchn_status(struct xen_vcpu *v, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct evtchn_status s;
	int err = xen_copy_from_guest(v, &s, arg, sizeof(s));
	struct xen_port *c;

	if (err)
		return err;
	if (!xen_domid_is_self(s.dom))
		return -XEN_ESRCH;
	if (!port_valid(s.port))
		return -XEN_EINVAL;
	memset(&s.u, 0, sizeof(s.u));
	mutex_lock(&xen->lock);
	c = &xen->ports[s.port];
	s.status = c->state;
	s.vcpu = c->vcpu;
	switch (c->state) {
	case ECS_UNBOUND:
		s.u.unbound.dom = c->remote_dom;
		break;
	case ECS_INTERDOMAIN:
		s.u.interdomain.dom = XEN_DOMID;
		s.u.interdomain.port = c->remote_port;
		break;
	case ECS_VIRQ:
		s.u.virq = c->virq;
		break;
	default:
		break;
	}
	mutex_unlock(&xen->lock);
	return xen_copy_to_guest(v, arg, &s, sizeof(s));
}

static int64_t evtchn_unmask(struct xen_vcpu *v, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct evtchn_port_op u;
	int err = xen_copy_from_guest(v, &u, arg, sizeof(u));
	uint64_t word, bit, was_masked, pending;
	struct xen_notify n;
	struct shared_info *s;
	struct vcpu_info *vi;
	struct xen_vcpu *t;

	if (err)
		return err;
	if (!port_valid(u.port))
		return -XEN_EINVAL;
	word = u.port / XEN_BITS_PER_WORD;
	bit = 1ull << (u.port % XEN_BITS_PER_WORD);
	xen_notify_init(&n);
	mutex_lock(&xen->lock);
	t = &xen->vcpus[xen->ports[u.port].vcpu];
	s = xen_shinfo_begin_locked(xen);
	if (!s) {
		mutex_unlock(&xen->lock);
		return 0;
	}
	was_masked = __atomic_fetch_and(&s->evtchn_mask[word], ~bit, __ATOMIC_SEQ_CST) & bit;
	pending = __atomic_load_n(&s->evtchn_pending[word], __ATOMIC_SEQ_CST) & bit;
	xen_shinfo_end(xen);
	/* an event that arrived while masked is delivered now: redo steps (2) and (3) */
	if (was_masked && pending) {
		vi = xen_vcpu_info_begin_locked(xen, t);
		if (vi) {
			if (!(__atomic_fetch_or(&vi->evtchn_pending_sel, 1ull << word,
						__ATOMIC_SEQ_CST) &
			      (1ull << word)) &&
			    !__atomic_exchange_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST)) {
				xen_notify_upcall_locked(xen, t, &n);
			}
			xen_vcpu_info_end(t);
		}
	}
	mutex_unlock(&xen->lock);
	xen_notify_apply(xen, &n);
	return 0;
}

static int64_t evtchn_reset(struct xen_vcpu *v, uint64_t arg)
{
	struct xen *xen = v->xen;
	struct evtchn_reset r;
	int err = xen_copy_from_guest(v, &r, arg, sizeof(r));

	if (err)
		return err;
	if (!xen_domid_is_self(r.dom))
		return -XEN_ESRCH;
	mutex_lock(&xen->lock);
	for (uint32_t p = 1; p < XEN_NR_PORTS; p++) {
		if (xen->ports[p].state != ECS_FREE)
			close_locked(xen, p);
	}
	mutex_unlock(&xen->lock);
	return 0;
}

int64_t xen_evtchn_op(struct xen_vcpu *v, uint64_t cmd, uint64_t arg)
{
	if (cmd < EVTCHNOP_COUNT)
		v->stats.evtchn_ops[cmd]++;
	switch (cmd) {
	case EVTCHNOP_alloc_unbound:
		return evtchn_alloc_unbound(v, arg);
	case EVTCHNOP_bind_interdomain:
		return evtchn_bind_interdomain(v, arg);
	case EVTCHNOP_bind_virq:
		return evtchn_bind_virq(v, arg);
	case EVTCHNOP_bind_ipi:
		return evtchn_bind_ipi(v, arg);
	case EVTCHNOP_bind_vcpu:
		return evtchn_bind_vcpu(v, arg);
	case EVTCHNOP_close:
		return evtchn_close(v, arg);
	case EVTCHNOP_send:
		return evtchn_send(v, arg);
	case EVTCHNOP_status:
		return evtchn_status(v, arg);
	case EVTCHNOP_unmask:
		return evtchn_unmask(v, arg);
	case EVTCHNOP_reset:
		return evtchn_reset(v, arg);
	case EVTCHNOP_set_priority:
		/* what Xen answers with the 2-level ABI, which has no priorities; not counted */
		return -XEN_ENOSYS;
	default: /* init_control (FIFO ABI): -ENOSYS makes guests use the 2-level ABI */
		xen_count_unsupported(v, __HYPERVISOR_event_channel_op, cmd);
		return -XEN_ENOSYS;
	}
}
