/* t_mutex - futex-based synchronization through musl: a contended mutex
 * gives an exact count, also with short critical sections by two threads
 * on one CPU; a bounded queue with condition variables moves
 * every item exactly once (checksum); barriers hold every thread until all
 * arrive, round after round; semaphores ping-pong strictly, both
 * process-private and process-shared (FUTEX_PRIVATE_FLAG or not); mutex
 * types (trylock, recursive, error-checking) and a timed condition wait. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <time.h>
#include "tap.h"

#define NTHREADS 8
#define INCREMENTS 5000

/* --- mutex: N threads x M increments --------------------------------- */
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *incrementer(void *arg)
{
	(void)arg;
	for (int i = 0; i < INCREMENTS; i++) {
		pthread_mutex_lock(&count_lock);
		long v = counter;          /* a lost update shows as a low total */
		if ((i & 63) == 0)
			sched_yield();     /* hold the lock across a switch now and then */
		counter = v + 1;
		pthread_mutex_unlock(&count_lock);
	}
	return NULL;
}

/* --- short critical sections: two threads pinned to one CPU ---------- */
/* The mutex is found held only when its holder was preempted inside the
 * section: the other thread sleeps in FUTEX_WAIT and the holder's unlock
 * wakes it, which the scheduler may or may not let preempt the unlocker
 * (musl's unlock then keeps calling FUTEX_WAKE until the woken thread has
 * run). Main stops them once that happened SHORT_CONTENDED times. */
#define SHORT_CONTENDED 4
#define SHORT_LIMIT_S 20     /* a hang guard, not a speed limit */
static pthread_mutex_t short_lock = PTHREAD_MUTEX_INITIALIZER;
static long short_count;                 /* guarded by short_lock */
static long short_iters[2];
static int short_contended, short_stop, short_pin_failed;
static cpu_set_t short_cpu;

static void *short_locker(void *arg)
{
	int me = (int)(uintptr_t)arg;
	if (sched_setaffinity(0, sizeof short_cpu, &short_cpu) != 0)
		__atomic_store_n(&short_pin_failed, 1, __ATOMIC_RELAXED);
	long n = 0;
	while (!__atomic_load_n(&short_stop, __ATOMIC_RELAXED)) {
		if (pthread_mutex_trylock(&short_lock) != 0) {
			__atomic_add_fetch(&short_contended, 1, __ATOMIC_RELAXED);
			pthread_mutex_lock(&short_lock);
		}
		short_count++;
		pthread_mutex_unlock(&short_lock);
		n++;
	}
	short_iters[me] = n;
	return NULL;
}

static void short_sections(void)
{
	cpu_set_t all;
	CPU_ZERO(&all);
	CPU_ZERO(&short_cpu);
	sched_getaffinity(0, sizeof all, &all);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all)) {
			CPU_SET(c, &short_cpu);   /* the first CPU main may use */
			break;
		}
	pthread_t t[2];
	for (uintptr_t i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, short_locker, (void *)i);
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	for (int i = 0; i < SHORT_LIMIT_S * 100 &&
	     __atomic_load_n(&short_contended, __ATOMIC_RELAXED) < SHORT_CONTENDED; i++)
		nanosleep(&tick, NULL);
	__atomic_store_n(&short_stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	long n = short_iters[0] + short_iters[1];
	ok(!short_pin_failed && short_contended >= SHORT_CONTENDED && short_count == n,
	   "short sections, 2 threads on one CPU: count %ld of %ld lock/unlock pairs, mutex found "
	   "held %d times (want >= %d), pinned: %s", short_count, n, short_contended,
	   SHORT_CONTENDED, short_pin_failed ? "no" : "yes");
}

/* --- bounded queue: 2 producers, 2 consumers ------------------------- */
#define QSIZE 8
#define PRODUCERS 2
#define CONSUMERS 2
#define ITEMS 2000   /* per producer */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t not_full, not_empty;
	uint64_t buf[QSIZE];
	int head, count, producers_left;
} q = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER,
	{ 0 }, 0, 0, PRODUCERS };

