/*
 * test_smp.c - more than one CPU: bring-up, threads bound to CPUs, remote
 * wakeups and preemption, cross-CPU calls, locks under true parallelism,
 * kernel TLB flushes and the clock seen from every CPU.
 *
 * Suite `smp`. Run by t/smp.t at -smp 2 and -smp 4 (and by the test=all
 * runs); with one CPU the tests that need two are skipped. Suite
 * `smp_boot` is the one-test selection t/smp-boot-repeat.t boots many
 * times.
 *
 * As in test_sched.c, nothing here may hang the run: every wait for a
 * worker is bounded, and on a timeout the test fails, sets an abort flag
 * and wakes what the workers may sleep on before joining them.
 */
#include <weft/ktest.h>
#include <weft/thread.h>
#include <weft/sched.h>
#include <weft/smp.h>
#include <weft/wait.h>
#include <weft/mutex.h>
#include <weft/spinlock.h>
#include <weft/time.h>
#include <weft/pmm.h>
#include <weft/paging.h>
#include <weft/kstack.h>
#include <weft/bootopt.h>
#include <weft/string.h>
#include <weft/errno.h>
#include <arch/percpu.h>
#include <arch/acpi.h>
#include <arch/smp.h>
#include <arch/cpu.h>
#include <arch/irqflags.h>
#include <arch/memlayout.h>
#include <stdbool.h>
#include <stdint.h>

#include "ktest_helpers.h"
#include "pingpong.h"

/* ============================================================================
 * smp_boot.all_cpus_online, smp.all_cpus_online: as many CPUs as QEMU's
 * -smp gave (the MADT), capped by smp=/maxcpus=/nosmp; each with its own
 * percpu, GDT/TSS, IST stacks and idle thread.
 * ========================================================================== */

static void check_online(struct ktest_ctx *t)
{
	unsigned want = acpi_info.found ? acpi_info.ncpus : 1;
	if (boot_options.smp && boot_options.smp < want)
		want = boot_options.smp;
	if (want > MAX_CPUS)
		want = MAX_CPUS;
	ktest_diag(t, "%u CPUs online, %u listed by the firmware", ncpus(), acpi_info.ncpus);
	KT_EXPECT_EQ(t, ncpus(), want);
	for (unsigned i = 0; i < ncpus(); i++) {
		struct percpu *c = cpu_list[i];
		KT_ASSERT(t, c != NULL, "cpu_list[%u] is NULL", i);
		KT_EXPECT_EQ(t, c->cpu_id, i);
		KT_EXPECT(t, c->self == c, "CPU %u: self %p", i, (void *)c->self);
		KT_EXPECT(t, c->current != NULL, "CPU %u has no current thread", i);
		KT_EXPECT(t, c->rq != NULL, "CPU %u has no run queue", i);
		for (int k = 0; k < IST_COUNT; k++)
			KT_EXPECT(t, kstack_is_guard(c->ist_bottom[k] - 1),
				  "CPU %u IST %d has no guard page below it", i, k + 1);
		for (unsigned j = 0; j < i; j++) {
			KT_EXPECT(t, cpu_list[j]->apic_id != c->apic_id,
				  "CPUs %u and %u share APIC id %u", j, i, c->apic_id);
			KT_EXPECT(t, cpu_list[j]->tss.ist[1] != c->tss.ist[1],
				  "CPUs %u and %u share an NMI stack", j, i);
		}
	}
	unsigned listed_online = 0;
	for (unsigned i = 0; i < smp_boot_ncpus; i++)
		listed_online += smp_boot_info[i].state == CPU_BOOT_ONLINE;
	KT_EXPECT_EQ(t, listed_online, ncpus());
}

KTEST(smp_boot, all_cpus_online) { check_online(t); }
KTEST(smp, all_cpus_online) { check_online(t); }

/* ============================================================================
 * smp.thread_on_each_cpu: a thread created on CPU n runs there, and stays
 * there across yields, sleeps and wait-queue sleeps.
 * ========================================================================== */

#define EACH_STEPS 20

struct each_arg {
	unsigned want;
	unsigned seen[EACH_STEPS];
	struct wait_queue wq;
	volatile bool go;
};

static bool each_go(void *arg) { return ((struct each_arg *)arg)->go; }

