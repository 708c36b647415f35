// SPDX-License-Identifier: MIT
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm.h"
#include "log.h"

/* TSS and identity-map pages for Intel's real-mode emulation, just under the BIOS area. */
#define KVM_TSS_ADDR 0xfffbd000ull
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ull

/*
 * What minivmm uses, and what it does where KVM lacks it. Printed by `minivmm caps`; the
 * order is the order of the table in HOST.md.
 */
struct cap_desc {
	const char *name;
	int cap;
	const char *use;     /* what minivmm does with it */
	const char *without; /* what minivmm does where it is missing */
};

static const struct cap_desc cap_descs[] = {
	{ "XEN_HVM", KVM_CAP_XEN_HVM, "Xen hypercalls arrive as KVM_EXIT_XEN (INTERCEPT_HCALL)",
	  "Xen hypercalls trap through a VMM-written hypercall page with port-I/O stubs; guests "
	  "that execute vmcall directly (modern Linux) cannot use Xen" },
	{ "USER_MEMORY2", KVM_CAP_USER_MEMORY2, "guest_memfd-backed memory slots",
	  "no guest_memfd backing" },
	{ "MEMORY_FAULT_INFO", KVM_CAP_MEMORY_FAULT_INFO,
	  "private/shared faults are converted and retried",
	  "such faults end the VM with a diagnostic" },
	{ "MEMORY_ATTRIBUTES", KVM_CAP_MEMORY_ATTRIBUTES,
	  "page attributes are mirrored with KVM_SET_MEMORY_ATTRIBUTES",
	  "private/shared attributes are kept and enforced by the VMM's access view only" },
	{ "GUEST_MEMFD", KVM_CAP_GUEST_MEMFD, "--memory-backing guest_memfd",
	  "--memory-backing guest_memfd is refused" },
	{ "VM_TYPES", KVM_CAP_VM_TYPES, "the default VM type", "the default VM type" },
	{ "GUEST_MEMFD_FLAGS", KVM_CAP_GUEST_MEMFD_FLAGS,
	  "guest_memfd created MMAP|INIT_SHARED (needs 3) so the VMM can map it",
	  "guest_memfd cannot be mapped: guest_memfd is refused" },
	{ "EXIT_HYPERCALL", KVM_CAP_EXIT_HYPERCALL,
	  "KVM_HC_MAP_GPA_RANGE (bit 12) reaches the VMM for conversions",
	  "guests convert memory through the test port only" },
	{ "X86_USER_SPACE_MSR", KVM_CAP_X86_USER_SPACE_MSR,
	  "the Xen hypercall-page MSR is intercepted", "no Xen hypercall page" },
	{ "X86_MSR_FILTER", KVM_CAP_X86_MSR_FILTER, "MSR filter for the Xen MSR",
	  "only MSRs unknown to KVM exit" },
	{ "SPLIT_IRQCHIP", KVM_CAP_SPLIT_IRQCHIP, "not used: the full in-kernel irqchip is",
	  "the full in-kernel irqchip" },
	{ "IRQFD", KVM_CAP_IRQFD, "device interrupts by eventfd",
	  "device interrupts through KVM_IRQ_LINE" },
	{ "IOEVENTFD", KVM_CAP_IOEVENTFD, "virtqueue kicks by eventfd",
	  "virtqueue kicks take a full MMIO exit" },
	{ "SYNC_REGS", KVM_CAP_SYNC_REGS, "registers in kvm_run on hot exits",
	  "hot exits read registers with KVM_GET_REGS" },
	{ "IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT, "race-free vCPU kicks",
	  "required: minivmm refuses to run" },
	{ "READONLY_MEM", KVM_CAP_READONLY_MEM, "read-only slots", "no read-only slots" },
	{ "NR_VCPUS", KVM_CAP_NR_VCPUS, "recommended vCPU count", "1 vCPU recommended" },
	{ "MAX_VCPUS", KVM_CAP_MAX_VCPUS, "--cpus limit", "--cpus limited to NR_VCPUS" },
};

const char *kvm_host_kind(void)
{
	if (access("/sys/module/kvm_pvm", F_OK) == 0)
		return "pvm";
	if (access("/sys/module/kvm_intel", F_OK) == 0)
		return "vmx";
	if (access("/sys/module/kvm_amd", F_OK) == 0)
		return "svm";
	return "unknown";
}

