/* t_bench - micro-benchmarks for `make bench` (not a test).
 *
 *   t_bench NAME [N]     NAME: null yield futex thread mutex fault fair sleep all
 *
 * Each prints one line "bench NAME: X ns/op (N ops)", timed with
 * CLOCK_MONOTONIC (under QEMU -icount shift=0 a nanosecond is one guest
 * instruction). N overrides the default operation count.
 *   null    getppid() system call
 *   yield   sched_yield() hand-off between two threads pinned to one CPU
 *   futex   FUTEX_WAIT/FUTEX_WAKE hand-off between two threads (one CPU)
 *   thread  pthread_create + pthread_join
 *   mutex   lock+unlock of a pthread mutex contended by two threads
 *   fault   first touch of a fresh anonymous page (mmap'd, then unmapped)
 *   fair    4 CPU-bound threads on one CPU, equal work; X per unit of work,
 *           and a "#" line with the spread of their CPU times and finish times
 *   sleep   nanosleep(1 ms): X is the average oversleep
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

static int64_t now_ns(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void report(const char *name, int64_t ns, long ops)
{
	printf("bench %s: %lld ns/op (%ld ops)\n", name, (long long)(ops > 0 ? ns / ops : 0), ops);
	fflush(stdout);
}

/* Pin the calling thread to the first CPU it may use. */
static void pin_to_one_cpu(void)
{
	cpu_set_t set, one;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set) != 0)
		return;
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set)) {
			CPU_SET(c, &one);
			break;
		}
	sched_setaffinity(0, sizeof one, &one);
}

static void run_pair(void *(*fn)(void *), long n)
{
	pthread_t a, b;
	pthread_create(&a, NULL, fn, (void *)(uintptr_t)(n << 1 | 0));
	pthread_create(&b, NULL, fn, (void *)(uintptr_t)(n << 1 | 1));
	pthread_join(a, NULL);
	pthread_join(b, NULL);
}

/* --- the benchmarks --------------------------------------------------- */
static void b_null(long n)
{
	int64_t t0 = now_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	report("null", now_ns(CLOCK_MONOTONIC) - t0, n);
}

static volatile int turn;
static void *yielder(void *arg)
{
	long n = (long)((uintptr_t)arg >> 1);
	int me = (int)((uintptr_t)arg & 1);
	pin_to_one_cpu();
	for (long i = 0; i < n; i++) {
		while (turn != me)
			sched_yield();
		turn = !me;
	}
	return NULL;
}

static void b_yield(long n)
{
	turn = 0;
	int64_t t0 = now_ns(CLOCK_MONOTONIC);
	run_pair(yielder, n);
	report("yield", now_ns(CLOCK_MONOTONIC) - t0, 2 * n);
}

static int fword;
static void *futexer(void *arg)
{
	long n = (long)((uintptr_t)arg >> 1);
	int me = (int)((uintptr_t)arg & 1);
	pin_to_one_cpu();
	for (long i = 0; i < n; i++) {
		int v;
		while ((v = __atomic_load_n(&fword, __ATOMIC_ACQUIRE)) != me)
			syscall(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
		__atomic_store_n(&fword, !me, __ATOMIC_RELEASE);
		syscall(SYS_futex, &fword, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
	return NULL;
}

static void b_futex(long n)
{
	fword = 0;
	int64_t t0 = now_ns(CLOCK_MONOTONIC);
	run_pair(futexer, n);
	report("futex", now_ns(CLOCK_MONOTONIC) - t0, 2 * n);
}

static void *nothing(void *arg) { return arg; }

static void b_thread(long n)
{
	int64_t t0 = now_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < n; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, nothing, NULL) == 0)
			pthread_join(t, NULL);
	}
	report("thread", now_ns(CLOCK_MONOTONIC) - t0, n);
}

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static volatile long shared;
static void *locker(void *arg)
{
	long n = (long)((uintptr_t)arg >> 1);
	for (long i = 0; i < n; i++) {
		pthread_mutex_lock(&mtx);
		shared++;
		pthread_mutex_unlock(&mtx);
	}
	return NULL;
}

static void b_mutex(long n)
{
	shared = 0;
	int64_t t0 = now_ns(CLOCK_MONOTONIC);
	run_pair(locker, n);
	int64_t t = now_ns(CLOCK_MONOTONIC) - t0;
	if (shared != 2 * n)
		printf("# mutex: count %ld, expected %ld\n", shared, 2 * n);
	report("mutex", t, 2 * n);
}

