/* SPDX-License-Identifier: MIT */
/*
 * A hostile guest (issue 7, guest side): on every vCPU, garbage from a seeded PRNG at random
 * widths to every port-I/O register minivmm emulates and to every register of every
 * virtio-mmio window, each read back; with `xen`, every hypercall number 0..63 with wild
 * argument registers. Then it proves the VMM still works: the console prints, the test device
 * answers a MEM_READ, Xen still answers xen_version, and the exit port takes `code=`.
 *
 * Command line: seed=N (default 1; vCPU n uses seed + n), rounds=N (default 2000 accesses per
 * vCPU and phase), code=N (exit status, default 0), xen (hypercall phase; needs --xen),
 * flood (write to the UART as fast as possible, forever; for the VMM's --timeout test).
 *
 * Not written (their documented job is to end the VM, which would end the test):
 *  - the exit port 0xf4-0xf7 (any write);
 *  - ACPI sleep control 0x600 with SLP_EN and SLP_TYP 5 (S5), ACPI reset 0x602 with 0x01;
 *  - i8042 command 0xfe (pulse reset) at 0x64;
 *  - SCHEDOP_block: it sleeps until an event upcall, by design, and nothing is bound.
 * Not VMM devices (KVM emulates them in the kernel): PIC, PIT, IOAPIC, LAPIC.
 *
 * Guest memory the VMM may be told to touch is contained: every ring address that would fall
 * in RAM is moved into this vCPU's DMA area, and every pointer handed to Xen that is RAM
 * points into a poison area whose every byte has bit 7 set, so no structure read from it
 * names DOMID_SELF, a small port, vCPU or frame: the VMM is given garbage, never a valid
 * order to discard the guest's own code.
 */
#include "rt/testdev.h"
#include "rt/xen.h"
#include "../arch/x86/layout.h"

#define DMA_SIZE (256 * 1024ull)  /* per vCPU: rings and buffers of the virtio devices */
#define POISON_SIZE (2 * 4096ull) /* per vCPU: what wild Xen pointers into RAM point at */
#define NR_CPUS 2

struct prng {
	uint64_t s;
};