int kvm_sys_open(struct kvm_sys *sys)
{
	struct kvm_caps *c = &sys->caps;
	int version;

	memset(sys, 0, sizeof(*sys));
	sys->fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (sys->fd < 0) {
		pr_err("cannot open /dev/kvm: %s%s", strerror(errno),
		       errno == ENOENT	 ? " (is the kvm module loaded?)"
		       : errno == EACCES ? " (add yourself to the kvm group or run as root)"
					 : "");
		return -1;
	}
	version = ioctl(sys->fd, KVM_GET_API_VERSION, 0);
	if (version != KVM_API_VERSION) {
		pr_err("/dev/kvm API version %d, minivmm needs %d", version, KVM_API_VERSION);
		goto fail;
	}
	sys->run_size = ioctl(sys->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sys->run_size < (int)sizeof(struct kvm_run)) {
		pr_err("KVM_GET_VCPU_MMAP_SIZE returned %d", sys->run_size);
		goto fail;
	}

#define CAP(n) ioctl(sys->fd, KVM_CHECK_EXTENSION, (n))
	c->nr_vcpus = CAP(KVM_CAP_NR_VCPUS);
	c->max_vcpus = CAP(KVM_CAP_MAX_VCPUS);
	if (c->max_vcpus <= 0)
		c->max_vcpus = c->nr_vcpus > 0 ? c->nr_vcpus : 1;
	c->xen_hvm = CAP(KVM_CAP_XEN_HVM);
	c->sync_regs = CAP(KVM_CAP_SYNC_REGS);
	c->exit_hypercall = CAP(KVM_CAP_EXIT_HYPERCALL);
	c->guest_memfd_flags = CAP(KVM_CAP_GUEST_MEMFD_FLAGS);
	c->memory_attributes = CAP(KVM_CAP_MEMORY_ATTRIBUTES);
	c->user_memory2 = CAP(KVM_CAP_USER_MEMORY2) > 0;
	c->memory_fault_info = CAP(KVM_CAP_MEMORY_FAULT_INFO) > 0;
	c->guest_memfd = CAP(KVM_CAP_GUEST_MEMFD) > 0;
	c->user_space_msr = CAP(KVM_CAP_X86_USER_SPACE_MSR) > 0;
	c->msr_filter = CAP(KVM_CAP_X86_MSR_FILTER) > 0;
	c->split_irqchip = CAP(KVM_CAP_SPLIT_IRQCHIP) > 0;
	c->irqfd = CAP(KVM_CAP_IRQFD) > 0;
	c->ioeventfd = CAP(KVM_CAP_IOEVENTFD) > 0;
	c->immediate_exit = CAP(KVM_CAP_IMMEDIATE_EXIT) > 0;
	c->readonly_mem = CAP(KVM_CAP_READONLY_MEM) > 0;
	c->vm_types = CAP(KVM_CAP_VM_TYPES) > 0;
#undef CAP
	if (!c->immediate_exit) {
		pr_err("KVM lacks KVM_CAP_IMMEDIATE_EXIT (Linux 4.11+), which minivmm requires");
		goto fail;
	}
	if (c->sync_regs < 0)
		c->sync_regs = 0;
	return 0;
fail:
	close(sys->fd);
	sys->fd = -1;
	return -1;
}

void kvm_sys_close(struct kvm_sys *sys)
{
	if (sys->fd >= 0)
		close(sys->fd);
	sys->fd = -1;
}

