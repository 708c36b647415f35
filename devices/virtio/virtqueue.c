// SPDX-License-Identifier: MIT
/*
 * Split virtqueues (virtio 1.2, 2.7). The driver owns the descriptor table and the available
 * ring; every value read from them is hostile:
 *
 *  - ring addresses: aligned as the spec requires, every page in shared RAM (vq_enable);
 *  - avail->idx: may move by at most the queue size past what the device consumed, else the
 *    ring is broken (the device asks for a reset and ignores the queue until then);
 *  - heads and `next` indexes: below the queue size;
 *  - chain length: at most the queue size descriptors (a longer chain loops);
 *  - indirect tables: only when negotiated, one level, the chain's only descriptor (no NEXT,
 *    nothing before it), a multiple of 16 bytes, at most VIRTIO_QUEUE_MAX entries (the
 *    driver may exceed the queue size there), no loops;
 *  - order: device-writable buffers only after every device-readable one;
 *  - buffers: each lies inside one RAM region and touches no private page; lengths are
 *    added in 64 bits.
 * With VIRTIO_F_EVENT_IDX the driver's used_event decides interrupts and the device publishes
 * avail_event whenever it finds the ring empty (the driver's notifications follow it).
 * A malformed chain is refused (-EINVAL) but its head is known, so the device returns it
 * and carries on; where the chain's last descriptor can still be found (bounded, lenient
 * walk) and is device-writable, the device writes its error status there.
 *
 * The rings are accessed through one guest-physical cache per page they span (a ring of up
 * to 256 entries spans at most two pages), so a discard or conversion of a ring page
 * invalidates the cache and the next access translates again (or fails: the queue breaks).
 * All multi-byte fields are naturally aligned, so no access crosses a page.
 */
#include <errno.h>
#include <string.h>

#include "../../arch/x86/layout.h"
#include "virtio.h"

#define PAGE GUEST_PAGE_SIZE

static void area_init(struct vq_area *a, struct guest_mem *mem, const char *name)
{
	memset(a, 0, sizeof(*a));
	for (unsigned int i = 0; i < 2; i++)
		gpc_init(&a->pages[i], mem, name);
}

static void area_disable(struct vq_area *a)
{
	for (unsigned int i = 0; i < 2; i++)
		gpc_deactivate(&a->pages[i]);
	a->nr_pages = 0;
	a->len = 0;
}

static int area_enable(struct vq_area *a, uint64_t gpa, uint32_t len)
{
	uint64_t last;

	if (gpa + len < gpa)
		return -EINVAL;
	last = (gpa + len - 1) / PAGE;
	a->gpa = gpa;
	a->len = len;
	a->first_page = gpa / PAGE;
	a->nr_pages = (unsigned int)(last - a->first_page + 1);
	if (a->nr_pages > 2)
		return -EINVAL;
	for (unsigned int i = 0; i < a->nr_pages; i++) {
		int err = gpc_activate(&a->pages[i], (a->first_page + i) * PAGE, (uint32_t)PAGE);

		if (err)
			return err;
	}
	return 0;
}

/*
 * Map [off, off+len) of the area; never crosses a page (callers access naturally aligned
 * fields). Returns the pointer with the page's cache read-locked (end with gpc_end), or NULL.
 */
static void *area_begin(struct vq_area *a, uint32_t off, uint32_t len, struct gpc **gpc)
{
	uint64_t gpa = a->gpa + off;
	uint64_t page = gpa / PAGE;
	uint8_t *p;

	if (off > a->len || len > a->len - off || page < a->first_page ||
	    page - a->first_page >= a->nr_pages || (gpa % PAGE) + len > PAGE)
		return NULL;
	*gpc = &a->pages[page - a->first_page];
	p = gpc_begin(*gpc, page * PAGE, (uint32_t)PAGE);
	return p ? p + gpa % PAGE : NULL;
}

static int area_load16(struct vq_area *a, uint32_t off, uint16_t *v)
{
	struct gpc *gpc;
	uint16_t *p = area_begin(a, off, 2, &gpc);

	if (!p)
		return -EFAULT;
	*v = __atomic_load_n(p, __ATOMIC_SEQ_CST);
	gpc_end(gpc);
	return 0;
}

