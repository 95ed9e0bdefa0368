/*
 * sched.c - per-CPU run queues and a fair scheduler.
 *
 * Policy (CFS-like): each thread accumulates vruntime = CPU time scaled by
 * 1024/weight; the runnable thread with the smallest vruntime runs next,
 * so over time each gets CPU in proportion to its weight and none starves.
 * The queue is a leftist heap keyed on (vruntime, arrival order): insert
 * and pop are O(log n) with a recursion depth of at most log2(n) (the
 * right spine of a leftist heap is short), safe on a 16 KiB stack.
 *
 * Locking: each CPU's runqueue.lock guards its heap and the scheduler
 * fields of the threads that belong to it (struct thread). The lock is
 * taken in __schedule() by the outgoing thread and released by the
 * incoming one right after switch_to() (run_next(), or schedule_tail() for
 * a new thread), so the switch itself is atomic with respect to wakeups.
 * Interrupts are off throughout.
 *
 * The classic SMP race - waking a thread whose stack another CPU is still
 * switching away from - is closed by on_cpu: it is cleared only after
 * switch_to() has left the old stack, and a waker
 * that finds it set does not enqueue (the thread is still running; it will
 * see its state back at RUNNING and keep going). The waker holds the
 * thread's run-queue lock, which the switching CPU holds from __schedule()
 * until after on_cpu is cleared, so the waker sees either "running, not
 * yet switching" (on_cpu set) or "switched out" (on_cpu clear), never the
 * middle. A thread belongs to the queue of t->cpu, which changes only under
 * that queue's lock and the lock of the queue it moves to
 * (lock_thread_rq() re-checks it).
 *
 * Other CPUs: which CPU a thread goes to - new, woken, pulled, pushed, or
 * moved by an affinity change - is decided in kernel/balance.c. A wakeup
 * or a new thread for another CPU's queue sets need_resched on that CPU's
 * running thread and sends it a reschedule IPI (kernel/smp.c) when the
 * newcomer should run there now: the CPU is idle, the newcomer is owed the
 * CPU, or the running thread has no slice end yet (it ran alone; its next
 * pass through __schedule() gives it one). The IPI handler only looks for
 * affinity work (sched_resched_ipi()); the interrupt exit path switches.
 * A running thread whose mask loses its CPU moves itself
 * (sched_move_current()) from its next preemption, or from the switch
 * path (AFTER_SWITCH_AFFINITY) if it yields or sleeps first.
 */
#include "sched_rq.h"
#include <weft/timer.h>
#include <weft/time.h>
#include <weft/panic.h>
#include <weft/printk.h>
#include <weft/errno.h>
#include <weft/string.h>
#include <arch/switch.h>
#include <arch/trap.h>
#include <arch/irqflags.h>
#include <arch/usermode.h>
#include <weft/vm.h>
#include <weft/smp.h>

struct runqueue runqueues[MAX_CPUS];

/* --- priorities ------------------------------------------------------------ */

/* 1024 * 1.25^-prio, rounded: each step is ~10% more or less CPU. */
static const uint32_t prio_weight[40] = {
	88818, 71054, 56843, 45475, 36380, 29104, 23283, 18626, 14901, 11921,
	9537,  7629,  6104,  4883,  3906,  3125,  2500,  2000,  1600,  1280,
	1024,  819,   655,   524,   419,   336,   268,   215,   172,   137,
	110,   88,    70,    56,    45,    36,    29,    23,    18,    15,
};

uint32_t sched_prio_to_weight(int prio)
{
	if (prio < PRIO_MIN)
		prio = PRIO_MIN;
	if (prio > PRIO_MAX)
		prio = PRIO_MAX;
	return prio_weight[prio - PRIO_MIN];
}

/* --- the leftist heap (the inline half is in sched_rq.h) ------------------- */

struct thread *heap_merge_nonnull(struct thread *a, struct thread *b)
{
	if (before(b, a)) {
		struct thread *x = a;
		a = b;
		b = x;
	}
	struct thread *r = heap_merge(a->heap_right, b);
	a->heap_right = r;
	r->heap_parent = a;
	if (rank(a->heap_left) < rank(r)) {
		a->heap_right = a->heap_left;
		a->heap_left = r;
	}
	a->heap_rank = rank(a->heap_right) + 1;
	return a;
}

