/* SPDX-License-Identifier: MIT */
/*
 * The Xen HVM guest ABI minivmm implements (x86-64 only), written from the public interface
 * headers (xen/include/public/{xen,event_channel,memory,vcpu,sched,version,features}.h, hvm/,
 * arch-x86/cpuid.h) and checked with static asserts below. Guest-visible numbers only;
 * nothing here is minivmm policy (that is in xen.h).
 *
 * Shared by the VMM (arch/x86/xen/, through xen.h) and the freestanding guest runtime
 * (guest-kernel-tests/rt/xen.h), so the two sides cannot drift apart: fixed-width types and
 * compiler-provided headers only, no libc, nothing from the VMM.
 */
#ifndef MINIVMM_XEN_ABI_H
#define MINIVMM_XEN_ABI_H

#include <stddef.h>
#include <stdint.h>

#define XEN_PAGE_SHIFT 12
#define XEN_PAGE_SIZE 4096u

/* CPUID (arch-x86/cpuid.h) */
#define XEN_CPUID_BASE 0x40000000u
#define XEN_CPUID_SIGNATURE_EBX 0x566e6558u /* "XenV" */
#define XEN_CPUID_SIGNATURE_ECX 0x65584d4du /* "MMXe" */
#define XEN_CPUID_SIGNATURE_EDX 0x4d4d566eu /* "nVMM" */
#define XEN_HVM_CPUID_VCPU_ID_PRESENT (1u << 3)
#define XEN_HVM_CPUID_DOMID_PRESENT (1u << 4)
#define XEN_HVM_CPUID_UPCALL_VECTOR (1u << 6)
#define XEN_HYPERCALL_MSR 0x40000000u
#define XEN_HYPERCALL_STUB_SIZE 32u
#define XEN_HYPERCALL_STUBS (XEN_PAGE_SIZE / XEN_HYPERCALL_STUB_SIZE)

/* Errors (public/errno.h: the Linux x86 numbers), returned negated in RAX. */
#define XEN_EPERM 1
#define XEN_ENOENT 2
#define XEN_ESRCH 3
#define XEN_EFAULT 14
#define XEN_EBUSY 16
#define XEN_EEXIST 17
#define XEN_EINVAL 22
#define XEN_ENOSPC 28
#define XEN_ENOSYS 38
#define XEN_ETIME 62

/* Hypercall numbers (public/xen.h) */
#define __HYPERVISOR_set_timer_op 15
#define __HYPERVISOR_memory_op 12
#define __HYPERVISOR_xen_version 17
#define __HYPERVISOR_console_io 18
#define __HYPERVISOR_vm_assist 21
#define __HYPERVISOR_grant_table_op 20
#define __HYPERVISOR_vcpu_op 24
#define __HYPERVISOR_sched_op 29
#define __HYPERVISOR_event_channel_op 32
#define __HYPERVISOR_physdev_op 33
#define __HYPERVISOR_hvm_op 34

#define DOMID_SELF 0x7ff0u

/* xen_version */
#define XENVER_version 0
#define XENVER_extraversion 1
#define XENVER_changeset 4
#define XENVER_get_features 6
#define XENVER_pagesize 7
#define XEN_EXTRAVERSION_LEN 16
#define XEN_CHANGESET_LEN 64
#define XENFEAT_writable_page_tables 0
#define XENFEAT_auto_translated_physmap 2
#define XENFEAT_hvm_callback_vector 8
#define XENFEAT_hvm_safe_pvclock 9

struct xen_feature_info {
	uint32_t submap_idx;
	uint32_t submap;
};

/* memory_op */
#define XENMEM_decrease_reservation 1
#define XENMEM_populate_physmap 6
#define XENMEM_add_to_physmap 7
#define XENMAPSPACE_shared_info 0
#define MEMOP_EXTENT_SHIFT 6
#define MEMOP_CMD_MASK ((1u << MEMOP_EXTENT_SHIFT) - 1)

struct xen_add_to_physmap {
	uint16_t domid;
	uint16_t size;
	uint32_t space;
	uint64_t idx;
	uint64_t gpfn;
};

struct xen_memory_reservation {
	uint64_t extent_start; /* guest handle: array of xen_pfn_t */
	uint64_t nr_extents;
	uint32_t extent_order;
	uint32_t mem_flags;
	uint16_t domid;
	uint16_t pad[3];
};