/* seq_cst: ordered before the later load of the driver's flags (vq_should_interrupt) */
static int area_store16(struct vq_area *a, uint32_t off, uint16_t v)
{
	struct gpc *gpc;
	uint16_t *p = area_begin(a, off, 2, &gpc);

	if (!p)
		return -EFAULT;
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
	gpc_end(gpc);
	return 0;
}

static int area_store32(struct vq_area *a, uint32_t off, uint32_t v)
{
	struct gpc *gpc;
	uint32_t *p = area_begin(a, off, 4, &gpc);

	if (!p)
		return -EFAULT;
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
	gpc_end(gpc);
	return 0;
}

static int area_read_desc(struct vq_area *a, uint16_t i, struct virtq_desc *d)
{
	struct gpc *gpc;
	void *p = area_begin(a, (uint32_t)i * sizeof(*d), sizeof(*d), &gpc);

	if (!p)
		return -EFAULT;
	memcpy(d, p, sizeof(*d));
	gpc_end(gpc);
	return 0;
}

void vq_init(struct virtq *vq, struct guest_mem *mem, const char *name)
{
	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
	area_init(&vq->desc, mem, name);
	area_init(&vq->avail, mem, name);
	area_init(&vq->used, mem, name);
}

void vq_destroy(struct virtq *vq)
{
	struct vq_area *areas[] = { &vq->desc, &vq->avail, &vq->used };

	for (unsigned int i = 0; i < 3; i++) {
		for (unsigned int j = 0; j < 2; j++)
			gpc_destroy(&areas[i]->pages[j]);
	}
}

void vq_disable(struct virtq *vq)
{
	area_disable(&vq->desc);
	area_disable(&vq->avail);
	area_disable(&vq->used);
	vq->size = 0;
	vq->broken = false;
	vq->broken_why = NULL;
	vq->event_idx = false;
	vq->signalled_valid = false;
	vq->last_avail = 0;
	vq->used_idx = 0;
}

void vq_set_event_idx(struct virtq *vq, bool on)
{
	vq->event_idx = on && vq->size;
	vq->signalled_valid = false;
}

int vq_enable(struct virtq *vq, uint16_t size, uint64_t desc, uint64_t avail, uint64_t used,
	      bool indirect)
{
	int err;

	vq_disable(vq);
	if (!size || size > VIRTIO_QUEUE_MAX || (size & (size - 1)) || desc % 16 || avail % 2 ||
	    used % 4)
		return -EINVAL;
	/* desc: 16 * size; avail: flags, idx, ring[size], used_event; used: flags, idx, ring[size]
	 * of 8 bytes, avail_event */
	err = area_enable(&vq->desc, desc, 16u * size);
	if (!err)
		err = area_enable(&vq->avail, avail, 6u + 2u * size);
	if (!err)
		err = area_enable(&vq->used, used, 6u + 8u * size);
	if (err) {
		vq_disable(vq);
		return -EINVAL;
	}
	vq->size = size;
	vq->indirect = indirect;
	/* the driver starts both rings at index 0 (a reset zeroes them as far as we care) */
	vq->last_avail = 0;
	vq->used_idx = 0;
	return 0;
}

static void vq_break(struct virtq *vq, const char *why)
{
	vq->broken = true;
	vq->broken_why = why;
}

unsigned int vq_pending(struct virtq *vq)
{
	uint16_t idx;

	if (!vq->size || vq->broken || area_load16(&vq->avail, 2, &idx))
		return 0;
	return (uint16_t)(idx - vq->last_avail);
}

/* A buffer must lie in one RAM region and touch only shared pages. */
static const char *check_buffer(struct guest_mem *mem, uint64_t gpa, uint32_t len)
{
	int err = 0;

	if (!len)
		return NULL; /* nothing to access; kept out of the chain */
	if (gpa + len < gpa)
		return "buffer wraps the address space";
	read_lock(&mem->layout_lock);
	guest_mem_translate_locked(mem, gpa, len, &err);
	rwlock_unlock(&mem->layout_lock);
	if (err == -EPERM)
		return "buffer in a private page";
	if (err)
		return "buffer outside guest RAM";
	return NULL;
}

