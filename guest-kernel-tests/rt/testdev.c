/* SPDX-License-Identifier: MIT */
/* Guest side of minivmm's test device (port 0xe0/0xe4); see testdev.h. */
#include "testdev.h"

#define TD_SLOT_SIZE 64
#define TD_RESULT_SENTINEL 0x7eadbeef

_Static_assert(sizeof(struct testdev_request) <= TD_SLOT_SIZE, "request slot too small");
_Static_assert(RT_MAX_CPUS *TD_SLOT_SIZE <= 4096, "request slots must fit one page");

/* one page, nothing else in it: tests may discard every other page they own */
static union {
	struct testdev_request req;
	uint8_t pad[TD_SLOT_SIZE];
} td_slots[4096 / TD_SLOT_SIZE] __attribute__((aligned(4096)));

volatile uint32_t testdev_mismatches;

int32_t testdev_submit(struct testdev_request *req)
{
	int32_t port_result, mem_result;

	__atomic_store_n(&req->result, TD_RESULT_SENTINEL, __ATOMIC_RELAXED);
	/* the out is serialising; the memory clobber keeps the request's stores before it */
	__asm__ volatile("outl %0, %1"
			 :
			 : "a"((uint32_t)(uintptr_t)req), "Nd"((uint16_t)TESTDEV_PORT)
			 : "memory");
	port_result = (int32_t)td_inl(TESTDEV_RESULT_PORT);
	mem_result = __atomic_load_n(&req->result, __ATOMIC_RELAXED);
	if (mem_result != TD_RESULT_SENTINEL && mem_result != port_result)
		__atomic_fetch_add(&testdev_mismatches, 1u, __ATOMIC_RELAXED);
	return port_result;
}

int32_t testdev_call(uint32_t cmd, uint64_t gpa, uint64_t len, uint64_t *value)
{
	struct testdev_request *req = &td_slots[lapic_id() % RT_MAX_CPUS].req;
	int32_t r;

	req->cmd = cmd;
	req->gpa = gpa;
	req->len = len;
	req->value = value ? *value : 0;
	r = testdev_submit(req);
	if (value)
		*value = req->value;
	return r;
}

bool testdev_present(void)
{
	return testdev_call(0, 0, 0, NULL) == -TD_ENOSYS;
}

uint64_t testdev_request_page(void)
{
	return (uint64_t)(uintptr_t)td_slots;
}

const char *testdev_errname(int32_t r)
{
	switch (r) {
	case 0:
		return "0";
	case -TD_EPERM:
		return "-EPERM";
	case -TD_ENOENT:
		return "-ENOENT";
	case -TD_EINTR:
		return "-EINTR";
	case -TD_EIO:
		return "-EIO";
	case -TD_EAGAIN:
		return "-EAGAIN";
	case -TD_ENOMEM:
		return "-ENOMEM";
	case -TD_EFAULT:
		return "-EFAULT";
	case -TD_EBUSY:
		return "-EBUSY";
	case -TD_EEXIST:
		return "-EEXIST";
	case -TD_EINVAL:
		return "-EINVAL";
	case -TD_ENOSPC:
		return "-ENOSPC";
	case -TD_ERANGE:
		return "-ERANGE";
	case -TD_ENOSYS:
		return "-ENOSYS";
	case -TD_EOPNOTSUPP:
		return "-EOPNOTSUPP";
	default:
		return r > 0 ? "positive?" : "-E?";
	}
}

#define SCRATCH_ALIGN (2ull << 20)
#define LOW_LIMIT 0xc0000000ull /* the identity map stops at 4 GiB; the MMIO hole before */

uint64_t testdev_scratch(uint64_t bytes)
{
	uint64_t floor =
		((uint64_t)(uintptr_t)__image_end + SCRATCH_ALIGN - 1) & ~(SCRATCH_ALIGN - 1);

	for (unsigned i = 0; i < rt_memmap_entries; i++) {
		const struct hvm_memmap_entry *e = &rt_memmap[i];
		uint64_t start = e->addr, end = e->addr + e->size;

		if (e->type != E820_RAM || end < start)
			continue;
		if (end > LOW_LIMIT)
			end = LOW_LIMIT;
		if (start < floor)
			start = floor;
		start = (start + SCRATCH_ALIGN - 1) & ~(SCRATCH_ALIGN - 1);
		if (start < end && end - start >= bytes)
			return start;
	}
	return 0;
}

uint64_t testdev_ram_top(void)
{
	uint64_t top = 0;

	for (unsigned i = 0; i < rt_memmap_entries; i++)
		if (rt_memmap[i].type == E820_RAM && rt_memmap[i].addr + rt_memmap[i].size > top)
			top = rt_memmap[i].addr + rt_memmap[i].size;
	return top;
}

uint64_t testdev_ram_end_of(uint64_t gpa)
{
	for (unsigned i = 0; i < rt_memmap_entries; i++) {
		const struct hvm_memmap_entry *e = &rt_memmap[i];

		if (e->type == E820_RAM && gpa >= e->addr && gpa - e->addr < e->size)
			return e->addr + e->size;
	}
	return 0;
}

int32_t testdev_submit_raw(uint32_t gpa)
{
	__asm__ volatile("outl %0, %1" : : "a"(gpa), "Nd"((uint16_t)TESTDEV_PORT) : "memory");
	return (int32_t)td_inl(TESTDEV_RESULT_PORT);
}
