/*
 * balance.c - which CPU a thread runs on: placement of new and woken
 * threads, idle CPUs pulling work, periodic balancing, and CPU affinity
 * masks. kernel/sched.c switches threads on one CPU; this file moves them
 * between CPUs. Both share the run queues of sched_rq.h.
 *
 * What may move. A thread moves only while it is off every CPU (on_cpu
 * clear): asleep (it is simply woken onto another queue), or waiting in a
 * run queue (taken out of one heap and put in another). A running thread
 * is never moved by another CPU; if its mask no longer allows its CPU, it
 * leaves by itself (sched_move_current() in sched.c) at its next
 * preemption or switch. Never moved: idle threads, and a thread onto a
 * CPU its mask leaves out. User threads move like kernel threads: the
 * address-space side follows CR3 (mm->cpus, mm/tlb.c), whichever CPU the
 * thread lands on.
 *
 * Locks. t->cpu changes only with both run-queue locks held, the old
 * queue's and the new one's, taken in address order (rq_lock_two(), or
 * rq_lock_second() when one is held already: it tries the other and, if
 * that would break the order, drops and retakes, and the caller checks
 * again what it had read). So "t->state == RUNNABLE, t->cpu == n, !on_cpu"
 * means "t is in queue n's heap" to anyone holding queue n's lock - there
 * is no moment in transit between two queues. Interrupts are off
 * whenever a run-queue lock is held. Loads of other CPUs (rq_load()) are
 * read without their locks: they choose, the locked code re-checks.
 *
 * vruntime between queues. Each queue's clock (min_vruntime) is its own,
 * so a moving thread keeps its lag - its distance to the old queue's
 * min_vruntime - on the new queue, not its absolute value. A sleeper's
 * lag is then capped by place() (sched.c) as on any wakeup; a queued
 * thread's by move_queued().
 *
 * Placement (where a thread goes when it becomes runnable):
 *   woken (sched_wake_move)   the CPU it last ran on if it is idle, or it
 *                             is pinned there; else the waker's CPU if the
 *                             waker is a thread (not an interrupt) and
 *                             nothing waits there (what it just wrote is
 *                             in that CPU's cache); else the least-loaded
 *                             allowed CPU (ties: last CPU, waker's CPU).
 *   new (select_new_cpu)      the creator's CPU while nothing waits there;
 *                             else the least-loaded allowed CPU.
 * Load is the sum of the weights (sched_prio_to_weight) of the threads on
 * a CPU, waiting ones plus the runner: two nice-19 threads weigh less than
 * one at nice 0, and a CPU with only them is the place for the next one.
 *
 * Balancing:
 *   pull  An idle CPU, before it halts (sched_idle_pull(), from the idle
 *         loop), takes one waiting thread from the busiest CPU that has a
 *         thread waiting behind a running one.
 *   push  A CPU with threads waiting gets timer interrupts at slice ends
 *         (a CPU running one thread alone gets none). Every
 *         SCHED_BALANCE_NS, sched_tick() calls sched_balance_tick(), which
 *         moves one waiting thread to the least-loaded CPU if that narrows
 *         the gap between their loads (its weight is less than the gap:
 *         with equal weights, a difference of two threads or more), and
 *         IPIs it. An idle CPU is halted and
 *         cannot pull later work by itself: the push is what wakes it.
 * Both look at no more than BALANCE_SCAN queued threads for one they may
 * move, starting with the next to run (the heap in pre-order).
 */
#include "sched_rq.h"
#include <weft/errno.h>
#include <weft/time.h>
#include <weft/panic.h>
#include <arch/irqflags.h>

#define SCHED_BALANCE_NS (4 * NSEC_PER_MSEC)  /* periodic balancing, per CPU */
#define BALANCE_SCAN 32                      /* queued threads looked at per attempt */

static inline uint64_t online_mask(void)
{
	unsigned n = smp_online_cpus();
	return n >= 64 ? ~0ULL : cpu_bit(n) - 1;
}

/* The load of `cpu`: the weights of its threads, waiting and running (the
 * idle thread weighs 0, so an idle CPU's load is 0). Read without that
 * CPU's lock, so only a hint. */
static inline uint64_t rq_load(unsigned cpu)
{
	return __atomic_load_n(&runqueues[cpu].load, __ATOMIC_RELAXED);
}