/* Take the first thread out of the heap. */
static inline struct thread *pop_top(struct runqueue *rq)
{
	struct thread *t = rq->heap;
	struct thread *h = heap_merge(t->heap_left, t->heap_right);
	if (h)
		h->heap_parent = NULL;
	rq->heap = h;
	make_node(t);
	return t;
}

/* Take t out of the heap wherever it is: its merged subtrees take its
 * place, and ranks are repaired upward (swapping children where the
 * leftist rule broke) until a rank stays the same. Run-queue lock held. */
void heap_remove(struct runqueue *rq, struct thread *t)
{
	struct thread *p = t->heap_parent;
	struct thread *m = heap_merge(t->heap_left, t->heap_right);
	if (m)
		m->heap_parent = p;
	if (!p) {
		rq->heap = m;
	} else {
		if (p->heap_left == t)
			p->heap_left = m;
		else
			p->heap_right = m;
		for (; p; p = p->heap_parent) {
			if (rank(p->heap_left) < rank(p->heap_right)) {
				struct thread *x = p->heap_left;
				p->heap_left = p->heap_right;
				p->heap_right = x;
			}
			uint32_t r = rank(p->heap_right) + 1;
			if (r == p->heap_rank)
				break;
			p->heap_rank = r;
		}
	}
	make_node(t);
	set_nr_running(rq, rq->nr_running - 1);
	add_load(rq, -(int64_t)t->weight);
}

/* The running thread `prev` goes back in the queue and the first thread
 * comes out, as one operation: if prev is still strictly first it simply
 * keeps the CPU (unless it yields: then any waiting thread goes first);
 * otherwise the top's two subtrees and prev make the new heap.
 * nr_running does not change. (Equal vruntimes go to the waiting thread.
 * prev keeps its old heap_seq: having just run, it cannot tie with the
 * threads that waited.) */
/* A yielding thread goes no earlier than the thread it gives way to:
 * otherwise, with three or more threads, two yielders with small vruntimes
 * could hand the CPU back and forth while the third waits. It gives up
 * the credit it had, which is what yielding means. */
static inline void yield_behind(struct thread *prev, const struct thread *top)
{
	if ((int64_t)(prev->vruntime - top->vruntime) < 0)
		prev->vruntime = top->vruntime;
}

static struct thread *requeue_and_pick(struct runqueue *rq, struct thread *prev, bool yield)
{
	struct thread *top = rq->heap;
	if (!top || (!yield && (int64_t)(prev->vruntime - top->vruntime) < 0))
		return prev;
	if (yield)
		yield_behind(prev, top);
	pop_top(rq);
	rq->heap = heap_merge(rq->heap, prev);
	return top;
}

static struct thread *dequeue_min(struct runqueue *rq)
{
	if (!rq->heap)
		return NULL;
	set_nr_running(rq, rq->nr_running - 1);
	return pop_top(rq);
}

/* --- accounting ------------------------------------------------------------ */

/* NICE_0_WEIGHT (sched_rq.h), the weight of a default-priority thread:
 * its vruntime advances at the rate of real time, with no multiply or
 * divide (the switch fast path). The idle thread's weight is 0, which
 * sends it down the general paths. */

/* Charge t for delta ns of CPU (its exec_start_ns is the caller's to move).
 * False for the idle thread, whose time counts as the CPU's idle time. */
static inline bool charge(struct runqueue *rq, struct thread *t, uint64_t delta)
{
	t->cpu_time_ns += delta;
	if (__builtin_expect(t->weight == NICE_0_WEIGHT, 1)) {
		t->vruntime += delta;
		return true;
	}
	if (t->idle) {
		rq->idle_ns += delta;
		return false;
	}
	t->vruntime += delta * NICE_0_WEIGHT / t->weight;
	return true;
}

/* Charge the running thread for the time since it last was charged. */
static inline void update_curr(struct runqueue *rq, struct thread *t, uint64_t now)
{
	uint64_t delta = now - t->exec_start_ns;
	t->exec_start_ns = now;
	charge(rq, t, delta);
}

