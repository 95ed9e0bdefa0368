/*
 * lockup.c - hangs report themselves: the soft-lockup and hung-thread
 * detectors.
 *
 * Soft lockup: a CPU that stays in the kernel with interrupts or preemption
 * off for more than lockup_timeout=S seconds (default 20). Every CPU runs a
 * watchdog timer (watch_period(), whatever the CPU does: an idle CPU is
 * woken for it too). When any LAPIC timer interrupt - the watchdog's, the
 * busy tick every 10 ms, any timer - comes to a CPU whose interrupted code
 * could have been preempted (user mode, the idle loop, kernel code with a
 * zero preempt count), that CPU's beat is now (lockup_tick()). A CPU with
 * interrupts off takes no timer interrupt, and one with preemption off
 * takes it with a raised count: its beat stops. (Sampled at every busy
 * tick, not only the watchdog's: a CPU that is preemptible only now and
 * then, between long preemption-off waits, is not stuck, and a hundred
 * samples a second find those moments.) Each CPU's watchdog also looks at the
 * others' beats, and the first to see one older than S reports it, with
 * the backtrace of the stuck CPU taken by NMI (which interrupts off do not
 * hold back) - then panics if hang_panic is set (the default while tests
 * run).
 *
 * Hung threads: a thread that is runnable but has not run, or has slept
 * uninterruptibly, for more than hung_timeout=S seconds (default 120). Its
 * exec_start_ns says since when: the scheduler sets it when the thread
 * starts running, on every tick while it runs (a running thread has a tick
 * at least every BUSY_TICK_NS) and when it is woken or created. Waits for
 * another thread or process to end (thread_join, process_wait) are not
 * counted: they last as long as that one runs, and it is watched itself.
 * One CPU at a time scans the thread list (trylock: a busy list waits for
 * the next period) and reports each thread once per episode, with its
 * kernel backtrace and, for a runnable one, what its CPU is doing.
 *
 * State: beats and report marks are atomics, written by their CPU or by
 * compare-and-swap; the NMI backtrace hand-off is one request at a time.
 */
#include <weft/lockup.h>
#include <weft/bootopt.h>
#include <weft/timer.h>
#include <weft/time.h>
#include <weft/thread.h>
#include <weft/printk.h>
#include <weft/panic.h>
#include <weft/backtrace.h>
#include <weft/smp.h>
#include <weft/preempt.h>
#include <arch/percpu.h>
#include <arch/apic.h>
#include <arch/cpu.h>
#include <arch/trap.h>
#include <arch/irqflags.h>

static uint64_t beat[MAX_CPUS];        /* last time each CPU was seen preemptible */
static uint64_t reported[MAX_CPUS];    /* beat value already reported (one report per episode) */
static struct timer watch[MAX_CPUS];
static uint64_t period_ns;
static uint64_t next_scan;             /* when the next hung-thread scan is due */

/* How often each CPU's watchdog runs: a quarter of the shorter timeout,
 * within [50 ms, 5 s]. */
static uint64_t watch_period(void)
{
	unsigned s = boot_options.lockup_timeout_s;
	if (!s || (boot_options.hung_timeout_s && boot_options.hung_timeout_s < s))
		s = boot_options.hung_timeout_s;
	uint64_t p = (uint64_t)s * NSEC_PER_SEC / 4;
	if (p < 50 * NSEC_PER_MSEC)
		p = 50 * NSEC_PER_MSEC;
	if (p > 5 * NSEC_PER_SEC)
		p = 5 * NSEC_PER_SEC;
	return p;
}

bool lockup_panics(void)
{
	if (boot_options.hang_panic >= 0)
		return boot_options.hang_panic;
	return boot_options.test[0] != 0;
}

/* --- NMI backtraces of another CPU ---------------------------------------- */

static int bt_cpu = -1;                         /* whose backtrace is asked; -1 = none */
static const struct trap_frame *bt_frame;       /* its NMI frame, published by it */
static bool bt_done;                            /* the asker has printed: go on */

#define BT_WAIT_NS (2 * NSEC_PER_SEC)

/* NMI handler (trap.c) on the CPU asked: publish the frame, wait until the
 * asker has printed (the frame and the stack under it must not change),
 * go on. False if no backtrace was asked of this CPU. */
bool lockup_nmi(const struct trap_frame *f)
{
	if (__atomic_load_n(&bt_cpu, __ATOMIC_ACQUIRE) != (int)cpu_id())
		return false;
	__atomic_store_n(&bt_frame, f, __ATOMIC_RELEASE);
	uint64_t end = clock_monotonic_ns() + 2 * BT_WAIT_NS;
	while (!__atomic_load_n(&bt_done, __ATOMIC_ACQUIRE) && clock_monotonic_ns() < end)
		cpu_relax();
	__atomic_store_n(&bt_cpu, -1, __ATOMIC_RELEASE);   /* the asker may go on */
	return true;
}

