/* preempt.h - the per-CPU preempt count.
 *
 * While a CPU's preempt count is non-zero the thread running on it must not
 * be switched out involuntarily: spinlock holders, interrupt handlers and
 * code that touches per-CPU data raise it. The count lives in the per-CPU
 * structure (struct percpu, reached through GS) and is read and changed
 * with single GS-relative instructions, so no interrupt can tear it.
 */
#ifndef WEFT_PREEMPT_H
#define WEFT_PREEMPT_H
#include <stdbool.h>
#include <arch/percpu.h>

static inline void preempt_disable(void)
{
	percpu_inc(preempt_count);
	__asm__ volatile("" ::: "memory");
}

static inline void preempt_enable_no_resched(void)
{
	__asm__ volatile("" ::: "memory");
	percpu_dec(preempt_count);
}

/* struct thread keeps need_resched at this offset (checked in
 * kernel/thread.c), so this header can test it without <weft/thread.h>. */
#define THREAD_NEED_RESCHED 8

/* The running thread has been asked to give up the CPU. percpu.current is
 * never NULL: it points at the boot thread from kmain's first line. */
static inline bool need_resched(void)
{
	char *t = (char *)percpu_read(current);
	return *(volatile bool *)(t + THREAD_NEED_RESCHED);
}

/* kernel/sched.c: switch now if that is allowed here (interrupts on, not
 * in an interrupt handler). */
void preempt_schedule(void);

/* Drop the count; at zero, a pending need-resched is honoured right here. */
static inline void preempt_enable(void)
{
	__asm__ volatile("" ::: "memory");
	percpu_dec(preempt_count);
	if (__builtin_expect(percpu_read(preempt_count) == 0 && need_resched(), 0))
		preempt_schedule();
}

static inline unsigned preempt_count(void) { return percpu_read(preempt_count); }
#endif
