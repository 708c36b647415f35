/* SPDX-License-Identifier: MIT */
/*
 * AP start-up trampoline, copied to RT_TRAMPOLINE_ADDR (0x10000, SIPI vector
 * 0x10) by smp_start_aps(). Real mode (CS=0x1000, IP=0) -> 32-bit protected
 * mode -> long mode on the BSP's page tables -> tramp_entry(apic_id) on the
 * stack tramp_stacks + (apic_id + 1) * tramp_stack_size.
 * The BSP fills the data block at the end before sending the SIPIs.
 */
#define BASE 0x10000
#define OFF(x) ((x) - tramp_start)
#define ABS(x) (BASE + OFF(x))

#define MAX_CPUS 32 /* RT_MAX_CPUS in rt.h */

#define SEL_CODE32 0x08
#define SEL_DATA 0x10
#define SEL_CODE64 0x18

	.section .rodata.trampoline, "a", @progbits
	.globl tramp_start, tramp_end
	.globl tramp_gdt_desc, tramp_cr3, tramp_entry, tramp_stacks, tramp_stack_size
	.code16
tramp_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl OFF(tramp_gdt_desc)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $SEL_CODE32, $ABS(tramp32)

	.code32
tramp32:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl %cr4, %eax
	orl $0x20, %eax               /* PAE */
	movl %eax, %cr4
	movl ABS(tramp_cr3), %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx        /* EFER.LME */
	rdmsr
	orl $0x100, %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax         /* PG | PE */
	movl %eax, %cr0
	ljmp $SEL_CODE64, $ABS(tramp64)

	.code64
tramp64:
	movl $0xfee00020, %ebx        /* LAPIC ID register */
	movl (%rbx), %edi
	shrl $24, %edi
	cmpl $MAX_CPUS, %edi          /* no stack for this one: park it */
	jae 1f
	leal 1(%rdi), %eax
	imulq tramp_stack_size(%rip), %rax
	addq tramp_stacks(%rip), %rax
	movq %rax, %rsp
	xorl %ebp, %ebp
	call *tramp_entry(%rip)
1:	cli
	hlt
	jmp 1b

	.balign 8
	.word 0, 0, 0
tramp_gdt_desc:                       /* limit, 32-bit base (filled in) */
	.word 0
	.long 0
tramp_cr3:
	.long 0
tramp_entry:
	.quad 0
tramp_stacks:
	.quad 0
tramp_stack_size:
	.quad 0
tramp_end:

	.section .note.GNU-stack, "", @progbits