/* hvm_op */
#define HVMOP_set_param 0
#define HVMOP_get_param 1
#define HVMOP_pagetable_dying 9
#define HVMOP_set_evtchn_upcall_vector 23
#define HVM_PARAM_CALLBACK_IRQ 0
#define HVM_NR_PARAMS 39
#define HVM_PARAM_CALLBACK_TYPE_GSI 0
#define HVM_PARAM_CALLBACK_TYPE_PCI_INTX 1
#define HVM_PARAM_CALLBACK_TYPE_VECTOR 2

struct xen_hvm_param {
	uint16_t domid;
	uint16_t pad;
	uint32_t index;
	uint64_t value;
};

struct xen_hvm_evtchn_upcall_vector {
	uint32_t vcpu;
	uint8_t vector;
	uint8_t pad[3];
};

/* vcpu_op */
#define VCPUOP_is_up 3
#define VCPUOP_register_runstate_memory_area 5
#define VCPUOP_stop_periodic_timer 7
#define VCPUOP_set_singleshot_timer 8
#define VCPUOP_stop_singleshot_timer 9
#define VCPUOP_register_vcpu_info 10
#define VCPUOP_register_vcpu_time_memory_area 13
#define VCPU_SSHOTTMR_future (1u << 0)

struct vcpu_register_vcpu_info {
	uint64_t mfn; /* a guest frame number on HVM */
	uint32_t offset;
	uint32_t rsvd;
};

/* vcpu_runstate_info.state; the area's address is guest-virtual (a handle) on HVM too */
#define RUNSTATE_running 0
#define RUNSTATE_runnable 1
#define RUNSTATE_blocked 2
#define RUNSTATE_offline 3

struct vcpu_runstate_info {
	int32_t state;
	uint32_t pad;
	uint64_t state_entry_time; /* bit 63: XEN_RUNSTATE_UPDATE, with that vm_assist */
	uint64_t time[4];	   /* ns spent in each RUNSTATE_* */
};

struct vcpu_set_singleshot_timer {
	uint64_t timeout_abs_ns;
	uint32_t flags;
	uint32_t pad;
};

/* vm_assist */
#define VMASST_CMD_enable 0
#define VMASST_CMD_disable 1
#define VMASST_TYPE_runstate_update_flag 5

/* sched_op */
#define SCHEDOP_yield 0
#define SCHEDOP_block 1
#define SCHEDOP_shutdown 2
#define SCHEDOP_poll 3
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_reboot 1
#define SHUTDOWN_suspend 2
#define SHUTDOWN_crash 3
#define SHUTDOWN_watchdog 4
#define XEN_POLL_MAX_PORTS 128 /* Xen's do_poll() refuses more with -EINVAL */

struct sched_shutdown {
	uint32_t reason;
};

struct sched_poll {
	uint64_t ports; /* guest handle: array of evtchn_port_t */
	uint32_t nr_ports;
	uint32_t pad;
	uint64_t timeout; /* absolute system time, 0: none */
};

/* event_channel_op */
#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq 1
#define EVTCHNOP_bind_pirq 2
#define EVTCHNOP_close 3
#define EVTCHNOP_send 4
#define EVTCHNOP_status 5
#define EVTCHNOP_alloc_unbound 6
#define EVTCHNOP_bind_ipi 7
#define EVTCHNOP_bind_vcpu 8
#define EVTCHNOP_unmask 9
#define EVTCHNOP_reset 10
#define EVTCHNOP_init_control 11
#define EVTCHNOP_expand_array 12
#define EVTCHNOP_set_priority 13

#define EVTCHNSTAT_closed 0
#define EVTCHNSTAT_unbound 1
#define EVTCHNSTAT_interdomain 2
#define EVTCHNSTAT_pirq 3
#define EVTCHNSTAT_virq 4
#define EVTCHNSTAT_ipi 5

#define VIRQ_TIMER 0
#define VIRQ_DEBUG 1
#define XEN_NR_VIRQS 24

struct evtchn_alloc_unbound {
	uint16_t dom;
	uint16_t remote_dom;
	uint32_t port;
};

struct evtchn_bind_interdomain {
	uint16_t remote_dom;
	uint16_t pad;
	uint32_t remote_port;
	uint32_t local_port;
};

