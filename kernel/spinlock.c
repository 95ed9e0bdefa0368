/*
 * spinlock.c - test-and-test-and-set spinlocks. See <weft/spinlock.h>.
 *
 * Order matters in both directions: preemption (and, for the irqsave
 * variant, interrupts) goes off *before* the lock is taken, so the holder
 * cannot be switched out or interrupted into a deadlock on its own lock;
 * and comes back only *after* the release. Fair (ticket) locks come with
 * SMP in issue 5.
 */
#include <weft/spinlock.h>
#include <weft/panic.h>
#include <arch/cpu.h>
#include <arch/percpu.h>

static inline void lock_acquire(spinlock_t *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE)) {
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			cpu_relax();  /* spin on a read: no cache-line ping-pong */
	}
	l->cpu = cpu_id();
}

static inline void lock_release(spinlock_t *l)
{
	if (!l->locked || l->cpu != cpu_id())
		panic("spin_unlock of '%s': not held by this CPU", l->name ? l->name : "?");
	l->cpu = ~0u;
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

void spin_lock(spinlock_t *l)
{
	preempt_disable();
	lock_acquire(l);
}

void spin_unlock(spinlock_t *l)
{
	lock_release(l);
	preempt_enable();
}

void spin_unlock_no_resched(spinlock_t *l)
{
	lock_release(l);
	preempt_enable_no_resched();
}

bool spin_trylock(spinlock_t *l)
{
	preempt_disable();
	if (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE)) {
		preempt_enable();
		return false;
	}
	l->cpu = cpu_id();
	return true;
}

unsigned long spin_lock_irqsave(spinlock_t *l)
{
	unsigned long flags = local_irq_save();
	preempt_disable();
	lock_acquire(l);
	return flags;
}

void spin_unlock_irqrestore(spinlock_t *l, unsigned long flags)
{
	lock_release(l);
	local_irq_restore(flags);
	preempt_enable();
}

bool spin_is_held(const spinlock_t *l) { return l->locked && l->cpu == cpu_id(); }

