/*
 * signal.c - sending, blocking, waiting for and acting on signals. The
 * frame a handler runs on is built in kernel/sigframe.c.
 *
 * Invariant: t->sigpending == ((t's pending | process pending) & ~t's
 * mask) != 0, with SIGKILL never blocked. It is recomputed under the
 * process lock whenever one of those changes, so that interruptible
 * sleeps (thread_interrupted) and the exit path see it with one load.
 */
#include <weft/signal.h>
#include <weft/smp.h>
#include <weft/process.h>
#include <weft/kmalloc.h>
#include <weft/string.h>
#include <weft/errno.h>
#include <weft/printk.h>
#include <weft/uaccess.h>
#include <weft/time.h>
#include <weft/sched.h>
#include <arch/trap.h>
#include "sigframe.h"

#define UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))
#define DEFAULT_IGNORE (SIGBIT(SIGCHLD) | SIGBIT(SIGCONT) | SIGBIT(SIGURG) | SIGBIT(SIGWINCH) | \
			SIGBIT(SIGSTOP) | SIGBIT(SIGTSTP) | SIGBIT(SIGTTIN) | SIGBIT(SIGTTOU))
#define DEFAULT_CORE (SIGBIT(SIGQUIT) | SIGBIT(SIGILL) | SIGBIT(SIGTRAP) | SIGBIT(SIGABRT) | \
		      SIGBIT(SIGBUS) | SIGBIT(SIGFPE) | SIGBIT(SIGSEGV) | SIGBIT(SIGXCPU) | \
		      SIGBIT(SIGXFSZ) | SIGBIT(SIGSYS))

static const char *const names[32] = {
	"0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
	"SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
	"SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
	"SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
};

const char *signal_name(int sig)
{
	if (sig > 0 && sig < 32)
		return names[sig];
	return sig >= SIGRTMIN && sig <= NSIG ? "SIGRT" : "?";
}

int signal_thread_init(struct thread *t, uint64_t mask)
{
	t->sig = kzalloc(sizeof *t->sig);
	if (!t->sig)
		return -ENOMEM;
	t->sig->mask = mask & ~UNBLOCKABLE;
	t->sig->alt_flags = SS_DISABLE;
	return 0;
}

void signal_thread_exit(struct thread *t)
{
	kfree(t->sig);
	t->sig = NULL;
}

void signal_process_free(struct process *p) { (void)p; }

uint64_t signal_current_mask(void)
{
	struct thread *t = current();
	return t->sig ? t->sig->mask : 0;
}

/* p->lock held. */
static void recalc(struct process *p, struct thread *t)
{
	if (!t->sig)
		return;
	uint64_t want = (t->sig->pending | p->shared_pending) &
			(~(t->sig->mask & ~UNBLOCKABLE) | t->sig->waiting_for);
	t->sigpending = want != 0;
}

static void recalc_all(struct process *p)
{
	struct list_head *pos;
	list_for_each(pos, &p->threads)
		recalc(p, container_of(pos, struct thread, proc_link));
}

bool signal_pending_for(struct thread *t) { return t->sigpending; }

/* t has a signal to take: wake it if it sleeps interruptibly; if it runs
 * (perhaps in ring 3 on another CPU, where nothing else would interrupt
 * it), make it pass its exit path. */
static void wake_for_signal(struct thread *t)
{
	if (t->sigpending && !wake_up_thread(t, 1u << THREAD_INTERRUPTIBLE))
		smp_kick_thread(t);
}

/* Queue sig for t (thread-directed). p->lock held. A second instance of
 * a pending standard signal is merged into the first; real-time signals
 * (SIGRTMIN and up) are counted, so each instance is delivered (the
 * instances share the first one's siginfo). */
