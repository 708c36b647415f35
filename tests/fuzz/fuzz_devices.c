// SPDX-License-Identifier: MIT
/*
 * Port-I/O devices and the I/O buses, without KVM: a fake struct vm (fd = -1, so the UART's
 * interrupt line is never raised) with the guest RAM the test device works on, and every
 * port device vm_create() registers: UART (COM1), test device, exit port, i8042, ACPI PM.
 * A fresh VM per input keeps runs reproducible; the UART's output goes to a counting sink.
 *
 * The input is a list of operations (see enum op): port reads and writes of every width
 * 1..8 at device ports and arbitrary ones, guest RAM writes (to plant test-device requests),
 * complete test-device requests, UART input, MMIO accesses, and registrations and dispatches
 * on a scratch io_bus. Each access gets an exact-size heap buffer, so a handler touching
 * data[len] is an ASan report. After every operation:
 *  - no lock is held (lockdep count) and no invalidation is in flight;
 *  - every valid guest-physical cache points where a fresh translation would;
 *  - an unclaimed read returned all ones; the UART counted exactly the bytes it emitted;
 *  - a test-device request written back to RAM carries the result the port returns; a read
 *    or write through the test cache agrees with guest_mem_read(); private pages refuse it;
 *  - the scratch bus's ranges never overlap and every dispatch lands inside its range.
 */
#include <stdatomic.h>

#include "../../devices/testdev_abi.h"
#include "../../arch/x86/layout.h"
#include "../../devices/devices.h"
#include "../../vmm/gpc.h"
#include "../../vmm/io_bus.h"
#include "../../vmm/lock.h"
#include "../../vmm/vm.h"
#include "fuzz_common.h"

enum op {
	OP_PIO_WRITE,	 /* sel u8, width u8, value u64: at a device port */
	OP_PIO_READ,	 /* sel u8, width u8 */
	OP_MEM_WRITE,	 /* gpa u32, len u8, bytes */
	OP_TESTDEV,	 /* req u32, cmd u8, gpa u64, len u64, value u64: a whole request */
	OP_SERIAL_INPUT, /* len u8, bytes (repeated to overfill the FIFO with flag 1) */
	OP_BUS,		 /* base/addr u64, len u64 / width u8: scratch io_bus */
	OP_MMIO,	 /* addr u64, width u8, value u64 */
	OP_PIO_RAW,	 /* port u16, width u8, value u64: any port */
	NR_OPS
};
/* The op byte: low 3 bits the op, the other 5 are flags for it. */
#define OP_FLAG(op, n) (((op) >> (3 + (n))) & 1)

#define MAX_OPS 2048

/*
 * Guest RAM: a low region the test device's requests can live in, one above 1 MiB past a
 * hole, one of 8 MiB (a discard of more than 1024 pages makes the cache registry walk every
 * bucket), one above 4 GiB (reachable by a request's 64-bit gpa, never by its 32-bit request
 * address). Pages are only touched when written, so a fresh VM per input stays cheap.
 */
static const struct {
	uint64_t gpa, size;
} regions[] = {
	{ 0, 256 * 1024 },
	{ 1 * MiB, 64 * 1024 },
	{ 16 * MiB, 8 * MiB },
	{ HIGH_RAM_START, 64 * 1024 },
};
#define NR_REGIONS (sizeof(regions) / sizeof(regions[0]))

/* Ports by selector: sel & 7 picks a device, sel >> 3 an offset (past the end too). */
static const uint16_t device_ports[8] = {
	COM1_PORT,    TESTDEV_PORT, I8042_DATA_PORT, EXIT_PORT,
	ACPI_PM_PORT, COM1_PORT,    TESTDEV_PORT,    TESTDEV_PORT + 4,
};

struct fuzz_vm {
	struct vm *vm;
	struct vcpu vcpu;
	uint64_t sink_bytes;
	struct io_bus *scratch;
};

