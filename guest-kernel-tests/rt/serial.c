/* SPDX-License-Identifier: MIT */
/* COM1 8250/16550: write THR, poll LSR bit 5 (THR empty). */
#include "rt.h"

#define COM1 0x3f8
#define UART_THR 0
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_THRE 0x20

static spinlock_t serial_lock;

void serial_init(void)
{
	outb(COM1 + UART_IER, 0x00); /* no interrupts */
	outb(COM1 + UART_LCR, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01);	     /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + UART_LCR, 0x03); /* 8n1 */
	outb(COM1 + UART_FCR, 0x07); /* FIFO on, cleared */
	outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

static void raw_putc(char c)
{
	/* Bounded: a UART that never reports THR empty must not hang us. Every
	 * inb is a VMM exit (microseconds), so this is milliseconds at least. */
	for (unsigned i = 0; i < 2000; i++)
		if (inb(COM1 + UART_LSR) & LSR_THRE)
			break;
	outb(COM1 + UART_THR, (uint8_t)c);
}

void serial_putc(char c)
{
	if (c == '\n')
		raw_putc('\r');
	raw_putc(c);
}

/* For the exception handler: no lock (the faulting code may hold it). */
void rt_puts_nolock(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

/* Whole strings are written under a lock so lines from different CPUs do not
 * interleave character by character. */
void rt_puts(const char *s)
{
	spin_lock(&serial_lock);
	while (*s)
		serial_putc(*s++);
	spin_unlock(&serial_lock);
}
