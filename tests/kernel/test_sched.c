/*
 * test_sched.c - the context switch, the scheduler and kernel threads.
 *
 * Suite `sched`: registers survive switches (yielded and preempted), strict
 * hand-off order, preemption of a thread that never yields, fair and
 * weighted CPU shares, sleep accuracy, and "scheduling while atomic" caught.
 * Suite `thread`: create/join/detach, 10,000 threads alive at once,
 * 100,000 create/exit/join cycles without leaks, thread_kill().
 *
 * Every test runs in thread 0 ("main"). Nothing here may hang the run when
 * the kernel misbehaves: busy loops carry a bail-out deadline, and waits
 * for worker threads are bounded (wait_for_completion_timeout, or polling
 * with thread_sleep) before anything is joined. Where a bound runs out the
 * test fails, stops its workers through an abort flag, and only then joins.
 */
#include <weft/ktest.h>
#include <weft/thread.h>
#include <weft/sched.h>
#include <weft/wait.h>
#include <weft/mutex.h>
#include <weft/time.h>
#include <weft/spinlock.h>
#include <weft/preempt.h>
#include <weft/printk.h>
#include <weft/pmm.h>
#include <weft/paging.h>
#include <weft/kmalloc.h>
#include <weft/kstack.h>
#include <weft/errno.h>
#include <weft/string.h>
#include <arch/trap.h>
#include <arch/percpu.h>
#include <arch/irqflags.h>
#include <arch/memlayout.h>
#include <arch/cpu.h>
#include <stdbool.h>
#include <stdint.h>

#include "ktest_helpers.h"

/* ---- helpers ---------------------------------------------------------------- */

/* Busy-wait (interrupts on, never yields) for ns. */
static void spin_ns(uint64_t ns)
{
	uint64_t end = now_ns() + ns;
	while (now_ns() < end)
		cpu_relax();
}

/* Sleep in small steps until *cond_fn(arg) holds or timeout_ns passes. */
static bool poll_until(bool (*cond_fn)(void *), void *arg, uint64_t timeout_ns)
{
	uint64_t deadline = now_ns() + timeout_ns;
	while (!cond_fn(arg)) {
		if (now_ns() >= deadline)
			return cond_fn(arg);
		thread_sleep(MS(1));
	}
	return true;
}

static bool thread_asleep(void *arg)
{
	struct thread *th = arg;
	return th->state == THREAD_INTERRUPTIBLE || th->state == THREAD_UNINTERRUPTIBLE;
}


/* What a leak check compares: free pages (heap caches trimmed), stacks,
 * threads, and the stack-area page tables. */
struct mem_snap {
	uint64_t free_pages, kstacks, threads, tables;
};

static struct mem_snap mem_snap(void)
{
	kstack_trim();
	kmalloc_trim();
	struct mem_snap s = { pmm_free_pages(), kstack_count(), thread_count(),
			      kstack_table_pages() };
	return s;
}

/* Everything back to `before`: free pages exactly, except for page-table
 * pages the stack area gained (reported, and at most `max_tables`). `what`
 * names the phase in failure messages. */
static void expect_no_leak(struct ktest_ctx *t, const char *what, const struct mem_snap *before,
			   uint64_t max_tables)
{
	struct mem_snap after = mem_snap();
	uint64_t tables = after.tables - before->tables;
	KT_EXPECT(t, after.threads == before->threads, "%s: thread_count %lu, was %lu", what,
		  (unsigned long)after.threads, (unsigned long)before->threads);
	KT_EXPECT(t, after.kstacks == before->kstacks, "%s: kstack_count %lu, was %lu", what,
		  (unsigned long)after.kstacks, (unsigned long)before->kstacks);
	KT_EXPECT(t, after.tables >= before->tables && tables <= max_tables,
		  "%s: stack-area page tables went from %lu to %lu pages (at most +%lu expected)",
		  what, (unsigned long)before->tables, (unsigned long)after.tables,
		  (unsigned long)max_tables);
	KT_EXPECT(t, after.free_pages + tables == before->free_pages,
		  "%s: free pages %lu before, %lu after (+%lu new stack-area page tables): "
		  "%ld leaked", what, (unsigned long)before->free_pages,
		  (unsigned long)after.free_pages, (unsigned long)tables,
		  (long)(before->free_pages - after.free_pages - tables));
	if (tables)
		ktest_diag(t, "%s: the kernel-stack area gained %lu page-table pages", what,
			   (unsigned long)tables);
}

/* ============================================================================
 * sched.callee_saved_survive_switches
 * ========================================================================== */

/* tests/kernel/regs_test.S */
uint64_t regs_test_run(uint64_t seed, uint64_t iterations, void (*fn)(void *), void *arg,
		       uint64_t spin);
void regs_test_clobber(void *arg);

struct regs_job {
	uint64_t seed, iters, spin;
	void (*fn)(void *);
	void *arg;
	uint64_t mismatches;
	uint64_t switched_in;   /* times the thread was switched back to during the run */
	uint64_t yields_shared; /* cb_yield: yields while another regs thread was runnable */
	uint64_t kept;          /* ...of which returned without a switch */
};

/* regs threads still inside regs_test_run(). They never sleep, so while
 * this is above 1 every yielder has another runnable thread to give way to. */
static volatile unsigned regs_unfinished;

/* thread_yield()'s contract: with another thread runnable, the yielder
 * gives up the CPU (it comes back switched to). Counted, not assumed. */
static void cb_yield(void *arg)
{
	struct regs_job *j = arg;
	uint64_t before = current()->nr_switches;
	bool shared = regs_unfinished > 1;
	thread_yield();
	if (shared) {
		j->yields_shared++;
		if (current()->nr_switches == before)
			j->kept++;
	}
}

/* Spin (interrupts on, no yield) for arg microseconds: the timer must
 * preempt the thread, in here or in the helper's own spin. */
static void cb_spin(void *arg) { spin_ns((uint64_t)arg * NSEC_PER_USEC); }