/* A thread joining the queue after a sleep (or new) starts no further back
 * than half a latency period: sleeping earns a little priority, not a
 * monopoly. */
static uint64_t place(struct runqueue *rq, struct thread *t, uint64_t *now)
{
	uint64_t runner = refresh_min_vruntime_at(rq, (unsigned)t->cpu, now);
	uint64_t floor = rq->min_vruntime - SCHED_LATENCY_NS / 2;
	if ((int64_t)(t->vruntime - floor) < 0)
		t->vruntime = floor;
	return runner;   /* the runner's vruntime at *now, for check_preempt_at() */
}

/* --- the tick ---------------------------------------------------------------- */

/* How long `curr`, which ran alone, keeps the CPU now that t joined its
 * queue without being owed it yet (curr's vruntime, charged to now, is
 * `runner`). Policy: until t is owed it - until curr leads t by the wake-up
 * granularity, the lead at which check_preempt_at() would have switched to
 * t at once - or for one slice, whichever ends first. A wakee that falls
 * just short of the granularity thus waits for the rest of it, not for a
 * whole new slice (3 ms with two threads) more than one just past it. The
 * difference is large when the waker keeps doing what woke t: a lock
 * holder preempted inside its critical section made t sleep on the lock,
 * and musl's unlock calls FUTEX_WAKE on every unlock until t has run and
 * taken its waiter count back - a system call per iteration for as long as
 * t waits (t_bench mutex-short). Only start_slice_at() calls it, for its
 * own CPU, under the run-queue lock. */
static inline uint64_t slice_until_owed(const struct runqueue *rq, const struct thread *curr,
					const struct thread *t, uint64_t runner)
{
	int64_t left = (int64_t)SCHED_WAKEUP_GRAN_NS - (int64_t)(runner - t->vruntime);
	if (left < 0)
		return rq->slice;  /* owed already: on a wake-up check_preempt_at() asked for
				    * a switch (same runner value); the slice is a backstop */
	/* curr's vruntime grows by NICE_0_WEIGHT / weight per ns it runs. */
	uint64_t ns = curr->weight == NICE_0_WEIGHT ? (uint64_t)left
			: (uint64_t)left * curr->weight / NICE_0_WEIGHT;
	return ns < rq->slice ? ns : rq->slice;
}

/* A thread joined this CPU's queue: if the running thread has no slice
 * deadline (it was alone), give it one now, or a thread that never yields
 * would keep the CPU forever; it ends when the newcomer is owed the CPU
 * (slice_until_owed()). `runner` is the running thread's vruntime at
 * clock value `now`, both from refresh_min_vruntime_at() under this hold
 * of the lock (unused when the runner is idle). Run-queue lock held.
 * (Every path that puts a thread on the caller's own queue calls it;
 * check_preempt() covers another CPU's.) */
static inline void start_slice_at(struct runqueue *rq, struct thread *t, uint64_t runner,
				  uint64_t now)
{
	unsigned cpu = (unsigned)t->cpu;
	struct percpu *c = this_cpu();
	struct thread *curr = c->current;
	if (cpu != c->cpu_id || c->slice_end < SLICE_NONE || curr->idle)
		return; /* another CPU: check_preempt() sends it a reschedule IPI */
	c->slice_end = now + slice_until_owed(rq, curr, t, runner);
	if (c->slice_end < c->timer_armed)
		timer_program(now);
}

/* The same for callers without a runner vruntime at hand (balance.c). */
void start_slice(struct runqueue *rq, struct thread *t)
{
	struct thread *curr = this_cpu()->current;
	uint64_t now = clock_monotonic_ns();
	start_slice_at(rq, t, curr->idle ? 0 : runner_vruntime_at(curr, now), now);
}

/* Timer interrupt (kernel/timer.c): ask for a switch when the slice ends;
 * now and then, balance (only a CPU with threads waiting has slices, so
 * only such a CPU gets here regularly: it pushes work to idle and lighter
 * CPUs, balance.c). */
