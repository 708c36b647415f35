// SPDX-License-Identifier: MIT
/*
 * One thread per vCPU: KVM_RUN, handle the exit on this thread, repeat. The hot path takes no
 * VM-wide lock: device handlers take their own leaf locks, and the I/O bus is immutable once
 * vCPUs run. Other threads stop a vCPU with vcpu_kick(): immediate_exit plus a signal, so a
 * kick that lands between two KVM_RUNs is not lost.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "../arch/x86/cpu.h"
#include "../arch/x86/layout.h"
#include "../arch/x86/xen/xen.h"
#include "kvm.h"
#include "log.h"
#include "sandbox.h"
#include "vm.h"

#define SIG_VCPU_KICK SIGUSR1

static const char *const exit_reason_names[VCPU_EXIT_REASONS] = {
	[KVM_EXIT_UNKNOWN] = "unknown",
	[KVM_EXIT_EXCEPTION] = "exception",
	[KVM_EXIT_IO] = "io",
	[KVM_EXIT_HYPERCALL] = "hypercall",
	[KVM_EXIT_DEBUG] = "debug",
	[KVM_EXIT_HLT] = "hlt",
	[KVM_EXIT_MMIO] = "mmio",
	[KVM_EXIT_IRQ_WINDOW_OPEN] = "irq_window_open",
	[KVM_EXIT_SHUTDOWN] = "shutdown",
	[KVM_EXIT_FAIL_ENTRY] = "fail_entry",
	[KVM_EXIT_INTR] = "intr",
	[KVM_EXIT_SET_TPR] = "set_tpr",
	[KVM_EXIT_TPR_ACCESS] = "tpr_access",
	[KVM_EXIT_NMI] = "nmi",
	[KVM_EXIT_INTERNAL_ERROR] = "internal_error",
	[KVM_EXIT_SYSTEM_EVENT] = "system_event",
	[KVM_EXIT_IOAPIC_EOI] = "ioapic_eoi",
	[KVM_EXIT_X86_RDMSR] = "rdmsr",
	[KVM_EXIT_X86_WRMSR] = "wrmsr",
	[KVM_EXIT_XEN] = "xen",
	[KVM_EXIT_MEMORY_FAULT] = "memory_fault",
};

const char *kvm_exit_reason_name(unsigned int reason)
{
	if (reason < VCPU_EXIT_REASONS && exit_reason_names[reason])
		return exit_reason_names[reason];
	return "other";
}

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

void vcpu_signals_init(void)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(SIG_VCPU_KICK, &sa, NULL);
}

static __thread struct vcpu *current_vcpu;

struct vcpu *vcpu_current(void)
{
	return current_vcpu;
}

void vcpu_set_current(struct vcpu *vcpu)
{
	current_vcpu = vcpu;
}

void vcpu_pause_init(struct vcpu *vcpu)
{
	mutex_init(&vcpu->lock, "vcpu->lock", LOCK_RANK_VCPU);
	pthread_cond_init(&vcpu->cond, NULL);
	vcpu->parked = false;
	vcpu->outside = 0;
	vcpu->exited = false;
}

void vcpu_pause_destroy(struct vcpu *vcpu)
{
	pthread_cond_destroy(&vcpu->cond);
	mutex_destroy(&vcpu->lock);
}

/*
 * Pause-all, the vCPU's side (vm.h). The pauser sets vm->pause_requested and kicks; the vCPU
 * notices it here at the top of its loop (after KVM_RUN returned -EINTR, or after an exit
 * handler), says so under its lock and sleeps until the flag is cleared. vm_resume_all()
 * clears the flag before taking each vCPU's lock to wake it, so no wake-up is lost.
 */
void vcpu_pause_point(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	if (!atomic_load(&vm->pause_requested))
		return;
	mutex_lock(&vcpu->lock);
	vcpu->parked = true;
	pthread_cond_broadcast(&vcpu->cond);
	while (atomic_load(&vm->pause_requested))
		pthread_cond_wait(&vcpu->cond, &vcpu->lock.m);
	vcpu->parked = false;
	mutex_unlock(&vcpu->lock);
}

void vcpu_outside_begin(struct vcpu *vcpu)
{
	lockdep_assert_none_held("a vCPU counted as parked");
	mutex_lock(&vcpu->lock);
	vcpu->outside++;
	pthread_cond_broadcast(&vcpu->cond);
	mutex_unlock(&vcpu->lock);
}

void vcpu_outside_end(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	mutex_lock(&vcpu->lock);
	/* back to guest state only once no pause is in effect (unless this was the last
	 * nesting level of a pauser, which cleared the flag itself) */
	while (atomic_load(&vm->pause_requested))
		pthread_cond_wait(&vcpu->cond, &vcpu->lock.m);
	vcpu->outside--;
	mutex_unlock(&vcpu->lock);
}

