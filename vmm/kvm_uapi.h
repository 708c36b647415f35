/* SPDX-License-Identifier: MIT */
/*
 * KVM uapi newer than the build host's linux-libc-dev (6.1): guest_memfd, USER_MEMORY_REGION2,
 * memory attributes and the memory-fault exit (Linux 6.8+ / 6.18 for guest_memfd mmap).
 * Values from include/uapi/linux/kvm.h; layouts checked with static asserts below.
 */
#ifndef MINIVMM_KVM_UAPI_H
#define MINIVMM_KVM_UAPI_H

#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <stddef.h>

#ifndef KVM_CAP_USER_MEMORY2
#define KVM_CAP_USER_MEMORY2 231
#endif
#ifndef KVM_CAP_MEMORY_FAULT_INFO
#define KVM_CAP_MEMORY_FAULT_INFO 232
#endif
#ifndef KVM_CAP_MEMORY_ATTRIBUTES
#define KVM_CAP_MEMORY_ATTRIBUTES 233
#endif
#ifndef KVM_CAP_GUEST_MEMFD
#define KVM_CAP_GUEST_MEMFD 234
#endif
#ifndef KVM_CAP_VM_TYPES
#define KVM_CAP_VM_TYPES 235
#endif
#ifndef KVM_CAP_PRE_FAULT_MEMORY
#define KVM_CAP_PRE_FAULT_MEMORY 236
#endif
#ifndef KVM_CAP_GUEST_MEMFD_FLAGS
#define KVM_CAP_GUEST_MEMFD_FLAGS 244
#endif

#define KVM_MEM_GUEST_MEMFD (1u << 2)

#define GUEST_MEMFD_FLAG_MMAP (1ull << 0)
#define GUEST_MEMFD_FLAG_INIT_SHARED (1ull << 1)

struct kvm_userspace_memory_region2 {
	__u32 slot;
	__u32 flags;
	__u64 guest_phys_addr;
	__u64 memory_size;
	__u64 userspace_addr;
	__u64 guest_memfd_offset;
	__u32 guest_memfd;
	__u32 pad1;
	__u64 pad2[14];
};
_Static_assert(sizeof(struct kvm_userspace_memory_region2) == 160, "region2 layout");
_Static_assert(offsetof(struct kvm_userspace_memory_region2, guest_memfd) == 40, "region2");

#define KVM_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct kvm_userspace_memory_region2)

struct kvm_create_guest_memfd {
	__u64 size;
	__u64 flags;
	__u64 reserved[6];
};
_Static_assert(sizeof(struct kvm_create_guest_memfd) == 64, "guest_memfd layout");

#define KVM_CREATE_GUEST_MEMFD _IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)

struct kvm_memory_attributes {
	__u64 address;
	__u64 size;
	__u64 attributes;
	__u64 flags;
};

#define KVM_SET_MEMORY_ATTRIBUTES _IOW(KVMIO, 0xd2, struct kvm_memory_attributes)
#define KVM_MEMORY_ATTRIBUTE_PRIVATE (1ull << 3)

#ifndef KVM_EXIT_MEMORY_FAULT
#define KVM_EXIT_MEMORY_FAULT 39
#endif
#define KVM_MEMORY_EXIT_FLAG_PRIVATE (1ull << 3)

/* The memory_fault member of kvm_run's exit union (at offset 32 of struct kvm_run). */
struct kvm_memory_fault_exit {
	__u64 flags;
	__u64 gpa;
	__u64 size;
};

static inline struct kvm_memory_fault_exit *kvm_run_memory_fault(struct kvm_run *run)
{
	return (struct kvm_memory_fault_exit *)&run->hypercall;
}

_Static_assert(offsetof(struct kvm_run, hypercall) == 32, "kvm_run exit union offset");

/* KVM_HC_MAP_GPA_RANGE attributes (arch/x86/include/uapi/asm/kvm_para.h) */
#ifndef KVM_MAP_GPA_RANGE_ENCRYPTED
#define KVM_MAP_GPA_RANGE_ENCRYPTED (1 << 4)
#endif

#endif
