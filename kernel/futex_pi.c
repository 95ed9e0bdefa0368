/*
 * futex_pi.c - priority-inheritance futex locks, robust lists, and what a
 * thread that dies holding futexes leaves to their waiters, with Linux's
 * results. The queues are kernel/futex.c's (futex_queue.h).
 *
 * A PI lock's word holds its owner's TID, FUTEX_WAITERS when a waiter may
 * sleep on it (unlocking then goes through the kernel), FUTEX_OWNER_DIED
 * once an owner died holding it.
 *   - FUTEX_LOCK_PI sets WAITERS, checks that the owner named in the word
 *     exists (ESRCH if not, also for FUTEX_TRYLOCK_PI) and queues the
 *     caller attached to that owner (w->owner). While it waits it lends
 *     its priority to the owner (thread_set_priority when the waiter's is
 *     higher); the owner gets its own back at unlock.
 *   - FUTEX_UNLOCK_PI hands the lock straight to the first waiter (its TID
 *     goes into the word), so no thread can barge in, and attaches the
 *     other waiters to it.
 *   - A thread that exits (futex_exit) first walks its robust list: each
 *     word it still owns gets FUTEX_OWNER_DIED and its TID cleared, and one
 *     waiter of a non-PI robust futex is woken (with a shared-key wake).
 *     Then every PI lock that has waiters attached to it goes to the first
 *     of them, the word becoming that waiter's TID | OWNER_DIED | WAITERS,
 *     robust or not, and whatever user space wrote into the word meanwhile
 *     (musl's pthread_exit marks its robust mutexes OWNER_DIED itself).
 *     Only then is the thread "futex-dead": a later FUTEX_LOCK_PI on a word
 *     still naming it fails with ESRCH.
 */
#include <weft/futex.h>
#include <weft/process.h>
#include <weft/uaccess.h>
#include <weft/sched.h>
#include <weft/errno.h>
#include <weft/panic.h>
#include "futex_queue.h"

/* --- owners ------------------------------------------------------------------ */

/* The thread tid of p, or NULL. p->lock held. */
static struct thread *thread_by_tid(struct process *p, uint32_t tid)
{
	struct list_head *pos;
	list_for_each(pos, &p->threads) {
		struct thread *t = container_of(pos, struct thread, proc_link);
		if ((uint32_t)t->tid == tid)
			return t;
	}
	return NULL;
}

/*
 * PI waiters queued now, in every address space (an over-count while a
 * woken waiter is on its way out). A thread that exits looks for waiters
 * attached to it only if this is not 0. Against a waiter that checks the
 * owner while the owner exits, both sides store then load, sequentially
 * consistent: the waiter raises this count, then reads owner->futex_exited;
 * the exiting owner sets futex_exited, then reads this count. At least one
 * sees the other's store: either the waiter fails with ESRCH, or the owner
 * scans the buckets and, taking the waiter's bucket lock after the waiter
 * queued under it, hands it the lock.
 */
static unsigned long pi_waiting;

/* Can a waiter wait for the thread tid of p (it exists, and has not yet
 * done its exit's futex work)? The waiter's bucket lock held; takes
 * p->lock (bucket locks come first). */
static bool owner_alive(struct process *p, uint32_t tid)
{
	unsigned long f = spin_lock_irqsave(&p->lock);
	struct thread *o = thread_by_tid(p, tid);
	bool alive = o && !__atomic_load_n(&o->futex_exited, __ATOMIC_SEQ_CST);
	spin_unlock_irqrestore(&p->lock, f);
	return alive;
}

static void boost_owner(uint32_t owner_tid)
{
	struct thread *me = current();
	struct process *p = me->proc;
	unsigned long f = spin_lock_irqsave(&p->lock);
	struct thread *o = thread_by_tid(p, owner_tid);
	if (o && me->prio < o->prio) {
		if (!o->pi_boosted) {
			o->pi_saved_prio = o->prio;
			o->pi_boosted = true;
		}
		thread_set_priority(o, me->prio);
	}
	spin_unlock_irqrestore(&p->lock, f);
}

static void unboost_self(void)
{
	struct thread *me = current();
	if (me->pi_boosted) {
		me->pi_boosted = false;
		thread_set_priority(me, me->pi_saved_prio);
	}
}

