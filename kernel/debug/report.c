/* report.c - how the debug kernel's detectors report; see <weft/debug.h>.
 *
 * report_lock serialises whole reports (irq-saving: detectors run in any
 * context but NMI). A detector that fires again while this CPU is already
 * inside a report (a UBSan check in printk, say) must not wait for itself:
 * it prints without the lock. `catching` is read and written under
 * report_lock.
 */
#include <weft/debug.h>
#include <weft/printk.h>
#include <weft/format.h>
#include <weft/string.h>
#include <weft/panic.h>
#include <weft/ksyms.h>
#include <weft/backtrace.h>
#include <weft/spinlock.h>
#include <weft/thread.h>
#include <arch/percpu.h>

static spinlock_t report_lock = SPINLOCK_INIT("debug_report");
static struct debug_catch *catching;	/* guarded by report_lock */

void debug_catch_begin(struct debug_catch *c)
{
	memset(c, 0, sizeof *c);
	c->owner = current();
	unsigned long f = spin_lock_irqsave(&report_lock);
	if (catching)
		panic("debug_catch_begin: a catch is already armed by %s", catching->owner->name);
	catching = c;
	spin_unlock_irqrestore(&report_lock, f);
}

void debug_catch_end(void)
{
	unsigned long f = spin_lock_irqsave(&report_lock);
	catching = NULL;
	spin_unlock_irqrestore(&report_lock, f);
}

/* Flag bit in the value debug_report_begin() returns: this CPU was already
 * reporting, so the lock was not taken (and must not be released). */
#define NESTED_REPORT (1ul << 63)

unsigned long debug_report_begin(const char *kind, const char *fmt, ...)
{
	unsigned long f;
	char msg[200];
	va_list ap;

	if (spin_is_held(&report_lock)) {
		f = read_rflags() | NESTED_REPORT;
		local_irq_disable();
	} else {
		f = spin_lock_irqsave(&report_lock);
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pr_emerg("weft debug: %s: %s (CPU %u, thread %d %s)\n", kind, msg, cpu_id(),
		 current() ? current()->tid : -1, current() ? current()->name : "-");
	return f;
}

void debug_report_end(unsigned long flags, const char *kind, const char *summary)
{
	uint64_t *fp = __builtin_frame_address(0);

	pr_emerg("backtrace:\n");
	/* From the detector that called us up. */
	backtrace_print((uint64_t)__builtin_return_address(0), fp[0]);
	if (flags & NESTED_REPORT) {
		panic("%s: %s (found while reporting)", kind, summary);
	}
	struct debug_catch *c = catching;
	/* Only the arming thread's own reports: not those of an interrupt
	 * handler that happens to run on top of it. */
	if (!c || c->owner != current() || percpu_read(irq_depth))
		panic("%s: %s", kind, summary);
	if (c->count++ == 0) {
		strlcpy(c->kind, kind, sizeof c->kind);
		strlcpy(c->summary, summary, sizeof c->summary);
	}
	pr_emerg("weft debug: report caught by the test in thread %d (%u so far)\n",
		 current()->tid, c->count);
	spin_unlock_irqrestore(&report_lock, flags);
}

void debug_format_sites(char *buf, unsigned size, const uint64_t *pcs, unsigned n)
{
	size_t len = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < n && pcs[i] && len + 1 < size; i++) {
		char sym[96];
		/* Return addresses: look up pc-1 so a call that ends a function
		 * is attributed to it. */
		ksym_format(pcs[i] - 1, sym, sizeof sym);
		int w = snprintf(buf + len, size - len, "%s%s", i ? " <- " : "", sym);
		if (w < 0 || (size_t)w >= size - len)
			break;	/* truncated: the buffer is full */
		len += (size_t)w;
	}
	if (!buf[0])
		snprintf(buf, size, "(not recorded)");
}
