/*
 * syscall.c - the system-call table, and the calls about the process and
 * its threads themselves (ids, exit, clone, limits, names, affinity).
 *
 * Context: every handler runs in the calling user thread, on its kernel
 * stack, with interrupts on and preemptible; it may sleep. User pointers
 * go through <weft/uaccess.h> only.
 */
#include <weft/syscall.h>
#include <weft/process.h>
#include <weft/signal.h>
#include <weft/futex.h>
#include <weft/uaccess.h>
#include <weft/string.h>
#include <weft/errno.h>
#include <weft/printk.h>
#include <weft/sched.h>
#include <weft/time.h>
#include <weft/bootopt.h>
#include <weft/smp.h>
#include <arch/cpu.h>
#include <arch/ioperm.h>
#include <arch/usermode.h>
#include <arch/irqflags.h>

/* Defined in the sys_*.c files. */
long sys_read(uint64_t, uint64_t, uint64_t);
long sys_write(uint64_t, uint64_t, uint64_t);
long sys_writev(uint64_t, uint64_t, uint64_t);
long sys_ioctl(uint64_t, uint64_t, uint64_t);
long sys_mmap(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_mprotect(uint64_t, uint64_t, uint64_t);
long sys_munmap(uint64_t, uint64_t);
long sys_brk(uint64_t);
long sys_madvise(uint64_t, uint64_t, uint64_t);
long sys_nanosleep(uint64_t, uint64_t);
long sys_clock_nanosleep(uint64_t, uint64_t, uint64_t, uint64_t);
long sys_clock_gettime(uint64_t, uint64_t);
long sys_clock_getres(uint64_t, uint64_t);
long sys_gettimeofday(uint64_t, uint64_t);
long sys_getrusage(uint64_t, uint64_t);

static long sys_getpid(void) { return current_process()->pid; }
static long sys_gettid(void) { return current()->tid; }
static long sys_getppid(void)
{
	struct process *pp = current_process()->parent;
	return pp ? pp->pid : 0;
}
static long sys_root(void) { return 0; }   /* getuid & co: everyone is root */

static long sys_exit(uint64_t code) { process_thread_exit((int)code); }
static long sys_exit_group(uint64_t code) { process_exit_group(((int)code & 0xff) << 8); }

static long sys_sched_yield(void)
{
	thread_yield();
	return 0;
}

static long sys_set_tid_address(uint64_t tidptr)
{
	current()->clear_child_tid = tidptr;
	return current()->tid;
}

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004

static long sys_arch_prctl(uint64_t code, uint64_t addr)
{
	struct thread *t = current();
	switch (code) {
	case ARCH_SET_FS:
		if (addr >= USER_TOP)
			return -EPERM;   /* a kernel or non-canonical base: never */
		t->fs_base = addr;
		wrmsr(MSR_FS_BASE, addr);
		return 0;
	case ARCH_GET_FS:
		return put_user_u64(addr, t->fs_base) < 0 ? -EFAULT : 0;
	case ARCH_GET_GS:
		return put_user_u64(addr, 0) < 0 ? -EFAULT : 0;
	case ARCH_SET_GS:
		return -EPERM;       /* user GS stays 0: see usermode.c on FSGSBASE */
	default:
		return -EINVAL;
	}
}

/* Only threads, with the flag set musl's pthread_create uses. */
#define CLONE_THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | \
			    CLONE_SYSVSEM)
#define CLONE_OPTIONAL (CLONE_SETTLS | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | \
			CLONE_CHILD_SETTID | CLONE_DETACHED)

static long sys_clone(uint64_t flags, uint64_t stack, uint64_t ptid, uint64_t ctid, uint64_t tls)
{
	if ((flags & 0xff) != 0 && (flags & 0xff) != SIGCHLD)
		return -EINVAL;
	uint64_t f = flags & ~0xffULL;
	if ((f & CLONE_THREAD_FLAGS) != CLONE_THREAD_FLAGS || (f & ~(CLONE_THREAD_FLAGS | CLONE_OPTIONAL)))
		return -EINVAL;   /* no fork, no new namespaces: not yet */
	return process_clone_thread(current_user_frame(), stack, tls, ptid, ctid, (unsigned)f);
}

