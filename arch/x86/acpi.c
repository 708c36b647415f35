// SPDX-License-Identifier: MIT
/*
 * ACPI tables, so Linux finds its CPUs, the IOAPIC and a way to power off without probing
 * legacy hardware:
 *
 *   RSDP (0xe0000, where Linux scans the BIOS area; also handed over directly by both boot
 *   protocols) -> XSDT -> FADT -> DSDT
 *                      -> MADT
 *
 * The platform is "hardware-reduced" (ACPI 5+): no PM1 blocks, PM timer, GPEs or SCI, which
 * minivmm does not emulate. Linux then also leaves the 8259 PIC and the PIT alone and routes
 * every interrupt through the IOAPIC, which is exactly minivmm's platform. Sleep and reset go
 * through the FADT's sleep control/status and reset registers, in port I/O space and served
 * by devices/acpi_pm.c.
 *
 * The DSDT is hand-assembled AML (there is no iasl at run time): \_S5 for poweroff, COM1
 * as a PNP0501 device so the serial port and its IRQ are described, not only guessed, and
 * every virtio-mmio device as an LNRO0005 device (Linux's virtio_mmio ACPI match): its
 * register page and its interrupt, an edge on IOAPIC pin VIRTIO_MMIO_IRQ_BASE + n. ACPI is
 * the only way here: in hardware-reduced mode Linux maps no ISA IRQ, so an IRQ number on
 * the command line (virtio_mmio.device=) is not the GSI, and distribution kernels are built
 * without VIRTIO_MMIO_CMDLINE_DEVICES anyway.
 */
#include <stdio.h>
#include <string.h>

#include "../../vmm/guest_mem.h"
#include "boot.h"
#include "layout.h"

_Static_assert(ACPI_RSDP_ADDR >= EBDA_START && ACPI_TABLES_END <= BIOS_HOLE_END,
	       "ACPI tables must lie in the range e820_build() reserves");
_Static_assert(ACPI_RSDP_ADDR % 16 == 0, "Linux scans for the RSDP on 16-byte boundaries");

#define ACPI_OEM_ID "MINVMM"
#define ACPI_OEM_TABLE_ID "MINIVMM "
#define ACPI_CREATOR_ID "MVMM"

struct acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_header) == 36, "ACPI table header");

struct acpi_rsdp {
	char signature[8];
	uint8_t checksum; /* of the first 20 bytes (the ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* of all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP");

/* Generic Address Structure */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} __attribute__((packed));

#define ACPI_GAS_SYSTEM_IO 1
#define ACPI_GAS_ACCESS_BYTE 1

