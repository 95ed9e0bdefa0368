/* time.h - the monotonic clock and the calibrated timer hardware.
 *
 * The clock is the TSC, converted to nanoseconds with a fixed-point
 * multiplier found at boot by measuring the TSC against the PIT. It starts
 * at 0 when time_init() runs and never goes backwards on one CPU.
 */
#ifndef WEFT_TIME_H
#define WEFT_TIME_H
#include <stdint.h>

#define NSEC_PER_SEC  1000000000ULL
#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_USEC 1000ULL

extern uint64_t tsc_hz;

/* Nanoseconds since time_init(); 0 before it. Any context. */
uint64_t clock_monotonic_ns(void);
uint64_t tsc_to_ns(uint64_t tsc_delta);

/* Calibrate the TSC and the LAPIC timer against the PIT (boot CPU, IRQs off). */
void time_init(void);
/* Busy-wait (for drivers and tests; does not yield). */
void udelay(uint64_t us);

/* Number of LAPIC timer interrupts taken on this CPU, and a hook the timer
 * interrupt calls (the scheduler installs its tick here in issue 3). */
uint64_t timer_interrupts(void);
typedef void (*timer_hook_t)(void);
/* Install the hook; returns the previous one (tests that program the LAPIC
 * timer themselves set NULL, then put the old hook back). */
timer_hook_t timer_set_hook(timer_hook_t hook);
#endif