struct utsname {
	char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
};

static long sys_uname(uint64_t buf)
{
	static const struct utsname u = {
		.sysname = "weft", .nodename = "weft", .release = "6.1.0-weft",
		.version = "#1 weft", .machine = "x86_64", .domainname = "(none)",
	};
	return copy_to_user(buf, &u, sizeof u) < 0 ? -EFAULT : 0;
}

#define PR_SET_NAME 15
#define PR_GET_NAME 16

static long sys_prctl(uint64_t option, uint64_t arg2)
{
	struct thread *t = current();
	char name[16];
	switch (option) {
	case PR_SET_NAME: {
		long n = strncpy_from_user(name, arg2, sizeof name);
		if (n == -EFAULT)
			return -EFAULT;
		if (n < 0) {             /* longer than 15: truncated, as on Linux */
			if (copy_from_user(name, arg2, sizeof name - 1) < 0)
				return -EFAULT;
			name[sizeof name - 1] = 0;
		}
		strlcpy(t->name, name, sizeof name);
		return 0;
	}
	case PR_GET_NAME:
		memset(name, 0, sizeof name);
		strlcpy(name, t->name, sizeof name);
		return copy_to_user(arg2, name, sizeof name) < 0 ? -EFAULT : 0;
	default:
		return -EINVAL;
	}
}

struct rlimit64 {
	uint64_t cur, max;
};

static long sys_prlimit64(uint64_t pid, uint64_t res, uint64_t unew, uint64_t uold)
{
	struct process *p = current_process();
	struct rlimit64 n, o;
	/* Linux's order of checks: the new limit is read before anything else. */
	if (unew && copy_from_user(&n, unew, sizeof n) < 0)
		return -EFAULT;
	if (pid != 0 && pid != (uint64_t)p->pid)
		return -ESRCH;
	if (res >= RLIM_NLIMITS)
		return -EINVAL;
	if (unew && n.cur > n.max)
		return -EINVAL;
	unsigned long f = spin_lock_irqsave(&p->lock);
	o.cur = p->rlim[res][0];
	o.max = p->rlim[res][1];
	if (unew) {
		p->rlim[res][0] = n.cur;
		p->rlim[res][1] = n.max;
	}
	spin_unlock_irqrestore(&p->lock, f);
	if (uold && copy_to_user(uold, &o, sizeof o) < 0)
		return -EFAULT;
	return 0;
}

/* Unlike prlimit64, where NULL means "not this one", the old calls always
 * copy: NULL is -EFAULT (getrlimit checks the resource first, setrlimit
 * reads the new limit first, as Linux does). */
static long sys_getrlimit(uint64_t res, uint64_t uold)
{
	if (res >= RLIM_NLIMITS)
		return -EINVAL;
	return uold ? sys_prlimit64(0, res, 0, uold) : -EFAULT;
}

static long sys_setrlimit(uint64_t res, uint64_t unew)
{
	return unew ? sys_prlimit64(0, res, unew, 0) : -EFAULT;
}

/*
 * Affinity, as on Linux: the mask is an array of 64-bit words, bit n =
 * CPU n; weft has at most MAX_CPUS (16), so one word holds it. pid 0 is
 * the caller; otherwise a tid of the caller's process (-ESRCH if none).
 * getaffinity needs a length that is a multiple of 8 and returns the
 * bytes it wrote (8); setaffinity reads up to 8 bytes (a shorter mask
 * means the missing CPUs are off) and fails with -EINVAL if no online CPU
 * is left in it. Another thread is looked up and changed under the
 * process lock, so it cannot exit and be freed in between
 * (sched_set_affinity_mask() never sleeps for another thread).
 */
static struct thread *find_thread_locked(struct process *p, uint64_t tid)
{
	struct list_head *pos;
	list_for_each(pos, &p->threads) {
		struct thread *t = container_of(pos, struct thread, proc_link);
		if ((uint64_t)t->tid == tid)
			return t;
	}
	return NULL;
}