void lockup_backtrace_cpu(unsigned cpu)
{
	if (cpu == cpu_id() || cpu >= __atomic_load_n(&cpu_count, __ATOMIC_ACQUIRE)) {
		pr_emerg("lockup_backtrace_cpu(%u) on CPU %u: not another online CPU\n", cpu, cpu_id());
		return;
	}
	struct percpu *c = cpu_list[cpu];
	int none = -1;
	uint64_t end = clock_monotonic_ns() + BT_WAIT_NS;
	while (!__atomic_compare_exchange_n(&bt_cpu, &none, (int)cpu, false, __ATOMIC_ACQ_REL,
					    __ATOMIC_RELAXED)) {
		none = -1;
		if (clock_monotonic_ns() > end) {
			pr_emerg("lockup: another NMI backtrace is under way; none of CPU %u\n", cpu);
			return;
		}
		cpu_relax();
	}
	__atomic_store_n(&bt_frame, (const struct trap_frame *)0, __ATOMIC_RELAXED);
	__atomic_store_n(&bt_done, false, __ATOMIC_RELEASE);
	lapic_send_nmi(c->apic_id);
	const struct trap_frame *f = NULL;
	end = clock_monotonic_ns() + BT_WAIT_NS;
	while (!(f = __atomic_load_n(&bt_frame, __ATOMIC_ACQUIRE)) && clock_monotonic_ns() < end)
		cpu_relax();
	if (!f) {
		pr_emerg("--- CPU %u did not answer the NMI in %lu s: it does not run at all "
			 "(a virtual CPU the emulator does not run?) ---\n", cpu,
			 (unsigned long)(BT_WAIT_NS / NSEC_PER_SEC));
		__atomic_store_n(&bt_cpu, -1, __ATOMIC_RELEASE);
		return;
	}
	struct thread *cur = c->current;
	pr_emerg("--- CPU %u by NMI: %s mode, interrupts %s, preempt count %u, irq depth %u, "
		 "thread '%s' (tid %d) ---\n", cpu, trap_from_user(f) ? "user" : "kernel",
		 (f->rflags & RFLAGS_IF) ? "on" : "off", c->preempt_count, c->irq_depth,
		 cur ? cur->name : "?", cur ? cur->tid : -1);
	pr_emerg("RIP %04lx:%016lx RSP %016lx RFLAGS %016lx\n", (unsigned long)f->cs,
		 (unsigned long)f->rip, (unsigned long)f->rsp, (unsigned long)f->rflags);
	if (!trap_from_user(f)) {
		pr_emerg("backtrace:\n");
		backtrace_print(f->rip, f->rbp);
	}
	__atomic_store_n(&bt_done, true, __ATOMIC_RELEASE);
	end = clock_monotonic_ns() + BT_WAIT_NS;
	while (__atomic_load_n(&bt_cpu, __ATOMIC_ACQUIRE) == (int)cpu && clock_monotonic_ns() < end)
		cpu_relax();
}

/* --- soft lockups ---------------------------------------------------------- */

