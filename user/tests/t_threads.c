/* t_threads - 100 threads created and joined, each returning its own
 * value; distinct thread ids; TLS (__thread) values per thread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>
#include "../lib/tap.h"

#define N 100
static __thread long tls_value = -1;
static long tids[N];

static void *worker(void *arg)
{
	long i = (long)arg;
	tls_value = i * 7;
	tids[i] = syscall(SYS_gettid);
	for (int k = 0; k < 3; k++)
		sched_yield();
	return (void *)(tls_value == i * 7 ? i * 3 + 1 : -1);
}

int main(void)
{
	plan(5);
	pthread_t th[N];
	int created = 0;
	for (long i = 0; i < N; i++)
		created += pthread_create(&th[i], NULL, worker, (void *)i) == 0;
	ok(created == N, "%d of %d threads created", created, N);
	int right = 0;
	for (long i = 0; i < N; i++) {
		void *r = NULL;
		if (i < created && pthread_join(th[i], &r) == 0 && (long)r == i * 3 + 1)
			right++;
	}
	ok(right == N, "%d of %d joined with their own value (and kept their TLS)", right, N);
	int distinct = 1;
	for (int i = 0; i < N; i++)
		for (int j = i + 1; j < N; j++)
			if (tids[i] == tids[j] || tids[i] <= 0)
				distinct = 0;
	ok(distinct, "every thread had its own tid");
	ok(tls_value == -1, "the main thread's TLS value is untouched");
	ok(syscall(SYS_gettid) == getpid(), "the main thread's tid is the pid");
	return done();
}
