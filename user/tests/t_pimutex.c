/* t_pimutex - priority-inheritance and robust mutexes. A PI mutex's word
 * holds the owner's TID; contention goes to the kernel with FUTEX_LOCK_PI,
 * which marks the word FUTEX_WAITERS and, on FUTEX_UNLOCK_PI, hands the
 * lock directly to a waiter (the word then holds the waiter's TID).
 * Proven: exact counts under contention, the word protocol, trylock
 * (FUTEX_TRYLOCK_PI) reporting EBUSY, error checking; robust mutexes
 * whose owner exits report EOWNERDEAD to the next locker (also to one
 * already blocked), become usable after pthread_mutex_consistent and
 * unrecoverable without it; get_robust_list sees what musl registered. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

#define NTHREADS 4
#define LOOPS 3000
#define FUTEX_WAITERS 0x80000000u
#define FUTEX_TID_MASK 0x3fffffffu

static pthread_mutex_t pm;
static long counter;

static pid_t gettid_raw(void) { return (pid_t)syscall(SYS_gettid); }

/* musl keeps the futex word in the second int of pthread_mutex_t. */
static unsigned lock_word(pthread_mutex_t *m)
{
	return __atomic_load_n((unsigned *)&m->__u.__i[1], __ATOMIC_SEQ_CST);
}

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

#define PSHARED 0x100   /* or'ed into type: process-shared (non-private futex ops) */

static int make_mutex(pthread_mutex_t *m, int protocol, int robust, int type)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	int e = pthread_mutexattr_setprotocol(&a, protocol);
	if (!e && (type & PSHARED))
		e = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	type &= ~PSHARED;
	if (!e && robust)
		e = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (!e)
		e = pthread_mutexattr_settype(&a, type);
	if (!e)
		e = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return e;
}

static void *incrementer(void *arg)
{
	(void)arg;
	for (int i = 0; i < LOOPS; i++) {
		pthread_mutex_lock(&pm);
		long v = counter;
		if ((i & 31) == 0)
			sched_yield();   /* others pile up in FUTEX_LOCK_PI */
		counter = v + 1;
		pthread_mutex_unlock(&pm);
	}
	return NULL;
}

static void *try_it(void *arg)
{
	return (void *)(intptr_t)pthread_mutex_trylock(arg);
}

static void *unlock_it(void *arg)
{
	return (void *)(intptr_t)pthread_mutex_unlock(arg);
}

/* Blocks on pm; reports its TID and the word it saw once it owned pm. */
static volatile pid_t waiter_tid;
static volatile unsigned waiter_saw;
static void *waiter(void *arg)
{
	(void)arg;
	waiter_tid = gettid_raw();
	pthread_mutex_lock(&pm);
	waiter_saw = lock_word(&pm);
	pthread_mutex_unlock(&pm);
	return NULL;
}

/* Locks the mutex and exits while holding it (after an optional delay
 * that lets another thread block on it). */
static volatile int holder_locked;
static long holder_delay_ms;
static void *die_holding(void *arg)
{
	int e = pthread_mutex_lock(arg);
	holder_locked = 1;
	if (holder_delay_ms)
		sleep_ms(holder_delay_ms);
	return (void *)(intptr_t)e;
}

static int orphan(pthread_mutex_t *m, long delay_ms)
{
	pthread_t t;
	void *r;
	holder_locked = 0;
	holder_delay_ms = delay_ms;
	pthread_create(&t, NULL, die_holding, m);
	if (delay_ms) {
		while (!holder_locked)
			sched_yield();
		int e = pthread_mutex_lock(m);   /* blocks until the owner is gone */
		pthread_join(t, &r);
		return e;
	}
	pthread_join(t, &r);
	return pthread_mutex_lock(m);
}

