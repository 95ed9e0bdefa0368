/* sched.h - the scheduler's interface to the rest of the kernel. */
#ifndef WEFT_SCHED_H
#define WEFT_SCHED_H
#include <stdint.h>
#include <stdbool.h>
#include <weft/thread.h>

#define SCHED_LATENCY_NS   6000000ULL   /* every runnable thread runs within ~this */
#define SCHED_MIN_SLICE_NS 1000000ULL   /* never switch more often than this */
#define SCHED_WAKEUP_GRAN_NS 1000000ULL /* a wakee preempts if this much "owed" */

/* Pick the next thread and switch to it. Must be called with preemption
 * enabled (no spinlock held) and outside interrupt context; violating
 * that panics ("scheduling while atomic"). The caller sets its state
 * first: RUNNING to yield, a sleeping state to sleep. */
void schedule(void);
/* Called by switch.S/schedule() on the new thread's stack after every
 * switch: finishes what the previous thread could not do itself. */
void schedule_tail(struct thread *prev);
/* Make a sleeping thread runnable if its state is in `states` (bit mask of
 * 1 << THREAD_*). Any context. Returns true if it was woken. */
bool wake_up_thread(struct thread *t, unsigned states);
#define WAKE_SLEEPERS ((1u << THREAD_INTERRUPTIBLE) | (1u << THREAD_UNINTERRUPTIBLE))
/* Put a newly created thread on a run queue: a bound one on its CPU, others
 * on the creator's CPU while no thread waits there, else on the
 * least-loaded CPU their mask allows (kernel/balance.c). */
void sched_add_new(struct thread *t);
/* Interrupt exit: preempt the interrupted kernel code if it asked for it. */
void preempt_schedule_irq(void);
/* The weight of a priority -20..19 (1024 at 0, about x1.25 per step). */
uint32_t sched_prio_to_weight(int prio);
/* Change t's priority and weight (any thread; takes its run-queue lock). */
void sched_set_weight(struct thread *t, int prio, uint32_t weight);
/* Per-CPU counters for `cpus` and tests (an online CPU; takes its
 * run-queue lock). idle_ns includes an idle stint still in progress. */
struct sched_stats {
	uint64_t switches, preemptions, idle_ns;
	uint64_t migrations;                  /* threads moved onto this CPU from another */
	unsigned nr_running;                  /* waiting in the queue, not counting the runner */
	uint64_t load;                        /* weights of those and the runner (balancing) */
	int curr_tid;                         /* the thread running there now */
	char curr_name[THREAD_NAME_LEN];
};
void sched_get_stats(unsigned cpu, struct sched_stats *out);
/* Test support: CPU `cpu`'s load (the sum of the weights of its threads,
 * kept as they come and go) against the sum counted now from its queue and
 * runner; true if they agree. */
bool sched_load_check(unsigned cpu, uint64_t *stored, uint64_t *counted);

/* Let t run only on the CPUs in `mask` (bit n = CPU n; CPUs that are not
 * online are kept in the mask but ignored). -EINVAL if no online CPU is in
 * it, or t is an idle thread; 0 otherwise, and then:
 *   - t is the caller: if its CPU is not in the mask it moves now, and
 *     returns running on an allowed CPU. Moving needs interrupts on and no
 *     spinlock held (a panic otherwise); staying works in any context.
 *   - t sleeps: it is woken onto an allowed CPU.
 *   - t waits in a run queue of a CPU the mask leaves out: it is moved to
 *     the least-loaded allowed CPU before this returns.
 *   - t runs on such a CPU: that CPU is sent a reschedule IPI, and t moves
 *     at its next preemption or switch (soon, but after this returns).
 * Never sleeps or waits when t is not the caller: callable with spinlocks
 * held that come before the run-queue locks (a process lock, a wait-queue
 * lock), with interrupts on or off. The caller keeps t from being freed. */
int sched_set_affinity_mask(struct thread *t, uint64_t mask);

/* The reschedule IPI's handler (kernel/smp.c), interrupts off: apply
 * affinity changes another CPU asked this one to look at. */
void sched_resched_ipi(void);

/* Boot, on each CPU with interrupts off: `boot` is the running context,
 * which becomes a thread; `idle` is this CPU's idle thread. On an AP they
 * are the same thread: the AP's first context is its idle thread. */
void sched_init_cpu(struct thread *boot, struct thread *idle);
/* The idle loop (enters with interrupts on; never returns). */
thread_fn sched_idle_fn(void);

/* Catch "scheduling while atomic" in tests instead of panicking
 * (<arch/trap.h> trap catch with this pseudo-vector). */
#define CATCH_SCHED_ATOMIC 0x100
#endif