static void queue_thread(struct process *p, struct thread *t, const struct k_siginfo *info)
{
	int sig = info->signo;
	if (!(t->sig->pending & SIGBIT(sig))) {
		t->sig->pending |= SIGBIT(sig);
		t->sig->info[sig - 1] = *info;
		t->sig->rt_extra[sig - 1] = 0;
	} else if (sig >= SIGRTMIN && t->sig->rt_extra[sig - 1] < 255) {
		t->sig->rt_extra[sig - 1]++;
	}
	recalc(p, t);
	wake_for_signal(t);
}

/* The signals in `sigs` that t would take now: those it does not block,
 * and those it waits for in sigtimedwait (blocked, as sigwait requires).
 * p->lock held. */
static uint64_t takes(const struct thread *t, uint64_t sigs)
{
	return t->sig ? sigs & (~t->sig->mask | t->sig->waiting_for) : 0;
}

static bool ignored(struct process *p, int sig)
{
	uint64_t h = p->actions[sig - 1].handler;
	return sig != SIGKILL && (h == SIG_IGN || (h == SIG_DFL && (DEFAULT_IGNORE & SIGBIT(sig))));
}

/* The siginfo of a signal the kernel raises for a fault (or SI_KERNEL). */
static void fill_fault_info(struct k_siginfo *info, int sig, int code, uint64_t addr)
{
	memset(info, 0, sizeof *info);
	info->signo = sig;
	info->code = code;
	info->addr = addr;
}

static void fill_kill_info(struct k_siginfo *info, int sig, int code)
{
	memset(info, 0, sizeof *info);
	info->signo = sig;
	info->code = code;
	struct process *sender = current()->proc;
	info->kill.pid = sender ? sender->pid : 0;
	info->kill.uid = 0;
}

int signal_send_process(struct process *p, int sig, int code)
{
	if (sig < 0 || sig > NSIG)
		return -EINVAL;
	if (sig == 0)
		return 0;
	struct k_siginfo info;
	fill_kill_info(&info, sig, code);
	unsigned long f = spin_lock_irqsave(&p->lock);
	if (p->exiting || ignored(p, sig))
		goto out;   /* an ignored signal is discarded when sent */
	if (sig == SIGKILL) {
		/* Ends the process even if every thread sleeps interruptibly. */
		p->exiting = true;
		p->exit_status = SIGKILL;
		struct list_head *pos;
		list_for_each(pos, &p->threads)
			thread_kill(container_of(pos, struct thread, proc_link));
		goto out;
	}
	if (!(p->shared_pending & SIGBIT(sig))) {
		p->shared_pending |= SIGBIT(sig);
		p->shared_info[sig - 1] = info;
		p->shared_rt_extra[sig - 1] = 0;
	} else if (sig >= SIGRTMIN && p->shared_rt_extra[sig - 1] < 255) {
		p->shared_rt_extra[sig - 1]++;
	}
	/* Choose one thread to take it, as Linux does: the main thread if it
	 * takes it (does not block it, or waits for it in sigtimedwait), else
	 * the first that does. Only that one is told (others notice shared
	 * signals when they recompute). If none takes it, it waits for one to
	 * unblock it or wait for it; a chosen thread that blocks it or leaves
	 * before taking it passes it on (retarget_shared()). */
	struct list_head *pos;
	list_for_each(pos, &p->threads) {
		struct thread *t = container_of(pos, struct thread, proc_link);
		if (takes(t, SIGBIT(sig))) {
			t->sigpending = true;
			wake_for_signal(t);
			break;
		}
	}
out:
	spin_unlock_irqrestore(&p->lock, f);
	return 0;
}

int signal_send_thread(struct thread *t, int sig, int code)
{
	struct process *p = t->proc;
	if (sig < 0 || sig > NSIG)
		return -EINVAL;
	if (!p || !t->sig)
		return -ESRCH;
	if (sig == 0)
		return 0;
	if (sig == SIGKILL)
		return signal_send_process(p, sig, code);
	struct k_siginfo info;
	fill_kill_info(&info, sig, code);
	/* The caller keeps t alive (it is current, or the caller holds a
	 * reference through its own synchronisation). */
	unsigned long f = spin_lock_irqsave(&p->lock);
	if (!p->exiting && !ignored(p, sig) && t->sig)
		queue_thread(p, t, &info);
	spin_unlock_irqrestore(&p->lock, f);
	return 0;
}

