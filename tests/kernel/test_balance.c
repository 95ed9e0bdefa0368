/*
 * test_balance.c - threads across CPUs: affinity masks, placement of new
 * and woken threads, idle pulling and periodic balancing (kernel/balance.c).
 *
 * Suite `balance`, run by t/smp2.t and t/smp4.t (and by the test=all runs;
 * with one CPU most tests are skipped). ktest_run() pins the test thread to
 * its CPU and new threads inherit their creator's mask, so a test that
 * wants threads to move unpins them (or itself) explicitly.
 *
 * The host may be loaded and QEMU's TCG runs each vCPU as a host thread
 * that can be descheduled for a long time: every assertion about time is a
 * property with a generous bound (every CPU ran some of the work, CPU
 * times within a factor of four), never an exact figure, and every wait is
 * bounded (on a timeout: fail, stop the workers, then join them).
 */
#include <weft/ktest.h>
#include <weft/thread.h>
#include <weft/sched.h>
#include <weft/smp.h>
#include <weft/wait.h>
#include <weft/mutex.h>
#include <weft/time.h>
#include <weft/errno.h>
#include <weft/string.h>
#include <arch/percpu.h>
#include <arch/cpu.h>
#include <stdbool.h>
#include <stdint.h>

#include "ktest_helpers.h"
#include "pingpong.h"

/* tests/kernel/regs_test.S */
uint64_t regs_test_run(uint64_t seed, uint64_t iterations, void (*fn)(void *), void *arg,
		       uint64_t spin);

static uint64_t all_cpus(void) { return ncpus() >= 64 ? ~0ULL : (1ULL << ncpus()) - 1; }

static uint64_t total_migrations(void)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < ncpus(); i++) {
		struct sched_stats s;
		sched_get_stats(i, &s);
		sum += s.migrations;
	}
	return sum;
}

/* The test thread runs on any CPU for a while; restore() pins it back. */
struct unpinned {
	uint64_t saved;
};

static struct unpinned unpin_self(void)
{
	struct unpinned u = { current()->affinity };
	thread_set_affinity(current(), -1);
	return u;
}

static void restore_self(struct unpinned u) { sched_set_affinity_mask(current(), u.saved); }

/* ============================================================================
 * balance.affinity_api: masks are checked (no online CPU, idle threads),
 * kept as given, and a new thread inherits its creator's mask.
 * ========================================================================== */

static volatile uint64_t inherited;

static void *inherit_fn(void *arg)
{
	(void)arg;
	inherited = current()->affinity;
	return NULL;
}

KTEST(balance, affinity_api)
{
	struct thread *self = current();
	uint64_t saved = self->affinity;
	int r = sched_set_affinity_mask(self, 0);
	KT_EXPECT_EQ(t, r, -EINVAL);
	r = sched_set_affinity_mask(self, 1ULL << 40);         /* no such CPU online */
	KT_EXPECT_EQ(t, r, -EINVAL);
	KT_EXPECT(t, self->affinity == saved, "a refused mask changed it to %#lx",
		  (unsigned long)self->affinity);
	r = thread_set_affinity(self, (int)ncpus());
	KT_EXPECT_EQ(t, r, -EINVAL);
	r = thread_set_affinity(self, -2);
	KT_EXPECT_EQ(t, r, -EINVAL);

	/* An offline CPU in the mask is kept (as Linux does) and ignored. */
	uint64_t wide = (1ULL << cpu_id()) | (1ULL << 40);
	r = sched_set_affinity_mask(self, wide);
	KT_EXPECT_EQ(t, r, 0);
	KT_EXPECT(t, self->affinity == wide, "mask %#lx, set %#lx", (unsigned long)self->affinity,
		  (unsigned long)wide);

	/* New threads inherit the creator's mask; thread_create_on binds. */
	inherited = 0;
	struct thread *th = thread_create(inherit_fn, NULL, "inherit");
	KT_ASSERT(t, th != NULL, "no thread");
	thread_join(th);
	KT_EXPECT(t, inherited == wide, "new thread's mask %#lx, its creator's %#lx",
		  (unsigned long)inherited, (unsigned long)wide);
	th = thread_create_on(0, inherit_fn, NULL, "inherit-on");
	KT_ASSERT(t, th != NULL, "no thread");
	thread_join(th);
	KT_EXPECT(t, inherited == 1, "thread_create_on(0): mask %#lx", (unsigned long)inherited);
	r = sched_set_affinity_mask(self, saved);
	KT_EXPECT_EQ(t, r, 0);

	/* Idle threads stay where they are (tid -1). */
	struct thread *idle = thread_find(-1);
	KT_ASSERT(t, idle != NULL && idle->idle, "no idle thread found");
	r = sched_set_affinity_mask(idle, all_cpus());
	KT_EXPECT_EQ(t, r, -EINVAL);
	r = thread_set_affinity(idle, -1);
	KT_EXPECT_EQ(t, r, -EINVAL);
}

