/*
 * ktest.c - the in-kernel test runner. See <weft/ktest.h>.
 *
 * Output is KTAP version 1: a top-level plan of suites, each suite a
 * subtest indented by four spaces with its own plan and results, then a
 * closing summary line that tools/weft-test also checks.
 */
#include <weft/ktest.h>
#include <weft/printk.h>
#include <weft/string.h>
#include <weft/format.h>
#include <weft/pmm.h>
#include <weft/time.h>
#include <weft/sched.h>
#include <weft/thread.h>
#include <arch/irqflags.h>

extern const struct ktest __ktest_start[], __ktest_end[];

#define MAX_SUITES 64

static unsigned run_suites(const char *selection);

bool ktest_check(struct ktest_ctx *t, bool ok, const char *cond, int line, const char *fmt, ...)
{
	t->checks++;
	if (ok)
		return true;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	kprintf("    # FAIL line %d: %s: %s\n", line, cond, msg);
	t->failed = true;
	return false;
}

void ktest_diag(struct ktest_ctx *t, const char *fmt, ...)
{
	(void)t;
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	kprintf("    # %s\n", msg);
}

void ktest_skip(struct ktest_ctx *t, const char *reason)
{
	t->skipped = true;
	t->skip_reason = reason;
}

/* Is `suite` named in the comma-separated selection? */
static bool selected(const char *selection, const char *suite)
{
	if (!strcmp(selection, "all"))
		return true;
	size_t n = strlen(suite);
	for (const char *p = selection; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n && !strncmp(p, suite, n))
			return true;
		if (!e)
			break;
		p = e + 1;
	}
	return false;
}

/* Distinct suite names in link order. */
static unsigned collect_suites(const char *selection, const char **suites)
{
	unsigned n = 0;
	for (const struct ktest *k = __ktest_start; k < __ktest_end; k++) {
		bool seen = false;
		for (unsigned i = 0; i < n && !seen; i++)
			seen = !strcmp(suites[i], k->suite);
		if (!seen && n < MAX_SUITES && selected(selection, k->suite))
			suites[n++] = k->suite;
	}
	return n;
}

unsigned ktest_run(const char *selection)
{
	/* Tests run in the calling thread, pinned to its CPU for the run:
	 * the threads a test creates inherit that mask (thread_create), so
	 * the suites written for one CPU (shares, weights, preemption counts
	 * of CPU 0) see one CPU whatever -smp says. Suites about several CPUs
	 * (smp, balance) bind or unbind their threads themselves. */
	struct thread *self = current();
	uint64_t saved_mask = self->affinity;
	sched_set_affinity_mask(self, (uint64_t)1 << cpu_id());
	unsigned r = run_suites(selection);
	sched_set_affinity_mask(self, saved_mask);
	return r;
}

static unsigned run_suites(const char *selection)
{
	const char *suites[MAX_SUITES];
	unsigned nsuites = collect_suites(selection, suites);
	unsigned passed = 0, failed = 0, skipped = 0;
	kprintf("KTAP version 1\n1..%u\n", nsuites);
	if (nsuites == 0)
		kprintf("# no test suite matches '%s'\n", selection);
	for (unsigned s = 0; s < nsuites; s++) {
		unsigned ntests = 0, idx = 0, suite_failed = 0;
		for (const struct ktest *k = __ktest_start; k < __ktest_end; k++)
			ntests += !strcmp(k->suite, suites[s]);
		kprintf("    KTAP version 1\n    # Subtest: %s\n    1..%u\n", suites[s], ntests);
		for (const struct ktest *k = __ktest_start; k < __ktest_end; k++) {
			if (strcmp(k->suite, suites[s]))
				continue;
			struct ktest_ctx t = { 0 };
			uint64_t t0 = clock_monotonic_ns();
			k->fn(&t);
			uint64_t us = (clock_monotonic_ns() - t0) / 1000;
			if (!irqs_enabled()) {
				kprintf("    # FAIL: test returned with interrupts disabled\n");
				t.failed = true;
				local_irq_enable();
			}
			if (t.failed && t.checks == 0)
				t.checks = 1;
			idx++;
			if (t.skipped && !t.failed) {
				kprintf("    ok %u %s # SKIP %s\n", idx, k->name, t.skip_reason);
				skipped++;
			} else if (t.failed) {
				kprintf("    not ok %u %s\n", idx, k->name);
				failed++;
				suite_failed++;
			} else {
				kprintf("    # %s: %u checks passed in %lu us\n", k->name, t.checks,
					(unsigned long)us);
				kprintf("    ok %u %s\n", idx, k->name);
				passed++;
			}
		}
		kprintf("%sok %u %s\n", suite_failed ? "not " : "", s + 1, suites[s]);
	}
	kprintf("# weft-test: done passed=%u failed=%u skipped=%u\n", passed, failed, skipped);
	return failed + (nsuites == 0);
}

void ktest_list(void)
{
	for (const struct ktest *k = __ktest_start; k < __ktest_end; k++)
		kprintf("  %s.%s\n", k->suite, k->name);
}