void kvm_caps_print(const struct kvm_sys *sys, FILE *out)
{
	const char *kind = kvm_host_kind();

	fprintf(out, "KVM API version %d, vCPU mmap size %d, host KVM: %s\n", KVM_API_VERSION,
		sys->run_size, kind);
	if (!strcmp(kind, "pvm"))
		fprintf(out,
			"  PVM: guest kernel code is emulated (slow, no SIMD/xrstor/int3, vmcall "
			"does not reach the VMM): freestanding guests only; Linux guests need "
			"a hardware-virtualised KVM (see tests/nested)\n");
	fprintf(out, "%-20s %4s %8s  %s\n", "capability", "cap", "value", "effect");
	for (size_t i = 0; i < sizeof(cap_descs) / sizeof(cap_descs[0]); i++) {
		const struct cap_desc *d = &cap_descs[i];
		int v = ioctl(sys->fd, KVM_CHECK_EXTENSION, d->cap);

		fprintf(out, "%-20s %4d %#8x  %s: %s\n", d->name, d->cap, v < 0 ? 0 : (unsigned)v,
			v > 0 ? "yes" : "NO", v > 0 ? d->use : d->without);
	}
	fprintf(out, "memory backings: memfd anonymous%s\n",
		sys->caps.guest_memfd && (sys->caps.guest_memfd_flags & 3) == 3 ? " guest_memfd"
										: "");
	fprintf(out, "Xen hypercall transport: %s\n",
		(sys->caps.xen_hvm & KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL)
			? "KVM_EXIT_XEN (in-kernel intercept)"
			: "VMM hypercall page with port-I/O stubs");
}

int kvm_vm_create(const struct kvm_sys *sys)
{
	int fd;

	do {
		fd = ioctl(sys->fd, KVM_CREATE_VM, 0);
	} while (fd < 0 && errno == EINTR);
	if (fd < 0)
		pr_err("KVM_CREATE_VM: %s", strerror(errno));
	return fd;
}

int kvm_vm_enable_cap(int vm_fd, uint32_t cap, uint64_t arg0)
{
	struct kvm_enable_cap ec = { .cap = cap, .args = { arg0 } };

	return ioctl(vm_fd, KVM_ENABLE_CAP, &ec);
}

int kvm_vm_setup_x86(int vm_fd)
{
	uint64_t ident = KVM_IDENTITY_MAP_ADDR;
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

	/* Only Intel VMX needs these; other KVMs (SVM, PVM) may refuse them harmlessly. */
	if (ioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
		pr_debug("KVM_SET_IDENTITY_MAP_ADDR: %s (ignored)", strerror(errno));
	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0)
		pr_debug("KVM_SET_TSS_ADDR: %s (ignored)", strerror(errno));
	if (ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		pr_err("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		pr_warn("KVM_CREATE_PIT2: %s (guests without another timer may hang)",
			strerror(errno));
	return 0;
}

int kvm_vm_set_memory(int vm_fd, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		      void *uaddr, int guest_memfd, uint64_t guest_memfd_offset)
{
	struct kvm_userspace_memory_region2 r2 = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)uaddr,
		.guest_memfd_offset = guest_memfd_offset,
		.guest_memfd = (uint32_t)guest_memfd,
	};
	struct kvm_userspace_memory_region r1 = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)uaddr,
	};

	if (flags & KVM_MEM_GUEST_MEMFD)
		return ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION2, &r2);
	return ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r1);
}

int kvm_vm_create_guest_memfd(int vm_fd, uint64_t size, uint64_t flags)
{
	struct kvm_create_guest_memfd g = { .size = size, .flags = flags };

	return ioctl(vm_fd, KVM_CREATE_GUEST_MEMFD, &g);
}

int kvm_vm_set_memory_attributes(int vm_fd, uint64_t gpa, uint64_t size, uint64_t attributes)
{
	struct kvm_memory_attributes a = { .address = gpa, .size = size, .attributes = attributes };

	return ioctl(vm_fd, KVM_SET_MEMORY_ATTRIBUTES, &a);
}

int kvm_vm_irq_line(int vm_fd, uint32_t irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = (uint32_t)level };

	return ioctl(vm_fd, KVM_IRQ_LINE, &l);
}

int kvm_vm_signal_msi(int vm_fd, uint64_t address, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)address,
		.address_hi = (uint32_t)(address >> 32),
		.data = data,
	};

	return ioctl(vm_fd, KVM_SIGNAL_MSI, &msi);
}

int kvm_vm_xen_hvm_config(int vm_fd, uint32_t flags, uint32_t msr)
{
	struct kvm_xen_hvm_config c = { .flags = flags, .msr = msr };

	return ioctl(vm_fd, KVM_XEN_HVM_CONFIG, &c);
}

