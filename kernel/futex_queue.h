/*
 * futex_queue.h - the futex wait queues, private to kernel/futex.c (wait,
 * wake, requeue, the system call) and kernel/futex_pi.c (priority-
 * inheritance locks, robust lists, what a dying owner leaves behind).
 *
 * A futex is named by its key: (address space, user address, shared). A
 * shared key is what the ops without FUTEX_PRIVATE_FLAG use; as on Linux
 * it is a different futex from the private one at the same address, so a
 * shared FUTEX_WAKE (or the wake a robust owner's death makes) does not
 * wake a FUTEX_WAIT_PRIVATE waiter. weft has no memory shared between
 * address spaces yet, so a shared key is still local to its mm.
 *
 * Waiters hang in one of FUTEX_NBUCKETS hash buckets chosen by (mm,
 * address) - both kinds of a key share a bucket. A bucket's spinlock
 * (taken with interrupts off) guards its list and every field of the
 * waiters in it: woken, uaddr, b (requeue moves waiters), owner. Lock
 * order: bucket lock, then a process's lock, then run-queue locks.
 */
#ifndef WEFT_FUTEX_QUEUE_H
#define WEFT_FUTEX_QUEUE_H
#include <weft/list.h>
#include <weft/spinlock.h>
#include <stdbool.h>
#include <stdint.h>

#define FUTEX_WAITERS    0x80000000u
#define FUTEX_OWNER_DIED 0x40000000u
#define FUTEX_TID_MASK   0x3fffffffu
#define FUTEX_BITSET_ANY 0xffffffffu
#define FUTEX_NBUCKETS   64

struct mm;
struct thread;

struct futex_bucket {
	spinlock_t lock;
	struct list_head waiters;
};

struct futex_waiter {
	struct list_head link;
	struct mm *mm;
	uint64_t uaddr;
	uint32_t bitset;
	struct thread *t;
	struct futex_bucket *b; /* the bucket it hangs in (requeue moves it) */
	uint32_t val;           /* FUTEX_WAIT: the value it saw (for futex_dump) */
	uint32_t owner;         /* FUTEX_LOCK_PI: the TID of the thread it waits for */
	bool woken;
	bool pi;
	bool shared;            /* queued by an op without FUTEX_PRIVATE_FLAG */
};

/* Is w a waiter on the futex (mm, uaddr, shared)? */
static inline bool futex_waiter_is(const struct futex_waiter *w, struct mm *mm, uint64_t uaddr,
				   bool shared)
{
	return w->mm == mm && w->uaddr == uaddr && w->shared == shared;
}

struct futex_bucket *futex_bucket_of(struct mm *mm, uint64_t uaddr);
/* Bucket i < FUTEX_NBUCKETS, once any bucket is in use. */
struct futex_bucket *futex_bucket_nr(unsigned i);
/* Lock b and read the word: 0 with the lock held (irqs saved in *flags),
 * or -EFAULT with it not held. `write`: fault the page in writable. */
int futex_lock_and_read(struct futex_bucket *b, uint64_t uaddr, bool write, uint32_t *val,
			unsigned long *flags);
/* Fault the word in (no lock held): 0, or -EFAULT for a bad address. */
int futex_fault_in_word(uint64_t uaddr, bool write);
/* Take w off its bucket's list and wake it (its bucket's lock held). */
void futex_wake_waiter(struct futex_waiter *w);
/* Sleep on w (queued under its bucket lock, state set) until woken, the
 * deadline (0 = none) passes, or a signal. 0 if woken, -ETIMEDOUT, or
 * -ERESTARTSYS; w is off the list on return. No lock held. */
int futex_sleep_on(struct futex_waiter *w, uint64_t deadline);
/* Wake up to n non-PI waiters on the futex (mm, uaddr, shared). */
long futex_wake_key(struct mm *mm, uint64_t uaddr, bool shared, int n, uint32_t bitset);

long futex_lock_pi(uint64_t uaddr, bool shared, int64_t deadline, bool try_only);
long futex_unlock_pi(uint64_t uaddr, bool shared);
#endif
