/* SPDX-License-Identifier: MIT */
/*
 * minivmm guest-kernel-tests runtime: what a test file may use.
 *
 * A test defines `int test_main(void)`; its return value becomes the exit
 * status reported through port 0xf4. Everything runs in 64-bit long mode on an
 * identity map of the first 4 GiB (2 MiB pages), interrupts disabled, with an
 * IDT whose handlers report the exception and exit with 0x80 + vector.
 */
#ifndef RT_H
#define RT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_NORETURN __attribute__((noreturn))
#define RT_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* ---- test entry points (defined by each test file) ---- */
int test_main(void);

/* ---- exit codes used by the runtime itself ---- */
#define RT_EXIT_EXCEPTION_BASE 0x80 /* + vector (0xff for vectors >= 0x7f) */
#define RT_EXIT_BAD_START_INFO 0x7d
#define RT_EXIT_RT_ERROR 0x7e

/* ---- PVH boot information (copied out of low memory at start-up) ---- */
#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
	uint32_t magic;		 /* 0 */
	uint32_t version;	 /* 4 */
	uint32_t flags;		 /* 8 */
	uint32_t nr_modules;	 /* 12 */
	uint64_t modlist_paddr;	 /* 16 */
	uint64_t cmdline_paddr;	 /* 24 */
	uint64_t rsdp_paddr;	 /* 32 */
	uint64_t memmap_paddr;	 /* 40 */
	uint32_t memmap_entries; /* 48 */
	uint32_t reserved;	 /* 52 */
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

#define E820_RAM 1
#define E820_RESERVED 2
#define E820_ACPI 3
#define E820_NVS 4
#define E820_UNUSABLE 5

#define RT_MAX_MEMMAP 128
#define RT_MAX_CMDLINE 4096

extern struct hvm_start_info rt_start_info; /* copy; version 0 fields zero */
extern uint32_t rt_start_info_paddr;	    /* EBX at entry */
extern struct hvm_memmap_entry rt_memmap[RT_MAX_MEMMAP];
extern unsigned rt_memmap_entries;	/* entries copied (<= RT_MAX_MEMMAP) */
extern char rt_cmdline[RT_MAX_CMDLINE]; /* NUL-terminated copy ("" if none) */
const char *e820_type_name(uint32_t type);

/* linker symbols: the loaded image */
extern char __image_start[], __image_end[];

/* ---- console (COM1 8250 at 0x3f8) and formatted output ---- */
void serial_init(void);
void serial_putc(char c);	    /* '\n' is sent as "\r\n" */
void rt_puts(const char *s);	    /* no newline added; serialised between CPUs */
void rt_puts_nolock(const char *s); /* for the exception path */
int printf(const char *fmt, ...) RT_PRINTF(1, 2);
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) RT_PRINTF(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);

/* ---- exit / halt ---- */
RT_NORETURN void rt_exit(uint32_t code); /* 32-bit out to port 0xf4 */
RT_NORETURN void rt_halt_forever(void);	 /* cli; hlt loop */

/* ---- command line ("key=value key2=value2 flag") ---- */
/* Copies the value of `key` into buf (NUL-terminated, truncated); returns
 * true if the key is present (a bare "key" has the value ""). */
bool cmdline_get(const char *key, char *buf, size_t len);
/* Numbers: decimal or 0x hex, optional K/M/G/T suffix (binary units). */
bool cmdline_get_u64(const char *key, uint64_t *val);
bool parse_u64(const char *s, uint64_t *val);

/* ---- small libc ---- */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/* ---- port I/O, MMIO, misc ---- */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}
static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}
static inline uint32_t mmio_read32(uintptr_t a)
{
	return *(volatile uint32_t *)a;
}
static inline void mmio_write32(uintptr_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}
static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}
static inline void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}
static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

/* ---- exceptions ---- */
void idt_init(void); /* builds the IDT (once) */
void idt_load(void); /* loads it on this CPU */
/* Loads an IDT register with the given base/limit (triple_fault uses limit 0). */
void idt_load_raw(uint64_t base, uint16_t limit);

/* ---- local APIC (xAPIC MMIO at 0xfee00000) ---- */
#define LAPIC_BASE 0xfee00000u
#define LAPIC_ID 0x020
#define LAPIC_VERSION 0x030
#define LAPIC_TPR 0x080
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_ISR 0x100 /* 8 registers, 0x10 apart, 32 vectors each */
#define LAPIC_ESR 0x280
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_ICR_BUSY (1u << 12)

static inline uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}
static inline void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}
uint32_t lapic_id(void);   /* this CPU's APIC id (bits 31:24 of the ID register) */
void lapic_enable(void);   /* software-enable (SVR bit 8, spurious vector 0xff) */
bool lapic_icr_wait(void); /* waits for delivery status idle; false on timeout */
void lapic_send_init(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t vector);

/* ---- SMP ---- */
#define RT_MAX_CPUS 32
#define RT_AP_STACK_SIZE 8192
#define RT_TRAMPOLINE_ADDR 0x10000u /* SIPI vector 0x10 */

typedef void (*ap_fn_t)(uint32_t apic_id);
/* Copies the real-mode trampoline to 0x10000 and sends INIT-SIPI-SIPI to the
 * APIC ids 1..ncpus-1. Each AP comes up in long mode on its own stack, loads
 * the GDT/IDT, enables its LAPIC and calls fn(apic_id), then halts.
 * Returns false if ncpus is out of range. Does not wait for the APs. */
bool smp_start_aps(unsigned ncpus, ap_fn_t fn);
/* Spin-wait budget: iterations of a pause loop, roughly 0.5 us each under
 * this host's emulated CPL0 (~1.8 M instr/s), far less on real KVM. */
void delay_loops(uint64_t n);

/* a simple test-and-set spinlock (xchg) */
typedef struct {
	volatile uint32_t v;
} spinlock_t;
static inline void spin_lock(spinlock_t *l)
{
	while (__atomic_exchange_n(&l->v, 1u, __ATOMIC_ACQUIRE))
		while (l->v)
			cpu_relax();
}
static inline void spin_unlock(spinlock_t *l)
{
	__atomic_store_n(&l->v, 0u, __ATOMIC_RELEASE);
}

#endif
