/*
 * serial.c - 16550 UART on COM1 (I/O port 0x3f8), 115200 8N1; and COM2
 * (0x2f8), the status channel, output only.
 *
 * Output is polled: wait for the transmit holding register, write a byte.
 * That keeps printk usable from NMIs and during panic. Input is
 * interrupt-driven: the "received data available" interrupt (ISA IRQ 4,
 * routed through the I/O APIC) drains the receive FIFO into a ring buffer
 * that console_getc() reads.
 */
#include <weft/console.h>
#include <weft/errno.h>
#include <weft/printk.h>
#include <weft/panic.h>
#include <arch/cpu.h>
#include <arch/irqflags.h>
#include <arch/trap.h>
#include <arch/apic.h>
#include <weft/wait.h>
#include <weft/thread.h>

#define COM1 0x3f8
#define COM2 0x2f8
#define REG_DATA 0   /* RBR (read) / THR (write); divisor low with DLAB */
#define REG_IER  1   /* interrupt enable; divisor high with DLAB */
#define REG_FCR  2   /* FIFO control (write) */
#define REG_LCR  3
#define REG_MCR  4
#define REG_LSR  5
#define REG_SCR  7   /* scratch: holds what was written, if the UART exists */
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20
#define SERIAL_IRQ 4

/* Receive ring: written only by the interrupt handler, read by
 * console_getc() with interrupts off, so a single CPU owns it at a time
 * (the IRQ is routed to the boot CPU). */
#define RX_SIZE 256
static volatile unsigned char rx_buf[RX_SIZE];
static volatile unsigned rx_head, rx_tail;
static bool serial_present;
static struct wait_queue rx_wait = WAIT_QUEUE_INIT(rx_wait, "serial input");

void serial_init_early(void)
{
	outb(COM1 + REG_IER, 0x00);   /* no interrupts yet */
	outb(COM1 + REG_LCR, 0x80);   /* DLAB on: set the divisor */
	outb(COM1 + REG_DATA, 1);     /* 115200 / 1 */
	outb(COM1 + REG_IER, 0);
	outb(COM1 + REG_LCR, 0x03);   /* 8 bits, no parity, 1 stop; DLAB off */
	outb(COM1 + REG_FCR, 0xc7);   /* FIFOs on, cleared, RX trigger at 14 bytes */
	outb(COM1 + REG_MCR, 0x0b);   /* DTR, RTS, OUT2 (OUT2 gates the IRQ line) */
	/* A UART that is absent reads 0xff from every register. */
	serial_present = inb(COM1 + REG_LSR) != 0xff;
}

static void serial_putc(char c)
{
	if (!serial_present)
		return;
	for (int spins = 0; spins < 100000; spins++) /* bounded: never hang printk */
		if (inb(COM1 + REG_LSR) & LSR_THR_EMPTY)
			break;
	outb(COM1 + REG_DATA, (uint8_t)c);
}

void console_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}

/*
 * The status channel (<weft/console.h>). Only run_init() writes here, once
 * (a second call panics: two records would make the host's reading
 * ambiguous); no system call reaches COM2 and ioperm() refuses its ports,
 * so what a host reads from it is the kernel's word. Probed on first use:
 * an absent UART reads 0xff and keeps no scratch value.
 */
bool serial_status_write(const char *s, size_t n)
{
	static bool written;
	BUG_ON(__atomic_exchange_n(&written, true, __ATOMIC_RELAXED));
	outb(COM2 + REG_SCR, 0x5a);
	if (inb(COM2 + REG_SCR) != 0x5a || inb(COM2 + REG_LSR) == 0xff)
		return false;
	outb(COM2 + REG_IER, 0x00);   /* polled: no interrupts */
	outb(COM2 + REG_LCR, 0x80);   /* DLAB on: set the divisor */
	outb(COM2 + REG_DATA, 1);     /* 115200 / 1 */
	outb(COM2 + REG_IER, 0);
	outb(COM2 + REG_LCR, 0x03);   /* 8N1; DLAB off */
	outb(COM2 + REG_FCR, 0x07);   /* FIFOs on and cleared */
	for (size_t i = 0; i < n; i++) {
		for (int spins = 0; spins < 100000; spins++)   /* bounded, as serial_putc */
			if (inb(COM2 + REG_LSR) & LSR_THR_EMPTY)
				break;
		outb(COM2 + REG_DATA, (uint8_t)s[i]);
	}
	return true;
}

static void serial_irq(struct trap_frame *f, void *arg)
{
	(void)f;
	(void)arg;
	while (inb(COM1 + REG_LSR) & LSR_DATA_READY) {
		unsigned char c = inb(COM1 + REG_DATA);
		unsigned next = (rx_head + 1) % RX_SIZE;
		if (next != rx_tail) { /* full: drop the byte, keep what we have */
			rx_buf[rx_head] = c;
			rx_head = next;
		}
	}
	if (f)
		wake_up_all(&rx_wait);
}

void serial_init_irq(void)
{
	if (!serial_present)
		return;
	irq_register(VEC_IRQ_BASE + SERIAL_IRQ, serial_irq, NULL);
	ioapic_route_isa(SERIAL_IRQ, VEC_IRQ_BASE + SERIAL_IRQ);
	outb(COM1 + REG_IER, 0x01);   /* interrupt on received data */
	serial_irq(NULL, NULL);       /* take anything typed before now */
}

int console_trygetc(void)
{
	unsigned long flags = local_irq_save();
	int c = -1;
	if (rx_tail != rx_head) {
		c = rx_buf[rx_tail];
		rx_tail = (rx_tail + 1) % RX_SIZE;
	}
	local_irq_restore(flags);
	return c;
}

static bool rx_ready(void *arg)
{
	(void)arg;
	return rx_tail != rx_head;
}

int console_getc_interruptible(void)
{
	for (;;) {
		int c = console_trygetc();
		if (c >= 0)
			return c;
		if (wait_event(&rx_wait, rx_ready, NULL, THREAD_INTERRUPTIBLE, 0) == -EINTR)
			return -EINTR;
	}
}

int console_getc(void)
{
	for (;;) {
		int c = console_trygetc();
		if (c >= 0)
			return c;
		/* Sleep until the receive interrupt has put a byte in the ring. */
		wait_event(&rx_wait, rx_ready, NULL, THREAD_INTERRUPTIBLE, 0);
	}
}
