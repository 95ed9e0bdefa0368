/* fuzz_calls.c - the table of calls the fuzzer issues, one argument
 * generator each. Weights favour what weft implements (kernel/syscall.c's
 * table); every new system call gets an entry here.
 *
 * Host safety (the binary also runs on Linux): every pid/tid argument is
 * ours, 0 or no one's (never a process group, never -1 for kill); prctl,
 * ioctl and rlimit requests come from lists without the dangerous ones;
 * numbers for "unknown call" are >= 1000 in their low 32 bits (Linux
 * ignores the high half) and below x32's range. */
#include <sys/syscall.h>
#include "fuzz.h"
#include "fuzz_out.h"

#define P(w) fz_gen_ptr(w)
#define R(w) (&(w)->rng)
#define BUILD(w, i) ((uint64_t)(uintptr_t)&(w)->build[i])

static void gen_read(struct fz_worker *w, struct fz_args *c)
{
	static const int64_t fds[] = { 0, 0, 1, 2, -1, 3, 1000, 0x7fffffff };
	c->a[0] = (uint64_t)FZ_PICK(R(w), fds);
	c->a[1] = P(w);
	c->a[2] = fz_gen_len(R(w));
	c->bound_ns = c->a[0] == 0 ? 0 : 1;   /* stdin may wait for input */
}

/* fds 1 and 2 are the console (or the harness's capture): only bad
 * buffers or empty writes, so fuzzing never prints. */
static void gen_write(struct fz_worker *w, struct fz_args *c)
{
	static const int64_t fds[] = { 1, 2, 1, 2, 0, -1, 3, 1000 };
	c->a[0] = (uint64_t)FZ_PICK(R(w), fds);
	bool console = c->a[0] == 1 || c->a[0] == 2;
	c->a[1] = console ? fz_gen_kernel_ptr(R(w)) : P(w);
	c->a[2] = console && fz_chance(R(w), 30) ? 0 : fz_gen_len(R(w));
	if (console && c->a[2] == 0)
		c->a[1] = P(w);
}

static void gen_writev(struct fz_worker *w, struct fz_args *c)
{
	static const int64_t fds[] = { 1, 2, 0, -1, 3 };
	c->a[0] = (uint64_t)FZ_PICK(R(w), fds);
	bool console = c->a[0] == 1 || c->a[0] == 2;
	uint64_t *iov = &w->build[0];
	unsigned n = (unsigned)fz_below(R(w), 8);
	for (unsigned i = 0; i < n; i++) {
		iov[2 * i] = console ? fz_gen_kernel_ptr(R(w)) : P(w);
		iov[2 * i + 1] = fz_gen_len(R(w));
		if (console && fz_chance(R(w), 30))
			iov[2 * i + 1] = 0;
	}
	c->a[1] = fz_chance(R(w), 80) ? BUILD(w, 0) : (console ? fz_gen_kernel_ptr(R(w)) : P(w));
	static const uint64_t counts[] = { 0, 1, 1024, 1025, -1UL, 0x80000000 };
	c->a[2] = fz_chance(R(w), 70) ? n : FZ_PICK(R(w), counts);
	if (console && c->a[1] != BUILD(w, 0))
		c->a[2] = fz_below(R(w), 3);
	if (console && c->a[1] == BUILD(w, 0) && c->a[2] > n)
		c->a[2] = n;   /* past n the array is whatever an earlier call left */
}

static void gen_ioctl(struct fz_worker *w, struct fz_args *c)
{
	/* TCGETS, TIOCGWINSZ, FIONREAD, TIOCGPGRP, TCSETS, TIOCSWINSZ, junk:
	 * never TIOCSTI, TIOCSCTTY, TIOCCONS, TIOCSETD, TIOCLINUX. */
	static const uint64_t reqs[] = { 0x5401, 0x5413, 0x5413, 0x541b, 0x540f, 0x5402, 0x5414, 0, -1UL,
					 0x12345 };
	static const int64_t fds[] = { 0, 1, 2, -1, 3 };
	c->a[0] = (uint64_t)FZ_PICK(R(w), fds);
	c->a[1] = FZ_PICK(R(w), reqs);
	c->a[2] = P(w);
}