/* Threads waiting on `cpu` behind a running thread (0 if it is idle: a
 * queued thread there is about to run). A hint, as rq_load(). */
static inline unsigned rq_waiting(unsigned cpu)
{
	struct runqueue *rq = &runqueues[cpu];
	if (__atomic_load_n(&cpu_list[cpu]->current, __ATOMIC_RELAXED) == rq->idle)
		return 0;
	return __atomic_load_n(&rq->nr_running, __ATOMIC_RELAXED);
}

/* The least-loaded CPU of `allowed` (not empty). Ties go to a, then b,
 * then the lowest number. */
static unsigned least_loaded(uint64_t allowed, unsigned a, unsigned b)
{
	unsigned best = (unsigned)__builtin_ctzll(allowed);
	uint64_t best_load = ~0ULL;
	if ((allowed >> a) & 1) {
		best = a;
		best_load = rq_load(a);
	}
	if (b != a && ((allowed >> b) & 1)) {
		uint64_t l = rq_load(b);
		if (l < best_load) {
			best = b;
			best_load = l;
		}
	}
	for (uint64_t m = allowed & ~cpu_bit(a) & ~cpu_bit(b); m && best_load; m &= m - 1) {
		unsigned cpu = (unsigned)__builtin_ctzll(m);
		uint64_t l = rq_load(cpu);
		if (l < best_load) {
			best = cpu;
			best_load = l;
		}
	}
	return best;
}

/* --- moving a thread between queues ------------------------------------------ */

static void rq_lock_two(struct runqueue *a, struct runqueue *b)
{
	if (a > b) {
		struct runqueue *x = a;
		a = b;
		b = x;
	}
	spin_acquire(&a->lock);
	spin_acquire(&b->lock);
}

static void rq_unlock_two(struct runqueue *a, struct runqueue *b)
{
	spin_release(&a->lock);
	spin_release(&b->lock);
}

/* Holding `held` (interrupts off), take `other` too without breaking the
 * address order. True if `held` stayed held throughout; false if it had to
 * be dropped and retaken (both are held either way): whatever the caller
 * read under it must be checked again. */
static bool rq_lock_second(struct runqueue *held, struct runqueue *other)
{
	if (held < other) {
		spin_acquire(&other->lock);
		return true;
	}
	if (spin_tryacquire(&other->lock))
		return true;
	spin_release(&held->lock);
	spin_acquire(&other->lock);
	spin_acquire(&held->lock);
	return false;
}

/* Take queued t (in src's heap, off every CPU) to dst. Both locks held.
 * It keeps its lag behind src's min_vruntime, but starts no further back
 * than half a latency period (as a woken thread, place() in sched.c). */
static void move_queued(struct runqueue *src, struct runqueue *dst, struct thread *t)
{
	refresh_min_vruntime(src, rq_cpu(src));
	int64_t lag = (int64_t)(t->vruntime - src->min_vruntime);
	if (lag < -(int64_t)(SCHED_LATENCY_NS / 2))
		lag = -(int64_t)(SCHED_LATENCY_NS / 2);
	heap_remove(src, t);
	t->cpu = (int)rq_cpu(dst);
	refresh_min_vruntime(dst, rq_cpu(dst));
	t->vruntime = dst->min_vruntime + (uint64_t)lag;
	enqueue(dst, t);
	dst->migrations++;
}

/* What heap_find() looks for: a thread to take to `cpu`, weighing at
 * most `max_weight`. */
struct target {
	unsigned cpu;
	uint64_t max_weight;
};
typedef bool (*thread_pred)(const struct thread *t, const struct target *to);

/* The thread after n in pre-order of its heap, or NULL. Walks with the
 * parent links: no stack, whatever the heap's shape. Lock held. */
static struct thread *heap_next(struct thread *n)
{
	if (n->heap_left)          /* (a leftist node without a left child has none) */
		return n->heap_left;
	/* A leaf: up to the nearest ancestor whose right subtree is next. */
	for (;;) {
		struct thread *p = n->heap_parent;
		if (!p)
			return NULL;
		if (n == p->heap_left && p->heap_right)
			return p->heap_right;
		n = p;
	}
}