static void serial_sink(void *arg, const uint8_t *buf, size_t len)
{
	struct fuzz_vm *f = arg;

	(void)buf;
	f->sink_bytes += len;
}

/* ---- scratch bus ---------------------------------------------------------------------- */

static uint64_t scratch_addr; /* the address being dispatched */

static void scratch_handler(struct vcpu *vcpu, uint64_t off, uint8_t *data, uint32_t len,
			    bool is_write, void *opaque)
{
	const struct io_range *r = opaque;

	(void)vcpu;
	FUZZ_CHECK(off < r->len);
	FUZZ_CHECK(r->base + off == scratch_addr);
	if (!is_write)
		memset(data, 0x5a, len);
}

static void check_scratch(const struct io_bus *bus)
{
	FUZZ_CHECK(bus->nr >= 0 && bus->nr <= IO_BUS_MAX_RANGES);
	for (int i = 0; i < bus->nr; i++) {
		const struct io_range *a = &bus->ranges[i];

		FUZZ_CHECK(a->len && a->base + a->len - 1 >= a->base);
		for (int j = i + 1; j < bus->nr; j++) {
			const struct io_range *b = &bus->ranges[j];

			FUZZ_CHECK(a->base + a->len <= b->base || b->base + b->len <= a->base);
		}
	}
}

static void op_bus(struct fuzz_vm *f, struct fuzz_in *in, uint8_t op)
{
	struct io_bus *bus = f->scratch;
	uint64_t a = in_u64(in), b = in_u64(in);

	if (OP_FLAG(op, 1) && bus->nr) /* near an existing range: the interesting edges */
		a = bus->ranges[(a >> 56) % (unsigned int)bus->nr].base + (int8_t)a;
	if (!OP_FLAG(op, 0)) {
		int nr = bus->nr;
		/* the handler finds its own range through opaque, set once registered */
		int rc = io_bus_register(bus, a, b, scratch_handler, NULL, "scratch");

		FUZZ_CHECK(rc == 0 ? bus->nr == nr + 1 : bus->nr == nr);
		if (!rc)
			bus->ranges[nr].opaque = &bus->ranges[nr];
		check_scratch(bus);
	} else {
		uint32_t width = (uint32_t)(b & 7) + 1;
		uint8_t *data = malloc(width);
		bool hit;

		FUZZ_SETUP(data);
		memset(data, 0, width);
		scratch_addr = a;
		hit = io_bus_dispatch(bus, NULL, a, data, width, OP_FLAG(op, 2));
		if (!hit && !OP_FLAG(op, 2)) {
			for (uint32_t i = 0; i < width; i++)
				FUZZ_CHECK(data[i] == 0xff);
		}
		free(data);
	}
}

/* ---- VM ------------------------------------------------------------------------------- */

static struct fuzz_vm *fuzz_vm_create(enum mem_backing backing)
{
	struct fuzz_vm *f = calloc(1, sizeof(*f));
	struct vm *vm = calloc(1, sizeof(*vm));

	FUZZ_SETUP(f && vm);
	f->vm = vm;
	f->scratch = calloc(1, sizeof(*f->scratch));
	FUZZ_SETUP(f->scratch);
	vm->fd = -1;
	vm->stop_eventfd = -1;
	fuzz_mem_init(&vm->mem, backing);
	vm->mem_ready = true;
	for (size_t i = 0; i < NR_REGIONS; i++)
		fuzz_mem_add(&vm->mem, regions[i].gpa, regions[i].size);

	vm->serial = serial_create(vm, COM1_PORT, COM1_IRQ, -1);
	FUZZ_SETUP(vm->serial);
	serial_set_sink(vm->serial, serial_sink, f);
	vm->testdev = testdev_create(vm);
	FUZZ_SETUP(vm->testdev);
	FUZZ_SETUP(exit_port_init(vm) == 0);
	FUZZ_SETUP(i8042_init(vm) == 0);
	FUZZ_SETUP(acpi_pm_init(vm) == 0);