static void *regs_thread(void *arg)
{
	struct regs_job *j = arg;
	uint64_t s0 = current()->nr_switches;
	j->mismatches = regs_test_run(j->seed, j->iters, j->fn, j->arg, j->spin);
	j->switched_in = current()->nr_switches - s0;
	__atomic_sub_fetch(&regs_unfinished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

#define REGS_THREADS 3
static struct regs_job regs_jobs[REGS_THREADS];

/* Run REGS_THREADS copies of the helper at once; false if one could not
 * be created (the others are joined). */
static bool regs_run_all(struct ktest_ctx *t, void (*fn)(void *), void *arg, uint64_t iters,
			 uint64_t spin, const char *name)
{
	struct thread *th[REGS_THREADS];
	unsigned n;
	regs_unfinished = REGS_THREADS;
	for (n = 0; n < REGS_THREADS; n++) {
		/* Seeds far apart: no two threads share a pattern. cb_yield
		 * counts into its own job. */
		regs_jobs[n] = (struct regs_job){ .seed = 0x1000ULL * (n + 1) + 0x5eed0000ULL,
						  .iters = iters, .spin = spin, .fn = fn,
						  .arg = fn == cb_yield ? &regs_jobs[n] : arg };
		th[n] = thread_create(regs_thread, &regs_jobs[n], name);
		if (!th[n])
			break;
	}
	KT_EXPECT(t, n == REGS_THREADS, "thread_create failed");
	regs_unfinished -= REGS_THREADS - n;
	for (unsigned i = 0; i < n; i++)
		thread_join(th[i]);
	return n == REGS_THREADS;
}

KTEST(sched, callee_saved_survive_switches)
{
	/* The helper itself: a callee that trashes all six registers is caught
	 * every time, and a well-behaved one that does not switch is clean.
	 * (KT_EXPECT_EQ evaluates its arguments twice: results go to locals.) */
	uint64_t bad = regs_test_run(0x77, 10, regs_test_clobber, (void *)0x5a5a5a5a, 0);
	KT_EXPECT_EQ(t, bad, 60);
	bad = regs_test_run(0x99, 10, cb_spin, (void *)1, 10);
	KT_EXPECT_EQ(t, bad, 0);

	/* 1. Voluntary switches: every call yields to one of the others while
	 * there are others. Which one is the scheduler's choice (the fairest:
	 * a thread charged more CPU time may wait out several rounds), so a
	 * thread is switched back to once per such yield at least - a count
	 * that does not depend on how the CPU time was shared. */
	const uint64_t yields = 2000;
	struct sched_stats s0 = stats();
	uint64_t t0 = now_ns();
	if (!regs_run_all(t, cb_yield, NULL, yields, 100, "regs-yield"))
		return;
	uint64_t ms = (now_ns() - t0) / NSEC_PER_MSEC;
	struct sched_stats s1 = stats();
	uint64_t switches = s1.switches - s0.switches;
	for (unsigned i = 0; i < REGS_THREADS; i++) {
		KT_EXPECT(t, regs_jobs[i].mismatches == 0,
			  "yield variant, thread %u: %lu register mismatches in %lu calls", i,
			  (unsigned long)regs_jobs[i].mismatches, (unsigned long)yields);
		KT_EXPECT(t, regs_jobs[i].kept == 0,
			  "yield variant, thread %u: %lu of %lu yields kept the CPU while "
			  "another thread was runnable", i, (unsigned long)regs_jobs[i].kept,
			  (unsigned long)regs_jobs[i].yields_shared);
		KT_EXPECT(t, regs_jobs[i].switched_in >= regs_jobs[i].yields_shared,
			  "yield variant, thread %u was switched to only %lu times after %lu "
			  "yields with another thread runnable", i,
			  (unsigned long)regs_jobs[i].switched_in,
			  (unsigned long)regs_jobs[i].yields_shared);
	}
	KT_EXPECT(t, switches >= REGS_THREADS * yields / 2, "only %lu context switches",
		  (unsigned long)switches);
	ktest_diag(t, "yield: %u threads x %lu yields, %lu switches in %lu ms, 0 mismatches "
		   "expected, %lu %lu %lu seen; switched to %lu %lu %lu times, yields with "
		   "another runnable %lu %lu %lu", REGS_THREADS, (unsigned long)yields,
		   (unsigned long)switches, (unsigned long)ms,
		   (unsigned long)regs_jobs[0].mismatches, (unsigned long)regs_jobs[1].mismatches,
		   (unsigned long)regs_jobs[2].mismatches, (unsigned long)regs_jobs[0].switched_in,
		   (unsigned long)regs_jobs[1].switched_in, (unsigned long)regs_jobs[2].switched_in,
		   (unsigned long)regs_jobs[0].yields_shared,
		   (unsigned long)regs_jobs[1].yields_shared,
		   (unsigned long)regs_jobs[2].yields_shared);

	/* 2. Involuntary switches: nothing yields; the timer's slice end
	 * preempts the threads wherever they are - in the C callback, or in
	 * the helper's spin with all six patterns live in registers. */
	const uint64_t calls = 3000;
	s0 = stats();
	t0 = now_ns();
	if (!regs_run_all(t, cb_spin, (void *)20, calls, 2000, "regs-spin"))
		return;
	ms = (now_ns() - t0) / NSEC_PER_MSEC;
	s1 = stats();
	uint64_t preempt = s1.preemptions - s0.preemptions;
	for (unsigned i = 0; i < REGS_THREADS; i++) {
		KT_EXPECT(t, regs_jobs[i].mismatches == 0,
			  "preempt variant, thread %u: %lu register mismatches in %lu calls", i,
			  (unsigned long)regs_jobs[i].mismatches, (unsigned long)calls);
		KT_EXPECT(t, regs_jobs[i].switched_in >= 2,
			  "preempt variant, thread %u was never preempted mid-loop (%lu "
			  "switches in)", i, (unsigned long)regs_jobs[i].switched_in);
	}
	KT_EXPECT(t, preempt >= 10, "only %lu preemptions while %u threads spun for %lu ms",
		  (unsigned long)preempt, REGS_THREADS, (unsigned long)ms);
	ktest_diag(t, "preempt: %lu preemptions in %lu ms; threads preempted mid-loop %lu, %lu, "
		   "%lu times; mismatches %lu %lu %lu", (unsigned long)preempt, (unsigned long)ms,
		   (unsigned long)regs_jobs[0].switched_in, (unsigned long)regs_jobs[1].switched_in,
		   (unsigned long)regs_jobs[2].switched_in, (unsigned long)regs_jobs[0].mismatches,
		   (unsigned long)regs_jobs[1].mismatches, (unsigned long)regs_jobs[2].mismatches);
}

/* ============================================================================
 * sched.ping_pong_strict_order
 * ========================================================================== */

#define PP_ROUNDS 10000
static struct semaphore pp_sem[2];
static char pp_seq[2 * PP_ROUNDS];
static volatile unsigned pp_pos;
static volatile bool pp_abort;
static struct completion pp_done;

/* Thread `me` (0 = A, 1 = B): take my semaphore, append my letter, give
 * the other's. A starts with the token, so the log must read ABAB... */
static void *pp_thread(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	for (unsigned i = 0; i < PP_ROUNDS; i++) {
		sem_down(&pp_sem[me]);
		if (pp_abort)
			break;
		unsigned p = pp_pos;
		if (p < 2 * PP_ROUNDS)
			pp_seq[p] = (char)('A' + me);
		pp_pos = p + 1;
		sem_up(&pp_sem[!me]);
	}
	complete(&pp_done);
	return NULL;
}

KTEST(sched, ping_pong_strict_order)
{
	sem_init(&pp_sem[0], 1, "ping");
	sem_init(&pp_sem[1], 0, "pong");
	completion_init(&pp_done);
	memset(pp_seq, 0, sizeof pp_seq);
	pp_pos = 0;
	pp_abort = false;
	struct sched_stats s0 = stats();
	uint64_t t0 = now_ns();
	struct thread *a = thread_create(pp_thread, (void *)0, "ping");
	struct thread *b = thread_create(pp_thread, (void *)1, "pong");
	KT_ASSERT(t, a && b, "thread_create failed"); /* (cannot fail with 512 MiB) */
	bool finished = wait_done(&pp_done, 2, 20 * NSEC_PER_SEC) == 2;
	uint64_t ms = (now_ns() - t0) / NSEC_PER_MSEC;
	KT_EXPECT(t, finished, "ping-pong stuck after %u of %u steps (20 s)", pp_pos,
		  2 * PP_ROUNDS);
	if (!finished) {
		pp_abort = true;
		for (int i = 0; i < 4; i++) {
			sem_up(&pp_sem[0]);
			sem_up(&pp_sem[1]);
		}
	}
	thread_join(a);
	thread_join(b);
	struct sched_stats s1 = stats();
	KT_EXPECT_EQ(t, pp_pos, 2 * PP_ROUNDS);
	unsigned bad = 0, first_bad = 0;
	for (unsigned i = 0; i < 2 * PP_ROUNDS; i++) {
		if (pp_seq[i] != (char)('A' + (i & 1))) {
			if (!bad)
				first_bad = i;
			bad++;
		}
	}
	KT_EXPECT(t, bad == 0, "%u entries out of order, first at %u ('%c', expected '%c')", bad,
		  first_bad, pp_seq[first_bad] ? pp_seq[first_bad] : '?',
		  (char)('A' + (first_bad & 1)));
	ktest_diag(t, "%u hand-offs in %lu ms, %lu context switches", 2 * PP_ROUNDS,
		   (unsigned long)ms, (unsigned long)(s1.switches - s0.switches));
}

/* ============================================================================
 * sched.yield_alternates
 * ========================================================================== */

/* Two threads that only yield, with nothing else runnable and interrupts
 * off (so no timer preempts them between their steps): each yield must
 * hand the CPU to the other, whatever their vruntimes, so the log reads
 * ABAB... exactly. */
#define YA_ROUNDS 1000
static char ya_seq[2 * YA_ROUNDS];
static volatile unsigned ya_pos;
static struct thread *volatile ya_main;
static struct completion ya_done;

static bool ya_main_asleep(void)
{
	int st = ya_main->state;
	return st == THREAD_INTERRUPTIBLE || st == THREAD_UNINTERRUPTIBLE;
}

static void *ya_thread(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	/* Interrupts off from here on: only our yields switch us. Start once
	 * main waits: from then on the two of us are the only runnable
	 * threads (bounded: main sleeps within microseconds). */
	unsigned long f = local_irq_save();
	uint64_t give_up = now_ns() + 5 * NSEC_PER_SEC;
	while (!ya_main_asleep() && now_ns() < give_up)
		thread_yield();
	for (unsigned i = 0; i < YA_ROUNDS; i++) {
		unsigned p = ya_pos;
		if (p < 2 * YA_ROUNDS)
			ya_seq[p] = (char)('A' + me);
		ya_pos = p + 1;
		thread_yield();
	}
	local_irq_restore(f);
	complete(&ya_done);
	return NULL;
}

KTEST(sched, yield_alternates)
{
	memset(ya_seq, 0, sizeof ya_seq);
	ya_pos = 0;
	ya_main = current();
	completion_init(&ya_done);
	struct thread *a = thread_create(ya_thread, (void *)0, "yield-a");
	struct thread *b = thread_create(ya_thread, (void *)1, "yield-b");
	KT_ASSERT(t, a && b, "thread_create failed");
	bool finished = wait_done(&ya_done, 2, 20 * NSEC_PER_SEC) == 2;
	KT_EXPECT(t, finished, "the yielding threads did not finish in 20 s (%u steps)", ya_pos);
	thread_join(a);
	thread_join(b);
	KT_EXPECT_EQ(t, ya_pos, 2 * YA_ROUNDS);
	unsigned repeats = 0, first = 0;
	for (unsigned i = 1; i < 2 * YA_ROUNDS; i++) {
		if (ya_seq[i] == ya_seq[i - 1]) {
			if (!repeats)
				first = i;
			repeats++;
		}
	}
	KT_EXPECT(t, repeats == 0,
		  "%u yields kept the CPU although the other thread was runnable (first at step "
		  "%u)", repeats, first);
}

/* ============================================================================
 * sched.busy_thread_is_preempted
 * ========================================================================== */

static volatile bool busy_flag, busy_bailed;
static volatile uint64_t busy_loops;

/* Spins on busy_flag with interrupts on and never yields. The bail-out
 * (2 s) only keeps a broken scheduler from hanging the run forever. */
static void *busy_thread(void *arg)
{
	(void)arg;
	uint64_t bail = now_ns() + 2 * NSEC_PER_SEC;
	while (busy_flag) {
		busy_loops++;
		if ((busy_loops & 0xfff) == 0 && now_ns() > bail) {
			busy_bailed = true;
			break;
		}
	}
	return NULL;
}

#define BUSY_SLEEPS 5

/* What one sleeper saw: BUSY_SLEEPS sleeps of 10 ms while the spinner has
 * the CPU. Each must end (the sleeper running again) within 50 ms of its
 * deadline: the spinner is the only other runnable thread, so it has to be
 * preempted for the sleeper to run at all. */
struct busy_report {
	uint64_t worst_over, first_late;
	unsigned late, early, spinner_idle;
};

static void busy_sleeps(struct busy_report *r)
{
	*r = (struct busy_report){ 0 };
	for (unsigned i = 0; i < BUSY_SLEEPS && !busy_bailed; i++) {
		uint64_t loops0 = busy_loops;
		uint64_t t0 = now_ns();
		thread_sleep(MS(10));
		uint64_t el = now_ns() - t0;
		uint64_t over = el > MS(10) ? el - MS(10) : 0;
		r->early += el < MS(10);
		r->spinner_idle += busy_loops == loops0;
		if (over > r->worst_over)
			r->worst_over = over;
		if (over >= MS(50) && !r->late++)
			r->first_late = over;
	}
}

static struct busy_report busy_thread_report;

/* Phase 2's sleeper: a fresh thread, so its vruntime does not depend on
 * what earlier tests did to main's. */
static void *busy_sleeper_thread(void *arg)
{
	(void)arg;
	busy_sleeps(&busy_thread_report);
	busy_flag = false;
	return NULL;
}

static void busy_check(struct ktest_ctx *t, const char *who, const struct busy_report *r,
		       uint64_t loops, uint64_t preemptions)
{
	KT_EXPECT(t, !busy_bailed, "%s never got the CPU back from a spinning thread: the "
		  "spinner gave up after 2 s (%lu loops)", who, (unsigned long)loops);
	KT_EXPECT(t, r->late == 0, "%s: %u of %u sleeps of 10 ms overshot by >= 50 ms (first "
		  "by %lu ms)", who, r->late, BUSY_SLEEPS,
		  (unsigned long)(r->first_late / NSEC_PER_MSEC));
	KT_EXPECT(t, r->early == 0, "%s: %u sleeps of 10 ms ended early", who, r->early);
	KT_EXPECT(t, r->spinner_idle == 0, "%s: the spinner did not run during %u sleeps", who,
		  r->spinner_idle);
	KT_EXPECT(t, preemptions > 0, "%s: no preemption counted", who);
	ktest_diag(t, "%s: spinner %lu loops, %lu preemptions; worst wake-up delay %lu us", who,
		   (unsigned long)loops, (unsigned long)preemptions,
		   (unsigned long)(r->worst_over / 1000));
}

KTEST(sched, busy_thread_is_preempted)
{
	/* 1. Main sleeps while the spinner has the CPU. */
	busy_flag = true;
	busy_bailed = false;
	busy_loops = 0;
	struct sched_stats s0 = stats();
	struct thread *spin = thread_create(busy_thread, NULL, "busy");
	KT_ASSERT(t, spin, "thread_create failed");
	struct busy_report r;
	busy_sleeps(&r);
	uint64_t loops = busy_loops;
	busy_flag = false; /* main runs: it can stop the spinner */
	thread_join(spin);
	struct sched_stats s1 = stats();
	busy_check(t, "main", &r, loops, s1.preemptions - s0.preemptions);

	/* 2. The same with a new sleeper thread created just before the
	 * spinner (main waits in thread_join). */
	busy_flag = true;
	busy_bailed = false;
	busy_loops = 0;
	s0 = stats();
	struct thread *sl = thread_create(busy_sleeper_thread, NULL, "busy-sleeper");
	spin = thread_create(busy_thread, NULL, "busy");
	KT_ASSERT(t, sl && spin, "thread_create failed");
	thread_join(sl);
	busy_flag = false;
	thread_join(spin);
	s1 = stats();
	busy_check(t, "new thread", &busy_thread_report, busy_loops,
		   s1.preemptions - s0.preemptions);

	/* 3. Main itself is the busy one: after a sleep (so it was the only
	 * runnable thread when it got the CPU back) it creates a thread and
	 * spins until that thread has run. Bail-out after 1 s. */
	thread_sleep(MS(1));
	busy_loops = 0;
	busy_flag = false; /* the new thread just returns */
	s0 = stats();
	uint64_t t0 = now_ns();
	spin = thread_create(busy_thread, NULL, "busy-new");
	KT_ASSERT(t, spin, "thread_create failed");
	while (spin->nr_switches == 0 && now_ns() - t0 < NSEC_PER_SEC)
		cpu_relax();
	uint64_t waited = now_ns() - t0;
	bool ran = spin->nr_switches != 0;
	thread_join(spin);
	s1 = stats();
	KT_EXPECT(t, ran && waited < MS(50), "a new thread got no CPU for %lu ms while its "
		  "creator spun%s", (unsigned long)(waited / NSEC_PER_MSEC),
		  ran ? "" : " (never, until the creator gave up after 1 s)");
	ktest_diag(t, "spinning creator: its new thread first ran after %lu us (%lu "
		   "preemptions)", (unsigned long)(waited / 1000),
		   (unsigned long)(s1.preemptions - s0.preemptions));
}

/* ============================================================================
 * sched.fair_share
 * ========================================================================== */

#define SPIN_MAX 4
struct spinner {
	int prio;
	struct thread *th;
	volatile uint64_t loops;
	volatile bool bailed;
};
static struct spinner spinners[SPIN_MAX];
static volatile bool spin_stop;

static void *spinner_thread(void *arg)
{
	struct spinner *s = arg;
	if (s->prio != PRIO_DEFAULT)
		thread_set_priority(current(), s->prio);
	uint64_t bail = now_ns() + 10 * NSEC_PER_SEC;
	while (!spin_stop) {
		s->loops++;
		if ((s->loops & 0xfff) == 0 && now_ns() > bail) {
			s->bailed = true;
			break;
		}
	}
	return NULL;
}

/* Run n spinners at the given priorities for `ns` while main sleeps, and
 * return each one's CPU time. */
static bool run_spinners(struct ktest_ctx *t, unsigned n, const int *prio, uint64_t ns,
			 uint64_t *cpu, uint64_t *elapsed)
{
	spin_stop = false;
	unsigned made;
	for (made = 0; made < n; made++) {
		spinners[made] = (struct spinner){ .prio = prio[made] };
		spinners[made].th = thread_create(spinner_thread, &spinners[made], "spinner");
		if (!spinners[made].th)
			break;
	}
	KT_EXPECT(t, made == n, "thread_create failed");
	uint64_t t0 = now_ns();
	if (made == n)
		thread_sleep(ns);
	/* All spinners are switched out while main runs: their counters are
	 * final. Preemption off so the snapshot is taken at one instant. */
	preempt_disable();
	for (unsigned i = 0; i < made; i++)
		cpu[i] = spinners[i].th->cpu_time_ns;
	*elapsed = now_ns() - t0;
	preempt_enable();
	spin_stop = true;
	for (unsigned i = 0; i < made; i++) {
		thread_join(spinners[i].th);
		KT_EXPECT(t, !spinners[i].bailed, "spinner %u ran 10 s without being stopped", i);
	}
	return made == n;
}

KTEST(sched, fair_share)
{
	/* Equal priorities: four spinners for 1 s get equal CPU time. */
	static const int equal[SPIN_MAX] = { 0, 0, 0, 0 };
	uint64_t cpu[SPIN_MAX], elapsed;
	if (!run_spinners(t, SPIN_MAX, equal, NSEC_PER_SEC, cpu, &elapsed))
		return;
	uint64_t min = cpu[0], max = cpu[0], sum = 0;
	for (unsigned i = 0; i < SPIN_MAX; i++) {
		min = cpu[i] < min ? cpu[i] : min;
		max = cpu[i] > max ? cpu[i] : max;
		sum += cpu[i];
	}
	ktest_diag(t, "equal: %lu ms: CPU %lu %lu %lu %lu ms (shares %lu.%lu%% %lu.%lu%% %lu.%lu%% "
		   "%lu.%lu%%), max/min %lu.%03lu", (unsigned long)(elapsed / NSEC_PER_MSEC),
		   (unsigned long)(cpu[0] / NSEC_PER_MSEC), (unsigned long)(cpu[1] / NSEC_PER_MSEC),
		   (unsigned long)(cpu[2] / NSEC_PER_MSEC), (unsigned long)(cpu[3] / NSEC_PER_MSEC),
		   (unsigned long)(cpu[0] * 100 / (sum ? sum : 1)),
		   (unsigned long)(cpu[0] * 1000 / (sum ? sum : 1) % 10),
		   (unsigned long)(cpu[1] * 100 / (sum ? sum : 1)),
		   (unsigned long)(cpu[1] * 1000 / (sum ? sum : 1) % 10),
		   (unsigned long)(cpu[2] * 100 / (sum ? sum : 1)),
		   (unsigned long)(cpu[2] * 1000 / (sum ? sum : 1) % 10),
		   (unsigned long)(cpu[3] * 100 / (sum ? sum : 1)),
		   (unsigned long)(cpu[3] * 1000 / (sum ? sum : 1) % 10),
		   (unsigned long)(max / (min ? min : 1)),
		   (unsigned long)(max * 1000 / (min ? min : 1) % 1000));
	/* Loops count what each spinner really ran: under TCG a vCPU the host
	 * deschedules charges the whole gap as CPU time to the thread it was
	 * running, so CPU times drift apart on a loaded host while these stay
	 * close. */
	ktest_diag(t, "equal: loops %lu %lu %lu %lu", (unsigned long)spinners[0].loops,
		   (unsigned long)spinners[1].loops, (unsigned long)spinners[2].loops,
		   (unsigned long)spinners[3].loops);
	KT_EXPECT(t, min > 0 && max * 100 <= min * 110,
		  "CPU times differ by more than 10%%: min %lu us, max %lu us",
		  (unsigned long)(min / 1000), (unsigned long)(max / 1000));
	/* Together they had (nearly) the whole second: main only slept. */
	KT_EXPECT(t, sum * 100 >= elapsed * 90, "spinners got %lu of %lu ms",
		  (unsigned long)(sum / NSEC_PER_MSEC), (unsigned long)(elapsed / NSEC_PER_MSEC));

	/* Weighted: priority -5 (weight 3125) against 0 (1024). */
	static const int weighted[2] = { -5, 0 };
	if (!run_spinners(t, 2, weighted, NSEC_PER_SEC, cpu, &elapsed))
		return;
	uint64_t expect = 1000ULL * sched_prio_to_weight(-5) / sched_prio_to_weight(0);
	uint64_t ratio = cpu[1] ? cpu[0] * 1000 / cpu[1] : 0;
	ktest_diag(t, "weighted: %lu ms: prio -5 %lu ms, prio 0 %lu ms: ratio %lu.%03lu "
		   "(expected %lu.%03lu +- 25%%)", (unsigned long)(elapsed / NSEC_PER_MSEC),
		   (unsigned long)(cpu[0] / NSEC_PER_MSEC), (unsigned long)(cpu[1] / NSEC_PER_MSEC),
		   (unsigned long)(ratio / 1000), (unsigned long)(ratio % 1000),
		   (unsigned long)(expect / 1000), (unsigned long)(expect % 1000));
	KT_EXPECT_EQ(t, sched_prio_to_weight(-5), 3125);
	KT_EXPECT_EQ(t, sched_prio_to_weight(0), 1024);
	KT_EXPECT(t, ratio * 4 >= expect * 3 && ratio * 4 <= expect * 5,
		  "CPU ratio %lu/1000, expected %lu/1000 +- 25%%", (unsigned long)ratio,
		  (unsigned long)expect);
}

/* ============================================================================
 * sched.timed_sleep_bounds
 * ========================================================================== */

KTEST(sched, timed_sleep_bounds)
{
	static const unsigned req_ms[] = { 1, 5, 20 };
	for (unsigned i = 0; i < 3; i++) {
		for (unsigned rep = 0; rep < 3; rep++) {
			uint64_t req = MS(req_ms[i]);
			uint64_t t0 = now_ns();
			int r = 0;
			if (rep == 2)
				r = thread_sleep_interruptible(req);
			else
				thread_sleep(req);
			uint64_t t1 = now_ns(), el = t1 - t0, machine;
			uint64_t late = kernel_lateness(t0, t1, req, &machine);
			KT_EXPECT_EQ(t, r, 0);
			KT_EXPECT(t, el >= req, "sleep of %u ms returned after %lu us", req_ms[i],
				  (unsigned long)(el / 1000));
			KT_EXPECT(t, late < MS(50),
				  "sleep of %u ms took %lu us (%lu us of it waiting for a late "
				  "timer interrupt)", req_ms[i], (unsigned long)(el / 1000),
				  (unsigned long)(machine / 1000));
			if (rep == 0)
				ktest_diag(t, "thread_sleep(%u ms) took %lu us, the timer interrupt "
					   "came %lu us late", req_ms[i], (unsigned long)(el / 1000),
					   (unsigned long)(machine / 1000));
		}
	}
}

/* ============================================================================
 * sched.sleep_with_spinlock_caught
 * ========================================================================== */

static struct trap_catch sched_tc;
static spinlock_t atomic_lock = SPINLOCK_INIT("test-atomic");

KTEST(sched, sleep_with_spinlock_caught)
{
	/* 1. spin_lock (preemption off), then schedule(). */
	size_t log0 = log_position();
	unsigned pc0 = preempt_count();
	volatile bool returned = false;
	if (trap_catch_arm(&sched_tc, CATCH_SCHED_ATOMIC) == 0) {
		spin_lock(&atomic_lock);
		schedule();
		returned = true;      /* only if the check is missing */
		trap_catch_disarm();
	}
	KT_EXPECT(t, sched_tc.caught, "schedule() with a spinlock held was not caught");
	KT_EXPECT(t, !returned, "schedule() returned normally with a spinlock held");
	KT_EXPECT_EQ(t, sched_tc.vector, CATCH_SCHED_ATOMIC);
	KT_EXPECT(t, spin_is_held(&atomic_lock), "the lock is no longer held after the catch");
	KT_EXPECT_EQ(t, preempt_count(), pc0 + 1);
	KT_EXPECT(t, log_contains_since(log0, "scheduling while atomic"), "no report in the log");
	if (spin_is_held(&atomic_lock))
		spin_unlock(&atomic_lock);
	KT_EXPECT_EQ(t, preempt_count(), pc0);

	/* 2. spin_lock_irqsave (interrupts off too), then schedule(). */
	log0 = log_position();
	returned = false;
	volatile unsigned long flags = 0;
	if (trap_catch_arm(&sched_tc, CATCH_SCHED_ATOMIC) == 0) {
		flags = spin_lock_irqsave(&atomic_lock);
		schedule();
		returned = true;
		trap_catch_disarm();
	}
	KT_EXPECT(t, sched_tc.caught, "schedule() with an irqsave spinlock held was not caught");
	KT_EXPECT(t, !returned, "schedule() returned normally with interrupts off");
	KT_EXPECT(t, log_contains_since(log0, "scheduling while atomic"), "no report in the log");
	if (spin_is_held(&atomic_lock))
		spin_unlock_irqrestore(&atomic_lock, flags);
	KT_EXPECT(t, irqs_enabled(), "interrupts still off after spin_unlock_irqrestore");
	KT_EXPECT_EQ(t, preempt_count(), pc0);

	/* 3. And the scheduler still works afterwards. */
	uint64_t t0 = now_ns();
	thread_sleep(MS(2));
	KT_EXPECT(t, now_ns() - t0 >= MS(2), "thread_sleep broken after the catch");
}

/* ============================================================================
 * thread.create_join_value
 * ========================================================================== */

static void *ret_value(void *arg) { return (void *)((uintptr_t)arg * 3 + 1); }

static void *ret_after_sleep(void *arg)
{
	thread_sleep(MS(10));
	return (void *)((uintptr_t)arg ^ 0xabcdef);
}

static volatile unsigned detached_ran;

static void *detached_fn(void *arg)
{
	if (arg)
		thread_sleep(MS(5));
	__atomic_add_fetch(&detached_ran, 1, __ATOMIC_RELAXED);
	return NULL;
}

struct count_goal {
	uint64_t threads, kstacks;
	unsigned ran;
};

static bool detached_gone(void *arg)
{
	struct count_goal *g = arg;
	return thread_count() == g->threads && kstack_count() == g->kstacks &&
	       detached_ran == g->ran;
}

KTEST(thread, create_join_value)
{
	uint64_t count0 = thread_count(), kstacks0 = kstack_count();

	/* Joined after it exited (a zombie waiting for us). */
	struct thread *th = thread_create(ret_value, (void *)41, "ret41");
	KT_ASSERT(t, th, "thread_create failed");
	KT_EXPECT_EQ(t, thread_count(), count0 + 1);
	KT_EXPECT(t, th->tid > 0 && !strcmp(th->name, "ret41"), "tid %d name '%s'", th->tid,
		  th->name);
	thread_sleep(MS(10));
	KT_EXPECT(t, th->state == THREAD_ZOMBIE, "finished thread in state %d", th->state);
	uintptr_t v = (uintptr_t)thread_join(th);
	KT_EXPECT_EQ(t, v, 124);

	/* Joined while it still runs (join sleeps until it exits). */
	th = thread_create(ret_after_sleep, (void *)7, "sleeper");
	KT_ASSERT(t, th, "thread_create failed");
	v = (uintptr_t)thread_join(th);
	KT_EXPECT_EQ(t, v, 7 ^ 0xabcdef);

	/* Many at once, joined in reverse order: each gets its own value. */
	struct thread *ths[16];
	for (unsigned i = 0; i < 16; i++) {
		ths[i] = thread_create(i & 1 ? ret_after_sleep : ret_value, (void *)(uintptr_t)i,
				       "multi");
		KT_ASSERT(t, ths[i], "thread_create %u failed", i);
	}
	for (unsigned i = 16; i-- > 0;) {
		v = (uintptr_t)thread_join(ths[i]);
		KT_EXPECT(t, v == (i & 1 ? (i ^ 0xabcdefu) : i * 3 + 1), "thread %u returned %#lx",
			  i, (unsigned long)v);
	}
	KT_EXPECT_EQ(t, thread_count(), count0);
	KT_EXPECT_EQ(t, kstack_count(), kstacks0);

	/* Detached threads are reaped by the scheduler once they exit: one
	 * that exits at once, one that sleeps first. */
	detached_ran = 0;
	KT_ASSERT(t, thread_create_detached(detached_fn, NULL, "detached"), "create failed");
	KT_ASSERT(t, thread_create_detached(detached_fn, (void *)1, "detached-sl"), "failed");
	struct count_goal goal = { count0, kstacks0, 2 };
	bool gone = poll_until(detached_gone, &goal, NSEC_PER_SEC);
	KT_EXPECT(t, gone, "after 1 s: %u of 2 detached threads ran; thread_count %lu (start %lu),"
		  " kstack_count %lu (start %lu)", detached_ran, (unsigned long)thread_count(),
		  (unsigned long)count0, (unsigned long)kstack_count(), (unsigned long)kstacks0);
}

/* ============================================================================
 * thread.ten_thousand_alive
 * ========================================================================== */

#define MANY 10000
static struct thread *many[MANY];
static struct completion many_go;
static volatile unsigned many_arrived, many_released;

static void *many_thread(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&many_arrived, 1, __ATOMIC_RELAXED);
	wait_for_completion(&many_go);
	__atomic_add_fetch(&many_released, 1, __ATOMIC_RELAXED);
	return (void *)0x600d;
}

static bool all_arrived(void *arg) { return many_arrived == (unsigned)(uintptr_t)arg; }
static bool all_released(void *arg) { return many_released == (unsigned)(uintptr_t)arg; }

/* One wave: MANY threads alive at once, all asleep on one completion,
 * then released together and joined. false if the threads could not be
 * released (they are left behind: joining them would hang). */
static bool many_wave(struct ktest_ctx *t, const struct mem_snap *before, bool report)
{
	many_arrived = many_released = 0;
	completion_init(&many_go);

	uint64_t t0 = now_ns();
	unsigned made;
	for (made = 0; made < MANY; made++) {
		many[made] = thread_create(many_thread, NULL, "many");
		if (!many[made])
			break;
	}
	uint64_t t_create = now_ns() - t0;
	KT_EXPECT(t, made == MANY, "thread_create failed after %u threads (%lu free pages left)",
		  made, (unsigned long)pmm_free_pages());

	/* Let every one of them run up to its wait. */
	bool arrived = poll_until(all_arrived, (void *)(uintptr_t)made, 30 * NSEC_PER_SEC);
	KT_EXPECT(t, arrived, "only %u of %u threads reached the wait in 30 s", many_arrived, made);
	thread_sleep(MS(5));
	uint64_t alive = thread_count();
	unsigned asleep = 0;
	for (unsigned i = 0; i < made; i++)
		asleep += thread_asleep(many[i]);
	KT_EXPECT_EQ(t, alive, before->threads + made);
	KT_EXPECT_EQ(t, asleep, made);
	KT_EXPECT_EQ(t, kstack_count(), before->kstacks + made);
	uint64_t used = before->free_pages - pmm_free_pages();
	if (report)
		ktest_diag(t, "%u threads alive at once (thread_count %lu), %u asleep; created in "
			   "%lu ms; %lu pages (%lu KiB) in use", made, (unsigned long)alive,
			   asleep, (unsigned long)(t_create / NSEC_PER_MSEC), (unsigned long)used,
			   (unsigned long)(used * 4));

	/* Release them all at once and join them all. */
	uint64_t t1 = now_ns();
	complete_all(&many_go);
	bool released = poll_until(all_released, (void *)(uintptr_t)made, 30 * NSEC_PER_SEC);
	KT_EXPECT(t, released, "complete_all released only %u of %u threads in 30 s",
		  many_released, made);
	if (!released)
		return false;
	unsigned bad = 0;
	for (unsigned i = 0; i < made; i++)
		bad += thread_join(many[i]) != (void *)0x600d;
	KT_EXPECT(t, bad == 0, "%u threads returned a wrong value", bad);
	if (report)
		ktest_diag(t, "released and joined in %lu ms",
			   (unsigned long)((now_ns() - t1) / NSEC_PER_MSEC));
	return true;
}

KTEST(thread, ten_thousand_alive)
{
	struct mem_snap before = mem_snap();
	if (!many_wave(t, &before, true))
		return;
	/* The only pages allowed to stay are page tables for stack slots
	 * never used before: one PT per 32 slots (64 KiB each), plus PDs. */
	expect_no_leak(t, "first wave", &before, MANY / 32 + 2 + 8);

	/* A second wave must find everything it needs recycled: the first
	 * wave's stack slots (and the page tables that map them) are free
	 * again, so nothing at all may be missing afterwards. */
	struct mem_snap mid = mem_snap();
	if (!many_wave(t, &mid, false))
		return;
	expect_no_leak(t, "second wave (all stack slots should be recycled)", &mid, 0);
}

/* ============================================================================
 * thread.hundred_thousand_cycles
 * ========================================================================== */

#define CYCLES 100000
#define CYCLE_BATCH 8

static void *cycle_thread(void *arg) { return (void *)((uintptr_t)arg ^ 0x5555); }

KTEST(thread, hundred_thousand_cycles)
{
	struct mem_snap before = mem_snap();
	struct thread *th[CYCLE_BATCH];
	unsigned bad = 0, done = 0;
	uint64_t t0 = now_ns();
	while (done < CYCLES) {
		unsigned n;
		for (n = 0; n < CYCLE_BATCH && done + n < CYCLES; n++) {
			th[n] = thread_create(cycle_thread, (void *)(uintptr_t)(done + n), "cycle");
			if (!th[n])
				break;
		}
		for (unsigned i = 0; i < n; i++)
			bad += (uintptr_t)thread_join(th[i]) != ((done + i) ^ 0x5555u);
		done += n;
		if (n < CYCLE_BATCH && done < CYCLES)
			break; /* creation failed */
	}
	uint64_t el = now_ns() - t0;
	KT_EXPECT(t, done == CYCLES, "thread_create failed after %u cycles", done);
	KT_EXPECT(t, bad == 0, "%u threads returned a wrong value", bad);
	ktest_diag(t, "%u create/exit/join cycles in %lu ms (%lu per second)%s", done,
		   (unsigned long)(el / NSEC_PER_MSEC),
		   (unsigned long)(el ? (uint64_t)done * NSEC_PER_SEC / el : 0),
		   el > 20 * NSEC_PER_SEC ? ": slower than the 20 s budget" : "");
	/* Slots are recycled: a batch of 8 needs no new page tables. */
	expect_no_leak(t, "after 100000 cycles", &before, 2);
}

/* ============================================================================
 * thread.kill_interruptible
 * ========================================================================== */

struct kill_probe {
	uint64_t ns;
	struct completion *c;
	int ret;
	uint64_t elapsed;
	bool killed_seen;
	volatile bool started;
};

static void *sleep_intr_thread(void *arg)
{
	struct kill_probe *p = arg;
	p->started = true;
	uint64_t t0 = now_ns();
	p->ret = thread_sleep_interruptible(p->ns);
	p->elapsed = now_ns() - t0;
	p->killed_seen = thread_killed(current());
	return NULL;
}

static void *sleep_unintr_thread(void *arg)
{
	struct kill_probe *p = arg;
	p->started = true;
	uint64_t t0 = now_ns();
	thread_sleep(p->ns);
	p->elapsed = now_ns() - t0;
	p->killed_seen = thread_killed(current());
	return NULL;
}

static void *wait_comp_thread(void *arg)
{
	struct kill_probe *p = arg;
	p->started = true;
	uint64_t t0 = now_ns();
	p->ret = wait_for_completion_timeout(p->c, p->ns);
	p->elapsed = now_ns() - t0;
	p->killed_seen = thread_killed(current());
	return NULL;
}

static void *self_kill_thread(void *arg)
{
	struct kill_probe *p = arg;
	thread_kill(current());
	uint64_t t0 = now_ns();
	p->ret = thread_sleep_interruptible(p->ns);
	p->elapsed = now_ns() - t0;
	return NULL;
}

/* Start fn(p), wait until it sleeps, kill it; returns the thread's state
 * right after the kill (before it could run), or -1 if it never slept. */
static int start_and_kill(struct ktest_ctx *t, thread_fn fn, struct kill_probe *p,
			  uint64_t *kill_time)
{
	struct thread *th = thread_create(fn, p, "killme");
	if (!KT_EXPECT(t, th, "thread_create failed"))
		return -1;
	bool slept = poll_until(thread_asleep, th, NSEC_PER_SEC);
	KT_EXPECT(t, slept && p->started, "the thread did not go to sleep within 1 s");
	preempt_disable(); /* read the state before the woken thread can run */
	*kill_time = now_ns();
	thread_kill(th);
	int state = th->state;
	preempt_enable();
	thread_join(th);
	return slept ? state : -1;
}

KTEST(thread, kill_interruptible)
{
	struct kill_probe p;
	uint64_t kill_at, t0;
	int st;

	/* 1. Interruptible sleep of 10 s: the kill wakes it with -EINTR. */
	p = (struct kill_probe){ .ns = 10 * NSEC_PER_SEC };
	t0 = now_ns();
	st = start_and_kill(t, sleep_intr_thread, &p, &kill_at);
	KT_EXPECT(t, st == THREAD_RUNNABLE || st == THREAD_RUNNING,
		  "interruptible sleeper in state %d right after thread_kill", st);
	KT_EXPECT_EQ(t, p.ret, -EINTR);
	KT_EXPECT(t, p.killed_seen, "thread_killed() false in the killed thread");
	KT_EXPECT(t, p.elapsed < MS(500) && now_ns() - t0 < 2 * NSEC_PER_SEC,
		  "killed interruptible sleep lasted %lu ms",
		  (unsigned long)(p.elapsed / NSEC_PER_MSEC));
	ktest_diag(t, "interruptible 10 s sleep ended by kill after %lu ms (-EINTR: %d)",
		   (unsigned long)(p.elapsed / NSEC_PER_MSEC), p.ret);

	/* 2. Already killed before sleeping: returns -EINTR at once. */
	p = (struct kill_probe){ .ns = 10 * NSEC_PER_SEC };
	struct thread *th = thread_create(self_kill_thread, &p, "selfkill");
	KT_ASSERT(t, th, "thread_create failed");
	thread_join(th);
	KT_EXPECT_EQ(t, p.ret, -EINTR);
	KT_EXPECT(t, p.elapsed < MS(100), "took %lu ms",
		  (unsigned long)(p.elapsed / NSEC_PER_MSEC));

	/* 3. Uninterruptible sleep of 200 ms: the kill neither wakes nor
	 * shortens it. */
	p = (struct kill_probe){ .ns = MS(200) };
	st = start_and_kill(t, sleep_unintr_thread, &p, &kill_at);
	KT_EXPECT(t, st == THREAD_UNINTERRUPTIBLE,
		  "uninterruptible sleeper in state %d right after thread_kill (woken)", st);
	KT_EXPECT(t, p.elapsed >= MS(200), "killed uninterruptible 200 ms sleep lasted %lu us",
		  (unsigned long)(p.elapsed / 1000));
	KT_EXPECT(t, p.killed_seen, "thread_killed() false in the killed thread");
	ktest_diag(t, "uninterruptible 200 ms sleep, killed early, lasted %lu ms",
		   (unsigned long)(p.elapsed / NSEC_PER_MSEC));

	/* 4. wait_for_completion_timeout: -EINTR on kill... */
	struct completion c;
	completion_init(&c);
	p = (struct kill_probe){ .ns = 10 * NSEC_PER_SEC, .c = &c };
	st = start_and_kill(t, wait_comp_thread, &p, &kill_at);
	KT_EXPECT(t, st == THREAD_RUNNABLE || st == THREAD_RUNNING,
		  "completion waiter in state %d right after thread_kill", st);
	KT_EXPECT_EQ(t, p.ret, -EINTR);
	KT_EXPECT(t, p.elapsed < MS(500), "killed completion wait lasted %lu ms",
		  (unsigned long)(p.elapsed / NSEC_PER_MSEC));

	/* ... -ETIMEDOUT on timeout (in main, not killed): not early, and
	 * not late by the kernel's doing (a timer interrupt the host delayed
	 * while the CPU idled does not count, see kernel_lateness) ... */
	t0 = now_ns();
	int r = wait_for_completion_timeout(&c, MS(30));
	uint64_t t1 = now_ns(), el = t1 - t0, machine;
	uint64_t late = kernel_lateness(t0, t1, MS(30), &machine);
	KT_EXPECT_EQ(t, r, -ETIMEDOUT);
	KT_EXPECT(t, el >= MS(30) && late < MS(50),
		  "30 ms timeout took %lu us (%lu us of it waiting for a late timer interrupt)",
		  (unsigned long)(el / 1000), (unsigned long)(machine / 1000));
	ktest_diag(t, "30 ms timeout took %lu us, the timer interrupt came %lu us late",
		   (unsigned long)(el / 1000), (unsigned long)(machine / 1000));
	/* ... and 0 when completed. */
	complete(&c);
	r = wait_for_completion_timeout(&c, MS(30));
	KT_EXPECT_EQ(t, r, 0);
}