void sched_tick(void)
{
	struct runqueue *rq = this_rq();
	struct thread *curr = current();
	spin_lock(&rq->lock);
	uint64_t now = clock_monotonic_ns();
	update_curr(rq, curr, now);
	bool waiting = rq->nr_running != 0;
	struct percpu *c = this_cpu();
	if (now >= c->slice_end) {
		if (waiting) {
			curr->need_resched = true;
			/* The switch comes at the next preemption point, which
			 * may be far off (preemption off: a lock held, a wait
			 * for another CPU's answer). Left in the past, the slice
			 * end would re-arm the LAPIC for "now" on every return
			 * from here until then - an interrupt storm, on real
			 * hardware a CPU that crawls; under QEMU's single-
			 * threaded TCG one interrupt per round of all vCPUs.
			 * The switch gives the next thread a fresh slice. */
			c->slice_end = now + rq->slice;
		} else
			/* The threads that waited were taken away (pulled, pushed,
			 * moved by an affinity change) and the runner is alone: it
			 * has no slice (as after a switch with nothing waiting).
			 * Left in the past, the slice end would re-arm the LAPIC
			 * for "now" on every return from here - an interrupt storm
			 * for as long as the runner runs. A thread that joins later
			 * starts a slice (start_slice(), or check_preempt()'s IPI). */
			c->slice_end = now + SLICE_NONE;
	}
	spin_unlock_no_resched(&rq->lock);
	if (waiting && now >= rq->next_balance && smp_online_cpus() > 1)
		sched_balance_tick(now);
}

/* --- switching ---------------------------------------------------------------- */

/*
 * A switch, step by step (every yield, sleep and preemption):
 *
 *   __schedule()   prev's stack, interrupts off: take the run-queue lock,
 *                  charge prev, choose next, make it current (TSS.RSP0
 *                  follows), give it a slice;
 *   switch_to()    switch.S: callee-saved registers and RSP;
 *   after it       next's stack: prev->on_cpu = false (prev may now run
 *                  elsewhere, or be freed), unlock; rare work (user state,
 *                  a zombie to reap, the LAPIC to re-arm) is flagged in
 *                  percpu.after_switch and done by after_switch_work().
 *
 * The fast path handles the shapes that dominate - prev goes back in the
 * queue (or sleeps) and the thread to run is a heap leaf, a default-weight
 * prev, an uncontended lock - with no calls but switch_to(), so the
 * compiler keeps everything in scratch registers: no saves beyond the ones
 * switch_to() itself makes. Everything else goes to schedule_general(),
 * which is the same steps without the shortcuts.
 */

static __attribute__((noreturn, noinline, cold)) void report_atomic(void)
{
	struct thread *t = current();
	struct trap_catch *tc = this_cpu()->trap_catch;
	pr_emerg("BUG: scheduling while atomic: thread '%s' (tid %d) on CPU %u, preempt count "
		 "%u, irq depth %u\n", t->name, t->tid, cpu_id(), preempt_count(),
		 this_cpu()->irq_depth);
	if (tc && tc->expect_vector == CATCH_SCHED_ATOMIC) {
		tc->caught = true;
		tc->vector = CATCH_SCHED_ATOMIC;
		trap_catch_disarm();
		longjmp(&tc->jb, 1);
	}
	panic("scheduling while atomic (a spinlock is held or we are in an interrupt)");
}

/* The rare part of finishing a switch, on the incoming thread's stack with
 * interrupts off and the run-queue lock held. prev is the thread switched
 * away from, or NULL when the running thread kept the CPU. Once prev's
 * on_cpu clears, a joiner on another CPU may free it (thread_join): what
 * is needed of it is read before. */
static __attribute__((noinline)) void after_switch_work(struct thread *prev)
{
	struct percpu *c = this_cpu();
	unsigned work = c->after_switch;
	c->after_switch = 0;
	if (work & AFTER_SWITCH_USER)
		user_switch_state(c, prev, c->current); /* before prev may run elsewhere */
	bool reap = (work & AFTER_SWITCH_REAP) && prev->detached; /* only a detached zombie */
	if (prev)
		__atomic_store_n(&prev->on_cpu, false, __ATOMIC_RELEASE);
	if (__builtin_expect(c->rq->lock.owner == c->rq->lock.next, 0))
		panic("after a switch on CPU %u: the run-queue lock is not held", c->cpu_id);
	spin_release_raw(&c->rq->lock);
	if (reap)
		thread_reap_if_detached(prev);
	if (__builtin_expect(work & (AFTER_SWITCH_TIMER | AFTER_SWITCH_AFFINITY), 0)) {
		if (work & AFTER_SWITCH_TIMER)
			timer_program(clock_monotonic_ns());
		/* A thread lost this CPU from its mask while it ran here: prev,
		 * if it went back in the queue, moves now; if the running thread
		 * (prev kept the CPU, or next) may not run here either, a self
		 * IPI takes it to the preemption point, which moves it. */
		if (work & AFTER_SWITCH_AFFINITY)
			sched_fix_affinity(true);
	}
}

