/*
 * futex.c - futex waiting and waking, requeue and the system call, with
 * Linux's operations and results. Priority-inheritance locks and robust
 * lists are in kernel/futex_pi.c; the queues both use in futex_queue.h.
 *
 * Waiters hang in one of 64 hash buckets, keyed by (address space, user
 * address); a bucket's spinlock guards its list and the waiters' `woken`
 * flags. The futex word is read under that lock, so "value still equal,
 * go to sleep" and "change value, wake" cannot interleave badly. Under a
 * spinlock a fault cannot be resolved (vm_fault sleeps): the read then
 * fails, the lock is dropped, the page is faulted in, and we start over.
 */
#include <weft/futex.h>
#include <weft/process.h>
#include <weft/syscall.h>
#include <weft/uaccess.h>
#include <weft/timer.h>
#include <weft/time.h>
#include <weft/sched.h>
#include <weft/errno.h>
#include <weft/signal.h>
#include <weft/printk.h>
#include <weft/paging.h>
#include <weft/vm.h>
#include <weft/panic.h>
#include <arch/memlayout.h>
#include <arch/cpu.h>
#include "futex_queue.h"

#define FUTEX_WAIT          0
#define FUTEX_WAKE          1
#define FUTEX_REQUEUE       3
#define FUTEX_CMP_REQUEUE   4
#define FUTEX_LOCK_PI       6
#define FUTEX_UNLOCK_PI     7
#define FUTEX_TRYLOCK_PI    8
#define FUTEX_WAIT_BITSET   9
#define FUTEX_WAKE_BITSET   10
#define FUTEX_PRIVATE_FLAG  128
#define FUTEX_CLOCK_REALTIME 256

#define NBUCKETS FUTEX_NBUCKETS

/* Lock the bucket w hangs in now: requeue may move it between our read of
 * w->b and the lock, so check again once locked. */
static struct futex_bucket *lock_waiter_bucket(struct futex_waiter *w, unsigned long *flags)
{
	for (;;) {
		struct futex_bucket *b = __atomic_load_n(&w->b, __ATOMIC_ACQUIRE);
		*flags = spin_lock_irqsave(&b->lock);
		if (__atomic_load_n(&w->b, __ATOMIC_ACQUIRE) == b)
			return b;
		spin_unlock_irqrestore(&b->lock, *flags);
	}
}

static struct futex_bucket buckets[NBUCKETS];
static bool buckets_ready;

struct futex_bucket *futex_bucket_nr(unsigned i)
{
	BUG_ON(i >= NBUCKETS || !__atomic_load_n(&buckets_ready, __ATOMIC_ACQUIRE));
	return &buckets[i];
}

