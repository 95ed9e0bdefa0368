/* t_bench - micro-benchmarks for `make bench` (not a test).
 *
 *   t_bench NAME [N]   NAME: null yield futex thread mutex mutex-short fault
 *                             maps fair sleep sleep-noslack, or all
 *
 * The same static binary runs on weft and on Linux (tools/bench). Each
 * figure is one line "bench NAME: X UNIT (N ops)", X with one decimal;
 * lines starting with "#" are remarks that check the figure means what it
 * says (e.g. that every yield really was a hand-off). Times come from
 * CLOCK_MONOTONIC; under QEMU -icount shift=0 a nanosecond is one guest
 * instruction. N overrides the default operation count.
 *   null    getppid() system call
 *   yield   sched_yield() hand-off between two threads pinned to one CPU
 *   futex   FUTEX_WAIT/FUTEX_WAKE hand-off between two threads (one CPU)
 *   thread  pthread_create + pthread_join
 *   mutex   contended pthread mutex: two threads (one CPU) each lock, yield
 *           while holding it, unlock. The other thread always waits in
 *           FUTEX_WAIT for it, so each round is a yield, a futex wait and
 *           a futex wake, whichever thread ends up owning the mutex. X is
 *           per lock+unlock.
 *   mutex-short  contended short critical sections: two threads (one CPU)
 *           each lock, increment a shared count, unlock, N times. The
 *           mutex is found held only when the holder was preempted inside
 *           the section, so this weighs how a wake-up from the unlock is
 *           scheduled: X is per lock+unlock. The count must come out
 *           exact (2N), or the run fails.
 *   fault   first touch of a fresh anonymous 4 KiB page (transparent huge
 *           pages off for it; mmap'd, then unmapped)
 *   maps    N single-page anonymous mappings of alternating protection
 *           (none can merge) made with mmap(NULL, ...) one by one, then
 *           unmapped one by one: two lines, mmap-many and munmap-many, X per
 *           call with up to N regions in the address space
 *   fair    4 CPU-bound threads on one CPU, equal work: X per unit of work
 *           (1000 steps of a loop, plus the cost of preempting it; the
 *           steps alone take the same on any kernel), then two lines:
 *           fair-cpu-spread   (max - min) / mean of their CPU times, in %
 *           fair-finish-spread (last - first finish) / whole run, in %: a
 *                   fair preemptive scheduler ends them together (near 0);
 *                   running them one after the other gives 75
 *   sleep   nanosleep(1 ms): X is the average oversleep
 *   sleep-noslack  the same after prctl(PR_SET_TIMERSLACK, 1) (Linux
 *           otherwise lets a timer expire up to 50 us late to batch
 *           wake-ups; a kernel without timer slack refuses the prctl)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

/* Pin the calling thread to the first CPU it may use. (With one CPU, as
 * `make bench` runs, it is a formality; main says if it ever failed.) */
static int pin_failures;
static void pin_to_one_cpu(void)
{
	cpu_set_t set, one;
	CPU_ZERO(&set);
	CPU_ZERO(&one);
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set)) {
				CPU_SET(c, &one);
				break;
			}
	if (CPU_COUNT(&one) != 1 || sched_setaffinity(0, sizeof one, &one) != 0)
		__atomic_add_fetch(&pin_failures, 1, __ATOMIC_RELAXED);
}

/* Two threads running fn(n << 1 | me), me = 0 and 1. Each calls
 * pair_begin() when it is ready and pair_end() when done; the result is
 * the time from the first pair_begin() to the last pair_end(). Creating
 * the threads stays outside it, and so do the first moments of a new
 * thread that a scheduler may treat specially. */
static long pair_calls[2];   /* what each thread counted, to check the figure */

/* run_pair() (bench.h) with both threads on one CPU. */
static void pair_begin(int me)
{
	pin_to_one_cpu();
	pair_start(me);
}

static void pair_end(int me, long calls)
{
	pair_stop(me);
	pair_calls[me] = calls;
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
	long calls = 0;
	pair_begin(me);
	for (long i = 0; i < n; i++) {
		while (turn != me) {
			sched_yield();
			calls++;
		}
		turn = !me;
	}
	pair_end(me, calls);
	return NULL;
}

static void b_yield(long n)
{
	turn = 0;
	report("yield", run_pair(yielder, n), 2 * n);
	/* 2n hand-offs need about 2n yields; more means some yields came
	 * back without running the other thread. */
	printf("# yield: %ld sched_yield calls for %ld hand-offs\n", pair_calls[0] + pair_calls[1],
	       2 * n);
}