	f->vcpu.vm = vm;
	f->vcpu.id = 0;
	f->vcpu.fd = -1;
	return f;
}

static void fuzz_vm_destroy(struct fuzz_vm *f)
{
	struct vm *vm = f->vm;

	serial_destroy(vm->serial);
	testdev_destroy(vm->testdev);
	FUZZ_CHECK(vm->mem.nr_caches == 0);
	guest_mem_destroy(&vm->mem);
	free(vm);
	free(f->scratch);
	free(f);
}

static void check_vm(struct fuzz_vm *f)
{
	fuzz_check_quiescent(&f->vm->mem);
	FUZZ_CHECK(f->sink_bytes == serial_bytes_out(f->vm->serial));
	/* the exit port, i8042 and ACPI PM may have stopped the VM: let the next op run */
	atomic_store(&f->vm->stopping, false);
}

/* A port access with an exact-size buffer; an unclaimed read must see all ones. */
static void pio(struct fuzz_vm *f, uint16_t port, uint32_t width, bool is_write, uint64_t value,
		uint8_t *out)
{
	uint8_t *data = malloc(width);
	bool hit;

	FUZZ_SETUP(data);
	for (uint32_t i = 0; i < width; i++)
		data[i] = (uint8_t)(value >> (8 * (i % 8)));
	hit = io_bus_dispatch(&f->vm->pio, &f->vcpu, port, data, width, is_write);
	if (!hit && !is_write) {
		for (uint32_t i = 0; i < width; i++)
			FUZZ_CHECK(data[i] == 0xff);
	}
	if (out)
		memcpy(out, data, width);
	free(data);
}

static uint64_t relative_gpa(uint64_t raw)
{
	unsigned int r = (unsigned int)(raw >> 60) % NR_REGIONS;

	return regions[r].gpa + (raw & 0xffffffffu) % regions[r].size;
}

static void op_testdev(struct fuzz_vm *f, struct fuzz_in *in, uint8_t op)
{
	struct guest_mem *mem = &f->vm->mem;
	struct testdev_request req, back;
	uint32_t req_gpa = in_u32(in);
	int32_t port_result = 0;
	bool readable;

	req.cmd = in_u8(in) % 8;
	req.result = 0x7eadbeef;
	req.gpa = in_u64(in);
	req.len = in_u64(in);
	req.value = in_u64(in);
	if (OP_FLAG(op, 0)) { /* addresses inside guest RAM, as a real test would use */
		req_gpa = (uint32_t)(req_gpa % (regions[0].size / 8)) * 8;
		req.gpa = relative_gpa(req.gpa);
		req.len %= 2 * regions[2].size;
	}
	if (OP_FLAG(op, 1)) { /* page granular, for discard and conversion */
		req.gpa &= ~(GUEST_PAGE_SIZE - 1);
		req.len = (req.len + GUEST_PAGE_SIZE - 1) & ~(GUEST_PAGE_SIZE - 1);
	}
	if (OP_FLAG(op, 2)) /* 8-byte aligned, for the cache and memory reads */
		req.gpa &= ~7ull;

	readable = !(req_gpa & 7) && guest_mem_write(mem, req_gpa, &req, sizeof(req)) == 0;
	pio(f, TESTDEV_PORT, 4, true, req_gpa, NULL);
	pio(f, TESTDEV_PORT + 4, 4, false, 0, (uint8_t *)&port_result);
	if (!readable) {
		FUZZ_CHECK(port_result == -EFAULT);
		return;
	}
	/* the request page may have been discarded (zeros, then the write-back) or made private */
	if (guest_mem_read(mem, req_gpa, &back, sizeof(back)) == 0) {
		FUZZ_CHECK(back.result == port_result);
		FUZZ_CHECK(back.cmd == req.cmd && back.gpa == req.gpa && back.len == req.len);
	} else {
		FUZZ_CHECK(guest_mem_is_private(mem, req_gpa) == 1 ||
			   guest_mem_is_private(mem, req_gpa + sizeof(req) - 1) == 1);
	}
	if (port_result == 0 && (req.cmd == TESTDEV_CACHE_READ || req.cmd == TESTDEV_CACHE_WRITE ||
				 req.cmd == TESTDEV_MEM_READ)) {
		uint64_t direct = 0;
		uint64_t seen = req.value;

		if (req.cmd !=
		    TESTDEV_CACHE_WRITE) { /* the value the device read, as written back */
			FUZZ_CHECK(guest_mem_read(mem, req_gpa, &back, sizeof(back)) == 0);
			seen = back.value;
		}
		FUZZ_CHECK(guest_mem_read(mem, req.gpa, &direct, 8) == 0);
		FUZZ_CHECK(direct == seen || req.gpa - req_gpa < sizeof(req) ||
			   req_gpa - req.gpa < 8);
	}
	if (req.cmd >= TESTDEV_CACHE_WRITE && req.cmd <= TESTDEV_MEM_READ &&
	    guest_mem_is_private(mem, req.gpa) == 1)
		FUZZ_CHECK(port_result != 0);
}

