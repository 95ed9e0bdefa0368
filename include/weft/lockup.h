/* lockup.h - the soft-lockup and hung-thread detectors (kernel/lockup.c).
 *
 * lockup_timeout=S: a CPU not preemptible (interrupts or preemption off in
 * the kernel) for S seconds is reported by another CPU with its NMI
 * backtrace. hung_timeout=S: a thread runnable but not run, or asleep
 * uninterruptibly, for S seconds is reported with its backtrace. Both then
 * panic when hang_panic is on (by default while tests run: test=). */
#ifndef WEFT_LOCKUP_H
#define WEFT_LOCKUP_H
#include <stdbool.h>
#include <stdint.h>

struct trap_frame;

#define LOCKUP_TIMEOUT_DEFAULT_S 20
#define HUNG_TIMEOUT_DEFAULT_S 120

/* Start every online CPU's watchdog (after smp_boot_aps). */
void lockup_init(void);
/* NMI handler: true if this NMI asked for this CPU's backtrace (given). */
bool lockup_nmi(const struct trap_frame *f);
/* Print where CPU `cpu` (another one) is, taken by NMI: registers line,
 * interrupts on/off, preempt count, its kernel backtrace. Waits for it at
 * most 2 s; says so if it never answers. Any context. */
void lockup_backtrace_cpu(unsigned cpu);
/* LAPIC timer interrupt (kernel/timer.c), now = its clock reading: if the
 * interrupted code could have been preempted, this CPU is alive. */
void lockup_tick(uint64_t now);
/* Do reports end in a panic (hang_panic)? */
bool lockup_panics(void);
#endif
