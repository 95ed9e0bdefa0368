/*
 * vcpu_yield.c - lend this CPU to a starved one when the machine runs all
 * virtual CPUs in one host thread.
 *
 * Why: QEMU's single-threaded TCG (what -icount forces) runs the vCPUs in
 * turn, always starting from CPU 0, and in the QEMU 7.2 that Debian 12
 * ships each vCPU's turn may last until the next virtual-timer deadline.
 * A vCPU ends its turn early only by halting, by PAUSE (QEMU's "let
 * another CPU run"), or by arming a timer that becomes the earliest. A CPU
 * running a user loop does none of these, so it uses up every turn to the
 * deadline and the CPUs after it get none: they stay exactly where they
 * were, however long the guest's clock runs (issue 11, item 1: CPU 1 in
 * lapic_timer_oneshot with interrupts off for ever while CPU 0 spins in
 * ring 3). Taking a timer interrupt does not help by itself: a handler
 * that re-arms the LAPIC is kicked out of its own turn, so a starved CPU
 * only ever gets through one interrupt handler per round and never back to
 * its thread. (QEMU 8.1 splits each round's budget among the vCPUs; see
 * docs/ARCHITECTURE.md.) Under multi-threaded TCG, KVM or real hardware
 * every CPU runs on its own, and this triggers only when a timer interrupt
 * really is that late: a vCPU thread the host did not run (the others then
 * halting gives it the host CPU sooner), or interrupts held off for
 * milliseconds; each costs the other busy CPUs one halt until their next
 * interrupt.
 *
 * How: the LAPIC timer handler measures how late it came and how long it
 * took (timer.c). More than YIELD_STRETCH_NS of either means this CPU was
 * not run for that long while it had work: it posts a request. Every other
 * CPU that is running a thread (its busy tick, timer.c, guarantees it a
 * timer interrupt at least every BUSY_TICK_NS) answers each new request
 * once, at its next timer interrupt: on the way out of the interrupt
 * (trap.c), with the interrupt acknowledged, it halts with interrupts on
 * until its next interrupt. A halted vCPU takes no turn, so the starved
 * ones get the rounds until then - up to a busy tick.
 *
 * State: requests are a time stamp and a mask (atomics, any CPU); what
 * each CPU answered last is its own (interrupts off).
 */
#include <weft/vcpu_yield.h>
#include <weft/time.h>
#include <weft/sched.h>
#include <weft/thread.h>
#include <arch/percpu.h>
#include <arch/irqflags.h>
#include <arch/cpu.h>
#include <weft/panic.h>
#include <weft/printk.h>

static uint64_t request_at;       /* latest request's clock_monotonic_ns(); 0 = none */
static uint64_t starved_mask;     /* CPUs whose last timer interrupt was stretched */

/* Timer interrupt, interrupts off: late = how long after its deadline the
 * interrupt was taken, took = how long the handler ran. */
void vcpu_yield_note(uint64_t late, uint64_t took, uint64_t now)
{
	struct percpu *c = this_cpu();
	uint64_t bit = 1ULL << c->cpu_id;
	if (late > YIELD_STRETCH_NS || took > YIELD_STRETCH_NS) {
		__atomic_fetch_or(&starved_mask, bit, __ATOMIC_RELAXED);
		__atomic_store_n(&request_at, now, __ATOMIC_RELEASE);
		/* Once per boot, in the log buffer (dmesg), on the console only
		 * at loglevel=7: a host that is briefly busy causes it, and the
		 * line would land in the middle of a program's output. */
		static bool said;
		if (!__atomic_exchange_n(&said, true, __ATOMIC_RELAXED))
			pr_debug("vcpu_yield: CPU %u was not run for %lu us (timer interrupt %lu us "
				"late, handler %lu us); the other CPUs lend it turns\n", c->cpu_id,
				(unsigned long)((late > took ? late : took) / 1000),
				(unsigned long)(late / 1000), (unsigned long)(took / 1000));
		return;
	}
	if (__atomic_load_n(&starved_mask, __ATOMIC_RELAXED) & bit)
		__atomic_fetch_and(&starved_mask, ~bit, __ATOMIC_RELAXED);
	uint64_t req = __atomic_load_n(&request_at, __ATOMIC_ACQUIRE);
	if (req == c->vcpu_answered || c->current->idle || c->vcpu_lending)
		return;
	c->vcpu_answered = req;
	/* Only while someone else still says it is starved. */
	if (__atomic_load_n(&starved_mask, __ATOMIC_RELAXED) & ~bit)
		c->vcpu_lend = true;
}

/* trap.c, on the way out of an interrupt with percpu.vcpu_lend set:
 * interrupts off, acknowledged, irq depth 0. Halt until the next interrupt if a request is to be
 * answered; the interrupt that wakes us is handled here (nested in this
 * exit path, like one taken in any preemptible kernel code). */
void vcpu_yield_lend(struct percpu *c)
{
	if (c->irq_depth || irqs_enabled())
		panic("vcpu_yield_lend: irq depth %u, interrupts %s: not an interrupt's way out",
		      c->irq_depth, irqs_enabled() ? "on" : "off");
	c->vcpu_lend = false;
	c->vcpu_lending = true;  /* the waking interrupt answers no request */
	c->vcpu_lends++;
	safe_halt();             /* STI;HLT: the next interrupt ends it */
	local_irq_disable();
	c->vcpu_lending = false;
}
