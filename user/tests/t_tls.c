/* t_tls - thread-local storage: per-thread __thread values survive
 * switches, and the FS base is the thread pointer (arch_prctl). */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/syscall.h>
#define ARCH_GET_FS 0x1003
#include "../lib/tap.h"

#define N 16
static __thread uint64_t mine = 0x1234;
static __thread char buf[64];
static int good[N], fs_ok[N];

static void *worker(void *arg)
{
	long i = (long)arg;
	mine = 0xabc000 + i;
	for (int k = 0; k < 64; k++)
		buf[k] = (char)(i + k);
	for (int r = 0; r < 50; r++)
		sched_yield();
	int same = mine == (uint64_t)(0xabc000 + i);
	for (int k = 0; k < 64; k++)
		same &= buf[k] == (char)(i + k);
	good[i] = same;
	uint64_t fs = 0;
	void *tp;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(tp));
	fs_ok[i] = syscall(SYS_arch_prctl, ARCH_GET_FS, &fs) == 0 && fs == (uint64_t)tp;
	return NULL;
}

int main(void)
{
	plan(3);
	pthread_t th[N];
	for (long i = 0; i < N; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	int all = 1, fs = 1;
	for (int i = 0; i < N; i++) {
		all &= good[i];
		fs &= fs_ok[i];
	}
	ok(all, "%d threads kept their own TLS values across 50 yields each", N);
	ok(fs, "ARCH_GET_FS gives each thread its thread pointer");
	ok(mine == 0x1234, "the main thread's TLS value is its own");
	return done();
}