/*
 * Run next on this CPU: run-queue lock held, interrupts off, prev charged
 * and (if it stays runnable) already back in the queue. Returns on prev's
 * stack when prev runs again, with the lock released; or at once when
 * next == prev.
 */
static inline __attribute__((always_inline)) void run_next(struct percpu *c,
		struct runqueue *rq, struct thread *prev, struct thread *next, uint64_t now)
{
	next->state = THREAD_RUNNING;
	next->exec_start_ns = now;
	uint64_t end = now + rq->slice;    /* a slice only when others wait */
	c->slice_end = end;
	if (__builtin_expect(end < c->timer_armed, 0))
		c->after_switch |= AFTER_SWITCH_TIMER;
	if (next == prev) {
		/* Exactly one release, here or in after_switch_work(). */
		if (__builtin_expect(c->after_switch != 0, 0))
			after_switch_work(NULL);
		else
			spin_release_raw(&rq->lock);
		return;
	}
	rq->switches++;
	next->nr_switches++;
	next->on_cpu = true;
	c->current = next;
	c->kernel_stack_top = c->tss.rsp[0] = next->stack.top; /* TSS.RSP0 follows */
	/* User threads: FPU state, FS base, address space, I/O bitmap. */
	if (__builtin_expect((uintptr_t)prev->fpu | (uintptr_t)next->mm, 0))
		c->after_switch |= AFTER_SWITCH_USER;
	prev = switch_to(prev, next);
	/* Running as `next` again, some time later, perhaps on another CPU;
	 * `prev` is whichever thread switched to us. */
	if (__builtin_expect(percpu_read(after_switch) != 0, 0)) {
		after_switch_work(prev);
	} else {
		__atomic_store_n(&prev->on_cpu, false, __ATOMIC_RELEASE);
		spin_release_raw(&percpu_read(rq)->lock);
	}
}

/* Why __schedule() runs. */
enum sched_mode {
	SCHED_SLEEP,    /* schedule(): prev sleeps in the state it set (RUNNING: it was woken) */
	SCHED_PREEMPT,  /* prev is preempted: it keeps the CPU while it is fairly first */
	SCHED_YIELD,    /* thread_yield(): any other runnable thread goes first */
};

/*
 * Choose and run the next thread, the general way: run-queue lock held,
 * interrupts off, prev charged. When preempted or yielding, prev stays
 * runnable whatever its state says (it may have been preempted between
 * prepare_to_wait() and its condition check; it will simply look again).
 */
static __attribute__((noinline)) void schedule_general(struct thread *prev,
						       enum sched_mode mode, uint64_t now)
{
	struct percpu *c = this_cpu();
	struct runqueue *rq = c->rq;
	struct thread *next;
	if (!prev->idle && (prev->state == THREAD_RUNNING ||
			    (mode != SCHED_SLEEP && prev->state != THREAD_ZOMBIE))) {
		next = requeue_and_pick(rq, prev, mode == SCHED_YIELD);
		if (next != prev)
			prev->state = THREAD_RUNNABLE;
	} else {
		if (prev->state == THREAD_ZOMBIE)
			c->after_switch |= AFTER_SWITCH_REAP;
		if (prev->idle)
			prev->state = THREAD_RUNNABLE; /* idle is never queued, but is ready */
		add_load(rq, -(int64_t)prev->weight);  /* leaves the CPU (idle: 0) */
		next = dequeue_min(rq);
		if (!next)
			next = rq->idle;
		else if (prev->idle && now + BUSY_TICK_NS < c->timer_armed)
			/* Out of idle, which may have stopped the LAPIC: arm the
			 * busy tick (timer.c). Switches between threads keep
			 * the deadline armed while the last one ran. */
			c->after_switch |= AFTER_SWITCH_TIMER;
	}
	run_next(c, rq, prev, next, now);
}

