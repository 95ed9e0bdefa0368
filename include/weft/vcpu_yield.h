/* vcpu_yield.h - lend this CPU to a virtual CPU the emulator is not
 * running (kernel/vcpu_yield.c: why QEMU's single-threaded TCG needs it). */
#ifndef WEFT_VCPU_YIELD_H
#define WEFT_VCPU_YIELD_H
#include <stdint.h>
#include <arch/percpu.h>

/* A timer interrupt taken more than this late, or whose handler ran this
 * long, means this CPU was not being run: it asks the others for turns.
 * (A handler takes microseconds, and weft keeps interrupts off for much
 * less than this almost everywhere.) */
#define YIELD_STRETCH_NS 2000000ULL

/* LAPIC timer handler, interrupts off: how late it came and how long it
 * took; decides whether this interrupt's exit lends the CPU. */
void vcpu_yield_note(uint64_t late, uint64_t took, uint64_t now);
/* trap.c: halt until the next interrupt (percpu.vcpu_lend was set). */
void vcpu_yield_lend(struct percpu *c);
#endif
