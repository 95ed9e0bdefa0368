/*
 * bench.c - micro-benchmarks of the thread core (boot option bench=all,
 * `make bench`).
 *
 * Under QEMU with -icount shift=0,sleep=off, guest time advances exactly
 * 1 ns per guest instruction, so the ns/op printed here are instruction
 * counts: deterministic, and comparable across machines. On real hardware
 * or plain TCG they are ordinary (noisy) times.
 */
#include <weft/thread.h>
#include <weft/sched.h>
#include <weft/mutex.h>
#include <weft/wait.h>
#include <weft/time.h>
#include <weft/printk.h>
#include <weft/spinlock.h>
#include <weft/string.h>
#include <weft/kstack.h>
#include <arch/switch.h>

#define ROUNDS 20000

static void report(const char *name, uint64_t ns, uint64_t ops)
{
	kprintf("bench: %-28s %8lu ns/op  (%lu ops)\n", name, (unsigned long)(ns / ops),
		(unsigned long)ops);
}

static volatile bool stop;

static void *yielder(void *arg)
{
	(void)arg;
	while (!stop)
		thread_yield();
	return NULL;
}

/* Two threads yielding to each other: each yield is one switch. */
static void bench_yield(void)
{
	stop = false;
	struct thread *a = thread_create(yielder, NULL, "yield-a");
	thread_yield(); /* let it start */
	uint64_t s0 = 0;
	struct sched_stats st;
	sched_get_stats(cpu_id(), &st);
	s0 = st.switches;
	uint64_t t0 = clock_monotonic_ns();
	for (int i = 0; i < ROUNDS; i++)
		thread_yield();
	uint64_t t1 = clock_monotonic_ns();
	sched_get_stats(cpu_id(), &st);
	stop = true;
	thread_join(a);
	report("yield switch (2 threads)", t1 - t0, st.switches - s0);
}

/* The bare switch_to() routine, without the scheduler: the running thread
 * and a private peer (never on a run queue, invisible to the scheduler)
 * switch straight to each other with interrupts off, so nothing else can
 * run in between. Each round trip is two switches. */
static struct thread bare_peer;
static struct thread *bare_main;

static __attribute__((noreturn)) void bare_peer_loop(void)
{
	for (;;)
		switch_to(&bare_peer, bare_main);
}

static void bench_bare_switch(void)
{
	if (kstack_alloc(&bare_peer.stack, KSTACK_PAGES) < 0)
		return;
	/* The peer's first switch "returns" into bare_peer_loop, entered as
	 * if called (RSP % 16 == 8), like thread_create's first frame. */
	uint64_t *top = (uint64_t *)bare_peer.stack.top;
	top[-1] = 0;
	struct switch_frame *sf = (struct switch_frame *)(top - 1) - 1;
	memset(sf, 0, sizeof *sf);
	sf->ret = (uint64_t)bare_peer_loop;
	bare_peer.saved_rsp = (uint64_t)sf;
	bare_main = current();

	unsigned long f = local_irq_save();
	uint64_t t0 = clock_monotonic_ns();
	for (int i = 0; i < ROUNDS; i++)
		switch_to(bare_main, &bare_peer);
	uint64_t t1 = clock_monotonic_ns();
	local_irq_restore(f);
	kstack_free(&bare_peer.stack);   /* the peer is parked in switch_to: never resumed */
	report("bare switch_to (no scheduler)", t1 - t0, 2ULL * ROUNDS);
}

static struct semaphore ping, pong;

static void *ponger(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		sem_down(&ping);
		sem_up(&pong);
	}
	return NULL;
}

/* Wake-up through a wait queue: a round trip is two sleeps + two wakeups. */
static void bench_wakeup(void)
{
	sem_init(&ping, 0, "ping");
	sem_init(&pong, 0, "pong");
	struct thread *t = thread_create(ponger, NULL, "ponger");
	uint64_t t0 = clock_monotonic_ns();
	for (int i = 0; i < ROUNDS; i++) {
		sem_up(&ping);
		sem_down(&pong);
	}
	uint64_t t1 = clock_monotonic_ns();
	thread_join(t);
	report("wake-up via wait queue", t1 - t0, 2ULL * ROUNDS);
}

static struct mutex bench_mutex;
static volatile uint64_t shared;

static void *mutex_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		mutex_lock(&bench_mutex);
		shared++;
		thread_yield(); /* hold it across a switch: the other must wait */
		mutex_unlock(&bench_mutex);
	}
	return NULL;
}

/* Contended mutex: every unlock hands the mutex to a sleeping waiter. */
static void bench_mutex_handoff(void)
{
	mutex_init(&bench_mutex, "bench");
	shared = 0;
	struct thread *a = thread_create(mutex_worker, NULL, "mutex-a");
	struct thread *b = thread_create(mutex_worker, NULL, "mutex-b");
	uint64_t t0 = clock_monotonic_ns();
	thread_join(a);
	thread_join(b);
	uint64_t t1 = clock_monotonic_ns();
	report("contended mutex hand-off", t1 - t0, 2ULL * ROUNDS);
}

static void *nothing(void *arg) { return arg; }

static void bench_create_join(void)
{
	uint64_t t0 = clock_monotonic_ns();
	for (int i = 0; i < ROUNDS / 4; i++)
		thread_join(thread_create(nothing, NULL, "empty"));
	uint64_t t1 = clock_monotonic_ns();
	report("thread create + join", t1 - t0, ROUNDS / 4);
}

static void bench_spinlocks(void)
{
	static spinlock_t l = SPINLOCK_INIT("bench");
	uint64_t t0 = clock_monotonic_ns();
	for (int i = 0; i < ROUNDS * 5; i++) {
		spin_lock(&l);
		spin_unlock(&l);
	}
	uint64_t t1 = clock_monotonic_ns();
	report("spin_lock + spin_unlock", t1 - t0, ROUNDS * 5);
	t0 = clock_monotonic_ns();
	for (int i = 0; i < ROUNDS * 5; i++) {
		unsigned long f = spin_lock_irqsave(&l);
		spin_unlock_irqrestore(&l, f);
	}
	t1 = clock_monotonic_ns();
	report("spin_lock_irqsave + restore", t1 - t0, ROUNDS * 5);
	/* The loop and clock reads themselves, to subtract by eye. */
	t0 = clock_monotonic_ns();
	for (volatile int i = 0; i < ROUNDS * 5; i++)
		;
	t1 = clock_monotonic_ns();
	report("empty loop (overhead)", t1 - t0, ROUNDS * 5);
}

void bench_run(void)
{
	/* One CPU's paths: the benchmark threads inherit this pin, so with
	 * more CPUs online they still share this one. */
	uint64_t saved = current()->affinity;
	sched_set_affinity_mask(current(), (uint64_t)1 << cpu_id());
	kprintf("bench: begin (ns/op = instructions/op under -icount shift=0)\n");
	bench_yield();
	bench_bare_switch();
	bench_wakeup();
	bench_mutex_handoff();
	bench_create_join();
	bench_spinlocks();
	kprintf("bench: end\n");
	sched_set_affinity_mask(current(), saved);
}
