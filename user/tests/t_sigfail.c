/* t_sigfail - a signal frame that cannot be written, or an rt_sigreturn
 * frame that cannot be read, raises a SIGSEGV the process can catch (Linux's
 * force_sigsegv and signal_fault: si_code SI_KERNEL); it does not kill the
 * process outright. Passes on Linux and on weft.
 *
 *   1. SIGUSR1's handler runs on an alternate stack that is PROT_NONE: the
 *      frame cannot be written, SIGSEGV's handler (normal stack) runs
 *      instead, SIGUSR1's never does, and SIGSEGV's handler stays installed.
 *   2. rt_sigreturn with RSP at an unmapped page: SIGSEGV (SI_KERNEL) on the
 *      SIGSEGV handler's alternate stack, the handler stays installed.
 *   3. rt_sigreturn of a frame whose FPU state pointer is unmapped: the
 *      registers and mask of the frame are restored first (as Linux's
 *      restore_sigcontext does before it reads the FPU state), then SIGSEGV
 *      (SI_KERNEL) is taken there - its context shows the frame's RBX, RIP
 *      and mask, not the returning handler's.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include "tap.h"

static sigjmp_buf back;
static volatile sig_atomic_t segv_signo, segv_code, usr1_ran;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	segv_signo = sig == SIGSEGV ? si->si_signo : -sig;
	segv_code = si->si_code;
	siglongjmp(back, 1);
}

static void on_usr1(int sig) { (void)sig; usr1_ran = 1; }

/* Case 3: what the SIGSEGV handler saw of the interrupted context. */
static volatile uint64_t ctx_rbx, ctx_rip;
static volatile int ctx_term_blocked;
static void *bad_fpstate;

static void on_segv_ctx(int sig, siginfo_t *si, void *p)
{
	ucontext_t *uc = p;
	segv_signo = sig == SIGSEGV ? si->si_signo : -sig;
	segv_code = si->si_code;
	ctx_rbx = (uint64_t)uc->uc_mcontext.gregs[REG_RBX];
	ctx_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	ctx_term_blocked = sigismember(&uc->uc_sigmask, SIGTERM);
	siglongjmp(back, 1);
}

static void never_here(void) { abort(); }

/* SIGUSR2's handler returns through a frame it edited: another RBX and
 * RIP, SIGTERM blocked, and an FPU state pointer that cannot be read. */
static void on_usr2_edit(int sig, siginfo_t *si, void *p)
{
	(void)sig, (void)si;
	ucontext_t *uc = p;
	uc->uc_mcontext.gregs[REG_RBX] = 0x5157f00d;
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)never_here;
	sigaddset(&uc->uc_sigmask, SIGTERM);
	uc->uc_mcontext.fpregs = bad_fpstate;
}

static void set_action(int sig, void (*fn)(int, siginfo_t *, void *), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = fn;
	sa.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) != 0)
		abort();
}

static int segv_handler_kept(void)
{
	struct sigaction old;
	return sigaction(SIGSEGV, NULL, &old) == 0 && (old.sa_flags & SA_SIGINFO) &&
	       old.sa_sigaction == on_segv;
}

/* rt_sigreturn with RSP at `sp`: never returns here (a SIGSEGV handler
 * siglongjmps out). */
static void __attribute__((noinline, noreturn)) sigreturn_at(uintptr_t sp)
{
	__asm__ volatile("mov %0, %%rsp\n\t"      /* the "frame" is at sp */
			 "mov %1, %%eax\n\t"
			 "syscall\n\t"
			 "ud2"                    /* not reached: SIGSEGV comes first */
			 : : "r"(sp), "i"(SYS_rt_sigreturn) : "memory");
	__builtin_unreachable();
}

int main(void)
{
	plan(11);
	long page = 4096;

	/* 1: SIGUSR1's frame goes to a PROT_NONE alternate stack. */
	size_t alt_size = 16 * (size_t)page;
	char *bad_alt = mmap(NULL, alt_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bad_alt == MAP_FAILED)
		abort();
	stack_t ss = { .ss_sp = bad_alt, .ss_size = alt_size, .ss_flags = 0 };
	if (sigaltstack(&ss, NULL) != 0)
		abort();
	set_action(SIGSEGV, on_segv, 0);                      /* on the normal stack */
	struct sigaction ua;
	memset(&ua, 0, sizeof ua);
	ua.sa_handler = on_usr1;
	ua.sa_flags = SA_ONSTACK;
	sigemptyset(&ua.sa_mask);
	if (sigaction(SIGUSR1, &ua, NULL) != 0)
		abort();
	if (sigsetjmp(back, 1) == 0) {
		raise(SIGUSR1);
		ok(0, "SIGUSR1 with an unwritable alternate stack raised SIGSEGV");
	} else {
		ok(segv_signo == SIGSEGV && segv_code == SI_KERNEL,
		   "SIGUSR1 with an unwritable alternate stack raised SIGSEGV, SI_KERNEL (signo %d, code %d)",
		   (int)segv_signo, (int)segv_code);
	}
	ok(!usr1_ran, "SIGUSR1's handler did not run");
	ok(segv_handler_kept(), "SIGSEGV's handler is still installed");

	/* 2: rt_sigreturn whose frame is an unmapped page. */
	char *good_alt = mmap(NULL, alt_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *hole = mmap(NULL, (size_t)page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (good_alt == MAP_FAILED || hole == MAP_FAILED || munmap(hole, (size_t)page) != 0)
		abort();
	ss.ss_sp = good_alt;
	if (sigaltstack(&ss, NULL) != 0)
		abort();
	set_action(SIGSEGV, on_segv, SA_ONSTACK);
	segv_signo = segv_code = 0;
	if (sigsetjmp(back, 1) == 0)
		sigreturn_at((uintptr_t)hole + (uintptr_t)page / 2);
	ok(segv_signo == SIGSEGV, "rt_sigreturn of an unreadable frame raised a caught SIGSEGV (signo %d)",
	   (int)segv_signo);
	ok(segv_code == SI_KERNEL, "... with si_code SI_KERNEL (%d)", (int)segv_code);
	ok(segv_handler_kept(), "SIGSEGV's handler is still installed");

	/* 3: a frame whose FPU state pointer is unmapped (the hole above). */
	bad_fpstate = hole;
	set_action(SIGSEGV, on_segv_ctx, 0);
	set_action(SIGUSR2, on_usr2_edit, 0);
	segv_signo = segv_code = 0;
	if (sigsetjmp(back, 1) == 0) {
		raise(SIGUSR2);
		ok(0, "rt_sigreturn with an unreadable FPU state raised SIGSEGV");
	} else {
		ok(segv_signo == SIGSEGV && segv_code == SI_KERNEL,
		   "rt_sigreturn with an unreadable FPU state raised SIGSEGV, SI_KERNEL (signo %d, code %d)",
		   (int)segv_signo, (int)segv_code);
	}
	ok(ctx_rbx == 0x5157f00d, "... taken with the frame's RBX (%#lx)", (unsigned long)ctx_rbx);
	ok(ctx_rip == (uint64_t)(uintptr_t)never_here, "... and the frame's RIP (%#lx, want %p)",
	   (unsigned long)ctx_rip, (void *)never_here);
	ok(ctx_term_blocked == 1, "... and the frame's mask (SIGTERM blocked)");
	set_action(SIGSEGV, on_segv, 0);

	/* And the process goes on: a normal signal works again. */
	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	usr1_ran = 0;
	raise(SIGUSR1);
	ok(usr1_ran, "SIGUSR1 on the normal stack runs its handler afterwards");
	return done();
}
