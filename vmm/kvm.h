/* SPDX-License-Identifier: MIT */
/*
 * The one module that issues KVM ioctls. /dev/kvm is opened and its API version and
 * capabilities probed once (kvm_sys_open); everything else works from struct kvm_caps.
 */
#ifndef MINIVMM_KVM_H
#define MINIVMM_KVM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "kvm_uapi.h"

struct kvm_caps {
	int nr_vcpus;
	int max_vcpus;
	int xen_hvm;
	int sync_regs;
	int exit_hypercall;
	int guest_memfd_flags;
	int memory_attributes;
	bool user_memory2;
	bool memory_fault_info;
	bool guest_memfd;
	bool user_space_msr;
	bool msr_filter;
	bool split_irqchip;
	bool irqfd;
	bool ioeventfd;
	bool immediate_exit;
	bool readonly_mem;
	bool vm_types;
};

struct kvm_sys {
	int fd;
	int run_size;
	struct kvm_caps caps;
};

int kvm_sys_open(struct kvm_sys *sys);
void kvm_sys_close(struct kvm_sys *sys);
void kvm_caps_print(const struct kvm_sys *sys, FILE *out);
/* "pvm", "vmx", "svm" or "unknown", from the loaded KVM vendor module. */
const char *kvm_host_kind(void);

int kvm_vm_create(const struct kvm_sys *sys);
int kvm_vm_enable_cap(int vm_fd, uint32_t cap, uint64_t arg0);
int kvm_vm_setup_x86(int vm_fd);
int kvm_vm_set_memory(int vm_fd, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		      void *uaddr, int guest_memfd, uint64_t guest_memfd_offset);
int kvm_vm_create_guest_memfd(int vm_fd, uint64_t size, uint64_t flags);
int kvm_vm_set_memory_attributes(int vm_fd, uint64_t gpa, uint64_t size, uint64_t attributes);
int kvm_vm_irq_line(int vm_fd, uint32_t irq, int level);
int kvm_vm_signal_msi(int vm_fd, uint64_t address, uint32_t data);
/* Xen: KVM_XEN_HVM_CONFIG (flags, hypercall-page MSR). */
int kvm_vm_xen_hvm_config(int vm_fd, uint32_t flags, uint32_t msr);
/* Writes of `msr` exit to userspace as KVM_EXIT_X86_WRMSR (user-space MSRs + a filter). */
int kvm_vm_trap_msr_writes(int vm_fd, uint32_t msr);
/* KVM_IOEVENTFD: `len`-byte MMIO writes of `datamatch` to addr signal fd instead of exiting. */
int kvm_vm_ioeventfd(int vm_fd, uint64_t addr, uint32_t len, uint64_t datamatch, int fd,
		     bool assign);
/* KVM_IRQFD: a write to the eventfd fd raises GSI gsi (an edge: up, then down). */
int kvm_vm_irqfd(int vm_fd, uint32_t gsi, int fd, bool assign);

int kvm_vcpu_create(const struct kvm_sys *sys, int vm_fd, int id, struct kvm_run **run);
void kvm_vcpu_destroy(const struct kvm_sys *sys, int vcpu_fd, struct kvm_run *run);
int kvm_vcpu_run(int vcpu_fd);
int kvm_vcpu_get_regs(int vcpu_fd, struct kvm_regs *regs);
/* An interrupt bypassing the local APIC, if the vCPU can take one now (kvm.c). */
enum kvm_inject {
	KVM_INJECT_ERROR = -1, /* errno says why */
	KVM_INJECT_QUEUED,     /* delivered at the next entry */
	KVM_INJECT_LATER,      /* interrupts off, an interrupt shadow or an event in flight */
	KVM_INJECT_STOPPED,    /* waiting for its SIPI, or halted with interrupts off */
};
enum kvm_inject kvm_vcpu_inject_external(int vcpu_fd, uint8_t vector);
int kvm_vcpu_set_regs(int vcpu_fd, const struct kvm_regs *regs);
int kvm_vcpu_get_sregs(int vcpu_fd, struct kvm_sregs *sregs);
int kvm_vcpu_set_sregs(int vcpu_fd, const struct kvm_sregs *sregs);
/* Edits the CPUID table before it is set (e.g. Xen's leaves); non-zero fails the set-up. */
typedef int (*kvm_cpuid_fixup_t)(struct kvm_cpuid2 *cpuid, uint32_t max_entries, void *arg);
/* KVM's supported CPUID with this vCPU's APIC id, edited by fixup if given, then set. */
int kvm_vcpu_setup_cpuid(const struct kvm_sys *sys, int vcpu_fd, uint32_t apic_id,
			 kvm_cpuid_fixup_t fixup, void *arg);
int kvm_vcpu_translate(int vcpu_fd, uint64_t gva, uint64_t *gpa);
int kvm_vcpu_set_msr(int vcpu_fd, uint32_t index, uint64_t value);
int kvm_vcpu_get_msr(int vcpu_fd, uint32_t index, uint64_t *value);
/* cpuid->nent is the room on input (KVM_GET_CPUID2). */
/* The vCPU's TSC frequency in kHz, or -1. */
int kvm_vcpu_get_tsc_khz(int vcpu_fd);

#endif
