/* mutex.h - sleeping locks built on wait queues (kernel/mutex.c).
 * None of these may be used from interrupt context or with a spinlock
 * held (they can sleep; schedule() panics if they do). */
#ifndef WEFT_MUTEX_H
#define WEFT_MUTEX_H
#include <stdint.h>
#include <stdbool.h>
#include <weft/wait.h>

struct thread;

/* Mutex: one owner; only the owner may unlock (anyone else panics).
 * Handed over directly to the first waiter on unlock, so a thread that
 * keeps re-locking cannot starve the others. */
struct mutex {
	struct thread *volatile owner;  /* guarded by wq.lock */
	struct wait_queue wq;
	const char *name;
};
void mutex_init(struct mutex *m, const char *name);
void mutex_lock(struct mutex *m);
bool mutex_trylock(struct mutex *m);
void mutex_unlock(struct mutex *m);
bool mutex_is_owner(const struct mutex *m);

/* Counting semaphore. */
struct semaphore {
	volatile int64_t count;         /* guarded by wq.lock */
	struct wait_queue wq;
};
void sem_init(struct semaphore *s, int64_t count, const char *name);
void sem_down(struct semaphore *s);
/* Interruptible with timeout (0 = none): 0, -EINTR or -ETIMEDOUT. */
int sem_down_timeout(struct semaphore *s, uint64_t timeout_ns);
bool sem_trydown(struct semaphore *s);
void sem_up(struct semaphore *s);

/* Condition variable, used with a mutex the caller holds. */
struct condvar {
	struct wait_queue wq;
	volatile uint64_t seq;          /* bumped by every signal/broadcast */
};
void condvar_init(struct condvar *cv, const char *name);
/* Atomically release m and sleep; re-acquire m before returning.
 * May return spuriously: callers loop on their predicate. */
void condvar_wait(struct condvar *cv, struct mutex *m);
void condvar_signal(struct condvar *cv);
void condvar_broadcast(struct condvar *cv);
#endif