static int fword;
static void *futexer(void *arg)
{
	long n = (long)((uintptr_t)arg >> 1);
	int me = (int)((uintptr_t)arg & 1);
	long calls = 0;
	pair_begin(me);
	for (long i = 0; i < n; i++) {
		int v;
		while ((v = __atomic_load_n(&fword, __ATOMIC_ACQUIRE)) != me) {
			syscall(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
			calls++;
		}
		__atomic_store_n(&fword, !me, __ATOMIC_RELEASE);
		syscall(SYS_futex, &fword, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
	pair_end(me, calls);
	return NULL;
}

static void b_futex(long n)
{
	fword = 0;
	report("futex", run_pair(futexer, n), 2 * n);
	printf("# futex: %ld FUTEX_WAIT calls for %ld hand-offs\n", pair_calls[0] + pair_calls[1],
	       2 * n);
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
static volatile long shared, owner_changes;
static volatile int last_owner;
static void *locker(void *arg)
{
	long n = (long)((uintptr_t)arg >> 1);
	int me = (int)((uintptr_t)arg & 1);
	long held = 0;
	pair_begin(me);
	for (long i = 0; i < n; i++) {
		/* musl's lock starts with the same compare-and-swap as trylock,
		 * so trying first only adds one to the contended path. */
		if (pthread_mutex_trylock(&mtx) != 0) {
			held++;
			pthread_mutex_lock(&mtx);
		}
		shared++;
		if (last_owner != me) {
			last_owner = me;
			owner_changes++;
		}
		sched_yield();   /* hold it across a switch: the other must wait */
		pthread_mutex_unlock(&mtx);
	}
	pair_end(me, held);
	return NULL;
}

static void b_mutex(long n)
{
	shared = owner_changes = 0;
	last_owner = -1;
	int64_t t = run_pair(locker, n);
	if (shared != 2 * n)
		printf("# mutex: count %ld, expected %ld\n", shared, 2 * n);
	report("mutex", t, 2 * n);
	/* musl's unlock wakes a waiter but does not hand the mutex over: the
	 * unlocker may take it again first (then the woken waiter finds it
	 * held, sleeps again, and the owner seldom changes). */
	printf("# mutex: %ld of %ld trylocks found it held; it changed owner %ld times\n",
	       pair_calls[0] + pair_calls[1], 2 * n, owner_changes);
}

static pthread_mutex_t short_mtx = PTHREAD_MUTEX_INITIALIZER;
static long short_count;     /* guarded by short_mtx */
static void *short_locker(void *arg)
{
	long n = (long)((uintptr_t)arg >> 1);
	int me = (int)((uintptr_t)arg & 1);
	long held = 0;
	pair_begin(me);
	for (long i = 0; i < n; i++) {
		if (pthread_mutex_trylock(&short_mtx) != 0) {   /* as in locker() */
			held++;
			pthread_mutex_lock(&short_mtx);
		}
		short_count++;
		pthread_mutex_unlock(&short_mtx);
	}
	pair_end(me, held);
	return NULL;
}

static void b_mutex_short(long n)
{
	short_count = 0;
	int64_t t = run_pair(short_locker, n);
	if (short_count != 2 * n) {
		/* A lost update: the mutex failed, and the figure means nothing. */
		printf("# mutex-short: count %ld, expected %ld\n", short_count, 2 * n);
		exit(1);
	}
	report("mutex-short", t, 2 * n);
	/* Each time it was found held, the holder had been preempted inside
	 * the section: how often brief contention happened at all. */
	printf("# mutex-short: %ld of %ld locks found it held\n", pair_calls[0] + pair_calls[1],
	       2 * n);
}

static void b_fault(long n)
{
	size_t len = (size_t)n * 4096;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		printf("# fault: mmap of %ld pages failed\n", n);
		return;
	}
	/* One fault per 4 KiB page, not one per 2 MiB huge page (Linux may
	 * back a big anonymous mapping with huge pages unless told not to). */
	madvise(p, len, MADV_NOHUGEPAGE);
	int64_t t0 = now_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < n; i++)
		p[i * 4096] = 1;
	int64_t t = now_ns(CLOCK_MONOTONIC) - t0;
	munmap(p, len);
	report("fault", t, n);
}

static void b_maps(long n)
{
	char **pages = malloc((size_t)n * sizeof *pages);
	if (!pages)
		return;
	long made = 0;
	int64_t t0 = now_ns(CLOCK_MONOTONIC);
	for (; made < n; made++) {
		int prot = made & 1 ? PROT_READ : PROT_READ | PROT_WRITE;
		void *p = mmap(NULL, 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			break;
		pages[made] = p;
	}
	int64_t t1 = now_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < made; i++)
		munmap(pages[i], 4096);
	int64_t t2 = now_ns(CLOCK_MONOTONIC);
	free(pages);
	if (made < n)
		printf("# maps: mmap failed after %ld mappings\n", made);
	report("mmap-many", t1 - t0, made);
	report("munmap-many", t2 - t1, made);
}

#define FAIR_THREADS 4
#define FAIR_STEPS 1000      /* loop steps in one unit of work */
static int64_t fair_cpu[FAIR_THREADS], fair_start_ns[FAIR_THREADS], fair_end[FAIR_THREADS];
static volatile uint64_t fair_sink;
static pthread_barrier_t fair_start;

static void *fair_worker(void *arg)
{
	long n = (long)((uintptr_t)arg >> 3);
	int id = (int)((uintptr_t)arg & 7);
	pin_to_one_cpu();
	pthread_barrier_wait(&fair_start);
	fair_start_ns[id] = now_ns(CLOCK_MONOTONIC);
	int64_t c0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
	uint64_t x = (uint64_t)id;
	for (long i = 0; i < n * FAIR_STEPS; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	fair_sink = x;
	fair_cpu[id] = now_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	fair_end[id] = now_ns(CLOCK_MONOTONIC);
	return NULL;
}

static void b_fair(long n)
{
	pthread_t t[FAIR_THREADS];
	pthread_barrier_init(&fair_start, NULL, FAIR_THREADS);
	for (int i = 0; i < FAIR_THREADS; i++)
		pthread_create(&t[i], NULL, fair_worker, (void *)(uintptr_t)(n << 3 | i));
	for (int i = 0; i < FAIR_THREADS; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&fair_start);
	int64_t cmin = INT64_MAX, cmax = 0, csum = 0, smin = INT64_MAX, emin = INT64_MAX, emax = 0;
	for (int i = 0; i < FAIR_THREADS; i++) {
		cmin = fair_cpu[i] < cmin ? fair_cpu[i] : cmin;
		cmax = fair_cpu[i] > cmax ? fair_cpu[i] : cmax;
		csum += fair_cpu[i];
		smin = fair_start_ns[i] < smin ? fair_start_ns[i] : smin;
		emin = fair_end[i] < emin ? fair_end[i] : emin;
		emax = fair_end[i] > emax ? fair_end[i] : emax;
	}
	/* The run: from the first worker leaving the barrier (the last one to
	 * arrive releases them all) to the last one finishing. Whoever is
	 * scheduled first after the barrier, all the work lies inside it. */
	int64_t cmean = csum / FAIR_THREADS, span = emax - smin;
	printf("# fair: cpu us");
	for (int i = 0; i < FAIR_THREADS; i++)
		printf(" %lld", (long long)(fair_cpu[i] / 1000));
	printf("; finished at us");
	for (int i = 0; i < FAIR_THREADS; i++)
		printf(" %lld", (long long)((fair_end[i] - smin) / 1000));
	printf(" of %lld\n", (long long)(span / 1000));
	report("fair", span, FAIR_THREADS * n);
	/* Equal work should take equal CPU time; on one CPU a fair scheduler
	 * also finishes them close together (relative to the whole run). */
	report_unit("fair-cpu-spread", 100 * (cmax - cmin), cmean, "%", FAIR_THREADS * n);
	report_unit("fair-finish-spread", 100 * (emax - emin), span, "%", FAIR_THREADS * n);
}

static void b_sleep_named(const char *name, long n)
{
	struct timespec ms = { 0, 1000000 };
	int64_t t0 = now_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < n; i++)
		nanosleep(&ms, NULL);
	int64_t t = now_ns(CLOCK_MONOTONIC) - t0;
	report(name, n > 0 ? t - n * 1000000 : 0, n);   /* the oversleep per call */
}

static void b_sleep(long n)
{
	b_sleep_named("sleep", n);
}

#ifndef PR_SET_TIMERSLACK
#define PR_SET_TIMERSLACK 29
#endif
static void b_sleep_noslack(long n)
{
	if (prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL) != 0)
		printf("# sleep-noslack: prctl(PR_SET_TIMERSLACK): no timer slack to turn off\n");
	b_sleep_named("sleep-noslack", n);
}

static const struct bench benches[] = {
	{ "null", b_null, 20000 },  { "yield", b_yield, 2000 }, { "futex", b_futex, 2000 },
	{ "thread", b_thread, 200 }, { "mutex", b_mutex, 10000 },
	{ "mutex-short", b_mutex_short, 1000000 }, { "fault", b_fault, 1000 },
	{ "maps", b_maps, 8192 }, { "fair", b_fair, 5000 }, { "sleep", b_sleep, 50 },
	{ "sleep-noslack", b_sleep_noslack, 50 },
};

int main(int argc, char **argv)
{
	int st = bench_main(argc, argv, benches, sizeof benches / sizeof benches[0]);
	if (pin_failures)
		printf("# t_bench: pinning a thread to one CPU failed %d times\n", pin_failures);
	return st;
}