/* ============================================================================
 * balance.pinned_never_elsewhere: on every CPU, a pinned thread (bound at
 * creation, or binding itself from another CPU) records cpu_id() in a
 * tight loop across many preemptions, yields and sleeps, while unpinned
 * CPU-bound threads keep every CPU busy and the balancer active. Not once
 * may it be elsewhere.
 * ========================================================================== */

#define PIN_TIME MS(400)

struct pin_arg {
	unsigned cpu;
	bool self_bind;                  /* bind itself (from wherever it started) */
	uint64_t loops, wrong, first_wrong_cpu, switches;
	uint64_t deadline;
	struct completion *done;
};

static volatile bool pin_stop;

static void *pin_fn(void *p)
{
	struct pin_arg *a = p;
	if (a->self_bind)
		thread_set_affinity(current(), (int)a->cpu);
	uint64_t s0 = current()->nr_switches;
	/* At least one round, however late it starts: with more virtual CPUs
	 * than host cores, creating the threads can outlast the deadline. */
	do {
		for (int k = 0; k < 2000; k++) {
			unsigned c = cpu_id();
			if (c != a->cpu && a->wrong++ == 0)
				a->first_wrong_cpu = c;
			a->loops++;
		}
		if (a->loops % 64000 == 0)
			thread_sleep(200 * NSEC_PER_USEC);
		else if (a->loops % 22000 == 0)
			thread_yield();
	} while (!pin_stop && now_ns() < a->deadline);
	a->switches = current()->nr_switches - s0;
	complete(a->done);
	return NULL;
}

static void *busy_fn(void *arg)
{
	const volatile uint64_t *deadline = arg;
	while (!pin_stop && now_ns() < *deadline)
		cpu_relax();
	return NULL;
}

KTEST(balance, pinned_never_elsewhere)
{
	if (!need_cpus(t, 2))
		return;
	unsigned n = ncpus();
	static struct pin_arg args[2 * MAX_CPUS];
	struct thread *pinned[2 * MAX_CPUS], *busy[2 * MAX_CPUS];
	static volatile uint64_t busy_deadline;
	struct completion done;
	completion_init(&done);
	pin_stop = false;
	uint64_t deadline = now_ns() + PIN_TIME;
	busy_deadline = deadline;
	struct unpinned u = unpin_self();
	uint64_t m0 = total_migrations();
	unsigned np = 0, nb = 0;
	for (unsigned i = 0; i < n; i++) {
		for (unsigned k = 0; k < 2; k++) {
			args[np] = (struct pin_arg){ .cpu = i, .self_bind = k == 1,
						     .deadline = deadline, .done = &done };
			pinned[np] = k == 0 ? thread_create_on(i, pin_fn, &args[np], "pinned")
					    : thread_create(pin_fn, &args[np], "pin-self");
			KT_ASSERT(t, pinned[np] != NULL, "no thread");
			np++;
		}
		busy[nb] = thread_create(busy_fn, (void *)&busy_deadline, "busy");
		KT_ASSERT(t, busy[nb] != NULL, "no thread");
		nb++;
	}
	bool ok = wait_done(&done, np, PIN_TIME + MS(60000)) == np;
	pin_stop = true;
	for (unsigned i = 0; i < nb; i++)
		thread_join(busy[i]);
	KT_EXPECT(t, ok, "pinned threads did not finish");
	if (!ok) {
		restore_self(u);
		return;   /* joining a stuck thread would hang the run */
	}
	for (unsigned i = 0; i < np; i++)
		thread_join(pinned[i]);
	restore_self(u);
	uint64_t loops = 0, switches = 0;
	for (unsigned i = 0; i < np; i++) {
		KT_EXPECT(t, args[i].wrong == 0,
			  "thread pinned to CPU %u (%s) ran %lu of %lu checks elsewhere, first on "
			  "CPU %lu", args[i].cpu, args[i].self_bind ? "bound itself" : "created there",
			  (unsigned long)args[i].wrong, (unsigned long)args[i].loops,
			  (unsigned long)args[i].first_wrong_cpu);
		KT_EXPECT(t, args[i].loops > 0, "thread pinned to CPU %u never ran", args[i].cpu);
		loops += args[i].loops;
		switches += args[i].switches;
	}
	KT_EXPECT(t, switches >= np, "only %lu switches in all: the pinned threads were not "
		  "preempted", (unsigned long)switches);
	ktest_diag(t, "%u pinned threads on %u CPUs: %lu checks, %lu switches, none elsewhere; "
		   "%lu migrations of other threads meanwhile", np, n, (unsigned long)loops,
		   (unsigned long)switches, (unsigned long)(total_migrations() - m0));
}

