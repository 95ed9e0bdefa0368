/* t_bench_smp - multiprocessor benchmarks for `make bench` (not a test).
 *
 *   t_bench_smp NAME [N]   NAME: scale xfutex xmutex, or all
 *
 * The same static binary runs on weft and on Linux (tools/bench boots both
 * with the same -smp and QEMU flags). It uses the CPUs of its affinity
 * mask, C of them. Output lines are those of t_bench (user/lib/bench.h);
 * "#" lines are remarks that say whether a figure means what it claims
 * (which CPUs the threads really ran on, exact counts). Every figure is
 * the median of ROUNDS runs: these are wall-clock times of virtual CPUs
 * that the host may deschedule (or speed up) at any moment. Which CPU a thread
 * is on comes from RDTSCP: both kernels put the CPU number in TSC_AUX.
 *
 *   scale   for k = 1 .. C: k unpinned threads, each with the same
 *           CPU-bound work (N units of UNIT_STEPS loop steps), placed by
 *           the kernel alone. Two figures per k:
 *             scale-k    wall time per unit of work, all k threads' units
 *                        together (ns/unit; lower is better)
 *             speedup-k  throughput with k threads over throughput with
 *                        one ("x"; ideal k, and higher is better)
 *   xfutex  FUTEX_WAIT/FUTEX_WAKE ping-pong between two threads pinned to
 *           two different CPUs: time per hand-off (each one is a remote
 *           wake-up: an IPI to a CPU that went idle)
 *   xmutex  C threads, one pinned to each CPU, each locking one shared
 *           pthread mutex N times (a short critical section, a little
 *           work outside it): wall time per lock+unlock over all threads
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#define MAX_THREADS 16
#define UNIT_STEPS 1000000L   /* loop steps in one unit of `scale` work */
#define ROUNDS 7              /* each figure is the median of this many runs */

static int ncpus;               /* CPUs in our affinity mask */
static int cpu_ids[MAX_THREADS]; /* their numbers, ascending */

/* The CPU this thread runs on now (TSC_AUX; Linux keeps the node above
 * bit 12). */
static int cpu_now(void)
{
	uint32_t lo, hi, aux;
	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	return (int)(aux & 0xfff);
}

static int pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	return sched_setaffinity(0, sizeof s, &s);
}

