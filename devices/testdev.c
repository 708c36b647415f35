// SPDX-License-Identifier: MIT
/*
 * The test device: how guest-kernel-tests ask the VMM to discard or convert their memory and
 * to touch it through a VMM cache, on hosts where vmcall cannot reach the VMM (PVM).
 *
 * The guest writes the guest-physical address of a struct testdev_request (below 4 GiB,
 * 8-byte aligned) to TESTDEV_PORT as a 32-bit value; the VMM reads the request through the
 * guest-memory API, executes it on the calling vCPU's thread, writes `result` back (0 or a
 * negative errno) and also returns it on a 32-bit read of TESTDEV_PORT + 4.
 *
 * Everything in the request is hostile: unaligned, out-of-range and private addresses get an
 * errno, never a crash. REMAP_REGION is the one request not executed here: it is posted to
 * the main thread, which pauses every vCPU (vm_remap_region).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../arch/x86/layout.h"
#include "../vmm/gpc.h"
#include "../vmm/io_bus.h"
#include "../vmm/vm.h"
#include "devices.h"
#include "testdev_abi.h"

struct testdev {
	struct vm *vm;
	struct gpc cache; /* one cache shared by every vCPU thread, as Xen's shared_info is */
};

static int32_t testdev_cache_access(struct testdev *td, struct testdev_request *req, bool write)
{
	uint64_t *p;

	if (req->gpa & 7)
		return -EINVAL;
	p = gpc_begin(&td->cache, req->gpa, 8);
	if (!p)
		return guest_mem_is_private(&td->vm->mem, req->gpa) == 1 ? -EPERM : -EFAULT;
	if (write)
		__atomic_store_n(p, req->value, __ATOMIC_RELAXED);
	else
		req->value = __atomic_load_n(p, __ATOMIC_RELAXED);
	gpc_end(&td->cache);
	return 0;
}

static int32_t testdev_execute(struct testdev *td, struct testdev_request *req)
{
	struct guest_mem *mem = &td->vm->mem;

	switch (req->cmd) {
	case TESTDEV_DISCARD:
		return guest_mem_discard(mem, req->gpa, req->len);
	case TESTDEV_CONVERT_PRIVATE:
	case TESTDEV_CONVERT_SHARED:
		return guest_mem_convert(mem, req->gpa, req->len,
					 req->cmd == TESTDEV_CONVERT_PRIVATE);
	case TESTDEV_CACHE_WRITE:
	case TESTDEV_CACHE_READ:
		return testdev_cache_access(td, req, req->cmd == TESTDEV_CACHE_WRITE);
	case TESTDEV_MEM_READ:
		return req->gpa & 7 ? -EINVAL : guest_mem_read(mem, req->gpa, &req->value, 8);
	case TESTDEV_REMAP_REGION:
		/* a layout change pauses every vCPU: the main thread does it, this vCPU waits
		 * there counted as parked (vm_call_main) */
		return vm_call_main(td->vm, VM_REQ_REMAP_REGION, req->gpa, req->len);
	default:
		return -ENOSYS;
	}
}

static __thread int32_t last_result; /* per vCPU thread: the result of its last request */

static void testdev_io(struct vcpu *vcpu, uint64_t off, uint8_t *data, uint32_t len, bool is_write,
		       void *opaque)
{
	struct testdev *td = opaque;
	struct testdev_request req;
	uint32_t req_gpa = 0;

	(void)vcpu;
	if (!is_write) {
		memset(data, 0, len);
		if (off == TESTDEV_RESULT_OFFSET && len == 4)
			memcpy(data, &last_result, 4);
		return;
	}
	if (off != 0 || len != 4) {
		last_result = -EINVAL; /* never leave an earlier success to be read back */
		return;
	}
	memcpy(&req_gpa, data, 4);
	if (req_gpa & 7 || guest_mem_read(&td->vm->mem, req_gpa, &req, sizeof(req))) {
		last_result = -EFAULT;
		return;
	}
	req.result = testdev_execute(td, &req);
	last_result = req.result;
	/* the request page itself may have just been discarded or made private: then only the
	 * port carries the result */
	guest_mem_write(&td->vm->mem, req_gpa, &req, sizeof(req));
}

struct testdev *testdev_create(struct vm *vm)
{
	struct testdev *td = calloc(1, sizeof(*td));

	if (!td)
		return NULL;
	td->vm = vm;
	gpc_init(&td->cache, &vm->mem, "testdev");
	if (io_bus_register(&vm->pio, TESTDEV_PORT, TESTDEV_SIZE, testdev_io, td, "testdev")) {
		testdev_destroy(td);
		return NULL;
	}
	return td;
}

void testdev_destroy(struct testdev *td)
{
	if (!td)
		return;
	gpc_destroy(&td->cache);
	free(td);
}
