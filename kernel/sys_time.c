/*
 * sys_time.c - clocks and sleeping: clock_gettime, clock_getres,
 * gettimeofday, nanosleep, clock_nanosleep, getrusage.
 *
 * CLOCK_MONOTONIC is the TSC clock (<weft/time.h>); CLOCK_REALTIME adds
 * the wall-clock time read from the CMOS RTC at boot (time_rtc_epoch).
 * The CPU-time clocks count what the scheduler charges each thread,
 * including the running stretch not yet charged.
 */
#include <weft/syscall.h>
#include <weft/process.h>
#include <weft/uaccess.h>
#include <weft/time.h>
#include <weft/errno.h>
#include <weft/signal.h>
#include <weft/vm.h>

#define CLOCK_REALTIME           0
#define CLOCK_MONOTONIC          1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID  3
#define CLOCK_MONOTONIC_RAW      4
#define CLOCK_REALTIME_COARSE    5
#define CLOCK_MONOTONIC_COARSE   6
#define CLOCK_BOOTTIME           7
#define TIMER_ABSTIME            1

struct k_timespec {
	int64_t sec, nsec;
};

static uint64_t thread_cpu_ns(struct thread *t)
{
	uint64_t ns = t->cpu_time_ns;
	if (t == current())
		ns += clock_monotonic_ns() - t->exec_start_ns;   /* the stretch not yet charged */
	return ns;
}

static uint64_t process_cpu_ns(struct process *p)
{
	unsigned long f = spin_lock_irqsave(&p->lock);
	uint64_t ns = p->dead_cpu_ns;
	struct list_head *pos;
	list_for_each(pos, &p->threads)
		ns += thread_cpu_ns(container_of(pos, struct thread, proc_link));
	spin_unlock_irqrestore(&p->lock, f);
	return ns;
}

/* ns on clk, or -EINVAL for a clock weft does not have. */
static int64_t clock_read(uint64_t clk)
{
	switch (clk) {
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
		return (int64_t)(clock_monotonic_ns() + time_rtc_epoch_ns);
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:
		return (int64_t)clock_monotonic_ns();
	case CLOCK_PROCESS_CPUTIME_ID:
		return (int64_t)process_cpu_ns(current_process());
	case CLOCK_THREAD_CPUTIME_ID:
		return (int64_t)thread_cpu_ns(current());
	default:
		return -EINVAL;
	}
}

static int put_timespec(uint64_t uts, uint64_t ns)
{
	struct k_timespec ts = { (int64_t)(ns / NSEC_PER_SEC), (int64_t)(ns % NSEC_PER_SEC) };
	return copy_to_user(uts, &ts, sizeof ts);
}

/* A user timespec as ns: -EFAULT, -EINVAL, or >= 0. */
static int64_t get_timespec(uint64_t uts)
{
	struct k_timespec ts;
	if (copy_from_user(&ts, uts, sizeof ts) < 0)
		return -EFAULT;
	if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= (int64_t)NSEC_PER_SEC)
		return -EINVAL;
	if ((uint64_t)ts.sec > (1ULL << 62) / NSEC_PER_SEC)
		return (int64_t)(1ULL << 62);       /* "forever" */
	return ts.sec * (int64_t)NSEC_PER_SEC + ts.nsec;
}

long sys_clock_gettime(uint64_t clk, uint64_t uts)
{
	int64_t ns = clock_read(clk);
	if (ns < 0)
		return ns;
	return put_timespec(uts, (uint64_t)ns) < 0 ? -EFAULT : 0;
}

long sys_clock_getres(uint64_t clk, uint64_t uts)
{
	if (clock_read(clk) < 0)
		return -EINVAL;
	return uts && put_timespec(uts, 1) < 0 ? -EFAULT : 0;
}

long sys_gettimeofday(uint64_t utv, uint64_t utz)
{
	uint64_t ns = clock_monotonic_ns() + time_rtc_epoch_ns;
	struct {
		int64_t sec, usec;
	} tv = { (int64_t)(ns / NSEC_PER_SEC), (int64_t)(ns % NSEC_PER_SEC / 1000) };
	if (utv && copy_to_user(utv, &tv, sizeof tv) < 0)
		return -EFAULT;
	if (utz && clear_user(utz, 8) < 0)
		return -EFAULT;
	return 0;
}

/* Sleep until the monotonic deadline; on a signal, -EINTR (a handler will
 * run: nanosleep is never restarted with the full time). */
static long sleep_until_deadline(uint64_t deadline, uint64_t urem, bool rem_ok)
{
	if (thread_sleep_until_interruptible(deadline) == 0)
		return 0;
	uint64_t now = clock_monotonic_ns();
	if (rem_ok && urem && put_timespec(urem, deadline > now ? deadline - now : 0) < 0)
		return -EFAULT;
	return -EINTR;
}

long sys_nanosleep(uint64_t ureq, uint64_t urem)
{
	int64_t ns = get_timespec(ureq);
	if (ns < 0)
		return ns;
	return sleep_until_deadline(clock_monotonic_ns() + (uint64_t)ns, urem, true);
}

long sys_clock_nanosleep(uint64_t clk, uint64_t flags, uint64_t ureq, uint64_t urem)
{
	if (clk != CLOCK_REALTIME && clk != CLOCK_MONOTONIC && clk != CLOCK_BOOTTIME)
		return clk == CLOCK_THREAD_CPUTIME_ID ? -EINVAL : -EOPNOTSUPP;
	int64_t ns = get_timespec(ureq);
	if (ns < 0)
		return -ns == EFAULT ? -EFAULT : -EINVAL;
	uint64_t deadline;
	if (flags & TIMER_ABSTIME) {
		uint64_t offset = clk == CLOCK_REALTIME ? time_rtc_epoch_ns : 0;
		deadline = (uint64_t)ns > offset ? (uint64_t)ns - offset : 0;
	} else {
		deadline = clock_monotonic_ns() + (uint64_t)ns;
	}
	long r = sleep_until_deadline(deadline, urem, !(flags & TIMER_ABSTIME));
	return r == -EINTR ? -EINTR : r;   /* clock_nanosleep returns the error itself */
}

struct k_rusage {
	int64_t utime_sec, utime_usec, stime_sec, stime_usec;
	int64_t rest[14];
};

long sys_getrusage(uint64_t who, uint64_t uru)
{
	struct k_rusage ru = { 0 };
	uint64_t ns;
	if (who == 0)
		ns = process_cpu_ns(current_process());
	else if (who == 1)
		ns = thread_cpu_ns(current());
	else if (who == (uint64_t)-1)
		ns = 0;                           /* no children yet */
	else
		return -EINVAL;
	/* All CPU time counts as user time: the split is not measured. */
	ru.utime_sec = (int64_t)(ns / NSEC_PER_SEC);
	ru.utime_usec = (int64_t)(ns % NSEC_PER_SEC / 1000);
	ru.rest[4] = current_process()->mm ? (int64_t)current_process()->mm->faults : 0; /* ru_minflt */
	return copy_to_user(uru, &ru, sizeof ru) < 0 ? -EFAULT : 0;
}
