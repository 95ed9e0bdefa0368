/* t_misc - the small system calls: ids, uname, clocks, limits, names,
 * affinity, unknown numbers, writev. */
#define _GNU_SOURCE
#include <unistd.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <sched.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/ioctl.h>
#include "../lib/tap.h"

static long ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

int main(void)
{
	plan(16);
	ok(getpid() > 0 && syscall(SYS_gettid) == getpid() && getppid() >= 0, "pid %d, tid, ppid", getpid());
	struct utsname u;
	ok(uname(&u) == 0 && u.sysname[0] && !strcmp(u.machine, "x86_64"), "uname: %s %s", u.sysname, u.machine);
	long m0 = ns(CLOCK_MONOTONIC), r0 = ns(CLOCK_REALTIME), c0 = ns(CLOCK_PROCESS_CPUTIME_ID),
	     t0 = ns(CLOCK_THREAD_CPUTIME_ID);
	for (volatile long i = 0; i < 200000; i++)
		;
	ok(ns(CLOCK_MONOTONIC) > m0, "CLOCK_MONOTONIC advances");
	ok(r0 > 1600000000L * 1000000000L, "CLOCK_REALTIME is after 2020 (%ld s)", r0 / 1000000000L);
	ok(ns(CLOCK_PROCESS_CPUTIME_ID) > c0 && ns(CLOCK_THREAD_CPUTIME_ID) > t0, "CPU-time clocks advance");
	struct timespec res;
	ok(clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec > 0, "clock_getres");
	struct timeval tv;
	ok(gettimeofday(&tv, NULL) == 0 && tv.tv_sec > 1600000000L, "gettimeofday");
	struct rusage ru;
	ok(getrusage(RUSAGE_SELF, &ru) == 0 && getrusage(RUSAGE_THREAD, &ru) == 0, "getrusage SELF, THREAD");
	struct rlimit rl;
	ok(getrlimit(RLIMIT_STACK, &rl) == 0 && getrlimit(RLIMIT_DATA, &rl) == 0 &&
	   getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 0, "prlimit64 STACK, DATA, NOFILE");
	char name[16] = { 0 };
	ok(prctl(PR_SET_NAME, "weft-test") == 0 && prctl(PR_GET_NAME, name) == 0 &&
	   !strcmp(name, "weft-test"), "PR_SET_NAME / PR_GET_NAME round trip (%s)", name);
	cpu_set_t set;
	CPU_ZERO(&set);
	ok(sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) >= 1 &&
	   sched_setaffinity(0, sizeof set, &set) == 0, "affinity: %d CPU(s)", CPU_COUNT(&set));
	ok(sched_yield() == 0, "sched_yield");
	ok(getuid() == geteuid() && getgid() == getegid(), "uid/euid and gid/egid agree");
	ok(syscall(1000) == -1 && errno == ENOSYS, "an unknown system call is ENOSYS");
	struct winsize ws;
	int r = ioctl(1, TIOCGWINSZ, &ws);
	ok(r == 0 || errno == ENOTTY, "TIOCGWINSZ answers or says ENOTTY");
	struct iovec v[3] = { { "# wr", 4 }, { "itev", 4 }, { " ok\n", 4 } };
	ok(writev(1, v, 3) == 12, "writev of three pieces");
	return done();
}
