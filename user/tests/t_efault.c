/* t_efault - bad pointers to system calls return EFAULT; the process
 * survives every one of them. */
#define _GNU_SOURCE
#include <unistd.h>
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/resource.h>
#include "../lib/tap.h"

static long e(long r) { return r == -1 ? errno : 0; }

int main(void)
{
	void *gone = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(gone, 4096);
	void *bad[] = { (void *)1, (void *)0xffff800000000000UL, (void *)0x8000000000000000UL, gone };
	const int nbad = 4;
	plan(15 * nbad);
	for (int i = 0; i < nbad; i++) {
		void *b = bad[i];
		ok(e(syscall(SYS_write, 1, b, 10)) == EFAULT, "write from %p", b);
		struct iovec v = { b, 10 };
		ok(e(syscall(SYS_writev, 1, b, 1)) == EFAULT && e(syscall(SYS_writev, 1, &v, 1)) == EFAULT,
		   "writev with a bad iovec / base %p", b);
		ok(e(syscall(SYS_clock_gettime, 1, b)) == EFAULT, "clock_gettime into %p", b);
		ok(e(syscall(SYS_gettimeofday, b, NULL)) == EFAULT, "gettimeofday into %p", b);
		ok(e(syscall(SYS_nanosleep, b, NULL)) == EFAULT, "nanosleep from %p", b);
		ok(e(syscall(SYS_clock_nanosleep, 1, 0, b, NULL)) == EFAULT, "clock_nanosleep from %p", b);
		ok(e(syscall(SYS_uname, b)) == EFAULT, "uname into %p", b);
		ok(e(syscall(SYS_rt_sigaction, SIGUSR1, b, NULL, 8)) == EFAULT, "rt_sigaction from %p", b);
		ok(e(syscall(SYS_rt_sigprocmask, SIG_BLOCK, b, NULL, 8)) == EFAULT, "rt_sigprocmask from %p", b);
		ok(e(syscall(SYS_sigaltstack, b, NULL)) == EFAULT, "sigaltstack from %p", b);
		ok(e(syscall(SYS_getrusage, 0, b)) == EFAULT, "getrusage into %p", b);
		ok(e(syscall(SYS_prlimit64, 0, RLIMIT_STACK, NULL, b)) == EFAULT, "prlimit64 into %p", b);
		ok(e(syscall(SYS_sched_getaffinity, 0, 8, b)) == EFAULT, "sched_getaffinity into %p", b);
		ok(e(syscall(SYS_arch_prctl, 0x1003, b)) == EFAULT, "arch_prctl(ARCH_GET_FS) into %p", b);
		ok(e(syscall(SYS_rt_sigpending, b, 8)) == EFAULT, "rt_sigpending into %p", b);
	}
	return done();
}