static uint64_t consumed_sum[CONSUMERS];
static long consumed_n[CONSUMERS];

static void *producer(void *arg)
{
	uint64_t base = (uintptr_t)arg * 1000000;
	for (uint64_t i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&q.lock);
		while (q.count == QSIZE)
			pthread_cond_wait(&q.not_full, &q.lock);
		q.buf[(q.head + q.count) % QSIZE] = base + i;
		q.count++;
		pthread_cond_signal(&q.not_empty);
		pthread_mutex_unlock(&q.lock);
	}
	pthread_mutex_lock(&q.lock);
	q.producers_left--;
	pthread_cond_broadcast(&q.not_empty);
	pthread_mutex_unlock(&q.lock);
	return NULL;
}

static void *consumer(void *arg)
{
	int id = (int)(uintptr_t)arg;
	for (;;) {
		pthread_mutex_lock(&q.lock);
		while (q.count == 0 && q.producers_left > 0)
			pthread_cond_wait(&q.not_empty, &q.lock);
		if (q.count == 0) {
			pthread_mutex_unlock(&q.lock);
			return NULL;
		}
		uint64_t v = q.buf[q.head];
		q.head = (q.head + 1) % QSIZE;
		q.count--;
		pthread_cond_signal(&q.not_full);
		pthread_mutex_unlock(&q.lock);
		consumed_sum[id] += v * v;   /* squares: a swapped pair still adds up, a lost one not */
		consumed_n[id]++;
	}
}

/* --- barrier: every thread sees every slot of the round -------------- */
#define BTHREADS 6
#define BROUNDS 20
static pthread_barrier_t bar;
static volatile int slot[BTHREADS];
static int barrier_bad;

static void *barrier_member(void *arg)
{
	int id = (int)(uintptr_t)arg;
	for (int r = 1; r <= BROUNDS; r++) {
		slot[id] = r;
		pthread_barrier_wait(&bar);
		for (int j = 0; j < BTHREADS; j++)
			if (slot[j] != r)
				__atomic_add_fetch(&barrier_bad, 1, __ATOMIC_SEQ_CST);
		pthread_barrier_wait(&bar);   /* nobody starts round r+1 before all checked */
	}
	return NULL;
}

/* --- semaphores: strict ping-pong ------------------------------------ */
#define PINGS 1000
static sem_t ping, pong;
static volatile int turn;
static int pingpong_bad;

static void *ponger(void *arg)
{
	(void)arg;
	for (int i = 0; i < PINGS; i++) {
		while (sem_wait(&ping) != 0)
			;
		if (turn != 2 * i + 1)
			pingpong_bad++;
		turn++;
		sem_post(&pong);
	}
	return NULL;
}

/* Returns the number of rounds that went in order. */
static int ping_pong(int pshared)
{
	pthread_t t;
	turn = 0;
	pingpong_bad = 0;
	sem_init(&ping, pshared, 0);
	sem_init(&pong, pshared, 0);
	if (pthread_create(&t, NULL, ponger, NULL))
		return -1;
	int good = 0;
	for (int i = 0; i < PINGS; i++) {
		if (turn != 2 * i)
			pingpong_bad++;
		turn++;
		sem_post(&ping);
		while (sem_wait(&pong) != 0)
			;
		good += turn == 2 * i + 2;
	}
	pthread_join(t, NULL);
	int v = -1;
	sem_getvalue(&ping, &v);
	sem_destroy(&ping);
	sem_destroy(&pong);
	return pingpong_bad == 0 && v == 0 ? good : -2;
}

static void *try_other(void *arg)
{
	return (void *)(intptr_t)pthread_mutex_trylock(arg);
}