static void *each_fn(void *p)
{
	struct each_arg *a = p;
	for (unsigned i = 0; i < EACH_STEPS; i++) {
		a->seen[i] = cpu_id();
		if (i % 3 == 0)
			thread_yield();
		else if (i % 3 == 1)
			thread_sleep(100 * NSEC_PER_USEC);
		else if (i == 2)
			wait_event(&a->wq, each_go, a, THREAD_UNINTERRUPTIBLE, MS(2000));
	}
	return (void *)(uintptr_t)(cpu_id() + 1);
}

KTEST(smp, thread_on_each_cpu)
{
	static struct each_arg args[MAX_CPUS];
	struct thread *th[MAX_CPUS];
	unsigned n = ncpus();
	for (unsigned i = 0; i < n; i++) {
		memset(&args[i], 0, sizeof args[i]);
		args[i].want = i;
		wait_queue_init(&args[i].wq, "each");
		th[i] = thread_create_on(i, each_fn, &args[i], "on-cpu");
		KT_ASSERT(t, th[i] != NULL, "thread_create_on(%u) failed", i);
		KT_EXPECT_EQ(t, th[i]->cpu, i);
	}
	KT_EXPECT(t, thread_create_on(n, each_fn, &args[0], "bad") == NULL,
		  "thread_create_on accepted offline CPU %u", n);
	thread_sleep(MS(5));
	for (unsigned i = 0; i < n; i++) {
		args[i].go = true;
		wake_up_all(&args[i].wq);   /* from CPU 0: a remote wakeup for i > 0 */
	}
	for (unsigned i = 0; i < n; i++) {
		void *v = thread_join(th[i]);
		KT_EXPECT_EQ(t, (uintptr_t)v, i + 1);
		for (unsigned s = 0; s < EACH_STEPS; s++)
			KT_EXPECT(t, args[i].seen[s] == i, "thread for CPU %u ran on CPU %u at step %u",
				  i, args[i].seen[s], s);
	}
}

/* ============================================================================
 * smp.call_function_every_cpu: smp_call_mask reaches every CPU once, in
 * interrupt context with interrupts off (the caller's own CPU runs it
 * directly); single-CPU and asynchronous calls too; two CPUs calling each
 * other with interrupts off at the same moment do not deadlock.
 * ========================================================================== */

static volatile unsigned call_hits[MAX_CPUS];
static volatile unsigned call_bad_ctx;
static volatile unsigned call_async;

static void call_record(void *arg)
{
	(void)arg;
	if (irqs_enabled())
		call_bad_ctx++;
	__atomic_fetch_add(&call_hits[cpu_id()], 1, __ATOMIC_RELAXED);
}

static void call_async_fn(void *arg)
{
	__atomic_fetch_add((volatile unsigned *)arg, 1, __ATOMIC_RELAXED);
}

/* Cross calls with interrupts off on both sides. */
static volatile unsigned xc_ready, xc_done;
static volatile unsigned xc_ran[MAX_CPUS];

static void xc_mark(void *arg) { xc_ran[(uintptr_t)arg]++; }

static void *xc_fn(void *arg)
{
	unsigned me = (unsigned)(uintptr_t)arg, other = me ^ 1;
	__atomic_fetch_add(&xc_ready, 1, __ATOMIC_ACQ_REL);
	uint64_t deadline = now_ns() + MS(2000);
	while (__atomic_load_n(&xc_ready, __ATOMIC_ACQUIRE) < 2 && now_ns() < deadline)
		cpu_relax();
	local_irq_disable();
	smp_call(other, xc_mark, (void *)(uintptr_t)other, true);
	local_irq_enable();
	__atomic_fetch_add(&xc_done, 1, __ATOMIC_ACQ_REL);
	return NULL;
}