static void gen_mmap(struct fz_worker *w, struct fz_args *c)
{
	static const uint64_t types[] = { 0x22, 0x22, 0x21, 0x02, 0x20, 0x23, 0x0f | 0x20 };   /* PRIVATE|ANON, SHARED|ANON... */
	static const uint64_t extra[] = { 0, 0, 0x10 /* FIXED */, 0x10, 0x100000 /* FIXED_NOREPLACE */,
					  0x100 /* GROWSDOWN */, 0x4000 /* NORESERVE */, 0x10000 /* NONBLOCK */,
					  0x80000000 };
	uint64_t flags = FZ_PICK(R(w), types) | FZ_PICK(R(w), extra);
	bool fixed = flags & (0x10 | 0x100000);
	c->a[0] = fixed || fz_chance(R(w), 50) ? fz_gen_mm_addr(w) : (fz_chance(R(w), 50) ? 0 : fz_gen_int(R(w)));
	if (!fixed && c->a[0] >= 0x400000 && c->a[0] < FZ_ARENA_BASE)
		c->a[0] = 0;   /* a hint only; keep it off our own pages anyway */
	c->a[1] = fz_chance(R(w), 70) ? fz_gen_mm_len(w, c->a[0]) : fz_gen_len(R(w));
	/* MAP_FIXED replaces what is there: never past the room. (Huge
	 * lengths, refused by every kernel, only come from fz_gen_mm_len.) */
	uint64_t room = fz_mm_room(w, c->a[0]);
	if (fixed && c->a[0] < (1UL << 47) && c->a[1] > room && c->a[1] < (1UL << 47))
		c->a[1] = room;
	/* A hint is rounded down to a page and honoured if free (Linux on
	 * x86-64, weft): one near USER_TOP (fz_gen_bad_ptr's "last page"
	 * values) would map the top user page, and those "bad" pointers
	 * would then read and write memory - a clone's PARENT_SETTID wrote
	 * a tid there, which a sigprocmask then read as its set, blocking
	 * SIGSEGV. The top page stays unmapped: such a hint becomes 0. */
	uint64_t hint = c->a[0] & ~(FZ_PAGE - 1), hlen = (c->a[1] + FZ_PAGE - 1) & ~(FZ_PAGE - 1);
	if (!fixed && hint < FZ_USER_TOP && c->a[1] < FZ_USER_TOP && hint + hlen > FZ_USER_TOP - FZ_PAGE)
		c->a[0] = 0;
	c->a[2] = fz_chance(R(w), 80) ? fz_below(R(w), 8) : fz_gen_int(R(w));   /* PROT_* */
	c->a[3] = flags;
	static const int64_t fds[] = { -1, -1, 0, 3 };
	c->a[4] = (uint64_t)FZ_PICK(R(w), fds);
	c->a[5] = fz_chance(R(w), 80) ? 0 : fz_gen_int(R(w));
}

static long run_mmap(struct fz_worker *w, struct fz_args *c)
{
	long r = fz_syscall6(SYS_mmap, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5]);
	if (r > 0 && (uint64_t)r < (1UL << 47))
		fz_note_map(w, (uint64_t)r, (c->a[1] + FZ_PAGE - 1) & ~(FZ_PAGE - 1));
	return r;
}

static void gen_mm_range(struct fz_worker *w, struct fz_args *c)
{
	c->a[0] = fz_gen_mm_addr(w);
	c->a[1] = fz_gen_mm_len(w, c->a[0]);
}

static void gen_mprotect(struct fz_worker *w, struct fz_args *c)
{
	gen_mm_range(w, c);
	static const uint64_t odd[] = { 0x01000000 /* GROWSDOWN */, 0x02000000 /* GROWSUP */, 8, -1UL };
	c->a[2] = fz_chance(R(w), 85) ? fz_below(R(w), 8) : FZ_PICK(R(w), odd);
}