/* ============================================================================
 * balance.spread_cpu_bound: 2 x ncpus unpinned CPU-bound threads created
 * on one CPU spread over all of them: every CPU runs some, no CPU stays
 * mostly idle, and none gets less than 1/8 of an even share of CPU time.
 * ========================================================================== */

#define SPREAD_TIME MS(600)

struct spread_arg {
	uint64_t ran_on;                 /* CPUs it was seen on */
	uint64_t deadline;
	struct completion *done;
};

static void *spread_fn(void *p)
{
	struct spread_arg *a = p;
	while (!pin_stop && now_ns() < a->deadline) {
		for (int k = 0; k < 1000; k++)
			cpu_relax();
		a->ran_on |= 1ULL << cpu_id();
	}
	complete(a->done);
	return NULL;
}

/* Wait (bounded) until th has exited and left its CPU: its cpu_time_ns is
 * then final, and still readable until it is joined. */
static bool wait_exited(struct thread *th, uint64_t timeout_ns)
{
	uint64_t deadline = now_ns() + timeout_ns;
	while (th->state != THREAD_ZOMBIE || __atomic_load_n(&th->on_cpu, __ATOMIC_ACQUIRE)) {
		if (now_ns() >= deadline)
			return false;
		thread_sleep(MS(1));
	}
	return true;
}

KTEST(balance, spread_cpu_bound)
{
	if (!need_cpus(t, 2))
		return;
	unsigned n = ncpus(), nt = 2 * n;
	static struct spread_arg args[2 * MAX_CPUS];
	struct thread *th[2 * MAX_CPUS];
	struct completion done;
	completion_init(&done);
	pin_stop = false;
	struct unpinned u = unpin_self();
	uint64_t idle0[MAX_CPUS];
	for (unsigned i = 0; i < n; i++) {
		struct sched_stats s;
		sched_get_stats(i, &s);
		idle0[i] = s.idle_ns;
	}
	uint64_t m0 = total_migrations();
	uint64_t t0 = now_ns(), deadline = t0 + SPREAD_TIME;
	for (unsigned i = 0; i < nt; i++) {
		args[i] = (struct spread_arg){ .deadline = deadline, .done = &done };
		th[i] = thread_create(spread_fn, &args[i], "spread");
		KT_ASSERT(t, th[i] != NULL, "no thread");
	}
	bool ok = wait_done(&done, nt, SPREAD_TIME + MS(60000)) == nt;
	uint64_t elapsed = now_ns() - t0;
	pin_stop = true;
	uint64_t idle[MAX_CPUS];
	for (unsigned i = 0; i < n; i++) {
		struct sched_stats s;
		sched_get_stats(i, &s);
		idle[i] = s.idle_ns - idle0[i];
	}
	KT_EXPECT(t, ok, "CPU-bound threads did not finish");
	uint64_t cpu[2 * MAX_CPUS], ran_on = 0, min = ~0ULL, max = 0, sum = 0;
	for (unsigned i = 0; i < nt && ok; i++) {
		ok = wait_exited(th[i], MS(30000));
		KT_EXPECT(t, ok, "thread %u did not exit", i);
		cpu[i] = th[i]->cpu_time_ns;
	}
	if (!ok) {
		restore_self(u);
		return;   /* joining a stuck thread would hang the run */
	}
	for (unsigned i = 0; i < nt; i++) {
		thread_join(th[i]);
		ran_on |= args[i].ran_on;
		min = cpu[i] < min ? cpu[i] : min;
		max = cpu[i] > max ? cpu[i] : max;
		sum += cpu[i];
	}
	restore_self(u);
	KT_EXPECT(t, ran_on == all_cpus(), "the threads ran on CPUs %#lx of %#lx",
		  (unsigned long)ran_on, (unsigned long)all_cpus());
	for (unsigned i = 0; i < n; i++)
		KT_EXPECT(t, idle[i] * 2 < elapsed, "CPU %u idled %lu of %lu ms with %u threads to run",
			  i, (unsigned long)(idle[i] / NSEC_PER_MSEC),
			  (unsigned long)(elapsed / NSEC_PER_MSEC), nt);
	/* CPU time is wall time on the CPU: a vCPU the host deschedules
	 * charges the whole gap to the thread it was running, so allow a lot;
	 * a thread left behind on a crowded CPU would get next to nothing. */
	KT_EXPECT(t, min * 8 * nt >= sum, "a thread got %lu ms of CPU, under 1/8 of an even share "
		  "of %lu ms", (unsigned long)(min / NSEC_PER_MSEC),
		  (unsigned long)(sum / nt / NSEC_PER_MSEC));
	ktest_diag(t, "%u threads on %u CPUs for %lu ms: CPU time %lu..%lu ms (sum %lu ms), "
		   "%lu migrations", nt, n, (unsigned long)(elapsed / NSEC_PER_MSEC),
		   (unsigned long)(min / NSEC_PER_MSEC), (unsigned long)(max / NSEC_PER_MSEC),
		   (unsigned long)(sum / NSEC_PER_MSEC), (unsigned long)(total_migrations() - m0));
	for (unsigned i = 0; i < n; i++)
		ktest_diag(t, "CPU %u idle %lu ms", i, (unsigned long)(idle[i] / NSEC_PER_MSEC));
}

