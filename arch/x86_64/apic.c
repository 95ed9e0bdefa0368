/*
 * apic.c - the local APIC.
 *
 * Two access methods with the same registers: xAPIC maps them at a
 * physical page (MMIO, register r at offset r), x2APIC exposes them as
 * MSRs 0x800 + r/16 (faster, no MMIO, and the ICR is one 64-bit write).
 * weft uses x2APIC whenever CPUID says the CPU has it.
 */
#include <arch/apic.h>
#include <arch/cpu.h>
#include <arch/trap.h>
#include <arch/acpi.h>
#include <arch/percpu.h>
#include <arch/irqflags.h>
#include <weft/printk.h>

#define APIC_ID        0x020
#define APIC_EOI       0x0b0
#define APIC_TPR       0x080
#define APIC_SVR       0x0f0
#define APIC_ESR       0x280
#define APIC_ICR_LO    0x300
#define APIC_ICR_HI    0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR  0x390
#define APIC_TIMER_DIV  0x3e0

#define APIC_BASE_ENABLE (1UL << 11)
#define APIC_BASE_X2APIC (1UL << 10)
#define LVT_MASKED       (1U << 16)
#define LVT_PERIODIC     (1U << 17)
#define ICR_NMI          (4U << 8)
#define ICR_INIT         (5U << 8)
#define ICR_STARTUP      (6U << 8)
#define ICR_PENDING      (1U << 12)
#define ICR_ASSERT       (1U << 14)
#define ICR_ALL_BUT_SELF (3U << 18)

static volatile uint32_t *xapic_regs; /* xAPIC MMIO, shared by all CPUs */
static bool x2apic;
uint64_t lapic_timer_hz;

bool lapic_x2apic_mode(void) { return x2apic; }

static uint32_t lapic_read(unsigned reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(0x800 + reg / 16);
	return xapic_regs[reg / 4];
}

static void lapic_write(unsigned reg, uint32_t v)
{
	if (x2apic)
		wrmsr(0x800 + reg / 16, v);
	else
		xapic_regs[reg / 4] = v;
}

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(APIC_ID);
	return x2apic ? id : id >> 24;
}

void lapic_eoi(void) { lapic_write(APIC_EOI, 0); }

/* Write the interrupt command register and wait until the APIC has
 * accepted it (xAPIC only has a delivery-status bit). In xAPIC mode the
 * destination and the command are two writes: interrupts stay off in
 * between, or a handler sending its own IPI (a wakeup's reschedule IPI)
 * would change the destination under us. */
static void lapic_icr(uint32_t dest, uint32_t low)
{
	if (x2apic) {
		/* A WRMSR to an x2APIC register is not serializing: without the
		 * fences the IPI could overtake our earlier stores (a queued call,
		 * need_resched) and the target would see the old values. */
		__asm__ volatile("mfence; lfence" ::: "memory");
		wrmsr(0x830, ((uint64_t)dest << 32) | low);
		return;
	}
	unsigned long f = local_irq_save();
	lapic_write(APIC_ICR_HI, dest << 24);
	lapic_write(APIC_ICR_LO, low);
	while (lapic_read(APIC_ICR_LO) & ICR_PENDING)
		cpu_relax();
	local_irq_restore(f);
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector) { lapic_icr(apic_id, ICR_ASSERT | vector); }
void lapic_send_nmi(uint32_t apic_id) { lapic_icr(apic_id, ICR_ASSERT | ICR_NMI); }
void lapic_send_nmi_others(void) { lapic_icr(0, ICR_ASSERT | ICR_NMI | ICR_ALL_BUT_SELF); }
/* INIT (level assert): the target resets and waits for a start-up IPI.
 * No de-assert: only the 82489DX needed it, and x2APIC mode refuses it. */
void lapic_send_init(uint32_t apic_id) { lapic_icr(apic_id, ICR_ASSERT | ICR_INIT); }
/* Start-up IPI: a CPU waiting after INIT starts in real mode at
 * page << 12 (CS = page << 8, IP = 0); any other CPU ignores it. */
void lapic_send_startup(uint32_t apic_id, uint8_t page)
{
	lapic_icr(apic_id, ICR_ASSERT | ICR_STARTUP | page);
}

static void spurious_irq(struct trap_frame *f, void *arg)
{
	(void)f;
	(void)arg; /* no EOI for the spurious vector (SDM 11.9) */
}

void lapic_init(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	if (cpu_features.x2apic) {
		x2apic = true;
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE | APIC_BASE_X2APIC);
	} else {
		uint64_t phys = acpi_info.found && acpi_info.lapic_phys ? acpi_info.lapic_phys
								       : (base & ~0xfffUL);
		if (!xapic_regs)
			xapic_regs = ioremap(phys, 4096);
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_ENABLE);
	}
	lapic_write(APIC_TPR, 0);                   /* accept every priority class */
	lapic_write(APIC_LVT_TIMER, LVT_MASKED);
	lapic_write(APIC_LVT_ERROR, LVT_MASKED);
	if (this_cpu()->cpu_id == 0) {
		lapic_write(APIC_LVT_LINT0, LVT_MASKED); /* legacy PIC: masked anyway */
		lapic_write(APIC_LVT_LINT1, ICR_NMI);    /* LINT1 = NMI, as on PCs */
	} else {
		lapic_write(APIC_LVT_LINT0, LVT_MASKED);
		lapic_write(APIC_LVT_LINT1, LVT_MASKED);
	}
	lapic_write(APIC_SVR, 0x100 | VEC_SPURIOUS); /* software enable */
	lapic_write(APIC_ESR, 0);
	lapic_eoi();                                 /* drop anything stale */
	irq_register(VEC_SPURIOUS, spurious_irq, NULL);
	this_cpu()->apic_id = lapic_id();
}

void lapic_timer_oneshot(uint32_t count)
{
	lapic_write(APIC_TIMER_DIV, 0xb);           /* divide by 1 */
	lapic_write(APIC_LVT_TIMER, VEC_TIMER);
	lapic_write(APIC_TIMER_INIT, count);
}

void lapic_timer_periodic(uint32_t count)
{
	lapic_write(APIC_TIMER_DIV, 0xb);
	lapic_write(APIC_LVT_TIMER, VEC_TIMER | LVT_PERIODIC);
	lapic_write(APIC_TIMER_INIT, count);
}

void lapic_timer_stop(void)
{
	lapic_write(APIC_LVT_TIMER, LVT_MASKED);
	lapic_write(APIC_TIMER_INIT, 0);
}

uint32_t lapic_timer_current(void) { return lapic_read(APIC_TIMER_CUR); }