static void gen_madvise(struct fz_worker *w, struct fz_args *c)
{
	gen_mm_range(w, c);
	/* NORMAL..DONTNEED, FREE, REMOVE, DONTFORK, DOFORK, MERGEABLE, junk */
	static const uint64_t adv[] = { 0, 1, 2, 3, 4, 4, 4, 8, 9, 10, 11, 12, 14, 15, 1000, -1UL };
	static const uint64_t mild[] = { 0, 1, 2, 3, 10, 11, 1000 };
	c->a[2] = FZ_PICK(R(w), adv);
	/* Linux applies madvise to every mapping in a range that runs past
	 * user space: over a huge range, DONTNEED/FREE would zero our own
	 * stacks. Such ranges get advice that changes no contents. */
	if (c->a[0] < (1UL << 47) && c->a[1] >= (1UL << 46))
		c->a[2] = FZ_PICK(R(w), mild);
}

static void gen_brk(struct fz_worker *w, struct fz_args *c)
{
	uint64_t cur = (uint64_t)fz_sys(SYS_brk, 0, 0, 0);
	switch (fz_below(R(w), 5)) {
	case 0:
		c->a[0] = 0;
		break;
	case 1:
		c->a[0] = fz_gen_bad_ptr(R(w));
		if (c->a[0] < (1UL << 47))
			c->a[0] = 0;   /* low ones would go below the start */
		break;
	case 2:
		c->a[0] = cur > fz_env.brk0 + FZ_PAGE ? cur - fz_below(R(w), cur - fz_env.brk0) : cur;
		break;
	default:
		c->a[0] = cur + fz_below(R(w), 64 * FZ_PAGE);
		break;
	}
}

#define UNBLOCKABLE (1UL << (FZ_SIG_POKE - 1) | 1UL << 3 | 1UL << 4 | 1UL << 6 | 1UL << 7 | \
		     1UL << 10 | 1UL << 30)   /* USR1, ILL, TRAP, BUS, FPE, SEGV, SYS */

/* Signals: those we send keep a harmless action; others any action, as
 * they are never raised (1, 14, 15, 24..27 are not sent; the kernel raises
 * none of them: no timers, no CPU limit). Never 4, 5, 7, 8, 10, 11. */
static void gen_rt_sigaction(struct fz_worker *w, struct fz_args *c)
{
	static const int64_t sent_sigs[] = { 12, 17, 23, 28, 40, 63 };
	static const int64_t free_sigs[] = { 1, 14, 15, 26, 27, 45, 50, 64 };
	static const int64_t bad_sigs[] = { 0, -1, 65, 1000, 9, 19 };
	unsigned kind = (unsigned)fz_below(R(w), 10);
	int64_t sig = kind < 5 ? FZ_PICK(R(w), sent_sigs) : kind < 8 ? FZ_PICK(R(w), free_sigs)
								  : FZ_PICK(R(w), bad_sigs);
	uint64_t *act = &w->build[64];
	act[0] = (uint64_t)(uintptr_t)fz_nop_handler;
	act[1] = 0x04000000 | (fz_next(R(w)) & (0x10000000 | 0x40000000 | 4 | 1 | 2));
	if (fz_chance(R(w), 1))
		act[1] |= 0x08000000;   /* SA_ONSTACK: with a bad sigaltstack, delivery kills us */
	act[2] = (uint64_t)(uintptr_t)fz_restore_rt;
	act[3] = fz_next(R(w)) & ~UNBLOCKABLE;   /* blocked while the handler runs */
	if (kind < 5) {
		if (fz_chance(R(w), 30))
			act[0] = 1;   /* SIG_IGN */
		if ((sig == 17 || sig == 23 || sig == 28) && fz_chance(R(w), 30))
			act[0] = 0;   /* SIG_DFL: ignore */
	} else {
		if (fz_chance(R(w), 50))
			act[0] = fz_chance(R(w), 50) ? fz_gen_bad_ptr(R(w)) : fz_below(R(w), 3);
		if (fz_chance(R(w), 30))
			act[1] = fz_next(R(w));
	}
	c->a[0] = (uint64_t)sig;
	c->a[1] = fz_chance(R(w), 70) ? BUILD(w, 64) : (kind < 5 ? fz_chance(R(w), 50) ? 0 : fz_gen_bad_ptr(R(w)) : fz_gen_in_ptr(w));
	c->a[2] = fz_chance(R(w), 50) ? 0 : P(w);
	c->a[3] = fz_chance(R(w), 90) ? 8 : fz_gen_int(R(w));
}

