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

/* The TSC clock's parameters, set once by time_init():
 * ns = (tsc - base) * mult >> 32. mult is 0 before calibration. */
struct tsc_clock {
	uint64_t base;
	uint64_t mult;
};
extern struct tsc_clock tsc_clock;

static inline uint64_t tsc_to_ns(uint64_t tsc_delta)
{
	return (uint64_t)(((unsigned __int128)tsc_delta * tsc_clock.mult) >> 32);
}

/* Nanoseconds since time_init(); 0 before it. Any context. Inline: the
 * scheduler reads it on every switch (a RDTSC and a multiply). */
static inline uint64_t clock_monotonic_ns(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return tsc_to_ns((((uint64_t)hi << 32) | lo) - tsc_clock.base);
}

/* Wall-clock time at monotonic 0, from the CMOS RTC (arch/x86_64/rtc.c):
 * CLOCK_REALTIME = clock_monotonic_ns() + time_rtc_epoch_ns. */
extern uint64_t time_rtc_epoch_ns;
void time_rtc_init(void);

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
