/* init.c - the first user program `make run` boots into.
 *
 * It shows that a static musl program runs on weft: it prints a banner, its
 * arguments, uname(2) and the monotonic clock, then reads commands from
 * stdin with read(2), one per line, echoing what it reads (weft's console
 * does not echo). `threads N` runs N pthreads; `fault`
 * dereferences NULL to show that a fault kills only this process. EOF on
 * stdin ends the program with status 0.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

static void show_uname(void)
{
	struct utsname u;
	if (uname(&u) != 0) {
		printf("uname: %s\n", strerror(errno));
		return;
	}
	printf("%s %s %s %s %s\n", u.sysname, u.nodename, u.release, u.version, u.machine);
}

static void show_time(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
		printf("clock_gettime: %s\n", strerror(errno));
		return;
	}
	printf("monotonic time: %lld.%09ld s\n", (long long)ts.tv_sec, ts.tv_nsec);
}

struct job {
	pthread_t thread;
	unsigned index;
	uint64_t result;
};

/* Each thread sums i*i + index over a modest range: the answer is known. */
static void *worker(void *arg)
{
	struct job *j = arg;
	uint64_t sum = 0;
	for (uint64_t i = 0; i < 100000; i++)
		sum += i * i + j->index;
	j->result = sum;
	return NULL;
}

static void run_threads(const char *arg)
{
	long n = arg ? strtol(arg, NULL, 10) : 4;
	if (n < 1 || n > MAX_THREADS) {
		printf("threads: N must be 1..%d\n", MAX_THREADS);
		return;
	}
	static struct job jobs[MAX_THREADS];
	int started = 0;
	for (int i = 0; i < n; i++) {
		jobs[i].index = (unsigned)i;
		int e = pthread_create(&jobs[i].thread, NULL, worker, &jobs[i]);
		if (e) {
			printf("pthread_create: %s\n", strerror(e));
			break;
		}
		started++;
	}
	/* sum over i<100000 of i*i = (n-1)n(2n-1)/6 with n = 100000 */
	const uint64_t squares = 99999ULL * 100000ULL * 199999ULL / 6;
	int good = 0;
	for (int i = 0; i < started; i++) {
		pthread_join(jobs[i].thread, NULL);
		uint64_t want = squares + 100000ULL * (uint64_t)i;
		good += jobs[i].result == want;
		printf("thread %d: %llu%s\n", i, (unsigned long long)jobs[i].result,
		       jobs[i].result == want ? "" : " (WRONG)");
	}
	printf("%d of %ld threads computed the right answer\n", good, n);
}

static void help(void)
{
	printf("commands:\n"
	       "  help        this list\n"
	       "  echo ARGS   print ARGS\n"
	       "  uname       system name and version\n"
	       "  time        the monotonic clock\n"
	       "  threads N   run N threads and join them\n"
	       "  fault       dereference NULL (kills this process)\n"
	       "  exit [N]    leave with status N\n");
}

/* Split line into words in place; returns the word count. */
static int split(char *line, char **argv, int max)
{
	int n = 0;
	char *p = line;
	while (n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		argv[n++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
		if (*p)
			*p++ = 0;
	}
	return n;
}

/* Run one command line; returns -1 to go on, else the exit status. */
static int command(char *line)
{
	char *av[16];
	int ac = split(line, av, 16);
	if (ac == 0)
		return -1;
	if (!strcmp(av[0], "help")) {
		help();
	} else if (!strcmp(av[0], "echo")) {
		for (int i = 1; i < ac; i++)
			printf("%s%s", av[i], i + 1 < ac ? " " : "");
		printf("\n");
	} else if (!strcmp(av[0], "uname")) {
		show_uname();
	} else if (!strcmp(av[0], "time")) {
		show_time();
	} else if (!strcmp(av[0], "threads")) {
		run_threads(ac > 1 ? av[1] : NULL);
	} else if (!strcmp(av[0], "fault")) {
		printf("writing to address 0: this process should die of SIGSEGV\n");
		fflush(stdout);
		*(volatile int *)(uintptr_t)0 = 1;
		printf("still alive?\n");
	} else if (!strcmp(av[0], "exit")) {
		return ac > 1 ? atoi(av[1]) & 0xff : 0;
	} else {
		printf("%s: unknown command (try help)\n", av[0]);
	}
	return -1;
}

static void prompt(void)
{
	printf("init$ ");
	fflush(stdout);
}

/* weft's console has no line discipline: like a terminal, init echoes what
 * it reads (so typed commands are visible) and handles backspace. */
static void echo(const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(1, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("weft: hello from user mode\n");
	for (int i = 0; i < argc; i++)
		printf("argv[%d] = \"%s\"\n", i, argv[i]);
	show_uname();
	show_time();
	printf("type 'help' for commands\n");
	prompt();

	/* Lines end in \n, \r (what a serial terminal sends) or \r\n. */
	char line[256];
	size_t len = 0;
	int after_cr = 0;
	for (;;) {
		char buf[128];
		ssize_t n = read(0, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			char c = buf[i];
			if (c == '\n' && after_cr) {   /* \r\n is one line end */
				after_cr = 0;
				continue;
			}
			after_cr = c == '\r';
			if (c == '\n' || c == '\r') {
				echo("\n", 1);
				line[len] = 0;
				len = 0;
				int st = command(line);
				if (st >= 0)
					return st;
				prompt();
			} else if (c == 127 || c == 8) {
				if (len > 0) {
					len--;
					echo("\b \b", 3);
				}
			} else if (c >= ' ' && len < sizeof line - 1) {
				line[len++] = c;
				echo(&c, 1);
			}
		}
	}
	if (len > 0) {   /* a last line without its newline */
		echo("\n", 1);
		line[len] = 0;
		int st = command(line);
		if (st >= 0)
			return st;
	}
	printf("\nEOF on stdin: exiting\n");
	return 0;
}
