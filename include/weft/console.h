/* console.h - the system console: the first serial port (COM1). */
#ifndef WEFT_CONSOLE_H
#define WEFT_CONSOLE_H
#include <stddef.h>
#include <stdbool.h>

/* Polled output, "\n" becomes "\r\n". Callable from any context; the
 * caller (printk) serialises whole messages. */
void console_write(const char *s, size_t n);

/* Input is interrupt-driven: the UART's receive interrupt fills a ring
 * buffer. console_getc() waits (halting the CPU) until a byte is there;
 * console_trygetc() returns -1 at once if none is. */
int console_getc(void);
/* The same, but -EINTR when the sleep is interrupted (a signal, a kill). */
int console_getc_interruptible(void);
int console_trygetc(void);

/* The status channel: the second serial port (COM2), which no user
 * program can write (no system call reaches it; ioperm() refuses its ports,
 * COM1's and isa-debug-exit's). When init ends, run_init() writes one line
 * there, "weft-status: exited N" or "weft-status: killed N", then " ran NS"
 * (init's lifetime in ns of the monotonic clock); tools/weft-run takes the
 * program's status from it, never from the console. False if there is no
 * COM2. */
bool serial_status_write(const char *s, size_t n);

void serial_init_early(void);   /* polled output only, before interrupts */
void serial_init_irq(void);     /* route the receive interrupt (needs I/O APIC) */

/* The interactive shell (kernel/shell.c); never returns. */
__attribute__((noreturn)) void shell_run(void);
#endif
