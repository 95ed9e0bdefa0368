/*
 * spinlock.c - the slow paths of the ticket locks in <weft/spinlock.h>.
 */
#include <weft/spinlock.h>
#include <weft/panic.h>
#include <weft/time.h>
#include <weft/bootopt.h>
#include <arch/cpu.h>
#include <arch/percpu.h>

/* A wait of boot_options.spin_timeout_s (spin_timeout=S, default 20 s) is
 * a deadlock, not contention: nothing holds a spinlock for more than
 * microseconds, and even a virtual CPU the host has descheduled comes back
 * long before. The check costs a clock read per 4096 spins, on the slow
 * path only. */
static __attribute__((noinline, cold)) void spin_deadlock(spinlock_t *l, uint8_t ticket,
							   uint64_t waited_ns)
{
	/* The panic NMIs every other CPU and prints each one's backtrace:
	 * the holder's shows where it is stuck. `cpu` is the last CPU that
	 * recorded itself as holder (the raw run-queue paths do not). */
	panic("spinlock '%s' not acquired after %lu s: deadlock? (last recorded holder: CPU %d; "
	      "serving ticket %u, ours %u)",
	      l->name ? l->name : "?", (unsigned long)(waited_ns / NSEC_PER_SEC),
	      l->cpu == ~0u ? -1 : (int)l->cpu, (unsigned)l->owner, (unsigned)ticket);
}

/* Contended: our ticket is taken; spin on reads (no bus locking) until the
 * holder's release store hands the lock to us. */
void spin_lock_wait(spinlock_t *l, uint8_t ticket)
{
	uint64_t start = 0;
	for (unsigned n = 1; __atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket; n++) {
		cpu_relax();
		if (__builtin_expect(n % 4096 == 0, 0)) {
			uint64_t now = clock_monotonic_ns();
			if (!start)
				start = now;
			else if (now - start > (uint64_t)boot_options.spin_timeout_s * NSEC_PER_SEC &&
				 !panic_in_progress())
				spin_deadlock(l, ticket, now - start);
		}
	}
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
