/* SPDX-License-Identifier: MIT */
#ifndef MINIVMM_ARCH_X86_CPU_H
#define MINIVMM_ARCH_X86_CPU_H

#include <stdint.h>

#include "../../vmm/kvm.h"
#include "boot.h"

struct guest_mem;
struct kvm_sys;

/* Identity page tables (0..4 GiB, 2 MiB pages) and a GDT for a 64-bit entry. */
int x86_write_long_mode_tables(struct guest_mem *mem);
/* Architectural state for the boot vCPU at the loaded kernel's entry. */
int x86_setup_boot_vcpu(int vcpu_fd, const struct boot_info *info);
/* CPUID (edited by fixup, if any) and MSRs every vCPU gets. */
int x86_setup_vcpu_cpuid(const struct kvm_sys *sys, int vcpu_fd, uint32_t apic_id,
			 kvm_cpuid_fixup_t fixup, void *arg);

#endif
