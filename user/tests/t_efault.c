/* t_efault - every system call that takes a user pointer checks it: given
 * an address the process may not use, it fails with EFAULT instead of
 * faulting in the kernel, crashing, or touching kernel memory. Bad
 * pointers: near NULL, the kernel half (0xffff800000000000), non-canonical
 * (0x8000000000000000), an unmapped page, an object straddling the end of
 * a mapping, and (for outputs) a read-only page. Raw syscall() is used so
 * libc never touches the pointer first. Afterwards nothing changed that a
 * failed call should not have changed, and the process is still alive. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

#define ARCH_GET_FS 0x1003
#define FUTEX_WAIT_PRIVATE 128

enum kind { LOW, KERNEL, NONCANON, UNMAPPED, STRADDLE, RDONLY, NKINDS };
static const char *const kind_name[NKINDS] = {
	"near NULL", "kernel", "non-canonical", "unmapped", "straddling", "read-only"
};
#define ALL_BAD (1 << LOW | 1 << KERNEL | 1 << NONCANON | 1 << UNMAPPED)
#define S (1 << STRADDLE)     /* an object the kernel copies whole: test the page edge */
#define W (1 << RDONLY)       /* the kernel writes here: a read-only page must fail */
#define A4 (1 << NKINDS)      /* must be 4-byte aligned (futex words): near NULL = 4 */
#define TTY (1 << (NKINDS + 1)) /* ENOTTY is also right (stdout may not be a terminal) */

static char *page_end;        /* the end of a mapped page followed by a hole */
static char *rdonly_page;
static const struct timespec zero_ts;
static int futex_word;

/* --- one function per call; p is the bad pointer ------------------------ */
static long c_write(void *p) { return syscall(SYS_write, 1, p, 16); }
static long c_writev_iov(void *p) { return syscall(SYS_writev, 1, p, 1); }
static long c_writev_base(void *p)
{
	struct iovec iov = { p, 16 };
	return syscall(SYS_writev, 1, &iov, 1);
}
static long c_clock_gettime(void *p) { return syscall(SYS_clock_gettime, CLOCK_MONOTONIC, p); }
static long c_clock_getres(void *p) { return syscall(SYS_clock_getres, CLOCK_MONOTONIC, p); }
static long c_gettimeofday_tv(void *p) { return syscall(SYS_gettimeofday, p, NULL); }
static long c_gettimeofday_tz(void *p)
{
	struct timeval tv;
	return syscall(SYS_gettimeofday, &tv, p);
}
static long c_nanosleep(void *p) { return syscall(SYS_nanosleep, p, NULL); }
static long c_clock_nanosleep(void *p)
{
	return syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, p, NULL);
}
static long c_uname(void *p) { return syscall(SYS_uname, p); }
static long c_sigaction_act(void *p) { return syscall(SYS_rt_sigaction, SIGUSR1, p, NULL, 8); }
static long c_sigaction_old(void *p) { return syscall(SYS_rt_sigaction, SIGUSR1, NULL, p, 8); }
static long c_sigprocmask_set(void *p) { return syscall(SYS_rt_sigprocmask, SIG_BLOCK, p, NULL, 8); }
static long c_sigprocmask_old(void *p) { return syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, p, 8); }
static long c_sigpending(void *p) { return syscall(SYS_rt_sigpending, p, 8); }
static long c_sigtimedwait_set(void *p) { return syscall(SYS_rt_sigtimedwait, p, NULL, &zero_ts, 8); }
static long c_sigtimedwait_ts(void *p)
{
	uint64_t set = 1ull << (SIGUSR2 - 1);
	return syscall(SYS_rt_sigtimedwait, &set, NULL, p, 8);
}
static long c_sigaltstack_new(void *p) { return syscall(SYS_sigaltstack, p, NULL); }
static long c_sigaltstack_old(void *p) { return syscall(SYS_sigaltstack, NULL, p); }
static long c_getrusage(void *p) { return syscall(SYS_getrusage, RUSAGE_SELF, p); }
static long c_prlimit_new(void *p) { return syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, p, NULL); }
static long c_prlimit_old(void *p) { return syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, p); }
static long c_getrlimit(void *p) { return syscall(SYS_getrlimit, RLIMIT_NOFILE, p); }
static long c_setrlimit(void *p) { return syscall(SYS_setrlimit, RLIMIT_NOFILE, p); }
static long c_getaffinity(void *p) { return syscall(SYS_sched_getaffinity, 0, 8, p); }
static long c_setaffinity(void *p) { return syscall(SYS_sched_setaffinity, 0, 8, p); }
static long c_arch_prctl(void *p) { return syscall(SYS_arch_prctl, ARCH_GET_FS, p); }
static long c_futex_addr(void *p) { return syscall(SYS_futex, p, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0); }
static long c_futex_timeout(void *p)
{
	return syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, p, NULL, 0);
}
static long c_prctl_get(void *p) { return syscall(SYS_prctl, PR_GET_NAME, p, 0, 0, 0); }
static long c_prctl_set(void *p) { return syscall(SYS_prctl, PR_SET_NAME, p, 0, 0, 0); }
static long c_robust_head(void *p)
{
	size_t len;
	return syscall(SYS_get_robust_list, 0, p, &len);
}
static long c_robust_len(void *p)
{
	void *head;
	return syscall(SYS_get_robust_list, 0, &head, p);
}
static long c_ioctl_winsz(void *p) { return syscall(SYS_ioctl, 1, TIOCGWINSZ, p); }