/* FADT as of ACPI 6.0 (revision 6), 276 bytes; the legacy blocks stay zero. */
struct acpi_fadt {
	struct acpi_header header;
	uint32_t firmware_ctrl;
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t legacy_fixed[109 - 52]; /* ACPI_ENABLE .. CENTURY: unused when hardware-reduced */
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_legacy_blocks[8]; /* X_PM1a_EVT_BLK .. X_GPE1_BLK */
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} __attribute__((packed));
_Static_assert(__builtin_offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT boot arch");
_Static_assert(__builtin_offsetof(struct acpi_fadt, flags) == 112, "FADT flags");
_Static_assert(__builtin_offsetof(struct acpi_fadt, reset_reg) == 116, "FADT reset_reg");
_Static_assert(__builtin_offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT");
_Static_assert(__builtin_offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT sleep");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT size");

#define FADT_F_PWR_BUTTON (1u << 4) /* no fixed-feature power button */
#define FADT_F_SLP_BUTTON (1u << 5) /* no fixed-feature sleep button */
#define FADT_F_RESET_REG_SUP (1u << 10)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)
/* IA-PC boot architecture flags: no 8042 is claimed (minivmm's i8042 is only a reset
 * line; an absent flag keeps Linux from probing for a keyboard controller) */
#define IAPC_BOOT_VGA_NOT_PRESENT (1u << 2)
#define IAPC_BOOT_CMOS_RTC_ABSENT (1u << 5)

struct acpi_madt {
	struct acpi_header header;
	uint32_t lapic_address;
	uint32_t flags;
} __attribute__((packed));

#define MADT_PCAT_COMPAT 1 /* KVM's in-kernel irqchip does have the two 8259s */

struct madt_lapic {
	uint8_t type; /* 0 */
	uint8_t length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} __attribute__((packed));

struct madt_x2apic {
	uint8_t type; /* 9, for APIC ids that do not fit in 8 bits (and 0xff, the broadcast) */
	uint8_t length;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t processor_uid;
} __attribute__((packed));

struct madt_ioapic {
	uint8_t type; /* 1 */
	uint8_t length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

struct madt_iso {
	uint8_t type; /* 2: interrupt source override */
	uint8_t length;
	uint8_t bus; /* 0 = ISA */
	uint8_t source;
	uint32_t gsi;
	uint16_t flags; /* 0: conforms to the bus (ISA: edge, active high) */
} __attribute__((packed));

struct madt_lapic_nmi {
	uint8_t type; /* 4 */
	uint8_t length;
	uint8_t processor_uid; /* 0xff: all */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

_Static_assert(sizeof(struct madt_lapic) == 8 && sizeof(struct madt_x2apic) == 16 &&
		       sizeof(struct madt_ioapic) == 12 && sizeof(struct madt_iso) == 10 &&
		       sizeof(struct madt_lapic_nmi) == 6,
	       "MADT entries");

#define MADT_LAPIC 0
#define MADT_IOAPIC 1
#define MADT_ISO 2
#define MADT_LAPIC_NMI 4
#define MADT_X2APIC 9
#define MADT_ENABLED 1
#define PIT_IRQ 0
#define PIT_GSI 2

/* Bump allocator over the reserved table area; tables are 16-byte aligned. */
struct acpi_builder {
	struct guest_mem *mem;
	uint64_t next;
};

static void *acpi_alloc(struct acpi_builder *b, size_t size, uint64_t *gpa)
{
	uint64_t at = (b->next + 15) & ~15ull;
	void *p;

	if (at > ACPI_TABLES_END || size > ACPI_TABLES_END - at)
		return NULL;
	p = guest_mem_boot_ptr(b->mem, at, size);
	if (!p)
		return NULL;
	memset(p, 0, size);
	b->next = at + size;
	*gpa = at;
	return p;
}

static uint8_t acpi_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

static void acpi_header_init(struct acpi_header *h, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = 1;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = 1;
}

/* Last step for each table, once its contents are final. */
static void acpi_header_finish(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = acpi_checksum(h, h->length);
}

/*
 * A few AML encodings (ACPI spec, chapter 20). PkgLength counts its own bytes: one byte up
 * to 63, else a lead byte with the byte count in bits 7:6 and the low nibble, then more bytes.
 */
struct aml {
	uint8_t buf[1024];
	size_t len;
	bool overflow;
};

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->len + n > sizeof(a->buf)) {
		a->overflow = true;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

/* Wraps a->buf[start..len) as the body of a package: inserts its PkgLength at `start`. */
static void aml_pkg_close(struct aml *a, size_t start)
{
	size_t body = a->len - start;
	uint8_t enc[2];
	size_t n;

	if (body + 1 <= 63) {
		enc[0] = (uint8_t)(body + 1);
		n = 1;
	} else {
		size_t total = body + 2; /* fits in 12 bits for anything this file builds */

		enc[0] = (uint8_t)(0x40 | (total & 0xf));
		enc[1] = (uint8_t)(total >> 4);
		n = 2;
	}
	if (a->len + n > sizeof(a->buf)) {
		a->overflow = true;
		return;
	}
	memmove(a->buf + start + n, a->buf + start, body);
	memcpy(a->buf + start, enc, n);
	a->len += n;
}

#define AML_ZERO 0x00
#define AML_STRING 0x0d
#define AML_NAME 0x08
#define AML_BYTE 0x0a
#define AML_DWORD 0x0c
#define AML_SCOPE 0x10
#define AML_BUFFER 0x11
#define AML_PACKAGE 0x12
#define AML_EXT_PREFIX 0x5b
#define AML_DEVICE 0x82 /* after AML_EXT_PREFIX */

/* EisaId("PNP0501"): three 5-bit letters and four hex digits, big-endian in a DWord */
#define EISA_ID_PNP0501 0x0105d041u

/*
 * Device (VRnn) { Name (_HID, "LNRO0005"), Name (_UID, n), Name (_CRS, ResourceTemplate () {
 *   Memory32Fixed (ReadWrite, base, 0x1000),
 *   Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { gsi } }) }
 */
static void aml_le32(struct aml *a, uint32_t v)
{
	uint8_t le[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	aml_bytes(a, le, sizeof(le));
}

static void aml_virtio_mmio(struct aml *a, unsigned int n)
{
	/* Memory32Fixed: tag 0x86, 9 bytes follow, read-write; then base and length */
	static const uint8_t mem32[] = { 0x86, 0x09, 0x00, 0x01 };
	/* Extended Interrupt: tag 0x89, 6 bytes follow, consumer|edge|active high|exclusive, one */
	static const uint8_t irq[] = { 0x89, 0x06, 0x00, 0x03, 0x01 };
	static const uint8_t end[] = { 0x79, 0x00 };
	char name[5];
	size_t dev, buf;

	snprintf(name, sizeof(name), "VR%02u", n % 100);
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_DEVICE);
	dev = a->len;
	aml_bytes(a, name, 4);
	aml_byte(a, AML_NAME);
	aml_bytes(a, "_HID", 4);
	aml_byte(a, AML_STRING);
	aml_bytes(a, "LNRO0005", 9);
	aml_byte(a, AML_NAME);
	aml_bytes(a, "_UID", 4);
	aml_byte(a, AML_BYTE);
	aml_byte(a, (uint8_t)n);
	aml_byte(a, AML_NAME);
	aml_bytes(a, "_CRS", 4);
	aml_byte(a, AML_BUFFER);
	buf = a->len;
	aml_byte(a, AML_BYTE);
	aml_byte(a, sizeof(mem32) + 8 + sizeof(irq) + 4 + sizeof(end));
	aml_bytes(a, mem32, sizeof(mem32));
	aml_le32(a, (uint32_t)(VIRTIO_MMIO_BASE + n * VIRTIO_MMIO_SIZE));
	aml_le32(a, (uint32_t)VIRTIO_MMIO_SIZE);
	aml_bytes(a, irq, sizeof(irq));
	aml_le32(a, VIRTIO_MMIO_IRQ_BASE + n);
	aml_bytes(a, end, sizeof(end));
	aml_pkg_close(a, buf);
	aml_pkg_close(a, dev);
}

static void aml_build_dsdt_body(struct aml *a, unsigned int virtio_devices)
{
	/* Name (\_S5, Package (4) { 5, 0, 0, 0 }): SLP_TYP for S5, what poweroff writes */
	static const uint8_t s5_name[] = { AML_NAME, '_', 'S', '5', '_' };
	/* COM1's resources: IO (Decode16, 0x3f8, 0x3f8, 1, 8), IRQNoFlags () { 4 }, End */
	static const uint8_t com1_crs[] = {
		0x47,
		0x01,
		COM1_PORT & 0xff,
		COM1_PORT >> 8,
		COM1_PORT & 0xff,
		COM1_PORT >> 8,
		0x01,
		0x08,
		0x22,
		1u << COM1_IRQ,
		0x00,
		0x79,
		0x00,
	};
	uint32_t hid = EISA_ID_PNP0501;
	size_t pkg, scope, dev, buf;

	aml_bytes(a, s5_name, sizeof(s5_name));
	aml_byte(a, AML_PACKAGE);
	pkg = a->len;
	aml_byte(a, 4); /* NumElements */
	aml_byte(a, AML_BYTE);
	aml_byte(a, ACPI_SLEEP_TYP_S5);
	aml_byte(a, AML_ZERO);
	aml_byte(a, AML_ZERO);
	aml_byte(a, AML_ZERO);
	aml_pkg_close(a, pkg);

	/* Scope (\_SB) { Device (COM1) { _HID, _UID, _CRS } } */
	aml_byte(a, AML_SCOPE);
	scope = a->len;
	aml_bytes(a, "\\_SB_", 5);
	aml_byte(a, AML_EXT_PREFIX);
	aml_byte(a, AML_DEVICE);
	dev = a->len;
	aml_bytes(a, "COM1", 4);
	aml_byte(a, AML_NAME);
	aml_bytes(a, "_HID", 4);
	aml_byte(a, AML_DWORD);
	aml_bytes(a, &hid, 4);
	aml_byte(a, AML_NAME);
	aml_bytes(a, "_UID", 4);
	aml_byte(a, AML_ZERO);
	aml_byte(a, AML_NAME);
	aml_bytes(a, "_CRS", 4);
	aml_byte(a, AML_BUFFER);
	buf = a->len;
	aml_byte(a, AML_BYTE);
	aml_byte(a, sizeof(com1_crs));
	aml_bytes(a, com1_crs, sizeof(com1_crs));
	aml_pkg_close(a, buf);
	aml_pkg_close(a, dev);
	for (unsigned int n = 0; n < virtio_devices; n++)
		aml_virtio_mmio(a, n);
	aml_pkg_close(a, scope);
}

static int acpi_build_dsdt(struct acpi_builder *b, unsigned int virtio_devices, uint64_t *gpa)
{
	struct acpi_header *dsdt;
	struct aml aml = { .len = 0 };

	aml_build_dsdt_body(&aml, virtio_devices);
	if (aml.overflow)
		return -1;
	dsdt = acpi_alloc(b, sizeof(*dsdt) + aml.len, gpa);
	if (!dsdt)
		return -1;
	/* revision 2: integers are 64-bit */
	acpi_header_init(dsdt, "DSDT", (uint32_t)(sizeof(*dsdt) + aml.len), 2);
	memcpy(dsdt + 1, aml.buf, aml.len);
	acpi_header_finish(dsdt);
	return 0;
}

static struct acpi_gas gas_port8(uint16_t port)
{
	return (struct acpi_gas){
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = 8,
		.access_size = ACPI_GAS_ACCESS_BYTE,
		.address = port,
	};
}

static int acpi_build_fadt(struct acpi_builder *b, uint64_t dsdt, bool xen_hvm, uint64_t *gpa)
{
	struct acpi_fadt *fadt = acpi_alloc(b, sizeof(*fadt), gpa);

	if (!fadt)
		return -1;
	acpi_header_init(&fadt->header, "FACP", sizeof(*fadt), 6);
	fadt->minor_version = 5; /* ACPI 6.5 */
	fadt->dsdt = (uint32_t)dsdt;
	fadt->x_dsdt = dsdt;
	fadt->flags = FADT_F_HW_REDUCED_ACPI | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
		      FADT_F_RESET_REG_SUP;
	fadt->iapc_boot_arch = IAPC_BOOT_VGA_NOT_PRESENT | IAPC_BOOT_CMOS_RTC_ABSENT;
	/*
	 * A Linux Xen guest booted by the bzImage entry takes "no CMOS RTC and no VGA" for a
	 * Xen PVH domain (enlighten_hvm.c, xen_hvm_guest_late_init) and then goes the PVH way
	 * (grant tables, GSIs through PHYSDEVOP). Under --xen the guest is HVM: claim no VGA
	 * probing ban, as Xen's own HVM FADT does not either.
	 */
	if (xen_hvm)
		fadt->iapc_boot_arch &= ~IAPC_BOOT_VGA_NOT_PRESENT;
	fadt->reset_reg = gas_port8(ACPI_RESET_PORT);
	fadt->reset_value = ACPI_RESET_VALUE;
	/* Linux needs both registers to offer S5 on a hardware-reduced platform */
	fadt->sleep_control_reg = gas_port8(ACPI_SLEEP_CTL_PORT);
	fadt->sleep_status_reg = gas_port8(ACPI_SLEEP_STS_PORT);
	acpi_header_finish(&fadt->header);
	return 0;
}

static int acpi_build_madt(struct acpi_builder *b, unsigned int cpus, uint64_t *gpa)
{
	/*
	 * IRQ0 -> GSI2 is the PC's wiring (the PIT on IOAPIC pin 2) that ACPI PCs describe.
	 * KVM's default routing sends the PIT to pin 0 instead, which is harmless here: in
	 * hardware-reduced mode Linux drives no PIT interrupt (the MP table, read by kernels in
	 * legacy mode, says pin 0). IRQ 4 -> GSI 4 is COM1: in hardware-reduced mode Linux maps
	 * no ISA IRQ that is not overridden; Linux itself finds COM1 through the DSDT's
	 * PNP0501 device and wires GSI 4 from there.
	 */
	static const struct madt_iso isos[] = {
		{ MADT_ISO, sizeof(struct madt_iso), 0, PIT_IRQ, PIT_GSI, 0 },
		{ MADT_ISO, sizeof(struct madt_iso), 0, COM1_IRQ, COM1_IRQ, 0 },
	};
	size_t size = sizeof(struct acpi_madt) + sizeof(struct madt_ioapic) + sizeof(isos) +
		      sizeof(struct madt_lapic_nmi);
	struct madt_lapic_nmi nmi = { MADT_LAPIC_NMI, sizeof(nmi), 0xff, 0, 1 };
	struct madt_ioapic ioapic = {
		.type = MADT_IOAPIC,
		.length = sizeof(ioapic),
		/* after the vCPUs' APIC ids, so the ids are unique as on a PC */
		.ioapic_id = (uint8_t)(cpus < 0xff ? cpus : 0),
		.address = (uint32_t)IOAPIC_ADDR,
		.gsi_base = 0,
	};
	struct acpi_madt *madt;
	uint8_t *p;

	for (unsigned int i = 0; i < cpus; i++)
		size += i < 0xff ? sizeof(struct madt_lapic) : sizeof(struct madt_x2apic);
	madt = acpi_alloc(b, size, gpa);
	if (!madt)
		return -1;
	acpi_header_init(&madt->header, "APIC", (uint32_t)size, 5);
	madt->lapic_address = (uint32_t)LAPIC_ADDR;
	madt->flags = MADT_PCAT_COMPAT;
	p = (uint8_t *)(madt + 1);

	/* vCPU i has APIC id i (vmm/kvm.c puts it in CPUID); the first is the boot CPU */
	for (unsigned int i = 0; i < cpus; i++) {
		if (i < 0xff) {
			struct madt_lapic l = { MADT_LAPIC, sizeof(l), (uint8_t)i, (uint8_t)i,
						MADT_ENABLED };

			memcpy(p, &l, sizeof(l));
			p += sizeof(l);
		} else {
			struct madt_x2apic x = { .type = MADT_X2APIC,
						 .length = sizeof(x),
						 .x2apic_id = i,
						 .flags = MADT_ENABLED,
						 .processor_uid = i };

			memcpy(p, &x, sizeof(x));
			p += sizeof(x);
		}
	}
	memcpy(p, &ioapic, sizeof(ioapic));
	p += sizeof(ioapic);
	memcpy(p, isos, sizeof(isos));
	p += sizeof(isos);
	/* LINT1 of every CPU is NMI, as the local APIC's reset state and every PC has it */
	memcpy(p, &nmi, sizeof(nmi));
	acpi_header_finish(&madt->header);
	return 0;
}

int acpi_setup(struct guest_mem *mem, unsigned int cpus, unsigned int virtio_devices, bool xen_hvm,
	       uint64_t *rsdp_addr)
{
	struct acpi_builder b = { mem, ACPI_TABLES_ADDR };
	struct acpi_rsdp *rsdp = guest_mem_boot_ptr(mem, ACPI_RSDP_ADDR, sizeof(*rsdp));
	uint64_t dsdt, fadt, madt, xsdt_gpa;
	struct acpi_header *xsdt;
	uint64_t entries[2];

	if (!rsdp || acpi_build_dsdt(&b, virtio_devices, &dsdt) ||
	    acpi_build_fadt(&b, dsdt, xen_hvm, &fadt) || acpi_build_madt(&b, cpus, &madt))
		goto no_room;
	entries[0] = fadt;
	entries[1] = madt;
	xsdt = acpi_alloc(&b, sizeof(*xsdt) + sizeof(entries), &xsdt_gpa);
	if (!xsdt)
		goto no_room;
	acpi_header_init(xsdt, "XSDT", sizeof(*xsdt) + sizeof(entries), 1);
	memcpy(xsdt + 1, entries, sizeof(entries));
	acpi_header_finish(xsdt);

	/* revision 2 (ACPI 2.0+) with only an XSDT, as ACPI 6 platforms may */
	memset(rsdp, 0, sizeof(*rsdp));
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	rsdp->xsdt_address = xsdt_gpa;
	rsdp->checksum = acpi_checksum(rsdp, 20);
	rsdp->extended_checksum = acpi_checksum(rsdp, sizeof(*rsdp));
	*rsdp_addr = ACPI_RSDP_ADDR;
	return 0;
no_room:
	fprintf(stderr,
		"minivmm: ACPI tables for %u vCPUs do not fit in guest RAM at %#llx-%#llx\n", cpus,
		(unsigned long long)ACPI_RSDP_ADDR, (unsigned long long)ACPI_TABLES_END);
	return -1;
}