struct futex_bucket *futex_bucket_of(struct mm *mm, uint64_t uaddr)
{
	if (!__atomic_load_n(&buckets_ready, __ATOMIC_ACQUIRE)) {
		/* First use happens in a user thread, long after boot's single
		 * CPU phase: one thread initialises, the others spin briefly. */
		static int init_state;
		int expected = 0;
		if (__atomic_compare_exchange_n(&init_state, &expected, 1, false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			for (int i = 0; i < NBUCKETS; i++) {
				buckets[i].lock = (spinlock_t)SPINLOCK_INIT("futex");
				list_init(&buckets[i].waiters);
			}
			__atomic_store_n(&buckets_ready, true, __ATOMIC_RELEASE);
		}
		while (!__atomic_load_n(&buckets_ready, __ATOMIC_ACQUIRE))
			__asm__ volatile("pause");
	}
	uint64_t h = (uaddr >> 2) ^ ((uint64_t)mm >> 6);
	h ^= h >> 17;
	return &buckets[(h * 0x9e3779b97f4a7c15ULL) >> 58];
}

/* Read the futex word under a bucket lock; -EFAULT if not resident now. */
static int read_word_atomic(uint64_t uaddr, uint32_t *val) { return get_user_u32(val, uaddr); }

int futex_fault_in_word(uint64_t uaddr, bool write)
{
	uint32_t v;
	if (get_user_u32(&v, uaddr) < 0)
		return -EFAULT;
	return write ? user_cmpxchg32(uaddr, &v, v) : 0;
}

/* A word that is not resident cannot be faulted in under the spinlock:
 * drop it, fault the page in, and try again. */
int futex_lock_and_read(struct futex_bucket *b, uint64_t uaddr, bool write, uint32_t *val,
			 unsigned long *flags)
{
	for (;;) {
		*flags = spin_lock_irqsave(&b->lock);
		if (read_word_atomic(uaddr, val) == 0)
			return 0;
		spin_unlock_irqrestore(&b->lock, *flags);
		/* Another thread may unmap the word again between the fault-in
		 * and the next read, round after round: a kill ends the loop
		 * (the caller's return value is never seen). */
		if (futex_fault_in_word(uaddr, write) < 0 || thread_killed(current()))
			return -EFAULT;
	}
}

void futex_wake_waiter(struct futex_waiter *w)
{
	list_del(&w->link);
	w->woken = true;
	wake_up_thread(w->t, 1u << THREAD_INTERRUPTIBLE);
}

struct timeout_ctx {
	struct timer timer;
	struct thread *t;
	volatile bool fired;
};

static void timeout_fn(struct timer *tm)
{
	struct timeout_ctx *c = tm->data;
	c->fired = true;
	wake_up_thread(c->t, 1u << THREAD_INTERRUPTIBLE);
}

int futex_sleep_on(struct futex_waiter *w, uint64_t deadline)
{
	struct thread *t = current();
	struct timeout_ctx tc = { .t = t, .fired = false };
	timer_init_struct(&tc.timer, timeout_fn, &tc);
	if (deadline)
		timer_add(&tc.timer, deadline);
	if (!thread_interrupted(t) && !(deadline && clock_monotonic_ns() >= deadline))
		schedule();
	t->state = THREAD_RUNNING;
	if (deadline)
		timer_cancel(&tc.timer);
	unsigned long f;
	struct futex_bucket *b = lock_waiter_bucket(w, &f);
	bool woken = w->woken;
	if (!woken)
		list_del(&w->link);
	spin_unlock_irqrestore(&b->lock, f);
	if (woken)
		return 0;
	if (deadline && (tc.fired || clock_monotonic_ns() >= deadline))
		return -ETIMEDOUT;
	return -ERESTARTSYS;
}

/* Absolute monotonic deadline from a user timespec (0 = none). */
static int64_t deadline_of(uint64_t uts, bool absolute, bool realtime)
{
	if (!uts)
		return 0;
	struct {
		int64_t sec, nsec;
	} ts;
	if (copy_from_user(&ts, uts, sizeof ts) < 0)
		return -EFAULT;
	if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= (int64_t)NSEC_PER_SEC)
		return -EINVAL;
	uint64_t ns = (uint64_t)ts.sec > (1ULL << 62) / NSEC_PER_SEC ? 1ULL << 62
			: (uint64_t)ts.sec * NSEC_PER_SEC + (uint64_t)ts.nsec;
	if (!absolute)
		return (int64_t)(clock_monotonic_ns() + ns);
	uint64_t off = realtime ? time_rtc_epoch_ns : 0;
	return ns > off ? (int64_t)(ns - off) : 1;
}

static long futex_wait(uint64_t uaddr, bool shared, uint32_t val, int64_t deadline,
		       uint32_t bitset)
{
	struct thread *t = current();
	struct mm *mm = t->mm;
	if (!bitset)
		return -EINVAL;
	struct futex_bucket *b = futex_bucket_of(mm, uaddr);
	struct futex_waiter w = { .mm = mm, .uaddr = uaddr, .bitset = bitset, .t = t, .b = b,
				  .val = val, .shared = shared };
	for (;;) {
		unsigned long f;
		uint32_t cur;
		if (futex_lock_and_read(b, uaddr, false, &cur, &f) < 0)
			return -EFAULT;
		if (cur != val) {
			spin_unlock_irqrestore(&b->lock, f);
			return -EAGAIN;
		}
		list_add_tail(&w.link, &b->waiters);
		t->state = THREAD_INTERRUPTIBLE;   /* under the lock wakers take */
		spin_unlock_irqrestore(&b->lock, f);
		break;
	}
	int r = futex_sleep_on(&w, (uint64_t)deadline);
	/* Timed waits are not restarted with the whole timeout again. */
	return r == -ERESTARTSYS && deadline ? -EINTR : r;
}

