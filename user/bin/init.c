/* init - the program `make run` boots into: a greeting and a tiny shell,
 * an unmodified static musl program like any other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/utsname.h>

static void *square_sum(void *arg)
{
	long n = (long)arg, s = 0;
	for (long i = 1; i <= n; i++)
		s += i * i;
	return (void *)s;
}

static void threads(int n)
{
	if (n < 1 || n > 64)
		n = 4;
	pthread_t t[64];
	for (long i = 0; i < n; i++)
		pthread_create(&t[i], NULL, square_sum, (void *)(100000 * (i + 1)));
	for (int i = 0; i < n; i++) {
		void *r;
		pthread_join(t[i], &r);
		printf("thread %d: sum of squares to %d = %ld\n", i, 100000 * (i + 1), (long)r);
	}
}

int main(int argc, char **argv)
{
	struct utsname u;
	uname(&u);
	printf("weft: hello from user mode (%s %s, %s)\n", u.sysname, u.release, u.machine);
	for (int i = 0; i < argc; i++)
		printf("  argv[%d] = %s\n", i, argv[i]);
	printf("Commands: help, echo ARGS, uname, time, threads N, fault, exit [N]\n");
	char line[256];
	for (;;) {
		printf("init$ ");
		fflush(stdout);
		size_t n = 0;
		for (;;) {          /* read a line; echo it, as a terminal would */
			char c;
			if (read(0, &c, 1) != 1)
				return 0;
			if (c == '\n' || c == '\r') {
				write(1, "\n", 1);
				break;
			}
			if ((c == 127 || c == 8) && n) {
				n--;
				write(1, "\b \b", 3);
				continue;
			}
			if (n < sizeof line - 1 && c >= ' ') {
				line[n++] = c;
				write(1, &c, 1);
			}
		}
		line[n] = 0;
		char *cmd = strtok(line, " "), *arg = strtok(NULL, "");
		if (!cmd)
			continue;
		if (!strcmp(cmd, "help"))
			printf("help, echo ARGS, uname, time, threads N, fault, exit [N]\n");
		else if (!strcmp(cmd, "echo"))
			printf("%s\n", arg ? arg : "");
		else if (!strcmp(cmd, "uname"))
			printf("%s %s %s %s\n", u.sysname, u.nodename, u.release, u.machine);
		else if (!strcmp(cmd, "time")) {
			struct timespec m, r;
			clock_gettime(CLOCK_MONOTONIC, &m);
			clock_gettime(CLOCK_REALTIME, &r);
			printf("up %ld.%03ld s; %s", (long)m.tv_sec, m.tv_nsec / 1000000, ctime(&r.tv_sec));
		} else if (!strcmp(cmd, "threads"))
			threads(arg ? atoi(arg) : 4);
		else if (!strcmp(cmd, "fault")) {
			volatile int *volatile p = NULL;   /* the kernel reports it; only we die */
			*p = 1;
		}
		else if (!strcmp(cmd, "exit"))
			return arg ? atoi(arg) : 0;
		else
			printf("%s: unknown command (try help)\n", cmd);
	}
}
