/* SPDX-License-Identifier: MIT */
/* Runtime start-up (BSP), boot-information copy, IDT and exception reports. */
#include "rt.h"

struct hvm_start_info rt_start_info;
struct hvm_memmap_entry rt_memmap[RT_MAX_MEMMAP];
unsigned rt_memmap_entries;
char rt_cmdline[RT_MAX_CMDLINE];

void rt_start(uint32_t start_info_paddr);
void exception_handler(uint64_t *frame);
void rt_load_segments(void);

struct idt_entry {
	uint16_t off0;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off1;
	uint32_t off2;
	uint32_t zero;
};

static struct idt_entry idt[256] __attribute__((aligned(16)));
extern const uint64_t isr_stub_table[256];

const char *e820_type_name(uint32_t type)
{
	switch (type) {
	case E820_RAM:
		return "RAM";
	case E820_RESERVED:
		return "reserved";
	case E820_ACPI:
		return "ACPI";
	case E820_NVS:
		return "NVS";
	case E820_UNUSABLE:
		return "unusable";
	default:
		return "?";
	}
}

/* Copy everything the VMM left in low memory before anything can overwrite
 * it (the AP trampoline, a test). Bounded: never trust the sizes. */
static int copy_start_info(uint32_t paddr)
{
	const struct hvm_start_info *si = (const struct hvm_start_info *)(uintptr_t)paddr;

	if (paddr == 0 || paddr >= 0xfffff000u || si->magic != HVM_START_MAGIC)
		return -1;
	rt_start_info = *si;
	if (si->version == 0) {
		/* version 0 has no memmap fields */
		rt_start_info.memmap_paddr = 0;
		rt_start_info.memmap_entries = 0;
		rt_start_info.reserved = 0;
	}
	if (rt_start_info.cmdline_paddr && rt_start_info.cmdline_paddr < 0xffffffffull) {
		const char *c = (const char *)(uintptr_t)rt_start_info.cmdline_paddr;
		size_t i;
		for (i = 0; i < RT_MAX_CMDLINE - 1 && c[i]; i++)
			rt_cmdline[i] = c[i];
		rt_cmdline[i] = 0;
	}
	if (rt_start_info.memmap_paddr && rt_start_info.memmap_paddr < 0xffffffffull) {
		const struct hvm_memmap_entry *m =
			(const struct hvm_memmap_entry *)(uintptr_t)rt_start_info.memmap_paddr;
		unsigned n = rt_start_info.memmap_entries;
		if (n > RT_MAX_MEMMAP)
			n = RT_MAX_MEMMAP;
		for (unsigned i = 0; i < n; i++)
			rt_memmap[i] = m[i];
		rt_memmap_entries = n;
	}
	return 0;
}

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		uint64_t a = isr_stub_table[v];
		idt[v].off0 = (uint16_t)a;
		idt[v].sel = 0x18;
		idt[v].ist = 0;
		idt[v].type = 0x8e; /* present, DPL0, 64-bit interrupt gate */
		idt[v].off1 = (uint16_t)(a >> 16);
		idt[v].off2 = (uint32_t)(a >> 32);
		idt[v].zero = 0;
	}
}

void idt_load_raw(uint64_t base, uint16_t limit)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} d = { limit, base };
	__asm__ volatile("lidt %0" : : "m"(d) : "memory");
}

void idt_load(void)
{
	idt_load_raw((uint64_t)(uintptr_t)idt, sizeof(idt) - 1);
}

static const char *const exc_names[32] = {
	"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
	"#NP", "#SS", "#GP", "#PF", "?15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
	"?22", "?23", "?24", "?25", "?26", "?27", "#HV", "#VC", "#SX", "?31",
};

static bool has_error_code(uint64_t v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30;
}

/* Reports the exception and exits with 0x80 + vector. Writes the console
 * without its lock: the faulting code may hold it. */
void exception_handler(uint64_t *frame)
{
	uint64_t vec = frame[0];
	uint64_t err = 0, rip, cr2;
	const uint64_t *iret = frame + 1;
	char buf[256];

	if (has_error_code(vec))
		err = *iret++;
	rip = iret[0];
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	snprintf(
		buf, sizeof(buf),
		"\nEXCEPTION: vector %lu (%s) error 0x%lx rip 0x%lx cs 0x%lx rflags 0x%lx rsp 0x%lx cr2 0x%lx apic %u\n",
		vec, vec < 32 ? exc_names[vec] : "irq", err, rip, iret[1], iret[2], iret[3], cr2,
		lapic_id());
	rt_puts_nolock(buf);
	rt_exit(vec < 0x7f ? RT_EXIT_EXCEPTION_BASE + (uint32_t)vec : 0xff);
}

void rt_start(uint32_t start_info_paddr)
{
	int ok = copy_start_info(start_info_paddr);
	int rc;

	rt_load_segments();
	idt_init();
	idt_load();
	serial_init();
	if (ok < 0) {
		printf("rt: bad hvm_start_info at 0x%x (magic 0x%x)\n", start_info_paddr,
		       start_info_paddr && start_info_paddr < 0xfffff000u
			       ? *(volatile uint32_t *)(uintptr_t)start_info_paddr
			       : 0u);
		rt_exit(RT_EXIT_BAD_START_INFO);
	}
	rc = test_main();
	rt_exit((uint32_t)rc);
}
