/* SPDX-License-Identifier: MIT */
/* 256 exception/interrupt stubs: each pushes its vector and jumps to a common
 * path that calls exception_handler(frame). The handler never returns. */

#define STUB(v) .balign 16; isr_stub_##v: pushq $v; jmp isr_common;
#define S16(h) STUB(h##0) STUB(h##1) STUB(h##2) STUB(h##3) STUB(h##4) STUB(h##5) \
	STUB(h##6) STUB(h##7) STUB(h##8) STUB(h##9) STUB(h##a) STUB(h##b) \
	STUB(h##c) STUB(h##d) STUB(h##e) STUB(h##f)
#define ENT(v) .quad isr_stub_##v;
#define E16(h) ENT(h##0) ENT(h##1) ENT(h##2) ENT(h##3) ENT(h##4) ENT(h##5) \
	ENT(h##6) ENT(h##7) ENT(h##8) ENT(h##9) ENT(h##a) ENT(h##b) \
	ENT(h##c) ENT(h##d) ENT(h##e) ENT(h##f)

	.text
	.code64
isr_common:
	/* stack: vector, [error code], rip, cs, rflags, rsp, ss */
	movq %rsp, %rdi
	andq $-16, %rsp
	call exception_handler
1:	cli
	hlt
	jmp 1b

	S16(0x0) S16(0x1) S16(0x2) S16(0x3) S16(0x4) S16(0x5) S16(0x6) S16(0x7)
	S16(0x8) S16(0x9) S16(0xa) S16(0xb) S16(0xc) S16(0xd) S16(0xe) S16(0xf)

	.section .rodata
	.balign 8
	.globl isr_stub_table
isr_stub_table:
	E16(0x0) E16(0x1) E16(0x2) E16(0x3) E16(0x4) E16(0x5) E16(0x6) E16(0x7)
	E16(0x8) E16(0x9) E16(0xa) E16(0xb) E16(0xc) E16(0xd) E16(0xe) E16(0xf)

	.section .note.GNU-stack, "", @progbits