/* The first thread of rq's heap, in pre-order (the root is the next to
 * run), that ok(t, to) accepts, looking at no more than `limit`. Lock
 * held. */
static struct thread *heap_find(struct runqueue *rq, thread_pred ok, const struct target *to,
				unsigned limit)
{
	for (struct thread *n = rq->heap; n && limit--; n = heap_next(n))
		if (ok(n, to))
			return n;
	return NULL;
}

bool sched_load_check(unsigned cpu, uint64_t *stored, uint64_t *counted)
{
	struct runqueue *rq = &runqueues[cpu];
	unsigned long f = spin_lock_irqsave(&rq->lock);
	uint64_t sum = cpu_list[cpu]->current->weight;  /* the runner (idle: 0) */
	for (struct thread *n = rq->heap; n; n = heap_next(n))
		sum += n->weight;
	*stored = rq->load;
	*counted = sum;
	spin_unlock_irqrestore(&rq->lock, f);
	return sum == *stored;
}

/* May balancing take t to `cpu`? (Queued threads are never on a CPU
 * while their queue is locked; the test is a guard.) */
static bool can_move_to(const struct thread *t, const struct target *to)
{
	return !t->on_cpu && cpu_allowed(t, to->cpu) && t->weight <= to->max_weight;
}

static bool misplaced(const struct thread *t, const struct target *here)
{
	return !t->on_cpu && !cpu_allowed(t, here->cpu);
}

/* --- placement -------------------------------------------------------------- */

static unsigned select_wake_cpu(const struct thread *t, uint64_t allowed)
{
	unsigned prev = (unsigned)t->cpu, me = cpu_id();
	if ((allowed >> prev) & 1) {
		if (!(allowed & ~cpu_bit(prev)) || rq_load(prev) == 0)
			return prev;
	}
	if (((allowed >> me) & 1) && percpu_read(irq_depth) == 0 && !current()->idle &&
	    __atomic_load_n(&runqueues[me].nr_running, __ATOMIC_RELAXED) == 0)
		return me;
	return least_loaded(allowed, prev, me);
}

struct runqueue *sched_wake_move(struct runqueue *rq, struct thread *t, unsigned states)
{
	uint64_t allowed = t->affinity & online_mask();
	unsigned from = rq_cpu(rq);
	unsigned cpu = select_wake_cpu(t, allowed);
	if (cpu == from)
		return rq;
	struct runqueue *to = &runqueues[cpu];
	if (!rq_lock_second(rq, to) &&
	    (t->cpu != (int)from || !((1u << t->state) & states) || t->on_cpu ||
	     !cpu_allowed(t, cpu))) {
		/* Woken by someone else, or its mask changed, while rq was
		 * dropped: start over. */
		rq_unlock_two(rq, to);
		return NULL;
	}
	refresh_min_vruntime(rq, from);
	int64_t lag = (int64_t)(t->vruntime - rq->min_vruntime);
	t->cpu = (int)cpu;
	/* Both clocks brought up to date first: `to`'s min_vruntime moves
	 * only where threads join it, and a runner alone there may have run
	 * far past it - a lag measured from the stale value would put t
	 * ahead of that runner (place() then clamps it to the most a sleeper
	 * may be owed) instead of keeping its lag. */
	refresh_min_vruntime(to, cpu);
	t->vruntime = to->min_vruntime + (uint64_t)lag;   /* place() caps it */
	to->migrations++;
	spin_release(&rq->lock);
	return to;
}

static unsigned select_new_cpu(struct thread *t)
{
	unsigned me = cpu_id();
	uint64_t allowed = t->affinity & online_mask();
	if (!allowed)
		panic("thread %d '%s': no online CPU in its mask %#lx", t->tid, t->name,
		      (unsigned long)t->affinity);
	if (((allowed >> me) & 1) &&
	    __atomic_load_n(&runqueues[me].nr_running, __ATOMIC_RELAXED) == 0)
		return me;
	return least_loaded(allowed, me, me);
}

/* A new thread's mask and t->cpu (its home queue: the creator's CPU, set
 * in thread_alloc) change only under the home queue's lock, like any
 * thread's, so the CPU is chosen under it: a sched_set_affinity_mask() on
 * the newcomer (findable in the global thread list from thread_alloc on,
 * though a process's list has it only once it runs) either comes first and
 * is obeyed, or finds it in its new queue, runnable, and moves it. */
