/* sigframe.h - private to kernel/signal.c and kernel/sigframe.c: the
 * per-thread signal state and the Linux x86-64 signal frame layout.
 */
#ifndef KERNEL_SIGFRAME_H
#define KERNEL_SIGFRAME_H
#include <stdint.h>
#include <stddef.h>
#include <weft/signal.h>
#include <weft/process.h>

/* stack_t */
struct k_stack {
	uint64_t sp;
	int32_t flags;
	int32_t pad;
	uint64_t size;
};

/* Per user thread (thread->sig), guarded by the process lock except
 * alt_*, which only the thread itself touches. */
struct user_signals {
	uint64_t mask;                 /* blocked signals */
	uint64_t pending;              /* sent to this thread */
	uint64_t waiting_for;          /* rt_sigtimedwait's set while it sleeps */
	struct k_siginfo info[NSIG];
	uint8_t rt_extra[NSIG];        /* queued real-time instances beyond the first */
	uint64_t alt_sp, alt_size;     /* sigaltstack */
	int alt_flags;                 /* 0 or SS_DISABLE */
};

/* struct sigcontext: uc_mcontext (musl's mcontext_t: gregs[23], fpregs). */
struct k_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;              /* user address of the FPU state */
	uint64_t reserved1[8];
};

struct k_ucontext {
	uint64_t flags;
	uint64_t link;
	struct k_stack stack;
	struct k_sigcontext mcontext;
	uint64_t sigmask;
};

/* What the handler finds at its RSP: the return address (sa_restorer),
 * then the ucontext and the siginfo; the FPU state lies above. */
struct rt_sigframe {
	uint64_t pretcode;
	struct k_ucontext uc;
	struct k_siginfo info;
};

_Static_assert(sizeof(struct k_siginfo) == 128, "siginfo_t is 128 bytes");
_Static_assert(sizeof(struct k_stack) == 24, "stack_t is 24 bytes");
_Static_assert(sizeof(struct k_sigcontext) == 256, "struct sigcontext is 256 bytes");
_Static_assert(offsetof(struct k_ucontext, mcontext) == 40, "uc_mcontext at 40");
_Static_assert(offsetof(struct k_ucontext, sigmask) == 296, "uc_sigmask at 296");

/* kernel/sigframe.c */
void sigframe_setup(struct trap_frame *f, int sig, const struct k_siginfo *info,
		    const struct k_sigaction *act);
bool sigframe_on_altstack(struct thread *t, uint64_t sp);
/* kernel/signal.c */
void signal_set_mask(uint64_t mask);
__attribute__((noreturn)) void signal_die(int sig, const struct k_siginfo *info,
					  const struct trap_frame *f);
#endif