/* ============================================================================
 * balance.move_running_thread: a CPU-bound thread that never sleeps runs
 * the callee-saved register check (regs_test.S) while the test thread
 * rebinds it to one CPU after another: each time it must leave the CPU it
 * runs on (the reschedule IPI makes it move itself at its preemption), end
 * up on the new one, and find all six registers intact every time.
 * ========================================================================== */

#define MOVES 40

struct mover {
	volatile unsigned cpu;           /* where it last ran (written by itself) */
	volatile uint64_t seen;          /* CPUs it ran on */
	volatile uint64_t mismatches, chunks;
	volatile bool stop;
};

static void mover_cb(void *arg)
{
	struct mover *m = arg;
	unsigned c = cpu_id();
	m->cpu = c;
	m->seen |= 1ULL << c;
	uint64_t end = now_ns() + 50 * NSEC_PER_USEC;   /* interrupts on, no yield */
	while (now_ns() < end)
		cpu_relax();
}

static void *mover_fn(void *arg)
{
	struct mover *m = arg;
	uint64_t bail = now_ns() + MS(120000);
	for (uint64_t seed = 0x5eed0001; !m->stop && now_ns() < bail; seed += 0x100) {
		m->mismatches += regs_test_run(seed, 20, mover_cb, m, 2000);
		m->chunks++;
	}
	return NULL;
}

KTEST(balance, move_running_thread)
{
	if (!need_cpus(t, 2))
		return;
	unsigned n = ncpus();
	static struct mover m;
	memset((void *)&m, 0, sizeof m);
	m.cpu = n - 1;
	struct thread *th = thread_create_on(n - 1, mover_fn, (void *)&m, "mover");
	KT_ASSERT(t, th != NULL, "no thread");
	unsigned moved = 0, late = 0;
	uint64_t m0 = total_migrations(), worst = 0;
	for (unsigned i = 0; i < MOVES; i++) {
		unsigned to = (m.cpu + 1) % n;   /* the next CPU round: never where it is */
		uint64_t t0 = now_ns();
		int r = thread_set_affinity(th, (int)to);
		KT_EXPECT_EQ(t, r, 0);
		/* It gets there by itself, at its next preemption. */
		uint64_t deadline = t0 + MS(20000);
		while ((m.cpu != to || th->cpu != (int)to) && now_ns() < deadline)
			thread_sleep(MS(1));
		if (m.cpu == to && th->cpu == (int)to)
			moved++;
		else
			late++;
		if (now_ns() - t0 > worst)
			worst = now_ns() - t0;
		uint64_t chunks = m.chunks;
		deadline = now_ns() + MS(20000);
		while (m.chunks < chunks + 1 && now_ns() < deadline)
			thread_sleep(MS(1));    /* let it run a while there */
	}
	/* Unbound: it may stay or move, and keeps going. */
	thread_set_affinity(th, -1);
	thread_sleep(MS(20));
	m.stop = true;
	thread_join(th);
	KT_EXPECT(t, late == 0, "%u of %u rebinds did not move it within 20 s", late, MOVES);
	KT_EXPECT(t, m.mismatches == 0, "callee-saved registers lost %lu times in %lu chunks",
		  (unsigned long)m.mismatches, (unsigned long)m.chunks);
	KT_EXPECT(t, m.seen == all_cpus(), "it ran on CPUs %#lx of %#lx", (unsigned long)m.seen,
		  (unsigned long)all_cpus());
	ktest_diag(t, "%u moves of a running thread (slowest %lu ms), %lu register checks "
		   "intact, %lu migrations", moved, (unsigned long)(worst / NSEC_PER_MSEC),
		   (unsigned long)(m.chunks * 20), (unsigned long)(total_migrations() - m0));
}