/* A signal set that never blocks SIGUSR1 (the supervisor's poke) or a
 * fault signal (a blocked fault kills: the touch probes need them). */
static uint64_t safe_set(struct fz_worker *w, int i)
{
	w->build[i] = fz_next(R(w)) & ~UNBLOCKABLE;
	if (fz_chance(R(w), 30))
		w->build[i] = 0;
	return fz_chance(R(w), 85) ? BUILD(w, i) : fz_chance(R(w), 50) ? 0 : fz_gen_bad_ptr(R(w));
}

static void gen_rt_sigprocmask(struct fz_worker *w, struct fz_args *c)
{
	static const int64_t hows[] = { 0, 1, 2, 0, 1, 2, 3, -1 };
	c->a[0] = (uint64_t)FZ_PICK(R(w), hows);
	c->a[1] = safe_set(w, 72);
	c->a[2] = fz_chance(R(w), 50) ? 0 : P(w);
	c->a[3] = fz_chance(R(w), 90) ? 8 : fz_gen_int(R(w));
}

/* The call, then a check of what it must not have done: block a fault
 * signal or the poke (UNBLOCKABLE). A probe's fault would then kill the
 * process with nothing to say why; this says which call set the mask
 * (its set came from memory we did not expect to be readable, or the
 * kernel got the mask wrong), then ends the process with status 6. */
static long run_rt_sigprocmask(struct fz_worker *w, struct fz_args *c)
{
	long r = fz_syscall6(SYS_rt_sigprocmask, c->a[0], c->a[1], c->a[2], c->a[3], 0, 0);
	uint64_t now = 0;
	fz_syscall6(SYS_rt_sigprocmask, 0 /* BLOCK */, 0, (uint64_t)(uintptr_t)&now, 8, 0, 0);
	if (now & UNBLOCKABLE) {
		struct fz_out o = { .len = 0 };
		fz_out_str(&o, "fuzz: FATAL: worker ");
		fz_out_dec(&o, w->slot);
		fz_out_str(&o, "'s signal mask is ");
		fz_out_hex(&o, now);
		fz_out_str(&o, " (it blocks a fault signal or the poke) after ");
		fz_out_call(&o, w->cur, c);
		fz_out_str(&o, " = ");
		fz_out_dec(&o, r);
		fz_out_str(&o, "\n");
		fz_out_flush(&o);
		fz_sys(SYS_exit_group, 6, 0, 0);
	}
	return r;
}

static void gen_rt_sigpending(struct fz_worker *w, struct fz_args *c)
{
	c->a[0] = P(w);
	c->a[1] = fz_chance(R(w), 80) ? 8 : fz_gen_int(R(w));
}

static void gen_rt_sigtimedwait(struct fz_worker *w, struct fz_args *c)
{
	c->a[0] = safe_set(w, 73);
	c->a[1] = fz_chance(R(w), 50) ? 0 : P(w);
	c->a[2] = fz_chance(R(w), 20) ? 0 : fz_gen_timespec(w, 0, &c->bound_ns);
	if (c->a[2] == 0)
		c->bound_ns = 0;
	c->a[3] = fz_chance(R(w), 90) ? 8 : fz_gen_int(R(w));
}

static void gen_sigaltstack(struct fz_worker *w, struct fz_args *c)
{
	uint64_t *ss = &w->build[80];
	static const uint64_t flags[] = { 0, 0, 1, 2, 2, 0x80000000, 0x80000002, 5, -1UL };
	static const uint64_t sizes[] = { 0, 2047, 2048, 8192, 65536, -1UL };
	if (fz_chance(R(w), 50)) {
		/* The worker's own: a handler with SA_ONSTACK can run there. */
		ss[0] = (uint64_t)(uintptr_t)w->altstack;
		ss[1] = fz_chance(R(w), 80) ? 0 : 0x80000000;   /* SS_AUTODISARM */
		ss[2] = sizeof w->altstack;
	} else {
		ss[0] = fz_chance(R(w), 60) ? fz_gen_mm_addr(w) : P(w);
		ss[1] = FZ_PICK(R(w), flags);
		ss[2] = fz_chance(R(w), 50) ? FZ_PICK(R(w), sizes) : fz_gen_len(R(w));
	}
	c->a[0] = fz_chance(R(w), 75) ? BUILD(w, 80) : fz_chance(R(w), 50) ? 0 : fz_gen_bad_ptr(R(w));
	c->a[1] = fz_chance(R(w), 50) ? 0 : P(w);
}

