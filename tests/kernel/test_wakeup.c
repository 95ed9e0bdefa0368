/*
 * test_wakeup.c - sched.wakee_waits_only_until_owed: when a woken thread
 * is owed the CPU, but by less than the wake-up granularity.
 *
 * The policy (kernel/sched.c, slice_until_owed()): a thread that wakes
 * owed more than SCHED_WAKEUP_GRAN_NS (the runner's vruntime leads its own
 * by more) preempts the runner at once; one owed less waits until it is
 * owed that much - the runner, which ran alone, gets a slice that ends
 * then - and no longer. Before, it waited a whole slice (3 ms with two
 * threads), which made a lock holder that woke a waiter keep calling
 * FUTEX_WAKE for 3 ms (t_bench mutex-short).
 *
 * The test: a fresh thread X (its vruntime does not depend on what
 * earlier tests did to main's) creates W, which starts at X's vruntime
 * (the queue's min_vruntime, which X's own sets) and goes to sleep on a
 * semaphore at once. X then runs alone for WK_LEAD_NS, wakes W and spins
 * until W has run. W is owed about WK_LEAD_NS: it must not run at once
 * (granularity), and must run within SCHED_WAKEUP_GRAN_NS - WK_LEAD_NS
 * plus a margin for the few microseconds either thread ran besides. Run
 * under -icount (t/timing-*.t): the guest's clock counts its own
 * instructions, so host load cannot stretch it.
 */
#include <weft/mutex.h>
#include <arch/cpu.h>
#include "ktest_helpers.h"

#define WK_LEAD_NS   (300 * NSEC_PER_USEC)   /* X runs alone this long before the wake */
#define WK_MARGIN_NS (100 * NSEC_PER_USEC)   /* what else the two ran, generously */

static struct semaphore wk_go;
static volatile uint64_t wk_ran_at;    /* when W ran after the wake; 0: not yet */
static volatile bool wk_stop;

static void *wk_thread(void *arg)
{
	(void)arg;
	for (;;) {
		sem_down(&wk_go);
		if (wk_stop)
			return NULL;
		wk_ran_at = now_ns();
	}
}

static bool wk_asleep(struct thread *w)
{
	return w->state == THREAD_INTERRUPTIBLE || w->state == THREAD_UNINTERRUPTIBLE;
}

/* What X saw: whether W got to sleep, the wake-up's time, W's run's. */
static bool wk_created, wk_slept;
static uint64_t wk_woke_at, wk_seen_at;

/* X: both threads inherit main's mask, main's CPU (ktest_run() pins it). */
static void *wk_waker(void *arg)
{
	(void)arg;
	struct thread *w = thread_create(wk_thread, NULL, "wakee");
	wk_created = w != NULL;
	if (!w)
		return NULL;
	/* X sleeps: W runs to sem_down() and sleeps too. */
	for (int i = 0; i < 1000 && !wk_asleep(w); i++)
		thread_sleep(10 * NSEC_PER_USEC);
	wk_slept = wk_asleep(w);
	if (wk_slept) {
		uint64_t end = now_ns() + WK_LEAD_NS;
		while (now_ns() < end)
			cpu_relax();
		uint64_t t0 = now_ns();
		wk_woke_at = t0;
		sem_up(&wk_go);
		while (!wk_ran_at && now_ns() - t0 < MS(100))
			cpu_relax();
		wk_seen_at = wk_ran_at;
	}
	wk_stop = true;
	sem_up(&wk_go);
	thread_join(w);
	return NULL;
}

KTEST(sched, wakee_waits_only_until_owed)
{
	sem_init(&wk_go, 0, "wakee");
	wk_ran_at = wk_woke_at = wk_seen_at = 0;
	wk_stop = wk_created = wk_slept = false;
	struct thread *x = thread_create(wk_waker, NULL, "waker");
	KT_ASSERT(t, x, "thread_create failed");
	thread_join(x);
	KT_ASSERT(t, wk_created, "thread_create failed (in the waker)");
	KT_ASSERT(t, wk_slept, "the new thread did not go to sleep on its semaphore in 10 ms");
	KT_ASSERT(t, wk_seen_at, "the woken thread did not run within 100 ms while the waker spun");
	uint64_t delay = wk_seen_at - wk_woke_at;
	uint64_t most = SCHED_WAKEUP_GRAN_NS - WK_LEAD_NS + WK_MARGIN_NS;
	uint64_t least = SCHED_WAKEUP_GRAN_NS - WK_LEAD_NS - WK_MARGIN_NS;
	KT_EXPECT(t, delay <= most, "a thread owed ~%lu us ran %lu us after its wake-up: more "
		  "than the %lu us until it was owed the granularity (%lu us), plus %lu",
		  (unsigned long)(WK_LEAD_NS / 1000), (unsigned long)(delay / 1000),
		  (unsigned long)((SCHED_WAKEUP_GRAN_NS - WK_LEAD_NS) / 1000),
		  (unsigned long)(SCHED_WAKEUP_GRAN_NS / 1000), (unsigned long)(WK_MARGIN_NS / 1000));
	KT_EXPECT(t, delay >= least, "a thread owed only ~%lu us preempted its waker after %lu "
		  "us, before it was owed the granularity (%lu us)",
		  (unsigned long)(WK_LEAD_NS / 1000), (unsigned long)(delay / 1000),
		  (unsigned long)(SCHED_WAKEUP_GRAN_NS / 1000));
	ktest_diag(t, "woken thread owed ~%lu us ran after %lu us", (unsigned long)(WK_LEAD_NS / 1000),
		   (unsigned long)(delay / 1000));
}
