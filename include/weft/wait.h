/* wait.h - wait queues, and completions built on them (kernel/wait.c).
 *
 * Sleeping on a condition without losing a wakeup:
 *
 *	struct wait_entry w;
 *	for (;;) {
 *		prepare_to_wait(&wq, &w, THREAD_INTERRUPTIBLE);
 *		if (condition)
 *			break;
 *		if (thread_killed(current()))  { err = -EINTR; break; }
 *		schedule();
 *	}
 *	finish_wait(&wq, &w);
 *
 * prepare_to_wait() queues the thread and sets its state to sleeping
 * *before* the condition is tested. A waker sets the condition and then
 * calls wake_up(), which puts every queued sleeper back to running. If the
 * wakeup lands between the test and schedule(), the thread is already
 * running again and schedule() simply keeps it: the window is closed by
 * ordering, not by holding a lock across schedule().
 */
#ifndef WEFT_WAIT_H
#define WEFT_WAIT_H
#include <stdbool.h>
#include <stdint.h>
#include <weft/list.h>
#include <weft/spinlock.h>

struct thread;

struct wait_queue {
	spinlock_t lock;          /* guards `waiters` */
	struct list_head waiters; /* struct wait_entry, FIFO */
	const char *name;         /* shown by `ps` as what a sleeper waits on */
};

struct wait_entry {
	struct thread *thread;
	struct list_head link;    /* on wait_queue.waiters while queued */
	bool queued;
};

#define WAIT_QUEUE_INIT(wq, n) { SPINLOCK_INIT(n), LIST_HEAD_INIT((wq).waiters), (n) }
void wait_queue_init(struct wait_queue *wq, const char *name);

/* state: THREAD_INTERRUPTIBLE or THREAD_UNINTERRUPTIBLE. */
void prepare_to_wait(struct wait_queue *wq, struct wait_entry *w, int state);
void finish_wait(struct wait_queue *wq, struct wait_entry *w);
/* Wake the first sleeper / all sleepers. Any context (interrupts too).
 * Returns how many threads were woken. */
int wake_up_one(struct wait_queue *wq);
int wake_up_all(struct wait_queue *wq);
/* The same (one, or all) with wq->lock already held by the caller.
 *
 * Lifetime: a waker must not touch the queue once a waiter can have seen
 * its condition, returned and freed the object the queue lives in. Setting
 * the condition, unlocking and then calling wake_up_one() breaks that: the
 * waiter may see the condition between the two (without ever sleeping)
 * and be gone. So an object its waiters may free - a completion, a
 * semaphore, a condition variable - changes its state word under wq->lock
 * and wakes with wake_up_locked() before the unlock, whose release is then
 * the waker's last touch. (wait_event() leaves only through finish_wait(),
 * which takes the lock.) */
int wake_up_locked(struct wait_queue *wq, bool all);

/* Sleep until cond_fn(arg) is true, the thread is killed (interruptible:
 * -EINTR) or timeout_ns passes (0 = no timeout; -ETIMEDOUT). 0 on success. */
int wait_event(struct wait_queue *wq, bool (*cond_fn)(void *), void *arg, int state,
	       uint64_t timeout_ns);

/* Completions: a one-way "it happened" with a count. */
struct completion {
	unsigned done;
	struct wait_queue wq;
};
void completion_init(struct completion *c);
void complete(struct completion *c);        /* wakes one waiter */
void complete_all(struct completion *c);    /* wakes all, now and later */
void wait_for_completion(struct completion *c);
/* Interruptible, with timeout (0 = none): 0, -EINTR or -ETIMEDOUT. */
int wait_for_completion_timeout(struct completion *c, uint64_t timeout_ns);
#endif
