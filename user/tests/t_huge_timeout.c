/* t_huge_timeout - a timeout too large to be reached is a long wait, not an
 * overflow: every call that takes a relative or absolute timespec waits
 * when given seconds near the top of the range (INT64_MAX, and the values
 * just past 2^64 ns, 18446744074 s, where sec * 10^9 wraps to a small
 * number), until what it waits for happens. A helper thread ends each wait
 * after 30 ms (a signal, or FUTEX_WAKE) and repeats that every 30 ms until
 * the waiter is back, so a wake-up that comes too early is not lost. Each
 * call must return what that event means (the signal number, EINTR, 0) and
 * not have come back before the first one (EAGAIN, ETIMEDOUT or 0 at
 * once was the overflow). Raw syscall() so libc converts nothing. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

/* musl ships no <linux/futex.h>: Linux's values. */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129
#define FUTEX_WAIT_BITSET_PRIVATE 137
#define FUTEX_CLOCK_REALTIME 256
#define FUTEX_BITSET_MATCH_ANY 0xffffffffu

#define EVENT_NS 30000000LL   /* the helper's first event comes after 30 ms */

enum how { SIGNAL, FUTEX };

static pthread_t waiter;
static int done_flag;
static int futex_word;

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void on_usr1(int sig) { (void)sig; }

static void nap(long long ns)
{
	struct timespec d = { 0, ns };
	nanosleep(&d, NULL);
}

/* Every 30 ms until the waiter is back: SIGUSR1 to it, or FUTEX_WAKE. */
static void *helper(void *arg)
{
	enum how how = (enum how)(intptr_t)arg;
	for (;;) {
		nap(EVENT_NS);
		if (__atomic_load_n(&done_flag, __ATOMIC_ACQUIRE))
			return NULL;
		if (how == SIGNAL)
			pthread_kill(waiter, SIGUSR1);
		else
			syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
}

struct result {
	long r;
	int err;
	long long ns;
};

/* Run call(ts) with a helper that ends it by `how`. */
static struct result timed(long (*call)(const struct timespec *), const struct timespec *ts,
			   enum how how)
{
	pthread_t h;
	__atomic_store_n(&done_flag, 0, __ATOMIC_RELEASE);
	long long t0 = now_ns();
	pthread_create(&h, NULL, helper, (void *)(intptr_t)how);
	errno = 0;
	struct result res;
	res.r = call(ts);
	res.err = res.r == -1 ? errno : 0;
	res.ns = now_ns() - t0;
	__atomic_store_n(&done_flag, 1, __ATOMIC_RELEASE);
	pthread_join(h, NULL);
	return res;
}

/* Each call: the timespec is its timeout; the helper ends it. */
static long c_sigtimedwait(const struct timespec *ts)
{
	uint64_t set = 1ull << (SIGUSR1 - 1);
	return syscall(SYS_rt_sigtimedwait, &set, NULL, ts, 8);
}
static long c_nanosleep(const struct timespec *ts) { return syscall(SYS_nanosleep, ts, NULL); }
static long c_clock_nanosleep_rel(const struct timespec *ts)
{
	return syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, ts, NULL);
}
static long c_clock_nanosleep_abs_mono(const struct timespec *ts)
{
	return syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, TIMER_ABSTIME, ts, NULL);
}
static long c_clock_nanosleep_abs_real(const struct timespec *ts)
{
	return syscall(SYS_clock_nanosleep, CLOCK_REALTIME, TIMER_ABSTIME, ts, NULL);
}
static long c_futex_wait(const struct timespec *ts)
{
	return syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, ts, NULL, 0);
}
static long c_futex_wait_bitset_real(const struct timespec *ts)
{
	return syscall(SYS_futex, &futex_word, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 0,
		       ts, NULL, FUTEX_BITSET_MATCH_ANY);
}

static const struct call {
	const char *name;
	long (*fn)(const struct timespec *);
	enum how how;
	int blocked;          /* SIGUSR1 blocked during the call (sigtimedwait takes it) */
	long want_r;          /* the result that means "the event ended it" */
	int want_err;
} calls[] = {
	{ "rt_sigtimedwait", c_sigtimedwait, SIGNAL, 1, SIGUSR1, 0 },
	{ "nanosleep", c_nanosleep, SIGNAL, 0, -1, EINTR },
	{ "clock_nanosleep(MONOTONIC, relative)", c_clock_nanosleep_rel, SIGNAL, 0, -1, EINTR },
	{ "clock_nanosleep(MONOTONIC, TIMER_ABSTIME)", c_clock_nanosleep_abs_mono, SIGNAL, 0, -1, EINTR },
	{ "clock_nanosleep(REALTIME, TIMER_ABSTIME)", c_clock_nanosleep_abs_real, SIGNAL, 0, -1, EINTR },
	{ "futex(FUTEX_WAIT, relative)", c_futex_wait, FUTEX, 0, 0, 0 },
	{ "futex(FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, absolute)", c_futex_wait_bitset_real, FUTEX,
	  0, 0, 0 },
};
#define NCALLS (sizeof calls / sizeof calls[0])

static const struct timespec huge[] = {
	{ LLONG_MAX, 999999999 },
	{ 18446744074LL, 0 },          /* * 10^9 wraps 2^64 to 0.26 s */
	{ 9223372037LL, 0 },           /* * 10^9 just passes 2^63: negative as int64 */
};
#define NHUGE (sizeof huge / sizeof huge[0])

int main(void)
{
	plan((int)(NCALLS * NHUGE));
	waiter = pthread_self();
	struct sigaction sa = { .sa_handler = on_usr1 };   /* no SA_RESTART: EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);

	for (size_t i = 0; i < NCALLS; i++) {
		for (size_t k = 0; k < NHUGE; k++) {
			if (calls[i].blocked)
				pthread_sigmask(SIG_BLOCK, &usr1, NULL);
			struct result res = timed(calls[i].fn, &huge[k], calls[i].how);
			if (calls[i].blocked) {
				/* Take any second SIGUSR1 the helper sent meanwhile. */
				struct timespec zero = { 0, 0 };
				while (sigtimedwait(&usr1, NULL, &zero) > 0)
					;
				pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);
			}
			ok(res.r == calls[i].want_r && res.err == calls[i].want_err &&
				   res.ns >= EVENT_NS,
			   "%s with a timeout of %lld.%09ld s waits for the %s (returned %ld, errno %d, "
			   "after %lld ms)",
			   calls[i].name, (long long)huge[k].tv_sec, huge[k].tv_nsec,
			   calls[i].how == SIGNAL ? "signal" : "FUTEX_WAKE", res.r, res.err,
			   res.ns / 1000000);
		}
	}
	return done();
}