struct evtchn_bind_virq {
	uint32_t virq;
	uint32_t vcpu;
	uint32_t port;
};

struct evtchn_bind_ipi {
	uint32_t vcpu;
	uint32_t port;
};

struct evtchn_port_op { /* close, send, unmask */
	uint32_t port;
};

struct evtchn_bind_vcpu {
	uint32_t port;
	uint32_t vcpu;
};

struct evtchn_reset {
	uint16_t dom;
};

struct evtchn_status {
	uint16_t dom;
	uint16_t pad;
	uint32_t port;
	uint32_t status;
	uint32_t vcpu;
	union {
		struct {
			uint16_t dom;
		} unbound;
		struct {
			uint16_t dom;
			uint16_t pad;
			uint32_t port;
		} interdomain;
		uint32_t pirq;
		uint32_t virq;
	} u;
};

/* shared_info and vcpu_info (public/xen.h, arch-x86/xen-x86_64.h) */
#define XEN_LEGACY_MAX_VCPUS 32
#define XEN_BITS_PER_WORD 64
#define XEN_NR_EVTCHN_WORDS 64
#define XEN_2L_NR_PORTS (XEN_BITS_PER_WORD * XEN_NR_EVTCHN_WORDS) /* 4096 */
#define XEN_PVCLOCK_TSC_STABLE_BIT (1u << 0)

struct vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad1[2];
};

struct vcpu_info {
	uint8_t evtchn_upcall_pending;
	uint8_t evtchn_upcall_mask;
	uint8_t pad[6];
	uint64_t evtchn_pending_sel;
	uint64_t arch_cr2;
	uint64_t arch_pad;
	struct vcpu_time_info time;
};

struct shared_info {
	struct vcpu_info vcpu_info[XEN_LEGACY_MAX_VCPUS];
	uint64_t evtchn_pending[XEN_NR_EVTCHN_WORDS];
	uint64_t evtchn_mask[XEN_NR_EVTCHN_WORDS];
	uint32_t wc_version;
	uint32_t wc_sec;
	uint32_t wc_nsec;
	uint32_t wc_sec_hi;
	uint8_t arch_and_pad[XEN_PAGE_SIZE - 0xc10];
};

_Static_assert(sizeof(struct vcpu_time_info) == 32, "vcpu_time_info");
_Static_assert(sizeof(struct vcpu_info) == 64, "vcpu_info");
_Static_assert(offsetof(struct vcpu_info, evtchn_pending_sel) == 8, "vcpu_info");
_Static_assert(offsetof(struct vcpu_info, time) == 32, "vcpu_info");
_Static_assert(offsetof(struct shared_info, evtchn_pending) == 0x800, "shared_info");
_Static_assert(offsetof(struct shared_info, evtchn_mask) == 0xa00, "shared_info");
_Static_assert(offsetof(struct shared_info, wc_version) == 0xc00, "shared_info");
_Static_assert(offsetof(struct shared_info, wc_sec_hi) == 0xc0c, "shared_info");
_Static_assert(sizeof(struct shared_info) == XEN_PAGE_SIZE, "shared_info");
_Static_assert(sizeof(struct xen_add_to_physmap) == 24, "add_to_physmap");
_Static_assert(sizeof(struct xen_memory_reservation) == 32, "memory_reservation");
_Static_assert(offsetof(struct xen_memory_reservation, domid) == 24, "memory_reservation");
_Static_assert(sizeof(struct xen_hvm_param) == 16, "hvm_param");
_Static_assert(sizeof(struct sched_poll) == 24, "sched_poll");
_Static_assert(offsetof(struct evtchn_bind_interdomain, local_port) == 8, "bind_interdomain");
_Static_assert(offsetof(struct evtchn_status, u) == 16, "evtchn_status");
_Static_assert(offsetof(struct evtchn_status, u.interdomain.port) == 20, "evtchn_status");
_Static_assert(sizeof(struct evtchn_status) == 24, "evtchn_status");
_Static_assert(sizeof(struct vcpu_register_vcpu_info) == 16, "register_vcpu_info");
_Static_assert(sizeof(struct vcpu_runstate_info) == 48, "vcpu_runstate_info");
_Static_assert(offsetof(struct vcpu_runstate_info, time) == 16, "vcpu_runstate_info");

#endif