static void b_fault(long n)
{
	size_t len = (size_t)n * 4096;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		printf("# fault: mmap of %ld pages failed\n", n);
		return;
	}
	int64_t t0 = now_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < n; i++)
		p[i * 4096] = 1;
	int64_t t = now_ns(CLOCK_MONOTONIC) - t0;
	munmap(p, len);
	report("fault", t, n);
}

#define FAIR_THREADS 4
static int64_t fair_cpu[FAIR_THREADS], fair_end[FAIR_THREADS];
static volatile uint64_t fair_sink;
static pthread_barrier_t fair_start;

static void *fair_worker(void *arg)
{
	long n = (long)((uintptr_t)arg >> 3);
	int id = (int)((uintptr_t)arg & 7);
	pin_to_one_cpu();
	pthread_barrier_wait(&fair_start);
	int64_t c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t x = (uint64_t)id;
	for (long i = 0; i < n; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	fair_sink = x;
	fair_cpu[id] = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	fair_end[id] = now_ns(CLOCK_MONOTONIC);
	return NULL;
}

static void b_fair(long n)
{
	pthread_t t[FAIR_THREADS];
	pthread_barrier_init(&fair_start, NULL, FAIR_THREADS + 1);
	for (int i = 0; i < FAIR_THREADS; i++)
		pthread_create(&t[i], NULL, fair_worker, (void *)(uintptr_t)(n << 3 | i));
	pthread_barrier_wait(&fair_start);
	int64_t t0 = now_ns(CLOCK_MONOTONIC);
	for (int i = 0; i < FAIR_THREADS; i++)
		pthread_join(t[i], NULL);
	int64_t t1 = now_ns(CLOCK_MONOTONIC);
	pthread_barrier_destroy(&fair_start);
	int64_t cmin = INT64_MAX, cmax = 0, csum = 0, emin = INT64_MAX, emax = 0;
	for (int i = 0; i < FAIR_THREADS; i++) {
		cmin = fair_cpu[i] < cmin ? fair_cpu[i] : cmin;
		cmax = fair_cpu[i] > cmax ? fair_cpu[i] : cmax;
		csum += fair_cpu[i];
		emin = fair_end[i] < emin ? fair_end[i] : emin;
		emax = fair_end[i] > emax ? fair_end[i] : emax;
	}
	int64_t cmean = csum / FAIR_THREADS, span = t1 - t0;
	/* Equal work should take equal CPU time; on one CPU a fair scheduler
	 * also finishes them close together (relative to the whole run). */
	printf("# fair: cpu ms");
	for (int i = 0; i < FAIR_THREADS; i++)
		printf(" %lld", (long long)(fair_cpu[i] / 1000000));
	printf("; cpu spread %lld%%, finish spread %lld%% of %lld ms\n",
	       (long long)(cmean ? 100 * (cmax - cmin) / cmean : 0),
	       (long long)(span ? 100 * (emax - emin) / span : 0), (long long)(span / 1000000));
	report("fair", span, FAIR_THREADS * n);
}

static void b_sleep(long n)
{
	struct timespec ms = { 0, 1000000 };
	int64_t t0 = now_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < n; i++)
		nanosleep(&ms, NULL);
	int64_t t = now_ns(CLOCK_MONOTONIC) - t0;
	report("sleep", n > 0 ? t - n * 1000000 : 0, n);   /* the oversleep per call */
}

static const struct bench {
	const char *name;
	void (*fn)(long);
	long n;
} benches[] = {
	{ "null", b_null, 20000 },  { "yield", b_yield, 2000 }, { "futex", b_futex, 2000 },
	{ "thread", b_thread, 200 }, { "mutex", b_mutex, 10000 }, { "fault", b_fault, 1000 },
	{ "fair", b_fair, 5000000 }, { "sleep", b_sleep, 50 },
};
#define NBENCH (sizeof benches / sizeof benches[0])

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s null|yield|futex|thread|mutex|fault|fair|sleep|all [N]\n",
			argv[0]);
		return 2;
	}
	long n = argc > 2 ? strtol(argv[2], NULL, 0) : 0;
	int all = !strcmp(argv[1], "all"), ran = 0;
	for (size_t i = 0; i < NBENCH; i++)
		if (all || !strcmp(argv[1], benches[i].name)) {
			benches[i].fn(n > 0 ? n : benches[i].n);
			ran++;
		}
	if (!ran) {
		fprintf(stderr, "%s: no benchmark called '%s'\n", argv[0], argv[1]);
		return 2;
	}
	return 0;
}