static const struct call {
	const char *name;
	long (*fn)(void *);
	unsigned kinds;
} calls[] = {
	{ "write(buf)", c_write, ALL_BAD },
	{ "writev(iov)", c_writev_iov, ALL_BAD | S },
	{ "writev(iov[0].iov_base)", c_writev_base, ALL_BAD },
	{ "clock_gettime(ts)", c_clock_gettime, ALL_BAD | S | W },
	{ "clock_getres(ts)", c_clock_getres, ALL_BAD | S | W },
	{ "gettimeofday(tv)", c_gettimeofday_tv, ALL_BAD | S | W },
	{ "gettimeofday(tz)", c_gettimeofday_tz, ALL_BAD | S | W },
	{ "nanosleep(req)", c_nanosleep, ALL_BAD | S },
	{ "clock_nanosleep(req)", c_clock_nanosleep, ALL_BAD | S },
	{ "uname(buf)", c_uname, ALL_BAD | S | W },
	{ "rt_sigaction(act)", c_sigaction_act, ALL_BAD | S },
	{ "rt_sigaction(oldact)", c_sigaction_old, ALL_BAD | S | W },
	{ "rt_sigprocmask(set)", c_sigprocmask_set, ALL_BAD | S },
	{ "rt_sigprocmask(oldset)", c_sigprocmask_old, ALL_BAD | S | W },
	{ "rt_sigpending(set)", c_sigpending, ALL_BAD | S | W },
	{ "rt_sigtimedwait(set)", c_sigtimedwait_set, ALL_BAD | S },
	{ "rt_sigtimedwait(timeout)", c_sigtimedwait_ts, ALL_BAD | S },
	{ "sigaltstack(ss)", c_sigaltstack_new, ALL_BAD | S },
	{ "sigaltstack(old_ss)", c_sigaltstack_old, ALL_BAD | S | W },
	{ "getrusage(usage)", c_getrusage, ALL_BAD | S | W },
	{ "prlimit64(new)", c_prlimit_new, ALL_BAD | S },
	{ "prlimit64(old)", c_prlimit_old, ALL_BAD | S | W },
	{ "getrlimit(rlim)", c_getrlimit, ALL_BAD | S | W },
	{ "setrlimit(rlim)", c_setrlimit, ALL_BAD | S },
	{ "sched_getaffinity(mask)", c_getaffinity, ALL_BAD | S | W },
	{ "sched_setaffinity(mask)", c_setaffinity, ALL_BAD | S },
	{ "arch_prctl(ARCH_GET_FS, addr)", c_arch_prctl, ALL_BAD | S | W },
	{ "futex(uaddr, FUTEX_WAIT)", c_futex_addr, ALL_BAD | A4 },
	{ "futex(FUTEX_WAIT, timeout)", c_futex_timeout, ALL_BAD | S },
	{ "prctl(PR_GET_NAME, name)", c_prctl_get, ALL_BAD | S | W },
	{ "prctl(PR_SET_NAME, name)", c_prctl_set, ALL_BAD | S },
	{ "get_robust_list(head_ptr)", c_robust_head, ALL_BAD | S | W },
	{ "get_robust_list(len_ptr)", c_robust_len, ALL_BAD | S | W },
	{ "ioctl(1, TIOCGWINSZ, ws)", c_ioctl_winsz, ALL_BAD | S | W | TTY },
};
#define NCALLS (sizeof calls / sizeof calls[0])

