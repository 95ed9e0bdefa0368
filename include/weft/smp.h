/* smp.h - running code on other CPUs, and waking them (kernel/smp.c).
 *
 * CPUs 0 .. cpu_count-1 are online (<arch/percpu.h>); weft never takes
 * one offline. Two IPIs tie them together:
 *
 *   VEC_RESCHED  "look at need_resched": sent by wakeups that put a thread
 *                on another CPU's queue (kernel/sched.c). The handler does
 *                nothing; the interrupt exit path switches threads.
 *   VEC_CALL     "run the calls queued for you": smp_call() and friends.
 *                Each CPU has a FIFO of struct smp_call_entry under its own
 *                lock; the handler runs them in order, interrupts off.
 *
 * Deadlock rule for waiting: smp_call(..., wait = true) needs preemption
 * on (no spinlock held, not in an interrupt handler) - a CPU that holds a
 * lock and waits for another CPU spinning on that lock with interrupts off
 * would wait forever. Interrupts may be off: a waiter with interrupts off
 * runs the calls queued for its own CPU while it waits, so two CPUs that
 * call each other that way both make progress.
 */
#ifndef WEFT_SMP_H
#define WEFT_SMP_H
#include <stdint.h>
#include <stdbool.h>
#include <arch/percpu.h>

typedef uint64_t cpumask_t;                 /* bit n = logical CPU n */
#define CPUMASK_ALL (~(cpumask_t)0)

/* How many CPUs are online now (an acquire load: they are fully set up). */
static inline unsigned smp_online_cpus(void)
{
	return __atomic_load_n(&cpu_count, __ATOMIC_ACQUIRE);
}

typedef void (*smp_call_fn)(void *arg);

/* Run fn(arg) on `cpu`, or on every online CPU in `mask`, in interrupt
 * context there (interrupts off; keep it short, never sleep). The calling
 * CPU, if selected, runs fn directly with interrupts off. wait: return only
 * after every fn has returned (see the deadlock rule above); otherwise
 * return once they are queued (fn and arg must stay valid until they run).
 * 0, -EINVAL (smp_call: cpu not online) or -ENOMEM (!wait: no memory for
 * a queue entry; the other CPUs still get theirs). Thread context, or
 * interrupt handlers with wait = false. */
int smp_call(unsigned cpu, smp_call_fn fn, void *arg, bool wait);
int smp_call_mask(cpumask_t mask, smp_call_fn fn, void *arg, bool wait);

/* A queue entry the caller owns (it must outlive the call). */
struct smp_call_entry {
	struct smp_call_entry *next;         /* on the target's queue, under its lock */
	smp_call_fn fn;
	void *arg;
	unsigned flags;                      /* SMP_CALL_* (smp.c) */
	volatile bool done;                  /* wait entries: set once fn has returned */
};
/* Queue e for `cpu`, which may be this CPU (then it runs when this CPU next
 * takes interrupts: the scheduler's trick for "after I am switched out",
 * sched_migrate_self). wait: the target sets e->done after fn returns, and
 * e must live until smp_call_wait(e) says so; else e is not touched after
 * fn starts (fn may free it). Any context but NMI. */
void smp_call_queue(unsigned cpu, struct smp_call_entry *e, smp_call_fn fn, void *arg,
		    bool wait);
/* Spin until a wait entry's fn has run (serving our own queue meanwhile
 * if interrupts are off). */
void smp_call_wait(struct smp_call_entry *e);

/* Make `cpu` (not necessarily another one) look at its need_resched soon. */
void smp_send_resched(unsigned cpu);
/* t was just given work to notice before it returns to user mode (a
 * pending signal, a kill), and it may be running in ring 3 on another CPU,
 * where nothing else would interrupt it (no periodic tick): send that CPU
 * a reschedule IPI, whose exit path through exit_to_user_mode() finds the
 * work. Call after publishing the work; cheap and harmless if t is not
 * running there (a spurious IPI). Any context but NMI. */
struct thread;
void smp_kick_thread(struct thread *t);

/* Boot CPU, before other CPUs start: install the two IPI handlers. */
void smp_init(void);
#endif