static void gen_kill(struct fz_worker *w, struct fz_args *c)
{
	static const int64_t pids[] = { 0x7ffffff0, -2147483648LL };
	c->a[0] = fz_chance(R(w), 70) ? (uint64_t)fz_env.pid : (uint64_t)FZ_PICK(R(w), pids);
	c->a[1] = (uint64_t)fz_gen_sent_signal(R(w));
}

static void gen_tkill(struct fz_worker *w, struct fz_args *c)
{
	c->a[0] = fz_gen_own_tid(w);
	c->a[1] = (uint64_t)fz_gen_sent_signal(R(w));
}

static void gen_tgkill(struct fz_worker *w, struct fz_args *c)
{
	c->a[0] = fz_chance(R(w), 80) ? (uint64_t)fz_env.pid : fz_gen_own_tid(w);
	c->a[1] = fz_gen_own_tid(w);
	c->a[2] = (uint64_t)fz_gen_sent_signal(R(w));
}

static void gen_none(struct fz_worker *w, struct fz_args *c) { (void)w, (void)c; }

static void gen_nanosleep(struct fz_worker *w, struct fz_args *c)
{
	c->a[0] = fz_gen_timespec(w, 0, &c->bound_ns);
	c->a[1] = fz_chance(R(w), 50) ? 0 : P(w);
}

static const int64_t clocks[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, -1, 1000, -2147483648LL };

static void gen_clock_nanosleep(struct fz_worker *w, struct fz_args *c)
{
	c->a[0] = (uint64_t)FZ_PICK(R(w), clocks);
	static const uint64_t flags[] = { 0, 0, 1, 2, -1UL };
	c->a[1] = FZ_PICK(R(w), flags);
	c->a[2] = fz_gen_timespec(w, 0, &c->bound_ns);
	c->a[3] = fz_chance(R(w), 50) ? 0 : P(w);
	if (c->a[1] & 1)
		c->bound_ns = c->bound_ns ? 1 : 0;   /* absolute: a small value is long past */
}

static void gen_clock_get(struct fz_worker *w, struct fz_args *c)
{
	c->a[0] = (uint64_t)FZ_PICK(R(w), clocks);
	c->a[1] = P(w);
}

static void gen_two_ptrs(struct fz_worker *w, struct fz_args *c)
{
	c->a[0] = P(w);
	c->a[1] = P(w);
}

static void gen_one_ptr(struct fz_worker *w, struct fz_args *c) { c->a[0] = P(w); }

static void gen_getrusage(struct fz_worker *w, struct fz_args *c)
{
	static const int64_t who[] = { 0, 1, -1, 2, 1000 };
	c->a[0] = (uint64_t)FZ_PICK(R(w), who);
	c->a[1] = P(w);
}

static void gen_prctl(struct fz_worker *w, struct fz_args *c)
{
	/* SET_NAME, GET_NAME, GET_DUMPABLE, GET_PDEATHSIG, junk */
	static const int64_t opts[] = { 15, 15, 16, 16, 3, 2, 0, -1, 1000 };
	c->a[0] = (uint64_t)FZ_PICK(R(w), opts);
	c->a[1] = fz_gen_in_ptr(w);
	if (c->a[0] == 2 || c->a[0] == 16)
		c->a[1] = P(w);   /* written to */
}

static void gen_arch_prctl(struct fz_worker *w, struct fz_args *c)
{
	static const uint64_t codes[] = { 0x1001, 0x1002, 0x1002, 0x1003, 0x1004, 0, -1UL, 0x1000 };
	c->a[0] = FZ_PICK(R(w), codes);
	c->a[1] = fz_chance(R(w), 50) ? P(w) : fz_gen_int(R(w));
}