struct runqueue *sched_lock_new_rq(struct thread *t, unsigned long *flags)
{
	for (;;) {
		struct runqueue *home = lock_thread_rq(t, flags);
		unsigned cpu = smp_online_cpus() == 1 ? cpu_id() : select_new_cpu(t);
		struct runqueue *rq = &runqueues[cpu];
		if (rq == home)
			return rq;
		if (rq_lock_second(home, rq) ||
		    (t->cpu == (int)rq_cpu(home) && cpu_allowed(t, cpu))) {
			t->cpu = (int)cpu;       /* under both locks */
			spin_release(&home->lock);
			return rq;
		}
		spin_release(&rq->lock);          /* home was dropped: choose again */
		spin_unlock_irqrestore(&home->lock, *flags);
	}
}

/* --- balancing -------------------------------------------------------------- */

bool sched_idle_pull(void)
{
	unsigned me = cpu_id(), n = smp_online_cpus();
	struct runqueue *dst = &runqueues[me];
	uint64_t tried = cpu_bit(me);
	for (;;) {
		unsigned src_cpu = ~0u, most = 0;
		for (unsigned cpu = 0; cpu < n; cpu++) {
			unsigned w = (tried >> cpu) & 1 ? 0 : rq_waiting(cpu);
			if (w > most) {
				most = w;
				src_cpu = cpu;
			}
		}
		if (src_cpu == ~0u)
			return false;
		tried |= cpu_bit(src_cpu);
		struct runqueue *src = &runqueues[src_cpu];
		bool moved = false;
		preempt_disable();
		rq_lock_two(dst, src);
		if (!dst->nr_running) {
			struct target to = { me, ~0ULL };
			struct thread *t = heap_find(src, can_move_to, &to, BALANCE_SCAN);
			if (t) {
				move_queued(src, dst, t);
				moved = true;
			}
		}
		rq_unlock_two(dst, src);
		preempt_enable_no_resched();
		if (moved || dst->nr_running)
			return true;
	}
}

void sched_balance_tick(uint64_t now)
{
	unsigned me = cpu_id(), n = smp_online_cpus();
	struct runqueue *src = &runqueues[me];
	src->next_balance = now + SCHED_BALANCE_NS;
	uint64_t tried = cpu_bit(me);
	const uint64_t lightest = sched_prio_to_weight(PRIO_MAX);
	for (;;) {
		uint64_t mine = rq_load(me), least = ~0ULL;
		unsigned dst_cpu = ~0u;
		for (unsigned cpu = 0; cpu < n; cpu++) {
			uint64_t l = (tried >> cpu) & 1 ? ~0ULL : rq_load(cpu);
			if (l < least) {
				least = l;
				dst_cpu = cpu;
			}
		}
		if (dst_cpu == ~0u || least + lightest >= mine)
			return;             /* no thread could narrow the gap */
		tried |= cpu_bit(dst_cpu);
		struct runqueue *dst = &runqueues[dst_cpu];
		int ipi = -1;
		bool moved = false;
		rq_lock_two(src, dst);          /* interrupt context: preemption is off */
		if (dst->load < src->load) {
			/* Moving weight w turns the gap g into |g - 2w|: narrower
			 * exactly when w < g. With equal weights: a difference
			 * of two threads or more, never of one. */
			struct target to = { dst_cpu, src->load - dst->load - 1 };
			struct thread *t = heap_find(src, can_move_to, &to, BALANCE_SCAN);
			if (t) {
				move_queued(src, dst, t);
				ipi = check_preempt(dst, t);
				moved = true;
			}
		}
		rq_unlock_two(src, dst);
		if (ipi >= 0)
			smp_send_resched((unsigned)ipi);
		if (moved)
			return;   /* one move per tick */
	}
}

/* --- affinity ------------------------------------------------------------------ */