/* Add one descriptor's buffer to the chain; returns an error text or NULL. */
static const char *chain_add(struct virtq *vq, struct vq_chain *c, const struct virtq_desc *d)
{
	bool write = d->flags & VIRTQ_DESC_F_WRITE;
	unsigned int n = c->nr_out + c->nr_in;
	const char *why;

	if (!write && c->nr_in)
		return "device-readable buffer after a device-writable one";
	why = check_buffer(vq->mem, d->addr, d->len);
	if (why)
		return why;
	if (!d->len)
		return NULL;
	if (n >= VIRTIO_QUEUE_MAX)
		return "chain too long";
	c->buf[n] = (struct vq_buf){ d->addr, d->len };
	if (write) {
		c->nr_in++;
		c->in_len += d->len;
	} else {
		c->nr_out++;
		c->out_len += d->len;
	}
	return NULL;
}

/* Walk an indirect table at gpa (its entries are the whole chain). */
static const char *walk_indirect(struct virtq *vq, struct vq_chain *c, uint64_t gpa, uint32_t len)
{
	unsigned int n = len / sizeof(struct virtq_desc), seen = 0;
	uint16_t i = 0;
	const char *why;

	if (!vq->indirect)
		return "indirect descriptor not negotiated";
	if (!len || len % sizeof(struct virtq_desc))
		return "indirect table size not a multiple of 16";
	if (n > VIRTIO_QUEUE_MAX)
		return "indirect table longer than the longest chain accepted";
	why = check_buffer(vq->mem, gpa, len);
	if (why)
		return why;
	for (;;) {
		struct virtq_desc d;
		int err;

		if (seen++ >= n)
			return "indirect chain loops";
		err = guest_mem_read(vq->mem, gpa + (uint64_t)i * sizeof(d), &d, sizeof(d));
		if (err)
			return err == -EPERM ? "indirect table in a private page"
					     : "indirect table outside guest RAM";
		if (d.flags & VIRTQ_DESC_F_INDIRECT)
			return "nested indirect table";
		why = chain_add(vq, c, &d);
		if (why)
			return why;
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return NULL;
		if (d.next >= n)
			return "indirect next index out of range";
		i = d.next;
	}
}

/*
 * For a refused chain: find its last descriptor anyway, following the links leniently but
 * boundedly, so that the device can still write an error status there. Only a final
 * descriptor that is device-writable and in shared RAM counts.
 */
static void find_tail(struct virtq *vq, struct vq_chain *c)
{
	unsigned int steps = 0, n = vq->size;
	uint64_t table = 0; /* indirect table being walked, 0: the descriptor table */
	struct virtq_desc d;
	uint16_t i = c->head;

	c->tail_gpa = 0;
	c->tail_len = 0;
	while (steps++ < 2 * VIRTIO_QUEUE_MAX) {
		if (table ? guest_mem_read(vq->mem, table + (uint64_t)i * sizeof(d), &d, sizeof(d))
			  : area_read_desc(&vq->desc, i, &d))
			return;
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (table || !vq->indirect || d.len < sizeof(d))
				return;
			table = d.addr;
			n = d.len / sizeof(d);
			i = 0;
			continue;
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT)) {
			if ((d.flags & VIRTQ_DESC_F_WRITE) && d.len &&
			    !check_buffer(vq->mem, d.addr, d.len)) {
				c->tail_gpa = d.addr;
				c->tail_len = d.len;
			}
			return;
		}
		if (d.next >= n)
			return;
		i = d.next;
	}
}