/* Attach the PI waiters on the futex (mm, uaddr, shared) in b that wait
 * for `from` to `to`. b's lock held. */
static void reattach_waiters(struct futex_bucket *b, struct mm *mm, uint64_t uaddr, bool shared,
			     uint32_t from, uint32_t to)
{
	struct list_head *pos;
	list_for_each(pos, &b->waiters) {
		struct futex_waiter *o = container_of(pos, struct futex_waiter, link);
		if (o->pi && o->owner == from && futex_waiter_is(o, mm, uaddr, shared))
			o->owner = to;
	}
}

/* --- locking and unlocking ---------------------------------------------------- */

long futex_lock_pi(uint64_t uaddr, bool shared, int64_t deadline, bool try_only)
{
	struct thread *t = current();
	struct mm *mm = t->mm;
	uint32_t tid = (uint32_t)t->tid;
	if ((uaddr & 3) || !access_ok(uaddr, 4))
		return -EFAULT;
	struct futex_bucket *b = futex_bucket_of(mm, uaddr);
	struct futex_waiter w = { .mm = mm, .uaddr = uaddr, .bitset = FUTEX_BITSET_ANY, .t = t,
				  .b = b, .pi = true, .shared = shared };
	for (;;) {
		unsigned long f;
		uint32_t cur;
		if (futex_lock_and_read(b, uaddr, true, &cur, &f) < 0)
			return -EFAULT;
		uint32_t owner = cur & FUTEX_TID_MASK;
		if (owner == tid) {
			spin_unlock_irqrestore(&b->lock, f);
			return -EDEADLK;
		}
		if (owner == 0) {
			/* Free, or its owner died (robust): take it. OWNER_DIED
			 * stays for us to see; WAITERS stays for waiters still
			 * attached to a dying owner (futex_exit attaches them
			 * to us). */
			uint32_t want = tid | (cur & (FUTEX_WAITERS | FUTEX_OWNER_DIED)), seen = cur;
			int r = user_cmpxchg32(uaddr, &seen, want);
			spin_unlock_irqrestore(&b->lock, f);
			if (r < 0)
				return -EFAULT;
			if (seen == cur)
				return 0;
			continue;
		}
		/* Linux marks the word WAITERS before it looks for the owner:
		 * also for a trylock, and for an owner that does not exist. */
		if (!(cur & FUTEX_WAITERS)) {
			uint32_t seen = cur;
			int r = user_cmpxchg32(uaddr, &seen, cur | FUTEX_WAITERS);
			if (r < 0 || seen != cur) {
				spin_unlock_irqrestore(&b->lock, f);
				if (r < 0 && futex_fault_in_word(uaddr, true) < 0)
					return -EFAULT;
				continue;
			}
		}
		if (try_only) {
			bool alive = owner_alive(t->proc, owner);
			spin_unlock_irqrestore(&b->lock, f);
			return alive ? -EAGAIN : -ESRCH;
		}
		__atomic_add_fetch(&pi_waiting, 1, __ATOMIC_SEQ_CST);   /* before owner_alive: see pi_waiting */
		if (!owner_alive(t->proc, owner)) {
			__atomic_sub_fetch(&pi_waiting, 1, __ATOMIC_RELAXED);
			spin_unlock_irqrestore(&b->lock, f);
			return -ESRCH;
		}
		w.woken = false;
		w.owner = owner;
		list_add_tail(&w.link, &b->waiters);
		t->state = THREAD_INTERRUPTIBLE;
		spin_unlock_irqrestore(&b->lock, f);
		boost_owner(owner);
		int r = futex_sleep_on(&w, (uint64_t)deadline);
		__atomic_sub_fetch(&pi_waiting, 1, __ATOMIC_RELAXED);
		if (r == 0)
			return 0;   /* unlock or the owner's exit handed it to us: the word holds our TID */
		if (r == -ETIMEDOUT)
			return r;
		/* A signal: PI lock waits restart (handlers run first). */
		return -ERESTARTNOINTR;
	}
}

