/*
 * time.c - TSC clock and LAPIC timer calibration against the PIT.
 *
 * The 8254 PIT counts at a fixed 1.193182 MHz on every PC. Its channel 2
 * (the one wired to the PC speaker) can be gated by software and its
 * output read back through port 0x61, so we can time a precise interval
 * without interrupts: start a one-shot countdown and read the TSC at both
 * ends. Rounds until the two shortest agree; the shortest TSC delta wins
 * (anything else was disturbed, e.g. by the host under emulation). The LAPIC timer is
 * measured against the TSC over the same interval, each of its reads
 * dated by the narrowest RDTSC bracket of several (lapic_read_dated()).
 */
#include <weft/time.h>
#include <weft/printk.h>
#include <arch/cpu.h>
#include <arch/apic.h>
#include <arch/trap.h>
#include <arch/percpu.h>

#define PIT_HZ       1193182ULL
#define PIT_TICKS    11932          /* 10 ms */
#define CALIB_MAX_ROUNDS 12

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

/* The LAPIC timer's count and the TSC at the moment it was read: the
 * read is bracketed by two RDTSCs and the narrowest bracket of a few
 * tries wins. (Under emulation the host may stall the CPU between any
 * two instructions; a stall inside the bracket would misdate the count.) */
static void lapic_read_dated(uint32_t *count, uint64_t *tsc)
{
	uint64_t best = ~0ULL;
	for (int i = 0; i < 8; i++) {
		uint64_t a = rdtsc();
		uint32_t l = lapic_timer_current();
		uint64_t b = rdtsc();
		if (b - a < best) {
			best = b - a;
			*count = l;
			*tsc = a + (b - a) / 2;
		}
	}
}

/* One round over PIT_TICKS: the TSC ticks the PIT interval took, and the
 * LAPIC timer's ticks per TSC tick as a fraction (lapic_ticks over
 * lapic_tsc), measured against the TSC itself, so that a stall between
 * the PIT and the LAPIC reads cannot skew it. */
static void pit_measure(uint64_t *tsc_ticks, uint64_t *lapic_ticks, uint64_t *lapic_tsc)
{
	uint8_t gate = inb(0x61) & ~0x03;
	outb(0x61, gate);                   /* speaker off, channel 2 gate low */
	outb(0x43, 0xb0);                   /* channel 2, lo/hi byte, mode 0 */
	outb(0x42, PIT_TICKS & 0xff);
	lapic_timer_oneshot(0xffffffff);
	uint32_t l0 = 0, l1 = 0;
	uint64_t lt0 = 0, lt1 = 0;
	lapic_read_dated(&l0, &lt0);
	/* t0 is read before the count can start, so that a stall anywhere
	 * only lengthens the round and the shortest round is the truest. A
	 * real 8254 in mode 0 counts once GATE is high; QEMU's starts at the
	 * write of the count's high byte and ignores GATE. (With t0 after
	 * both, a stall in between made a round look nearly empty: "TSC
	 * 4.954 MHz" on a loaded host.) */
	uint64_t t0 = rdtsc();
	outb(0x42, PIT_TICKS >> 8);         /* count loaded: QEMU starts here */
	outb(0x61, gate | 0x01);            /* GATE high: a real PIT starts here */
	while (!(inb(0x61) & 0x20))         /* OUT2 goes high at terminal count */
		cpu_relax();
	uint64_t t1 = rdtsc();
	lapic_read_dated(&l1, &lt1);
	lapic_timer_stop();
	*tsc_ticks = t1 - t0;
	*lapic_ticks = l0 - l1;             /* the timer counts down */
	*lapic_tsc = lt1 - lt0;
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
	/* Rounds until the two shortest agree within 1/1000 (a disturbed
	 * round is longer, never shorter), at most CALIB_MAX_ROUNDS. */
	uint64_t best_tsc = ~0ULL, second = ~0ULL, best_lapic = 0, best_lapic_tsc = 1;
	int rounds = 0;
	while (rounds < CALIB_MAX_ROUNDS) {
		uint64_t t, l, lt;
		pit_measure(&t, &l, &lt);
		rounds++;
		if (t < best_tsc) {
			second = best_tsc;
			best_tsc = t;
			best_lapic = l;
			best_lapic_tsc = lt ? lt : 1;
		} else if (t < second) {
			second = t;
		}
		if (second != ~0ULL && second - best_tsc <= best_tsc / 1000)
			break;
	}
	tsc_hz = best_tsc * PIT_HZ / PIT_TICKS;
	/* LAPIC Hz = (LAPIC ticks per TSC tick) x TSC Hz. The product fits in
	 * 64 bits for any real rates (10 ms at 10 GHz times 10 GHz is 1e18);
	 * should it not, trade precision for range. */
	uint64_t prod;
	if (!__builtin_mul_overflow(best_lapic, tsc_hz, &prod))
		lapic_timer_hz = prod / best_lapic_tsc;
	else
		lapic_timer_hz = best_lapic * (tsc_hz / 1000) / best_lapic_tsc * 1000;
	if (tsc_hz == 0 || lapic_timer_hz == 0) {
		pr_err("time: calibration failed (tsc %lu Hz, lapic %lu Hz); assuming 1 GHz\n",
		       (unsigned long)tsc_hz, (unsigned long)lapic_timer_hz);
		tsc_hz = tsc_hz ? tsc_hz : 1000000000ULL;
		lapic_timer_hz = lapic_timer_hz ? lapic_timer_hz : 1000000000ULL;
	}
	tsc_clock.base = rdtsc();
	tsc_clock.mult = (NSEC_PER_SEC << 32) / tsc_hz; /* 1e9 << 32 still fits in 64 bits */
	irq_register(VEC_TIMER, timer_irq, NULL);
	pr_info("time: TSC %lu.%03lu MHz, LAPIC timer %lu.%03lu MHz (PIT, %d rounds%s)\n",
		(unsigned long)(tsc_hz / 1000000), (unsigned long)(tsc_hz / 1000 % 1000),
		(unsigned long)(lapic_timer_hz / 1000000),
		(unsigned long)(lapic_timer_hz / 1000 % 1000), rounds,
		second - best_tsc <= best_tsc / 1000 ? "" : ", no two agreed: the host is busy");
}
