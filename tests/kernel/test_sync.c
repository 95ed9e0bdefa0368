/*
 * test_sync.c - sleeping locks and wait queues under contention and
 * preemption: mutex, semaphores, condition variables, completions, and the
 * prepare_to_wait/check/schedule/finish_wait protocol itself.
 *
 * Workers signal a completion when they finish; main waits for those with
 * wait_for_completion_timeout, so a lost wakeup fails the test instead of
 * hanging the run. On a timeout main sets an abort flag and wakes every
 * queue the workers may sleep on, then joins them. (A worker stuck in
 * mutex_lock cannot be woken that way: then it is left behind, reported.)
 */
#include <weft/ktest.h>
#include <weft/thread.h>
#include <weft/sched.h>
#include <weft/wait.h>
#include <weft/mutex.h>
#include <weft/time.h>
#include <weft/errno.h>
#include <weft/string.h>
#include <arch/cpu.h>
#include <stdbool.h>
#include <stdint.h>

#include "ktest_helpers.h"

/* ---- helpers ---------------------------------------------------------------- */

/* A small linear congruential generator per thread: varies how long each
 * thread holds a lock or spins, so the interleavings differ. */
static uint32_t lcg(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void spin_loops(uint32_t n)
{
	for (volatile uint32_t i = 0; i < n; i++)
		;
}

static void spin_ns(uint64_t ns)
{
	uint64_t end = now_ns() + ns;
	while (now_ns() < end)
		cpu_relax();
}

/* Start n threads running fn(index); returns how many were created (the
 * caller stops and joins those if it is fewer than n). */
static unsigned start_threads(struct thread **th, unsigned n, thread_fn fn, const char *name)
{
	unsigned i;
	for (i = 0; i < n; i++) {
		th[i] = thread_create(fn, (void *)(uintptr_t)i, name);
		if (!th[i])
			break;
	}
	return i;
}

/* ============================================================================
 * sync.mutex_counter_exact
 * ========================================================================== */

#define MC_THREADS 8
#define MC_ITERS 2000

static struct mutex mc_lock;
static volatile uint64_t mc_counter;
static volatile unsigned mc_inside;              /* threads inside the section */
static volatile unsigned mc_overlaps, mc_not_owner, mc_still_owner, mc_yields;
static struct completion mc_done;

static void *mc_thread(void *arg)
{
	uint32_t rng = (uint32_t)(uintptr_t)arg * 2654435761u + 1;
	for (unsigned i = 0; i < MC_ITERS; i++) {
		mutex_lock(&mc_lock);
		if (!mutex_is_owner(&mc_lock))
			mc_not_owner++;
		if (mc_inside++ != 0)
			mc_overlaps++;
		/* A read-modify-write spread over time: any other thread getting
		 * in here loses increments. */
		uint64_t v = mc_counter;
		uint32_t r = lcg(&rng);
		if (r % 16 == 0) {
			mc_yields++;
			thread_yield();     /* let the others pile up on the mutex */
		} else if (r % 512 == 1) {
			spin_ns(MS(2));     /* past a time slice: preempted holding it */
		} else if (r % 4 == 0) {
			spin_loops(r % 2048);
		}
		mc_counter = v + 1;
		mc_inside--;
		mutex_unlock(&mc_lock);
		if (mutex_is_owner(&mc_lock))
			mc_still_owner++;
	}
	complete(&mc_done);
	return NULL;
}

KTEST(sync, mutex_counter_exact)
{
	mutex_init(&mc_lock, "test-counter");
	completion_init(&mc_done);
	mc_counter = 0;
	mc_inside = mc_overlaps = mc_not_owner = mc_still_owner = mc_yields = 0;
	KT_EXPECT(t, !mutex_is_owner(&mc_lock), "a fresh mutex is owned by main");

	struct thread *th[MC_THREADS];
	struct sched_stats s0 = stats();
	uint64_t t0 = now_ns();
	unsigned n = start_threads(th, MC_THREADS, mc_thread, "mutex-inc");
	KT_EXPECT(t, n == MC_THREADS, "thread_create failed");
	unsigned finished = wait_done(&mc_done, n, 30 * NSEC_PER_SEC);
	uint64_t ms = (now_ns() - t0) / NSEC_PER_MSEC;
	struct sched_stats s1 = stats();
	KT_EXPECT(t, finished == n, "only %u of %u threads finished in 30 s (counter %lu): "
		  "stuck on the mutex; leaving them behind", finished, n,
		  (unsigned long)mc_counter);
	if (finished != n)
		return;
	for (unsigned i = 0; i < n; i++)
		thread_join(th[i]);

	KT_EXPECT(t, mc_counter == (uint64_t)MC_THREADS * MC_ITERS, "counter %lu, expected %u",
		  (unsigned long)mc_counter, MC_THREADS * MC_ITERS);
	KT_EXPECT(t, mc_overlaps == 0, "%u times two threads were inside at once", mc_overlaps);
	KT_EXPECT(t, mc_not_owner == 0, "mutex_is_owner false %u times while holding it",
		  mc_not_owner);
	KT_EXPECT(t, mc_still_owner == 0, "mutex_is_owner true %u times after unlocking",
		  mc_still_owner);
	KT_EXPECT(t, mc_lock.owner == NULL, "mutex still owned after all unlocks");

	/* The uncontended paths, from main. */
	KT_EXPECT(t, mutex_trylock(&mc_lock), "trylock of a free mutex failed");
	KT_EXPECT(t, mutex_is_owner(&mc_lock), "trylock did not make main the owner");
	mutex_unlock(&mc_lock);
	mutex_lock(&mc_lock);
	KT_EXPECT(t, mutex_is_owner(&mc_lock), "mutex_lock did not make main the owner");
	mutex_unlock(&mc_lock);
	KT_EXPECT(t, !mutex_is_owner(&mc_lock), "still owner after unlock");

	ktest_diag(t, "%u x %u increments in %lu ms, %u yields inside the lock, %lu switches, "
		   "%lu preemptions", MC_THREADS, MC_ITERS, (unsigned long)ms, mc_yields,
		   (unsigned long)(s1.switches - s0.switches),
		   (unsigned long)(s1.preemptions - s0.preemptions));
}

/* ============================================================================
 * sync.producer_consumer_semaphores / sync.producer_consumer_condvar
 * ========================================================================== */

#define PC_SIZE      16
#define PC_PRODUCERS 2
#define PC_CONSUMERS 2
#define PC_ITEMS     20000
#define PC_PER_PRODUCER (PC_ITEMS / PC_PRODUCERS)
#define PC_PER_CONSUMER (PC_ITEMS / PC_CONSUMERS)

static struct {
	uint64_t buf[PC_SIZE];
	unsigned head, tail, count, max_count;
	unsigned overflow, underflow, corrupt;
	struct mutex lock;
	struct semaphore empty, full;           /* semaphore version */
	struct condvar not_full, not_empty;     /* condvar version */
	uint64_t produced_sum[PC_PRODUCERS], consumed_sum[PC_CONSUMERS];
	unsigned produced[PC_PRODUCERS], consumed[PC_CONSUMERS];
	uint32_t seen[PC_ITEMS];
	volatile bool abort;
	struct completion done;
} pc;

/* Item `id` travels as a value that carries a hash of itself in the high
 * half, so a torn or stale slot is noticed. */
static uint32_t mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static uint64_t pc_value(uint32_t id) { return (uint64_t)mix32(id + 1) << 32 | id; }

/* Buffer operations, called with pc.lock held. */
static void pc_push(uint64_t v)
{
	if (pc.count >= PC_SIZE) {
		pc.overflow++;
		return;
	}
	pc.buf[pc.tail] = v;
	pc.tail = (pc.tail + 1) % PC_SIZE;
	if (++pc.count > pc.max_count)
		pc.max_count = pc.count;
}

static bool pc_pop(uint64_t *v)
{
	if (pc.count == 0) {
		pc.underflow++;
		return false;
	}
	*v = pc.buf[pc.head];
	pc.buf[pc.head] = 0;
	pc.head = (pc.head + 1) % PC_SIZE;
	pc.count--;
	return true;
}

/* A consumer's bookkeeping for one item (outside the lock). */
static void pc_account(unsigned me, uint64_t v)
{
	uint32_t id = (uint32_t)v;
	if (id >= PC_ITEMS || v != pc_value(id)) {
		__atomic_add_fetch(&pc.corrupt, 1, __ATOMIC_RELAXED);
		return;
	}
	__atomic_add_fetch(&pc.seen[id], 1, __ATOMIC_RELAXED);
	pc.consumed_sum[me] += v;
	pc.consumed[me]++;
}

static void pc_reset(void)
{
	memset(&pc, 0, sizeof pc);
	mutex_init(&pc.lock, "pc-lock");
	sem_init(&pc.empty, PC_SIZE, "pc-empty");
	sem_init(&pc.full, 0, "pc-full");
	condvar_init(&pc.not_full, "pc-not-full");
	condvar_init(&pc.not_empty, "pc-not-empty");
	completion_init(&pc.done);
}

/* Called with pc.lock held: now and then hold it past a time slice, so the
 * holder is preempted and the others queue up on the mutex. */
static void pc_hold(uint32_t *rng)
{
	if (lcg(rng) % 1024 == 0)
		spin_ns(MS(2));
}

static void *pc_sem_producer(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	uint32_t rng = me * 7919 + 17;
	for (unsigned i = 0; i < PC_PER_PRODUCER; i++) {
		uint64_t v = pc_value(me * PC_PER_PRODUCER + i);
		sem_down(&pc.empty);
		if (pc.abort)
			break;
		mutex_lock(&pc.lock);
		pc_push(v);
		pc_hold(&rng);
		mutex_unlock(&pc.lock);
		sem_up(&pc.full);
		pc.produced_sum[me] += v;
		pc.produced[me]++;
		spin_loops(lcg(&rng) % 256);
	}
	complete(&pc.done);
	return NULL;
}

static void *pc_sem_consumer(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	uint32_t rng = me * 104729 + 3;
	for (unsigned i = 0; i < PC_PER_CONSUMER; i++) {
		sem_down(&pc.full);
		if (pc.abort)
			break;
		uint64_t v = 0;
		mutex_lock(&pc.lock);
		bool got = pc_pop(&v);
		pc_hold(&rng);
		mutex_unlock(&pc.lock);
		sem_up(&pc.empty);
		if (got)
			pc_account(me, v);
		spin_loops(lcg(&rng) % 256);
	}
	complete(&pc.done);
	return NULL;
}

static void *pc_cv_producer(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	uint32_t rng = me * 7919 + 17;
	for (unsigned i = 0; i < PC_PER_PRODUCER; i++) {
		uint64_t v = pc_value(me * PC_PER_PRODUCER + i);
		mutex_lock(&pc.lock);
		while (pc.count == PC_SIZE && !pc.abort)
			condvar_wait(&pc.not_full, &pc.lock);
		if (pc.abort) {
			mutex_unlock(&pc.lock);
			break;
		}
		pc_push(v);
		pc_hold(&rng);
		condvar_signal(&pc.not_empty);
		mutex_unlock(&pc.lock);
		pc.produced_sum[me] += v;
		pc.produced[me]++;
		spin_loops(lcg(&rng) % 256);
	}
	complete(&pc.done);
	return NULL;
}

static void *pc_cv_consumer(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	uint32_t rng = me * 104729 + 3;
	for (unsigned i = 0; i < PC_PER_CONSUMER; i++) {
		uint64_t v = 0;
		mutex_lock(&pc.lock);
		while (pc.count == 0 && !pc.abort)
			condvar_wait(&pc.not_empty, &pc.lock);
		if (pc.abort) {
			mutex_unlock(&pc.lock);
			break;
		}
		bool got = pc_pop(&v);
		pc_hold(&rng);
		condvar_signal(&pc.not_full);
		mutex_unlock(&pc.lock);
		if (got)
			pc_account(me, v);
		spin_loops(lcg(&rng) % 256);
	}
	complete(&pc.done);
	return NULL;
}

/* Run both sides; on a timeout, abort and wake whatever they sleep on. */
static void pc_run(struct ktest_ctx *t, thread_fn producer, thread_fn consumer, bool condvar)
{
	struct thread *prod[PC_PRODUCERS], *cons[PC_CONSUMERS];
	struct sched_stats s0 = stats();
	uint64_t t0 = now_ns();
	unsigned np = start_threads(prod, PC_PRODUCERS, producer, "producer");
	unsigned nc = start_threads(cons, PC_CONSUMERS, consumer, "consumer");
	KT_EXPECT(t, np == PC_PRODUCERS && nc == PC_CONSUMERS, "thread_create failed");
	bool ok = np == PC_PRODUCERS && nc == PC_CONSUMERS;
	unsigned finished = ok ? wait_done(&pc.done, np + nc, 30 * NSEC_PER_SEC) : 0;
	uint64_t ms = (now_ns() - t0) / NSEC_PER_MSEC;
	KT_EXPECT(t, !ok || finished == np + nc, "only %u of %u threads finished in 30 s: "
		  "produced %u+%u, consumed %u+%u, %u in the buffer", finished, np + nc,
		  pc.produced[0], pc.produced[1], pc.consumed[0], pc.consumed[1], pc.count);
	if (finished != np + nc) {
		pc.abort = true;
		for (unsigned i = 0; i < PC_PRODUCERS + PC_CONSUMERS; i++) {
			if (condvar) {
				mutex_lock(&pc.lock);
				condvar_broadcast(&pc.not_full);
				condvar_broadcast(&pc.not_empty);
				mutex_unlock(&pc.lock);
			} else {
				sem_up(&pc.empty);
				sem_up(&pc.full);
			}
		}
	}
	for (unsigned i = 0; i < np; i++)
		thread_join(prod[i]);
	for (unsigned i = 0; i < nc; i++)
		thread_join(cons[i]);
	struct sched_stats s1 = stats();
	if (!ok)
		return;

	uint64_t psum = 0, csum = 0;
	unsigned pn = 0, cn = 0;
	for (unsigned i = 0; i < PC_PRODUCERS; i++) {
		psum += pc.produced_sum[i];
		pn += pc.produced[i];
	}
	for (unsigned i = 0; i < PC_CONSUMERS; i++) {
		csum += pc.consumed_sum[i];
		cn += pc.consumed[i];
	}
	unsigned missing = 0, dup = 0, first_bad = PC_ITEMS;
	for (unsigned id = 0; id < PC_ITEMS; id++) {
		if (pc.seen[id] != 1 && first_bad == PC_ITEMS)
			first_bad = id;
		missing += pc.seen[id] == 0;
		dup += pc.seen[id] > 1;
	}
	KT_EXPECT(t, pn == PC_ITEMS && cn == PC_ITEMS, "produced %u, consumed %u, expected %u",
		  pn, cn, PC_ITEMS);
	KT_EXPECT(t, psum == csum, "checksum: produced %#lx, consumed %#lx", (unsigned long)psum,
		  (unsigned long)csum);
	KT_EXPECT(t, missing == 0 && dup == 0, "%u items never consumed, %u consumed twice "
		  "(first: item %u, seen %u times)", missing, dup, first_bad,
		  first_bad < PC_ITEMS ? pc.seen[first_bad] : 0);
	KT_EXPECT(t, pc.corrupt == 0, "%u items arrived corrupted", pc.corrupt);
	KT_EXPECT(t, pc.overflow == 0 && pc.underflow == 0,
		  "pushed into a full buffer %u times, popped an empty one %u times", pc.overflow,
		  pc.underflow);
	KT_EXPECT(t, pc.count == 0 && pc.max_count <= PC_SIZE, "buffer holds %u, peak %u",
		  pc.count, pc.max_count);
	if (!condvar)
		KT_EXPECT(t, pc.empty.count == PC_SIZE && pc.full.count == 0,
			  "semaphores end at empty=%ld full=%ld", (long)pc.empty.count,
			  (long)pc.full.count);
	ktest_diag(t, "%u items through a %u-slot buffer in %lu ms (consumers took %u/%u, peak "
		   "fill %u), %lu switches, %lu preemptions", cn, PC_SIZE, (unsigned long)ms,
		   pc.consumed[0], pc.consumed[1], pc.max_count,
		   (unsigned long)(s1.switches - s0.switches),
		   (unsigned long)(s1.preemptions - s0.preemptions));
}

KTEST(sync, producer_consumer_semaphores)
{
	pc_reset();
	pc_run(t, pc_sem_producer, pc_sem_consumer, false);
}

KTEST(sync, producer_consumer_condvar)
{
	pc_reset();
	pc_run(t, pc_cv_producer, pc_cv_consumer, true);
}

/* ============================================================================
 * sync.lost_wakeup_race
 * ========================================================================== */

#define LW_ROUNDS 100000

static struct wait_queue lw_sleeper_wq, lw_waker_wq;
static volatile uint64_t lw_flag, lw_ack;
static volatile bool lw_abort, lw_spin_stop;
static volatile unsigned lw_finished;
static volatile uint64_t lw_sleeps[2], lw_done_rounds[2], lw_long_spins;
static struct completion lw_done;

/* Vary the timing: mostly a few loop iterations; now and then a spin of 1
 * to 4 ms, about as long as a time slice (2-3 ms with the spinner
 * runnable), so the timer preempts the thread right inside the window it
 * is in. */
static void lw_jitter(uint32_t *rng)
{
	uint32_t r = lcg(rng);
	if (r % 2048 == 0) {
		lw_long_spins++;
		spin_ns(MS(1) + lcg(rng) % MS(3));
	} else {
		spin_loops(r % 64);
	}
}

/* The documented protocol: wait until *var == want on wq. Returns false if
 * the test was aborted (or the thread killed) instead. */
static bool lw_wait(struct wait_queue *wq, volatile uint64_t *var, uint64_t want, unsigned me,
		    uint32_t *rng)
{
	struct wait_entry w = { .queued = false };
	bool ok = true;
	for (;;) {
		prepare_to_wait(wq, &w, THREAD_INTERRUPTIBLE);
		lw_jitter(rng); /* a preemption or a wakeup may land between the two */
		if (*var == want)
			break;
		if (lw_abort || thread_killed(current())) {
			ok = false;
			break;
		}
		lw_sleeps[me]++;
		schedule();
	}
	finish_wait(wq, &w);
	return ok;
}

static void lw_finish(void)
{
	/* The second one to finish stops the background spinner itself: main
	 * may not get the CPU back while the spinner runs (see sched tests). */
	if (__atomic_add_fetch(&lw_finished, 1, __ATOMIC_RELAXED) == 2)
		lw_spin_stop = true;
	complete(&lw_done);
}

static void *lw_sleeper(void *arg)
{
	(void)arg;
	uint32_t rng = 12345;
	for (uint64_t r = 1; r <= LW_ROUNDS; r++) {
		if (!lw_wait(&lw_sleeper_wq, &lw_flag, r, 0, &rng))
			break;
		lw_ack = r;
		lw_jitter(&rng);
		wake_up_one(&lw_waker_wq);
		lw_done_rounds[0] = r;
	}
	lw_finish();
	return NULL;
}

static void *lw_waker(void *arg)
{
	(void)arg;
	uint32_t rng = 54321;
	for (uint64_t r = 1; r <= LW_ROUNDS; r++) {
		lw_flag = r;
		lw_jitter(&rng); /* between the condition change and the wakeup */
		wake_up_one(&lw_sleeper_wq);
		if (!lw_wait(&lw_waker_wq, &lw_ack, r, 1, &rng))
			break;
		lw_done_rounds[1] = r;
	}
	lw_finish();
	return NULL;
}

/* Always runnable: the scheduler arms a time slice only while another
 * thread is runnable, so this keeps one armed and the two above are
 * preempted by the timer (in their long spins) rather than only switching
 * when they sleep. At the lowest priority it rarely runs itself: a
 * preempted thread mostly hands the CPU to its partner. */
static void *lw_spinner(void *arg)
{
	(void)arg;
	thread_set_priority(current(), PRIO_MAX);
	uint64_t bail = now_ns() + 60 * NSEC_PER_SEC;
	while (!lw_spin_stop && now_ns() < bail)
		spin_loops(1000);
	return NULL;
}

KTEST(sync, lost_wakeup_race)
{
	wait_queue_init(&lw_sleeper_wq, "lw-sleeper");
	wait_queue_init(&lw_waker_wq, "lw-waker");
	completion_init(&lw_done);
	lw_flag = lw_ack = 0;
	lw_abort = lw_spin_stop = false;
	lw_finished = 0;
	lw_sleeps[0] = lw_sleeps[1] = lw_done_rounds[0] = lw_done_rounds[1] = 0;
	lw_long_spins = 0;

	struct sched_stats s0 = stats();
	uint64_t t0 = now_ns();
	struct thread *spinner = thread_create(lw_spinner, NULL, "lw-spinner");
	struct thread *sleeper = thread_create(lw_sleeper, NULL, "lw-sleeper");
	struct thread *waker = thread_create(lw_waker, NULL, "lw-waker");
	KT_ASSERT(t, spinner && sleeper && waker, "thread_create failed");

	unsigned finished = wait_done(&lw_done, 2, 30 * NSEC_PER_SEC);
	uint64_t ms = (now_ns() - t0) / NSEC_PER_MSEC;
	struct sched_stats s1 = stats();
	KT_EXPECT(t, finished == 2, "hung: after 30 s the sleeper is at round %lu, the waker at "
		  "round %lu of %u (flag %lu, ack %lu): a wakeup was lost",
		  (unsigned long)lw_done_rounds[0], (unsigned long)lw_done_rounds[1], LW_ROUNDS,
		  (unsigned long)lw_flag, (unsigned long)lw_ack);
	if (finished != 2) {
		lw_abort = true;
		thread_kill(sleeper);
		thread_kill(waker);
		wake_up_all(&lw_sleeper_wq);
		wake_up_all(&lw_waker_wq);
	}
	lw_spin_stop = true;
	thread_join(sleeper);
	thread_join(waker);
	thread_join(spinner);

	KT_EXPECT(t, lw_done_rounds[0] == LW_ROUNDS && lw_done_rounds[1] == LW_ROUNDS,
		  "rounds completed: sleeper %lu, waker %lu", (unsigned long)lw_done_rounds[0],
		  (unsigned long)lw_done_rounds[1]);
	KT_EXPECT(t, s1.preemptions > s0.preemptions, "no preemption happened during the race");
	ktest_diag(t, "%u rounds in %lu ms; the sleeper slept %lu times, the waker %lu; %lu "
		   "preemptions, %lu switches, %lu long spins", LW_ROUNDS, (unsigned long)ms,
		   (unsigned long)lw_sleeps[0], (unsigned long)lw_sleeps[1],
		   (unsigned long)(s1.preemptions - s0.preemptions),
		   (unsigned long)(s1.switches - s0.switches), (unsigned long)lw_long_spins);
}

/* ============================================================================
 * sync.completion_basics
 * ========================================================================== */

#define CB_WAITERS 16
static struct completion cb_c;
static volatile unsigned cb_returned;
static volatile bool cb_started[CB_WAITERS];

static void *cb_waiter(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg;
	cb_started[me] = true;
	/* Bounded (5 s) so that a complete_all that wakes nobody fails the test
	 * rather than hanging it; the result is the thread's exit value. */
	int r = wait_for_completion_timeout(&cb_c, 5 * NSEC_PER_SEC);
	__atomic_add_fetch(&cb_returned, 1, __ATOMIC_RELAXED);
	return (void *)(intptr_t)r;
}

static bool all_asleep(struct thread **th, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (th[i]->state != THREAD_INTERRUPTIBLE)
			return false;
	return true;
}

/* Sleep until n threads all sleep, at most 1 s. */
static bool wait_all_asleep(struct thread **th, unsigned n)
{
	uint64_t deadline = now_ns() + NSEC_PER_SEC;
	while (!all_asleep(th, n) && now_ns() < deadline)
		thread_sleep(MS(1));
	return all_asleep(th, n);
}

KTEST(sync, completion_basics)
{
	/* 1. complete() before the wait: the wait returns without sleeping. */
	struct completion c;
	completion_init(&c);
	complete(&c);
	complete(&c);
	uint64_t sw0 = current()->nr_switches;
	uint64_t t0 = now_ns();
	wait_for_completion(&c);
	int r = wait_for_completion_timeout(&c, MS(100));
	uint64_t el = now_ns() - t0;
	KT_EXPECT_EQ(t, r, 0);
	KT_EXPECT(t, current()->nr_switches == sw0, "main slept although both were completed");
	KT_EXPECT(t, el < MS(50), "two completed waits took %lu us", (unsigned long)(el / 1000));
	/* Each complete() counts once: a third wait times out. */
	t0 = now_ns();
	r = wait_for_completion_timeout(&c, MS(20));
	el = now_ns() - t0;
	KT_EXPECT_EQ(t, r, -ETIMEDOUT);
	KT_EXPECT(t, el >= MS(20), "timed out after %lu us", (unsigned long)(el / 1000));

	/* 2. complete() with waiters: wakes exactly one per call. */
	struct thread *th[CB_WAITERS];
	completion_init(&cb_c);
	cb_returned = 0;
	memset((void *)cb_started, 0, sizeof cb_started);
	unsigned n = start_threads(th, 2, cb_waiter, "cb-one");
	KT_ASSERT(t, n == 2, "thread_create failed");
	KT_EXPECT(t, wait_all_asleep(th, 2), "the waiters did not go to sleep");
	complete(&cb_c);
	thread_sleep(MS(20));
	KT_EXPECT(t, cb_returned == 1, "one complete() released %u of 2 waiters", cb_returned);
	complete(&cb_c);
	for (unsigned i = 0; i < n; i++) {
		intptr_t v = (intptr_t)thread_join(th[i]);
		KT_EXPECT(t, v == 0, "waiter %u got %ld", i, (long)v);
	}
	KT_EXPECT_EQ(t, cb_returned, 2);

	/* 3. complete_all() releases every waiter, and later waits too. */
	completion_init(&cb_c);
	cb_returned = 0;
	memset((void *)cb_started, 0, sizeof cb_started);
	n = start_threads(th, CB_WAITERS, cb_waiter, "cb-all");
	KT_EXPECT(t, n == CB_WAITERS, "thread_create failed");
	KT_EXPECT(t, wait_all_asleep(th, n), "the waiters did not all go to sleep");
	KT_EXPECT_EQ(t, cb_returned, 0);
	t0 = now_ns();
	complete_all(&cb_c);
	while (cb_returned < n && now_ns() - t0 < NSEC_PER_SEC)
		thread_sleep(MS(1));
	el = now_ns() - t0;
	unsigned released = cb_returned;
	KT_EXPECT(t, released == n, "complete_all released %u of %u waiters within 1 s",
		  released, n);
	unsigned bad = 0;
	for (unsigned i = 0; i < n; i++) /* the rest time out after 5 s */
		bad += thread_join(th[i]) != (void *)0;
	KT_EXPECT(t, bad == 0, "%u of %u waiters did not get 0", bad, n);
	t0 = now_ns();
	wait_for_completion(&cb_c);
	r = wait_for_completion_timeout(&cb_c, MS(100));
	KT_EXPECT_EQ(t, r, 0);
	KT_EXPECT(t, now_ns() - t0 < MS(50), "waits after complete_all slept");
	ktest_diag(t, "complete_all released %u sleeping waiters in %lu us", released,
		   (unsigned long)(el / 1000));
}