static void check_cpus(unsigned me, uint64_t now)
{
	uint64_t limit = (uint64_t)boot_options.lockup_timeout_s * NSEC_PER_SEC;
	unsigned n = __atomic_load_n(&cpu_count, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++) {
		uint64_t b = __atomic_load_n(&beat[i], __ATOMIC_ACQUIRE);
		if (i == me || !b || now < b || now - b <= limit)
			continue;
		uint64_t was = __atomic_load_n(&reported[i], __ATOMIC_RELAXED);
		if (was == b || !__atomic_compare_exchange_n(&reported[i], &was, b, false,
							     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			continue;   /* this episode is reported (or being reported) already */
		pr_emerg("LOCKUP: CPU %u stuck in the kernel with interrupts or preemption off "
			 "for %lu s (lockup_timeout=%u); seen from CPU %u\n", i,
			 (unsigned long)((now - b) / NSEC_PER_SEC), boot_options.lockup_timeout_s, me);
		lockup_backtrace_cpu(i);
		if (lockup_panics())
			panic("soft lockup: CPU %u not preemptible for %lu s", i,
			      (unsigned long)((now - b) / NSEC_PER_SEC));
	}
}

/* --- hung threads ---------------------------------------------------------- */

struct scan {
	uint64_t now, limit;
	struct thread *found[8];
	uint64_t since[8];
	unsigned nfound;
};

/* Thread list lock held, interrupts off: note the threads to report. */
static void scan_one(struct thread *t, void *arg)
{
	struct scan *s = arg;
	int st = t->state;
	if (t->idle || (st != THREAD_RUNNABLE && st != THREAD_UNINTERRUPTIBLE) || t->on_cpu)
		return;
	if (st == THREAD_UNINTERRUPTIBLE && t->wait_exempt)
		return;
	uint64_t since = __atomic_load_n(&t->exec_start_ns, __ATOMIC_RELAXED);
	if (s->now < since || s->now - since <= s->limit || t->hung_reported == since)
		return;
	if (s->nfound < sizeof s->found / sizeof s->found[0]) {
		t->hung_reported = since;
		s->since[s->nfound] = since;
		s->found[s->nfound++] = t;
	}
}

static void scan_threads(uint64_t now)
{
	struct scan s = { .now = now,
			  .limit = (uint64_t)boot_options.hung_timeout_s * NSEC_PER_SEC };
	if (!thread_for_each_try(scan_one, &s, true))
		return;
	/* Reported with the list still locked (thread_for_each_try's `keep`):
	 * the threads found cannot be freed meanwhile. */
	for (unsigned i = 0; i < s.nfound; i++) {
		struct thread *t = s.found[i];
		bool runnable = t->state == THREAD_RUNNABLE;
		if (runnable)
			pr_emerg("HUNG: thread '%s' (tid %d) runnable on CPU %d but not run for %lu s "
				 "(hung_timeout=%u)\n", t->name, t->tid, t->cpu,
				 (unsigned long)((now - s.since[i]) / NSEC_PER_SEC),
				 boot_options.hung_timeout_s);
		else
			pr_emerg("HUNG: thread '%s' (tid %d) in uninterruptible sleep for %lu s "
				 "(hung_timeout=%u)%s%s\n", t->name, t->tid,
				 (unsigned long)((now - s.since[i]) / NSEC_PER_SEC), boot_options.hung_timeout_s,
				 t->wait_name ? ", waiting on " : "", t->wait_name ? t->wait_name : "");
		thread_print_stack(t);
		if (runnable) {
			unsigned cpu = (unsigned)t->cpu;
			struct thread *cur = cpu_list[cpu]->current;
			pr_emerg("its CPU %u runs '%s' (tid %d):\n", cpu, cur->name, cur->tid);
			if (cpu == cpu_id())
				backtrace_print((uint64_t)scan_threads, (uint64_t)__builtin_frame_address(0));
			else
				lockup_backtrace_cpu(cpu);
		}
	}
	thread_for_each_done();
	if (s.nfound && lockup_panics())
		panic("hung thread: '%s' (tid %d) for %lu s", s.found[0]->name, s.found[0]->tid,
		      (unsigned long)((now - s.since[0]) / NSEC_PER_SEC));
}

/* --- the watchdog timer ------------------------------------------------------ */

void lockup_tick(uint64_t now)
{
	/* The interrupt's own count (trap_dispatch) and nothing else: the
	 * interrupted code could have been preempted. */
	if (preempt_count() == 1 && percpu_read(irq_depth) == 1)
		__atomic_store_n(&beat[cpu_id()], now, __ATOMIC_RELEASE);
}

/* Interrupt context, this CPU's watchdog timer. */
static void watch_fn(struct timer *tm)
{
	struct percpu *c = this_cpu();
	unsigned me = c->cpu_id;
	uint64_t now = clock_monotonic_ns();   /* (timer_expire() took this CPU's beat) */
	if (boot_options.lockup_timeout_s)
		check_cpus(me, now);
	uint64_t due = __atomic_load_n(&next_scan, __ATOMIC_RELAXED);
	if (boot_options.hung_timeout_s && now >= due &&
	    __atomic_compare_exchange_n(&next_scan, &due, now + period_ns, false, __ATOMIC_ACQ_REL,
					__ATOMIC_RELAXED))
		scan_threads(now);
	timer_add(tm, now + period_ns);
}

static void watch_start(void *arg)
{
	(void)arg;
	unsigned me = cpu_id();
	__atomic_store_n(&beat[me], clock_monotonic_ns(), __ATOMIC_RELEASE);
	timer_init_struct(&watch[me], watch_fn, NULL);
	timer_add(&watch[me], clock_monotonic_ns() + period_ns);
}

void lockup_init(void)
{
	if (!boot_options.lockup_timeout_s && !boot_options.hung_timeout_s)
		return;
	period_ns = watch_period();
	next_scan = clock_monotonic_ns() + period_ns;
	smp_call_mask(~(cpumask_t)0, watch_start, NULL, true);   /* every CPU, this one too */
	pr_info("lockup: watchdogs every %lu ms: lockup_timeout=%u s, hung_timeout=%u s%s\n",
		(unsigned long)(period_ns / NSEC_PER_MSEC), boot_options.lockup_timeout_s,
		boot_options.hung_timeout_s, lockup_panics() ? ", then panic" : "");
}