KTEST(smp, call_function_every_cpu)
{
	unsigned n = ncpus();
	for (unsigned i = 0; i < MAX_CPUS; i++)
		call_hits[i] = 0;
	call_bad_ctx = 0;
	/* (KT_EXPECT_EQ evaluates its arguments twice: results go to r first.) */
	int r = smp_call_mask(CPUMASK_ALL, call_record, NULL, true);
	KT_EXPECT_EQ(t, r, 0);
	for (unsigned i = 0; i < n; i++)
		KT_EXPECT(t, call_hits[i] == 1, "CPU %u ran the call %u times", i, call_hits[i]);
	for (unsigned i = n; i < MAX_CPUS; i++)
		KT_EXPECT_EQ(t, call_hits[i], 0);
	for (unsigned i = 0; i < n; i++) {
		r = smp_call(i, call_record, NULL, true);
		KT_EXPECT_EQ(t, r, 0);
	}
	for (unsigned i = 0; i < n; i++)
		KT_EXPECT(t, call_hits[i] == 2, "CPU %u: %u calls after smp_call(%u)", i,
			  call_hits[i], i);
	KT_EXPECT_EQ(t, call_bad_ctx, 0);
	r = smp_call(n, call_record, NULL, true);
	KT_EXPECT_EQ(t, r, -EINVAL);

	/* Asynchronous: 50 rounds to every CPU, counted as they land. */
	static volatile unsigned async_count;
	async_count = 0;
	for (int k = 0; k < 50; k++) {
		r = smp_call_mask(CPUMASK_ALL, call_async_fn, (void *)&async_count, false);
		KT_EXPECT_EQ(t, r, 0);
	}
	uint64_t deadline = now_ns() + MS(10000);
	while (async_count < 50 * n && now_ns() < deadline)
		thread_sleep(MS(1));
	KT_EXPECT(t, async_count == 50 * n, "%u of %u asynchronous calls ran", async_count, 50 * n);

	if (n < 2)
		return;
	/* CPUs 0 and 1 call each other, both with interrupts off. */
	xc_ready = xc_done = 0;
	xc_ran[0] = xc_ran[1] = 0;
	struct thread *b = thread_create_on(1, xc_fn, (void *)(uintptr_t)1, "xcall");
	KT_ASSERT(t, b != NULL, "no thread");
	xc_fn((void *)(uintptr_t)0);
	thread_join(b);
	KT_EXPECT_EQ(t, xc_done, 2);
	KT_EXPECT_EQ(t, xc_ran[0], 1);
	KT_EXPECT_EQ(t, xc_ran[1], 1);
}

/* ============================================================================
 * smp.ping_pong_wait_queues: two threads bound to two CPUs hand a token
 * back and forth 10,000 times through wait queues (pingpong.h): every step
 * in exact order, and neither thread ever runs a step on another CPU.
 * ========================================================================== */

#define PP_ROUNDS 10000

static struct pingpong pp;
static uint8_t pp_log[2 * PP_ROUNDS];

KTEST(smp, ping_pong_wait_queues)
{
	if (!need_cpus(t, 2))
		return;
	unsigned n = ncpus();
	/* the last two CPUs: both APs when there are 3+ */
	KT_ASSERT(t, pingpong_start(&pp, PP_ROUNDS, pp_log, (int)n - 2, (int)n - 1), "no threads");
	bool ok = pingpong_wait(&pp, MS(240000)); /* a loaded host: ms per hand-off */
	pingpong_check(t, &pp, ok);
	ktest_diag(t, "%u hand-offs between CPUs %u and %u in %lu ms", 2 * PP_ROUNDS, n - 2, n - 1,
		   (unsigned long)pp.ms);
}

/* ============================================================================
 * smp.lock_torture: two threads per CPU hammer a spinlock, a mutex and a
 * binary semaphore for a fixed time, counted from when the last of them
 * exists (at -smp 16 on a 2-core host, creating them alone can outlast
 * the whole time), and each does at least LT_MIN_ROUNDS rounds: at -smp 16
 * on 2 host cores a round of 32 threads takes ~1 s, as every ticket
 * hand-off may wait for the host to run the vCPU whose turn it is (the
 * classic ticket-lock convoy of an oversubscribed host; nothing pays it on
 * real hardware). Each critical section is a slow
 * read-modify-write of a shared counter; the counters must equal the sums
 * of what the threads counted, and nobody may ever be inside together.
 * ========================================================================== */

#define LT_PER_CPU 2
#define LT_MAX (MAX_CPUS * LT_PER_CPU)
#define LT_TIME MS(400)
#define LT_MIN_ROUNDS 3

static spinlock_t lt_spin = SPINLOCK_INIT("torture");
static struct mutex lt_mutex;
static struct semaphore lt_sem;
static volatile uint64_t lt_counter[3];
static volatile unsigned lt_inside[3], lt_overlap[3];
static uint64_t lt_mine[LT_MAX][3];
static volatile uint64_t lt_deadline;
static struct completion lt_done, lt_go;