/* The run-queue lock was busy: wait for it, then go the general way. */
static __attribute__((noinline)) void schedule_contended(enum sched_mode mode, uint8_t ticket)
{
	struct percpu *c = this_cpu();
	spin_lock_wait(&c->rq->lock, ticket);
	struct thread *prev = c->current;
	uint64_t now = clock_monotonic_ns();
	update_curr(c->rq, prev, now);
	prev->need_resched = false;
	schedule_general(prev, mode, now);
}

/*
 * The one place threads switch. Interrupts must be on when it is called
 * (they are off on return: the callers below restore them), preemption
 * on, and no interrupt handler running.
 */
static inline __attribute__((always_inline)) void __schedule(enum sched_mode mode)
{
	if (__builtin_expect(in_atomic(), 0))
		report_atomic();
	local_irq_disable();
	struct percpu *c = this_cpu();
	struct runqueue *rq = c->rq;
	struct thread *prev = c->current;
	/* Raw: the lock is released by whichever thread runs next. */
	uint8_t ticket;
	if (__builtin_expect(!spin_take_ticket(&rq->lock, &ticket), 0)) {
		schedule_contended(mode, ticket);
		return;
	}
	uint64_t now = clock_monotonic_ns();
	prev->need_resched = false;
	if (__builtin_expect(!charge(rq, prev, now - prev->exec_start_ns), 0)) {
		schedule_general(prev, mode, now);  /* the idle thread */
		return;
	}
	struct thread *top = rq->heap, *next;
	if (mode != SCHED_SLEEP || prev->state == THREAD_RUNNING) {
		/* prev stays runnable: it keeps the CPU while it is strictly
		 * first (or alone, when it yields), else it swaps places with
		 * the top, a leaf (a leaf's links are NULL, and so are prev's:
		 * it is outside the heap). */
		if (!top || (mode != SCHED_YIELD && (int64_t)(prev->vruntime - top->vruntime) < 0)) {
			next = prev;
		} else if (__builtin_expect(top->heap_left != NULL, 0)) {
			schedule_general(prev, mode, now);
			return;
		} else {
			if (mode == SCHED_YIELD)
				yield_behind(prev, top);
			rq->heap = prev;
			prev->state = THREAD_RUNNABLE;
			next = top;
		}
	} else {
		/* prev sleeps: the top, if it is the only one, runs. */
		if (__builtin_expect(!top || top->heap_left || prev->state == THREAD_ZOMBIE, 0)) {
			schedule_general(prev, mode, now);
			return;
		}
		rq->heap = NULL;
		set_nr_running(rq, 0);
		add_load(rq, -(int64_t)prev->weight);
		next = top;
	}
	run_next(c, rq, prev, next, now);
}

/* Callers must have interrupts on, except thread_exit(), which never
 * comes back. */
void schedule(void)
{
	__schedule(SCHED_SLEEP);
	local_irq_enable();
}

/* A new thread's first code (switch.S thread_start) finishes the switch
 * that started it; interrupts are still off, and thread_start enables them. */
void schedule_tail(struct thread *prev)
{
	after_switch_work(prev);
}

bool wake_up_thread(struct thread *t, unsigned states)
{
	unsigned long f;
	struct runqueue *rq;
	bool woke;
	int ipi = -1;
again:
	rq = lock_thread_rq(t, &f);
	woke = false;
	if ((1u << t->state) & states) {
		woke = true;
		if (t->on_cpu) {
			/* Still on its CPU between prepare_to_wait() and the switch:
			 * schedule() will find it RUNNING and keep it. */
			t->state = THREAD_RUNNING;
		} else {
			/* Which CPU (balance.c): the one-CPU case costs this test. */
			if (__builtin_expect(smp_online_cpus() > 1, 0)) {
				rq = sched_wake_move(rq, t, states);
				if (__builtin_expect(!rq, 0)) {
					local_irq_restore(f);
					preempt_enable();
					goto again;
				}
			}
			t->state = THREAD_RUNNABLE;
			uint64_t now;   /* 0 if this CPU's runner is idle: no clock read */
			uint64_t runner = place(rq, t, &now);
			/* Runnable, waiting from now (the hung-thread detector, lockup.c). */
			t->exec_start_ns = now ? now : clock_monotonic_ns();
			enqueue(rq, t);
			ipi = check_preempt_at(rq, t, runner);
			start_slice_at(rq, t, runner, now);
		}
	}
	/* spin_unlock_irqrestore() in three steps, to send the IPI while
	 * interrupts are still off (the target may be switching to t before we
	 * return: t must not be touched after the unlock). */
	spin_release(&rq->lock);
	if (__builtin_expect(ipi >= 0, 0))
		smp_send_resched((unsigned)ipi);
	local_irq_restore(f);
	preempt_enable();
	return woke;
}