/* ============================================================================
 * balance.balancer_moves_running: CPU-bound threads that start together on
 * one CPU and are then let go (mask: all CPUs) while they run or wait
 * there are spread by the balancer alone - idle CPUs pull, the busy CPU
 * pushes - and keep their registers across the moves.
 * ========================================================================== */

static volatile bool bal_stop;

struct bal_arg {
	volatile uint64_t seen, mismatches, chunks;
};

static void bal_cb(void *arg)
{
	struct bal_arg *a = arg;
	a->seen |= 1ULL << cpu_id();
	uint64_t end = now_ns() + 20 * NSEC_PER_USEC;
	while (now_ns() < end)
		cpu_relax();
}

static void *bal_fn(void *arg)
{
	struct bal_arg *a = arg;
	uint64_t bail = now_ns() + MS(120000);
	for (uint64_t seed = 0x1234500; !bal_stop && now_ns() < bail; seed += 0x100) {
		a->mismatches += regs_test_run(seed, 10, bal_cb, a, 1000);
		a->chunks++;
	}
	return NULL;
}

KTEST(balance, balancer_moves_running)
{
	if (!need_cpus(t, 2))
		return;
	unsigned n = ncpus(), nt = n + 1;
	static struct bal_arg args[MAX_CPUS + 1];
	struct thread *th[MAX_CPUS + 1];
	bal_stop = false;
	/* All on this CPU (the test thread's mask is just this CPU). */
	unsigned home = cpu_id();
	for (unsigned i = 0; i < nt; i++) {
		memset((void *)&args[i], 0, sizeof args[i]);
		th[i] = thread_create(bal_fn, &args[i], "bal");
		KT_ASSERT(t, th[i] != NULL, "no thread");
	}
	thread_sleep(MS(20));
	uint64_t m0 = total_migrations();
	for (unsigned i = 0; i < nt; i++)
		thread_set_affinity(th[i], -1);
	/* Every other CPU should get one of them. */
	uint64_t t0 = now_ns(), deadline = t0 + MS(20000), away = 0;
	for (;;) {
		away = 0;
		for (unsigned i = 0; i < nt; i++)
			if (th[i]->cpu != (int)home)
				away |= 1ULL << th[i]->cpu;
		if (away == (all_cpus() & ~(1ULL << home)) || now_ns() >= deadline)
			break;
		thread_sleep(MS(1));
	}
	uint64_t took = now_ns() - t0;
	thread_sleep(MS(50));
	bal_stop = true;
	uint64_t seen = 0, bad = 0, chunks = 0;
	for (unsigned i = 0; i < nt; i++) {
		thread_join(th[i]);
		seen |= args[i].seen;
		bad += args[i].mismatches;
		chunks += args[i].chunks;
	}
	KT_EXPECT(t, away == (all_cpus() & ~(1ULL << home)),
		  "after %lu ms the threads had reached only CPUs %#lx besides %u",
		  (unsigned long)(took / NSEC_PER_MSEC), (unsigned long)away, home);
	KT_EXPECT(t, seen == all_cpus(), "they ran on CPUs %#lx of %#lx", (unsigned long)seen,
		  (unsigned long)all_cpus());
	KT_EXPECT(t, bad == 0, "callee-saved registers lost %lu times", (unsigned long)bad);
	KT_EXPECT(t, total_migrations() - m0 >= n - 1, "only %lu migrations",
		  (unsigned long)(total_migrations() - m0));
	ktest_diag(t, "%u threads spread from CPU %u to all %u CPUs in %lu ms (%lu migrations, "
		   "%lu register checks intact)", nt, home, n, (unsigned long)(took / NSEC_PER_MSEC),
		   (unsigned long)(total_migrations() - m0), (unsigned long)(chunks * 10));
}

