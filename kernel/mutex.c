/*
 * mutex.c - mutexes, semaphores and condition variables.
 *
 * Each is a small state word guarded by its wait queue's lock, plus the
 * wait queue. Waiting uses the prepare/check/schedule loop of <weft/wait.h>;
 * the check happens under the queue lock, so a release that races with
 * going to sleep is seen either by the check or by the wakeup.
 */
#include <weft/mutex.h>
#include <weft/thread.h>
#include <weft/sched.h>
#include <weft/panic.h>
#include <weft/timer.h>
#include <weft/time.h>
#include <weft/errno.h>

void mutex_init(struct mutex *m, const char *name)
{
	m->owner = NULL;
	m->name = name;
	wait_queue_init(&m->wq, name);
}

bool mutex_trylock(struct mutex *m)
{
	unsigned long f = spin_lock_irqsave(&m->wq.lock);
	bool ok = m->owner == NULL;
	if (ok)
		m->owner = current();
	spin_unlock_irqrestore(&m->wq.lock, f);
	return ok;
}

void mutex_lock(struct mutex *m)
{
	struct thread *me = current();
	if (m->owner == me)
		panic("mutex_lock: thread %d already owns mutex '%s' (recursive lock)", me->tid,
		      m->name);
	struct wait_entry w = { .queued = false };
	for (;;) {
		prepare_to_wait(&m->wq, &w, THREAD_UNINTERRUPTIBLE);
		unsigned long f = spin_lock_irqsave(&m->wq.lock);
		/* Free, or handed to us by mutex_unlock(). */
		if (m->owner == NULL)
			m->owner = me;
		bool mine = m->owner == me;
		spin_unlock_irqrestore(&m->wq.lock, f);
		if (mine)
			break;
		schedule();
	}
	finish_wait(&m->wq, &w);
}

void mutex_unlock(struct mutex *m)
{
	struct thread *me = current();
	unsigned long f = spin_lock_irqsave(&m->wq.lock);
	if (m->owner != me)
		panic("mutex_unlock: thread %d ('%s') unlocks mutex '%s' owned by %d", me->tid,
		      me->name, m->name, m->owner ? m->owner->tid : -1);
	/* Hand-off: the first waiter becomes the owner before it even runs. */
	struct thread *next = NULL;
	if (!list_empty(&m->wq.waiters)) {
		struct wait_entry *w = container_of(m->wq.waiters.next, struct wait_entry, link);
		list_del(&w->link);
		w->queued = false;
		next = w->thread;
	}
	m->owner = next;
	if (next)
		wake_up_thread(next, WAKE_SLEEPERS);
	spin_unlock_irqrestore(&m->wq.lock, f);
}

bool mutex_is_owner(const struct mutex *m) { return m->owner == current(); }

void sem_init(struct semaphore *s, int64_t count, const char *name)
{
	s->count = count;
	wait_queue_init(&s->wq, name);
}

bool sem_trydown(struct semaphore *s)
{
	unsigned long f = spin_lock_irqsave(&s->wq.lock);
	bool ok = s->count > 0;
	if (ok)
		s->count--;
	spin_unlock_irqrestore(&s->wq.lock, f);
	return ok;
}

static bool sem_take(void *arg) { return sem_trydown(arg); }

void sem_down(struct semaphore *s)
{
	wait_event(&s->wq, sem_take, s, THREAD_UNINTERRUPTIBLE, 0);
}

int sem_down_timeout(struct semaphore *s, uint64_t timeout_ns)
{
	return wait_event(&s->wq, sem_take, s, THREAD_INTERRUPTIBLE, timeout_ns);
}

void sem_up(struct semaphore *s)
{
	/* Count and wake under one hold of the lock: a sem_down() that takes
	 * the count may return and free s as soon as we release it (the
	 * lifetime rule in <weft/wait.h>). */
	unsigned long f = spin_lock_irqsave(&s->wq.lock);
	s->count++;
	wake_up_locked(&s->wq, false);
	spin_unlock_irqrestore(&s->wq.lock, f);
}

void condvar_init(struct condvar *cv, const char *name)
{
	cv->seq = 0;
	wait_queue_init(&cv->wq, name);
}

void condvar_wait(struct condvar *cv, struct mutex *m)
{
	struct wait_entry w = { .queued = false };
	/* Queue ourselves before dropping the mutex: a signal sent after the
	 * caller's predicate check (made under m) then finds us queued. */
	uint64_t seq = cv->seq;
	prepare_to_wait(&cv->wq, &w, THREAD_UNINTERRUPTIBLE);
	mutex_unlock(m);
	if (cv->seq == seq)
		schedule();
	finish_wait(&cv->wq, &w);
	mutex_lock(m);
}

/* Bump and wake under one hold of the lock: a waiter that sees the new
 * seq may return and free cv as soon as we release it (<weft/wait.h>). */
static void cv_wake(struct condvar *cv, bool all)
{
	unsigned long f = spin_lock_irqsave(&cv->wq.lock);
	cv->seq++;
	wake_up_locked(&cv->wq, all);
	spin_unlock_irqrestore(&cv->wq.lock, f);
}

void condvar_signal(struct condvar *cv) { cv_wake(cv, false); }
void condvar_broadcast(struct condvar *cv) { cv_wake(cv, true); }
