/* irqflags.h - the CPU's interrupt flag (RFLAGS.IF), saved and restored.
 *
 * local_irq_save() returns the whole RFLAGS so that a later
 * local_irq_restore() re-enables interrupts only if they were on before.
 */
#ifndef ARCH_IRQFLAGS_H
#define ARCH_IRQFLAGS_H
#include <stdbool.h>

#define RFLAGS_IF (1UL << 9)

static inline unsigned long read_rflags(void)
{
	unsigned long f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f) : : "memory");
	return f;
}

static inline void local_irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void local_irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }

static inline unsigned long local_irq_save(void)
{
	unsigned long f = read_rflags();
	local_irq_disable();
	return f;
}

static inline void local_irq_restore(unsigned long flags)
{
	if (flags & RFLAGS_IF)
		local_irq_enable();
}

static inline bool irqs_enabled(void) { return read_rflags() & RFLAGS_IF; }

/* Halt until the next interrupt, enabling interrupts atomically with HLT
 * (STI's one-instruction shadow means no interrupt can slip in between). */
static inline void safe_halt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
#endif