/* Signals a fault of the thread's own raises (Linux's synchronous set). */
#define FAULT_SIGNALS (SIGBIT(SIGILL) | SIGBIT(SIGTRAP) | SIGBIT(SIGBUS) | SIGBIT(SIGFPE) | \
		       SIGBIT(SIGSEGV) | SIGBIT(SIGSYS))

/* The pending signal among `mine` that a fault raised (the kernel sent
 * it: si_code > 0), or 0. p->lock held. */
static int fault_signal(const struct thread *t, uint64_t mine)
{
	for (uint64_t m = mine & FAULT_SIGNALS; m; m &= m - 1) {
		int sig = __builtin_ctzll(m) + 1;
		if (t->sig->info[sig - 1].code > 0)
			return sig;
	}
	return 0;
}

/* The lowest pending unblocked signal of t, dequeued; 0 if none. Thread
 * signals come before process ones, and among them a fault's signal comes
 * first (as on Linux): its handler must see the faulting context, not the
 * entry of another handler whose frame was built first (signal_deliver
 * builds one frame per exit, each on top of the last). p->lock held. */
static int dequeue(struct process *p, struct thread *t, uint64_t allowed, struct k_siginfo *info)
{
	uint64_t mine = t->sig->pending & allowed, shared = p->shared_pending & allowed;
	int sig = 0;
	if (mine) {
		sig = fault_signal(t, mine);
		if (!sig)
			sig = __builtin_ctzll(mine) + 1;
		if (t->sig->rt_extra[sig - 1])
			t->sig->rt_extra[sig - 1]--;        /* more instances stay pending */
		else
			t->sig->pending &= ~SIGBIT(sig);
		*info = t->sig->info[sig - 1];
	} else if (shared) {
		sig = __builtin_ctzll(shared) + 1;
		if (p->shared_rt_extra[sig - 1])
			p->shared_rt_extra[sig - 1]--;
		else
			p->shared_pending &= ~SIGBIT(sig);
		*info = p->shared_info[sig - 1];
	}
	if (sig)
		recalc_all(p);
	return sig;
}

/* The default action of a fatal signal: the process dies, with a line. */
void signal_die(int sig, const struct k_siginfo *info, const struct trap_frame *f)
{
	struct thread *t = current();
	struct process *p = t->proc;
	bool core = DEFAULT_CORE & SIGBIT(sig);
	if (core)
		pr_err("weft: %s[%d] tid %d: %s at rip %#lx, address %#lx (code %d); killed\n",
		       p->name, p->pid, t->tid, signal_name(sig), (unsigned long)f->rip,
		       (unsigned long)info->addr, info->code);
	process_exit_group(sig | (core ? 0x80 : 0));
}

/* A signal frame that could not be written (delivery of failed_sig) or
 * read back (rt_sigreturn, failed_sig 0): SIGSEGV with SI_KERNEL that the
 * thread can neither block nor ignore, taken on this same way out to ring
 * 3 - the process's own SIGSEGV handler may run, as on Linux
 * (force_sigsegv). When the frame that failed was SIGSEGV's own, its
 * handler is reset first, so a second failure kills instead of looping. */
void signal_force_segv(int failed_sig)
{
	struct thread *t = current();
	struct process *p = t->proc;
	struct k_siginfo info;
	fill_fault_info(&info, SIGSEGV, SI_KERNEL, 0);
	unsigned long fl = spin_lock_irqsave(&p->lock);
	struct k_sigaction *a = &p->actions[SIGSEGV - 1];
	if (failed_sig == SIGSEGV || a->handler == SIG_IGN || (t->sig->mask & SIGBIT(SIGSEGV)))
		a->handler = SIG_DFL;
	t->sig->mask &= ~SIGBIT(SIGSEGV);
	queue_thread(p, t, &info);   /* recalc: pending, and now unblocked */
	spin_unlock_irqrestore(&p->lock, fl);
}