/* ============================================================================
 * balance.move_sleeping_thread: rebinding threads that sleep - on a wait
 * queue, and in a timed sleep whose timer fires on the old CPU - moves
 * them when they wake; a two-CPU mask puts them on one of the two.
 * ========================================================================== */

static struct wait_queue ms_wq;
static volatile bool ms_go;
static volatile unsigned ms_after[2];

static bool ms_cond(void *arg) { (void)arg; return ms_go; }

static void *ms_wait_fn(void *arg)
{
	(void)arg;
	wait_event(&ms_wq, ms_cond, NULL, THREAD_UNINTERRUPTIBLE, MS(20000));
	ms_after[0] = cpu_id();
	return NULL;
}

/* Timed sleeps until ms_go: the wakeup that finds it set comes from a
 * timer on the CPU where it went to sleep, after the mask changed. */
static void *ms_sleep_fn(void *arg)
{
	(void)arg;
	do
		thread_sleep(MS(5));
	while (!ms_go);
	ms_after[1] = cpu_id();
	return NULL;
}

static bool asleep(struct thread *th)
{
	return th->state == THREAD_UNINTERRUPTIBLE || th->state == THREAD_INTERRUPTIBLE;
}

KTEST(balance, move_sleeping_thread)
{
	if (!need_cpus(t, 2))
		return;
	unsigned n = ncpus(), home = cpu_id();
	uint64_t mask = n > 2 ? (1ULL << (n - 1)) | (1ULL << (n - 2)) : 1ULL << (home ^ 1);
	wait_queue_init(&ms_wq, "move-sleeper");
	ms_go = false;
	ms_after[0] = ms_after[1] = ~0u;
	struct thread *a = thread_create(ms_wait_fn, NULL, "wq-sleeper");
	struct thread *b = thread_create(ms_sleep_fn, NULL, "timed-sleeper");
	KT_ASSERT(t, a && b, "no threads");
	uint64_t deadline = now_ns() + MS(20000);
	while ((!asleep(a) || !asleep(b)) && now_ns() < deadline)
		thread_sleep(MS(1));
	KT_EXPECT(t, asleep(a) && asleep(b), "the threads did not go to sleep");
	KT_EXPECT(t, a->cpu == (int)home && b->cpu == (int)home, "they slept on CPUs %d, %d, not %u",
		  a->cpu, b->cpu, home);
	int r = sched_set_affinity_mask(a, mask);
	KT_EXPECT_EQ(t, r, 0);
	r = sched_set_affinity_mask(b, mask);
	KT_EXPECT_EQ(t, r, 0);
	KT_EXPECT(t, a->cpu == (int)home, "a sleeper moved before it woke");
	thread_sleep(MS(20));     /* b wakes (and sleeps again) a few times */
	ms_go = true;
	wake_up_all(&ms_wq);
	thread_join(a);
	thread_join(b);   /* its timer fires on the CPU it slept on */
	KT_EXPECT(t, ms_after[0] < 64 && ((mask >> ms_after[0]) & 1),
		  "woken from a wait queue on CPU %u, mask %#lx", ms_after[0], (unsigned long)mask);
	KT_EXPECT(t, ms_after[1] < 64 && ((mask >> ms_after[1]) & 1),
		  "woken by its timer on CPU %u, mask %#lx", ms_after[1], (unsigned long)mask);
}

/* ============================================================================
 * balance.ping_pong_unpinned: two unpinned threads hand a token back and
 * forth 5,000 times through wait queues (pingpong.h), wherever placement
 * and balancing put them (while two unpinned CPU-bound threads compete for
 * the CPUs): every step in exact order.
 * ========================================================================== */

#define UPP_ROUNDS 5000

static struct pingpong upp;
static uint8_t upp_log[2 * UPP_ROUNDS];

KTEST(balance, ping_pong_unpinned)
{
	if (!need_cpus(t, 2))
		return;
	struct unpinned u = unpin_self();
	static volatile uint64_t busy_until;
	busy_until = now_ns() + MS(200);
	pin_stop = false;
	struct thread *busy[2];
	for (int i = 0; i < 2; i++) {
		busy[i] = thread_create(busy_fn, (void *)&busy_until, "busy");
		KT_ASSERT(t, busy[i] != NULL, "no thread");
	}
	bool started = pingpong_start(&upp, UPP_ROUNDS, upp_log, PINGPONG_UNBOUND,
				      PINGPONG_UNBOUND);
	bool ok = started && pingpong_wait(&upp, MS(240000));
	for (int i = 0; i < 2; i++)
		thread_join(busy[i]);
	restore_self(u);
	KT_ASSERT(t, started, "no threads");
	pingpong_check(t, &upp, ok);
	ktest_diag(t, "%u hand-offs in %lu ms; ping ran on CPUs %#lx, pong on %#lx",
		   2 * UPP_ROUNDS, (unsigned long)upp.ms, (unsigned long)upp.seen[0],
		   (unsigned long)upp.seen[1]);
}

