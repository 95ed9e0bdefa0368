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
#include <arch/percpu.h>

static inline void preempt_disable(void)
{
	percpu_inc(preempt_count);
	__asm__ volatile("" ::: "memory");
}

/* Drop the count; the scheduler (issue 3) checks need-resched here. */
static inline void preempt_enable_no_resched(void)
{
	__asm__ volatile("" ::: "memory");
	percpu_dec(preempt_count);
}

void preempt_enable(void);

static inline unsigned preempt_count(void) { return percpu_read(preempt_count); }
#endif
