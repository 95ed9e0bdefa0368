/*
 * sched_rq.h - the run queues, private to kernel/sched.c (switching,
 * wakeups) and kernel/balance.c (which CPU a thread runs on).
 *
 * Locking: runqueues[cpu].lock guards that queue (heap, counts,
 * min_vruntime) and the scheduler fields of every thread whose t->cpu is
 * cpu (struct thread). Taken with interrupts off. Two run-queue locks are
 * only ever held together when taken in address order (rq_lock_two(),
 * rq_lock_second() in balance.c), so two CPUs locking the same pair cannot
 * deadlock. Wait-queue locks and process locks come before run-queue
 * locks; timer locks and smp_call queue locks after.
 */
#ifndef WEFT_SCHED_RQ_H
#define WEFT_SCHED_RQ_H
#include <weft/sched.h>
#include <weft/spinlock.h>
#include <weft/time.h>
#include <weft/smp.h>
#include <arch/percpu.h>

/* One cache-line-aligned block per CPU: no false sharing between CPUs,
 * and the address is a shift away from the CPU number. */
struct __attribute__((aligned(128))) runqueue {
	spinlock_t lock;
	struct thread *heap;          /* runnable threads, not counting `curr` */
	unsigned nr_running;          /* threads in the heap (read unlocked by balancing) */
	uint64_t load;                /* weights of the threads on this CPU, the heap's and
				       * the runner's (idle weighs 0); read unlocked */
	uint64_t slice;               /* slice length for nr_running; SLICE_NONE when alone */
	uint64_t min_vruntime;        /* never decreases; floor for wakers */
	uint64_t seq;
	struct thread *idle;
	uint64_t switches, preemptions, idle_ns;
	uint64_t migrations;          /* threads moved here from another CPU */
	uint64_t next_balance;        /* periodic balancing: owner CPU only, interrupts off */
	volatile bool affinity_check; /* another CPU changed the mask of a thread
				       * here: look at the queue (sched_resched_ipi) */
};

extern struct runqueue runqueues[MAX_CPUS];

static inline unsigned rq_cpu(const struct runqueue *rq) { return (unsigned)(rq - runqueues); }

/* percpu.rq caches &runqueues[cpu]: one GS load instead of an index
 * computation on the switch path. */
static inline struct runqueue *this_rq(void) { return percpu_read(rq); }

static inline uint64_t cpu_bit(unsigned cpu) { return 1ULL << cpu; }

/* May t run on cpu? (Its mask is read unlocked here: callers that act on
 * the answer hold t's run-queue lock, or are t itself.) */
static inline bool cpu_allowed(const struct thread *t, unsigned cpu)
{
	return (__atomic_load_n(&t->affinity, __ATOMIC_RELAXED) >> cpu) & 1;
}

/* A thread joins (+weight) or leaves (-weight) this CPU: enqueued from
 * elsewhere, taken out to another queue, or the runner going to sleep or
 * exiting. Preemption and yield only swap runner and waiter: no change.
 * Run-queue lock held. */
static inline void add_load(struct runqueue *rq, int64_t delta)
{
	__atomic_store_n(&rq->load, rq->load + (uint64_t)delta, __ATOMIC_RELAXED);
}

/* The slice changes only when the number of waiting threads does. */
static inline void set_nr_running(struct runqueue *rq, unsigned n)
{
	__atomic_store_n(&rq->nr_running, n, __ATOMIC_RELAXED);
	if (!n) {
		rq->slice = SLICE_NONE; /* alone: slice_end = now + SLICE_NONE, i.e. none */
		return;
	}
	uint64_t s = SCHED_LATENCY_NS / (n + 1);
	rq->slice = s < SCHED_MIN_SLICE_NS ? SCHED_MIN_SLICE_NS : s;
}

/* Lock the run queue t belongs to. t->cpu may change until we hold that
 * queue's lock (only a holder of it changes t->cpu), hence the re-check. */
static inline __attribute__((always_inline)) struct runqueue *
lock_thread_rq(struct thread *t, unsigned long *flags)
{
	for (;;) {
		int cpu = __atomic_load_n(&t->cpu, __ATOMIC_RELAXED);
		struct runqueue *rq = &runqueues[cpu];
		*flags = spin_lock_irqsave(&rq->lock);
		if (__builtin_expect(t->cpu == cpu, 1))
			return rq;
		spin_unlock_irqrestore(&rq->lock, *flags);
	}
}