long futex_unlock_pi(uint64_t uaddr, bool shared)
{
	struct thread *t = current();
	struct mm *mm = t->mm;
	uint32_t tid = (uint32_t)t->tid;
	if ((uaddr & 3) || !access_ok(uaddr, 4))
		return -EFAULT;
	struct futex_bucket *b = futex_bucket_of(mm, uaddr);
	for (;;) {
		unsigned long f;
		uint32_t cur;
		if (futex_lock_and_read(b, uaddr, true, &cur, &f) < 0)
			return -EFAULT;
		if ((cur & FUTEX_TID_MASK) != tid) {
			spin_unlock_irqrestore(&b->lock, f);
			return -EPERM;
		}
		struct futex_waiter *next = NULL;
		bool more = false;
		struct list_head *pos;
		list_for_each(pos, &b->waiters) {
			struct futex_waiter *w = container_of(pos, struct futex_waiter, link);
			if (futex_waiter_is(w, mm, uaddr, shared) && w->pi) {
				if (!next)
					next = w;
				else
					more = true;
			}
		}
		uint32_t want = next ? ((uint32_t)next->t->tid | (more ? FUTEX_WAITERS : 0)) : 0;
		uint32_t seen = cur;
		int r = user_cmpxchg32(uaddr, &seen, want);
		if (r == 0 && seen == cur && next) {
			futex_wake_waiter(next);
			reattach_waiters(b, mm, uaddr, shared, tid, (uint32_t)next->t->tid);
		}
		spin_unlock_irqrestore(&b->lock, f);
		if (r < 0)
			return -EFAULT;
		if (seen != cur)
			continue;    /* the word changed under us (a waiter set WAITERS) */
		unboost_self();
		return 0;
	}
}

/* --- robust lists ------------------------------------------------------------- */

struct robust_list_head {
	uint64_t next;          /* first entry; the list is circular through &head */
	int64_t futex_offset;   /* from an entry to its futex word */
	uint64_t pending;       /* entry being locked/unlocked right now */
};

long sys_set_robust_list(uint64_t head, uint64_t len)
{
	if (len != sizeof(struct robust_list_head))
		return -EINVAL;
	current()->robust_list = head;
	current()->robust_len = len;
	return 0;
}

long sys_get_robust_list(uint64_t pid, uint64_t head_ptr, uint64_t len_ptr)
{
	struct thread *t = current();
	if (pid && pid != (uint64_t)t->tid) {
		struct process *p = t->proc;
		unsigned long f = spin_lock_irqsave(&p->lock);
		struct thread *o = thread_by_tid(p, (uint32_t)pid);
		uint64_t h = o ? o->robust_list : 0;
		spin_unlock_irqrestore(&p->lock, f);
		if (!o)
			return -ESRCH;
		if (put_user_u64(head_ptr, h) < 0 || put_user_u64(len_ptr, 24) < 0)
			return -EFAULT;
		return 0;
	}
	if (put_user_u64(head_ptr, t->robust_list) < 0 || put_user_u64(len_ptr, t->robust_len) < 0)
		return -EFAULT;
	return 0;
}

/* One futex on the dying thread t's robust list (pending: the entry it was
 * locking or unlocking): if t still owns it, clear the TID and set
 * OWNER_DIED; for a non-PI futex, wake one waiter (on the shared key, as
 * Linux). PI waiters are futex_exit's. t is current. */
static void robust_release(struct thread *t, uint64_t uaddr, bool pi, bool pending)
{
	for (int tries = 0; tries < 16; tries++) {
		uint32_t cur;
		if ((uaddr & 3) || get_user_u32(&cur, uaddr) < 0)
			return;
		if (pending && !pi && cur == 0) {
			/* Released before it could leave the list: a waiter
			 * may already be woken, or not yet - wake one. */
			futex_wake_key(t->mm, uaddr, true, 1, FUTEX_BITSET_ANY);
			return;
		}
		if ((cur & FUTEX_TID_MASK) != (uint32_t)t->tid)
			return;
		uint32_t want = (cur & FUTEX_WAITERS) | FUTEX_OWNER_DIED, seen = cur;
		if (user_cmpxchg32(uaddr, &seen, want) < 0)
			return;
		if (seen != cur)
			continue;
		if (!pi && (cur & FUTEX_WAITERS))
			futex_wake_key(t->mm, uaddr, true, 1, FUTEX_BITSET_ANY);
		return;
	}
}

