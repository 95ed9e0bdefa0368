/* t_mutex - pthread mutexes and condition variables under contention:
 * exact counts, and a producer/consumer queue with a checksum. */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include "../lib/tap.h"

#define THREADS 8
#define ROUNDS 2000
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *incrementer(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&lock);
		long v = counter;
		if (i % 64 == 0)
			sched_yield();          /* hold it across a switch now and then */
		counter = v + 1;
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

#define QSIZE 8
#define ITEMS 5000
static pthread_mutex_t qlock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t notfull = PTHREAD_COND_INITIALIZER, notempty = PTHREAD_COND_INITIALIZER;
static uint32_t queue[QSIZE];
static int qhead, qcount;

static void *producer(void *arg)
{
	(void)arg;
	for (uint32_t i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&qlock);
		while (qcount == QSIZE)
			pthread_cond_wait(&notfull, &qlock);
		queue[(qhead + qcount++) % QSIZE] = i * 2654435761u;
		pthread_cond_signal(&notempty);
		pthread_mutex_unlock(&qlock);
	}
	return NULL;
}

int main(void)
{
	plan(3);
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, incrementer, NULL);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	ok(counter == (long)THREADS * ROUNDS, "%d threads x %d increments = %ld", THREADS, ROUNDS,
	   counter);

	pthread_t p;
	pthread_create(&p, NULL, producer, NULL);
	uint32_t sum = 0, want = 0;
	for (uint32_t i = 1; i <= ITEMS; i++) {
		want += i * 2654435761u;
		pthread_mutex_lock(&qlock);
		while (qcount == 0)
			pthread_cond_wait(&notempty, &qlock);
		sum += queue[qhead];
		qhead = (qhead + 1) % QSIZE;
		qcount--;
		pthread_cond_signal(&notfull);
		pthread_mutex_unlock(&qlock);
	}
	pthread_join(p, NULL);
	ok(sum == want, "producer/consumer checksum %#x (want %#x)", sum, want);
	pthread_barrier_t bar;
	ok(pthread_barrier_init(&bar, NULL, 1) == 0 && pthread_barrier_wait(&bar) ==
	   PTHREAD_BARRIER_SERIAL_THREAD, "a one-thread barrier");
	return done();
}
