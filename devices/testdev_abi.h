/* SPDX-License-Identifier: MIT */
/*
 * The test device's guest ABI, shared by the VMM (devices/testdev.c), the guest runtime
 * (guest-kernel-tests/rt/testdev.h) and the fuzzers, so the three cannot drift apart.
 *
 * The guest writes the guest-physical address of a struct testdev_request (below 4 GiB,
 * 8-byte aligned) to TESTDEV_PORT as a 32-bit value; the VMM executes it on the calling vCPU's
 * thread, writes `result` (0 or a negative Linux errno) and `value` back, and also returns
 * the result on a 32-bit read of TESTDEV_RESULT_PORT (per vCPU).
 */
#ifndef MINIVMM_TESTDEV_ABI_H
#define MINIVMM_TESTDEV_ABI_H

#include <stdint.h>

#define TESTDEV_RESULT_OFFSET 4 /* from TESTDEV_PORT */

enum testdev_cmd {
	TESTDEV_DISCARD = 1,	 /* gpa, len: punch a hole (reads zero afterwards) */
	TESTDEV_CONVERT_PRIVATE, /* gpa, len: discard, then private (no VMM access) */
	TESTDEV_CONVERT_SHARED,	 /* gpa, len: discard, then shared again */
	TESTDEV_CACHE_WRITE,	 /* gpa, value: 8 bytes through the VMM's shared cache */
	TESTDEV_CACHE_READ,	 /* gpa -> value, through the shared cache */
	TESTDEV_MEM_READ,	 /* gpa -> value, through guest_mem_read (a device's path) */
	TESTDEV_REMAP_REGION,	 /* gpa, len: exactly one RAM region, removed and added back
				  * empty by the main thread with every vCPU paused; -EINVAL
				  * unaligned/empty, -ENOENT not exactly a region, -EBUSY the
				  * region with the guest's code or boot data */
};

struct testdev_request {
	uint32_t cmd;
	int32_t result;
	uint64_t gpa;
	uint64_t len;
	uint64_t value;
};

_Static_assert(sizeof(struct testdev_request) == 32, "testdev_request is guest ABI");

#endif
