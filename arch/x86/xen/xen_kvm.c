// SPDX-License-Identifier: MIT
/*
 * Binds the Xen core to minivmm's VM: transport, CPUID, exits, stats.
 *
 * Transports (one dispatcher, xen_hypercall()):
 *  - KVM with KVM_CAP_XEN_HVM & INTERCEPT_HCALL (hardware KVM, the nested L1):
 *    KVM_XEN_HVM_CONFIG makes KVM write the hypercall page (vmcall/vmmcall stubs) when the
 *    guest writes the MSR, and every vmcall/vmmcall of a Xen guest arrives as KVM_EXIT_XEN on
 *    the calling vCPU's thread: nr and params in kvm_run, result back through kvm_run.
 *  - elsewhere (PVM: vmcall never reaches userspace), the MSR write is made to exit with
 *    KVM_CAP_X86_USER_SPACE_MSR + an MSR filter, minivmm writes the hypercall page itself with
 *    stubs that trap by port I/O (`mov $nr,%eax; out %eax,$XEN_HCALL_PORT; ret`), and the
 *    arguments come from the vCPU's registers in kvm_run's sync regs (no GET/SET_REGS ioctl);
 *    the result goes back in RAX the same way. Guests that execute vmcall directly (modern
 *    Linux) cannot use this transport.
 *
 * Upcalls on the per-vCPU vectors (HVMOP_set_evtchn_upcall_vector, which Linux uses since
 * 6.0 when CPUID leaf 4 has XEN_HVM_CPUID_UPCALL_VECTOR) are raised with KVM_SIGNAL_MSI,
 * through the target's local APIC: the guest EOIs them. The global callback vector
 * (HVM_PARAM_CALLBACK_IRQ of type vector, older guests) is never EOIed, so it must not touch
 * the APIC: the sender kicks the target, and the target's thread queues the vector with
 * KVM_SET_VCPU_EVENTS before its next entry (xen_vcpu_deliver_callback, see xen.h). KVM's own
 * delivery of it (KVM_XEN_ATTR_TYPE_UPCALL_VECTOR) was the other way; it needs KVM to own
 * vcpu_info, where KVM then writes its own pvclock, and exists only where KVM has Xen support.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../../../vmm/kvm.h"
#include "../../../vmm/log.h"
#include "../../../vmm/vm.h"
#include "../layout.h"
#include "xen_internal.h"

#ifndef XEN_HCALL_PORT
#define XEN_HCALL_PORT 0x98
#endif
_Static_assert(XEN_HCALL_PORT <= 0xff, "the hypercall stubs use out imm8");

#define MSR_IA32_TSC 0x10

static int kvm_translate(void *opaque, unsigned int vcpu, uint64_t gva, uint64_t *gpa)
{
	struct vm *vm = opaque;

	return kvm_vcpu_translate(vm->vcpus[vcpu].fd, gva, gpa);
}

static void kvm_raise_vector(void *opaque, unsigned int vcpu, uint8_t vector)
{
	struct vm *vm = opaque;

	/* fixed, edge, physical destination = the vCPU's APIC id (its index) */
	int r = kvm_vm_signal_msi(vm->fd, LAPIC_ADDR | (uint64_t)vcpu << 12, vector);

	if (r < 0)
		pr_warn("xen: KVM_SIGNAL_MSI vector %#x to vCPU %u: %s", vector, vcpu,
			strerror(errno));
	else if (r == 0) /* delivered to no APIC: software-disabled (see xen_upcall_dropped) */
		xen_upcall_dropped(vm->xen, vcpu);
}

static void kvm_raise_callback(void *opaque, unsigned int vcpu)
{
	struct vm *vm = opaque;
	struct vcpu *target = &vm->vcpus[vcpu];

	/* on the target's own thread, the check before its next entry comes anyway */
	if (vcpu_current() != target)
		vcpu_kick(target);
}

void xen_vcpu_deliver_callback(struct xen *xen, struct vcpu *vcpu)
{
	uint8_t vector = xen_callback_due(xen, (unsigned int)vcpu->id);

	if (!vector)
		return;
	switch (kvm_vcpu_inject_external(vcpu->fd, vector)) {
	case KVM_INJECT_QUEUED:
		xen_callback_injected(xen, (unsigned int)vcpu->id);
		break;
	case KVM_INJECT_LATER:
		xen_callback_retry(xen, (unsigned int)vcpu->id);
		break;
	case KVM_INJECT_STOPPED: /* checked again at its next exit, whatever brings it back */
		break;
	case KVM_INJECT_ERROR:
		pr_warn_ratelimited("xen: injecting the callback vector %#x into vCPU %d: %s",
				    vector, vcpu->id, strerror(errno));
		break;
	}
}