int kvm_vm_trap_msr_writes(int vm_fd, uint32_t msr)
{
	uint8_t deny = 0; /* bit clear: the access in `flags` is denied, i.e. exits */
	struct kvm_msr_filter filter = {
		.flags = KVM_MSR_FILTER_DEFAULT_ALLOW,
		.ranges[0] = { .flags = KVM_MSR_FILTER_WRITE,
			       .nmsrs = 1,
			       .base = msr,
			       .bitmap = &deny },
	};

	if (kvm_vm_enable_cap(vm_fd, KVM_CAP_X86_USER_SPACE_MSR, KVM_MSR_EXIT_REASON_FILTER) < 0)
		return -1;
	return ioctl(vm_fd, KVM_X86_SET_MSR_FILTER, &filter);
}

int kvm_vm_ioeventfd(int vm_fd, uint64_t addr, uint32_t len, uint64_t datamatch, int fd,
		     bool assign)
{
	struct kvm_ioeventfd e = {
		.datamatch = datamatch,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return ioctl(vm_fd, KVM_IOEVENTFD, &e);
}

int kvm_vm_irqfd(int vm_fd, uint32_t gsi, int fd, bool assign)
{
	struct kvm_irqfd i = {
		.fd = (uint32_t)fd,
		.gsi = gsi,
		.flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN,
	};

	return ioctl(vm_fd, KVM_IRQFD, &i);
}

int kvm_vcpu_create(const struct kvm_sys *sys, int vm_fd, int id, struct kvm_run **run)
{
	int fd = ioctl(vm_fd, KVM_CREATE_VCPU, id);
	void *map;

	if (fd < 0) {
		pr_err("KVM_CREATE_VCPU %d: %s", id, strerror(errno));
		return -1;
	}
	map = mmap(NULL, (size_t)sys->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		pr_err("mmap of vCPU %d run area: %s", id, strerror(errno));
		close(fd);
		return -1;
	}
	*run = map;
	return fd;
}

void kvm_vcpu_destroy(const struct kvm_sys *sys, int vcpu_fd, struct kvm_run *run)
{
	if (run)
		munmap(run, (size_t)sys->run_size);
	if (vcpu_fd >= 0)
		close(vcpu_fd);
}

int kvm_vcpu_run(int vcpu_fd)
{
	return ioctl(vcpu_fd, KVM_RUN, 0);
}

/*
 * Queue `vector` as an interrupt that bypasses the local APIC (no IRR/ISR bit, no EOI), the
 * way Xen delivers its global callback vector. KVM delivers an event marked injected at the
 * next entry whatever RFLAGS.IF says (VMX would refuse the entry with IF clear), so this first
 * checks that the vCPU can take an interrupt now: running or halted (a halted vCPU is made
 * runnable: the interrupt ends its hlt), IF set, no interrupt shadow, no event in flight.
 * A vCPU halted with interrupts off (a dead CPU's cli; hlt) or waiting for its SIPI is
 * STOPPED: nothing but its own next exit can change that. On the vCPU's own thread, outside
 * KVM_RUN.
 */
#define X86_RFLAGS_IF (1ull << 9)

enum kvm_inject kvm_vcpu_inject_external(int vcpu_fd, uint8_t vector)
{
	struct kvm_vcpu_events ev;
	struct kvm_mp_state mp;
	struct kvm_regs regs;

	if (ioctl(vcpu_fd, KVM_GET_MP_STATE, &mp) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &ev) < 0 || ioctl(vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return KVM_INJECT_ERROR;
	if (mp.mp_state != KVM_MP_STATE_RUNNABLE && mp.mp_state != KVM_MP_STATE_HALTED)
		return KVM_INJECT_STOPPED;
	if (!(regs.rflags & X86_RFLAGS_IF))
		return mp.mp_state == KVM_MP_STATE_HALTED ? KVM_INJECT_STOPPED : KVM_INJECT_LATER;
	if (ev.interrupt.shadow || ev.interrupt.injected || ev.exception.injected ||
	    ev.exception.pending || ev.nmi.injected)
		return KVM_INJECT_LATER;
	ev.interrupt.injected = 1;
	ev.interrupt.nr = vector;
	ev.interrupt.soft = 0;
	ev.flags = 0; /* leave pending NMIs, the shadow, SMM and payloads as they are */
	if (ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
		return KVM_INJECT_ERROR;
	if (mp.mp_state == KVM_MP_STATE_HALTED) {
		mp.mp_state = KVM_MP_STATE_RUNNABLE;
		if (ioctl(vcpu_fd, KVM_SET_MP_STATE, &mp) < 0)
			return KVM_INJECT_ERROR;
	}
	return KVM_INJECT_QUEUED;
}

int kvm_vcpu_get_regs(int vcpu_fd, struct kvm_regs *regs)
{
	return ioctl(vcpu_fd, KVM_GET_REGS, regs);
}

int kvm_vcpu_set_regs(int vcpu_fd, const struct kvm_regs *regs)
{
	return ioctl(vcpu_fd, KVM_SET_REGS, regs);
}

int kvm_vcpu_get_sregs(int vcpu_fd, struct kvm_sregs *sregs)
{
	return ioctl(vcpu_fd, KVM_GET_SREGS, sregs);
}

int kvm_vcpu_set_sregs(int vcpu_fd, const struct kvm_sregs *sregs)
{
	return ioctl(vcpu_fd, KVM_SET_SREGS, sregs);
}

#define CPUID_MAX_ENTRIES 128 /* what KVM supports, plus room for a fixup's leaves */

int kvm_vcpu_setup_cpuid(const struct kvm_sys *sys, int vcpu_fd, uint32_t apic_id,
			 kvm_cpuid_fixup_t fixup, void *arg)
{
	struct kvm_cpuid2 *cpuid;
	int ret = -1;

	cpuid = calloc(1, sizeof(*cpuid) + CPUID_MAX_ENTRIES * sizeof(cpuid->entries[0]));
	if (!cpuid)
		return -1;
	cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(sys->fd, KVM_GET_SUPPORTED_CPUID, cpuid) < 0) {
		pr_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		goto out;
	}
	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		if (e->function == 1) {
			/* initial APIC id in EBX[31:24]; hypervisor-present bit ECX[31] */
			e->ebx = (e->ebx & 0x00ffffff) | (apic_id << 24);
			e->ecx |= 1u << 31;
		} else if (e->function == 0xb || e->function == 0x1f) {
			e->edx = apic_id;
		} else if (e->function >= 0x80000002 && e->function <= 0x80000004 &&
			   !(e->eax | e->ebx | e->ecx | e->edx)) {
			/*
			 * KVM leaves the brand string to user space (QEMU writes its CPU
			 * model's name); the host's own is the honest answer, and without
			 * one Linux reports the CPU as "AMD N/N".
			 */
			__cpuid(e->function, e->eax, e->ebx, e->ecx, e->edx);
		}
	}
	if (fixup && fixup(cpuid, CPUID_MAX_ENTRIES, arg))
		goto out;
	ret = ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid);
	if (ret < 0)
		pr_err("KVM_SET_CPUID2: %s", strerror(errno));
out:
	free(cpuid);
	return ret;
}

