/* SPDX-License-Identifier: MIT */
/*
 * minivmm's test device (devices/testdev.c): how a guest asks the VMM to
 * discard or convert its memory, remap a RAM region, and touch memory through
 * a VMM cache, on hosts where vmcall cannot reach the VMM (PVM).
 *
 * Protocol: the guest writes the guest-physical address of a struct
 * testdev_request (below 4 GiB, 8-byte aligned) to port 0xe0 (32-bit out);
 * the VMM executes it on the calling vCPU's thread, stores `result` (0 or a
 * negative Linux errno) and `value` back into the request and also returns
 * the result on a 32-bit in from port 0xe4 (per vCPU). Only minivmm has this
 * device: QEMU reads 0xffffffff from the port and does nothing.
 *
 * The requests live in one page-aligned page of .bss, one 64-byte slot per
 * CPU (by APIC id), so a test may discard or convert any page of its own
 * except that one (testdev_request_page()). Tests usually work on scratch
 * RAM above the image instead (testdev_scratch()).
 */
#ifndef RT_TESTDEV_H
#define RT_TESTDEV_H

#include "rt.h"
#include "../../devices/testdev_abi.h"

#define TESTDEV_PORT 0xe0
#define TESTDEV_RESULT_PORT (TESTDEV_PORT + TESTDEV_RESULT_OFFSET)
#define TESTDEV_PAGE_SIZE ((uint64_t)4096)

/* Linux errno values the VMM returns (negated). */
#define TD_EPERM 1
#define TD_ENOENT 2
#define TD_EINTR 4
#define TD_EIO 5
#define TD_EAGAIN 11
#define TD_ENOMEM 12
#define TD_EFAULT 14
#define TD_EBUSY 16
#define TD_EEXIST 17
#define TD_EINVAL 22
#define TD_ENOSPC 28
#define TD_ERANGE 34
#define TD_ENOSYS 38
#define TD_EOPNOTSUPP 95

static inline uint32_t td_inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

/*
 * Sends `req` (anywhere in identity-mapped RAM below 4 GiB, 8-aligned) and
 * returns the result read back from port 0xe4. `req->result` is preset to a
 * sentinel; if the VMM wrote a result into the request that differs from the
 * port's, testdev_mismatches is incremented (a VMM bug).
 */
int32_t testdev_submit(struct testdev_request *req);
/* Writes `gpa` to the port as is (a hostile request address) and returns the
 * port's result; nothing is read or written at `gpa` by the guest. */
int32_t testdev_submit_raw(uint32_t gpa);
extern volatile uint32_t testdev_mismatches;

/*
 * One request through this CPU's slot. `value` is sent for CACHE_WRITE and,
 * when not NULL, receives the request's value field afterwards (CACHE_READ,
 * MEM_READ; untouched by the VMM when the request failed).
 */
int32_t testdev_call(uint32_t cmd, uint64_t gpa, uint64_t len, uint64_t *value);

static inline int32_t testdev_discard(uint64_t gpa, uint64_t len)
{
	return testdev_call(TESTDEV_DISCARD, gpa, len, NULL);
}
static inline int32_t testdev_convert_private(uint64_t gpa, uint64_t len)
{
	return testdev_call(TESTDEV_CONVERT_PRIVATE, gpa, len, NULL);
}
static inline int32_t testdev_convert_shared(uint64_t gpa, uint64_t len)
{
	return testdev_call(TESTDEV_CONVERT_SHARED, gpa, len, NULL);
}
static inline int32_t testdev_cache_write(uint64_t gpa, uint64_t value)
{
	return testdev_call(TESTDEV_CACHE_WRITE, gpa, 8, &value);
}
static inline int32_t testdev_cache_read(uint64_t gpa, uint64_t *value)
{
	return testdev_call(TESTDEV_CACHE_READ, gpa, 8, value);
}
static inline int32_t testdev_mem_read(uint64_t gpa, uint64_t *value)
{
	return testdev_call(TESTDEV_MEM_READ, gpa, 8, value);
}
/* Remove the RAM region [gpa, gpa+len) and add it back empty, with every vCPU
 * paused (the caller waits for the VMM's main thread). */
static inline int32_t testdev_remap_region(uint64_t gpa, uint64_t len)
{
	return testdev_call(TESTDEV_REMAP_REGION, gpa, len, NULL);
}

/* True when the device answers (an unknown command gets -ENOSYS). */
bool testdev_present(void);

/* "0", "-EINVAL", "-EFAULT", ...; "-E?" for an errno not listed above and
 * "positive?" for a positive value (never a valid result). */
const char *testdev_errname(int32_t result);

/* The page holding the request slots: never discard or convert it. */
uint64_t testdev_request_page(void);

/*
 * Scratch RAM for tests: `bytes` of RAM above the image (2 MiB aligned, below
 * the 32-bit MMIO hole, inside one E820 RAM entry), or 0 if there is none.
 */
uint64_t testdev_scratch(uint64_t bytes);

/* End of the highest E820 RAM entry (guest RAM top, above 4 GiB if any). */
uint64_t testdev_ram_top(void);
/* End of the E820 RAM entry containing `gpa`, or 0. */
uint64_t testdev_ram_end_of(uint64_t gpa);

#endif