void signal_fault(struct trap_frame *f, int sig, int code, uint64_t addr)
{
	struct thread *t = current();
	struct process *p = t->proc;
	struct k_siginfo info;
	fill_fault_info(&info, sig, code, addr);
	unsigned long fl = spin_lock_irqsave(&p->lock);
	bool fatal = ignored(p, sig) || (t->sig->mask & SIGBIT(sig)) ||
		     p->actions[sig - 1].handler == SIG_DFL;
	if (!fatal)
		queue_thread(p, t, &info);
	spin_unlock_irqrestore(&p->lock, fl);
	if (fatal)
		signal_die(sig, &info, f);   /* blocked or ignored faults kill, as on Linux */
}

void signal_deliver(struct trap_frame *f)
{
	struct thread *t = current();
	struct process *p = t->proc;
	for (;;) {
		struct k_siginfo info;
		unsigned long fl = spin_lock_irqsave(&p->lock);
		int sig = dequeue(p, t, ~(t->sig->mask & ~UNBLOCKABLE), &info);
		struct k_sigaction act = sig ? p->actions[sig - 1] : (struct k_sigaction){ 0 };
		if (sig && act.handler > SIG_IGN && (act.flags & SA_RESETHAND))
			p->actions[sig - 1].handler = SIG_DFL;
		spin_unlock_irqrestore(&p->lock, fl);
		if (!sig)
			return;
		if (act.handler == SIG_IGN || (act.handler == SIG_DFL && (DEFAULT_IGNORE & SIGBIT(sig))))
			continue;
		if (act.handler == SIG_DFL)
			signal_die(sig, &info, f);
		sigframe_setup(f, sig, &info, &act);   /* or SIGSEGV if it cannot */
		return;   /* one handler at a time; the next on the following exit */
	}
}

/* --- system calls ------------------------------------------------------- */

long sys_rt_sigaction(long sig, uint64_t act, uint64_t oact, uint64_t size)
{
	struct process *p = current_process();
	if (size != 8 || sig < 1 || sig > NSIG)
		return -EINVAL;
	struct k_sigaction na;
	if (act && copy_from_user(&na, act, sizeof na) < 0)
		return -EFAULT;
	if (act && (sig == SIGKILL || sig == SIGSTOP))
		return -EINVAL;
	unsigned long f = spin_lock_irqsave(&p->lock);
	struct k_sigaction old = p->actions[sig - 1];
	if (act) {
		na.mask &= ~UNBLOCKABLE;
		p->actions[sig - 1] = na;
		if (ignored(p, sig)) {    /* pending instances are discarded */
			p->shared_pending &= ~SIGBIT(sig);
			struct list_head *pos;
			list_for_each(pos, &p->threads) {
				struct thread *o = container_of(pos, struct thread, proc_link);
				if (o->sig)
					o->sig->pending &= ~SIGBIT(sig);
			}
			recalc_all(p);
		}
	}
	spin_unlock_irqrestore(&p->lock, f);
	if (oact && copy_to_user(oact, &old, sizeof old) < 0)
		return -EFAULT;
	return 0;
}

/* Shared signals `sigs` that `from` will not take after all - it blocked
 * them after signal_send_process() chose it, or it is leaving the process
 * - go to another thread that does not block them, which is told as the
 * sender would have told it. Otherwise they would wait, pending, until
 * some thread happened to recompute its sigpending. p->lock held. */
