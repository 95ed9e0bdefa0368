/* switch.h - the frame a switched-out thread leaves on its kernel stack.
 *
 * switch_to() (arch/x86_64/switch.S) pushes the callee-saved registers,
 * stores RSP in prev->saved_rsp, loads next->saved_rsp and pops. So a
 * sleeping thread's stack ends with this struct (lowest address first),
 * and thread->saved_rsp points at it. Everything else the thread needs -
 * caller-saved registers, the interrupted context if it was preempted -
 * was already saved further up the same stack by the C calling convention
 * or by entry.S's trap frame.
 *
 * A new thread's stack is built to look like this too (kernel/thread.c),
 * with ret = thread_start (switch.S), so its first switch "returns" into
 * the start trampoline, which finds its entry function in r12 and its
 * argument in r13.
 */
#ifndef ARCH_SWITCH_H
#define ARCH_SWITCH_H

#define SWF_R15 0
#define SWF_R14 8
#define SWF_R13 16
#define SWF_R12 24
#define SWF_RBX 32
#define SWF_RBP 40
#define SWF_RET 48
#define SWF_SIZE 56

#define THREAD_SAVED_RSP 0   /* offsetof(struct thread, saved_rsp) */
#define THREAD_EXIT_WORK 8   /* offsetof(struct thread, exit_work): entry.S's SYSRET check */

#ifndef __ASSEMBLER__
#include <stdint.h>
struct switch_frame {
	uint64_t r15, r14, r13, r12, rbx, rbp;
	uint64_t ret;   /* where switch_to's RET goes */
};
struct thread;
/* Switch from prev (the running thread) to next. Returns, in the context
 * of the thread that later switches back to prev, the thread it switched
 * away from. Called by schedule() only: run-queue lock held, IRQs off. */
struct thread *switch_to(struct thread *prev, struct thread *next);
/* First code a new thread runs (never called directly). */
void thread_start(void);
#endif
#endif