/* --- the leftist heap ------------------------------------------------------
 * Keyed on (vruntime, arrival order). A thread outside the heap keeps NULL
 * links, NULL parent and rank 1 (the switch fast path relies on it: see
 * __schedule() in sched.c). */

static inline bool before(const struct thread *a, const struct thread *b)
{
	if (a->vruntime != b->vruntime)
		return (int64_t)(a->vruntime - b->vruntime) < 0;
	return a->heap_seq < b->heap_seq;
}

static inline uint32_t rank(const struct thread *t) { return t ? t->heap_rank : 0; }

struct thread *heap_merge_nonnull(struct thread *a, struct thread *b);

/* Inline so that the common cases (an empty side) cost a test, not a
 * call. The result's parent is whatever it was: callers that make it a
 * root set it to NULL. */
static inline struct thread *heap_merge(struct thread *a, struct thread *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return heap_merge_nonnull(a, b);
}

static inline void make_node(struct thread *t)
{
	t->heap_left = t->heap_right = t->heap_parent = NULL;
	t->heap_rank = 1;
}

static inline void enqueue(struct runqueue *rq, struct thread *t)
{
	make_node(t);
	t->heap_seq = rq->seq++;
	rq->heap = heap_merge(rq->heap, t);   /* a root stays a root: parent NULL */
	set_nr_running(rq, rq->nr_running + 1);
	add_load(rq, t->weight);
}

/* Take any queued thread out of rq's heap (balance.c). */
void heap_remove(struct runqueue *rq, struct thread *t);

/* --- fairness ---------------------------------------------------------------- */

/* Weight of a default-priority thread: its vruntime advances at the rate
 * of real time (sched.c: charge()). */
#define NICE_0_WEIGHT 1024

/* The vruntime of `curr`, running on a CPU whose run-queue lock is held,
 * as if it were charged now. curr->vruntime itself is charged only at
 * switches and ticks, and a thread running alone gets no ticks: it may be
 * short by all the time it has run alone. Reads only (charging is the
 * owner CPU's). Not for the idle thread (weight 0). */
/* The same at clock_monotonic_ns() value `now`. */
static inline uint64_t runner_vruntime_at(const struct thread *curr, uint64_t now)
{
	uint64_t start = curr->exec_start_ns;
	if ((int64_t)(now - start) <= 0)     /* (another CPU's clock, a hair behind) */
		return curr->vruntime;
	uint64_t d = now - start;
	return curr->vruntime + (curr->weight == NICE_0_WEIGHT ? d : d * NICE_0_WEIGHT / curr->weight);
}

static inline uint64_t runner_vruntime(const struct thread *curr)
{
	return runner_vruntime_at(curr, clock_monotonic_ns());
}

/* min_vruntime follows the smallest vruntime on the CPU (running or
 * queued) and never goes back. Needed only where threads join a queue, so
 * it is brought up to date there rather than on every switch - counting
 * the runner's time not yet charged: a stale runner vruntime would let a
 * thread joining behind a runner that ran alone for a long time take the
 * CPU for about as long (place()'s cap and the lag kept across queues are
 * measured from here). */
/* Returns the runner's vruntime it used (0 for the idle thread), which a
 * caller about to run check_preempt_at() passes on, and sets *now to the
 * clock it read for it (0: none read, the runner is idle): one clock read
 * for the whole wake-up. */
static inline uint64_t refresh_min_vruntime_at(struct runqueue *rq, unsigned cpu, uint64_t *now)
{
	struct thread *curr = cpu_list[cpu]->current;
	*now = curr->idle ? 0 : clock_monotonic_ns();
	uint64_t runner = curr->idle ? 0 : runner_vruntime_at(curr, *now);
	uint64_t floor = curr->idle ? rq->heap ? rq->heap->vruntime : rq->min_vruntime : runner;
	if (rq->heap && (int64_t)(rq->heap->vruntime - floor) < 0)
		floor = rq->heap->vruntime;
	if ((int64_t)(floor - rq->min_vruntime) > 0)
		rq->min_vruntime = floor;
	return runner;
}

static inline uint64_t refresh_min_vruntime(struct runqueue *rq, unsigned cpu)
{
	uint64_t now;
	return refresh_min_vruntime_at(rq, cpu, &now);
}