static void retarget_shared(struct process *p, struct thread *from, uint64_t sigs)
{
	sigs &= p->shared_pending;
	struct list_head *pos;
	list_for_each(pos, &p->threads) {
		if (!sigs)
			return;
		struct thread *t = container_of(pos, struct thread, proc_link);
		uint64_t mine = takes(t, sigs);
		if (t == from || !mine)
			continue;
		recalc(p, t);
		wake_for_signal(t);
		sigs &= ~mine;   /* what t takes is taken care of */
	}
}

void signal_thread_leaving(struct process *p, struct thread *t)
{
	retarget_shared(p, t, ~0ULL);
}

/* Set the current thread's mask (SIGKILL/SIGSTOP stay unblocked). */
void signal_set_mask(uint64_t mask)
{
	struct thread *t = current();
	struct process *p = t->proc;
	unsigned long f = spin_lock_irqsave(&p->lock);
	t->sig->mask = mask & ~UNBLOCKABLE;
	recalc(p, t);
	retarget_shared(p, t, t->sig->mask);
	spin_unlock_irqrestore(&p->lock, f);
}

long sys_rt_sigprocmask(long how, uint64_t set, uint64_t oset, uint64_t size)
{
	struct thread *t = current();
	if (size != 8)
		return -EINVAL;
	uint64_t old = t->sig->mask, n = 0;
	if (set && copy_from_user(&n, set, 8) < 0)
		return -EFAULT;
	if (set) {
		switch (how) {
		case SIG_BLOCK: n = old | n; break;
		case SIG_UNBLOCK: n = old & ~n; break;
		case SIG_SETMASK: break;
		default: return -EINVAL;
		}
		signal_set_mask(n);
	}
	if (oset && copy_to_user(oset, &old, 8) < 0)
		return -EFAULT;
	return 0;
}

long sys_rt_sigpending(uint64_t set, uint64_t size)
{
	struct thread *t = current();
	struct process *p = t->proc;
	if (size > 8)
		return -EINVAL;
	unsigned long f = spin_lock_irqsave(&p->lock);
	uint64_t pend = (t->sig->pending | p->shared_pending) & t->sig->mask;
	spin_unlock_irqrestore(&p->lock, f);
	return copy_to_user(set, &pend, size) < 0 ? -EFAULT : 0;
}

struct k_timespec {
	int64_t sec, nsec;
};

long sys_rt_sigtimedwait(uint64_t uset, uint64_t uinfo, uint64_t uts, uint64_t size)
{
	struct thread *t = current();
	struct process *p = t->proc;
	uint64_t set;
	struct k_timespec ts = { 0, 0 };
	if (size != 8)
		return -EINVAL;
	if (copy_from_user(&set, uset, 8) < 0 || (uts && copy_from_user(&ts, uts, sizeof ts) < 0))
		return -EFAULT;
	if (uts && (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= (int64_t)NSEC_PER_SEC))
		return -EINVAL;
	set &= ~UNBLOCKABLE;
	/* A timeout beyond 2^62 ns (146 years) is "forever": the product must
	 * not wrap into a deadline in the past (a huge tv_sec once gave
	 * EAGAIN at once). */
	uint64_t wait_ns = (uint64_t)ts.sec > (1ULL << 62) / NSEC_PER_SEC
				   ? 1ULL << 62 : (uint64_t)ts.sec * NSEC_PER_SEC + (uint64_t)ts.nsec;
	uint64_t deadline = uts ? clock_monotonic_ns() + wait_ns : 0;
	struct k_siginfo info;
	int sig;
	for (;;) {
		/* Signals in `set` count as "pending for us" while we wait
		 * (recalc honours waiting_for), so a sender wakes us; the state
		 * is set under the lock senders take: no wakeup is lost. */
		unsigned long f = spin_lock_irqsave(&p->lock);
		sig = dequeue(p, t, set, &info);
		bool other = false;
		if (!sig) {
			other = t->sigpending || t->killed;
			t->sig->waiting_for = set;
			recalc(p, t);
			if (!other && !t->sigpending)
				t->state = THREAD_INTERRUPTIBLE;
		}
		spin_unlock_irqrestore(&p->lock, f);
		if (sig)
			break;
		uint64_t now = clock_monotonic_ns();
		if (!other && !(uts && now >= deadline)) {
			if (uts)
				thread_sleep_interruptible(deadline - now);
			else
				schedule();
		}
		t->state = THREAD_RUNNING;
		f = spin_lock_irqsave(&p->lock);
		t->sig->waiting_for = 0;
		recalc(p, t);
		retarget_shared(p, t, t->sig->mask);   /* blocked again: not ours to take */
		spin_unlock_irqrestore(&p->lock, f);
		if (other)
			return -EINTR;   /* a signal outside `set` to handle, or the end */
		if (uts && clock_monotonic_ns() >= deadline) {
			f = spin_lock_irqsave(&p->lock);
			sig = dequeue(p, t, set, &info);
			spin_unlock_irqrestore(&p->lock, f);
			if (sig)
				break;
			return -EAGAIN;
		}
	}
	if (uinfo && copy_to_user(uinfo, &info, sizeof info) < 0)
		return -EFAULT;
	return sig;
}

