/* signal.h - POSIX signals with Linux's numbers, frames and semantics
 * (kernel/signal.c).
 *
 * Each user thread has a mask, a pending set and an alternate stack; the
 * process has the handlers and a process-wide pending set (kill()).
 * A signal is delivered on the way back to ring 3 (exit_to_user_mode):
 * the thread's registers, mask and FPU state are saved in a Linux-layout
 * frame on the user stack, and it continues in the handler; the handler's
 * return runs sa_restorer, which calls rt_sigreturn to restore them.
 *
 * Locking: everything here is guarded by the process's lock.
 */
#ifndef WEFT_SIGNAL_H
#define WEFT_SIGNAL_H
#include <stdint.h>
#include <stdbool.h>

struct thread;
struct process;
struct trap_frame;

#define SIGHUP    1
#define SIGINT    2
#define SIGQUIT   3
#define SIGILL    4
#define SIGTRAP   5
#define SIGABRT   6
#define SIGBUS    7
#define SIGFPE    8
#define SIGKILL   9
#define SIGUSR1   10
#define SIGSEGV   11
#define SIGUSR2   12
#define SIGPIPE   13
#define SIGALRM   14
#define SIGTERM   15
#define SIGCHLD   17
#define SIGCONT   18
#define SIGSTOP   19
#define SIGTSTP   20
#define SIGTTIN   21
#define SIGTTOU   22
#define SIGURG    23
#define SIGXCPU   24
#define SIGXFSZ   25
#define SIGWINCH  28
#define SIGSYS    31
#define SIGRTMIN  32

#define SIG_DFL 0
#define SIG_IGN 1

#define SA_NOCLDSTOP 0x00000001
#define SA_SIGINFO   0x00000004
#define SA_RESTORER  0x04000000
#define SA_ONSTACK   0x08000000
#define SA_RESTART   0x10000000
#define SA_NODEFER   0x40000000
#define SA_RESETHAND 0x80000000

#define SIG_BLOCK   0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2

#define SS_ONSTACK 1
#define SS_DISABLE 2
#define SS_AUTODISARM (1u << 31) /* accepted by sigaltstack; unsigned: int 1 << 31 overflows */
#define MINSIGSTKSZ 2048

/* si_code values */
#define SI_USER     0
#define SI_KERNEL   0x80
#define SI_TKILL    (-6)
#define SEGV_MAPERR 1
#define SEGV_ACCERR 2
#define ILL_ILLOPN  2
#define FPE_INTDIV  1
#define BUS_ADRERR  2

/* System calls that a signal interrupted return these; they never reach
 * user mode: the return path turns them into a restart or -EINTR. */
#define ERESTARTSYS           512  /* restart if the handler has SA_RESTART */
#define ERESTARTNOINTR        513  /* always restart */
#define ERESTARTNOHAND        514  /* restart only if no handler ran */

#define SIGBIT(s) (1ULL << ((s) - 1))

/* Linux's siginfo_t (128 bytes), the fields weft fills. */
struct k_siginfo {
	int32_t signo, err, code, pad;
	union {
		struct {
			int32_t pid;
			uint32_t uid;
		} kill;
		uint64_t addr;            /* faults: the faulting address */
		uint8_t raw[112];
	};
};

/* Thread lifetime (kernel/process.c). */
int signal_thread_init(struct thread *t, uint64_t mask);
void signal_thread_exit(struct thread *t);
/* t has left p's thread list (p->lock held): shared signals pending for the
 * process that t was chosen to take go to another thread that can. */
void signal_thread_leaving(struct process *p, struct thread *t);
void signal_process_free(struct process *p);
uint64_t signal_current_mask(void);

/* Is a signal t does not block pending (t's own or the process's)? */
bool signal_pending_for(struct thread *t);
/* Deliver pending signals to the current thread, whose trap frame is f
 * (on the way to ring 3, interrupts on). */
void signal_deliver(struct trap_frame *f);
/* A fault in ring 3: signal it to the current thread (forced: a blocked or
 * ignored fault signal kills, as on Linux); unhandled, the process dies
 * with a one-line report. */
void signal_fault(struct trap_frame *f, int sig, int code, uint64_t addr);
/* A signal frame that could not be written (for failed_sig) or read back
 * (0): queue an unblockable SIGSEGV (SI_KERNEL), Linux's force_sigsegv. */
void signal_force_segv(int failed_sig);

/* Send sig to a process (kill) or one of its threads (tgkill). 0 or -errno. */
int signal_send_process(struct process *p, int sig, int code);
int signal_send_thread(struct thread *t, int sig, int code);

/* The system calls, in kernel/signal.c and kernel/sigframe.c. */
long sys_rt_sigaction(long sig, uint64_t act, uint64_t oact, uint64_t size);
long sys_rt_sigprocmask(long how, uint64_t set, uint64_t oset, uint64_t size);
long sys_rt_sigpending(uint64_t set, uint64_t size);
long sys_rt_sigtimedwait(uint64_t set, uint64_t info, uint64_t ts, uint64_t size);
long sys_sigaltstack(uint64_t ss, uint64_t oss);
long sys_rt_sigreturn(struct trap_frame *f);
long sys_kill(long pid, long sig);
long sys_tgkill(long tgid, long tid, long sig);
long sys_tkill(long tid, long sig);

/* Name of a signal ("SIGSEGV"), for reports. */
const char *signal_name(int sig);
#endif