static void exit_robust_list(struct thread *t)
{
	struct robust_list_head h;
	if (!t->robust_list || copy_from_user(&h, t->robust_list, sizeof h) < 0)
		return;
	uint64_t entry = h.next;
	/* Bounded: a corrupt (circular) list cannot hang the exit. */
	for (int n = 0; n < 2048 && entry != t->robust_list; n++) {
		uint64_t next;
		if (copy_from_user(&next, entry & ~1ULL, 8) < 0)
			break;
		if (entry != h.pending)
			robust_release(t, (entry & ~1ULL) + (uint64_t)h.futex_offset, entry & 1, false);
		entry = next;
	}
	if (h.pending)
		robust_release(t, (h.pending & ~1ULL) + (uint64_t)h.futex_offset, h.pending & 1, true);
	t->robust_list = 0;
}

/* --- an owner's death ------------------------------------------------------------ */

/* The first PI waiter in b attached to the thread tid of mm, or NULL. */
static struct futex_waiter *first_attached(struct futex_bucket *b, struct mm *mm, uint32_t tid)
{
	struct list_head *pos;
	list_for_each(pos, &b->waiters) {
		struct futex_waiter *w = container_of(pos, struct futex_waiter, link);
		if (w->pi && w->mm == mm && w->owner == tid)
			return w;
	}
	return NULL;
}

/* Hand every PI lock in b whose waiters wait for the dying thread (current)
 * to the first of them. */
static void hand_over_bucket(struct futex_bucket *b, struct thread *dead)
{
	uint32_t dead_tid = (uint32_t)dead->tid;
	for (;;) {
		unsigned long f = spin_lock_irqsave(&b->lock);
		struct futex_waiter *w = first_attached(b, dead->mm, dead_tid);
		if (!w) {
			spin_unlock_irqrestore(&b->lock, f);
			return;
		}
		/* The key, for after the lock is dropped (then w may be gone). */
		uint64_t uaddr = w->uaddr;
		bool shared = w->shared;
		uint32_t cur, seen;
		int r = get_user_u32(&cur, uaddr);
		if (r == 0) {
			uint32_t owner = cur & FUTEX_TID_MASK;
			if (owner && owner != dead_tid) {
				/* Taken since (its TID was cleared): the waiters
				 * now wait for whoever took it, whose unlock
				 * hands it on (WAITERS is still set). */
				reattach_waiters(b, dead->mm, uaddr, shared, dead_tid, owner);
				spin_unlock_irqrestore(&b->lock, f);
				continue;
			}
			uint32_t new_owner = (uint32_t)w->t->tid;
			seen = cur;
			r = user_cmpxchg32(uaddr, &seen, new_owner | FUTEX_OWNER_DIED | FUTEX_WAITERS);
			if (r == 0 && seen == cur) {
				futex_wake_waiter(w);
				reattach_waiters(b, dead->mm, uaddr, shared, dead_tid, new_owner);
			}
		}
		spin_unlock_irqrestore(&b->lock, f);
		if (r < 0 && futex_fault_in_word(uaddr, true) < 0) {
			/* The word is gone (unmapped): no lock to hand over.
			 * Its waiters wait for nobody now - until a signal,
			 * their timeout or exit_group. */
			f = spin_lock_irqsave(&b->lock);
			reattach_waiters(b, dead->mm, uaddr, shared, dead_tid, 0);
			spin_unlock_irqrestore(&b->lock, f);
		}
	}
}

void futex_exit(struct thread *t)
{
	BUG_ON(t != current());
	if (!t->mm)
		return;   /* never became a user thread: no futex can name it */
	exit_robust_list(t);
	/* Then no lock waits for us any more; see pi_waiting for the order. */
	__atomic_store_n(&t->futex_exited, true, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&pi_waiting, __ATOMIC_SEQ_CST) == 0)
		return;
	for (unsigned i = 0; i < FUTEX_NBUCKETS; i++)
		hand_over_bucket(futex_bucket_nr(i), t);
}