static void lt_section(unsigned kind, uint32_t *rng)
{
	if (__atomic_fetch_add(&lt_inside[kind], 1, __ATOMIC_ACQ_REL) != 0)
		lt_overlap[kind]++;
	uint64_t v = lt_counter[kind];
	*rng = *rng * 1103515245u + 12345u;
	for (volatile uint32_t i = 0; i < ((*rng >> 16) & 63); i++)
		;
	lt_counter[kind] = v + 1;
	__atomic_fetch_sub(&lt_inside[kind], 1, __ATOMIC_ACQ_REL);
}

static void *lt_fn(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;
	uint32_t rng = id * 2654435761u + 7;
	wait_for_completion(&lt_go);
	do {
		spin_lock(&lt_spin);
		lt_section(0, &rng);
		spin_unlock(&lt_spin);
		lt_mine[id][0]++;

		mutex_lock(&lt_mutex);
		lt_section(1, &rng);
		if ((rng >> 8) % 32 == 0)
			thread_yield();              /* sleepers pile up on the mutex */
		mutex_unlock(&lt_mutex);
		lt_mine[id][1]++;

		sem_down(&lt_sem);
		lt_section(2, &rng);
		sem_up(&lt_sem);
		lt_mine[id][2]++;
	} while (now_ns() < lt_deadline || lt_mine[id][2] < LT_MIN_ROUNDS);
	complete(&lt_done);
	return NULL;
}

KTEST(smp, lock_torture)
{
	if (!need_cpus(t, 2))
		return;
	unsigned n = ncpus() * LT_PER_CPU;
	struct thread *th[LT_MAX];
	mutex_init(&lt_mutex, "torture");
	sem_init(&lt_sem, 1, "torture");
	completion_init(&lt_done);
	completion_init(&lt_go);
	for (int k = 0; k < 3; k++)
		lt_counter[k] = lt_inside[k] = lt_overlap[k] = 0;
	memset(lt_mine, 0, sizeof lt_mine);
	for (unsigned i = 0; i < n; i++) {
		th[i] = thread_create_on(i % ncpus(), lt_fn, (void *)(uintptr_t)i, "torture");
		if (!th[i]) {
			KT_EXPECT(t, false, "no thread %u", i);
			n = i;   /* run (and reap) the ones that exist */
			break;
		}
	}
	uint64_t t0 = now_ns();
	lt_deadline = t0 + LT_TIME;
	complete_all(&lt_go);
	/* A hang guard, not a speed limit: at -smp 16 on a loaded 2-core host
	 * the three rounds have taken 31 s. */
	bool ok = wait_done(&lt_done, n, LT_TIME + MS(300000)) == n;
	ktest_diag(t, "%u threads done %lu ms after the start", n, (unsigned long)((now_ns() - t0) / MS(1)));
	KT_EXPECT(t, ok, "torture threads did not finish");
	if (!ok)
		return;   /* a thread is stuck in a lock: joining would hang */
	for (unsigned i = 0; i < n; i++)
		thread_join(th[i]);
	static const char *const names[3] = { "spinlock", "mutex", "semaphore" };
	for (int k = 0; k < 3; k++) {
		uint64_t sum = 0;
		for (unsigned i = 0; i < n; i++)
			sum += lt_mine[i][k];
		KT_EXPECT(t, lt_counter[k] == sum, "%s: counter %lu, threads counted %lu", names[k],
			  (unsigned long)lt_counter[k], (unsigned long)sum);
		KT_EXPECT(t, lt_overlap[k] == 0, "%s: %u overlapping critical sections", names[k],
			  lt_overlap[k]);
		ktest_diag(t, "%s: %lu sections by %u threads on %u CPUs", names[k],
			   (unsigned long)sum, n, ncpus());
	}
}

/* ============================================================================
 * smp.remote_wakeup_preempts: a thread made runnable on another CPU runs
 * there soon - whether that CPU is idle (the reschedule IPI wakes it) or
 * busy with a thread that never yields and had the CPU to itself (the IPI
 * makes it take a time slice).
 * ========================================================================== */

static volatile bool rw_stop, rw_ran;
static volatile uint64_t rw_ran_at;

static void *rw_spinner(void *arg)
{
	(void)arg;
	uint64_t bail = now_ns() + MS(20000);
	while (!rw_stop && now_ns() < bail)
		;   /* never yields, never sleeps */
	return NULL;
}

static void *rw_late(void *arg)
{
	(void)arg;
	rw_ran_at = now_ns();
	rw_ran = true;
	return NULL;
}

static bool rw_ran_cond(void *arg) { (void)arg; return rw_ran; }