static uint64_t rnd(struct prng *p) /* splitmix64 */
{
	uint64_t z = (p->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(struct prng *p, uint64_t n)
{
	return n ? rnd(p) % n : 0;
}

/* Values that reach interesting code: small numbers, single bits, boundaries, noise. */
static uint64_t rnd_value(struct prng *p)
{
	switch (rnd_below(p, 6)) {
	case 0:
		return rnd_below(p, 8);
	case 1:
		return rnd_below(p, 256);
	case 2:
		return 1ull << rnd_below(p, 64);
	case 3: {
		static const uint64_t edge[] = { 0,	     ~0ull,	 0x7fffffff,
						 0x80000000, 0xffffffff, 0x8000000000000000ull };
		return edge[rnd_below(p, sizeof(edge) / sizeof(edge[0]))];
	}
	default:
		return rnd(p);
	}
}

struct cpu_state {
	struct prng prng;
	uint64_t dma, poison;
	uint64_t pio, mmio, hcalls, hcall_errors, hcall_ok;
	uint32_t bad; /* invariant violations seen */
	char why[96];
};

static struct cpu_state cpus[NR_CPUS];
static uint64_t seed = 1, rounds = 2000, ram_top;
static bool xen_mode;
static unsigned nr_virtio;
static uint64_t virtio_base[8];
static volatile uint32_t
	phase_done[3]; /* vCPU 1 finished the garbage; BSP reported; vCPU 1 finished */
static volatile uint32_t ap_up;
static volatile uint64_t known_value = 0x686f7374696c6521ull; /* "hostile!" */

static void note_bad(struct cpu_state *c, const char *what, uint64_t where, uint64_t got)
{
	if (!c->bad++)
		snprintf(c->why, sizeof(c->why), "%s at 0x%lx: got 0x%lx", what, where, got);
}

static void pio_write(uint16_t port, unsigned width, uint32_t v)
{
	if (width == 1)
		__asm__ volatile("outb %b0, %w1" : : "a"(v), "Nd"(port));
	else if (width == 2)
		__asm__ volatile("outw %w0, %w1" : : "a"(v), "Nd"(port));
	else
		__asm__ volatile("outl %0, %w1" : : "a"(v), "Nd"(port));
}

static uint32_t pio_read(uint16_t port, unsigned width)
{
	uint32_t v = 0;

	if (width == 1)
		__asm__ volatile("inb %w1, %b0" : "+a"(v) : "Nd"(port));
	else if (width == 2)
		__asm__ volatile("inw %w1, %w0" : "+a"(v) : "Nd"(port));
	else
		__asm__ volatile("inl %w1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* A wild 64-bit argument: unmapped, kernel-half, non-canonical, MMIO, misaligned poison. */
static uint64_t wild(struct cpu_state *c)
{
	struct prng *p = &c->prng;

	switch (rnd_below(p, 9)) {
	case 0:
		return 0x00007fffffff0000ull + rnd_below(p, 0x10000); /* not in the page tables */
	case 1:
		return 0xffff800000001000ull + rnd_below(p, 1ull << 40); /* kernel half */
	case 2:
		return 0x8000000000001000ull | rnd(p); /* non-canonical */
	case 3:
		return VIRTIO_MMIO_BASE + rnd_below(p, 8 * VIRTIO_MMIO_SIZE); /* virtio windows */
	case 4:
		return rnd_below(p, 2) ? IOAPIC_ADDR + rnd_below(p, 64)
				       : LAPIC_ADDR + rnd_below(p, 4096);
	case 5:
		return MMIO_HOLE_START + rnd_below(p, MMIO_HOLE_END - MMIO_HOLE_START);
	case 6:
		return ram_top + rnd_below(p, MMIO_HOLE_START - ram_top); /* above RAM, mapped */
	case 7:
		return c->poison + 1 + rnd_below(p, POISON_SIZE - 64); /* misaligned, poison */
	default:
		return rnd(p) | 0x80000000ull; /* noise; as an int, never a small number */
	}
}

/* A value for the low half of a ring address: never RAM outside this vCPU's DMA area. */
static uint32_t ring_low(struct cpu_state *c, uint32_t v)
{
	if (v < ram_top)
		v = (uint32_t)(c->dma + v % (DMA_SIZE - 64));
	return v;
}

/* Every byte with bit 7 set: read at any offset and width, no field is small. */
static void poison_fill(struct cpu_state *c, uint64_t base, uint64_t len)
{
	volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)base;

	for (uint64_t i = 0; i < len / 8; i++)
		w[i] = rnd(&c->prng) | 0x8080808080808080ull;
}

/* ---- port I/O ------------------------------------------------------------------------- */

struct pio_dev {
	uint16_t base, len;
	bool xen_only;
};

static const struct pio_dev pio_devs[] = {
	{ COM1_PORT, 8, false },
	{ I8042_DATA_PORT, 5, false },
	{ EXIT_PORT, 4, false }, /* read only */
	{ TESTDEV_PORT, TESTDEV_SIZE, false },
	{ ACPI_PM_PORT, ACPI_PM_SIZE, false },
	{ XEN_HCALL_PORT, 4, true },
};

/* The registers whose documented job is to end the VM: see the header comment. */
static bool ends_the_vm(uint16_t port, uint32_t v)
{
	uint8_t b = (uint8_t)v;

	if (port >= EXIT_PORT && port < EXIT_PORT + 4)
		return true;
	if (port == ACPI_SLEEP_CTL_PORT && (b & 0x20) && ((b >> 2) & 7) == ACPI_SLEEP_TYP_S5)
		return true;
	if (port == ACPI_RESET_PORT && b == ACPI_RESET_VALUE)
		return true;
	return port == I8042_CMD_PORT && b == 0xfe;
}

static long xen_check(struct cpu_state *c, unsigned nr, long r);

/* out %eax,$XEN_HCALL_PORT with a garbage number and wild argument registers */
static void xen_port_garbage(struct cpu_state *c, uint32_t nr)
{
	register uint64_t a1 __asm__("rdi") = wild(c);
	register uint64_t a2 __asm__("rsi") = wild(c);
	register uint64_t a3 __asm__("rdx") = wild(c);
	register uint64_t a4 __asm__("r10") = wild(c);
	register uint64_t a5 __asm__("r8") = wild(c);
	uint64_t rax = nr;

	__asm__ volatile("outl %%eax, %[port]"
			 : "+a"(rax), "+r"(a1), "+r"(a2), "+r"(a3), "+r"(a4), "+r"(a5)
			 : [port] "i"(XEN_HCALL_PORT)
			 : "memory");
	xen_check(c, nr, (long)rax);
}

static void pio_phase(struct cpu_state *c)
{
	struct prng *p = &c->prng;

	for (uint64_t i = 0; i < rounds; i++) {
		const struct pio_dev *d =
			&pio_devs[rnd_below(p, sizeof(pio_devs) / sizeof(pio_devs[0]))];
		uint16_t port = (uint16_t)(d->base + rnd_below(p, d->len));
		unsigned width = 1u << rnd_below(p, 3);
		uint32_t v = (uint32_t)rnd_value(p);

		if (d->xen_only && !xen_mode)
			continue;
		if (port == TESTDEV_PORT && width == 4) {
			/* a request address: inside RAM only where the poison is (no valid
			 * command), else wherever it lands (MMIO, above RAM, unaligned) */
			if (v < ram_top)
				v = (uint32_t)(c->poison + (v % (POISON_SIZE - 32)));
		}
		if (port == XEN_HCALL_PORT && width == 4) {
			xen_port_garbage(c, v);
		} else if (!ends_the_vm(port, v)) {
			pio_write(port, width, v);
			c->pio++;
		}
		if (port == TESTDEV_PORT && width == 4) /* the VMM wrote its result there */
			poison_fill(c, c->poison, POISON_SIZE);
		pio_read(port, width);
		c->pio++;
		if (port == ACPI_SLEEP_STS_PORT && width == 1 && pio_read(port, 1) != 0x80)
			note_bad(c, "ACPI sleep status not WAK_STS", port, pio_read(port, 1));
	}
}

/* ---- virtio-mmio ---------------------------------------------------------------------- */

static const uint16_t virtio_regs[] = {
	0x000, 0x004, 0x008, 0x00c, 0x010, 0x014, 0x020, 0x024, 0x030, 0x034, 0x038, 0x044,
	0x050, 0x060, 0x064, 0x070, 0x080, 0x084, 0x090, 0x094, 0x0a0, 0x0a4, 0x0ac, 0x0b0,
	0x0b4, 0x0b8, 0x0bc, 0x0fc, 0x100, 0x104, 0x108, 0x10c, 0x110, 0x118, 0x120,
};

static void mmio_write(uint64_t a, unsigned width, uint64_t v)
{
	switch (width) {
	case 1:
		*(volatile uint8_t *)(uintptr_t)a = (uint8_t)v;
		break;
	case 2:
		*(volatile uint16_t *)(uintptr_t)a = (uint16_t)v;
		break;
	case 4:
		*(volatile uint32_t *)(uintptr_t)a = (uint32_t)v;
		break;
	default:
		*(volatile uint64_t *)(uintptr_t)a = v;
	}
}

static uint64_t mmio_read(uint64_t a, unsigned width)
{
	switch (width) {
	case 1:
		return *(volatile uint8_t *)(uintptr_t)a;
	case 2:
		return *(volatile uint16_t *)(uintptr_t)a;
	case 4:
		return *(volatile uint32_t *)(uintptr_t)a;
	default:
		return *(volatile uint64_t *)(uintptr_t)a;
	}
}

static void mmio_phase(struct cpu_state *c)
{
	struct prng *p = &c->prng;

	for (uint64_t i = 0; i < rounds && nr_virtio; i++) {
		uint64_t base = virtio_base[rnd_below(p, nr_virtio)], off;
		unsigned width = 1u << rnd_below(p, 4);
		uint64_t v = rnd_value(p);

		if (rnd_below(p, 4)) { /* mostly the registers, as 32-bit accesses */
			off = virtio_regs[rnd_below(p,
						    sizeof(virtio_regs) / sizeof(virtio_regs[0]))];
			if (rnd_below(p, 4))
				width = 4;
		} else { /* anywhere in the window, any alignment (8 bytes may cross it) */
			off = rnd_below(p, VIRTIO_MMIO_SIZE - width + 1);
		}
		if (width == 4 && (off == 0x080 || off == 0x090 || off == 0x0a0))
			v = ring_low(c, (uint32_t)v);
		if (width == 4 && (off == 0x084 || off == 0x094 || off == 0x0a4) && rnd_below(p, 2))
			v = 0; /* often low memory, so the devices do reach the DMA area */
		if (width == 8 && (off & ~7ull) >= 0x080 && (off & ~7ull) <= 0x0a4)
			v = (v & ~0xffffffffull) | ring_low(c, (uint32_t)v);
		mmio_write(base + off, width, v);
		mmio_read(base + off, width);
		c->mmio += 2;
		if (!(i & 63)) {
			uint32_t magic = (uint32_t)mmio_read(base, 4);

			if (magic != 0x74726976u)
				note_bad(c, "virtio magic changed", base, magic);
			poison_fill(c, c->dma, DMA_SIZE); /* the devices wrote used rings there */
		}
	}
}

/* ---- Xen hypercalls ------------------------------------------------------------------- */

/* A result is a Xen errno (-1..-4095, Xen's are far smaller) or >= 0. */
static long xen_check(struct cpu_state *c, unsigned nr, long r)
{
	c->hcalls++;
	if (r < -4095)
		note_bad(c, "hypercall result neither errno nor value", nr, (uint64_t)r);
	else if (r < 0)
		c->hcall_errors++;
	else
		c->hcall_ok++;
	if (r >= 0) /* it may have written through a pointer into the poison */
		poison_fill(c, c->poison, POISON_SIZE);
	return r;
}

static void xen_phase(struct cpu_state *c)
{
	struct prng *p = &c->prng;

	for (unsigned nr = 0; nr < 64; nr++) {
		/* every argument wild: int-typed sub-ops truncate to >= 0x1000, never a command */
		for (unsigned k = 0; k < 8; k++)
			xen_check(c, nr,
				  xen_hcall5(nr, wild(c), wild(c), wild(c), wild(c), wild(c)));
		/* small sub-op numbers (the vCPU id too, for vcpu_op), wild pointers */
		for (uint64_t cmd = 0; cmd < 16; cmd++) {
			if (nr == __HYPERVISOR_sched_op && cmd == SCHEDOP_block)
				continue;
			xen_check(c, nr,
				  xen_hcall5(nr, cmd,
					     nr == __HYPERVISOR_vcpu_op ? rnd_below(p, 3) : wild(c),
					     wild(c), wild(c), wild(c)));
		}
	}
	for (uint64_t i = 0; i < rounds / 8; i++)
		xen_port_garbage(c, (uint32_t)rnd_value(p));
}

/* ---- the run -------------------------------------------------------------------------- */

/* vCPU 1: the same garbage with its own seed, in step with the BSP (phase_done) */
static void ap_main(uint32_t apic_id)
{
	struct cpu_state *c = &cpus[1];

	if (apic_id != 1)
		return;
	__atomic_store_n(&ap_up, 1, __ATOMIC_SEQ_CST);
	pio_phase(c);
	mmio_phase(c);
	__atomic_store_n(&phase_done[0], 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&phase_done[1], __ATOMIC_SEQ_CST))
		cpu_relax(); /* the BSP restores the UART and reports */
	if (xen_mode)
		xen_phase(c);
	__atomic_store_n(&phase_done[2], 1, __ATOMIC_SEQ_CST);
}

static RT_NORETURN void flood(void)
{
	static const char line[] = "hostile: flood 0123456789abcdefghijklmnopqrstuvwxyz\r\n";

	for (;;)
		for (const char *s = line; *s; s++)
			outb(COM1_PORT, (uint8_t)*s);
}

static bool wait_for(volatile uint32_t *flag, uint32_t n)
{
	for (uint64_t i = 0; i < 20000000ull; i++) {
		if (__atomic_load_n(flag, __ATOMIC_SEQ_CST) >= n)
			return true;
		cpu_relax();
	}
	return false;
}

int test_main(void)
{
	uint64_t code = 0, v = 0;
	int32_t r;
	bool ok = true;

	if (cmdline_get("flood", NULL, 0))
		flood();
	cmdline_get_u64("seed", &seed);
	cmdline_get_u64("rounds", &rounds);
	cmdline_get_u64("code", &code);
	xen_mode = cmdline_get("xen", NULL, 0);
	ram_top = testdev_ram_top();
	if (ram_top > MMIO_HOLE_START)
		ram_top = MMIO_HOLE_START;
	for (unsigned i = 0; i < NR_CPUS; i++) {
		uint64_t area = testdev_scratch((DMA_SIZE + POISON_SIZE) * NR_CPUS);

		if (!area) {
			printf("hostile: FAIL: no scratch RAM\n");
			return 1;
		}
		cpus[i].prng.s = seed + i;
		cpus[i].dma = area + i * (DMA_SIZE + POISON_SIZE);
		cpus[i].poison = cpus[i].dma + DMA_SIZE;
		poison_fill(&cpus[i], cpus[i].dma, DMA_SIZE + POISON_SIZE);
	}
	for (unsigned n = 0; n < 8; n++) {
		uint64_t b = VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_SIZE;

		if (mmio_read32(b) == 0x74726976u && mmio_read32(b + 8) != 0) {
			printf("hostile: virtio-mmio %u at 0x%lx: device id %u\n", n, b,
			       mmio_read32(b + 8));
			virtio_base[nr_virtio++] = b;
		}
	}
	if (xen_mode && !xen_setup())
		return 1;
	printf("hostile: seed %lu (vCPU 1: %lu), %lu rounds, %u virtio devices%s\n", seed, seed + 1,
	       rounds, nr_virtio, xen_mode ? ", Xen hypercalls" : "");
	if (!smp_start_aps(NR_CPUS, ap_main) || !wait_for(&ap_up, 1)) {
		printf("hostile: FAIL: vCPU 1 did not start\n");
		return 1;
	}
	pio_phase(&cpus[0]);
	mmio_phase(&cpus[0]);
	if (!wait_for(&phase_done[0], 1))
		ok = false;
	serial_init(); /* the garbage left DLAB, loopback and interrupts in some state */
	printf("hostile: devices survived %lu + %lu port and %lu + %lu MMIO accesses%s\n",
	       cpus[0].pio, cpus[1].pio, cpus[0].mmio, cpus[1].mmio,
	       ok ? "" : " (FAIL: vCPU 1 did not finish)");
	__atomic_store_n(&phase_done[1], 1, __ATOMIC_SEQ_CST);
	if (xen_mode)
		xen_phase(&cpus[0]);
	if (!wait_for(&phase_done[2], 1)) {
		printf("hostile: FAIL: vCPU 1 did not finish the hypercalls\n");
		ok = false;
	}
	if (xen_mode) {
		long ver = xen_hcall(__HYPERVISOR_xen_version, XENVER_version, 0, 0);

		printf("hostile: %lu + %lu hypercalls: %lu errors, %lu successes; xen_version 0x%lx\n",
		       cpus[0].hcalls, cpus[1].hcalls, cpus[0].hcall_errors + cpus[1].hcall_errors,
		       cpus[0].hcall_ok + cpus[1].hcall_ok, ver);
		if (ver <= 0) {
			printf("hostile: FAIL: xen_version after the garbage: %ld\n", ver);
			ok = false;
		}
	}
	for (unsigned i = 0; i < NR_CPUS; i++) {
		if (cpus[i].bad) {
			printf("hostile: FAIL: vCPU %u: %u bad answers, first: %s\n", i,
			       cpus[i].bad, cpus[i].why);
			ok = false;
		}
	}
	r = testdev_mem_read((uint64_t)(uintptr_t)&known_value, &v);
	if (r || v != known_value) {
		printf("hostile: FAIL: testdev MEM_READ: %s, 0x%lx\n", testdev_errname(r), v);
		ok = false;
	}
	if (!ok)
		return 1;
	printf("hostile: VMM still answers: console, testdev MEM_READ 0x%lx; exiting with %lu\n", v,
	       code);
	return (int)code;
}