static void gen_futex(struct fz_worker *w, struct fz_args *c)
{
	/* WAIT WAKE REQUEUE CMP_REQUEUE WAKE_OP LOCK_PI UNLOCK_PI TRYLOCK_PI
	 * WAIT_BITSET WAKE_BITSET WAIT_REQUEUE_PI CMP_REQUEUE_PI LOCK_PI2 */
	static const uint64_t ops[] = { 0, 0, 1, 1, 1, 3, 4, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13, 2, 14, 1000 };
	uint64_t op = FZ_PICK(R(w), ops);
	if (fz_chance(R(w), 60))
		op |= 128;   /* PRIVATE */
	if (fz_chance(R(w), 10))
		op |= 256;   /* CLOCK_REALTIME */
	int cur = fz_gen_futex_word(w, &c->a[0]);
	c->a[1] = op;
	c->a[2] = fz_chance(R(w), 70) ? (uint64_t)(int64_t)cur : fz_gen_int(R(w));
	uint64_t base = op & 127;
	bool waits = base == 0 || base == 9 || base == 11 || base == 6 || base == 13;
	c->bound_ns = 1;
	bool pi = base == 6 || base == 11 || base == 13;
	if (waits && (pi || base == 9) && fz_chance(R(w), 85)) {
		/* Absolute timeouts: now (on the clock the op uses) plus up to
		 * 2 ms, or a moment ago. PI waits always get one: signals do
		 * not end them, and an owner that never unlocks would keep the
		 * worker forever. */
		int64_t *ts = (int64_t *)&w->build[446];
		int clk = base == 6 || (op & 256) ? 0 /* REALTIME */ : 1 /* MONOTONIC */;
		fz_sys(SYS_clock_gettime, clk, (uint64_t)(uintptr_t)ts, 0);
		int64_t add = fz_chance(R(w), 20) ? -1000000 : (int64_t)fz_below(R(w), 2000000);
		ts[1] += add;
		if (ts[1] >= 1000000000)
			ts[0]++, ts[1] -= 1000000000;
		if (ts[1] < 0)
			ts[0]--, ts[1] += 1000000000;
		c->a[3] = BUILD(w, 446);
		c->bound_ns = 2000001;
	} else if (waits && pi) {
		c->a[3] = fz_chance(R(w), 50) ? fz_gen_bad_ptr(R(w)) : fz_gen_ptr(w);   /* EFAULT, EINVAL */
		if (c->a[3] == 0)
			c->a[3] = 8;
		c->bound_ns = 0;   /* junk may still be a valid far-off time */
	} else if (waits) {
		c->a[3] = fz_chance(R(w), 15) ? 0 : fz_gen_timespec(w, 1, &c->bound_ns);
		if (c->a[3] == 0 || base == 9)
			c->bound_ns = 0;   /* none, or absolute: the value gives no bound */
	} else {
		c->a[3] = fz_chance(R(w), 70) ? fz_below(R(w), 4) : fz_gen_int(R(w));   /* val2 */
	}
	uint64_t a2;
	fz_gen_futex_word(w, &a2);
	c->a[4] = a2;
	c->a[5] = fz_chance(R(w), 50) ? (uint64_t)(int64_t)fz_env.pool[fz_below(R(w), FZ_POOL_WORDS)]
				      : fz_gen_int(R(w));
}

static void gen_robust(struct fz_worker *w, struct fz_args *c)
{
	uint64_t *head = &w->build[96];   /* an empty list: next points at itself */
	head[0] = BUILD(w, 96);
	head[1] = fz_chance(R(w), 50) ? 0 : fz_gen_int(R(w));
	head[2] = fz_chance(R(w), 70) ? 0 : P(w);
	c->a[0] = fz_chance(R(w), 50) ? BUILD(w, 96) : P(w);
	c->a[1] = fz_chance(R(w), 80) ? 24 : fz_gen_int(R(w));
}