/* ============================================================================
 * Helpers for the tests below: a CPU-bound thread pinned to one CPU, and a
 * CPU-bound thread at the lowest priority, which on a CPU shared with a
 * default-priority thread is almost always waiting in the run queue (its
 * vruntime grows ~68 times faster), so that the test can catch it queued.
 * ========================================================================== */

static volatile bool q_stop;
static volatile uint64_t q_low_loops;
static volatile unsigned q_low_cpu;

static void *q_spin_fn(void *arg)
{
	(void)arg;
	uint64_t bail = now_ns() + MS(60000);
	while (!q_stop && now_ns() < bail)
		cpu_relax();
	return NULL;
}

static void *q_low_fn(void *arg)
{
	(void)arg;
	thread_set_priority(current(), PRIO_MAX);
	uint64_t bail = now_ns() + MS(60000);
	while (!q_stop && now_ns() < bail) {
		q_low_cpu = cpu_id();
		q_low_loops++;
		cpu_relax();
	}
	return NULL;
}

/* Wait (bounded) until th waits in the run queue of `cpu` (a racy look:
 * it may start running right after). */
static bool wait_queued_on(struct thread *th, unsigned cpu, uint64_t timeout_ns)
{
	uint64_t deadline = now_ns() + timeout_ns;
	while (!(th->state == THREAD_RUNNABLE && !th->on_cpu && th->cpu == (int)cpu)) {
		if (now_ns() >= deadline)
			return false;
		cpu_relax();
	}
	return true;
}

/* ============================================================================
 * balance.drained_queue_no_timer_storm: a CPU whose waiting threads are all
 * taken away (here by an affinity change) while its runner keeps running
 * has a slice end that no longer means anything. The runner is alone: it
 * must get no further timer interrupts, not one per return from the last
 * (an expired slice end re-armed as "now").
 * ========================================================================== */

KTEST(balance, drained_queue_no_timer_storm)
{
	if (!need_cpus(t, 2))
		return;
	unsigned home = cpu_id(), other = (home + 1) % ncpus();
	q_stop = false;
	q_low_loops = 0;
	struct thread *x = thread_create_on(other, q_spin_fn, NULL, "q-spin");
	struct thread *y = thread_create_on(other, q_low_fn, NULL, "q-low");
	KT_ASSERT(t, x && y, "no threads");
	thread_sleep(MS(30));   /* both under way: CPU `other` runs slices */
	bool queued = wait_queued_on(y, other, MS(5000));
	int r = sched_set_affinity_mask(y, 1ULL << home);   /* its queue drains */
	KT_EXPECT_EQ(t, r, 0);
	thread_sleep(MS(20));   /* the stale slice end passes */
	uint64_t irq0 = cpu_list[other]->irq_count, t0 = now_ns();
	thread_sleep(MS(100));
	uint64_t irqs = cpu_list[other]->irq_count - irq0, took = now_ns() - t0;
	q_stop = true;
	thread_join(x);
	thread_join(y);
	KT_EXPECT(t, queued, "the low-priority thread was never seen waiting");
	KT_EXPECT(t, irqs < 50, "CPU %u running one thread alone took %lu interrupts in %lu ms",
		  other, (unsigned long)irqs, (unsigned long)(took / NSEC_PER_MSEC));
	ktest_diag(t, "CPU %u: %lu interrupts in %lu ms with one thread", other,
		   (unsigned long)irqs, (unsigned long)(took / NSEC_PER_MSEC));
}

/* ============================================================================
 * balance.affinity_move_to_setter_runs: a waiting thread whose new mask
 * names only the setter's CPU is moved into the setter's queue. The setter
 * ran alone (no slice end) and now spins without sleeping or yielding: it
 * must get a slice, so the moved thread runs instead of waiting for the
 * setter to block. The moved thread is nice 19 (weight 15 against the
 * setter's 1024): its last slice put it ~67 slices of vruntime ahead, and
 * it waits that out fairly - ~180 ms unloaded, seconds when the host
 * stretches its slice - so the 10 s bound only tells "runs" from "never".
 * ========================================================================== */

