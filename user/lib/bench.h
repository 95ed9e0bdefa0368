/* bench.h - what t_bench and t_bench_smp share: the clock and the one
 * output line that tools/bench-table reads,
 *
 *   bench NAME: X.Y UNIT (N ops)
 *
 * X = num / den rounded to one decimal. Lines starting with "#" are
 * remarks the table passes through. */
#ifndef USER_BENCH_H
#define USER_BENCH_H

#include <stdint.h>
#include <stdio.h>
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

#endif
