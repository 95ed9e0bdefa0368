/*
 * pingpong.h - two kernel threads hand a token back and forth through two
 * wait queues, shared by smp.ping_pong_wait_queues (both sides bound to
 * CPUs) and balance.ping_pong_unpinned (both sides free to move).
 *
 * Side s (0 = ping, 1 = pong) takes turns s, s+2, s+4, ...: it sleeps on
 * its own wait queue until `turn` equals its next turn, logs its side at
 * log[turn], advances turn and wakes the other side. pingpong_check()
 * then asserts that all 2*rounds turns were taken, each by the right side
 * (exact alternation), and that a side bound to a CPU never took a turn
 * anywhere else. A side that is not bound is only watched: `seen[s]` is
 * the mask of CPUs it took turns on, for the test's diagnostics.
 *
 * Every wait is bounded: pingpong_wait() gives up after its timeout, sets
 * the abort flag and wakes both sides before joining them. The failure
 * lines printed by the checks are lines of this file.
 */
#ifndef WEFT_TESTS_PINGPONG_H
#define WEFT_TESTS_PINGPONG_H
#include <weft/ktest.h>
#include <weft/thread.h>
#include <weft/wait.h>
#include <weft/string.h>
#include <arch/percpu.h>
#include <stdbool.h>
#include <stdint.h>

#include "ktest_helpers.h"

#define PINGPONG_UNBOUND (-1)

struct pingpong;

struct pingpong_side {
	struct pingpong *pp;
	unsigned side;
};

struct pingpong {
	unsigned rounds;                /* turns per side */
	int cpu[2];                     /* CPU each side is bound to, or PINGPONG_UNBOUND */
	uint8_t *log;                   /* 2 * rounds entries: the side that took turn k */
	struct wait_queue wq[2];
	volatile uint32_t turn;         /* 0 .. 2 * rounds */
	volatile bool abort;
	volatile uint64_t seen[2];      /* CPUs (below 64) each side took turns on */
	volatile unsigned wrong_cpu[2]; /* turns a bound side took on another CPU */
	struct completion done;
	struct pingpong_side arg[2];
	struct thread *th[2];
	uint64_t t0, ms;                /* start; duration, once pingpong_wait() returned */
};

struct pingpong_wait {
	struct pingpong *pp;
	uint32_t want;
};

static bool pingpong_my_turn(void *arg)
{
	struct pingpong_wait *w = arg;
	return w->pp->abort || __atomic_load_n(&w->pp->turn, __ATOMIC_ACQUIRE) == w->want;
}

static void *pingpong_fn(void *arg)
{
	struct pingpong_side *me = arg;
	struct pingpong *pp = me->pp;
	unsigned side = me->side;
	for (uint32_t i = 0; i < pp->rounds && !pp->abort; i++) {
		struct pingpong_wait w = { pp, 2 * i + side };
		wait_event(&pp->wq[side], pingpong_my_turn, &w, THREAD_UNINTERRUPTIBLE, 0);
		if (pp->abort)
			break;
		unsigned cpu = cpu_id();
		if (cpu < 64)
			pp->seen[side] |= 1ULL << cpu;
		if (pp->cpu[side] != PINGPONG_UNBOUND && cpu != (unsigned)pp->cpu[side])
			pp->wrong_cpu[side]++;
		pp->log[pp->turn] = (uint8_t)side;
		__atomic_store_n(&pp->turn, pp->turn + 1, __ATOMIC_RELEASE);
		wake_up_one(&pp->wq[side ^ 1]);
	}
	complete(&pp->done);
	return NULL;
}

static void pingpong_abort(struct pingpong *pp)
{
	pp->abort = true;
	wake_up_all(&pp->wq[0]);
	wake_up_all(&pp->wq[1]);
}

/* Start both sides: `log` holds 2 * rounds bytes; cpu0/cpu1 are the CPUs
 * ping and pong are bound to, or PINGPONG_UNBOUND (then a side inherits
 * its creator's affinity mask, like any new thread). Returns false, with
 * nothing left running, if a thread could not be created. */
static bool pingpong_start(struct pingpong *pp, unsigned rounds, uint8_t *log, int cpu0,
			   int cpu1)
{
	static const char *const names[2] = { "ping", "pong" };
	pp->rounds = rounds;
	pp->cpu[0] = cpu0;
	pp->cpu[1] = cpu1;
	pp->log = log;
	memset(log, 0xff, 2 * (size_t)rounds);
	wait_queue_init(&pp->wq[0], names[0]);
	wait_queue_init(&pp->wq[1], names[1]);
	completion_init(&pp->done);
	pp->turn = 0;
	pp->abort = false;
	pp->seen[0] = pp->seen[1] = 0;
	pp->wrong_cpu[0] = pp->wrong_cpu[1] = 0;
	pp->ms = 0;
	pp->t0 = now_ns();
	for (unsigned s = 0; s < 2; s++) {
		pp->arg[s] = (struct pingpong_side){ pp, s };
		pp->th[s] = pp->cpu[s] == PINGPONG_UNBOUND
				    ? thread_create(pingpong_fn, &pp->arg[s], names[s])
				    : thread_create_on((unsigned)pp->cpu[s], pingpong_fn, &pp->arg[s],
						       names[s]);
	}
	if (pp->th[0] && pp->th[1])
		return true;
	pingpong_abort(pp);
	for (unsigned s = 0; s < 2; s++)
		if (pp->th[s])
			thread_join(pp->th[s]);
	return false;
}

/* Wait up to timeout_ns for both sides to finish (on a timeout, stop
 * them), then join them. Returns whether both finished in time. */
static bool pingpong_wait(struct pingpong *pp, uint64_t timeout_ns)
{
	bool ok = wait_done(&pp->done, 2, timeout_ns) == 2;
	if (!ok)
		pingpong_abort(pp);
	thread_join(pp->th[0]);
	thread_join(pp->th[1]);
	pp->ms = (now_ns() - pp->t0) / NSEC_PER_MSEC;
	return ok;
}

/* What every ping-pong must show: finished in time, all 2 * rounds turns
 * taken, each by the side whose turn it was, and (when a side is bound)
 * no turn of a bound side taken on another CPU. */
static void pingpong_check(struct ktest_ctx *t, const struct pingpong *pp, bool ok)
{
	unsigned n = 2 * pp->rounds;
	KT_EXPECT(t, ok, "ping-pong stuck at turn %u of %u", pp->turn, n);
	KT_EXPECT_EQ(t, pp->turn, n);
	unsigned bad = 0, first_bad = 0;
	for (unsigned k = 0; k < n; k++)
		if (pp->log[k] != (k & 1) && bad++ == 0)
			first_bad = k;
	KT_EXPECT(t, bad == 0, "ping-pong: %u steps out of order, the first at %u", bad, first_bad);
	if (pp->cpu[0] != PINGPONG_UNBOUND || pp->cpu[1] != PINGPONG_UNBOUND)
		KT_EXPECT(t, pp->wrong_cpu[0] == 0 && pp->wrong_cpu[1] == 0,
			  "ping-pong ran on the wrong CPU %u/%u times", pp->wrong_cpu[0],
			  pp->wrong_cpu[1]);
}
#endif