static void gen_get_robust(struct fz_worker *w, struct fz_args *c)
{
	c->a[0] = fz_gen_own_tid(w);
	c->a[1] = P(w);
	c->a[2] = P(w);
}

/* RLIMIT_CPU (0) and RLIMIT_FSIZE (1) are never set: they raise signals;
 * nor RLIMIT_NPROC (6): on Linux it would stop new workers. */
static void gen_rlimit(struct fz_worker *w, struct fz_args *c, bool set)
{
	static const uint64_t res[] = { 2, 3, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 1000, -1UL };
	c->a[0] = FZ_PICK(R(w), res);
	if (!set && fz_chance(R(w), 20))
		c->a[0] = FZ_PICK(R(w), ((const uint64_t[]){ 0, 1, 6 }));
	uint64_t *rl = &w->build[104];
	static const uint64_t v[] = { 0, 1, 4096, 1UL << 20, 1UL << 30, -1UL, -2UL };
	rl[0] = FZ_PICK(R(w), v);
	rl[1] = fz_chance(R(w), 70) ? -1UL : FZ_PICK(R(w), v);
	c->a[1] = set && fz_chance(R(w), 80) ? BUILD(w, 104) : P(w);
}

static void gen_getrlimit(struct fz_worker *w, struct fz_args *c) { gen_rlimit(w, c, false); }
static void gen_setrlimit(struct fz_worker *w, struct fz_args *c) { gen_rlimit(w, c, true); }

static void gen_prlimit64(struct fz_worker *w, struct fz_args *c)
{
	static const int64_t pids[] = { 0, 0, 0x7ffffff0, -1 };
	bool set = fz_chance(R(w), 40);
	gen_rlimit(w, c, set);
	c->a[3] = fz_chance(R(w), 50) ? 0 : P(w);
	c->a[2] = set ? c->a[1] : 0;
	c->a[1] = c->a[0];
	c->a[0] = fz_chance(R(w), 30) ? (uint64_t)fz_env.pid : (uint64_t)FZ_PICK(R(w), pids);
}

static void gen_affinity(struct fz_worker *w, struct fz_args *c)
{
	c->a[0] = fz_gen_own_tid(w);
	static const uint64_t lens[] = { 8, 8, 8, 0, 4, 16, 128, 4096, -1UL };
	c->a[1] = FZ_PICK(R(w), lens);
	w->build[112] = fz_chance(R(w), 20) ? 0 : fz_next(R(w));
	c->a[2] = fz_chance(R(w), 70) ? BUILD(w, 112) : P(w);
}

static void gen_ioperm(struct fz_worker *w, struct fz_args *c)
{
	static const uint64_t from[] = { 0, 0x3f8, 0x3ff, 0x80, 0xfff8, 0xffff, 0x10000, -1UL };
	static const uint64_t num[] = { 0, 1, 8, 0x10000, 0x10001, -1UL };
	c->a[0] = FZ_PICK(R(w), from);
	c->a[1] = FZ_PICK(R(w), num);
	c->a[2] = fz_below(R(w), 3);
}

static void gen_unknown(struct fz_worker *w, struct fz_args *c)
{
	static const uint64_t hi[] = { 0, 0, 1UL << 32, 0xffffffff00000000 };
	c->a[0] = FZ_PICK(R(w), hi) | (1000 + fz_below(R(w), 0x3fffffff - 1000));
	for (int i = 1; i < 6; i++)
		c->a[i] = fz_gen_int(R(w));
}

static long run_unknown(struct fz_worker *w, struct fz_args *c)
{
	(void)w;
	return fz_syscall6((long)c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], c->a[5], 0);
}