void vcpu_set_exited(struct vcpu *vcpu)
{
	mutex_lock(&vcpu->lock);
	vcpu->exited = true;
	pthread_cond_broadcast(&vcpu->cond);
	mutex_unlock(&vcpu->lock);
}

int vcpu_init(struct vm *vm, struct vcpu *vcpu, int id)
{
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu_pause_init(vcpu);
	vcpu->fd = kvm_vcpu_create(&vm->kvm, vm->fd, id, &vcpu->run);
	if (vcpu->fd < 0)
		return -1;
	if (x86_setup_vcpu_cpuid(&vm->kvm, vcpu->fd, (uint32_t)id,
				 vm->xen ? xen_vcpu_cpuid_fixup : NULL, vcpu))
		return -1;
	if (vm->xen && xen_vcpu_init(vm->xen, vcpu))
		return -1;
	if (id == 0 && x86_setup_boot_vcpu(vcpu->fd, &vm->boot))
		return -1;
	return 0;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	kvm_vcpu_destroy(&vcpu->vm->kvm, vcpu->fd, vcpu->run);
	vcpu->fd = -1;
	vcpu->run = NULL;
	vcpu_pause_destroy(vcpu);
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->run)
		return;
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	/*
	 * A thread whose start the main thread has not recorded yet is kicked again by
	 * vm_run() once the main loop ends; until then immediate_exit stops its next KVM_RUN.
	 */
	if (atomic_load(&vcpu->thread_started))
		pthread_kill(vcpu->thread, SIG_VCPU_KICK);
}

/* Print RIP and the bytes there; returns a hint for emulation failures. */
static void vcpu_dump(struct vcpu *vcpu, const char *what)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint8_t insn[16];
	char bytes[16 * 3 + 1] = "unreadable";
	uint64_t linear, gpa;

	if (kvm_vcpu_get_regs(vcpu->fd, &regs) || kvm_vcpu_get_sregs(vcpu->fd, &sregs)) {
		pr_err("vCPU %d: %s (registers unreadable)", vcpu->id, what);
		return;
	}
	linear = (sregs.efer & (1 << 10) ? 0 : sregs.cs.base) + regs.rip;
	if (!kvm_vcpu_translate(vcpu->fd, linear, &gpa)) {
		size_t n = GUEST_PAGE_SIZE - (gpa & (GUEST_PAGE_SIZE - 1));

		n = n < sizeof(insn) ? n : sizeof(insn);
		if (!guest_mem_read(&vcpu->vm->mem, gpa, insn, n)) {
			for (size_t i = 0; i < n; i++)
				sprintf(bytes + 3 * i, "%02x ", insn[i]);
		}
	}
	pr_err("vCPU %d: %s at RIP %#llx (CS %#x, CR0 %#llx, EFER %#llx, RSP %#llx)", vcpu->id,
	       what, (unsigned long long)regs.rip, sregs.cs.selector, (unsigned long long)sregs.cr0,
	       (unsigned long long)sregs.efer, (unsigned long long)regs.rsp);
	pr_err("vCPU %d: instruction bytes at RIP: %s", vcpu->id, bytes);
}

static void vcpu_handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* the data area lies inside the run page; KVM bounds count*size by the page */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (!io_bus_dispatch(&vcpu->vm->pio, vcpu, run->io.port, data, run->io.size,
				     is_write))
			vcpu->pio_exits_unhandled++;
	}
}

static void vcpu_handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t len = run->mmio.len <= 8 ? run->mmio.len : 8;

	if (!io_bus_dispatch(&vcpu->vm->mmio, vcpu, run->mmio.phys_addr, run->mmio.data, len,
			     run->mmio.is_write))
		pr_debug("vCPU %d: unclaimed MMIO %s at %#llx", vcpu->id,
			 run->mmio.is_write ? "write" : "read",
			 (unsigned long long)run->mmio.phys_addr);
}

/* KVM_HC_MAP_GPA_RANGE: the guest converts memory between shared and private. */
static void vcpu_handle_hypercall(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint64_t gpa = run->hypercall.args[0], npages = run->hypercall.args[1];
	uint64_t attrs = run->hypercall.args[2];
	int ret;

	if (run->hypercall.nr != KVM_HC_MAP_GPA_RANGE) {
		run->hypercall.ret = (uint64_t)-KVM_ENOSYS;
		return;
	}
	vcpu->map_gpa_requests++;
	if (!npages || npages > (UINT64_MAX >> 12) || (attrs & ~0x1full)) {
		run->hypercall.ret = (uint64_t)-KVM_EINVAL;
		return;
	}
	ret = guest_mem_convert(&vcpu->vm->mem, gpa, npages << 12,
				attrs & KVM_MAP_GPA_RANGE_ENCRYPTED);
	run->hypercall.ret = ret ? (uint64_t)-KVM_EINVAL : 0;
}