static void kvm_shutdown(void *opaque, unsigned int vcpu, unsigned int reason)
{
	static const char *const why[] = {
		[SHUTDOWN_poweroff] = "guest powered off (Xen SCHEDOP_shutdown)",
		[SHUTDOWN_reboot] = "guest rebooted (Xen SCHEDOP_shutdown)",
		[SHUTDOWN_crash] = "guest crashed (Xen SCHEDOP_shutdown)",
		[SHUTDOWN_watchdog] = "guest watchdog fired (Xen SCHEDOP_shutdown)",
	};
	struct vm *vm = opaque;

	(void)vcpu;
	vm_request_stop(vm,
			reason == SHUTDOWN_poweroff || reason == SHUTDOWN_reboot ? VM_EXIT_OK
										 : VM_EXIT_FAILURE,
			reason <= SHUTDOWN_watchdog && why[reason] ? why[reason] : "Xen shutdown");
}

static int kvm_read_tsc(void *opaque, unsigned int vcpu, uint64_t *tsc, uint32_t *khz)
{
	struct vm *vm = opaque;
	struct xen *xen = vm->xen;

	if (!xen->tsc_khz || kvm_vcpu_get_msr(vm->vcpus[vcpu].fd, MSR_IA32_TSC, tsc))
		return -1;
	*khz = xen->tsc_khz;
	return 0;
}

static bool kvm_interrupted(void *opaque, unsigned int vcpu)
{
	struct vm *vm = opaque;

	return __atomic_load_n(&vm->vcpus[vcpu].run->immediate_exit, __ATOMIC_ACQUIRE);
}

static const struct xen_ops kvm_xen_ops = {
	.translate = kvm_translate,
	.raise_vector = kvm_raise_vector,
	.raise_callback = kvm_raise_callback,
	.shutdown = kvm_shutdown,
	.read_tsc = kvm_read_tsc,
	.interrupted = kvm_interrupted,
};

/* Port I/O transport: the stub's `out` is the hypercall; registers in kvm_run sync regs. */
static void xen_pio_io(struct vcpu *vcpu, uint64_t off, uint8_t *data, uint32_t len, bool is_write,
		       void *opaque)
{
	struct xen *xen = opaque;
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs, *r = &run->s.regs.regs;
	uint64_t args[5];

	if (!is_write) {
		memset(data, 0xff, len);
		return;
	}
	if (off != 0 || len != 4)
		return;
	if (!xen->sync_regs) {
		if (kvm_vcpu_get_regs(vcpu->fd, &regs)) {
			pr_err("xen: vCPU %d: KVM_GET_REGS: %s", vcpu->id, strerror(errno));
			return;
		}
		r = &regs;
	}
	args[0] = r->rdi;
	args[1] = r->rsi;
	args[2] = r->rdx;
	args[3] = r->r10;
	args[4] = r->r8;
	r->rax = (uint64_t)xen_hypercall(xen, (unsigned int)vcpu->id, r->rax, args);
	if (xen->sync_regs)
		run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	else if (kvm_vcpu_set_regs(vcpu->fd, &regs))
		pr_err("xen: vCPU %d: KVM_SET_REGS: %s", vcpu->id, strerror(errno));
}

struct xen *xen_create(struct vm *vm, const struct xen_vm_config *cfg)
{
	const struct kvm_caps *c = &vm->kvm.caps;
	struct xen_config xc = {
		.nr_vcpus = vm->cfg->cpus,
		.version = cfg->version ? cfg->version : XEN_DEFAULT_VERSION,
		.timer_thread = true,
	};
	bool kvm_ok = c->xen_hvm & KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL;
	bool pio_ok = c->user_space_msr && c->msr_filter;
	int transport = cfg->transport;
	struct xen *xen;