/* New threads go where sched_lock_new_rq() (balance.c) says: a bound
 * one to its CPU; others to the creator's CPU while nothing waits there,
 * else to the least-loaded CPU their mask allows. */
void sched_add_new(struct thread *t)
{
	unsigned long f;
	struct runqueue *rq = sched_lock_new_rq(t, &f);
	int cpu = t->cpu, ipi = -1;
	uint64_t now;
	uint64_t runner = refresh_min_vruntime_at(rq, (unsigned)cpu, &now);
	t->vruntime = rq->min_vruntime;
	t->state = THREAD_RUNNABLE;
	t->exec_start_ns = now ? now : clock_monotonic_ns();   /* waits from now (lockup.c) */
	enqueue(rq, t);
	if (cpu == (int)cpu_id())
		start_slice_at(rq, t, runner, now); /* here, a new thread never preempts its creator */
	else
		ipi = check_preempt_at(rq, t, runner);
	spin_release(&rq->lock);
	if (ipi >= 0)
		smp_send_resched((unsigned)ipi);
	local_irq_restore(f);
	preempt_enable();
}

void preempt_schedule_irq(void)
{
	/* Interrupts are off: we are on entry.S's exit path with a trap frame
	 * on this stack. The thread sleeps here, in the middle of whatever
	 * it was doing, and resumes through the same IRETQ later (interrupts
	 * still off: __schedule() leaves them so). A thread whose mask no
	 * longer allows this CPU leaves it from here instead. */
	struct percpu *c = this_cpu();
	runqueues[c->cpu_id].preemptions++;
	while (current()->need_resched) {
		if (__builtin_expect(!cpu_allowed(current(), cpu_id()), 0))
			sched_move_current();
		else
			__schedule(SCHED_PREEMPT);
	}
}

/* preempt_enable() found need-resched at count zero. */
void preempt_schedule(void)
{
	/* (No affinity check here: a thread that lost this CPU while running
	 * is flagged in percpu.after_switch, and this switch moves it.) */
	if (irqs_enabled() && percpu_read(irq_depth) == 0) {
		__schedule(SCHED_PREEMPT);
		local_irq_enable();
	}
}

/* Give the CPU to another runnable thread of this CPU, if there is one. */
void thread_yield(void)
{
	__schedule(SCHED_YIELD);
	local_irq_enable();
}

void sched_set_weight(struct thread *t, int prio, uint32_t weight)
{
	unsigned long f;
	struct runqueue *rq = lock_thread_rq(t, &f);
	/* Counted in rq->load while queued or running there (a thread not
	 * yet placed is neither: it is RUNNING by its zeroed state, but no
	 * CPU's current). */
	if (t->state == THREAD_RUNNABLE || cpu_list[rq_cpu(rq)]->current == t)
		add_load(rq, (int64_t)weight - (int64_t)t->weight);
	t->prio = prio;
	t->weight = weight;
	spin_unlock_irqrestore(&rq->lock, f);
}

/* The self-IPI of sched_move_current(): runs on the old CPU once the
 * thread is off it (interrupts were off from its sleep to the switch). */
static void migrate_wake(void *arg)
{
	wake_up_thread(arg, 1u << THREAD_UNINTERRUPTIBLE);
}

/* Sleep with interrupts off and leave them off (sched_move_current). */
static __attribute__((noinline)) void schedule_irqs_off(void)
{
	__schedule(SCHED_SLEEP);
}