int kvm_vcpu_translate(int vcpu_fd, uint64_t gva, uint64_t *gpa)
{
	struct kvm_translation t = { .linear_address = gva };

	if (ioctl(vcpu_fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
		return -1;
	*gpa = t.physical_address;
	return 0;
}

int kvm_vcpu_set_msr(int vcpu_fd, uint32_t index, uint64_t value)
{
	uint64_t buf[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8] = { 0 };
	struct kvm_msrs *msrs = (struct kvm_msrs *)buf;

	msrs->nmsrs = 1;
	msrs->entries[0].index = index;
	msrs->entries[0].data = value;
	return ioctl(vcpu_fd, KVM_SET_MSRS, msrs) == 1 ? 0 : -1;
}

int kvm_vcpu_get_msr(int vcpu_fd, uint32_t index, uint64_t *value)
{
	uint64_t buf[(sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)) / 8] = { 0 };
	struct kvm_msrs *msrs = (struct kvm_msrs *)buf;

	msrs->nmsrs = 1;
	msrs->entries[0].index = index;
	if (ioctl(vcpu_fd, KVM_GET_MSRS, msrs) != 1)
		return -1;
	*value = msrs->entries[0].data;
	return 0;
}

int kvm_vcpu_get_tsc_khz(int vcpu_fd)
{
	return ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
}