	if (transport == XEN_TRANSPORT_AUTO)
		transport = kvm_ok ? XEN_TRANSPORT_KVM : XEN_TRANSPORT_PIO;
	if ((transport == XEN_TRANSPORT_KVM && !kvm_ok) ||
	    (transport == XEN_TRANSPORT_PIO && !pio_ok)) {
		pr_err("xen: this host's KVM cannot carry Xen hypercalls %s (XEN_HVM=%#x, "
		       "X86_USER_SPACE_MSR=%d, X86_MSR_FILTER=%d)",
		       transport == XEN_TRANSPORT_KVM ? "as KVM_EXIT_XEN" : "by port I/O",
		       c->xen_hvm, c->user_space_msr, c->msr_filter);
		return NULL;
	}
	if (transport == XEN_TRANSPORT_KVM) {
		if (kvm_vm_xen_hvm_config(vm->fd, KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL,
					  XEN_HYPERCALL_MSR) < 0) {
			pr_err("xen: KVM_XEN_HVM_CONFIG: %s", strerror(errno));
			return NULL;
		}
	} else if (kvm_vm_trap_msr_writes(vm->fd, XEN_HYPERCALL_MSR) < 0) {
		pr_err("xen: trapping writes of MSR %#x: %s", XEN_HYPERCALL_MSR, strerror(errno));
		return NULL;
	}

	xen = xen_new(&vm->mem, &xc, &kvm_xen_ops, vm, &vm->stopping);
	if (!xen) {
		pr_err("xen: out of memory");
		return NULL;
	}
	xen->transport = transport;
	xen->keep_kvm_leaves = cfg->keep_kvm_leaves;
	xen->percpu_upcalls = cfg->percpu_upcalls;
	if (transport == XEN_TRANSPORT_PIO &&
	    io_bus_register(&vm->pio, XEN_HCALL_PORT, 4, xen_pio_io, xen, "xen-hypercall")) {
		pr_err("xen: port %#x is taken", XEN_HCALL_PORT);
		xen_free(xen);
		return NULL;
	}
	pr_info("xen: Xen %u.%u HVM, hypercalls %s", xc.version >> 16, xc.version & 0xffff,
		transport == XEN_TRANSPORT_KVM ? "by KVM_EXIT_XEN"
					       : "by a hypercall page with port-I/O stubs");
	return xen;
}

int xen_vcpu_cpuid_fixup(struct kvm_cpuid2 *cpuid, uint32_t max_entries, void *arg)
{
	struct vcpu *vcpu = arg;
	struct xen *xen = vcpu->vm->xen;

	if (xen_cpuid_fixup(cpuid, max_entries, (unsigned int)vcpu->id, xen->version,
			    xen->keep_kvm_leaves, xen->percpu_upcalls)) {
		pr_err("xen: vCPU %d: no room for the Xen CPUID leaves", vcpu->id);
		return -1;
	}
	return 0;
}

int xen_vcpu_init(struct xen *xen, struct vcpu *vcpu)
{
	if (xen->transport == XEN_TRANSPORT_PIO &&
	    vcpu->vm->kvm.caps.sync_regs & KVM_SYNC_X86_REGS) {
		vcpu->run->kvm_valid_regs |= KVM_SYNC_X86_REGS;
		xen->sync_regs = true;
	}
	if (!xen->tsc_khz) {
		int khz = kvm_vcpu_get_tsc_khz(vcpu->fd);

		if (khz > 0)
			xen->tsc_khz = (uint32_t)khz;
	}
	return 0;
}

bool xen_handle_exit(struct xen *xen, struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	switch (run->exit_reason) {
	case KVM_EXIT_XEN: {
		typeof(run->xen.u.hcall) *h = &run->xen.u.hcall;
		uint64_t args[5];

		if (run->xen.type != KVM_EXIT_XEN_HCALL)
			return false;
		if (!h->longmode)
			h->result = (uint64_t)-XEN_ENOSYS; /* 32-bit guests: compat ABI not done */
		else if (h->cpl)
			h->result = (uint64_t)-XEN_EPERM;
		else {
			for (unsigned int i = 0; i < 5; i++)
				args[i] = h->params[i];
			h->result = (uint64_t)xen_hypercall(xen, (unsigned int)vcpu->id, h->input,
							    args);
		}
		return true;
	}
	case KVM_EXIT_X86_WRMSR:
		/* 0: done; 1: #GP (a bad page address or index, or an MSR that is not ours) */
		run->msr.error = run->msr.index != XEN_HYPERCALL_MSR ||
				 xen_write_hypercall_page(xen, (unsigned int)vcpu->id,
							  run->msr.data, XEN_HCALL_PORT);
		return true;
	case KVM_EXIT_X86_RDMSR:
		run->msr.error = 1;
		return true;
	default:
		return false;
	}
}

void xen_print_stats(struct xen *xen, FILE *out)
{
	xen_print_stats_core(xen, out);
}

void xen_destroy(struct xen *xen)
{
	xen_free(xen);
}
