/* SPDX-License-Identifier: MIT */
/*
 * Every fixed guest-physical address and port minivmm uses, in one place.
 *
 *   0x0000_0500  GDT for the 64-bit Linux entry
 *   0x0000_6000  PVH hvm_start_info, then its module list and memory map
 *   0x0000_7000  Linux zero page (boot_params)
 *   0x0000_8ff0  initial stack for the 64-bit Linux entry
 *   0x0000_9000  identity page tables (PML4, PDPT, 4 PDs with 2 MiB pages: 0..4 GiB)
 *   0x0002_0000  kernel command line (up to 64 KiB)
 *   0x0009_fc00  Intel MP table (floating pointer + config table), end of base memory
 *   0x000a_0000  legacy VGA/BIOS hole (e820 reserved) up to 1 MiB
 *   0x000e_0000  ACPI: RSDP, then XSDT, FADT, DSDT, MADT (in the BIOS area Linux scans)
 *   0x0010_0000  kernel load address (default; bzImage pref_address wins)
 *   0xc000_0000  32-bit MMIO hole up to 4 GiB (virtio-mmio, IOAPIC, LAPIC)
 *   0x1_0000_0000 RAM above the hole
 */
#ifndef MINIVMM_ARCH_X86_LAYOUT_H
#define MINIVMM_ARCH_X86_LAYOUT_H

/* The table reads best in columns. */
/* clang-format off */
#define GUEST_PAGE_SIZE 0x1000ull

#define BOOT_GDT_ADDR       0x500ull
#define PVH_START_INFO_ADDR 0x6000ull
#define PVH_MODLIST_ADDR    0x6040ull
#define PVH_MEMMAP_ADDR     0x6080ull
#define PVH_MEMMAP_MAX      128
#define ZERO_PAGE_ADDR      0x7000ull
#define BOOT_STACK_ADDR     0x8ff0ull
#define BOOT_PML4_ADDR      0x9000ull
#define BOOT_PDPT_ADDR      0xa000ull
#define BOOT_PD_ADDR        0xb000ull /* four pages: 0xb000..0xefff */
#define CMDLINE_ADDR        0x20000ull
#define CMDLINE_MAX         0x10000ull
#define MPTABLE_ADDR        0x9fc00ull
#define MPTABLE_END         0xe0000ull /* grows past 640 KiB with many vCPUs, up to ACPI */
#define EBDA_START          0x9fc00ull
#define ACPI_RSDP_ADDR      0xe0000ull /* 16-byte aligned, in the 0xe0000-0xfffff scan */
#define ACPI_TABLES_ADDR    0xe0040ull
#define ACPI_TABLES_END     0x100000ull
#define BIOS_HOLE_END       0x100000ull
#define KERNEL_LOAD_ADDR    0x100000ull

#define MMIO_HOLE_START 0xc0000000ull
#define MMIO_HOLE_END   0x100000000ull
#define HIGH_RAM_START  0x100000000ull

#define VIRTIO_MMIO_BASE     0xd0000000ull /* device n at BASE + n * SIZE */
#define VIRTIO_MMIO_SIZE     0x1000ull
#define VIRTIO_MMIO_IRQ_BASE 5             /* device n: IOAPIC pin 5 + n (devices/virtio) */
#define IOAPIC_ADDR          0xfec00000ull
#define LAPIC_ADDR           0xfee00000ull

/* Port I/O */
#define COM1_PORT       0x3f8
#define COM1_IRQ        4
#define I8042_DATA_PORT 0x60
#define I8042_CMD_PORT  0x64
#define EXIT_PORT       0xf4 /* 32-bit write of a status ends the VM with it (QEMU's port) */
#define TESTDEV_PORT    0xe0 /* guest-kernel-test control device, 16 ports */
#define TESTDEV_SIZE    0x10
#define XEN_HCALL_PORT  0x98 /* Xen hypercall-page stubs (out imm8: must be <= 0xff), 4 ports */

/*
 * ACPI hardware-reduced power management (devices/acpi_pm.c), named by the FADT: the sleep
 * control and status registers of ACPI 5+ and the reset register. Free in the PC port map.
 */
#define ACPI_PM_PORT        0x600
#define ACPI_SLEEP_CTL_PORT 0x600
#define ACPI_SLEEP_STS_PORT 0x601
#define ACPI_RESET_PORT     0x602
#define ACPI_PM_SIZE        3
#define ACPI_RESET_VALUE    0x01
#define ACPI_SLEEP_TYP_S5   5 /* the \_S5 package's SLP_TYP, as written to the port */

/* clang-format on */

#endif
