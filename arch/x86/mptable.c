// SPDX-License-Identifier: MIT
/*
 * Intel MultiProcessor Specification 1.4 table, for kernels built without ACPI (common for
 * minimal guest configs) and for acpi=off. With ACPI tables present Linux reads the MADT and
 * only notes that this table exists.
 *
 * The floating pointer sits at 639 KiB, the last KiB of base memory, one of the places Linux
 * scans; the configuration table follows it (e820 reserves 0x9fc00-0xfffff).
 *
 * Interrupts: unlike the MADT (a hardware-reduced platform where Linux leaves the 8259s and
 * the PIT alone), an MP-table kernel drives the PIT through the IOAPIC and checks that its
 * timer ticks, so the table must tell the truth about KVM's default GSI routing: ISA IRQ n
 * arrives on IOAPIC pin n, IRQ 0 included. The 8259's output reaches LINT0 (ExtINT) and
 * NMIs LINT1, as the local APIC's reset state has it.
 */
#include <stdio.h>
#include <string.h>

#include "../../vmm/guest_mem.h"
#include "boot.h"
#include "layout.h"

struct mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;
	uint8_t length; /* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature1; /* 0: a configuration table follows, no default configuration */
	uint8_t feature2; /* bit 7 IMCRP clear: virtual wire mode, no IMCR to program */
	uint8_t feature3[3];
} __attribute__((packed));

struct mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount; /* number of entries */
	uint32_t lapic;
	uint16_t ext_length;
	uint8_t ext_checksum;
	uint8_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type;
	uint8_t busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type;
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
} __attribute__((packed));

/* I/O interrupt (type 3) and local interrupt (type 4) entries share this layout */
struct mpc_intsrc {
	uint8_t type;
	uint8_t irqtype;
	uint16_t irqflag; /* 0: conforms to the bus (ISA: edge, active high) */
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
} __attribute__((packed));

_Static_assert(sizeof(struct mpf_intel) == 16 && sizeof(struct mpc_table) == 44 &&
		       sizeof(struct mpc_cpu) == 20 && sizeof(struct mpc_bus) == 8 &&
		       sizeof(struct mpc_ioapic) == 8 && sizeof(struct mpc_intsrc) == 8,
	       "MP table entries");

#define MP_PROCESSOR 0
#define MP_BUS 1
#define MP_IOAPIC 2
#define MP_INTSRC 3
#define MP_LINTSRC 4

#define MP_INT 0
#define MP_NMI 1
#define MP_EXTINT 3

#define CPU_ENABLED 1
#define CPU_BOOTPROCESSOR 2
#define MPC_APIC_USABLE 1
#define MP_APIC_ALL 0xff
#define APIC_VERSION 0x14   /* integrated xAPIC, as KVM's local APIC reports */
#define IOAPIC_VERSION 0x11 /* KVM's IOAPIC */
#define ISA_BUS_ID 0
#define ISA_IRQS 16
#define ISA_CASCADE_IRQ 2 /* the slave 8259, not a device */
/* Family 6 signature and CPUID.1:EDX FPU|APIC: Linux reads only the APIC id and flags */
#define MP_CPU_SIGNATURE 0x600
#define MP_CPU_FEATURES ((1u << 0) | (1u << 9))

static uint8_t mp_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

int mptable_setup(struct guest_mem *mem, unsigned int cpus)
{
	unsigned int nr_irqs = ISA_IRQS - 1;
	uint64_t table = MPTABLE_ADDR + sizeof(struct mpf_intel);
	size_t size = sizeof(struct mpc_table) + cpus * sizeof(struct mpc_cpu) +
		      sizeof(struct mpc_bus) + sizeof(struct mpc_ioapic) +
		      (nr_irqs + 2) * sizeof(struct mpc_intsrc);
	uint8_t ioapic_id = (uint8_t)cpus; /* after the vCPUs' APIC ids, as in the MADT */
	struct mpf_intel *mpf;
	struct mpc_table *mpc;
	uint8_t *p;

	/* APIC ids are 8 bits in an MP table: bigger machines get the MADT alone */
	if (cpus > 0xfe)
		return 0;
	_Static_assert(MPTABLE_ADDR + sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
				       0xfe * sizeof(struct mpc_cpu) + 2 * 8 + (ISA_IRQS + 1) * 8 <=
			       MPTABLE_END,
		       "the largest MP table fits below the ACPI tables");
	mpf = guest_mem_boot_ptr(mem, MPTABLE_ADDR, sizeof(*mpf));
	mpc = guest_mem_boot_ptr(mem, table, size);
	if (!mpf || !mpc) {
		fprintf(stderr, "minivmm: no guest RAM for the MP table at %#llx\n",
			(unsigned long long)MPTABLE_ADDR);
		return -1;
	}
	memset(mpc, 0, size);
	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)size;
	mpc->spec = 4;
	memcpy(mpc->oem, "MINIVMM ", 8);
	memcpy(mpc->productid, "minivmm     ", 12);
	mpc->oemcount = (uint16_t)(cpus + 2 + nr_irqs + 2);
	mpc->lapic = (uint32_t)LAPIC_ADDR;
	p = (uint8_t *)(mpc + 1);

	for (unsigned int i = 0; i < cpus; i++) {
		struct mpc_cpu c = {
			.type = MP_PROCESSOR,
			.apicid = (uint8_t)i,
			.apicver = APIC_VERSION,
			.cpuflag = CPU_ENABLED | (i == 0 ? CPU_BOOTPROCESSOR : 0),
			.cpufeature = MP_CPU_SIGNATURE,
			.featureflag = MP_CPU_FEATURES,
		};

		memcpy(p, &c, sizeof(c));
		p += sizeof(c);
	}
	{
		struct mpc_bus bus = { MP_BUS, ISA_BUS_ID, "ISA   " };
		struct mpc_ioapic io = { MP_IOAPIC, ioapic_id, IOAPIC_VERSION, MPC_APIC_USABLE,
					 (uint32_t)IOAPIC_ADDR };

		memcpy(p, &bus, sizeof(bus));
		p += sizeof(bus);
		memcpy(p, &io, sizeof(io));
		p += sizeof(io);
	}
	for (unsigned int irq = 0; irq < ISA_IRQS; irq++) {
		struct mpc_intsrc src = { MP_INTSRC,	MP_INT,	   0,		ISA_BUS_ID,
					  (uint8_t)irq, ioapic_id, (uint8_t)irq };

		if (irq == ISA_CASCADE_IRQ)
			continue;
		memcpy(p, &src, sizeof(src));
		p += sizeof(src);
	}
	{
		struct mpc_intsrc extint = { MP_LINTSRC, MP_EXTINT, 0, ISA_BUS_ID, 0, 0, 0 };
		struct mpc_intsrc nmi = { MP_LINTSRC, MP_NMI, 0, ISA_BUS_ID, 0, MP_APIC_ALL, 1 };

		memcpy(p, &extint, sizeof(extint));
		p += sizeof(extint);
		memcpy(p, &nmi, sizeof(nmi));
	}
	mpc->checksum = mp_checksum(mpc, size);

	memset(mpf, 0, sizeof(*mpf));
	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)table;
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = mp_checksum(mpf, sizeof(*mpf));
	return 0;
}
