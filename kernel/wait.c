/*
 * wait.c - wait queues and completions. See <weft/wait.h> for the
 * sleep/wake protocol and why no wakeup is lost.
 *
 * Ordering: prepare_to_wait() sets the sleeping state while holding the
 * queue lock, and wake_up_*() reads it under the same lock after the waker
 * made its condition true. Either the waker finds the sleeper queued (and
 * sets it running), or the sleeper queued itself after the waker released
 * the lock - and then, the lock acquisition being a full barrier, it sees
 * the condition already true and does not sleep.
 */
#include <weft/wait.h>
#include <weft/thread.h>
#include <weft/sched.h>
#include <weft/timer.h>
#include <weft/time.h>
#include <weft/errno.h>
#include <weft/panic.h>

void wait_queue_init(struct wait_queue *wq, const char *name)
{
	wq->lock = (spinlock_t)SPINLOCK_INIT(name);
	list_init(&wq->waiters);
	wq->name = name;
}

void prepare_to_wait(struct wait_queue *wq, struct wait_entry *w, int state)
{
	struct thread *t = current();
	unsigned long f = spin_lock_irqsave(&wq->lock);
	w->thread = t;
	if (!w->queued) {
		list_add_tail(&w->link, &wq->waiters);
		w->queued = true;
	}
	t->wait_name = wq->name;
	t->state = state;
	spin_unlock_irqrestore(&wq->lock, f);
}

void finish_wait(struct wait_queue *wq, struct wait_entry *w)
{
	struct thread *t = current();
	t->state = THREAD_RUNNING;
	t->wait_name = NULL;
	unsigned long f = spin_lock_irqsave(&wq->lock);
	if (w->queued) {
		list_del(&w->link);
		w->queued = false;
	}
	spin_unlock_irqrestore(&wq->lock, f);
}

int wake_up_locked(struct wait_queue *wq, bool all)
{
	BUG_ON(!spin_is_held(&wq->lock));
	int n = 0;
	struct list_head *p, *tmp;
	list_for_each_safe(p, tmp, &wq->waiters) {
		struct wait_entry *w = container_of(p, struct wait_entry, link);
		/* Dequeue as we wake, so wake_up_one() hands the event to a
		 * different sleeper each time. The sleeper's finish_wait() then
		 * finds itself already dequeued. */
		list_del(&w->link);
		w->queued = false;
		if (wake_up_thread(w->thread, WAKE_SLEEPERS))
			n++;
		if (!all && n)
			break;
	}
	return n;
}

static int wake(struct wait_queue *wq, bool all)
{
	unsigned long f = spin_lock_irqsave(&wq->lock);
	int n = wake_up_locked(wq, all);
	spin_unlock_irqrestore(&wq->lock, f);
	return n;
}

int wake_up_one(struct wait_queue *wq) { return wake(wq, false); }
int wake_up_all(struct wait_queue *wq) { return wake(wq, true); }

static void wait_timeout_fn(struct timer *tm)
{
	struct thread *t = tm->data;
	t->timed_out = true;
	wake_up_thread(t, WAKE_SLEEPERS);
}

int wait_event(struct wait_queue *wq, bool (*cond)(void *), void *arg, int state,
	       uint64_t timeout_ns)
{
	struct thread *t = current();
	struct wait_entry w = { .queued = false };
	struct timer tm;
	uint64_t deadline = timeout_ns ? clock_monotonic_ns() + timeout_ns : 0;
	int err = 0;
	timer_init_struct(&tm, wait_timeout_fn, t);
	if (deadline)
		timer_add(&tm, deadline);
	for (;;) {
		prepare_to_wait(wq, &w, state);
		if (cond(arg))
			break;
		if (state == THREAD_INTERRUPTIBLE && thread_interrupted(t)) {
			err = -EINTR;
			break;
		}
		if (deadline && clock_monotonic_ns() >= deadline) {
			err = -ETIMEDOUT;
			break;
		}
		schedule();
	}
	finish_wait(wq, &w);
	if (deadline)
		timer_cancel(&tm);
	return err;
}

void completion_init(struct completion *c)
{
	c->done = 0;
	wait_queue_init(&c->wq, "completion");
}

/*
 * The count is raised and the waiters are woken under one hold of the queue
 * lock, and the release is the last touch of c: a waiter that sees `done`
 * may return at once and free the completion (process_wait() frees the
 * process around proc->exited; others live in the waiter's stack frame),
 * and it cannot see `done` before it takes this lock after
 * us (try_consume), nor leave before finish_wait() takes it. Raising
 * `done`, unlocking and then waking would walk a freed queue.
 */
void complete(struct completion *c)
{
	unsigned long f = spin_lock_irqsave(&c->wq.lock);
	if (c->done != ~0u)
		c->done++;
	wake_up_locked(&c->wq, false);
	spin_unlock_irqrestore(&c->wq.lock, f);
}

void complete_all(struct completion *c)
{
	unsigned long f = spin_lock_irqsave(&c->wq.lock);
	c->done = ~0u;  /* "done forever" */
	wake_up_locked(&c->wq, true);
	spin_unlock_irqrestore(&c->wq.lock, f);
}

/* Consume one completion if there is one (queue lock guards `done`). */
static bool try_consume(void *arg)
{
	struct completion *c = arg;
	unsigned long f = spin_lock_irqsave(&c->wq.lock);
	bool ok = c->done > 0;
	if (ok && c->done != ~0u)
		c->done--;
	spin_unlock_irqrestore(&c->wq.lock, f);
	return ok;
}

void wait_for_completion(struct completion *c)
{
	wait_event(&c->wq, try_consume, c, THREAD_UNINTERRUPTIBLE, 0);
}

int wait_for_completion_timeout(struct completion *c, uint64_t timeout_ns)
{
	return wait_event(&c->wq, try_consume, c, THREAD_INTERRUPTIBLE, timeout_ns);
}