static void op_run(struct fuzz_vm *f, struct fuzz_in *in)
{
	uint8_t op = in_u8(in), sel, buf[256];
	uint32_t width;
	uint64_t a, v;
	size_t n;

	switch (op & 7) {
	case OP_PIO_WRITE:
	case OP_PIO_READ:
		sel = in_u8(in);
		width = (in_u8(in) & 7) + 1;
		v = (op & 7) == OP_PIO_WRITE ? in_u64(in) : 0;
		pio(f, (uint16_t)(device_ports[sel & 7] + (sel >> 3)), width,
		    (op & 7) == OP_PIO_WRITE, v, NULL);
		break;
	case OP_MEM_WRITE:
		a = in_u32(in);
		if (OP_FLAG(op, 0))
			a = relative_gpa(a);
		n = in_bytes(in, buf, in_u8(in));
		if (n)
			(void)guest_mem_write(&f->vm->mem, a, buf, n);
		break;
	case OP_TESTDEV:
		op_testdev(f, in, op);
		break;
	case OP_SERIAL_INPUT:
		n = in_bytes(in, buf, in_u8(in));
		for (int i = 0; i < (OP_FLAG(op, 0) ? 40 : 1); i++)
			serial_input(f->vm->serial, buf, n);
		break;
	case OP_BUS:
		op_bus(f, in, op);
		break;
	case OP_MMIO: {
		uint8_t *data;
		bool hit;

		a = in_u64(in);
		width = (in_u8(in) & 7) + 1;
		v = in_u64(in);
		data = malloc(width);
		FUZZ_SETUP(data);
		memcpy(data, &v, width);
		hit = io_bus_dispatch(&f->vm->mmio, &f->vcpu, a, data, width, OP_FLAG(op, 0));
		if (!hit && !OP_FLAG(op, 0)) {
			for (uint32_t i = 0; i < width; i++)
				FUZZ_CHECK(data[i] == 0xff);
		}
		free(data);
		break;
	}
	case OP_PIO_RAW: {
		uint16_t port = in_u16(in);

		width = (in_u8(in) & 7) + 1;
		pio(f, port, width, OP_FLAG(op, 0), in_u64(in), NULL);
		break;
	}
	}
	check_vm(f);
}

FUZZ_QUIET_INITIALIZE()

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct fuzz_vm *f;

	/* first byte: the RAM backing (memfd punches holes with fallocate, anonymous memory
	 * with madvise) */
	f = fuzz_vm_create(in_u8(&in) & 1 ? MEM_BACKING_ANONYMOUS : MEM_BACKING_MEMFD);
	for (int i = 0; i < MAX_OPS && in.n; i++)
		op_run(f, &in);
	fuzz_vm_destroy(f);
	return 0;
}
