/* spinlock.h - busy-waiting locks for short critical sections.
 *
 * Ticket locks: a CPU takes the next ticket with one LOCK XADD and waits
 * until `owner` reaches it, so waiters are served in arrival order and
 * none can starve under contention (issue 5's "fair spinlocks"). The
 * uncontended pair is an XADD, a compare and an increment: these fast
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
		volatile uint16_t word;          /* both tickets, for XADD/CMPXCHG */
		struct {
			volatile uint8_t owner;  /* ticket now being served */
			volatile uint8_t next;   /* next ticket to hand out */
		};
	};
	uint32_t cpu;                            /* holder's CPU id; ~0 when free */
	const char *name;
} spinlock_t;

#define SPINLOCK_INIT(n) { .word = 0, .cpu = ~0u, .name = (n) }
#define SPIN_TICKET_ONE 0x100u               /* +1 on `next` in `word` */

/* Byte tickets: every waiter holds a distinct ticket, so they must not
 * wrap. A CPU waits on a given lock at most once per context it can be
 * in (thread, interrupt, NMI), far below 256. */
_Static_assert(3 * MAX_CPUS < 256, "spinlock tickets are bytes");

/* Out of line: the contended wait, and the report of a bad unlock. */
void spin_lock_wait(spinlock_t *l, uint8_t ticket);
__attribute__((noreturn, cold)) void spin_bad_unlock(const spinlock_t *l);

/* Take a ticket: true if it is the one being served (the lock is ours),
 * false if *ticket must wait (spin_lock_wait). One XADD and one compare
 * of its two result bytes. */
static inline bool spin_take_ticket(spinlock_t *l, uint8_t *ticket)
{
	uint16_t t = SPIN_TICKET_ONE;
	__asm__ volatile("lock xaddw %0, %1" : "+Q"(t), "+m"(l->word) : : "memory", "cc");
	*ticket = (uint8_t)(t >> 8);
	return (uint8_t)t == (uint8_t)(t >> 8);
}

/* The bare ticket operations, without the holder bookkeeping: for the
 * scheduler's run-queue lock on the switch path, which is taken by one
 * thread and released by the next (kernel/sched.c), so a holder check
 * would not mean anything there. */
static inline void spin_acquire_raw(spinlock_t *l)
{
	uint8_t ticket;
	if (__builtin_expect(!spin_take_ticket(l, &ticket), 0))
		spin_lock_wait(l, ticket);
}

/* Only the holder writes `owner`, so a plain increment of that byte is a
 * correct release (x86 stores are release stores; the XADDs of others
 * change only `next`, and a locked XADD cannot interleave with it). */
static inline void spin_release_raw(spinlock_t *l)
{
	__asm__ volatile("incb %0" : "+m"(l->owner) : : "memory", "cc");
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
/* The same without touching the preempt count (the caller keeps
 * preemption off, like spin_acquire). */
bool spin_tryacquire(spinlock_t *l);
/* Held by this CPU (debug assertions and tests). */
static inline bool spin_is_held(const spinlock_t *l)
{
	return l->owner != l->next && l->cpu == cpu_id();
}
#endif
