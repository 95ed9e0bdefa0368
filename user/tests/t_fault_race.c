/* t_fault_race - page faults of several threads sharing one CPU each see
 * their own fault address. Four threads map two fresh pages, write both
 * (two page faults), check them and unmap them, over and over, for a
 * while (argv[1] seconds, default 2). A fault that is handled with
 * another thread's fault address (one read after a switch: the CPU keeps
 * one CR2) maps the wrong page and faults again, or - when that other
 * mapping is gone by then - kills the process with SIGSEGV at an address
 * the thread never used; the SIGSEGV handler here reports which. On Linux
 * and on a correct weft every write lands and nothing faults. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

#define NTHREADS 4
#define PAGE 4096UL

static double seconds = 2;
static volatile long rounds[NTHREADS], bad[NTHREADS];
static __thread volatile char *mine;	/* this thread's current mapping */

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	char line[160];
	int n = snprintf(line, sizeof line,
			 "not ok - SIGSEGV at %p (code %d) while this thread's pages are %p..%p\n",
			 si->si_addr, si->si_code, (void *)mine, (void *)(mine + 2 * PAGE));
	tap_write(line, (size_t)n);
	_exit(1);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *churn(void *arg)
{
	long id = (long)arg;
	double end = now() + seconds;
	while (now() < end) {
		volatile char *p = mmap(0, 2 * PAGE, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			bad[id]++;
			break;
		}
		mine = p;
		p[0] = (char)id;		/* page fault */
		p[PAGE + 7] = (char)(id + 1);	/* page fault */
		if (p[0] != (char)id || p[PAGE + 7] != (char)(id + 1))
			bad[id]++;
		munmap((void *)p, 2 * PAGE);
		rounds[id]++;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		seconds = atof(argv[1]);
	plan(2);
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
	sigaction(SIGSEGV, &sa, 0);
	pthread_t t[NTHREADS];
	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], 0, churn, (void *)i);
	long total = 0, wrong = 0, idle = 0;
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(t[i], 0);
		total += rounds[i];
		wrong += bad[i];
		idle += rounds[i] == 0;
	}
	/* A stray SIGSEGV never gets here: on_segv() reports and exits. */
	ok(idle == 0, "%d threads: %ld map/fault/unmap rounds in %.1f s (%ld threads did none), no stray SIGSEGV",
	   NTHREADS, total, seconds, idle);
	ok(wrong == 0 && total > 0, "every write landed in the thread's own pages (%ld bad)", wrong);
	return done();
}