int main(void)
{
	plan(16);
	int e = make_mutex(&pm, PTHREAD_PRIO_INHERIT, 0, PTHREAD_MUTEX_NORMAL);
	ok(e == 0, "PTHREAD_PRIO_INHERIT mutex initialized (%d)", e);

	pthread_t th[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, incrementer, NULL);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	ok(counter == NTHREADS * LOOPS, "PI mutex: %d threads x %d increments = %ld", NTHREADS, LOOPS,
	   counter);
	ok(lock_word(&pm) == 0, "the futex word is 0 when the mutex is free (%#x)", lock_word(&pm));

	pthread_mutex_lock(&pm);
	unsigned w = lock_word(&pm);
	ok((w & FUTEX_TID_MASK) == (unsigned)gettid_raw(), "locked: the word holds the owner's TID (%#x)", w);
	pthread_t t;
	void *res;
	pthread_create(&t, NULL, try_it, &pm);
	pthread_join(t, &res);
	ok((intptr_t)res == EBUSY, "trylock from another thread: EBUSY (%d)", (int)(intptr_t)res);

	/* A waiter blocks in the kernel: the word gains FUTEX_WAITERS. */
	pthread_create(&t, NULL, waiter, NULL);
	int spins = 0;
	while (!(lock_word(&pm) & FUTEX_WAITERS) && spins++ < 5000)
		sleep_ms(1);
	w = lock_word(&pm);
	ok((w & FUTEX_WAITERS) && (w & FUTEX_TID_MASK) == (unsigned)gettid_raw(),
	   "a blocked waiter sets FUTEX_WAITERS, the owner stays (%#x)", w);
	pthread_mutex_unlock(&pm);
	pthread_join(t, NULL);
	ok((waiter_saw & FUTEX_TID_MASK) == (unsigned)waiter_tid,
	   "unlock handed the lock to the waiter: the word held its TID (%#x, tid %d)", waiter_saw,
	   (int)waiter_tid);
	ok(lock_word(&pm) == 0, "free again afterwards");

	pthread_mutex_t em;
	make_mutex(&em, PTHREAD_PRIO_INHERIT, 0, PTHREAD_MUTEX_ERRORCHECK);
	int e1 = pthread_mutex_lock(&em), e2 = pthread_mutex_lock(&em);
	pthread_create(&t, NULL, unlock_it, &em);
	pthread_join(t, &res);
	ok(!e1 && e2 == EDEADLK && (intptr_t)res == EPERM,
	   "PI error-checking: relock EDEADLK, unlock by another thread EPERM");
	pthread_mutex_unlock(&em);

	/* Robust mutexes whose owner exited while holding them. */
	pthread_mutex_t rm;
	make_mutex(&rm, PTHREAD_PRIO_NONE, 1, PTHREAD_MUTEX_NORMAL);
	e = orphan(&rm, 0);
	ok(e == EOWNERDEAD, "robust: the next locker after the owner died gets EOWNERDEAD (%d)", e);
	e1 = pthread_mutex_consistent(&rm);
	e2 = pthread_mutex_unlock(&rm);
	int e3 = pthread_mutex_lock(&rm), e4 = pthread_mutex_unlock(&rm);
	ok(!e1 && !e2 && !e3 && !e4, "after pthread_mutex_consistent, unlock and lock work");

	/* Process-shared robust mutexes need the kernel's robust list: musl
	 * registers it with set_robust_list on the first lock. */
	pthread_mutex_t sm;
	make_mutex(&sm, PTHREAD_PRIO_NONE, 1, PTHREAD_MUTEX_NORMAL | PSHARED);
	e = orphan(&sm, 0);
	long r_len = 0;
	void *r_head = NULL;
	long r = syscall(SYS_get_robust_list, 0, &r_head, &r_len);
	ok(e == EOWNERDEAD && r == 0 && r_head != NULL && r_len == 3 * (long)sizeof(long),
	   "process-shared robust: EOWNERDEAD (%d); get_robust_list shows a %ld-byte head", e, r_len);
	pthread_mutex_consistent(&sm);
	pthread_mutex_unlock(&sm);

	pthread_mutex_t um;
	make_mutex(&um, PTHREAD_PRIO_NONE, 1, PTHREAD_MUTEX_NORMAL);
	e = orphan(&um, 0);
	pthread_mutex_unlock(&um);   /* not made consistent */
	e1 = pthread_mutex_lock(&um);
	ok(e == EOWNERDEAD && e1 == ENOTRECOVERABLE,
	   "unlocked without pthread_mutex_consistent: ENOTRECOVERABLE (%d)", e1);

	pthread_mutex_t bm;
	make_mutex(&bm, PTHREAD_PRIO_NONE, 1, PTHREAD_MUTEX_NORMAL);
	e = orphan(&bm, 50);
	ok(e == EOWNERDEAD, "a locker already blocked when the owner exits gets EOWNERDEAD (%d)", e);
	pthread_mutex_consistent(&bm);
	pthread_mutex_unlock(&bm);

	pthread_mutex_t rpm;
	e = make_mutex(&rpm, PTHREAD_PRIO_INHERIT, 1, PTHREAD_MUTEX_NORMAL);
	e1 = e ? e : orphan(&rpm, 0);
	ok(e1 == EOWNERDEAD, "robust PI mutex: EOWNERDEAD after the owner died (%d)", e1);
	e2 = pthread_mutex_consistent(&rpm);
	e3 = pthread_mutex_unlock(&rpm);
	e4 = pthread_mutex_lock(&rpm);
	w = lock_word(&rpm);
	int e5 = pthread_mutex_unlock(&rpm);
	ok(!e2 && !e3 && !e4 && !e5 && (w & FUTEX_TID_MASK) == (unsigned)gettid_raw(),
	   "made consistent it works again, the word holding our TID (%#x)", w);
	return done();
}
