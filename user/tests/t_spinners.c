/* t_spinners - threads that spin in user mode without a system call never
 * keep the other threads from running, at any number of CPUs.
 *
 * Issue 11, item 1: the first case below never got past its first line on
 * weft at -smp 2 and 4 under QEMU -icount: QEMU's single-threaded TCG ran
 * CPU 0's spinner for every turn while CPU 1 stood still (see
 * kernel/vcpu_yield.c). Each case is a program the scheduler must carry to
 * its end; a hang is the failure (the harness's time limit, weft's hung-
 * thread detector). The points also check what the threads did:
 *   1. the issue's program: a spinner while main sleeps 20 x 10 ms; then a
 *      spinner, a 1 ms napper and a worker created and joined;
 *   2. more spinners than CPUs (CPUs + 2) while main sleeps and creates a
 *      worker: every spinner got to run;
 *   3. sleepers at 100 us among one spinner per CPU: every sleep lasted at
 *      least what was asked, and each sleeper woke many times;
 *   4. a spinner bound to CPU 0 while main, bound to CPU 1, sleeps 1 ms ten
 *      times and then stops it (the smallest form of case 1).
 * Nothing here is about how fast: only that everything ends and ran. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

#define MAX_SPIN 34

static atomic_int stop;
static atomic_ulong spins[MAX_SPIN];
static atomic_ulong naps[2];

static void *spin(void *arg)
{
	atomic_ulong *n = arg;
	while (!atomic_load(&stop))
		atomic_fetch_add_explicit(n, 1, memory_order_relaxed);
	return 0;
}

static long nap_ns;
static atomic_int short_naps;   /* sleeps that returned before their time */

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void sleep_ns(long ns)
{
	struct timespec d = { ns / 1000000000, ns % 1000000000 };
	uint64_t t0 = now_ns();
	while (nanosleep(&d, &d) != 0)
		;
	if (now_ns() - t0 < (uint64_t)ns)
		atomic_fetch_add(&short_naps, 1);
}

static void *nap(void *arg)
{
	atomic_ulong *n = arg;
	while (!atomic_load(&stop)) {
		sleep_ns(nap_ns);
		atomic_fetch_add(n, 1);
	}
	return 0;
}

static atomic_int worked;
static void *work(void *arg)
{
	(void)arg;
	atomic_store(&worked, 1);
	return 0;
}

static int ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > MAX_SPIN - 2 ? MAX_SPIN - 2 : (int)n;
}

static void start(void)
{
	atomic_store(&stop, 0);
	for (int i = 0; i < MAX_SPIN; i++)
		atomic_store(&spins[i], 0);
	atomic_store(&naps[0], 0);
	atomic_store(&naps[1], 0);
	atomic_store(&short_naps, 0);
	atomic_store(&worked, 0);
}

static void issue_program(void)
{
	pthread_t s, n, w;
	start();
	nap_ns = 1000000;
	int ok1 = !pthread_create(&s, 0, spin, &spins[0]);
	for (int i = 0; i < 20; i++)
		sleep_ns(10000000);
	atomic_store(&stop, 1);
	ok1 = ok1 && !pthread_join(s, 0);
	unsigned long first = atomic_load(&spins[0]);
	atomic_store(&stop, 0);
	ok1 = ok1 && !pthread_create(&s, 0, spin, &spins[1]);
	ok1 = ok1 && !pthread_create(&n, 0, nap, &naps[0]);
	diag("created the sleeper");
	ok1 = ok1 && !pthread_create(&w, 0, work, 0) && !pthread_join(w, 0);
	sleep_ns(20000000);
	atomic_store(&stop, 1);
	ok1 = ok1 && !pthread_join(s, 0) && !pthread_join(n, 0);
	ok(ok1 && first > 0 && atomic_load(&spins[1]) > 0 && atomic_load(&naps[0]) > 0 &&
	   atomic_load(&worked),
	   "the issue's program ends: spinners ran (%lu, %lu), the napper woke %lu times, "
	   "the worker ran", first, atomic_load(&spins[1]), atomic_load(&naps[0]));
}

static void more_spinners_than_cpus(void)
{
	int n = ncpus() + 2, made = 0;
	pthread_t t[MAX_SPIN], w;
	start();
	for (int i = 0; i < n; i++)
		made += !pthread_create(&t[i], 0, spin, &spins[i]);
	for (int i = 0; i < 20; i++)
		sleep_ns(10000000);
	int wok = !pthread_create(&w, 0, work, 0) && !pthread_join(w, 0);
	sleep_ns(50000000);
	atomic_store(&stop, 1);
	int idle = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], 0);
		idle += atomic_load(&spins[i]) == 0;
	}
	ok(made == n && wok && atomic_load(&worked) && idle == 0,
	   "%d spinners on %d CPUs: main slept, a worker ran, %d spinners never ran", n,
	   ncpus(), idle);
}

static void sleepers_at_100us(void)
{
	int n = ncpus(), made = 0;
	pthread_t t[MAX_SPIN], s[2];
	start();
	nap_ns = 100000;
	for (int i = 0; i < n; i++)
		made += !pthread_create(&t[i], 0, spin, &spins[i]);
	for (int i = 0; i < 2; i++)
		made += !pthread_create(&s[i], 0, nap, &naps[i]);
	for (int i = 0; i < 20; i++)
		sleep_ns(1000000);
	sleep_ns(50000000);
	atomic_store(&stop, 1);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], 0);
	pthread_join(s[0], 0);
	pthread_join(s[1], 0);
	unsigned long a = atomic_load(&naps[0]), b = atomic_load(&naps[1]);
	ok(made == n + 2 && a >= 10 && b >= 10 && atomic_load(&short_naps) == 0,
	   "2 sleepers at 100 us among %d spinners woke %lu and %lu times; %d sleeps "
	   "ended early", n, a, b, atomic_load(&short_naps));
}

static int bind_to(pthread_t t, int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(t, sizeof set, &set);
}

static void spinner_on_cpu0(void)
{
	if (ncpus() < 2) {
		skip("one CPU: no CPU 0 spinner against a CPU 1 sleeper");
		return;
	}
	pthread_t s;
	start();
	int r = bind_to(pthread_self(), 1);
	r = r ? r : pthread_create(&s, 0, spin, &spins[0]);
	r = r ? r : bind_to(s, 0);
	for (int i = 0; i < 10 && !r; i++)
		sleep_ns(1000000);
	atomic_store(&stop, 1);
	if (!r)
		pthread_join(s, 0);
	ok(!r && atomic_load(&spins[0]) > 0,
	   "a spinner bound to CPU 0, main bound to CPU 1 slept 10 x 1 ms and stopped it (%d)",
	   r);
	cpu_set_t all;
	CPU_ZERO(&all);
	for (int i = 0; i < ncpus(); i++)
		CPU_SET(i, &all);
	pthread_setaffinity_np(pthread_self(), sizeof all, &all);
}

int main(void)
{
	plan(4);
	issue_program();
	more_spinners_than_cpus();
	sleepers_at_100us();
	spinner_on_cpu0();
	return done();
}