long sys_sigaltstack(uint64_t uss, uint64_t uoss)
{
	struct thread *t = current();
	struct user_signals *s = t->sig;
	struct k_stack old = { s->alt_sp, s->alt_flags, 0, s->alt_size };
	if (sigframe_on_altstack(t, user_frame_at(t->stack.top)->rsp))
		old.flags = SS_ONSTACK;
	if (uss) {
		struct k_stack n;
		if (copy_from_user(&n, uss, sizeof n) < 0)
			return -EFAULT;
		if (old.flags == SS_ONSTACK)
			return -EPERM;
		if (n.flags & ~(SS_DISABLE | SS_AUTODISARM))
			return -EINVAL;
		if (n.flags & SS_DISABLE) {
			s->alt_flags = SS_DISABLE;
			s->alt_sp = s->alt_size = 0;
		} else {
			if (n.size < MINSIGSTKSZ)
				return -ENOMEM;
			s->alt_sp = n.sp;
			s->alt_size = n.size;
			s->alt_flags = 0;
		}
	}
	if (uoss && copy_to_user(uoss, &old, sizeof old) < 0)
		return -EFAULT;
	return 0;
}

long sys_kill(long pid, long sig)
{
	struct process *p = current_process();
	if (pid != p->pid && pid != 0 && pid != -1)
		return -ESRCH;   /* weft runs one process tree at a time */
	return signal_send_process(p, (int)sig, SI_USER);
}

long sys_tgkill(long tgid, long tid, long sig)
{
	struct process *p = current_process();
	if (tid <= 0 || tgid <= 0)
		return -EINVAL;
	if (tgid != p->pid)
		return -ESRCH;
	return sys_tkill(tid, sig);
}

long sys_tkill(long tid, long sig)
{
	struct process *p = current_process();
	if (tid <= 0)
		return -EINVAL;
	if (sig < 0 || sig > NSIG)
		return -EINVAL;
	if (sig == SIGKILL)
		return signal_send_process(p, (int)sig, SI_TKILL);
	struct k_siginfo info;
	fill_kill_info(&info, (int)sig, SI_TKILL);
	/* Find and signal the thread under one hold of the lock: it cannot
	 * leave the process (and be freed) in between. */
	unsigned long f = spin_lock_irqsave(&p->lock);
	struct thread *target = NULL;
	struct list_head *pos;
	list_for_each(pos, &p->threads) {
		struct thread *t = container_of(pos, struct thread, proc_link);
		if (t->tid == tid && t->sig)
			target = t;
	}
	if (target && sig && !p->exiting && !ignored(p, (int)sig))
		queue_thread(p, target, &info);
	spin_unlock_irqrestore(&p->lock, f);
	return target ? 0 : -ESRCH;
}