/*
 * Move the calling thread to a CPU its mask allows. It cannot enqueue
 * itself elsewhere while it runs here (its stack is in use until the switch
 * is over), so it goes to sleep and has the wakeup done for it on this CPU
 * *after* the switch: a call queued for this CPU, whose IPI this CPU takes
 * only once interrupts are on again - in the next thread, after its switch
 * is done. wake_up_thread() then places it (balance.c), which never picks
 * a CPU outside the mask. Another waker may wake it first (a wait queue it
 * was about to sleep on, say): the thread then comes back either elsewhere
 * or, if the wakeup came before the switch, still here, and the loop tries
 * again. Either way its caller sees a spurious wakeup at worst, as after
 * any preemption.
 */
void sched_move_current(void)
{
	struct thread *t = current();
	for (;;) {
		struct runqueue *rq = this_rq();
		spin_lock(&rq->lock);
		bool ok = cpu_allowed(t, cpu_id());
		if (!ok) {
			t->state = THREAD_UNINTERRUPTIBLE;
			t->wait_name = "migrate";
		}
		spin_unlock_no_resched(&rq->lock);
		if (ok)
			return;
		struct smp_call_entry e;
		smp_call_queue(cpu_id(), &e, migrate_wake, t, true);
		schedule_irqs_off();
		t->wait_name = NULL;
		/* e lives in this frame: the old CPU sets e.done after
		 * migrate_wake() returns; it may still be finishing. */
		smp_call_wait(&e);
	}
}

void sched_get_stats(unsigned cpu, struct sched_stats *out)
{
	struct runqueue *rq = &runqueues[cpu];
	unsigned long f = spin_lock_irqsave(&rq->lock);
	out->switches = rq->switches;
	out->preemptions = rq->preemptions;
	out->idle_ns = rq->idle_ns;
	out->migrations = rq->migrations;
	out->nr_running = rq->nr_running;
	out->load = rq->load;
	/* The running thread: it cannot be freed while it is current (on_cpu). */
	struct thread *curr = cpu_list[cpu]->current;
	uint64_t now = clock_monotonic_ns();
	if (curr->idle && now > curr->exec_start_ns) /* the idle stint in progress */
		out->idle_ns += now - curr->exec_start_ns;
	out->curr_tid = curr->tid;
	memcpy(out->curr_name, curr->name, sizeof out->curr_name);
	spin_unlock_irqrestore(&rq->lock, f);
}

/* --- boot -------------------------------------------------------------------- */

/* Before it halts, an idle CPU tries to pull a waiting thread from the
 * busiest other CPU (balance.c); the reschedule IPI of a CPU that pushes
 * work here, or that balances, brings it back round the loop. */
static void *idle_loop(void *arg)
{
	(void)arg;
	for (;;) {
		local_irq_disable();
		if (current()->need_resched || this_rq()->nr_running ||
		    (smp_online_cpus() > 1 && sched_idle_pull())) {
			local_irq_enable();
			schedule();
			continue;
		}
		safe_halt(); /* STI;HLT: a wakeup interrupt cannot slip in between */
	}
	return NULL;
}

void sched_init_cpu(struct thread *boot, struct thread *idle)
{
	struct runqueue *rq = &runqueues[cpu_id()];
	this_cpu()->rq = rq;
	rq->lock = (spinlock_t)SPINLOCK_INIT("runqueue");
	rq->idle = idle;
	boot->on_cpu = true;
	boot->state = THREAD_RUNNING;
	boot->cpu = (int)cpu_id();
	boot->exec_start_ns = clock_monotonic_ns();
	this_cpu()->current = boot;
	this_cpu()->timer_armed = TIMER_NEVER;
	percpu_set_kernel_stack(boot->stack.top);
	idle->idle = true;
	idle->weight = 0;          /* charge() counts its time as idle time */
	rq->load = boot->weight;   /* 0 on an AP: there boot is idle */
	idle->heap_rank = boot->heap_rank = 1; /* outside the heap: see make_node() */
	rq->next_balance = clock_monotonic_ns();
	idle->cpu = (int)cpu_id();
	if (idle != boot)
		idle->state = THREAD_RUNNABLE; /* waits for its first switch */
}

thread_fn sched_idle_fn(void) { return idle_loop; }
