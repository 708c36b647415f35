/* SPDX-License-Identifier: MIT */
/*
 * PVH entry: 32-bit protected mode, paging off, EBX = hvm_start_info.
 * Builds an identity map of the first 4 GiB with 2 MiB pages (in .bss, i.e.
 * inside the loaded image: nothing below 1 MiB is written here), enters long
 * mode and calls rt_start(start_info_paddr).
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

#define SEL_CODE32 0x08
#define SEL_DATA 0x10
#define SEL_CODE64 0x18

/* ELF note, 4-byte aligned (QEMU aligns the name with the PT_NOTE p_align),
 * 8-byte descriptor like Linux's (QEMU reads a size_t). */
	.section .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f          /* namesz */
	.long 4f - 3f          /* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz "Xen"
2:	.balign 4
3:	.quad pvh_entry
4:	.balign 4

	.section .text.entry, "ax", @progbits
	.code32
	.globl pvh_entry
pvh_entry:
	cli
	cld
	lgdt gdt_desc
	ljmp $SEL_CODE32, $1f
1:	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl $boot_stack_top, %esp

	/* zero .bss (page tables included); EBX survives */
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl

	movl %ebx, rt_start_info_paddr

	/* PML4[0] -> PDPT; PDPT[0..3] -> PD pages; PD: 2048 x 2 MiB pages */
	movl $pdpt, %eax
	orl $0x3, %eax
	movl %eax, pml4

	movl $pd, %eax
	orl $0x3, %eax
	movl $pdpt, %edi
	movl $4, %ecx
2:	movl %eax, (%edi)
	addl $0x1000, %eax
	addl $8, %edi
	loop 2b

	movl $0x83, %eax            /* present, writable, 2 MiB */
	movl $pd, %edi
	movl $2048, %ecx
3:	movl %eax, (%edi)
	addl $0x200000, %eax
	addl $8, %edi
	loop 3b

	movl %cr4, %eax
	orl $0x20, %eax             /* PAE */
	movl %eax, %cr4
	movl $pml4, %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx      /* EFER */
	rdmsr
	orl $0x100, %eax            /* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax       /* PG | PE */
	movl %eax, %cr0
	ljmp $SEL_CODE64, $long_entry

	.code64
long_entry:
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	movl rt_start_info_paddr(%rip), %edi
	call rt_start
5:	cli
	hlt
	jmp 5b

/* void rt_exit(uint32_t code) */
	.text
	.globl rt_exit
rt_exit:
	movl %edi, %eax
	movw $0xf4, %dx
	outl %eax, %dx
	/* no exit device: park */
	.globl rt_halt_forever
rt_halt_forever:
	cli
	hlt
	jmp rt_halt_forever

/* void rt_load_segments(void): reload the GDT and all segment registers */
	.globl rt_load_segments
rt_load_segments:
	lgdt gdt_desc(%rip)
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	popq %rax
	pushq $SEL_CODE64
	pushq %rax
	lretq

	.section .rodata
	.balign 16
	.globl gdt
gdt:
	.quad 0
	.quad 0x00cf9b000000ffff    /* 0x08: 32-bit code */
	.quad 0x00cf93000000ffff    /* 0x10: data */
	.quad 0x00af9b000000ffff    /* 0x18: 64-bit code */
gdt_end:
	.balign 8
	.word 0
	.globl gdt_desc
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
	.long 0

	.bss
	.balign 4096
	.globl pml4
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4 * 4096
	.balign 8
	.globl rt_start_info_paddr
rt_start_info_paddr:
	.skip 4

	.section .stack, "aw", @nobits
	.balign 16
	.skip 16384
boot_stack_top:
	.balign 4096
	.globl ap_stacks
ap_stacks:                          /* RT_MAX_CPUS x RT_AP_STACK_SIZE */
	.skip 32 * 8192

	.section .note.GNU-stack, "", @progbits
