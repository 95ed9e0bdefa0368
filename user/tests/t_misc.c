/* t_misc - the small system calls, each with the property a program relies
 * on: process and thread IDs; uname; clocks that move forward at sensible
 * rates and have a resolution; gettimeofday agreeing with CLOCK_REALTIME;
 * CPU-time clocks and getrusage counting our work; resource limits;
 * thread names; CPU affinity; consistent credentials; ENOSYS for an
 * unknown system call; TIOCGWINSZ; write and writev returning counts. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

static int64_t ns(const struct timespec *t) { return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec; }

static int64_t clock_ns(clockid_t c)
{
	struct timespec t = { 0, 0 };
	if (syscall(SYS_clock_gettime, c, &t) != 0)   /* the kernel's, not the vDSO's */
		return -1;
	return ns(&t);
}

/* Burn some CPU time: about a million simple operations. */
static volatile uint64_t sink;
static void burn(void)
{
	uint64_t x = 1;
	for (int i = 0; i < 1000000; i++)
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	sink = x;
}

static pid_t thread_tid;
static void *child(void *arg)
{
	(void)arg;
	thread_tid = (pid_t)syscall(SYS_gettid);
	return NULL;
}

int main(void)
{
	plan(26);
	pid_t pid = (pid_t)syscall(SYS_getpid), tid = (pid_t)syscall(SYS_gettid);
	pid_t ppid = (pid_t)syscall(SYS_getppid);
	ok(pid > 0 && tid == pid, "getpid %d = gettid of the main thread", pid);
	ok(ppid >= 0 && ppid != pid, "getppid %d is not us", ppid);
	pthread_t t;
	pthread_create(&t, NULL, child, NULL);
	pthread_join(t, NULL);
	ok(thread_tid > 0 && thread_tid != tid, "another thread has its own TID %d", thread_tid);

	struct utsname u;
	memset(&u, 0, sizeof u);
	ok(syscall(SYS_uname, &u) == 0 && u.sysname[0] && u.release[0] && u.machine[0],
	   "uname: %s %s %s", u.sysname, u.release, u.machine);
	ok(!strcmp(u.machine, "x86_64"), "uname machine is x86_64");

	/* Clocks move forward; the process and thread CPU clocks count work. */
	int64_t r0 = clock_ns(CLOCK_REALTIME), m0 = clock_ns(CLOCK_MONOTONIC);
	int64_t p0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), th0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	burn();
	struct timespec sl = { 0, 2 * 1000 * 1000 };
	nanosleep(&sl, NULL);
	int64_t r1 = clock_ns(CLOCK_REALTIME), m1 = clock_ns(CLOCK_MONOTONIC);
	int64_t p1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), th1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	ok(r0 > 1500000000LL * 1000000000 && r1 > r0, "CLOCK_REALTIME is after 2017 and advances");
	ok(m0 >= 0 && m1 - m0 >= 2000000 && m1 - m0 < 10LL * 1000000000,
	   "CLOCK_MONOTONIC advanced %lld us over a 2 ms sleep", (long long)(m1 - m0) / 1000);
	ok(p0 >= 0 && p1 > p0, "CLOCK_PROCESS_CPUTIME_ID advances with work (+%lld us)",
	   (long long)(p1 - p0) / 1000);
	ok(th0 >= 0 && th1 > th0 && th1 - th0 <= m1 - m0 + 1000000,
	   "CLOCK_THREAD_CPUTIME_ID advances, no faster than real time (+%lld us)",
	   (long long)(th1 - th0) / 1000);
	struct timespec res = { -1, -1 };
	long gr = syscall(SYS_clock_getres, CLOCK_MONOTONIC, &res);
	ok(gr == 0 && res.tv_sec == 0 && res.tv_nsec > 0 &&
	   res.tv_nsec <= 10000000, "clock_getres(CLOCK_MONOTONIC): %ld ns", res.tv_nsec);
	ok(syscall(SYS_clock_gettime, 12345, &res) == -1 && errno == EINVAL,
	   "clock_gettime of an unknown clock: EINVAL");

	struct timeval tv;
	int64_t rb = clock_ns(CLOCK_REALTIME);
	int g = (int)syscall(SYS_gettimeofday, &tv, NULL);
	int64_t ra = clock_ns(CLOCK_REALTIME);
	int64_t tv_ns = (int64_t)tv.tv_sec * 1000000000 + tv.tv_usec * 1000;
	ok(g == 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000 && tv_ns >= rb - 1000 && tv_ns <= ra,
	   "gettimeofday lies between two CLOCK_REALTIME readings");

	struct rusage ru_self, ru_thread;
	memset(&ru_self, 0, sizeof ru_self);
	long rr = syscall(SYS_getrusage, RUSAGE_SELF, &ru_self);
	ok(rr == 0 &&
	   (ru_self.ru_utime.tv_sec > 0 || ru_self.ru_utime.tv_usec > 0 || ru_self.ru_stime.tv_usec > 0),
	   "getrusage(RUSAGE_SELF): user %ld us, system %ld us", (long)ru_self.ru_utime.tv_usec,
	   (long)ru_self.ru_stime.tv_usec);
	ok(syscall(SYS_getrusage, RUSAGE_THREAD, &ru_thread) == 0 &&
	   ru_thread.ru_utime.tv_sec <= ru_self.ru_utime.tv_sec + 1,
	   "getrusage(RUSAGE_THREAD) works");

	/* Limits: read three; lower and restore the soft NOFILE limit. */
	struct rlimit lim[3];
	int resources[3] = { RLIMIT_STACK, RLIMIT_DATA, RLIMIT_NOFILE }, lim_ok = 1;
	for (int i = 0; i < 3; i++)
		lim_ok &= syscall(SYS_prlimit64, 0, resources[i], NULL, &lim[i]) == 0 &&
			  lim[i].rlim_cur <= lim[i].rlim_max && lim[i].rlim_cur > 0;
	ok(lim_ok, "prlimit64 reads STACK (%llu), DATA, NOFILE (%llu) with cur <= max",
	   (unsigned long long)lim[0].rlim_cur, (unsigned long long)lim[2].rlim_cur);
	struct rlimit lower = { lim[2].rlim_cur > 64 ? 64 : lim[2].rlim_cur, lim[2].rlim_max }, back;
	int set = (int)syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &lower, &back);
	struct rlimit now;
	syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &lim[2], NULL);
	syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &now);
	ok(set == 0 && back.rlim_cur == lim[2].rlim_cur && now.rlim_cur == lim[2].rlim_cur,
	   "prlimit64 sets a limit, returns the old one, and restores it");

	char name[16] = { 0 };
	int s1 = prctl(PR_SET_NAME, "weft-misc-test-with-a-long-name");
	int s2 = prctl(PR_GET_NAME, name);
	ok(s1 == 0 && s2 == 0 && !strcmp(name, "weft-misc-test-"),
	   "PR_SET_NAME/PR_GET_NAME round trip, cut to 15 characters (%s)", name);

	cpu_set_t cpus;
	CPU_ZERO(&cpus);
	long n = syscall(SYS_sched_getaffinity, 0, sizeof cpus, &cpus);
	ok(n > 0 && n % 8 == 0 && CPU_COUNT(&cpus) >= 1,
	   "sched_getaffinity: %d CPU(s), %ld bytes of mask", CPU_COUNT(&cpus), n);
	ok(syscall(SYS_sched_setaffinity, 0, sizeof cpus, &cpus) == 0,
	   "sched_setaffinity to the same set succeeds");
	cpu_set_t none;
	CPU_ZERO(&none);
	ok(syscall(SYS_sched_setaffinity, 0, sizeof none, &none) == -1 && errno == EINVAL,
	   "sched_setaffinity to no CPU at all: EINVAL");
	ok(syscall(SYS_sched_yield) == 0, "sched_yield returns 0");

	/* Root on weft; any user on a test host: only consistency is checked. */
	long uid = syscall(SYS_getuid), euid = syscall(SYS_geteuid);
	long gid = syscall(SYS_getgid), egid = syscall(SYS_getegid);
	ok(uid >= 0 && uid == euid && gid >= 0 && gid == egid && uid == (long)getuid(),
	   "uid %ld = euid, gid %ld = egid", uid, gid);

	ok(syscall(1000) == -1 && errno == ENOSYS, "unknown system call 1000: ENOSYS");

	struct winsize ws = { 0, 0, 0, 0 };
	long w = syscall(SYS_ioctl, 1, TIOCGWINSZ, &ws);
	int werr = errno;
	ok((w == 0 && ws.ws_row < 10000 && ws.ws_col < 10000) || (w == -1 && werr == ENOTTY),
	   "ioctl(1, TIOCGWINSZ): %s", w == 0 ? "a window size" : "ENOTTY");
	if (w == 0)
		diag("window: %u rows x %u columns", ws.ws_row, ws.ws_col);

	static const char msg[] = "# write(2) to fd 1\n";
	ok(syscall(SYS_write, 1, msg, sizeof msg - 1) == (long)sizeof msg - 1,
	   "write to fd 1 returns the byte count");
	struct iovec iov[3] = {
		{ (void *)"# writev: ", 10 }, { (void *)"three ", 6 }, { (void *)"pieces\n", 7 }
	};
	ok(syscall(SYS_writev, 1, iov, 3) == 23, "writev of 3 iovecs returns 23");
	return done();
}