static long sys_sched_getaffinity(uint64_t pid, uint64_t len, uint64_t umask)
{
	if (len < sizeof(uint64_t) || (len & (sizeof(uint64_t) - 1)))
		return -EINVAL;
	struct thread *me = current();
	uint64_t online = ~0ULL >> (64 - smp_online_cpus()), m;
	if (pid == 0 || pid == (uint64_t)me->tid) {
		m = me->affinity & online;
	} else {
		struct process *p = current_process();
		unsigned long f = spin_lock_irqsave(&p->lock);
		struct thread *t = find_thread_locked(p, pid);
		m = t ? t->affinity & online : 0;
		spin_unlock_irqrestore(&p->lock, f);
		if (!t)
			return -ESRCH;
	}
	if (copy_to_user(umask, &m, sizeof m) < 0)
		return -EFAULT;
	return sizeof m;
}

static long sys_sched_setaffinity(uint64_t pid, uint64_t len, uint64_t umask)
{
	uint64_t m = 0;
	if (copy_from_user(&m, umask, len < sizeof m ? len : sizeof m) < 0)
		return -EFAULT;
	struct thread *me = current();
	if (pid == 0 || pid == (uint64_t)me->tid)
		return sched_set_affinity_mask(me, m);    /* may move us: no lock held */
	struct process *p = current_process();
	unsigned long f = spin_lock_irqsave(&p->lock);
	struct thread *t = find_thread_locked(p, pid);
	long r = t ? sched_set_affinity_mask(t, m) : -ESRCH;
	spin_unlock_irqrestore(&p->lock, f);
	return r;
}

static long sys_rt_sigreturn_entry(void) { return sys_rt_sigreturn(current_user_frame()); }

#define E(n, fn) [n] = (syscall_fn)(void (*)(void))(fn)
static const syscall_fn table[SYS_MAX] = {
	E(SYS_read, sys_read), E(SYS_write, sys_write), E(SYS_writev, sys_writev),
	E(SYS_ioctl, sys_ioctl), E(SYS_mmap, sys_mmap), E(SYS_mprotect, sys_mprotect),
	E(SYS_munmap, sys_munmap), E(SYS_brk, sys_brk), E(SYS_madvise, sys_madvise),
	E(SYS_rt_sigaction, sys_rt_sigaction), E(SYS_rt_sigprocmask, sys_rt_sigprocmask),
	E(SYS_rt_sigreturn, sys_rt_sigreturn_entry), E(SYS_rt_sigpending, sys_rt_sigpending),
	E(SYS_rt_sigtimedwait, sys_rt_sigtimedwait), E(SYS_sigaltstack, sys_sigaltstack),
	E(SYS_kill, sys_kill), E(SYS_tkill, sys_tkill), E(SYS_tgkill, sys_tgkill),
	E(SYS_sched_yield, sys_sched_yield), E(SYS_nanosleep, sys_nanosleep),
	E(SYS_clock_nanosleep, sys_clock_nanosleep), E(SYS_clock_gettime, sys_clock_gettime),
	E(SYS_clock_getres, sys_clock_getres), E(SYS_gettimeofday, sys_gettimeofday),
	E(SYS_getrusage, sys_getrusage), E(SYS_getpid, sys_getpid), E(SYS_gettid, sys_gettid),
	E(SYS_getppid, sys_getppid), E(SYS_getuid, sys_root), E(SYS_geteuid, sys_root),
	E(SYS_getgid, sys_root), E(SYS_getegid, sys_root), E(SYS_exit, sys_exit),
	E(SYS_exit_group, sys_exit_group), E(SYS_clone, sys_clone), E(SYS_uname, sys_uname),
	E(SYS_prctl, sys_prctl), E(SYS_arch_prctl, sys_arch_prctl),
	E(SYS_set_tid_address, sys_set_tid_address), E(SYS_futex, sys_futex),
	E(SYS_set_robust_list, sys_set_robust_list), E(SYS_get_robust_list, sys_get_robust_list),
	E(SYS_prlimit64, sys_prlimit64), E(SYS_getrlimit, sys_getrlimit),
	E(SYS_setrlimit, sys_setrlimit), E(SYS_sched_getaffinity, sys_sched_getaffinity),
	E(SYS_sched_setaffinity, sys_sched_setaffinity), E(SYS_ioperm, sys_ioperm),
};

