/* t_write_intr - a long write() is interruptible, as on Linux (a tty, a
 * pipe): a thread writing 16 MiB to stdout gets a short count, or EINTR,
 * soon after a signal with a handler reaches it, and a kill or another
 * thread's exit_group ends the process while it writes.
 *
 *   t_write_intr        TAP. A writer thread writes 16 MiB to fd 1; 20 ms
 *                       after it started, SIGUSR1 (a handler, no
 *                       SA_RESTART) goes to it. The write must return
 *                       within 0.1 s of the signal: the whole count if it
 *                       had finished (Linux's /dev/null), a short count,
 *                       or -1/EINTR. Then the same with writev() of two
 *                       8 MiB halves.
 *   t_write_intr kill   A writer thread writes 16 MiB to fd 1 (and if that
 *                       ever returns, a line "# write returned N", then
 *                       waits); 20 ms after it started, the main thread
 *                       sends the process SIGKILL. Dies by SIGKILL.
 *   t_write_intr exit   The same, but the main thread calls _exit(7)
 *                       (exit_group). Exits with 7.
 *
 * How soon the last two end is for the harness to see (t/weft-run.t):
 * fewer than 16 MiB must have come out (the kill cut the write), and under
 * weft-run --icount --time, the run time on the guest's clock. What the
 * writer writes is TAP comment lines ("# ....\n"), so a log of it stays
 * valid TAP; after a short count the next line starts with a newline.
 * Run it on Linux with stdout on /dev/null, a pipe or a terminal. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>
#include "tap.h"

#define WRITE_BYTES (16u << 20)
#define DELAY_NS 20000000L            /* the signal or kill comes 20 ms after the write began */
#define PROMPT_NS 100000000LL         /* ... and the write must be back within 0.1 s of it */

static char *filler;
static int writing;                   /* the writer is about to call write() */
static long long signal_at;           /* when SIGUSR1 was sent (ns) */
static struct {
	ssize_t r;
	int err;
	long long at;
} result;

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void on_usr1(int sig) { (void)sig; }

/* arg non-NULL: writev of two 8 MiB halves (how musl's stdio writes). */
static void *write_once(void *arg)
{
	struct iovec halves[2] = { { filler, WRITE_BYTES / 2 },
				   { filler + WRITE_BYTES / 2, WRITE_BYTES / 2 } };
	__atomic_store_n(&writing, 1, __ATOMIC_RELEASE);
	result.r = arg ? writev(1, halves, 2) : write(1, filler, WRITE_BYTES);
	result.err = result.r < 0 ? errno : 0;
	result.at = now_ns();
	return NULL;
}

__attribute__((noreturn)) static void *write_then_wait(void *arg)
{
	(void)arg;
	__atomic_store_n(&writing, 1, __ATOMIC_RELEASE);
	ssize_t r = write(1, filler, WRITE_BYTES);
	char line[64];
	int n = snprintf(line, sizeof line, "\n# write returned %zd\n", r);
	tap_write(line, (size_t)n);
	for (;;)
		pause();
}

/* Start `fn` and come back 20 ms after it is about to write. */
static pthread_t start_writer(void *(*fn)(void *), void *arg)
{
	pthread_t w;
	__atomic_store_n(&writing, 0, __ATOMIC_RELEASE);
	pthread_create(&w, NULL, fn, arg);
	while (!__atomic_load_n(&writing, __ATOMIC_ACQUIRE))
		sched_yield();
	struct timespec d = { 0, DELAY_NS };
	nanosleep(&d, NULL);
	return w;
}

int main(int argc, char **argv)
{
	filler = malloc(WRITE_BYTES);
	if (!filler)
		return 2;
	/* Lines of 64 bytes: "# " and dots, then a newline. */
	memset(filler, '.', WRITE_BYTES);
	for (size_t i = 0; i < WRITE_BYTES; i += 64) {
		filler[i] = '#';
		filler[i + 1] = ' ';
		filler[i + 63] = '\n';
	}
	const char *mode = argc > 1 ? argv[1] : "";
	if (!strcmp(mode, "kill") || !strcmp(mode, "exit")) {
		start_writer(write_then_wait, NULL);
		if (!strcmp(mode, "kill"))
			kill(getpid(), SIGKILL);
		_exit(7);   /* exit_group: every thread ends, the writer too */
	}

	plan(4);
	struct sigaction sa = { .sa_handler = on_usr1 };   /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	for (int vec = 0; vec < 2; vec++) {
		const char *call = vec ? "writev" : "write";
		pthread_t w = start_writer(write_once, vec ? filler : NULL);
		signal_at = now_ns();
		pthread_kill(w, SIGUSR1);
		pthread_join(w, NULL);
		tap_write("\n", 1);   /* end a line a short count cut */
		long long after = result.at - signal_at;
		ok(result.r == WRITE_BYTES || (result.r > 0 && result.r < WRITE_BYTES) ||
			   (result.r == -1 && result.err == EINTR),
		   "%s of %u bytes with SIGUSR1 during it: all, a short count or EINTR (%zd, errno %d)",
		   call, WRITE_BYTES, result.r, result.err);
		ok(after < PROMPT_NS, "%s returned within %lld ms of the signal (%lld ms after it)",
		   call, PROMPT_NS / 1000000, after / 1000000);
	}
	return done();
}
