// SPDX-License-Identifier: MIT
#include <stdio.h>
#include <string.h>

#include "../../vmm/guest_mem.h"
#include "../../vmm/kvm.h"
#include "../../vmm/log.h"
#include "cpu.h"
#include "layout.h"

#define X86_CR0_PE (1ull << 0)
#define X86_CR0_ET (1ull << 4)
#define X86_CR0_PG (1ull << 31)
#define X86_CR4_PAE (1ull << 5)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

#define PTE_P (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_PS (1ull << 7)

#define GDT_ENTRY(flags, base, limit)                                              \
	((((base)&0xff000000ull) << (56 - 24)) | (((flags)&0x0000f0ffull) << 40) | \
	 (((limit)&0x000f0000ull) << (48 - 16)) | (((base)&0x00ffffffull) << 16) | \
	 (((limit)&0x0000ffffull)))

#define BOOT_CS 0x10
#define BOOT_DS 0x18

int x86_write_long_mode_tables(struct guest_mem *mem)
{
	uint64_t *pml4 = guest_mem_boot_ptr(mem, BOOT_PML4_ADDR, GUEST_PAGE_SIZE);
	uint64_t *pdpt = guest_mem_boot_ptr(mem, BOOT_PDPT_ADDR, GUEST_PAGE_SIZE);
	uint64_t *pd = guest_mem_boot_ptr(mem, BOOT_PD_ADDR, 4 * GUEST_PAGE_SIZE);
	uint64_t *gdt = guest_mem_boot_ptr(mem, BOOT_GDT_ADDR, 4 * sizeof(uint64_t));

	if (!pml4 || !pdpt || !pd || !gdt)
		return -1;
	memset(pml4, 0, GUEST_PAGE_SIZE);
	memset(pdpt, 0, GUEST_PAGE_SIZE);
	pml4[0] = BOOT_PDPT_ADDR | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_ADDR + i * GUEST_PAGE_SIZE) | PTE_P | PTE_RW;
	for (uint64_t i = 0; i < 4 * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_RW | PTE_PS;
	gdt[0] = 0;
	gdt[1] = 0;
	gdt[2] = GDT_ENTRY(0xa09b, 0, 0xfffff); /* 0x10: 64-bit code */
	gdt[3] = GDT_ENTRY(0xc093, 0, 0xfffff); /* 0x18: data */
	return 0;
}

static void flat_segment(struct kvm_segment *s, uint16_t selector, uint8_t type, bool code64)
{
	*s = (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = selector,
		.type = type,
		.present = 1,
		.s = 1,
		.db = code64 ? 0 : 1,
		.l = code64 ? 1 : 0,
		.g = 1,
	};
}

int x86_setup_boot_vcpu(int vcpu_fd, const struct boot_info *info)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rflags = 2 };

	if (kvm_vcpu_get_sregs(vcpu_fd, &sregs) < 0) {
		pr_err("KVM_GET_SREGS failed");
		return -1;
	}
	if (info->entry_mode == BOOT_ENTRY_PVH32) {
		flat_segment(&sregs.cs, 0x8, 0xb, false);
		flat_segment(&sregs.ds, 0x10, 0x3, false);
		sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs.cr4 = 0;
		sregs.efer = 0;
		regs.rbx = info->boot_arg;
	} else {
		flat_segment(&sregs.cs, BOOT_CS, 0xb, true);
		flat_segment(&sregs.ds, BOOT_DS, 0x3, false);
		sregs.gdt.base = BOOT_GDT_ADDR;
		sregs.gdt.limit = 4 * sizeof(uint64_t) - 1;
		sregs.cr3 = BOOT_PML4_ADDR;
		sregs.cr4 = X86_CR4_PAE;
		sregs.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_PG;
		sregs.efer = EFER_LME | EFER_LMA;
		regs.rsi = info->boot_arg;
		regs.rsp = BOOT_STACK_ADDR;
		regs.rbp = BOOT_STACK_ADDR;
	}
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	regs.rip = info->entry;
	if (kvm_vcpu_set_sregs(vcpu_fd, &sregs) < 0 || kvm_vcpu_set_regs(vcpu_fd, &regs) < 0) {
		pr_err("setting the boot vCPU's registers failed");
		return -1;
	}
	return 0;
}

#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_MISC_ENABLE_FAST_STR (1ull << 0)

int x86_setup_vcpu_cpuid(const struct kvm_sys *sys, int vcpu_fd, uint32_t apic_id,
			 kvm_cpuid_fixup_t fixup, void *arg)
{
	if (kvm_vcpu_setup_cpuid(sys, vcpu_fd, apic_id, fixup, arg))
		return -1;
	/* Linux expects fast strings enabled, as firmware leaves it; not all KVMs accept it */
	if (kvm_vcpu_set_msr(vcpu_fd, MSR_IA32_MISC_ENABLE, MSR_IA32_MISC_ENABLE_FAST_STR))
		pr_debug("vCPU %u: IA32_MISC_ENABLE not settable (ignored)", apic_id);
	return 0;
}
