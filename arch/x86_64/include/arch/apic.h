/* apic.h - local APIC (xAPIC MMIO or x2APIC MSRs), I/O APIC, legacy PIC. */
#ifndef ARCH_APIC_H
#define ARCH_APIC_H
#include <stdint.h>
#include <stdbool.h>

/* Per CPU, interrupts off: enable this CPU's LAPIC (x2APIC mode when the
 * CPU has it), spurious vector VEC_SPURIOUS, task priority 0. */
void lapic_init(void);
bool lapic_x2apic_mode(void);
uint32_t lapic_id(void);
/* Signal end of interrupt for the highest-priority in-service vector. */
void lapic_eoi(void);
/* Send a fixed interrupt, or an NMI, to one CPU by APIC id (may be self). */
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
void lapic_send_nmi(uint32_t apic_id);
/* NMI to every CPU but this one, including CPUs weft never started. */
void lapic_send_nmi_others(void);
/* Starting a CPU (arch/x86_64/smpboot.c): INIT, then start-up IPIs whose
 * vector is the physical page number of the real-mode entry (< 0x100). */
void lapic_send_init(uint32_t apic_id);
void lapic_send_startup(uint32_t apic_id, uint8_t page);

/* The LAPIC timer, counting at lapic_timer_hz (found by time_init()). */
extern uint64_t lapic_timer_hz;
void lapic_timer_oneshot(uint32_t count);
void lapic_timer_periodic(uint32_t count);
void lapic_timer_stop(void);
uint32_t lapic_timer_current(void);

/* The I/O APIC (address from ACPI, or the standard 0xfec00000). */
void ioapic_init(void);
/* Route an ISA IRQ (honouring ACPI overrides) to `vector` on the boot CPU. */
void ioapic_route_isa(unsigned isa_irq, unsigned vector);
void ioapic_mask_isa(unsigned isa_irq);

/* Remap the 8259 PICs away from the exception vectors and mask them all. */
void pic_disable(void);

/* Map device registers uncached into the kernel's I/O window. */
void *ioremap(uint64_t phys, uint64_t size);
#endif
