/* spinlock.h - busy-waiting locks for short critical sections.
 *
 * spin_lock() raises the preempt count for as long as the lock is held, so
 * the holder is never preempted (and schedule() refuses to run, see
 * kernel/sched). spin_lock_irqsave() also disables interrupts and returns
 * the caller's RFLAGS, which spin_unlock_irqrestore() puts back: nested
 * irq-saving locks therefore restore exactly the interrupt state each one
 * found, instead of blindly re-enabling interrupts.
 */
#ifndef WEFT_SPINLOCK_H
#define WEFT_SPINLOCK_H
#include <stdint.h>
#include <stdbool.h>
#include <arch/irqflags.h>
#include <weft/preempt.h>

typedef struct spinlock {
	volatile uint32_t locked;	/* 0 free, 1 held */
	uint32_t cpu;			/* holder's CPU id, for debugging */
	const char *name;
} spinlock_t;

#define SPINLOCK_INIT(n) { .locked = 0, .cpu = ~0u, .name = (n) }

void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
bool spin_trylock(spinlock_t *l);
unsigned long spin_lock_irqsave(spinlock_t *l);
void spin_unlock_irqrestore(spinlock_t *l, unsigned long flags);
bool spin_is_held(const spinlock_t *l);
/* Release without the preemption check (the scheduler's own lock, and
 * paths that must not switch: interrupt handlers calling into the
 * scheduler). */
void spin_unlock_no_resched(spinlock_t *l);
#endif
