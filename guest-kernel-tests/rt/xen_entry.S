/* SPDX-License-Identifier: MIT */
/* The Xen upcall interrupt entry: save the caller-saved registers, call xen_upcall(). */
	.text
	.code64
	.globl xen_upcall_entry
xen_upcall_entry:
	/* the CPU aligned RSP to 16 and pushed 5 words: 9 pushes realign it for the call */
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	cld
	call xen_upcall
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	iretq

	.section .note.GNU-stack, "", @progbits