int main(void)
{
	plan(12);
	pthread_t th[NTHREADS];

	for (int i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, incrementer, NULL);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	ok(counter == (long)NTHREADS * INCREMENTS, "mutex: %d threads x %d increments = %ld",
	   NTHREADS, INCREMENTS, counter);

	short_sections();

	pthread_t prod[PRODUCERS], cons[CONSUMERS];
	for (uintptr_t i = 0; i < CONSUMERS; i++)
		pthread_create(&cons[i], NULL, consumer, (void *)i);
	for (uintptr_t i = 0; i < PRODUCERS; i++)
		pthread_create(&prod[i], NULL, producer, (void *)(i + 1));
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(prod[i], NULL);
	for (int i = 0; i < CONSUMERS; i++)
		pthread_join(cons[i], NULL);
	uint64_t want = 0, got = 0;
	long n = 0;
	for (uint64_t p = 1; p <= PRODUCERS; p++)
		for (uint64_t i = 1; i <= ITEMS; i++)
			want += (p * 1000000 + i) * (p * 1000000 + i);
	for (int i = 0; i < CONSUMERS; i++) {
		got += consumed_sum[i];
		n += consumed_n[i];
	}
	ok(n == PRODUCERS * ITEMS && got == want,
	   "condvar queue: %ld items, checksum %s", n, got == want ? "matches" : "WRONG");

	pthread_barrier_init(&bar, NULL, BTHREADS);
	pthread_t bt[BTHREADS];
	for (uintptr_t i = 0; i < BTHREADS; i++)
		pthread_create(&bt[i], NULL, barrier_member, (void *)i);
	for (int i = 0; i < BTHREADS; i++)
		pthread_join(bt[i], NULL);
	pthread_barrier_destroy(&bar);
	ok(barrier_bad == 0, "barrier: %d threads x %d rounds, no thread ran ahead (%d bad)",
	   BTHREADS, BROUNDS, barrier_bad);

	int r = ping_pong(0);
	ok(r == PINGS, "private semaphores: %d strict ping-pong rounds (%d)", PINGS, r);
	r = ping_pong(1);
	ok(r == PINGS, "process-shared semaphores: %d strict ping-pong rounds (%d)", PINGS, r);

	/* trylock on a mutex held by another thread fails with EBUSY. */
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&m);
	pthread_t t;
	void *res = NULL;
	pthread_create(&t, NULL, try_other, &m);
	pthread_join(t, &res);
	ok((intptr_t)res == EBUSY, "trylock of a held mutex: EBUSY (%d)", (int)(intptr_t)res);
	pthread_mutex_unlock(&m);
	pthread_create(&t, NULL, try_other, &m);
	pthread_join(t, &res);
	ok((intptr_t)res == 0, "trylock of a free mutex succeeds");
	/* (the exiting thread left m locked; a normal mutex does not care) */

	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_t rm;
	pthread_mutex_init(&rm, &a);
	int e1 = pthread_mutex_lock(&rm), e2 = pthread_mutex_lock(&rm);
	int e3 = pthread_mutex_unlock(&rm), e4 = pthread_mutex_unlock(&rm);
	int e5 = pthread_mutex_unlock(&rm);
	ok(!e1 && !e2 && !e3 && !e4 && e5 == EPERM, "recursive mutex: lock twice, unlock twice, then EPERM");

	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_t em;
	pthread_mutex_init(&em, &a);
	e1 = pthread_mutex_lock(&em);
	e2 = pthread_mutex_lock(&em);
	ok(!e1 && e2 == EDEADLK, "error-checking mutex: relocking reports EDEADLK");
	pthread_mutex_unlock(&em);
	pthread_mutexattr_destroy(&a);

	/* A timed wait with nobody signalling: ETIMEDOUT after roughly the time. */
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_t cv;
	pthread_cond_init(&cv, &ca);
	struct timespec t0, t1, dl;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dl = t0;
	dl.tv_nsec += 30 * 1000 * 1000;
	if (dl.tv_nsec >= 1000000000) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000;
	}
	pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
	pthread_mutex_lock(&cm);
	int e;
	do
		e = pthread_cond_timedwait(&cv, &cm, &dl);
	while (e == 0);   /* a spurious wakeup is allowed: wait again */
	pthread_mutex_unlock(&cm);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ok(e == ETIMEDOUT, "pthread_cond_timedwait with no signal: ETIMEDOUT (%d)", e);
	ok(ms >= 29 && ms < 3000, "... after %ld ms (deadline 30 ms)", ms);
	return done();
}