static void *bad_pointer(enum kind k, unsigned flags, void *unmapped)
{
	switch (k) {
	case LOW: return (void *)(uintptr_t)((flags & A4) ? 4 : 1);
	case KERNEL: return (void *)0xffff800000000000ull;
	case NONCANON: return (void *)0x8000000000000000ull;
	case UNMAPPED: return unmapped;
	case STRADDLE: return page_end - 4;   /* 4 bytes readable, then the hole */
	default: return rdonly_page;
	}
}

/* r is a raw syscall()'s result: -1 with errno `want`, or 0 if want is 0. */
static void expect_errno(long r, int want, const char *what)
{
	int e = r == -1 ? errno : 0;
	ok(want ? r == -1 && e == want : r == 0, "%s (%ld, errno %d)", what, r, e);
}

int main(void)
{
	int points = 0;
	for (size_t i = 0; i < NCALLS; i++)
		for (int k = 0; k < NKINDS; k++)
			points += !!(calls[i].kinds & (1u << k));
	plan(points + 4 + 6);

	/* Three pages: read-write (full of 'A', so no string ends in it), a
	 * hole, read-only. page_end is the edge of the first. No mmap follows,
	 * so nothing can land in the hole. */
	char *three = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(three, 'A', 4096);
	munmap(three + 4096, 4096);
	mprotect(three + 8192, 4096, PROT_READ);
	page_end = three + 4096;
	void *unmapped = three + 4096;
	rdonly_page = three + 8192;

	char name_before[16] = { 0 }, name_after[16] = { 0 };
	prctl(PR_GET_NAME, name_before);
	struct rlimit lim_before, lim_after;
	getrlimit(RLIMIT_NOFILE, &lim_before);

	for (size_t i = 0; i < NCALLS; i++) {
		for (int k = 0; k < NKINDS; k++) {
			if (!(calls[i].kinds & (1u << k)))
				continue;
			void *p = bad_pointer(k, calls[i].kinds, unmapped);
			errno = 0;
			long r = calls[i].fn(p);
			int e = errno;
			int good = r == -1 && (e == EFAULT || ((calls[i].kinds & TTY) && e == ENOTTY));
			ok(good, "%s with a %s pointer %p: EFAULT%s (%ld, errno %d)", calls[i].name,
			   kind_name[k], p, (calls[i].kinds & TTY) ? " or ENOTTY" : "", r, e);
		}
	}

	/* NULL itself: the old rlimit calls always copy (NULL is EFAULT, after
	 * the resource check for getrlimit, before it for setrlimit), while
	 * prlimit64 takes NULL as "not this one". */
	errno = 0;
	expect_errno(syscall(SYS_getrlimit, RLIMIT_NOFILE, NULL), EFAULT,
		     "getrlimit(RLIMIT_NOFILE, NULL): EFAULT");
	expect_errno(syscall(SYS_getrlimit, 999, NULL), EINVAL,
		     "getrlimit(999, NULL): EINVAL, the resource is checked first");
	expect_errno(syscall(SYS_setrlimit, RLIMIT_NOFILE, NULL), EFAULT,
		     "setrlimit(RLIMIT_NOFILE, NULL): EFAULT");
	expect_errno(syscall(SYS_setrlimit, 999, NULL), EFAULT,
		     "setrlimit(999, NULL): EFAULT, the limit is read first");
	expect_errno(syscall(SYS_prlimit64, 0, 999, (void *)0xffff800000000000ull, NULL), EFAULT,
		     "prlimit64(0, 999, kernel pointer, NULL): EFAULT, the new limit is read first");
	expect_errno(syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, NULL), 0,
		     "prlimit64(0, RLIMIT_NOFILE, NULL, NULL): 0, NULL means neither");
	struct sigaction now;
	sigaction(SIGUSR1, NULL, &now);
	ok(now.sa_handler == SIG_DFL, "the failed rt_sigaction calls left SIGUSR1 alone");
	prctl(PR_GET_NAME, name_after);
	ok(!memcmp(name_before, name_after, 16), "the failed PR_SET_NAME calls left the name (%s)",
	   name_after);
	getrlimit(RLIMIT_NOFILE, &lim_after);
	ok(lim_before.rlim_cur == lim_after.rlim_cur && lim_before.rlim_max == lim_after.rlim_max,
	   "the failed prlimit64 and setrlimit calls left RLIMIT_NOFILE alone");
	ok(1, "still alive after %d bad pointers", points);
	return done();
}