const struct fz_call fz_calls[] = {
	{ "read", SYS_read, 3, gen_read, NULL },
	{ "write", SYS_write, 4, gen_write, NULL },
	{ "writev", SYS_writev, 3, gen_writev, NULL },
	{ "ioctl", SYS_ioctl, 2, gen_ioctl, NULL },
	{ "mmap", SYS_mmap, 10, gen_mmap, run_mmap },
	{ "mprotect", SYS_mprotect, 6, gen_mprotect, NULL },
	{ "munmap", SYS_munmap, 7, gen_mm_range, NULL },
	{ "madvise", SYS_madvise, 4, gen_madvise, NULL },
	{ "brk", SYS_brk, 3, gen_brk, NULL },
	{ "touch", -1, 8, gen_mm_range, fz_run_touch },
	{ "rt_sigaction", SYS_rt_sigaction, 5, gen_rt_sigaction, NULL },
	{ "rt_sigprocmask", SYS_rt_sigprocmask, 5, gen_rt_sigprocmask, run_rt_sigprocmask },
	{ "rt_sigreturn", SYS_rt_sigreturn, 2, fz_gen_sigreturn, fz_run_sigreturn },
	{ "rt_sigpending", SYS_rt_sigpending, 2, gen_rt_sigpending, NULL },
	{ "rt_sigtimedwait", SYS_rt_sigtimedwait, 3, gen_rt_sigtimedwait, NULL },
	{ "sigaltstack", SYS_sigaltstack, 3, gen_sigaltstack, NULL },
	{ "kill", SYS_kill, 3, gen_kill, NULL },
	{ "tkill", SYS_tkill, 3, gen_tkill, NULL },
	{ "tgkill", SYS_tgkill, 4, gen_tgkill, NULL },
	{ "sched_yield", SYS_sched_yield, 3, gen_none, NULL },
	{ "nanosleep", SYS_nanosleep, 3, gen_nanosleep, NULL },
	{ "clock_nanosleep", SYS_clock_nanosleep, 3, gen_clock_nanosleep, NULL },
	{ "clock_gettime", SYS_clock_gettime, 3, gen_clock_get, NULL },
	{ "clock_getres", SYS_clock_getres, 2, gen_clock_get, NULL },
	{ "gettimeofday", SYS_gettimeofday, 2, gen_two_ptrs, NULL },
	{ "getrusage", SYS_getrusage, 2, gen_getrusage, NULL },
	{ "getpid", SYS_getpid, 1, gen_none, NULL },
	{ "gettid", SYS_gettid, 1, gen_none, NULL },
	{ "getppid", SYS_getppid, 1, gen_none, NULL },
	{ "getuid", SYS_getuid, 1, gen_none, NULL },
	{ "geteuid", SYS_geteuid, 1, gen_none, NULL },
	{ "getgid", SYS_getgid, 1, gen_none, NULL },
	{ "getegid", SYS_getegid, 1, gen_none, NULL },
	{ "uname", SYS_uname, 2, gen_one_ptr, NULL },
	{ "prctl", SYS_prctl, 3, gen_prctl, NULL },
	{ "arch_prctl", SYS_arch_prctl, 3, gen_arch_prctl, NULL },
	{ "set_tid_address", SYS_set_tid_address, 1, gen_one_ptr, NULL },
	{ "futex", SYS_futex, 12, gen_futex, NULL },
	{ "set_robust_list", SYS_set_robust_list, 2, gen_robust, NULL },
	{ "get_robust_list", SYS_get_robust_list, 2, gen_get_robust, NULL },
	{ "getrlimit", SYS_getrlimit, 2, gen_getrlimit, NULL },
	{ "setrlimit", SYS_setrlimit, 2, gen_setrlimit, NULL },
	{ "prlimit64", SYS_prlimit64, 2, gen_prlimit64, NULL },
	{ "sched_getaffinity", SYS_sched_getaffinity, 2, gen_affinity, NULL },
	{ "sched_setaffinity", SYS_sched_setaffinity, 3, gen_affinity, NULL },
	{ "ioperm", SYS_ioperm, 1, gen_ioperm, NULL },
	{ "clone", SYS_clone, 2, fz_gen_clone, fz_run_clone },
	{ "exit", SYS_exit, 1, gen_none, fz_run_exit },
	/* Weight 0: never drawn. The supervisor ends every round with it,
	 * while workers may still be blocked in the kernel. */
	{ "exit_group", SYS_exit_group, 0, gen_none, NULL },
	{ "unknown", -1, 1, gen_unknown, run_unknown },
};
const unsigned fz_ncalls = sizeof fz_calls / sizeof fz_calls[0];
