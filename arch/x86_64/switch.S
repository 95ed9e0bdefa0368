/*
 * switch.S - the context switch, and a new thread's first instructions.
 *
 * The frame layout is struct switch_frame in <arch/switch.h>; the SWF_*
 * offsets there are checked against it in kernel/thread.c.
 */
#include <arch/switch.h>

	.text
/* struct thread *switch_to(struct thread *prev in RDI, struct thread *next in RSI)
 * Interrupts are off and the run-queue lock is held (kernel/sched.c).
 * Only callee-saved registers need saving: to the C caller this is an
 * ordinary function call, which may clobber all the others. */
	.globl switch_to
switch_to:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15                        /* RSP now points at a struct switch_frame */
	movq %rsp, THREAD_SAVED_RSP(%rdi) /* prev is now switched out... */
	movq THREAD_SAVED_RSP(%rsi), %rsp /* ...and we are on next's stack */
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	movq %rdi, %rax                   /* return prev to next's caller of switch_to */
	ret

/* A new thread's first switch "returns" here (switch_frame.ret), with
 * RAX = the previous thread, R12 = entry function, R13 = its argument.
 * RBP was built as 0, which ends backtraces at this frame. */
	.globl thread_start
thread_start:
	movq %rax, %rdi
	call schedule_tail                /* finish the switch: unlock the run queue */
	sti                               /* new threads start with interrupts on */
	movq %r13, %rdi
	call *%r12                        /* fn(arg) */
	movq %rax, %rdi
	call thread_exit                  /* fn returned: exit with its value */
	ud2                               /* thread_exit never returns */