KTEST(smp, remote_wakeup_preempts)
{
	if (!need_cpus(t, 2))
		return;
	unsigned cpu = ncpus() - 1;
	/* Idle CPU. */
	rw_ran = false;
	uint64_t t0 = now_ns();
	struct thread *late = thread_create_on(cpu, rw_late, NULL, "late");
	KT_ASSERT(t, late != NULL, "no thread");
	uint64_t deadline = t0 + MS(10000);
	while (!rw_ran && now_ns() < deadline)
		cpu_relax();           /* busy here: only the IPI can start it there */
	KT_EXPECT(t, rw_ran, "a thread created on idle CPU %u did not run within 10 s", cpu);
	thread_join(late);
	if (rw_ran)
		ktest_diag(t, "idle CPU %u started a new thread after %lu us", cpu,
			   (unsigned long)((rw_ran_at - t0) / 1000));

	/* Busy CPU: a spinner that had it alone. */
	rw_stop = false;
	rw_ran = false;
	struct thread *spin = thread_create_on(cpu, rw_spinner, NULL, "spinner");
	KT_ASSERT(t, spin != NULL, "no thread");
	thread_sleep(MS(20));      /* it runs alone there: no slice, no timer */
	t0 = now_ns();
	late = thread_create_on(cpu, rw_late, NULL, "late");
	KT_ASSERT(t, late != NULL, "no thread");
	deadline = t0 + MS(10000);
	while (!rw_ran_cond(NULL) && now_ns() < deadline)
		thread_sleep(MS(1));
	KT_EXPECT(t, rw_ran, "a thread queued behind a spinner on CPU %u did not run within 10 s",
		  cpu);
	rw_stop = true;
	thread_join(late);
	thread_join(spin);
	if (rw_ran)
		ktest_diag(t, "busy CPU %u ran the newcomer after %lu us", cpu,
			   (unsigned long)((rw_ran_at - t0) / 1000));
}

/* ============================================================================
 * smp.clock_monotonic_across_cpus: (a) a thread bounced from CPU to CPU
 * never reads a clock value lower than one it read before; (b) threads on
 * every CPU publish the latest time they read, and none ever reads a time
 * lower than one it saw published (causality across CPUs).
 * ========================================================================== */

#define BOUNCES 300

static volatile uint64_t mono_back, mono_wrong_cpu, mono_moves;
static volatile uint64_t mono_worst_ns;

static void *bounce_fn(void *arg)
{
	(void)arg;
	unsigned n = ncpus();
	uint64_t last = now_ns();
	for (unsigned i = 0; i < BOUNCES; i++) {
		unsigned to = (i * 7 + 1) % n;
		if (to == cpu_id())
			to = (to + 1) % n;
		thread_set_affinity(current(), (int)to);
		uint64_t now = now_ns();
		if (cpu_id() != to)
			mono_wrong_cpu++;
		if (now < last) {
			mono_back++;
			if (last - now > mono_worst_ns)
				mono_worst_ns = last - now;
		}
		last = now;
		mono_moves++;
		for (int k = 0; k < 20; k++) {       /* a few reads on this CPU too */
			now = now_ns();
			if (now < last)
				mono_back++;
			last = now;
		}
	}
	thread_set_affinity(current(), -1);
	return NULL;
}

static volatile uint64_t pub_time;
static volatile uint64_t pub_back, pub_reads;
static volatile uint64_t pub_deadline;
static struct completion pub_done;

