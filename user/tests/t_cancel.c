/* t_cancel - pthread cancellation. musl sends signal 33 (SIGCANCEL); its
 * handler reads the interrupted RIP from the ucontext and, if the thread
 * sits in a blocking system call that is a cancellation point, rewrites
 * the context so the thread unwinds instead of returning to the call.
 * This exercises signal delivery to blocked threads, the ucontext layout
 * and sigreturn. Proven here: threads blocked in pthread_cond_wait,
 * nanosleep, sem_wait and sigtimedwait are cancelled promptly; cleanup
 * handlers run, in reverse order, with the condvar's mutex re-acquired;
 * join returns PTHREAD_CANCELED; disabled cancellation is deferred;
 * asynchronous cancellation stops a thread spinning in pure computation. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include "tap.h"

static pthread_mutex_t m;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static volatile int ready, cleanups, mutex_owned_in_cleanup, survived_sleep;
static volatile int order[4], norder;
static volatile unsigned long spins;

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

static void count_cleanup(void *arg)
{
	(void)arg;
	cleanups++;
}

/* Cancelled in pthread_cond_wait, the thread owns the mutex again when the
 * cleanup handler runs: unlocking an error-checking mutex proves it. */
static void unlock_cleanup(void *arg)
{
	mutex_owned_in_cleanup = pthread_mutex_unlock(arg) == 0;
	cleanups++;
}

static void *in_condwait(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&m);
	pthread_cleanup_push(unlock_cleanup, &m);
	ready = 1;
	for (;;)
		pthread_cond_wait(&cv, &m);   /* nobody signals */
	pthread_cleanup_pop(0);
	return NULL;
}

static void *in_nanosleep(void *arg)
{
	(void)arg;
	pthread_cleanup_push(count_cleanup, NULL);
	ready = 1;
	struct timespec t = { 30, 0 };
	nanosleep(&t, NULL);
	pthread_cleanup_pop(0);
	return (void *)1;
}

static void *in_semwait(void *arg)
{
	(void)arg;
	pthread_cleanup_push(count_cleanup, NULL);
	ready = 1;
	sem_wait(&sem);
	pthread_cleanup_pop(0);
	return (void *)1;
}

static void *in_sigtimedwait(void *arg)
{
	(void)arg;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	pthread_cleanup_push(count_cleanup, NULL);
	ready = 1;
	struct timespec t = { 30, 0 };
	sigtimedwait(&s, NULL, &t);
	pthread_cleanup_pop(0);
	return (void *)1;
}

static void record(void *arg)
{
	if (norder < 4)
		order[norder++] = (int)(intptr_t)arg;
}

/* Two cleanup handlers: they must run last-pushed first. */
static void *in_testcancel(void *arg)
{
	(void)arg;
	pthread_cleanup_push(record, (void *)1);
	pthread_cleanup_push(record, (void *)2);
	ready = 1;
	for (;;) {
		for (volatile int i = 0; i < 1000; i++)
			;
		pthread_testcancel();
	}
	pthread_cleanup_pop(0);
	pthread_cleanup_pop(0);
	return NULL;
}

/* No cancellation points at all: only asynchronous cancellation stops it. */
static void *spinner(void *arg)
{
	(void)arg;
	pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	pthread_cleanup_push(count_cleanup, NULL);
	ready = 1;
	for (;;)
		spins++;
	pthread_cleanup_pop(0);
	return NULL;
}

/* Cancellation disabled across a sleep: the request waits. */
static void *deferred(void *arg)
{
	(void)arg;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, NULL);
	ready = 1;
	sleep_ms(100);            /* the cancel arrives meanwhile */
	survived_sleep = 1;
	pthread_setcancelstate(PTHREAD_CANCEL_ENABLE, NULL);
	pthread_testcancel();
	survived_sleep = 2;       /* never reached */
	return NULL;
}

static struct timespec t0;
static long ms_since_t0(void)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
}

/* Start fn, wait until it is about to block, let it block, cancel it and
 * join. Returns what join gave; *ms is how long the cancel+join took. */
static void *cancel_blocked(void *(*fn)(void *), long settle_ms, long *ms)
{
	pthread_t t;
	void *res = NULL;
	ready = 0;
	if (pthread_create(&t, NULL, fn, NULL))
		return NULL;
	while (!ready)
		sched_yield();
	sleep_ms(settle_ms);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_cancel(t);
	pthread_join(t, &res);
	*ms = ms_since_t0();
	return res;
}

int main(void)
{
	plan(15);
	long ms;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&m, &a);

	/* The thread holds m until pthread_cond_wait releases it: taking m here
	 * proves the thread is inside the wait before we cancel it. */
	pthread_t t;
	void *res = NULL;
	ready = 0;
	pthread_create(&t, NULL, in_condwait, NULL);
	while (!ready)
		sched_yield();
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
	sleep_ms(10);
	pthread_cancel(t);
	pthread_join(t, &res);
	ok(res == PTHREAD_CANCELED, "cancelled in pthread_cond_wait: join gives PTHREAD_CANCELED");
	ok(cleanups == 1, "its cleanup handler ran");
	ok(mutex_owned_in_cleanup, "the cleanup handler owned the re-acquired mutex");
	ok(pthread_mutex_trylock(&m) == 0, "and released it: the mutex is free");
	pthread_mutex_unlock(&m);

	cleanups = 0;
	res = cancel_blocked(in_nanosleep, 20, &ms);
	ok(res == PTHREAD_CANCELED && cleanups == 1,
	   "cancelled in nanosleep(30 s): PTHREAD_CANCELED, cleanup ran");
	ok(ms < 5000, "... within %ld ms", ms);

	cleanups = 0;
	sem_init(&sem, 0, 0);
	res = cancel_blocked(in_semwait, 20, &ms);
	ok(res == PTHREAD_CANCELED && cleanups == 1 && ms < 5000,
	   "cancelled in sem_wait: PTHREAD_CANCELED, cleanup ran (%ld ms)", ms);

	cleanups = 0;
	res = cancel_blocked(in_sigtimedwait, 20, &ms);
	ok(res == PTHREAD_CANCELED && cleanups == 1 && ms < 5000,
	   "cancelled in sigtimedwait: PTHREAD_CANCELED, cleanup ran (%ld ms)", ms);

	norder = 0;
	res = cancel_blocked(in_testcancel, 5, &ms);
	ok(res == PTHREAD_CANCELED, "deferred cancellation acted on at pthread_testcancel");
	ok(norder == 2 && order[0] == 2 && order[1] == 1, "cleanup handlers ran last-pushed first");

	cleanups = 0;
	res = cancel_blocked(spinner, 20, &ms);
	ok(res == PTHREAD_CANCELED && cleanups == 1,
	   "asynchronous cancellation stopped a thread in a pure loop (%lu spins)", spins);
	unsigned long s0 = spins;
	sleep_ms(10);
	ok(spins == s0, "and it really stopped spinning");

	survived_sleep = 0;
	res = cancel_blocked(deferred, 0, &ms);
	ok(survived_sleep == 1, "with cancellation disabled the thread slept on (%d)", survived_sleep);
	ok(res == PTHREAD_CANCELED, "the pending request acted once re-enabled");

	/* Cancelled right after creation, most likely before it even ran: the
	 * request waits for its first cancellation point (sem_wait). */
	cleanups = 0;
	pthread_create(&t, NULL, in_semwait, NULL);
	pthread_cancel(t);
	pthread_join(t, &res);
	ok(res == PTHREAD_CANCELED && cleanups == 1,
	   "a cancel sent before the thread blocks still cancels it at sem_wait");
	return done();
}