/* Returns true when the vCPU should keep running. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;
	char why[160];

	if (run->exit_reason < VCPU_EXIT_REASONS)
		vcpu->exits[run->exit_reason]++;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		vcpu_handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		vcpu_handle_mmio(vcpu);
		return true;
	case KVM_EXIT_HYPERCALL:
		vcpu_handle_hypercall(vcpu);
		return true;
	case KVM_EXIT_XEN:
	case KVM_EXIT_X86_WRMSR:
	case KVM_EXIT_X86_RDMSR:
		if (vm->xen && xen_handle_exit(vm->xen, vcpu))
			return true;
		snprintf(why, sizeof(why), "unexpected exit %s",
			 kvm_exit_reason_name(run->exit_reason));
		vcpu_dump(vcpu, why);
		vm_request_stop(vm, VM_EXIT_FAILURE, "unhandled vCPU exit");
		return false;
	case KVM_EXIT_HLT:
		/* with the in-kernel LAPIC, HLT only exits when no interrupt can ever come */
		vm_request_stop(vm, VM_EXIT_OK, "guest halted with interrupts disabled");
		return false;
	case KVM_EXIT_SHUTDOWN:
		vcpu_dump(vcpu, "triple fault (KVM_EXIT_SHUTDOWN)");
		vm_request_stop(vm, VM_EXIT_FAILURE, "guest triple fault (shutdown)");
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why), "KVM_EXIT_FAIL_ENTRY, hardware reason %#llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vcpu_dump(vcpu, why);
		vm_request_stop(vm, VM_EXIT_FAILURE, "vCPU entry failed");
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(why, sizeof(why), "KVM_EXIT_INTERNAL_ERROR, suberror %u",
			 run->internal.suberror);
		vcpu_dump(vcpu, why);
		if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
			pr_err("hint: the host KVM could not emulate this instruction; on a PVM "
			       "host (see `minivmm caps`) kernel-mode SIMD, xrstor, cmpxchg16b "
			       "and int3 cannot run: this guest needs a hardware-virtualised KVM");
		vm_request_stop(vm, VM_EXIT_FAILURE, "KVM internal error");
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			vm_request_stop(vm, VM_EXIT_OK, "guest powered off");
			break;
		case KVM_SYSTEM_EVENT_RESET:
			vm_request_stop(vm, VM_EXIT_OK, "guest reset");
			break;
		default:
			vm_request_stop(vm, VM_EXIT_FAILURE, "guest crashed (system event)");
			break;
		}
		return false;
	case KVM_EXIT_MEMORY_FAULT: {
		struct kvm_memory_fault_exit *f = kvm_run_memory_fault(run);
		bool priv = f->flags & KVM_MEMORY_EXIT_FLAG_PRIVATE;

		if (!guest_mem_convert(&vm->mem, f->gpa, f->size, priv))
			return true;
		snprintf(why, sizeof(why), "memory fault at %#llx+%#llx (%s) cannot be served",
			 (unsigned long long)f->gpa, (unsigned long long)f->size,
			 priv ? "private" : "shared");
		vcpu_dump(vcpu, why);
		vm_request_stop(vm, VM_EXIT_FAILURE, "unserviceable memory fault");
		return false;
	}
	default:
		snprintf(why, sizeof(why), "unhandled exit reason %u (%s)", run->exit_reason,
			 kvm_exit_reason_name(run->exit_reason));
		vcpu_dump(vcpu, why);
		vm_request_stop(vm, VM_EXIT_FAILURE, "unhandled vCPU exit");
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	char name[16];
	sigset_t set;

	snprintf(name, sizeof(name), "vcpu%d", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	vcpu_set_current(vcpu);
	sigemptyset(&set);
	sigaddset(&set, SIG_VCPU_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (sandbox_apply(SANDBOX_ROLE_VCPU)) {
		vm_request_stop(vm, VM_EXIT_FAILURE, "no seccomp filter for a vCPU thread");
		vcpu_set_exited(vcpu);
		return NULL;
	}

	while (!atomic_load(&vm->stopping)) {
		vcpu_pause_point(vcpu);
		if (vm->xen)
			xen_vcpu_deliver_callback(vm->xen, vcpu);
		if (kvm_vcpu_run(vcpu->fd) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				continue;
			}
			if (errno == EFAULT && vcpu->run->exit_reason == KVM_EXIT_MEMORY_FAULT) {
				if (vcpu_handle_exit(vcpu))
					continue;
				break;
			}
			pr_err("vCPU %d: KVM_RUN failed: %s", vcpu->id, strerror(errno));
			vm_request_stop(vm, VM_EXIT_FAILURE, "KVM_RUN failed");
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	vcpu_set_exited(vcpu);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	sigset_t set, old;
	int err;

	/* the thread starts with the kick signal blocked and unblocks it itself */
	sigemptyset(&set);
	sigaddset(&set, SIG_VCPU_KICK);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	err = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		pr_err("creating vCPU %d's thread: %s", vcpu->id, strerror(err));
		return -1;
	}
	atomic_store(&vcpu->thread_started, true);
	return 0;
}
