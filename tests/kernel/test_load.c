/*
 * test_load.c - the weighted load balancing works from (kernel/balance.c):
 * each run queue's `load` is the sum of the weights of the threads on that
 * CPU, kept up to date as threads come and go (enqueue, move, sleep, exit,
 * priority change), and balancing by it gives nice-0 threads their share
 * next to nice-19 ones.
 *
 * Suite `balance` (with test_balance.c). load_follows_threads runs on any
 * number of CPUs; weighted_spread needs two.
 */
#include <weft/ktest.h>
#include <weft/thread.h>
#include <weft/sched.h>
#include <weft/smp.h>
#include <weft/wait.h>
#include <weft/time.h>
#include <arch/cpu.h>
#include <stdbool.h>
#include <stdint.h>

#include "ktest_helpers.h"

static uint32_t next_rand(uint32_t *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* ============================================================================
 * balance.load_follows_threads: while churn threads sleep, wake, yield,
 * spin, change their own and each other's priorities and masks, and create
 * short-lived children, every CPU's stored load equals the weights counted
 * from its queue and runner at that moment (both read under its lock) -
 * thousands of times, and once more when all is quiet.
 * ========================================================================== */

#define CHURN_MAX (2 * MAX_CPUS + 1)
#define CHURN_TIME MS(400)

static struct thread *churn[CHURN_MAX];
static unsigned churn_n;
static volatile bool churn_stop;
static volatile unsigned churn_children;

static void *child_fn(void *arg)
{
	(void)arg;
	__atomic_fetch_add(&churn_children, 1, __ATOMIC_RELAXED);
	return NULL;
}

static uint64_t random_mask(uint32_t *rng)
{
	uint64_t all = ncpus() >= 64 ? ~0ULL : (1ULL << ncpus()) - 1;
	uint64_t m = next_rand(rng) & all;
	return m ? m : all;
}

static void *churn_fn(void *arg)
{
	uint32_t rng = (uint32_t)(uintptr_t)arg * 2654435761u + 1;
	uint64_t bail = now_ns() + MS(60000);
	while (!churn_stop && now_ns() < bail) {
		switch (next_rand(&rng) % 8) {
		case 0:
		case 1:
			thread_sleep((next_rand(&rng) % 200) * NSEC_PER_USEC);
			break;
		case 2:
			thread_yield();
			break;
		case 3:
			thread_set_priority(current(), (int)(next_rand(&rng) % 25) - 5);
			break;
		case 4: {
			/* Another churner's: queued, asleep or running elsewhere. */
			struct thread *o = churn[next_rand(&rng) % churn_n];
			if (o)
				thread_set_priority(o, (int)(next_rand(&rng) % 25) - 5);
			break;
		}
		case 5:
			sched_set_affinity_mask(current(), random_mask(&rng));
			break;
		case 6: {
			struct thread *c = thread_create(child_fn, NULL, "load-child");
			if (c)
				thread_join(c);
			break;
		}
		default:
			for (uint32_t i = next_rand(&rng) % 20000; i; i--)
				cpu_relax();
		}
	}
	return NULL;
}

KTEST(balance, load_follows_threads)
{
	unsigned n = ncpus();
	churn_n = 2 * n + 1;
	churn_stop = false;
	churn_children = 0;
	for (unsigned i = 0; i < CHURN_MAX; i++)
		churn[i] = NULL;
	/* Created bound, each then roams (case 5); published before any runs
	 * far enough to look (churn_n fixed, NULL until set). */
	for (unsigned i = 0; i < churn_n; i++) {
		churn[i] = thread_create_on(i % n, churn_fn, (void *)(uintptr_t)(i + 1), "churn");
		KT_EXPECT(t, churn[i] != NULL, "no thread %u", i);
	}
	uint64_t checks = 0, bad = 0, deadline = now_ns() + CHURN_TIME;
	while (now_ns() < deadline) {
		for (unsigned cpu = 0; cpu < n; cpu++) {
			uint64_t stored, counted;
			checks++;
			if (!sched_load_check(cpu, &stored, &counted) && !bad++)
				KT_EXPECT(t, false, "CPU %u: load %lu, its threads weigh %lu", cpu,
					  (unsigned long)stored, (unsigned long)counted);
		}
		thread_sleep(50 * NSEC_PER_USEC);
	}
	churn_stop = true;
	for (unsigned i = 0; i < churn_n; i++)
		if (churn[i])
			thread_join(churn[i]);
	for (unsigned i = 0; i < CHURN_MAX; i++)
		churn[i] = NULL;
	KT_EXPECT(t, bad == 0, "%lu of %lu checks disagreed", (unsigned long)bad,
		  (unsigned long)checks);
	/* Quiet now: the same, and only this thread (and idle ones) count. */
	uint64_t total = 0;
	for (unsigned cpu = 0; cpu < n; cpu++) {
		uint64_t stored, counted;
		KT_EXPECT(t, sched_load_check(cpu, &stored, &counted),
			  "after the churn, CPU %u: load %lu, its threads weigh %lu", cpu,
			  (unsigned long)stored, (unsigned long)counted);
		total += stored;
	}
	KT_EXPECT(t, total >= current()->weight, "total load %lu below this thread's weight %u",
		  (unsigned long)total, current()->weight);
	KT_EXPECT(t, churn_children > 0, "no child thread was created");
	ktest_diag(t, "%lu load checks on %u CPUs; %u threads churning, %u children", (unsigned long)checks,
		   n, churn_n, churn_children);
}

/* ============================================================================
 * balance.weighted_spread: two nice-0 and two nice-19 CPU-bound threads,
 * started with both nice-0 ones on CPU a and both nice-19 ones on CPU b,
 * then allowed both CPUs. By thread count the CPUs are even (two each) and
 * each nice-0 thread would keep half a CPU; by weight (2048 against 30) one
 * nice-0 thread moves, and each gets nearly a whole CPU (1024 of 1039 or
 * 1054). Asserted: each nice-0 thread gets at least 70% of a CPU over
 * 400 ms, measured after 300 ms to settle.
 * ========================================================================== */

static volatile bool ws_stop;

static void *ws_fn(void *arg)
{
	thread_set_priority(current(), (int)(intptr_t)arg);
	uint64_t bail = now_ns() + MS(60000);
	while (!ws_stop && now_ns() < bail)
		for (int k = 0; k < 1000; k++)
			cpu_relax();
	return NULL;
}

KTEST(balance, weighted_spread)
{
	if (!need_cpus(t, 2))
		return;
	unsigned n = ncpus(), home = cpu_id();
	/* Two CPUs other than ours where there are three or more. */
	unsigned a = n >= 3 ? (home + 1) % n : 0, b = n >= 3 ? (home + 2) % n : 1;
	ws_stop = false;
	struct thread *heavy[2], *light[2];
	for (int i = 0; i < 2; i++) {
		heavy[i] = thread_create_on(a, ws_fn, (void *)(intptr_t)0, "ws-nice0");
		light[i] = thread_create_on(b, ws_fn, (void *)(intptr_t)PRIO_MAX, "ws-nice19");
		KT_ASSERT(t, heavy[i] && light[i], "no threads");
	}
	thread_sleep(MS(20));
	uint64_t both = (1ULL << a) | (1ULL << b);
	for (int i = 0; i < 2; i++) {
		KT_EXPECT_EQ(t, sched_set_affinity_mask(heavy[i], both), 0);
		KT_EXPECT_EQ(t, sched_set_affinity_mask(light[i], both), 0);
	}
	thread_sleep(MS(300));
	uint64_t c0[2], t0 = now_ns();
	for (int i = 0; i < 2; i++)
		c0[i] = heavy[i]->cpu_time_ns;
	thread_sleep(MS(400));
	uint64_t span = now_ns() - t0, got[2];
	for (int i = 0; i < 2; i++)
		got[i] = heavy[i]->cpu_time_ns - c0[i];
	int where[2] = { heavy[0]->cpu, heavy[1]->cpu };
	ws_stop = true;
	for (int i = 0; i < 2; i++) {
		thread_join(heavy[i]);
		thread_join(light[i]);
	}
	for (int i = 0; i < 2; i++)
		KT_EXPECT(t, got[i] * 10 >= span * 7,
			  "nice-0 thread %d got %lu of %lu ms (on CPU %d; the other on %d)", i,
			  (unsigned long)(got[i] / NSEC_PER_MSEC), (unsigned long)(span / NSEC_PER_MSEC),
			  where[i], where[1 - i]);
	ktest_diag(t, "nice-0 threads got %lu and %lu of %lu ms, on CPUs %d and %d",
		   (unsigned long)(got[0] / NSEC_PER_MSEC), (unsigned long)(got[1] / NSEC_PER_MSEC),
		   (unsigned long)(span / NSEC_PER_MSEC), where[0], where[1]);
}
