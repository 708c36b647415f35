// SPDX-License-Identifier: MIT
/*
 * The Xen CPUID leaves (arch-x86/cpuid.h) at 0x40000000: signature, version, hypercall MSR,
 * HVM features with the vCPU id and the per-vCPU upcall vector (Linux >= 6.0 uses per-vCPU
 * vectors when the leaf offers them, else the global callback vector).
 *
 * KVM's own leaves (0x40000000-0x400000ff in KVM_GET_SUPPORTED_CPUID) are dropped by default,
 * as QEMU does for Xen guests: Linux picks the hypervisor whose leaves sit at the highest base
 * (arch/x86/kernel/cpu/hypervisor.c takes the largest detect() value, and kvm_detect() returns
 * KVM's base), so KVM leaves at 0x40000100 would make Linux a KVM guest, not a Xen HVM one.
 * keep_kvm_leaves moves them to 0x40000100 instead, for guests that want both.
 */
#include <linux/kvm.h>
#include <string.h>

#include "xen.h"

#define HV_BASE 0x40000000u
#define HV_SPAN 0x100u
#define XEN_LAST_LEAF 4u

int xen_cpuid_fixup(struct kvm_cpuid2 *cpuid, uint32_t max_entries, unsigned int vcpu,
		    uint32_t version, bool keep_kvm_leaves, bool percpu_upcalls)
{
	struct kvm_cpuid_entry2 *e = cpuid->entries, xen[XEN_LAST_LEAF + 1];
	uint32_t n = 0;

	for (uint32_t i = 0; i < cpuid->nent && i < max_entries; i++) {
		struct kvm_cpuid_entry2 c = e[i];

		if (c.function >= HV_BASE && c.function < HV_BASE + 2 * HV_SPAN) {
			if (!keep_kvm_leaves || c.function >= HV_BASE + HV_SPAN)
				continue;
			c.function += HV_SPAN;
			if (c.function == HV_BASE + HV_SPAN && c.eax >= HV_BASE &&
			    c.eax < HV_BASE + HV_SPAN)
				c.eax += HV_SPAN; /* the last KVM leaf moved too */
		}
		e[n++] = c;
	}
	if (n + XEN_LAST_LEAF + 1 > max_entries)
		return -1;

	memset(xen, 0, sizeof(xen));
	for (uint32_t i = 0; i <= XEN_LAST_LEAF; i++)
		xen[i].function = XEN_CPUID_BASE + i;
	xen[0].eax = XEN_CPUID_BASE + XEN_LAST_LEAF;
	xen[0].ebx = XEN_CPUID_SIGNATURE_EBX;
	xen[0].ecx = XEN_CPUID_SIGNATURE_ECX;
	xen[0].edx = XEN_CPUID_SIGNATURE_EDX;
	xen[1].eax = version;
	xen[2].eax = 1; /* hypercall pages */
	xen[2].ebx = XEN_HYPERCALL_MSR;
	/* leaf 3 (time) stays zero: no TSC emulation, frequency not advertised */
	xen[4].eax = XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_DOMID_PRESENT |
		     (percpu_upcalls ? XEN_HVM_CPUID_UPCALL_VECTOR : 0);
	xen[4].ebx = vcpu;
	xen[4].ecx = XEN_DOMID;
	memcpy(&e[n], xen, sizeof(xen));
	cpuid->nent = n + XEN_LAST_LEAF + 1;
	return 0;
}
