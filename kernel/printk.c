/* printk.c - the kernel log buffer and console output. See <weft/printk.h>. */
#include <weft/printk.h>
#include <weft/format.h>
#include <weft/string.h>
#include <weft/time.h>
#include <weft/console.h>
#include <arch/percpu.h>
#include <arch/irqflags.h>
#include <arch/cpu.h>

int console_loglevel = LOGLEVEL_DEFAULT;

/* The console lock serialises whole messages between CPUs. It is not a
 * spinlock_t: printk must work before per-CPU data is fully set up, in
 * NMIs, and during panic. owner == this CPU means we interrupted our own
 * message (exception or NMI inside printk): print without waiting. */
static volatile int console_owner = -1;
static volatile bool locks_busted;

/* The log ring; guarded by the console lock. log_head counts bytes ever
 * written, so log_head % LOG_BUF_SIZE is where the next byte goes. */
static char log_buf[LOG_BUF_SIZE];
static size_t log_head;

static bool console_lock(unsigned long *flags)
{
	*flags = local_irq_save();
	int me = (int)cpu_id();
	if (console_owner == me || locks_busted)
		return false; /* re-entered (NMI/exception) or panicking */
	while (!__sync_bool_compare_and_swap(&console_owner, -1, me)) {
		if (locks_busted)
			return false;
		cpu_relax();
	}
	return true;
}

static void console_unlock(bool taken, unsigned long flags)
{
	if (taken)
		__atomic_store_n(&console_owner, -1, __ATOMIC_RELEASE);
	local_irq_restore(flags);
}

void printk_bust_locks(void) { locks_busted = true; }

static void emit(const char *s, size_t n, bool to_console)
{
	for (size_t i = 0; i < n; i++) {
		log_buf[log_head % LOG_BUF_SIZE] = s[i];
		log_head++;
	}
	if (to_console)
		console_write(s, n);
}

void vprintk(int level, const char *fmt, va_list ap)
{
	char msg[512];
	char stamp[32];
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof msg)
		n = sizeof msg - 1;
	uint64_t ns = clock_monotonic_ns();
	int sn = snprintf(stamp, sizeof stamp, "[%5lu.%06lu] ", (unsigned long)(ns / 1000000000),
			  (unsigned long)(ns / 1000 % 1000000));
	bool show = level <= console_loglevel;
	unsigned long flags;
	bool taken = console_lock(&flags);
	emit(stamp, (size_t)sn, show);
	emit(msg, (size_t)n, show);
	console_unlock(taken, flags);
}

void printk(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintk(level, fmt, ap);
	va_end(ap);
}

void kputs(const char *s)
{
	unsigned long flags;
	bool taken = console_lock(&flags);
	emit(s, strlen(s), true);
	console_unlock(taken, flags);
}

void kprintf(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof msg)
		n = sizeof msg - 1;
	unsigned long flags;
	bool taken = console_lock(&flags);
	emit(msg, (size_t)n, true);
	console_unlock(taken, flags);
}

size_t log_position(void) { return __atomic_load_n(&log_head, __ATOMIC_ACQUIRE); }

bool log_contains_since(size_t since, const char *needle)
{
	size_t nlen = strlen(needle);
	unsigned long flags;
	bool taken = console_lock(&flags);
	size_t head = log_head;
	size_t start = since;
	if (head - start > LOG_BUF_SIZE)
		start = head - LOG_BUF_SIZE; /* older bytes were overwritten */
	bool found = false;
	for (size_t i = start; !found && i + nlen <= head; i++) {
		size_t j = 0;
		while (j < nlen && log_buf[(i + j) % LOG_BUF_SIZE] == needle[j])
			j++;
		found = (j == nlen);
	}
	console_unlock(taken, flags);
	return found;
}

void log_dump(void)
{
	unsigned long flags;
	bool taken = console_lock(&flags);
	size_t head = log_head;
	size_t start = head > LOG_BUF_SIZE ? head - LOG_BUF_SIZE : 0;
	for (size_t i = start; i < head; i++)
		console_write(&log_buf[i % LOG_BUF_SIZE], 1);
	console_unlock(taken, flags);
}
