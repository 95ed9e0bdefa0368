/* acpi.h - the ACPI tables weft reads to find its interrupt controllers
 * and CPUs (RSDP -> RSDT/XSDT -> MADT "APIC" and HPET). Nothing else of
 * ACPI (AML, power management) is interpreted.
 */
#ifndef ARCH_ACPI_H
#define ARCH_ACPI_H
#include <stdint.h>
#include <stdbool.h>

#define ACPI_MAX_CPUS    16
#define ACPI_MAX_IOAPICS 4
#define ACPI_ISA_IRQS    16

struct acpi_info {
	bool found;             /* false: no usable RSDP/MADT; callers use defaults */
	uint64_t lapic_phys;    /* MADT local APIC address, or the 64-bit override (type 5) */
	/* Enabled or online-capable processors from MADT types 0 (xAPIC) and
	 * 9 (x2APIC), in table order, duplicates dropped; ncpus <= 16 (the
	 * first 16 are kept, the rest are reported and ignored). */
	unsigned ncpus;
	uint32_t cpu_apic_id[ACPI_MAX_CPUS];
	unsigned nioapics;      /* <= 4; extras are reported and ignored */
	struct {
		uint32_t id;
		uint64_t phys;
		uint32_t gsi_base;
	} ioapic[ACPI_MAX_IOAPICS];
	/* Indexed by ISA IRQ: MADT type 2 entries for bus 0. Without an entry
	 * (present false) an ISA IRQ is identity-mapped, active high, edge;
	 * "conforms" flags decode to that same ISA default. */
	struct {
		bool present;
		uint32_t gsi;
		bool active_low;
		bool level;
	} isa_override[ACPI_ISA_IRQS];
	bool has_8259;          /* MADT flags bit 0 (PCAT_COMPAT): legacy PICs present */
	uint64_t hpet_phys;     /* HPET event timer block base, or 0 without an HPET table */
	char oem_id[7];         /* RSDP OEMID, NUL-terminated, trailing blanks trimmed */
};

extern struct acpi_info acpi_info;

/* Fill acpi_info from the firmware tables. rsdp_phys is the RSDP's physical
 * address if the bootloader supplied one (multiboot2 ACPI tags), else 0: then
 * the first KiB of the EBDA (segment at physical 0x40e) and 0xE0000..0xFFFFF
 * are searched on 16-byte boundaries for "RSD PTR ". An invalid supplied RSDP
 * also falls back to the search. Checksums are verified (RSDP v1 over 20
 * bytes, v2 extended over its length, every table used); the XSDT is used
 * when revision >= 2 and its address is non-zero, else the RSDT. Bad tables
 * are skipped with a warning; every length is bounds-checked, so garbage
 * tables cannot make it read outside them. Tables must lie in the direct map.
 * May be called again; each call starts from a cleared acpi_info. */
void acpi_init(uint64_t rsdp_phys);

/* Log what acpi_init found, one line per item, with pr_info. */
void acpi_print(void);
#endif
