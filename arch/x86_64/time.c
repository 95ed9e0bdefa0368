/*
 * time.c - TSC clock and LAPIC timer calibration against the PIT.
 *
 * The 8254 PIT counts at a fixed 1.193182 MHz on every PC. Its channel 2
 * (the one wired to the PC speaker) can be gated by software and its
 * output read back through port 0x61, so we can time a precise interval
 * without interrupts: start a one-shot countdown, read the TSC and the
 * LAPIC timer's count at both ends. Three rounds; the shortest TSC delta
 * wins (anything else was disturbed, e.g. by the host under emulation).
 */
#include <weft/time.h>
#include <weft/printk.h>
#include <arch/cpu.h>
#include <arch/apic.h>
#include <arch/trap.h>
#include <arch/percpu.h>

#define PIT_HZ       1193182ULL
#define PIT_TICKS    11932          /* 10 ms */
#define CALIB_ROUNDS 3

uint64_t tsc_hz;
struct tsc_clock tsc_clock;
static uint64_t timer_irqs[MAX_CPUS];
static timer_hook_t timer_hook;

void udelay(uint64_t us)
{
	uint64_t end = clock_monotonic_ns() + us * NSEC_PER_USEC;
	while (clock_monotonic_ns() < end)
		cpu_relax();
}

/* One round: returns TSC ticks and LAPIC timer ticks over PIT_TICKS. */
static void pit_measure(uint64_t *tsc_ticks, uint64_t *lapic_ticks)
{
	uint8_t gate = inb(0x61) & ~0x03;
	outb(0x61, gate);                   /* speaker off, channel 2 gate low: paused */
	outb(0x43, 0xb0);                   /* channel 2, lo/hi byte, mode 0 */
	outb(0x42, PIT_TICKS & 0xff);
	outb(0x42, PIT_TICKS >> 8);         /* loaded, but mode 0 counts only while GATE is high */
	lapic_timer_oneshot(0xffffffff);
	outb(0x61, gate | 0x01);            /* start counting now */
	uint32_t l0 = lapic_timer_current();
	uint64_t t0 = rdtsc();
	while (!(inb(0x61) & 0x20))         /* OUT2 goes high at terminal count */
		cpu_relax();
	uint64_t t1 = rdtsc();
	uint32_t l1 = lapic_timer_current();
	lapic_timer_stop();
	*tsc_ticks = t1 - t0;
	*lapic_ticks = l0 - l1;
}

static void timer_irq(struct trap_frame *f, void *arg)
{
	(void)f;
	(void)arg;
	timer_irqs[cpu_id()]++;
	if (timer_hook)
		timer_hook();
}

uint64_t timer_interrupts(void) { return timer_irqs[cpu_id()]; }
timer_hook_t timer_set_hook(timer_hook_t hook)
{
	return __atomic_exchange_n(&timer_hook, hook, __ATOMIC_ACQ_REL);
}

void time_init(void)
{
	uint64_t best_tsc = ~0ULL, best_lapic = 0;
	for (int i = 0; i < CALIB_ROUNDS; i++) {
		uint64_t t, l;
		pit_measure(&t, &l);
		if (t < best_tsc) {
			best_tsc = t;
			best_lapic = l;
		}
	}
	tsc_hz = best_tsc * PIT_HZ / PIT_TICKS;
	lapic_timer_hz = best_lapic * PIT_HZ / PIT_TICKS;
	if (tsc_hz == 0 || lapic_timer_hz == 0) {
		pr_err("time: calibration failed (tsc %lu Hz, lapic %lu Hz); assuming 1 GHz\n",
		       (unsigned long)tsc_hz, (unsigned long)lapic_timer_hz);
		tsc_hz = tsc_hz ? tsc_hz : 1000000000ULL;
		lapic_timer_hz = lapic_timer_hz ? lapic_timer_hz : 1000000000ULL;
	}
	tsc_clock.base = rdtsc();
	tsc_clock.mult = (NSEC_PER_SEC << 32) / tsc_hz; /* 1e9 << 32 still fits in 64 bits */
	irq_register(VEC_TIMER, timer_irq, NULL);
	pr_info("time: TSC %lu.%03lu MHz, LAPIC timer %lu.%03lu MHz (PIT, best of %d)\n",
		(unsigned long)(tsc_hz / 1000000), (unsigned long)(tsc_hz / 1000 % 1000),
		(unsigned long)(lapic_timer_hz / 1000000),
		(unsigned long)(lapic_timer_hz / 1000 % 1000), CALIB_ROUNDS);
}
