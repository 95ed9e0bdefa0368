/*
 * idt.c - the interrupt descriptor table: one interrupt gate per vector.
 *
 * All 256 gates point at the stubs in entry.S. Interrupt gates (not trap
 * gates) clear IF on entry, so every handler starts with interrupts off
 * and decides itself when it is safe to allow nesting. #BP is reachable
 * from ring 3 (INT3 in user programs); everything else only from ring 0
 * or hardware. #DF, NMI and #MC switch to their IST stacks.
 * The table is the same on every CPU; each CPU runs idt_load().
 */
#include <arch/trap.h>
#include <arch/percpu.h>
#include <stdint.h>

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate is 16 bytes");

static struct idt_gate idt[256] __attribute__((aligned(16)));
extern const uint64_t vector_stub_table[256];

static void idt_set(unsigned v, uint64_t handler, unsigned ist, unsigned dpl)
{
	idt[v].offset_lo = handler & 0xffff;
	idt[v].selector = GDT_KERNEL_CS;
	idt[v].ist = ist;
	idt[v].type_attr = 0x80 | (dpl << 5) | 0xe;   /* present, 64-bit interrupt gate */
	idt[v].offset_mid = (handler >> 16) & 0xffff;
	idt[v].offset_hi = handler >> 32;
	idt[v].reserved = 0;
}

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++)
		idt_set(v, vector_stub_table[v], 0, 0);
	idt_set(VEC_BP, vector_stub_table[VEC_BP], 0, 3);
	idt_set(VEC_DF, vector_stub_table[VEC_DF], IST_DOUBLE_FAULT, 0);
	idt_set(VEC_NMI, vector_stub_table[VEC_NMI], IST_NMI, 0);
	idt_set(VEC_MC, vector_stub_table[VEC_MC], IST_MACHINE_CHECK, 0);
	idt_load();
}

void idt_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };
	__asm__ volatile("lidt %0" : : "m"(idtr));
}