int vq_pop(struct virtq *vq, struct vq_chain *c)
{
	unsigned int budget;
	uint16_t avail_idx, head, i;
	const char *why = NULL;

	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	c->error = NULL;
	c->tail_gpa = 0;
	c->tail_len = 0;
	if (!vq->size || vq->broken)
		return 0;
	if (area_load16(&vq->avail, 2, &avail_idx)) {
		vq_break(vq, "available ring not accessible");
		return -EIO;
	}
	if (avail_idx == vq->last_avail) {
		if (!vq->event_idx)
			return 0;
		/*
		 * Empty: ask the driver to notify once it adds past last_avail (avail_event, after
		 * the used ring's entries), then look again. Both accesses are seq_cst: a buffer
		 * the driver added before it could see the new avail_event is found here.
		 */
		if (area_store16(&vq->used, 4 + 8u * vq->size, vq->last_avail) ||
		    area_load16(&vq->avail, 2, &avail_idx)) {
			vq_break(vq, "used or available ring not accessible");
			return -EIO;
		}
		if (avail_idx == vq->last_avail)
			return 0;
	}
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
		vq_break(vq, "available index moved more than the queue size");
		return -EIO;
	}
	/* the ring entry and descriptors are read after idx (seq_cst load) */
	if (area_load16(&vq->avail, 4 + 2u * (vq->last_avail % vq->size), &head)) {
		vq_break(vq, "available ring not accessible");
		return -EIO;
	}
	if (head >= vq->size) {
		vq_break(vq, "available ring names a head beyond the queue size");
		return -EIO;
	}
	vq->last_avail++;
	vq->chains++;
	c->head = head;

	/* a chain of more than `size` descriptors loops (or breaks the spec) */
	budget = vq->size;
	i = head;
	for (;;) {
		struct virtq_desc d;

		if (!budget) {
			why = "descriptor chain loops or exceeds the queue size";
			break;
		}
		budget--;
		if (area_read_desc(&vq->desc, i, &d)) {
			vq_break(vq, "descriptor table not accessible");
			return -EIO;
		}
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (d.flags & VIRTQ_DESC_F_NEXT)
				why = "indirect descriptor with NEXT";
			else if (c->nr_out + c->nr_in || i != head)
				why = "indirect descriptor inside a chain";
			else
				why = walk_indirect(vq, c, d.addr, d.len);
			break;
		}
		why = chain_add(vq, c, &d);
		if (why || !(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= vq->size) {
			why = "next index beyond the queue size";
			break;
		}
		i = d.next;
	}
	if (why) {
		c->error = why;
		vq->bad_chains++;
		find_tail(vq, c);
		return -EINVAL;
	}
	return 1;
}

int vq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
	uint32_t elem;

	if (!vq->size)
		return -EIO;
	elem = 4 + 8u * (vq->used_idx % vq->size);
	/* id and len separately: 4-byte aligned, so neither crosses a page */
	if (area_store32(&vq->used, elem, head) || area_store32(&vq->used, elem + 4, written)) {
		vq_break(vq, "used ring not accessible");
		return -EIO;
	}
	vq->used_idx++;
	/* the element (and the data written into buffers) before the index */
	if (area_store16(&vq->used, 2, vq->used_idx)) {
		vq_break(vq, "used ring not accessible");
		return -EIO;
	}
	return 0;
}

bool vq_should_interrupt(struct virtq *vq)
{
	uint16_t flags;

	if (!vq->size)
		return false;
	if (vq->event_idx) {
		uint16_t event, old = vq->signalled_used, now = vq->used_idx;
		bool valid = vq->signalled_valid;

		vq->signalled_used = now;
		vq->signalled_valid = true;
		/* used_event, after the available ring's entries; seq_cst after the index store */
		if (area_load16(&vq->avail, 4 + 2u * vq->size, &event))
			return true;
		/* virtio 1.2, 2.7.10: did the index step over used_event in (old, now]? */
		return !valid || (uint16_t)(now - event - 1) < (uint16_t)(now - old);
	}
	/* both seq_cst: the used index store is visible before the driver's flags are read */
	if (area_load16(&vq->avail, 0, &flags))
		return true;
	return !(flags & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* Walk [off, off+len) over a run of buffers, calling fn on each piece. */
static int chain_copy(struct guest_mem *mem, const struct vq_buf *bufs, unsigned int n,
		      uint64_t total, uint64_t off, uint8_t *data, size_t len, bool to_guest)
{
	if (off > total || len > total - off)
		return -ERANGE;
	for (unsigned int i = 0; i < n && len; i++) {
		uint64_t piece;
		int err;

		if (off >= bufs[i].len) {
			off -= bufs[i].len;
			continue;
		}
		piece = bufs[i].len - off;
		if (piece > len)
			piece = len;
		err = to_guest ? guest_mem_write(mem, bufs[i].gpa + off, data, piece)
			       : guest_mem_read(mem, bufs[i].gpa + off, data, piece);
		if (err)
			return err;
		data += piece;
		len -= piece;
		off = 0;
	}
	return len ? -ERANGE : 0;
}

int vq_chain_read(struct guest_mem *mem, const struct vq_chain *c, uint64_t off, void *buf,
		  size_t len)
{
	return chain_copy(mem, c->buf, c->nr_out, c->out_len, off, buf, len, false);
}

int vq_chain_write(struct guest_mem *mem, const struct vq_chain *c, uint64_t off, const void *buf,
		   size_t len)
{
	return chain_copy(mem, c->buf + c->nr_out, c->nr_in, c->in_len, off, (uint8_t *)buf, len,
			  true);
}
