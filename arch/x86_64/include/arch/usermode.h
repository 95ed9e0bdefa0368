/* usermode.h - ring 3: SYSCALL setup, entering and leaving user mode, and
 * the per-thread user state the context switch carries
 * (arch/x86_64/usermode.c, entry.S).
 */
#ifndef ARCH_USERMODE_H
#define ARCH_USERMODE_H
#include <stdint.h>
#include <stdbool.h>
#include <arch/trap.h>
#include <weft/thread.h>
#include <weft/signal.h>

struct thread;
struct trap_frame;
struct percpu;

/* Per CPU at boot: SYSCALL MSRs, and SMEP/SMAP/UMIP when present. */
void usermode_init_cpu(void);
/* First entry to ring 3 through the IRETQ exit (entry.S); f must be at the
 * top of the current thread's kernel stack. Interrupts may be on. */
__attribute__((noreturn)) void user_enter(struct trap_frame *f);
/* The switch path (kernel/sched.c), IRQs off, run-queue lock held: save
 * prev's user state, load next's, switch address space when it differs. */
void user_switch_state(struct percpu *c, struct thread *prev, struct thread *next);
/* Leaving the kernel for ring 3 (after a system call, interrupt or
 * exception from user mode): handle need-resched, exit requests and
 * signals until none is left. Returns with interrupts off; the result is
 * true when the frame must leave by IRETQ rather than SYSRET. */
bool exit_to_user_mode(struct trap_frame *f);

/* entry.S's C half of a system call (kernel/syscall.c), called with the
 * program's six argument registers: run it, and say whether the frame
 * must leave by IRETQ (1) or may by SYSRET (0). */
int syscall_dispatch(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);

/*
 * After system call result r, may the thread leave by SYSRET at once?
 * Needs: no work flagged on the thread (exit_work: need-resched, a signal,
 * killed, a rewritten frame), a result that is not a restart code, and so
 * the frame as SYSCALL built it: only rt_sigreturn rewrites a system
 * call's frame, and it flags frame_rewritten; signal delivery and restarts
 * happen on the slow way, exit_to_user_mode(). Such a frame
 * is SYSRET-safe by construction: RCX = RIP and R11 = RFLAGS as pushed,
 * and RIP the address after a SYSCALL below USER_TOP, which leaves the
 * last page of the lower half unmapped (a SYSCALL in it could return to a
 * non-canonical RIP). Interrupts off.
 */
static inline bool syscall_exit_is_fast(const struct thread *t, long r)
{
	return t->exit_work == 0 && (uint64_t)(r + ERESTARTNOHAND) > ERESTARTNOHAND - ERESTARTSYS;
}
/* An exception from ring 3 (trap.c): resolve it or signal the thread. */
void user_exception(struct trap_frame *f);
/* A #PF in the kernel on a user address from uaccess code: true if
 * vm_fault() resolved it and the instruction may be retried. */
bool user_fault_from_kernel(struct trap_frame *f);
#endif