void sched_fix_affinity(bool kick)
{
	unsigned me = cpu_id();
	struct runqueue *rq = &runqueues[me];
	uint64_t online = online_mask(), ipis = 0;
	preempt_disable();
	spin_acquire(&rq->lock);
	rq->affinity_check = false;
	struct thread *t;
	struct target here = { me, 0 };
	while ((t = heap_find(rq, misplaced, &here, ~0u))) {
		uint64_t allowed = t->affinity & online;
		if (!allowed)   /* (sched_set_affinity_mask() never stores such a mask) */
			panic("thread %d '%s': no online CPU in its mask %#lx", t->tid, t->name,
			      (unsigned long)t->affinity);
		unsigned cpu = least_loaded(allowed, me, me);
		struct runqueue *dst = &runqueues[cpu];
		if (!rq_lock_second(rq, dst)) {
			spin_release(&dst->lock);    /* rq was dropped: look again */
			continue;
		}
		move_queued(rq, dst, t);
		int ipi = check_preempt(dst, t);
		spin_release(&dst->lock);
		if (ipi >= 0)
			ipis |= cpu_bit((unsigned)ipi);
	}
	struct thread *curr = cpu_list[me]->current;
	bool leave = !curr->idle && !cpu_allowed(curr, me);
	if (leave) {
		/* Preempted, it leaves (preempt_schedule_irq); if it switches
		 * another way first, after_switch_work() comes back here. */
		curr->need_resched = true;
		this_cpu()->after_switch |= AFTER_SWITCH_AFFINITY;
	}
	spin_release(&rq->lock);
	preempt_enable_no_resched();
	for (; ipis; ipis &= ipis - 1)
		smp_send_resched((unsigned)__builtin_ctzll(ipis));
	if (leave && kick)
		smp_send_resched(me);
}

void sched_resched_ipi(void)
{
	if (__atomic_load_n(&this_rq()->affinity_check, __ATOMIC_ACQUIRE))
		sched_fix_affinity(false);
}

/* The caller's own mask. Moving needs a context that may sleep. */
static void set_own_mask(struct thread *t, uint64_t mask)
{
	unsigned long f = local_irq_save();
	struct runqueue *rq = this_rq();
	spin_lock(&rq->lock);
	t->affinity = mask;
	bool stay = cpu_allowed(t, cpu_id());
	spin_unlock_no_resched(&rq->lock);
	if (!stay) {
		if (!(f & RFLAGS_IF) || preempt_count())
			panic("sched_set_affinity_mask: moving the current thread needs interrupts "
			      "on and no lock held");
		sched_move_current();
	}
	local_irq_restore(f);
}

int sched_set_affinity_mask(struct thread *t, uint64_t mask)
{
	uint64_t online = online_mask();
	if (!(mask & online) || t->idle)
		return -EINVAL;
	if (t == current()) {
		set_own_mask(t, mask);
		return 0;
	}
	unsigned long f;
	struct runqueue *rq;
	unsigned cpu;
	int ipi = -1;
	for (;;) {
		rq = lock_thread_rq(t, &f);
		t->affinity = mask;
		cpu = (unsigned)t->cpu;
		if (cpu_allowed(t, cpu) || t->state != THREAD_RUNNABLE || t->on_cpu)
			break;
		/* Waiting in this queue: move it now. */
		unsigned to = least_loaded(mask & online, cpu_id(), cpu_id());
		struct runqueue *dst = &runqueues[to];
		if (rq_lock_second(rq, dst) ||
		    (t->cpu == (int)cpu && t->state == THREAD_RUNNABLE && !t->on_cpu &&
		     !cpu_allowed(t, cpu) && cpu_allowed(t, to))) {
			move_queued(rq, dst, t);
			ipi = check_preempt(dst, t);
			/* dst may be the caller's own queue: a caller that ran
			 * alone has no slice end and would keep t waiting until
			 * it blocks. */
			start_slice(dst, t);
			spin_release(&dst->lock);
			break;
		}
		spin_release(&dst->lock);           /* changed while rq was dropped */
		spin_unlock_irqrestore(&rq->lock, f);
	}
	bool kick = !cpu_allowed(t, cpu) && t->on_cpu;
	if (kick)
		rq->affinity_check = true;  /* running there: its CPU makes it leave */
	spin_release(&rq->lock);
	if (ipi >= 0)
		smp_send_resched((unsigned)ipi);
	if (kick)
		smp_send_resched(cpu);
	local_irq_restore(f);
	preempt_enable();
	return 0;
}
