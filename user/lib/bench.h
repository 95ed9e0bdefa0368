/* bench.h - what t_bench and t_bench_smp share: the clock and the one
 * output line that tools/bench-table reads,
 *
 *   bench NAME: X.Y UNIT (N ops)
 *
 * X = num / den rounded to one decimal. Lines starting with "#" are
 * remarks the table passes through. */
#ifndef USER_BENCH_H
#define USER_BENCH_H

#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline int64_t now_ns(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static inline void report_unit(const char *name, int64_t num, int64_t den, const char *unit,
			       long ops)
{
	int64_t tenths = den > 0 ? (num * 10 + (num < 0 ? -den : den) / 2) / den : 0;
	int64_t mag = tenths < 0 ? -tenths : tenths;
	printf("bench %s: %s%lld.%lld %s (%ld ops)\n", name, tenths < 0 ? "-" : "",
	       (long long)(mag / 10), (long long)(mag % 10), unit, ops);
	fflush(stdout);
}

/* Time per operation: ns for n operations. */
static inline void report(const char *name, int64_t ns, long ops)
{
	report_unit(name, ns, ops, "ns/op", ops);
}

/* A timed pair of threads: run_pair(fn, n) starts fn((n << 1) | me) for
 * me = 0 and 1 and returns the time from the first pair_start() to the
 * last pair_stop(). Each thread calls pair_start(me) once it is ready
 * (pinned where it wants to be; the two meet at a barrier there) and
 * pair_stop(me) when done, so creating the threads is not timed. */
static pthread_barrier_t pair_barrier;
static int64_t pair_t0[2], pair_t1[2];

static inline void pair_start(int me)
{
	pthread_barrier_wait(&pair_barrier);
	pair_t0[me] = now_ns(CLOCK_MONOTONIC);
}

static inline void pair_stop(int me)
{
	pair_t1[me] = now_ns(CLOCK_MONOTONIC);
}

static inline int64_t run_pair(void *(*fn)(void *), long n)
{
	pthread_t a, b;
	pthread_barrier_init(&pair_barrier, NULL, 2);
	pthread_create(&a, NULL, fn, (void *)(uintptr_t)(n << 1 | 0));
	pthread_create(&b, NULL, fn, (void *)(uintptr_t)(n << 1 | 1));
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_barrier_destroy(&pair_barrier);
	int64_t t0 = pair_t0[0] < pair_t0[1] ? pair_t0[0] : pair_t0[1];
	int64_t t1 = pair_t1[0] > pair_t1[1] ? pair_t1[0] : pair_t1[1];
	return t1 - t0;
}

/* One benchmark: its name, the function, and its default operation count. */
struct bench {
	const char *name;
	void (*fn)(long);
	long n;
};

/* main() of a benchmark program: PROG NAME|all [N]. Says how many CPUs
 * the program may use, runs the named benchmark (or every one) with N
 * operations (default: its own), and returns the exit status: 2 for bad
 * usage or an unknown name. */
static inline int bench_main(int argc, char **argv, const struct bench *b, size_t nb)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s NAME|all [N]; NAME:", argv[0]);
		for (size_t i = 0; i < nb; i++)
			fprintf(stderr, " %s", b[i].name);
		fprintf(stderr, "\n");
		return 2;
	}
	const char *prog = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	cpu_set_t set;
	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		printf("# %s: %d CPU(s) to run on\n", prog, CPU_COUNT(&set));
	long n = argc > 2 ? strtol(argv[2], NULL, 0) : 0;
	int all = !strcmp(argv[1], "all"), ran = 0;
	for (size_t i = 0; i < nb; i++)
		if (all || !strcmp(argv[1], b[i].name)) {
			b[i].fn(n > 0 ? n : b[i].n);
			ran++;
		}
	if (!ran) {
		fprintf(stderr, "%s: no benchmark called '%s'\n", argv[0], argv[1]);
		return 2;
	}
	return 0;
}

#endif