static void *publish_fn(void *arg)
{
	(void)arg;
	uint64_t reads = 0;
	while (now_ns() < pub_deadline) {
		uint64_t seen = __atomic_load_n(&pub_time, __ATOMIC_ACQUIRE);
		uint64_t now = now_ns();
		if (now < seen)
			pub_back++;
		uint64_t cur = seen;
		while (cur < now && !__atomic_compare_exchange_n(&pub_time, &cur, now, false,
								 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			;
		reads++;
	}
	__atomic_fetch_add(&pub_reads, reads, __ATOMIC_RELAXED);
	complete(&pub_done);
	return NULL;
}

KTEST(smp, clock_monotonic_across_cpus)
{
	if (!need_cpus(t, 2))
		return;
	ktest_diag(t, "TSC skew bound measured at bring-up: %lu ns",
		   (unsigned long)smp_tsc_max_skew_ns);
	mono_back = mono_wrong_cpu = mono_moves = mono_worst_ns = 0;
	struct thread *b = thread_create(bounce_fn, NULL, "bounce");
	KT_ASSERT(t, b != NULL, "no thread");
	thread_join(b);
	KT_EXPECT_EQ(t, mono_moves, BOUNCES);
	KT_EXPECT(t, mono_wrong_cpu == 0, "%lu moves ended on the wrong CPU",
		  (unsigned long)mono_wrong_cpu);
	KT_EXPECT(t, mono_back == 0, "time went backwards %lu times (worst %lu ns)",
		  (unsigned long)mono_back, (unsigned long)mono_worst_ns);

	unsigned n = ncpus();
	struct thread *th[MAX_CPUS];
	pub_time = 0;
	pub_back = pub_reads = 0;
	completion_init(&pub_done);
	pub_deadline = now_ns() + MS(200);
	for (unsigned i = 0; i < n; i++) {
		th[i] = thread_create_on(i, publish_fn, NULL, "publish");
		KT_ASSERT(t, th[i] != NULL, "no thread");
	}
	bool ok = wait_done(&pub_done, n, MS(30000)) == n;
	KT_EXPECT(t, ok, "publishers did not finish");
	if (!ok)
		return;
	for (unsigned i = 0; i < n; i++)
		thread_join(th[i]);
	KT_EXPECT(t, pub_back == 0, "%lu of %lu reads were before a time another CPU had "
		  "already read", (unsigned long)pub_back, (unsigned long)pub_reads);
	ktest_diag(t, "%lu clock reads on %u CPUs, each after every time published before it",
		   (unsigned long)pub_reads, n);
}

/* ============================================================================
 * smp.affinity_moves_sleeper: binding a sleeping thread to another CPU
 * moves it when it is woken.
 * ========================================================================== */

static struct wait_queue am_wq;
static volatile bool am_go;
static volatile unsigned am_before, am_after;

static bool am_cond(void *arg) { (void)arg; return am_go; }

static void *am_fn(void *arg)
{
	(void)arg;
	am_before = cpu_id();
	wait_event(&am_wq, am_cond, NULL, THREAD_UNINTERRUPTIBLE, MS(5000));
	am_after = cpu_id();
	return NULL;
}

KTEST(smp, affinity_moves_sleeper)
{
	if (!need_cpus(t, 2))
		return;
	unsigned to = ncpus() - 1;
	wait_queue_init(&am_wq, "affinity");
	am_go = false;
	am_before = am_after = ~0u;
	struct thread *th = thread_create(am_fn, NULL, "sleeper");
	KT_ASSERT(t, th != NULL, "no thread");
	uint64_t deadline = now_ns() + MS(10000);
	while (th->state != THREAD_UNINTERRUPTIBLE && now_ns() < deadline)
		thread_sleep(MS(1));
	KT_EXPECT_EQ(t, th->cpu, 0);
	int r = thread_set_affinity(th, (int)to);
	KT_EXPECT_EQ(t, r, 0);
	r = thread_set_affinity(th, (int)ncpus());
	KT_EXPECT_EQ(t, r, -EINVAL);
	am_go = true;
	wake_up_all(&am_wq);
	thread_join(th);
	KT_EXPECT_EQ(t, am_before, 0);
	KT_EXPECT(t, am_after == to, "woke on CPU %u, bound to %u", am_after, to);
}

/* ============================================================================
 * smp.threads_exit_on_other_cpus: many short threads, joined and detached,
 * run and exit on every CPU while CPU 0 joins them: the join/exit race
 * (a zombie freed while its CPU still switches away from it) and kernel
 * stacks recycled between CPUs.
 * ========================================================================== */

static volatile unsigned tx_detached_done;

static void *tx_fn(void *arg)
{
	return (void *)((uintptr_t)arg + cpu_id());
}

/* Detached: moves itself, exits there, and that CPU frees its stack in
 * the switch away from it (interrupts off): in bursts larger than the
 * stack cache, so some stacks are unmapped there, with a TLB flush of
 * every other CPU. */
static void *tx_detached_fn(void *arg)
{
	thread_set_affinity(current(), (int)(uintptr_t)arg);
	thread_yield();
	__atomic_fetch_add(&tx_detached_done, 1, __ATOMIC_ACQ_REL);
	return NULL;
}

KTEST(smp, threads_exit_on_other_cpus)
{
	if (!need_cpus(t, 2))
		return;
	unsigned n = ncpus();
	uint64_t stacks0 = kstack_count(), threads0 = thread_count();
	unsigned bad = 0, made_detached = 0;
	tx_detached_done = 0;
	for (unsigned round = 0; round < 300; round++) {
		unsigned cpu = 1 + round % (n - 1);
		struct thread *a = thread_create_on(cpu, tx_fn, (void *)(uintptr_t)(round * 16), "tx");
		KT_ASSERT(t, a != NULL, "no thread");
		if (round % 100 == 0) {
			for (int k = 0; k < 48; k++) {
				uintptr_t to = 1 + (uintptr_t)(round + k) % (n - 1);
				if (thread_create_detached(tx_detached_fn, (void *)to, "txd"))
					made_detached++;
			}
		}
		void *v = thread_join(a);
		if ((uintptr_t)v != round * 16 + cpu)
			bad++;
	}
	/* Detached threads are reaped by their CPU in the switch after their
	 * exit: give a starved vCPU (loaded host) time to get there. */
	uint64_t deadline = now_ns() + MS(10000);
	while ((tx_detached_done < made_detached || thread_count() != threads0 ||
		kstack_count() != stacks0) && now_ns() < deadline)
		thread_sleep(MS(1));
	KT_EXPECT(t, bad == 0, "%u threads returned the wrong value", bad);
	KT_EXPECT_EQ(t, tx_detached_done, made_detached);
	KT_EXPECT_EQ(t, thread_count(), threads0);
	KT_EXPECT_EQ(t, kstack_count(), stacks0);
}

/* ============================================================================
 * smp.kernel_tlb_flush_reaches_all: a kernel page every CPU has read is
 * remapped to another physical page; after kunmap_flush_others() every
 * CPU reads the new page, not a stale TLB entry.
 * ========================================================================== */

static volatile uint64_t tlb_seen[MAX_CPUS];
static void tlb_read(void *arg) { tlb_seen[cpu_id()] = *(volatile uint64_t *)arg; }

KTEST(smp, kernel_tlb_flush_reaches_all)
{
	if (!need_cpus(t, 2))
		return;
	unsigned n = ncpus();
	struct kstack ks;
	KT_ASSERT(t, kstack_alloc(&ks, 1) == 0, "no stack slot");
	volatile uint64_t *va = (volatile uint64_t *)ks.bottom;
	*va = 0x1111;
	smp_call_mask(CPUMASK_ALL, tlb_read, (void *)va, true);
	for (unsigned i = 0; i < n; i++)
		KT_EXPECT(t, tlb_seen[i] == 0x1111, "CPU %u read %#lx", i, (unsigned long)tlb_seen[i]);
	uint64_t pa2 = pmm_alloc(0);
	KT_ASSERT(t, pa2 != 0, "no page");
	*(volatile uint64_t *)phys_to_virt(pa2) = 0x2222;
	uint64_t pa1 = kunmap_page(ks.bottom);
	kunmap_flush_others(ks.bottom, ks.bottom + PAGE_SIZE);
	KT_ASSERT(t, kmap_page(ks.bottom, pa2, PTE_WRITE | PTE_NX) == 0, "remap failed");
	smp_call_mask(CPUMASK_ALL, tlb_read, (void *)va, true);
	for (unsigned i = 0; i < n; i++)
		KT_EXPECT(t, tlb_seen[i] == 0x2222, "CPU %u still reads %#lx through a stale TLB entry",
			  i, (unsigned long)tlb_seen[i]);
	pmm_free(pa1, 0);
	kstack_free(&ks);          /* frees pa2 */
}

/* ============================================================================
 * bootopt.smp_options: nosmp, maxcpus=N and smp=N parse (t/bootopt.t).
 * ========================================================================== */

KTEST(bootopt, smp_options)
{
	static struct boot_options o;
	bootopt_parse_into(&o, "nosmp");
	KT_EXPECT_EQ(t, o.smp, 1);
	KT_EXPECT_EQ(t, o.bad_options, 0);
	bootopt_parse_into(&o, "maxcpus=3");
	KT_EXPECT_EQ(t, o.smp, 3);
	bootopt_parse_into(&o, "smp=2");
	KT_EXPECT_EQ(t, o.smp, 2);
	bootopt_parse_into(&o, "maxcpus=0 nosmp=1");
	KT_EXPECT_EQ(t, o.smp, 0);               /* both rejected: all CPUs */
	KT_EXPECT_EQ(t, o.bad_options, 2);
}
