/* spinlock.h - busy-waiting locks for short critical sections.
 *
 * Ticket locks: a CPU takes the next ticket with one LOCK XADD and waits
 * until `owner` reaches it, so waiters are served in arrival order and
 * none can starve under contention (issue 5's "fair spinlocks"). The
 * uncontended pair is an XADD, a compare and a plain store: these fast
 * paths are inline; the wait loop and the error reports live in
 * kernel/spinlock.c.
 *
 * spin_lock() raises the preempt count for as long as the lock is held, so
 * the holder is never preempted (and schedule() refuses to run, see
 * kernel/sched.c). spin_lock_irqsave() also disables interrupts and returns
 * the caller's RFLAGS, which spin_unlock_irqrestore() puts back: nested
 * irq-saving locks therefore restore exactly the interrupt state each one
 * found, instead of blindly re-enabling interrupts.
 *
 * Order matters in both directions: preemption (and, for the irqsave
 * variant, interrupts) goes off *before* the lock is taken, so the holder
 * cannot be switched out or interrupted into a deadlock on its own lock,
 * and comes back only *after* the release.
 *
 * Debug check, always on: unlocking a lock this CPU does not hold panics
 * with the lock's name.
 */
#ifndef WEFT_SPINLOCK_H
#define WEFT_SPINLOCK_H
#include <stdint.h>
#include <stdbool.h>
#include <arch/irqflags.h>
#include <weft/preempt.h>

typedef struct spinlock {
	union {
		volatile uint32_t word;          /* both halves, for XADD/CMPXCHG */
		struct {
			volatile uint16_t owner; /* ticket now being served */
			volatile uint16_t next;  /* next ticket to hand out */
		};
	};
	uint32_t cpu;                            /* holder's CPU id; ~0 when free */
	const char *name;
} spinlock_t;

#define SPINLOCK_INIT(n) { .word = 0, .cpu = ~0u, .name = (n) }
#define SPIN_TICKET_ONE 0x10000u             /* +1 on `next` in `word` */

/* Out of line: the contended wait, and the report of a bad unlock. */
void spin_lock_wait(spinlock_t *l, uint16_t ticket);
__attribute__((noreturn, cold)) void spin_bad_unlock(const spinlock_t *l);

/* The bare ticket operations, without the holder bookkeeping: for the
 * scheduler's run-queue lock on the switch path, which is taken by one
 * thread and released by the next (kernel/sched.c), so a holder check
 * would not mean anything there. */
static inline void spin_acquire_raw(spinlock_t *l)
{
	uint32_t old = __atomic_fetch_add(&l->word, SPIN_TICKET_ONE, __ATOMIC_ACQUIRE);
	uint16_t ticket = (uint16_t)(old >> 16);
	if (__builtin_expect((uint16_t)old != ticket, 0))
		spin_lock_wait(l, ticket);
}

/* Only the holder writes `owner`: a plain release store of the
 * incremented value is enough (x86 stores are release stores, and a
 * 16-bit store does not disturb `next`, which others XADD). */
static inline void spin_release_raw(spinlock_t *l)
{
	__atomic_store_n(&l->owner, (uint16_t)(l->owner + 1), __ATOMIC_RELEASE);
}

/* Take l; the caller already keeps preemption (and maybe interrupts) off. */
static inline void spin_acquire(spinlock_t *l)
{
	spin_acquire_raw(l);
	l->cpu = cpu_id();
}

/* Release l (held by this CPU), leaving the preempt count alone. */
static inline void spin_release(spinlock_t *l)
{
	if (__builtin_expect(l->cpu != cpu_id(), 0))
		spin_bad_unlock(l);
	l->cpu = ~0u;
	spin_release_raw(l);
}

static inline void spin_lock(spinlock_t *l)
{
	preempt_disable();
	spin_acquire(l);
}

static inline void spin_unlock(spinlock_t *l)
{
	spin_release(l);
	preempt_enable();
}

/* Release without the preemption check (the scheduler's own lock, and
 * interrupt handlers, which are preempted on interrupt exit instead). */
static inline void spin_unlock_no_resched(spinlock_t *l)
{
	spin_release(l);
	preempt_enable_no_resched();
}

static inline unsigned long spin_lock_irqsave(spinlock_t *l)
{
	unsigned long flags = local_irq_save();
	preempt_disable();
	spin_acquire(l);
	return flags;
}

static inline void spin_unlock_irqrestore(spinlock_t *l, unsigned long flags)
{
	spin_release(l);
	local_irq_restore(flags);
	preempt_enable();
}

/* Take l only if it is free right now. */
bool spin_trylock(spinlock_t *l);
/* Held by this CPU (debug assertions and tests). */
static inline bool spin_is_held(const spinlock_t *l)
{
	return l->owner != l->next && l->cpu == cpu_id();
}
#endif
