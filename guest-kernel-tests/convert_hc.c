/* SPDX-License-Identifier: MIT */
/*
 * Private/shared conversion requested the way a confidential guest asks KVM: the
 * KVM_HC_MAP_GPA_RANGE hypercall (RAX = 12, RBX = gpa, RCX = pages, RDX = attributes, bit 4 =
 * private) with a real vmcall, which KVM forwards to minivmm as KVM_EXIT_HYPERCALL.
 *
 * Needs a KVM where vmcall reaches userspace: not PVM (vmcall never returns there), so it is
 * run only inside the nested L1 (configs/smoke-nested/).
 *
 * 1. A canary written through the VMM's shared cache; MAP_GPA_RANGE(private) returns 0.
 * 2. The VMM can no longer reach the page: CACHE_READ and MEM_READ fail; the guest's own
 *    private canary survives them.
 * 3. MAP_GPA_RANGE(shared) returns 0; the page reads zero (no data crosses the boundary);
 *    the VMM reaches it again.
 * 4. Bad requests (unaligned gpa, zero pages, beyond RAM, unknown attribute bits) return a
 *    non-zero error in RAX and change nothing.
 */
#include "rt/rt.h"
#include "rt/testdev.h"

#define KVM_HC_MAP_GPA_RANGE 12
#define MAP_PRIVATE_ATTR (1ull << 4)
#define CANARY ((uint64_t)0xc0ffee0ddba11001)

static unsigned failures;

#define FAIL(...)                                         \
	do {                                              \
		printf("convert_hc: FAIL: " __VA_ARGS__); \
		failures++;                               \
	} while (0)

static int64_t map_gpa_range(uint64_t gpa, uint64_t pages, uint64_t attrs)
{
	int64_t ret;

	asm volatile("vmcall"
		     : "=a"(ret)
		     : "a"((uint64_t)KVM_HC_MAP_GPA_RANGE), "b"(gpa), "c"(pages), "d"(attrs)
		     : "memory");
	return ret;
}

int test_main(void)
{
	uint64_t page = testdev_scratch(2 * TESTDEV_PAGE_SIZE), v = 0;
	volatile uint64_t *p;
	int32_t r;
	int64_t hc;

	if (!testdev_present() || !page) {
		printf("convert_hc: FAIL: no test device or no scratch RAM\n");
		return 1;
	}
	p = (volatile uint64_t *)(uintptr_t)page;

	if ((r = testdev_cache_write(page, CANARY)) || *p != CANARY)
		FAIL("cache write before conversion: %s, guest sees 0x%lx\n", testdev_errname(r),
		     *p);
	hc = map_gpa_range(page, 1, MAP_PRIVATE_ATTR);
	if (hc)
		FAIL("MAP_GPA_RANGE(private) returned %ld\n", hc);
	*p = CANARY;
	if ((r = testdev_cache_read(page, &v)) >= 0)
		FAIL("VMM cache read of a private page returned %s\n", testdev_errname(r));
	if ((r = testdev_mem_read(page, &v)) >= 0)
		FAIL("VMM device read of a private page returned %s\n", testdev_errname(r));
	if (*p != CANARY)
		FAIL("private canary changed to 0x%lx\n", *p);

	hc = map_gpa_range(page, 1, 0);
	if (hc)
		FAIL("MAP_GPA_RANGE(shared) returned %ld\n", hc);
	if (*p != 0)
		FAIL("page reads 0x%lx after converting back, expected 0\n", *p);
	if ((r = testdev_cache_write(page, CANARY + 1)) || *p != CANARY + 1)
		FAIL("cache write after conversion back: %s, guest sees 0x%lx\n",
		     testdev_errname(r), *p);

	if (!map_gpa_range(page + 8, 1, MAP_PRIVATE_ATTR))
		FAIL("unaligned gpa accepted\n");
	if (!map_gpa_range(page, 0, MAP_PRIVATE_ATTR))
		FAIL("zero pages accepted\n");
	if (!map_gpa_range(testdev_ram_top(), 1, MAP_PRIVATE_ATTR))
		FAIL("gpa beyond RAM accepted\n");
	if (!map_gpa_range(page, 1, 1ull << 40))
		FAIL("unknown attribute bits accepted\n");
	if (*p != CANARY + 1 || testdev_mem_read(page, &v) || v != CANARY + 1)
		FAIL("a refused request changed the page (0x%lx)\n", *p);

	if (failures) {
		printf("convert_hc: %u failures\n", failures);
		return 1;
	}
	printf("convert_hc: OK (conversions by KVM_HC_MAP_GPA_RANGE, bad requests refused)\n");
	return 0;
}
