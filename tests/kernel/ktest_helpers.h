/* ktest_helpers.h - small helpers shared by the thread and sync test files. */
#ifndef WEFT_KTEST_HELPERS_H
#define WEFT_KTEST_HELPERS_H
#include <stdint.h>
#include <weft/time.h>
#include <weft/sched.h>

#define MS(x) ((uint64_t)(x) * NSEC_PER_MSEC)

static inline uint64_t now_ns(void) { return clock_monotonic_ns(); }

/* Scheduler counters of CPU 0, the one CPU that runs threads for now. */
static inline struct sched_stats stats(void)
{
	struct sched_stats s;
	sched_get_stats(0, &s);
	return s;
}
#endif
