/* printk.h - the kernel log.
 *
 * Every message goes into an in-memory ring (the log buffer, which tests
 * can search and the `dmesg` command prints) and, if its level is at or
 * below the console level (boot option loglevel=, default 6), to the
 * serial console. pr_*() lines get a "[seconds.micros] " timestamp;
 * kprintf() prints raw text (KTAP output, the console shell).
 *
 * Safe from any context, interrupt handlers and NMIs included: a CPU that
 * re-enters printk while it already holds the console (an NMI or exception
 * in the middle of a message) prints anyway rather than deadlock.
 */
#ifndef WEFT_PRINTK_H
#define WEFT_PRINTK_H
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>

#define LOG_EMERG   0
#define LOG_ALERT   1
#define LOG_CRIT    2
#define LOG_ERR     3
#define LOG_WARNING 4
#define LOG_NOTICE  5
#define LOG_INFO    6
#define LOG_DEBUG   7
#define LOGLEVEL_DEFAULT LOG_INFO

extern int console_loglevel;

__attribute__((format(printf, 2, 3))) void printk(int level, const char *fmt, ...);
void vprintk(int level, const char *fmt, va_list ap);
__attribute__((format(printf, 1, 2))) void kprintf(const char *fmt, ...);
void kputs(const char *s); /* raw, no newline added */

#define pr_emerg(...)  printk(LOG_EMERG, __VA_ARGS__)
#define pr_err(...)    printk(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)   printk(LOG_WARNING, __VA_ARGS__)
#define pr_notice(...) printk(LOG_NOTICE, __VA_ARGS__)
#define pr_info(...)   printk(LOG_INFO, __VA_ARGS__)
#define pr_debug(...)  printk(LOG_DEBUG, __VA_ARGS__)

/* The log buffer: the most recent LOG_BUF_SIZE bytes of output. */
#define LOG_BUF_SIZE (64 * 1024)
/* Sequence number of the next byte to be logged (monotonic). */
size_t log_position(void);
/* true if `needle` occurs in the log after position `since`. */
bool log_contains_since(size_t since, const char *needle);
/* Print the log buffer to the console (the `dmesg` command). */
void log_dump(void);

/* After panic starts, printing ignores the console lock. */
void printk_bust_locks(void);
#endif
