/*
 * ioapic.c - the I/O APIC, and the legacy 8259 PICs it replaces.
 *
 * Device interrupts (ISA IRQs here) enter through an I/O APIC pin (a
 * "global system interrupt", GSI) whose redirection entry names the vector
 * and destination CPU. ISA IRQ n is GSI n unless ACPI's MADT says otherwise
 * (typically IRQ 0 -> GSI 2), with polarity and trigger mode from the same
 * override.
 */
#include <arch/apic.h>
#include <arch/acpi.h>
#include <arch/cpu.h>
#include <arch/percpu.h>
#include <weft/printk.h>
#include <weft/spinlock.h>

#define IOREGSEL 0x00
#define IOWIN    0x10
#define IOAPIC_VER 0x01
#define REDTBL(n) (0x10 + 2 * (n))
#define RED_MASKED     (1U << 16)
#define RED_LEVEL      (1U << 15)
#define RED_ACTIVE_LOW (1U << 13)

static volatile uint32_t *ioapic;
static uint32_t ioapic_gsi_base, ioapic_pins;
static spinlock_t ioapic_lock = SPINLOCK_INIT("ioapic"); /* guards IOREGSEL+IOWIN pairs */

static uint32_t ioapic_read(uint32_t reg)
{
	ioapic[IOREGSEL / 4] = reg;
	return ioapic[IOWIN / 4];
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	ioapic[IOREGSEL / 4] = reg;
	ioapic[IOWIN / 4] = v;
}

void ioapic_init(void)
{
	uint64_t phys = 0xfec00000;
	if (acpi_info.found && acpi_info.nioapics) {
		phys = acpi_info.ioapic[0].phys;
		ioapic_gsi_base = acpi_info.ioapic[0].gsi_base;
	}
	ioapic = ioremap(phys, 4096);
	ioapic_pins = ((ioapic_read(IOAPIC_VER) >> 16) & 0xff) + 1;
	for (uint32_t i = 0; i < ioapic_pins; i++) {
		ioapic_write(REDTBL(i), RED_MASKED);
		ioapic_write(REDTBL(i) + 1, 0);
	}
	pr_info("ioapic: %u pins at %lx, GSI base %u\n", ioapic_pins, (unsigned long)phys,
		ioapic_gsi_base);
}

static uint32_t isa_to_pin(unsigned irq, uint32_t *flags)
{
	uint32_t gsi = irq;
	*flags = 0;
	if (acpi_info.found && irq < 16 && acpi_info.isa_override[irq].present) {
		gsi = acpi_info.isa_override[irq].gsi;
		if (acpi_info.isa_override[irq].active_low)
			*flags |= RED_ACTIVE_LOW;
		if (acpi_info.isa_override[irq].level)
			*flags |= RED_LEVEL;
	}
	return gsi - ioapic_gsi_base;
}

void ioapic_route_isa(unsigned irq, unsigned vector)
{
	uint32_t flags;
	uint32_t pin = isa_to_pin(irq, &flags);
	if (pin >= ioapic_pins) {
		pr_err("ioapic: ISA IRQ %u maps to missing pin %u\n", irq, pin);
		return;
	}
	unsigned long f = spin_lock_irqsave(&ioapic_lock);
	/* Physical destination: the boot CPU's APIC id, fixed delivery. */
	ioapic_write(REDTBL(pin) + 1, cpu_list[0]->apic_id << 24);
	ioapic_write(REDTBL(pin), vector | flags);
	spin_unlock_irqrestore(&ioapic_lock, f);
}

void ioapic_mask_isa(unsigned irq)
{
	uint32_t flags;
	uint32_t pin = isa_to_pin(irq, &flags);
	if (pin >= ioapic_pins)
		return;
	unsigned long f = spin_lock_irqsave(&ioapic_lock);
	ioapic_write(REDTBL(pin), RED_MASKED);
	spin_unlock_irqrestore(&ioapic_lock, f);
}

void pic_disable(void)
{
	/* Remap to 0xd0/0xd8 (ICW1..ICW4) so a stray legacy interrupt cannot
	 * look like an exception, then mask every line. */
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, 0xd0);  /* master: vectors 0xd0..0xd7 */
	outb(0xa1, 0xd8);  /* slave: 0xd8..0xdf (never unmasked) */
	outb(0x21, 0x04);
	outb(0xa1, 0x02);
	outb(0x21, 0x01);
	outb(0xa1, 0x01);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}
