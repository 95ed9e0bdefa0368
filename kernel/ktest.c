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
#include <weft/timer.h>
#include <weft/thread.h>
#include <weft/process.h>
#include <weft/sched.h>
#include <weft/bootopt.h>
#include <weft/panic.h>
#include <weft/futex.h>
#include <arch/irqflags.h>
#include <arch/percpu.h>
#ifdef WEFT_DEBUG
#include <weft/debug.h>
#endif

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

/* Is `suite` chosen by the comma-separated selection? Names and "all"
 * include; "-name" excludes, whatever else is listed ("all,-time"). */
static bool selected(const char *selection, const char *suite)
{
	size_t n = strlen(suite);
	bool in = false;
	for (const char *p = selection; *p;) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == n + 1 && p[0] == '-' && !strncmp(p + 1, suite, n))
			return false;
		if ((len == n && !strncmp(p, suite, n)) || (len == 3 && !strncmp(p, "all", 3)))
			in = true;
		if (!e)
			break;
		p = e + 1;
	}
	return in;
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

/* --- the hung-test watchdog ------------------------------------------------
 *
 * A test that has not returned after boot_options.watchdog_s seconds is
 * reported instead of being waited for until the host gives up: every
 * thread (state, flags, kernel stack, user RIP), every CPU's timers and
 * run-queue counters, then a panic (panic=exit leaves QEMU with 37). It is
 * a one-shot kernel timer, so it fires as long as the CPU that armed it
 * takes interrupts: lost wakeups, deadlocks between sleepers and livelocks
 * with interrupts on. (A CPU spinning with interrupts off never sees it.)
 */
static struct timer watchdog;
static const struct ktest *watched;
static uint64_t watched_since;

static void watchdog_fire(struct timer *tm)
{
	(void)tm;
	const struct ktest *k = watched;
	uint64_t secs = (clock_monotonic_ns() - watched_since) / NSEC_PER_SEC;
	kprintf("    # HUNG: %s.%s still running after %lu s (watchdog=%u)\n", k->suite, k->name,
		(unsigned long)secs, boot_options.watchdog_s);
	for (unsigned cpu = 0; cpu < cpu_count; cpu++) {
		if (!cpu_list[cpu])
			continue;
		struct sched_stats st;
		sched_get_stats(cpu, &st);
		kprintf("--- CPU %u: current tid %d, %u queued, %lu switches, %lu preemptions ---\n",
			cpu, cpu_list[cpu]->current ? cpu_list[cpu]->current->tid : -1, st.nr_running,
			(unsigned long)st.switches, (unsigned long)st.preemptions);
	}
	timer_dump();
	futex_dump();
	thread_dump_all();
	panic("hung test %s.%s: no result after %lu s", k->suite, k->name, (unsigned long)secs);
}

static void watchdog_arm(const struct ktest *k)
{
	if (!boot_options.watchdog_s)
		return;
	watched = k;
	watched_since = clock_monotonic_ns();
	timer_init_struct(&watchdog, watchdog_fire, NULL);
	timer_add(&watchdog, watched_since + (uint64_t)boot_options.watchdog_s * NSEC_PER_SEC);
}

static void watchdog_disarm(void)
{
	if (boot_options.watchdog_s)
		timer_cancel(&watchdog);
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
			watchdog_arm(k);
			k->fn(&t);
			watchdog_disarm();
#ifdef WEFT_DEBUG
			/* A write after free that the test left behind is
			 * reported now, while its name is on the console. */
			kmalloc_debug_check();
#endif
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
