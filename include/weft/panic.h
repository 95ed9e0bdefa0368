/* panic.h - stopping the system when something is irrecoverably wrong. */
#ifndef WEFT_PANIC_H
#define WEFT_PANIC_H
#include <stdbool.h>
struct trap_frame;

/* Print the message, this CPU's registers and a symbolized backtrace,
 * stop every other CPU with an NMI, and halt. With the boot option
 * panic=exit (set by the test harness) QEMU exits with status 37. */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);
/* The same, for a trap: the report shows the trapped frame. */
__attribute__((noreturn)) void panic_trap(const struct trap_frame *f, const char *why);

/* NMI on a CPU while another CPU panics: publish this CPU's frame for the
 * panicking CPU to report, then halt with NMIs blocked. */
__attribute__((noreturn)) void panic_stop_cpu(const struct trap_frame *f);

/* true once any CPU has started to panic (NMI handlers then halt). */
bool panic_in_progress(void);
/* The panicking CPU's id, or -1. */
int panic_cpu(void);

#define BUG_ON(cond)                                                            \
	do {                                                                    \
		if (__builtin_expect(!!(cond), 0))                              \
			panic("BUG_ON(%s) at %s:%d", #cond, __FILE__, __LINE__); \
	} while (0)
#endif
