/* spinlock.h (host stand-in) - shadows include/weft/spinlock.h for host
 * unit tests, which are single-threaded and have no interrupts or per-CPU
 * data. Provides the same names; a lock is just a flag, and taking a held
 * lock or releasing a free one aborts, so tests catch unbalanced locking
 * (e.g. a lock left held on an error path).
 */
#ifndef WEFT_SPINLOCK_H
#define WEFT_SPINLOCK_H
#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct spinlock {
	volatile uint32_t locked;	/* 0 free, 1 held */
	uint32_t cpu;			/* unused on the host */
	const char *name;
} spinlock_t;

#define SPINLOCK_INIT(n) { .locked = 0, .cpu = ~0u, .name = (n) }

static inline void spin_lock(spinlock_t *l)
{
	if (l->locked)
		abort();	/* would deadlock on the kernel */
	l->locked = 1;
	l->cpu = 0;
}

static inline void spin_unlock(spinlock_t *l)
{
	if (!l->locked)
		abort();
	l->locked = 0;
	l->cpu = ~0u;
}

static inline bool spin_trylock(spinlock_t *l)
{
	if (l->locked)
		return false;
	spin_lock(l);
	return true;
}

/* The "saved flags" are always 0: the host has no interrupt flag. */
static inline unsigned long spin_lock_irqsave(spinlock_t *l)
{
	spin_lock(l);
	return 0;
}

static inline void spin_unlock_irqrestore(spinlock_t *l, unsigned long flags)
{
	(void)flags;
	spin_unlock(l);
}

static inline bool spin_is_held(const spinlock_t *l) { return l->locked != 0; }
#endif