/* Should t, just queued on rq (t->cpu), preempt the thread running there,
 * whose vruntime charged to now is `runner` (from refresh_min_vruntime()
 * under this hold of the lock, or runner_vruntime())? Run-queue lock held.
 * Returns the CPU that must be sent a reschedule IPI (after the unlock), or
 * -1. */
static inline int check_preempt_at(struct runqueue *rq, struct thread *t, uint64_t runner)
{
	int cpu = t->cpu;
	struct percpu *c = cpu_list[cpu];
	struct thread *curr = c->current;
	(void)rq;
	/* Compared with the runner's vruntime charged to now, the measure
	 * place() used for t. */
	bool resched = curr->idle ||
		       (int64_t)(runner - t->vruntime) > (int64_t)SCHED_WAKEUP_GRAN_NS;
	if (__builtin_expect(cpu == (int)cpu_id(), 1)) {
		if (resched)
			curr->need_resched = true;
		return -1;
	}
	/* Another CPU. A runner without a slice end would keep t waiting until
	 * it sleeps (start_slice() only works locally): make it reschedule, and
	 * __schedule() there gives it a slice (or switches to t). */
	if (!resched && c->slice_end >= SLICE_NONE)
		resched = true;
	if (!resched)
		return -1;
	curr->need_resched = true;
	return cpu;
}

static inline int check_preempt(struct runqueue *rq, struct thread *t)
{
	struct thread *curr = cpu_list[t->cpu]->current;
	return check_preempt_at(rq, t, curr->idle ? 0 : runner_vruntime(curr));
}

/* --- between sched.c and balance.c ----------------------------------------- */

/* sched.c: t just joined queue rq (t->cpu), rq's lock held: if that is
 * this CPU's queue and its runner has no slice end (it ran alone), start
 * one, so that t runs within a latency period even if the runner never
 * blocks - sooner, once t is owed the CPU (slice_until_owed()). Nothing for
 * another CPU's queue (check_preempt() IPIs it). */
void start_slice(struct runqueue *rq, struct thread *t);

/* percpu.after_switch: rare work for the incoming thread after a switch
 * (sched.c, after_switch_work()); written by this CPU, interrupts off. */
#define AFTER_SWITCH_USER     1u  /* prev or next has user state: user_switch_state() */
#define AFTER_SWITCH_REAP     2u  /* prev exited: free it if detached */
#define AFTER_SWITCH_TIMER    4u  /* the new slice ends before the LAPIC's armed deadline */
#define AFTER_SWITCH_AFFINITY 8u  /* the runner lost this CPU from its mask: sched_fix_affinity() */

/* balance.c: choose a CPU for woken t (its run-queue lock `rq` held,
 * interrupts off, t asleep and off its CPU, more than one CPU online) and
 * move t there. Returns the queue to put t on, locked (rq itself, or
 * another one with rq released); or NULL if rq had to be dropped on the
 * way and t changed meanwhile: both locks are released then, and the
 * caller starts over. */
struct runqueue *sched_wake_move(struct runqueue *rq, struct thread *t, unsigned states);
/* balance.c: lock the queue new thread t joins and set t->cpu to it;
 * returns with that lock held, interrupts off (flags saved) and
 * preemption disabled. */
struct runqueue *sched_lock_new_rq(struct thread *t, unsigned long *flags);
/* balance.c: the idle loop's pull (interrupts off, no lock held); true if a
 * thread was moved onto this CPU's queue. */
bool sched_idle_pull(void);
/* balance.c: periodic balancing from sched_tick() (interrupt context,
 * no lock held). */
void sched_balance_tick(uint64_t now);
/* balance.c: move the threads queued here whose mask leaves this CPU out,
 * and make the running thread leave if its mask does (need_resched, and
 * AFTER_SWITCH_AFFINITY for its next switch). Interrupts off, no run-queue
 * lock held. kick: not in an interrupt handler, so send this CPU a
 * reschedule IPI to reach a preemption point. */
void sched_fix_affinity(bool kick);
/* sched.c: move the calling thread off this CPU if its mask leaves it out
 * (interrupts off, preempt count zero, thread context); returns on an
 * allowed CPU, interrupts still off. */
void sched_move_current(void);
#endif
