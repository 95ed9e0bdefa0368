/*
 * spinlock.c - the slow paths of the ticket locks in <weft/spinlock.h>.
 */
#include <weft/spinlock.h>
#include <weft/panic.h>
#include <arch/cpu.h>
#include <arch/percpu.h>

/* Contended: our ticket is taken; spin on reads (no bus locking) until the
 * holder's release store hands the lock to us. */
void spin_lock_wait(spinlock_t *l, uint8_t ticket)
{
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		cpu_relax();
}

void spin_bad_unlock(const spinlock_t *l)
{
	panic("spin_unlock of '%s': not held by this CPU (holder %d)",
	      l->name ? l->name : "?", l->cpu == ~0u ? -1 : (int)l->cpu);
}

bool spin_tryacquire(spinlock_t *l)
{
	uint16_t old = l->word;
	if ((uint8_t)old != (uint8_t)(old >> 8) ||
	    !__atomic_compare_exchange_n(&l->word, &old, (uint16_t)(old + SPIN_TICKET_ONE), false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return false;
	l->cpu = cpu_id();
	return true;
}

bool spin_trylock(spinlock_t *l)
{
	preempt_disable();
	if (!spin_tryacquire(l)) {
		preempt_enable();
		return false;
	}
	return true;
}