KTEST(balance, affinity_move_to_setter_runs)
{
	if (!need_cpus(t, 2))
		return;
	unsigned home = cpu_id(), other = (home + 1) % ncpus();
	q_stop = false;
	q_low_loops = 0;
	q_low_cpu = ~0u;
	struct thread *x = thread_create_on(other, q_spin_fn, NULL, "q-spin");
	struct thread *y = thread_create_on(other, q_low_fn, NULL, "q-low");
	KT_ASSERT(t, x && y, "no threads");
	thread_sleep(MS(30));
	bool queued = wait_queued_on(y, other, MS(5000));
	int r = sched_set_affinity_mask(y, 1ULL << home);
	KT_EXPECT_EQ(t, r, 0);
	/* Spin here, preemptible, without ever blocking. */
	uint64_t t0 = now_ns(), deadline = t0 + MS(10000);
	while (!(q_low_cpu == home) && now_ns() < deadline)
		cpu_relax();
	uint64_t took = now_ns() - t0;
	bool ran = q_low_cpu == home;
	q_stop = true;
	thread_join(x);
	thread_join(y);
	KT_EXPECT(t, queued, "the low-priority thread was never seen waiting");
	KT_EXPECT(t, ran, "moved to the spinning setter's CPU %u, it did not run there in %lu ms",
		  home, (unsigned long)(took / NSEC_PER_MSEC));
	ktest_diag(t, "ran on the setter's CPU after %lu ms", (unsigned long)(took / NSEC_PER_MSEC));
}

/* ============================================================================
 * balance.wake_move_keeps_lag: a sleeper that ran ahead of its queue
 * (positive lag) and is woken onto another CPU keeps that lag there, even
 * if the new queue's min_vruntime was last brought up to date long ago
 * (its runner ran alone): it must not jump ahead of that runner.
 * Needs 3 CPUs so that nothing else touches the two queues involved.
 * ========================================================================== */

static volatile uint64_t lag_woke_late;
static volatile unsigned lag_woke_cpu;

static void *lag_fn(void *arg)
{
	(void)arg;
	uint64_t end = now_ns() + MS(20);     /* alone on its CPU: 20 ms of lag */
	while (now_ns() < end)
		cpu_relax();
	uint64_t due = now_ns() + MS(60);
	thread_sleep(MS(60));                /* its mask changes meanwhile */
	uint64_t now = now_ns();
	lag_woke_late = now > due ? now - due : 0;
	lag_woke_cpu = cpu_id();
	return NULL;
}

KTEST(balance, wake_move_keeps_lag)
{
	if (!need_cpus(t, 3))
		return;
	unsigned n = ncpus(), home = cpu_id(), from = (home + 1) % n, to = (home + 2) % n;
	q_stop = false;
	lag_woke_late = 0;
	lag_woke_cpu = ~0u;
	struct thread *s = thread_create_on(to, q_spin_fn, NULL, "q-spin");
	KT_ASSERT(t, s != NULL, "no thread");
	thread_sleep(MS(50));    /* `to` runs s alone: its min_vruntime stays where it was */
	struct thread *l = thread_create_on(from, lag_fn, NULL, "lagger");
	KT_ASSERT(t, l != NULL, "no thread");
	uint64_t deadline = now_ns() + MS(5000);
	while (!(asleep(l) && !l->on_cpu) && now_ns() < deadline)
		thread_sleep(MS(1));
	bool slept = asleep(l);
	int r = sched_set_affinity_mask(l, 1ULL << to);
	KT_EXPECT_EQ(t, r, 0);
	bool still = asleep(l);
	thread_join(l);
	q_stop = true;
	thread_join(s);
	if (!slept || !still) {
		ktest_skip(t, "the sleeper was not caught asleep");
		return;
	}
	KT_EXPECT(t, lag_woke_cpu == to, "woke on CPU %u, mask CPU %u", lag_woke_cpu, to);
	/* It is 20 ms ahead: it runs once the runner there has caught up. */
	KT_EXPECT(t, lag_woke_late >= MS(8), "ran %lu us after its timer, ahead of the runner "
		  "there", (unsigned long)(lag_woke_late / NSEC_PER_USEC));
	ktest_diag(t, "woken onto CPU %u, ran %lu ms after its timer", lag_woke_cpu,
		   (unsigned long)(lag_woke_late / NSEC_PER_MSEC));
}
