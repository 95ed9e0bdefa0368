/* timer.h - one-shot kernel timers on the per-CPU deadline timer
 * (kernel/timer.c). The LAPIC timer is programmed in one-shot mode for the
 * earliest of: the next timer deadline, the running thread's slice end,
 * and (a thread other than idle running) the busy tick. An idle CPU with
 * no timers takes no timer interrupts at all. */
#ifndef WEFT_TIMER_H
#define WEFT_TIMER_H
#include <stdint.h>
#include <stdbool.h>
#include <weft/list.h>

/* A CPU running a thread (not its idle thread) takes a timer interrupt at
 * least this often, alone or not, on a grid shared by all CPUs
 * (kernel/timer.c: the busy tick). */
#define BUSY_TICK_NS 10000000ULL

struct timer {
	uint64_t deadline;             /* clock_monotonic_ns() value */
	void (*fn)(struct timer *t);   /* runs in interrupt context */
	void *data;
	struct list_head link;         /* on a CPU's sorted timer list */
	int cpu;                       /* whose list, or -1 if not pending */
};

void timer_init_struct(struct timer *t, void (*fn)(struct timer *), void *data);
/* Arm t on this CPU. Any context. */
void timer_add(struct timer *t, uint64_t deadline);
/* Disarm; true if it was still pending (its fn will not run). If it had
 * already fired, waits until its fn has returned on whichever CPU ran it,
 * so t may be freed afterwards (never call it from t's own fn). */
bool timer_cancel(struct timer *t);
/* Reprogram this CPU's LAPIC timer for min(next timer, percpu.slice_end);
 * now = the caller's clock_monotonic_ns() reading. Also for tests that
 * borrowed the LAPIC timer (timer_set_hook) and give it back. */
void timer_program(uint64_t now);
/* The LAPIC timer interrupt: runs expired timers, then the scheduler tick. */
void timer_init(void);

/* This CPU's last LAPIC timer interrupt: when its handler ran, how long
 * after the deadline the LAPIC was armed for (0 if not late), and whether
 * it found the CPU idle. An interrupt that comes late to an idle CPU (which
 * waits in HLT with interrupts on) was delayed by the machine, not by the
 * kernel: under emulation, by the host not running the virtual CPU. Tests
 * of wake-up latency subtract that part. */
struct timer_irq_stamp {
	uint64_t at;
	uint64_t late_ns;
	bool idle;
};
void timer_last_irq(struct timer_irq_stamp *out);
/* Every CPU's pending timers, slice end and armed LAPIC deadline (hang
 * reports). Any context; does not wait for the timer locks. */
void timer_dump(void);
#endif