static int wake_locked(struct futex_bucket *b, struct mm *mm, uint64_t uaddr, bool shared, int n,
		       uint32_t bitset)
{
	int woken = 0;
	struct list_head *pos, *tmp;
	list_for_each_safe(pos, tmp, &b->waiters) {
		struct futex_waiter *w = container_of(pos, struct futex_waiter, link);
		if (woken >= n)
			break;
		if (futex_waiter_is(w, mm, uaddr, shared) && (w->bitset & bitset) && !w->pi) {
			futex_wake_waiter(w);
			woken++;
		}
	}
	return woken;
}

long futex_wake_key(struct mm *mm, uint64_t uaddr, bool shared, int n, uint32_t bitset)
{
	if (!bitset)
		return -EINVAL;
	struct futex_bucket *b = futex_bucket_of(mm, uaddr);
	unsigned long f = spin_lock_irqsave(&b->lock);
	int r = wake_locked(b, mm, uaddr, shared, n, bitset);
	spin_unlock_irqrestore(&b->lock, f);
	return r;
}

int futex_wake_address(uint64_t uaddr, int n)
{
	struct mm *mm = current()->mm;
	return mm ? (int)futex_wake_key(mm, uaddr, true, n, FUTEX_BITSET_ANY) : 0;
}

static void lock_two(struct futex_bucket *a, struct futex_bucket *b)
{
	if (a == b) {
		spin_acquire(&a->lock);
	} else if (a < b) {
		spin_acquire(&a->lock);
		spin_acquire(&b->lock);
	} else {
		spin_acquire(&b->lock);
		spin_acquire(&a->lock);
	}
}

static void unlock_two(struct futex_bucket *a, struct futex_bucket *b)
{
	spin_release(&a->lock);
	if (a != b)
		spin_release(&b->lock);
}

static long futex_requeue(uint64_t uaddr, uint64_t uaddr2, bool shared, int nwake, int nmove,
			  bool cmp, uint32_t val3)
{
	struct mm *mm = current()->mm;
	if (nwake < 0 || nmove < 0)
		return -EINVAL;
	if (!access_ok(uaddr2, 4) || (uaddr2 & 3))
		return -EFAULT;
	struct futex_bucket *b1 = futex_bucket_of(mm, uaddr), *b2 = futex_bucket_of(mm, uaddr2);
	for (;;) {
		unsigned long f = local_irq_save();
		preempt_disable();
		lock_two(b1, b2);
		if (cmp) {
			uint32_t cur;
			if (read_word_atomic(uaddr, &cur) < 0) {
				unlock_two(b1, b2);
				preempt_enable_no_resched();
				local_irq_restore(f);
				if (futex_fault_in_word(uaddr, false) < 0)
					return -EFAULT;
				continue;
			}
			if (cur != val3) {
				unlock_two(b1, b2);
				preempt_enable_no_resched();
				local_irq_restore(f);
				return -EAGAIN;
			}
		}
		int done = wake_locked(b1, mm, uaddr, shared, nwake, FUTEX_BITSET_ANY), moved = 0;
		struct list_head *pos, *tmp;
		list_for_each_safe(pos, tmp, &b1->waiters) {
			struct futex_waiter *w = container_of(pos, struct futex_waiter, link);
			if (moved >= nmove)
				break;
			if (futex_waiter_is(w, mm, uaddr, shared) && !w->pi) {
				list_del(&w->link);
				w->uaddr = uaddr2;
				__atomic_store_n(&w->b, b2, __ATOMIC_RELEASE);
				list_add_tail(&w->link, &b2->waiters);
				moved++;
			}
		}
		unlock_two(b1, b2);
		preempt_enable_no_resched();
		local_irq_restore(f);
		return done + moved;
	}
}

