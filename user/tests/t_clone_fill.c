/* t_clone_fill - create threads until clone() fails (or a cap is reached),
 * all alive at once; every thread clone() reported must run, and a failure
 * must be EAGAIN or ENOMEM. Then release them all and wait until each has
 * exited (its CLONE_CHILD_CLEARTID word back to 0).
 *
 *   t_clone_fill [--cap N] [--wait-signal] [--hold-signal] [--expect-fail]
 *                [--expect-errno EAGAIN|ENOMEM] [--expect-count N] [--min-count N]
 *
 * Without options it makes 64 threads, which must all be created and run
 * (on Linux too). The kernel's tests run it with options:
 *  - at weft's default RLIMIT_NPROC: fails with EAGAIN at exactly the limit
 *    (--hold-signal: with every thread alive, it waits for SIGUSR1 while the
 *    test looks at how much memory they take);
 *  - after fragmenting memory into single free pages (--wait-signal: it
 *    first touches all its memory, then waits for SIGUSR1 while the test
 *    fragments): clone() fails, and every thread it said it created runs.
 * Threads are raw clone()s with small stacks from .bss, so creating one
 * needs no memory in this process, only in the kernel. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include "tap.h"
#include "raw_clone.h"

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define MAX_THREADS 8192
#define STACK_SIZE  512

static char stacks[MAX_THREADS][STACK_SIZE] __attribute__((aligned(16)));
static volatile int tid_words[MAX_THREADS];   /* CHILD_SETTID/CLEARTID */
static volatile int ran;                      /* children that got to run */
static volatile int release;                  /* set once: children exit */

static long sys4(long n, long a, long b, long c, long d)
{
	register long r10 __asm__("r10") = d;
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return r;
}

/* The child: no TLS of its own, so raw syscalls only. */
static long child(void *arg)
{
	(void)arg;
	__atomic_add_fetch(&ran, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&release, __ATOMIC_ACQUIRE))
		sys4(SYS_futex, (long)&release, FUTEX_WAIT, 0, 0);
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int errno_named(const char *s)
{
	return !strcmp(s, "EAGAIN") ? EAGAIN : !strcmp(s, "ENOMEM") ? ENOMEM : atoi(s);
}

/* Say so, then wait (at most 60 s) for the kernel's test to send SIGUSR1
 * (blocked by main before any thread is made, so every thread blocks it:
 * none of them can take it and die of it). */
static void wait_for_sigusr1(const char *what)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	diag("%s: waiting for SIGUSR1", what);
	struct timespec ts = { 60, 0 };
	int s = sigtimedwait(&set, NULL, &ts);
	if (s != SIGUSR1)
		diag("no SIGUSR1 within 60 s (%d): going on", s);
}

int main(int argc, char **argv)
{
	int cap = 64, wait_signal = 0, hold_signal = 0, expect_fail = 0, expect_errno = 0;
	int expect_count = -1, min_count = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--cap") && i + 1 < argc)
			cap = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--wait-signal"))
			wait_signal = 1;
		else if (!strcmp(argv[i], "--hold-signal"))
			hold_signal = 1;
		else if (!strcmp(argv[i], "--expect-fail"))
			expect_fail = 1;
		else if (!strcmp(argv[i], "--expect-errno") && i + 1 < argc)
			expect_errno = errno_named(argv[++i]), expect_fail = 1;
		else if (!strcmp(argv[i], "--expect-count") && i + 1 < argc)
			expect_count = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--min-count") && i + 1 < argc)
			min_count = atoi(argv[++i]);
	}
	if (cap > MAX_THREADS)
		cap = MAX_THREADS;
	plan(4 + (expect_count >= 0));

	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	/* Every page this process will need, touched now. */
	memset(stacks, 0, sizeof stacks);
	memset((void *)tid_words, 0, sizeof tid_words);
	if (wait_signal)
		wait_for_sigusr1("ready");

	int n = 0;
	long err = 0;
	for (; n < cap; n++) {
		tid_words[n] = -1;
		long r = raw_clone(RC_THREAD_FLAGS | RC_CLONE_CHILD_SETTID | RC_CLONE_CHILD_CLEARTID,
				   stacks[n] + STACK_SIZE, NULL, (int *)&tid_words[n], 0, child, NULL);
		if (r < 0) {
			err = -r;
			tid_words[n] = 0;
			break;
		}
	}
	diag("%d threads created; clone() then %s%s", n, err ? "failed: " : "was not called again",
	     err ? strerror((int)err) : "");

	/* Every thread clone() reported runs: wait for them (at most 20 s). */
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	for (uint64_t end = now_ms() + 20000;
	     __atomic_load_n(&ran, __ATOMIC_SEQ_CST) < n && now_ms() < end;)
		nanosleep(&tick, NULL);
	int got = __atomic_load_n(&ran, __ATOMIC_SEQ_CST);
	ok(got == n, "every one of the %d threads clone() created ran (%d did)", n, got);
	if (expect_fail)
		ok(n < cap && (err == EAGAIN || err == ENOMEM) && (!expect_errno || err == expect_errno),
		   "clone() failed after %d threads with %s (expected %s)", n,
		   err ? strerror((int)err) : "nothing", expect_errno ? strerror(expect_errno)
								 : "EAGAIN or ENOMEM");
	else
		ok(n == cap || err == EAGAIN || err == ENOMEM,
		   "%d threads created (cap %d); a failure is EAGAIN or ENOMEM (%s)", n, cap,
		   err ? strerror((int)err) : "none");
	ok(n >= min_count, "at least %d threads were created (%d)", min_count, n);
	if (expect_count >= 0)
		ok(n == expect_count, "exactly %d threads were created (%d)", expect_count, n);

	if (hold_signal)
		wait_for_sigusr1("holding the threads");
	/* Release them; each clears its word as it exits. */
	__atomic_store_n(&release, 1, __ATOMIC_RELEASE);
	sys4(SYS_futex, (long)&release, FUTEX_WAKE, 0x7fffffff, 0);
	int left = 0;
	uint64_t deadline = now_ms() + 20000;   /* for all of them together */
	for (int i = 0; i < n; i++) {
		int v;
		while ((v = __atomic_load_n(&tid_words[i], __ATOMIC_ACQUIRE)) != 0 &&
		       now_ms() < deadline) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			sys4(SYS_futex, (long)&tid_words[i], FUTEX_WAIT, v, (long)&ts);
		}
		left += v != 0;
	}
	ok(left == 0, "all %d threads exited when released (%d did not)", n, left);
	return done();
}
