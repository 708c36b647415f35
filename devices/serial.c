// SPDX-License-Identifier: MIT
/*
 * 8250/16550 UART, enough for Linux's 8250 driver and early console: THR/RBR, IER, IIR/FCR,
 * LCR (DLAB), MCR (loopback ignored), LSR, MSR, SCR. Interrupts are level-triggered on the
 * ISA line (IOAPIC/PIC in KVM). Guest writes are hostile input: every value is masked to the
 * bits the register has.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../vmm/io_bus.h"
#include "../vmm/kvm.h"
#include "../vmm/lock.h"
#include "../vmm/log.h"
#include "../vmm/vm.h"
#include "devices.h"

#define UART_RX 0
#define UART_TX 0
#define UART_DLL 0
#define UART_IER 1
#define UART_DLM 1
#define UART_IIR 2
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define UART_IER_RDI 0x01
#define UART_IER_THRI 0x02
#define UART_IIR_NO_INT 0x01
#define UART_IIR_THRI 0x02
#define UART_IIR_RDI 0x04
#define UART_IIR_FIFO 0xc0
#define UART_LCR_DLAB 0x80
#define UART_LSR_DR 0x01
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40
#define UART_MSR_DCD 0x80
#define UART_MSR_DSR 0x20
#define UART_MSR_CTS 0x10
#define UART_MCR_LOOP 0x10

#define RX_FIFO_SIZE 4096

struct serial {
	struct vm *vm;
	uint32_t irq;
	int out_fd;
	void (*sink)(void *arg, const uint8_t *buf, size_t len);
	void *sink_arg;
	struct mutex lock;
	uint8_t ier, lcr, mcr, scr, dll, dlm, fcr;
	bool thri_pending;
	int irq_level;
	uint8_t rx[RX_FIFO_SIZE];
	unsigned int rx_head, rx_count;
	uint64_t bytes_out;
};

/* Caller holds s->lock. */
static uint8_t serial_iir(struct serial *s)
{
	uint8_t fifo = (s->fcr & 1) ? UART_IIR_FIFO : 0;

	if ((s->ier & UART_IER_RDI) && s->rx_count)
		return UART_IIR_RDI | fifo;
	if ((s->ier & UART_IER_THRI) && s->thri_pending)
		return UART_IIR_THRI | fifo;
	return UART_IIR_NO_INT | fifo;
}

static void serial_update_irq(struct serial *s)
{
	int level = !(serial_iir(s) & UART_IIR_NO_INT);

	if (level == s->irq_level || !s->vm || s->vm->fd < 0)
		return;
	s->irq_level = level;
	kvm_vm_irq_line(s->vm->fd, s->irq, level);
}

static void serial_write_out(struct serial *s, uint8_t c)
{
	s->bytes_out++;
	if (s->sink) {
		s->sink(s->sink_arg, &c, 1);
		return;
	}
	while (write(s->out_fd, &c, 1) < 0 && errno == EINTR)
		;
}

void serial_set_sink(struct serial *s, void (*sink)(void *arg, const uint8_t *buf, size_t len),
		     void *arg)
{
	mutex_lock(&s->lock);
	s->sink = sink;
	s->sink_arg = arg;
	mutex_unlock(&s->lock);
}

static void serial_io(struct vcpu *vcpu, uint64_t off, uint8_t *data, uint32_t len, bool is_write,
		      void *opaque)
{
	struct serial *s = opaque;
	bool dlab;
	uint8_t v = data[0];

	(void)vcpu;
	if (len != 1) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	mutex_lock(&s->lock);
	dlab = s->lcr & UART_LCR_DLAB;
	if (is_write) {
		switch (off) {
		case UART_TX:
			if (dlab) {
				s->dll = v;
			} else {
				if (!(s->mcr & UART_MCR_LOOP))
					serial_write_out(s, v);
				s->thri_pending = true;
			}
			break;
		case UART_IER:
			if (dlab) {
				s->dlm = v;
			} else {
				/* enabling THRI with an empty THR raises it at once, as on 16550 */
				if (!(s->ier & UART_IER_THRI) && (v & UART_IER_THRI))
					s->thri_pending = true;
				s->ier = v & 0x0f;
			}
			break;
		case UART_FCR:
			s->fcr = v & 0xc9;
			if (v & 0x02) /* clear RX FIFO */
				s->rx_count = 0;
			break;
		case UART_LCR:
			s->lcr = v;
			break;
		case UART_MCR:
			s->mcr = v & 0x1f;
			break;
		case UART_SCR:
			s->scr = v;
			break;
		default: /* LSR, MSR: read-only */
			break;
		}
	} else {
		switch (off) {
		case UART_RX:
			if (dlab) {
				v = s->dll;
			} else if (s->rx_count) {
				v = s->rx[s->rx_head];
				s->rx_head = (s->rx_head + 1) % RX_FIFO_SIZE;
				s->rx_count--;
			} else {
				v = 0;
			}
			break;
		case UART_IER:
			v = dlab ? s->dlm : s->ier;
			break;
		case UART_IIR:
			v = serial_iir(s);
			if ((v & 0x0f) == UART_IIR_THRI)
				s->thri_pending = false;
			break;
		case UART_LCR:
			v = s->lcr;
			break;
		case UART_MCR:
			v = s->mcr;
			break;
		case UART_LSR:
			v = UART_LSR_THRE | UART_LSR_TEMT | (s->rx_count ? UART_LSR_DR : 0);
			break;
		case UART_MSR:
			v = UART_MSR_DCD | UART_MSR_DSR | UART_MSR_CTS;
			break;
		case UART_SCR:
			v = s->scr;
			break;
		}
		data[0] = v;
	}
	serial_update_irq(s);
	mutex_unlock(&s->lock);
}

void serial_input(struct serial *s, const uint8_t *buf, size_t len)
{
	mutex_lock(&s->lock);
	for (size_t i = 0; i < len && s->rx_count < RX_FIFO_SIZE; i++) {
		s->rx[(s->rx_head + s->rx_count) % RX_FIFO_SIZE] = buf[i];
		s->rx_count++;
	}
	serial_update_irq(s);
	mutex_unlock(&s->lock);
}

uint64_t serial_bytes_out(struct serial *s)
{
	uint64_t n;

	mutex_lock(&s->lock);
	n = s->bytes_out;
	mutex_unlock(&s->lock);
	return n;
}

struct serial *serial_create(struct vm *vm, uint16_t base, uint32_t irq, int out_fd)
{
	struct serial *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->vm = vm;
	s->irq = irq;
	s->out_fd = out_fd;
	mutex_init(&s->lock, "serial->lock", LOCK_RANK_DEVICE);
	if (vm && io_bus_register(&vm->pio, base, 8, serial_io, s, "serial")) {
		serial_destroy(s);
		return NULL;
	}
	return s;
}

void serial_destroy(struct serial *s)
{
	if (!s)
		return;
	mutex_destroy(&s->lock);
	free(s);
}