/* --- the system call -------------------------------------------------------- */

long sys_futex(uint64_t uaddr, uint64_t op, uint64_t val, uint64_t timeout, uint64_t uaddr2,
	       uint64_t val3)
{
	struct mm *mm = current()->mm;
	unsigned cmd = op & ~(unsigned)(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
	bool realtime = op & FUTEX_CLOCK_REALTIME;
	bool shared = !(op & FUTEX_PRIVATE_FLAG);
	if ((uaddr & 3) || !access_ok(uaddr, 4))
		return (uaddr & 3) ? -EINVAL : -EFAULT;
	int64_t deadline;
	switch (cmd) {
	case FUTEX_WAIT:
	case FUTEX_WAIT_BITSET:
		deadline = deadline_of(timeout, cmd == FUTEX_WAIT_BITSET, realtime);
		if (deadline < 0)
			return deadline;
		return futex_wait(uaddr, shared, (uint32_t)val, deadline,
				  cmd == FUTEX_WAIT ? FUTEX_BITSET_ANY : (uint32_t)val3);
	case FUTEX_WAKE:
		return futex_wake_key(mm, uaddr, shared, (int)val, FUTEX_BITSET_ANY);
	case FUTEX_WAKE_BITSET:
		return futex_wake_key(mm, uaddr, shared, (int)val, (uint32_t)val3);
	case FUTEX_REQUEUE:
		return futex_requeue(uaddr, uaddr2, shared, (int)val, (int)timeout, false, 0);
	case FUTEX_CMP_REQUEUE:
		return futex_requeue(uaddr, uaddr2, shared, (int)val, (int)timeout, true,
				     (uint32_t)val3);
	case FUTEX_LOCK_PI:
		deadline = deadline_of(timeout, true, true);   /* absolute, CLOCK_REALTIME */
		if (deadline < 0)
			return deadline;
		return futex_lock_pi(uaddr, shared, deadline, false);
	case FUTEX_TRYLOCK_PI:
		return futex_lock_pi(uaddr, shared, 0, true);
	case FUTEX_UNLOCK_PI:
		return futex_unlock_pi(uaddr, shared);
	default:
		return -ENOSYS;
	}
}

/* --- hang reports ------------------------------------------------------------- */

/* The word at uaddr of mm, read through its page tables (any context). */
static bool peek_word(struct mm *mm, uint64_t uaddr, uint32_t *v)
{
	uint64_t *pte = pt_walk_user(mm->root, uaddr & ~0xfffULL, false);
	if (!pte || !(*pte & PTE_PRESENT))
		return false;
	*v = *(volatile uint32_t *)((char *)phys_to_virt(*pte & PTE_ADDR) + (uaddr & 0xfff));
	return true;
}

void futex_dump(void)
{
	if (!__atomic_load_n(&buckets_ready, __ATOMIC_ACQUIRE))
		return;
	unsigned long f = local_irq_save();
	kprintf("--- futex waiters ---\n");
	for (int i = 0; i < NBUCKETS; i++) {
		struct futex_bucket *b = &buckets[i];
		bool locked = false;
		for (int n = 0; n < 100000 && !(locked = spin_trylock(&b->lock)); n++)
			cpu_relax();
		struct list_head *pos;
		list_for_each(pos, &b->waiters) {
			struct futex_waiter *w = container_of(pos, struct futex_waiter, link);
			uint32_t v = 0;
			bool ok = peek_word(w->mm, w->uaddr, &v);
			kprintf("  bucket %d%s: tid %d %s%s uaddr %#lx, waits %s %#x, word now %s%#x%s\n",
				i, locked ? "" : " [unlocked]", w->t->tid, w->pi ? "LOCK_PI" : "WAIT",
				w->shared ? "" : "_PRIVATE", (unsigned long)w->uaddr,
				w->pi ? "for tid" : "while ==", w->pi ? w->owner : w->val,
				ok ? "" : "(not present) ", v, w->woken ? " (woken)" : "");
		}
		if (locked)
			spin_unlock_no_resched(&b->lock);
	}
	local_irq_restore(f);
}