_Static_assert(SYS_MAX == SYSCALL_TABLE_SIZE, "entry.S bounds the number by SYSCALL_TABLE_SIZE");

/*
 * What entry.S calls (set up by syscall_init() from `table`, never NULL):
 * syscall_table[nr] is the handler, or entry.S's syscall_full_frame for
 * the calls that read the whole user frame, which completes it and goes
 * on to syscall_full_frame_table[nr]. With the strace option every number
 * goes the full-frame way, to syscall_traced().
 */
syscall_fn syscall_table[SYS_MAX];
syscall_fn syscall_full_frame_table[SYS_MAX];
void syscall_full_frame(void);   /* entry.S */

/* The handlers that call current_user_frame(). */
static bool needs_full_frame(unsigned nr) { return nr == SYS_clone || nr == SYS_rt_sigreturn; }

static uint64_t reported[SYS_MAX / 64 + 1];  /* -ENOSYS logged once per number */

static long syscall_unknown(uint64_t nr)
{
	uint64_t slot = nr < SYS_MAX ? nr : SYS_MAX;
	if (!(__atomic_fetch_or(&reported[slot / 64], 1ULL << (slot % 64), __ATOMIC_RELAXED) &
	      (1ULL << (slot % 64))))
		pr_warn("weft: %s[%d]: unknown system call %#lx: -ENOSYS\n", current_process()->name,
			current_process()->pid, (unsigned long)nr);
	return -ENOSYS;
}

/* The frame entry.S built for this system call, at the top of the running
 * thread's kernel stack (found through GS: one load). */
static inline struct trap_frame *entry_frame(void)
{
	return user_frame_at(percpu_read(kernel_stack_top));
}

/* syscall_table's entry for a number with no handler. */
static long sys_ni_syscall(void) { return syscall_unknown(entry_frame()->error_code); }

/* With strace on, every call, its frame complete: log it and its result. */
static long syscall_traced(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			   uint64_t a5)
{
	uint64_t nr = (uint32_t)entry_frame()->error_code;
	syscall_fn fn = nr < SYS_MAX ? table[nr] : NULL;
	if (!fn)
		return syscall_unknown(entry_frame()->error_code);
	kprintf("[%d] syscall %lu (%#lx, %#lx, %#lx, %#lx)\n", current()->tid, (unsigned long)nr,
		(unsigned long)a0, (unsigned long)a1, (unsigned long)a2, (unsigned long)a3);
	long r = fn(a0, a1, a2, a3, a4, a5);
	kprintf("[%d] syscall %lu = %ld\n", current()->tid, (unsigned long)nr, r);
	return r;
}

void syscall_init(void)
{
	for (unsigned nr = 0; nr < SYS_MAX; nr++) {
		syscall_fn fn = table[nr] ? table[nr] : (syscall_fn)(void (*)(void))sys_ni_syscall;
		if (boot_options.strace)
			fn = syscall_traced;
		syscall_full_frame_table[nr] = fn;
		syscall_table[nr] = boot_options.strace || needs_full_frame(nr)
					    ? (syscall_fn)(void (*)(void))syscall_full_frame
					    : fn;
	}
}

/* Linux takes the number as a 32-bit int and ignores RAX's high half:
 * 0x100000027 is getpid, -1 and 0x40000000 + n (x32, which weft does not
 * have) are unknown. */
long syscall_invoke_slow(struct trap_frame *f)
{
	local_irq_enable();          /* system calls are preemptible */
	uint32_t nr = (uint32_t)f->error_code;
	if (nr >= SYS_MAX)
		return syscall_unknown(f->error_code);
	/* The frame is complete: the full-frame target is right for any nr. */
	return syscall_full_frame_table[nr](f->rdi, f->rsi, f->rdx, f->r10, f->r8, f->r9);
}