/* Loop steps the compiler cannot drop; the same instructions on any kernel. */
static volatile uint64_t sink;
static void spin_steps(long steps, uint64_t seed)
{
	uint64_t x = seed;
	for (long i = 0; i < steps; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	sink = x;
}

/* The median of v[0..n-1] (n odd; v is reordered). */
static int64_t median(int64_t *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			int64_t x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	return v[n / 2];
}

/* --- scale -------------------------------------------------------------- */

static pthread_barrier_t scale_barrier;
static int64_t scale_start[MAX_THREADS], scale_end[MAX_THREADS];
static uint64_t scale_cpus[MAX_THREADS];   /* bit n: ran on CPU n at a unit's end */
static long scale_units;

static void *scale_worker(void *arg)
{
	int id = (int)(uintptr_t)arg;
	pthread_barrier_wait(&scale_barrier);
	scale_start[id] = now_ns(CLOCK_MONOTONIC);
	uint64_t seen = 0;
	for (long u = 0; u < scale_units; u++) {
		spin_steps(UNIT_STEPS, (uint64_t)id);
		seen |= 1ULL << (cpu_now() & 63);
	}
	scale_end[id] = now_ns(CLOCK_MONOTONIC);
	scale_cpus[id] = seen;
	return NULL;
}

/* k threads, scale_units units each: the wall time from the first start
 * to the last end. */
static int64_t scale_run(int k)
{
	pthread_t t[MAX_THREADS];
	pthread_barrier_init(&scale_barrier, NULL, (unsigned)k);
	for (int i = 0; i < k; i++)
		pthread_create(&t[i], NULL, scale_worker, (void *)(uintptr_t)i);
	for (int i = 0; i < k; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&scale_barrier);
	int64_t t0 = INT64_MAX, t1 = 0;
	for (int i = 0; i < k; i++) {
		t0 = scale_start[i] < t0 ? scale_start[i] : t0;
		t1 = scale_end[i] > t1 ? scale_end[i] : t1;
	}
	printf("# scale-%d: %lld us; CPUs each thread was seen on:", k, (long long)((t1 - t0) / 1000));
	for (int i = 0; i < k; i++) {
		printf(" {");
		const char *sep = "";
		for (int c = 0; c < 64; c++)
			if (scale_cpus[i] >> c & 1) {
				printf("%s%d", sep, c);
				sep = ",";
			}
		printf("}");
	}
	printf("\n");
	return t1 - t0;
}

static void b_scale(long n)
{
	static int64_t t[MAX_THREADS + 1][ROUNDS], ratio[ROUNDS];
	scale_units = n;
	/* Rounds of k = 1 .. C in turn, so that a slow spell of the host
	 * touches neighbouring figures alike. */
	for (int r = 0; r < ROUNDS; r++)
		for (int k = 1; k <= ncpus; k++)
			t[k][r] = scale_run(k);
	for (int k = 1; k <= ncpus; k++) {
		char name[32];
		snprintf(name, sizeof name, "scale-%d", k);
		report_unit(name, median(t[k], ROUNDS), k * n, "ns/unit", k * n);
		/* throughput(k) / throughput(1) = (k n / t_k) / (n / t_1), in
		 * tenths, per round (each round's k threads against the same
		 * round's one thread); the median of those */
		for (int r = 0; r < ROUNDS; r++)
			ratio[r] = t[k][r] > 0 ? 1000 * k * t[1][r] / t[k][r] : 0;
		snprintf(name, sizeof name, "speedup-%d", k);
		report_unit(name, median(ratio, ROUNDS), 1000, "x", k * n);
	}
}

/* --- xfutex ------------------------------------------------------------- */

static int fword;
static int pair_cpu[2], pair_moved[2];
static long pair_waits[2];

static void *xfutexer(void *arg)
{
	long n = (long)((uintptr_t)arg >> 1);
	int me = (int)((uintptr_t)arg & 1);
	long waits = 0;
	int moved = 0;
	pin(cpu_ids[me]);
	pair_start(me);
	pair_cpu[me] = cpu_now();
	for (long i = 0; i < n; i++) {
		int v;
		while ((v = __atomic_load_n(&fword, __ATOMIC_ACQUIRE)) != me) {
			syscall(SYS_futex, &fword, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
			waits++;
		}
		__atomic_store_n(&fword, !me, __ATOMIC_RELEASE);
		syscall(SYS_futex, &fword, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
		moved += cpu_now() != pair_cpu[me];
	}
	pair_stop(me);
	pair_waits[me] = waits;
	pair_moved[me] = moved;
	return NULL;
}

static void b_xfutex(long n)
{
	if (ncpus < 2) {
		printf("# xfutex: needs two CPUs\n");
		return;
	}
	int64_t runs[ROUNDS];
	for (int r = 0; r < ROUNDS; r++) {
		fword = 0;
		runs[r] = run_pair(xfutexer, n);
	}
	report("xfutex", median(runs, ROUNDS), 2 * n);
	printf("# xfutex: threads on CPUs %d and %d (moved %d times); %ld FUTEX_WAIT calls "
	       "for %ld hand-offs\n", pair_cpu[0], pair_cpu[1], pair_moved[0] + pair_moved[1],
	       pair_waits[0] + pair_waits[1], 2 * n);
}

/* --- xmutex ------------------------------------------------------------- */

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t mtx_barrier;
static long mtx_count, mtx_handovers;
static int mtx_last = -1;
static int64_t mtx_t0[MAX_THREADS], mtx_t1[MAX_THREADS];
static int mtx_cpu[MAX_THREADS], mtx_moved[MAX_THREADS];

static void *xlocker(void *arg)
{
	long n = (long)((uintptr_t)arg >> 4);
	int me = (int)((uintptr_t)arg & 15);
	int moved = 0;
	pin(cpu_ids[me]);
	pthread_barrier_wait(&mtx_barrier);
	mtx_cpu[me] = cpu_now();
	mtx_t0[me] = now_ns(CLOCK_MONOTONIC);
	for (long i = 0; i < n; i++) {
		pthread_mutex_lock(&mtx);
		mtx_count++;
		if (mtx_last != me) {
			mtx_last = me;
			mtx_handovers++;
		}
		spin_steps(20, (uint64_t)i);   /* the critical section */
		pthread_mutex_unlock(&mtx);
		spin_steps(20, (uint64_t)i);   /* work outside it */
		if ((i & 255) == 0)
			moved += cpu_now() != mtx_cpu[me];
	}
	mtx_t1[me] = now_ns(CLOCK_MONOTONIC);
	mtx_moved[me] = moved;
	return NULL;
}

static void b_xmutex(long n)
{
	int64_t runs[ROUNDS];
	int moved = 0;
	for (int r = 0; r < ROUNDS; r++) {
		pthread_t t[MAX_THREADS];
		mtx_count = mtx_handovers = 0;
		pthread_barrier_init(&mtx_barrier, NULL, (unsigned)ncpus);
		for (int i = 0; i < ncpus; i++)
			pthread_create(&t[i], NULL, xlocker, (void *)(uintptr_t)(n << 4 | (long)i));
		for (int i = 0; i < ncpus; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&mtx_barrier);
		int64_t t0 = INT64_MAX, t1 = 0;
		moved = 0;
		for (int i = 0; i < ncpus; i++) {
			t0 = mtx_t0[i] < t0 ? mtx_t0[i] : t0;
			t1 = mtx_t1[i] > t1 ? mtx_t1[i] : t1;
			moved += mtx_moved[i];
		}
		runs[r] = t1 - t0;
	}
	report("xmutex", median(runs, ROUNDS), ncpus * n);
	printf("# xmutex: %d threads on CPUs", ncpus);
	for (int i = 0; i < ncpus; i++)
		printf(" %d", mtx_cpu[i]);
	printf(" (moved %d times); last run: count %ld of %ld, the mutex changed hands %ld times\n", moved,
	       mtx_count, ncpus * n, mtx_handovers);
}

static const struct bench benches[] = {
	{ "scale", b_scale, 40 }, { "xfutex", b_xfutex, 5000 }, { "xmutex", b_xmutex, 20000 },
};

int main(int argc, char **argv)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set) != 0) {
		perror("sched_getaffinity");
		return 1;
	}
	for (int c = 0; c < CPU_SETSIZE && ncpus < MAX_THREADS; c++)
		if (CPU_ISSET(c, &set))
			cpu_ids[ncpus++] = c;
	return bench_main(argc, argv, benches, sizeof benches / sizeof benches[0]);
}
