/* test_acpi.c - host unit tests for arch/x86_64/acpi.c.
 *
 * acpi.c is included directly. "Physical memory" is a 1 MiB malloc'ed
 * buffer (so ASan catches any read outside it) and ACPI_PHYS_LIMIT is set to
 * its size; each test builds an RSDP and tables in it with correct checksums
 * (unless the test is about a bad one) and checks what acpi_init decoded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdarg.h>
#include "tap.h"

#define MEM_SIZE 0x100000u
#define ACPI_PHYS_LIMIT MEM_SIZE

static uint8_t *mem;
static int warnings;
static int quiet; /* drop log lines (the fuzz test makes thousands) */

static void *phys_to_virt(uint64_t pa)
{
	if (pa >= MEM_SIZE) {
		fprintf(stderr, "phys_to_virt(%#llx) outside fake memory\n", (unsigned long long)pa);
		abort();
	}
	return mem + pa;
}

/* Kernel log lines become TAP comments; warnings and errors are counted. */
__attribute__((format(printf, 2, 3)))
static void log_line(int is_warn, const char *fmt, ...)
{
	va_list ap;
	warnings += is_warn;
	if (quiet)
		return;
	printf("# %s", is_warn ? "warn: " : "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}
#define pr_info(...) log_line(0, __VA_ARGS__)
#define pr_warn(...) log_line(1, __VA_ARGS__)
#define pr_err(...)  log_line(1, __VA_ARGS__)

#include "../../arch/x86_64/acpi.c"

/* ---- table builders ---- */

static void wr16(uint64_t pa, uint16_t v) { mem[pa] = (uint8_t)v; mem[pa + 1] = (uint8_t)(v >> 8); }
static void wr32(uint64_t pa, uint32_t v) { wr16(pa, (uint16_t)v); wr16(pa + 2, (uint16_t)(v >> 16)); }
static void wr64(uint64_t pa, uint64_t v) { wr32(pa, (uint32_t)v); wr32(pa + 4, (uint32_t)(v >> 32)); }

/* Make the len bytes at pa sum to zero by adjusting the byte at pa + at. */
static void fix_sum(uint64_t pa, uint32_t len, uint32_t at)
{
	uint8_t s = 0;
	mem[pa + at] = 0;
	for (uint32_t i = 0; i < len; i++)
		s = (uint8_t)(s + mem[pa + i]);
	mem[pa + at] = (uint8_t)-s;
}

static void reset_mem(void)
{
	memset(mem, 0, MEM_SIZE);
}

/* RSDP at pa; rev >= 2 gets the 36-byte form with an XSDT address. */
static void put_rsdp(uint64_t pa, unsigned rev, uint32_t rsdt, uint64_t xsdt)
{
	memcpy(mem + pa, "RSD PTR ", 8);
	memcpy(mem + pa + 9, "WEFT  ", 6);
	mem[pa + 15] = (uint8_t)rev;
	wr32(pa + 16, rsdt);
	if (rev >= 2) {
		wr32(pa + 20, 36);
		wr64(pa + 24, xsdt);
	}
	fix_sum(pa, 20, 8);
	if (rev >= 2)
		fix_sum(pa, 36, 32); /* covers the v1 bytes, so it goes last */
}

/* SDT header at pa with total length len, body already in place; checksummed. */
static void put_sdt(uint64_t pa, const char *sig, uint32_t len)
{
	memcpy(mem + pa, sig, 4);
	wr32(pa + 4, len);
	mem[pa + 8] = 1;
	memcpy(mem + pa + 10, "WEFTOE", 6);
	memcpy(mem + pa + 16, "WEFTTBL ", 8);
	fix_sum(pa, len, 9);
}

/* RSDT (4-byte entries) or XSDT (8-byte entries) at pa listing n tables. */
static void put_root(uint64_t pa, bool x, const uint64_t *tables, unsigned n)
{
	unsigned esz = x ? 8 : 4;
	for (unsigned i = 0; i < n; i++) {
		if (x)
			wr64(pa + 36 + i * esz, tables[i]);
		else
			wr32(pa + 36 + i * esz, (uint32_t)tables[i]);
	}
	put_sdt(pa, x ? "XSDT" : "RSDT", 36 + n * esz);
}

/* MADT under construction: entries appended at madt_pa + madt_len. */
static uint64_t madt_pa;
static uint32_t madt_len;

static void madt_begin(uint64_t pa, uint32_t lapic, uint32_t flags)
{
	madt_pa = pa;
	wr32(pa + 36, lapic);
	wr32(pa + 40, flags);
	madt_len = 44;
}
static uint64_t madt_entry_at(uint8_t type, uint8_t len)
{
	uint64_t e = madt_pa + madt_len;
	mem[e] = type;
	mem[e + 1] = len;
	madt_len += len ? len : 2;
	return e;
}
static void madt_lapic(uint8_t uid, uint8_t id, uint32_t flags)
{
	uint64_t e = madt_entry_at(0, 8);
	mem[e + 2] = uid;
	mem[e + 3] = id;
	wr32(e + 4, flags);
}
static void madt_ioapic(uint8_t id, uint32_t addr, uint32_t gsi)
{
	uint64_t e = madt_entry_at(1, 12);
	mem[e + 2] = id;
	wr32(e + 4, addr);
	wr32(e + 8, gsi);
}
static void madt_iso(uint8_t bus, uint8_t irq, uint32_t gsi, uint16_t flags)
{
	uint64_t e = madt_entry_at(2, 10);
	mem[e + 2] = bus;
	mem[e + 3] = irq;
	wr32(e + 4, gsi);
	wr16(e + 8, flags);
}
static void madt_lapic_override(uint64_t addr)
{
	wr64(madt_entry_at(5, 12) + 4, addr);
}
static void madt_x2apic(uint32_t id, uint32_t flags, uint32_t uid)
{
	uint64_t e = madt_entry_at(9, 16);
	wr32(e + 4, id);
	wr32(e + 8, flags);
	wr32(e + 12, uid);
}
static void madt_end(void)
{
	put_sdt(madt_pa, "APIC", madt_len);
}

static void put_hpet(uint64_t pa, uint64_t base)
{
	wr32(pa + 36, 0x8086a201);
	mem[pa + 40] = 0; /* system memory */
	mem[pa + 41] = 64;
	wr64(pa + 44, base);
	put_sdt(pa, "HPET", 56);
}

/* A typical machine's MADT at pa: BSP + a disabled CPU + an x2APIC CPU,
 * one I/O APIC, IRQ0 -> GSI 2 and IRQ 9 active-low level. */
static void put_std_madt(uint64_t pa, uint32_t lapic)
{
	madt_begin(pa, lapic, 1);
	madt_lapic(0, 0, 1);
	madt_lapic(1, 1, 0);            /* disabled, not online capable */
	madt_ioapic(2, 0xfec00000, 0);
	madt_iso(0, 0, 2, 0);           /* conforms: high, edge */
	madt_iso(0, 9, 9, 0xf);         /* active low, level */
	madt_x2apic(0x1234, 1, 7);
	madt_end();
}

#define RSDP_PA 0xE0000u
#define ROOT_PA 0x10000u
#define XSDT_PA 0x10800u
#define MADT_PA 0x11000u
#define MADT2_PA 0x12000u
#define HPET_PA 0x13000u

static void run(uint64_t rsdp)
{
	warnings = 0;
	acpi_init(rsdp);
	acpi_print();
}

/* ---- tests ---- */

static void test_v1_rsdt(void)
{
	const struct acpi_info *a = &acpi_info;
	uint64_t t[] = { HPET_PA, MADT_PA };

	reset_mem();
	put_std_madt(MADT_PA, 0xfee00000);
	put_hpet(HPET_PA, 0xfed00000);
	put_root(ROOT_PA, false, t, 2);
	put_rsdp(RSDP_PA, 0, ROOT_PA, 0);
	run(0);

	ok(a->found, "v1: found");
	ok(warnings == 0, "v1: no warnings (%d)", warnings);
	ok(!via_xsdt && rsdp_at == RSDP_PA, "v1: RSDP found by scan, RSDT used");
	ok(strcmp(a->oem_id, "WEFT") == 0, "v1: OEM id '%s'", a->oem_id);
	ok(a->lapic_phys == 0xfee00000, "v1: lapic %lx", a->lapic_phys);
	ok(a->has_8259, "v1: PCAT_COMPAT");
	ok(a->ncpus == 2, "v1: disabled CPU skipped, x2APIC CPU kept (ncpus %u)", a->ncpus);
	ok(a->cpu_apic_id[0] == 0 && a->cpu_apic_id[1] == 0x1234, "v1: APIC ids 0, 0x1234");
	ok(a->nioapics == 1 && a->ioapic[0].id == 2 && a->ioapic[0].phys == 0xfec00000 &&
	   a->ioapic[0].gsi_base == 0, "v1: I/O APIC");
	ok(a->isa_override[0].present && a->isa_override[0].gsi == 2 &&
	   !a->isa_override[0].active_low && !a->isa_override[0].level, "v1: IRQ0 -> GSI 2 high edge");
	ok(a->isa_override[9].present && a->isa_override[9].gsi == 9 &&
	   a->isa_override[9].active_low && a->isa_override[9].level, "v1: IRQ9 active low level");
	ok(!a->isa_override[1].present, "v1: IRQ1 not overridden");
	ok(a->hpet_phys == 0xfed00000, "v1: HPET %lx", a->hpet_phys);
}

static void test_v2_xsdt(void)
{
	const struct acpi_info *a = &acpi_info;
	uint64_t r[] = { MADT_PA }, x[] = { MADT2_PA, HPET_PA };

	reset_mem();
	put_std_madt(MADT_PA, 0xaaaa0000);      /* reachable only via the RSDT */
	madt_begin(MADT2_PA, 0xfee00000, 0);
	madt_lapic(0, 3, 1);
	madt_lapic(1, 4, 2);                     /* online capable */
	madt_lapic(2, 3, 1);                     /* duplicate id */
	madt_lapic_override(0x123456789000ull);
	madt_end();
	put_hpet(HPET_PA, 0xfed00000);
	put_root(ROOT_PA, false, r, 1);
	put_root(XSDT_PA, true, x, 2);
	put_rsdp(RSDP_PA + 0x40, 2, ROOT_PA, XSDT_PA);
	run(0);

	ok(a->found && via_xsdt, "v2: XSDT used");
	ok(warnings == 0, "v2: no warnings (%d)", warnings);
	ok(a->lapic_phys == 0x123456789000ull, "v2: 64-bit lapic override %lx", a->lapic_phys);
	ok(!a->has_8259, "v2: no PCAT_COMPAT");
	ok(a->ncpus == 2 && a->cpu_apic_id[0] == 3 && a->cpu_apic_id[1] == 4,
	   "v2: online-capable CPU kept, duplicate dropped (ncpus %u)", a->ncpus);
	ok(a->nioapics == 0, "v2: no I/O APIC");

	/* XSDT address 0: the RSDT is used. */
	put_rsdp(RSDP_PA + 0x40, 2, ROOT_PA, 0);
	run(0);
	ok(a->found && !via_xsdt && a->lapic_phys == 0xaaaa0000, "v2: XSDT 0 -> RSDT");

	/* Bad extended checksum: warn, fall back to the RSDT. */
	put_rsdp(RSDP_PA + 0x40, 2, ROOT_PA, XSDT_PA);
	mem[RSDP_PA + 0x40 + 33]++;
	run(0);
	ok(a->found && !via_xsdt && warnings > 0, "v2: bad extended checksum -> RSDT");

	/* Bad XSDT checksum: warn, fall back to the RSDT. */
	put_rsdp(RSDP_PA + 0x40, 2, ROOT_PA, XSDT_PA);
	mem[XSDT_PA + 40]++;
	run(0);
	ok(a->found && !via_xsdt && a->lapic_phys == 0xaaaa0000 && warnings > 0,
	   "v2: bad XSDT -> RSDT");

	/* RSDP handed over by the bootloader, outside the scanned areas. */
	put_root(XSDT_PA, true, x, 2);
	memset(mem + RSDP_PA, 0, 0x100);
	put_rsdp(0x50000, 2, ROOT_PA, XSDT_PA);
	run(0x50000);
	ok(a->found && via_xsdt && rsdp_at == 0x50000, "v2: bootloader RSDP used");
	/* ... and an invalid one falls back to the search (which finds none). */
	run(0x50010);
	ok(!a->found && warnings > 0, "v2: invalid bootloader RSDP, no other -> not found");
}

static void test_ebda(void)
{
	uint64_t t[] = { MADT_PA };

	reset_mem();
	put_std_madt(MADT_PA, 0xfee00000);
	put_root(ROOT_PA, false, t, 1);
	wr16(0x40e, 0x9fc0);
	put_rsdp(0x9fc00 + 0x3e0, 0, ROOT_PA, 0);
	run(0);
	ok(acpi_info.found && rsdp_at == 0x9fc00 + 0x3e0, "EBDA: RSDP in the EBDA's first KiB");
	/* Just past the first KiB: not searched. */
	memset(mem + 0x9fc00, 0, 0x400);
	put_rsdp(0x9fc00 + 0x400, 0, ROOT_PA, 0);
	run(0);
	ok(!acpi_info.found, "EBDA: RSDP past the first KiB not found");
}

static void test_bad_checksum(void)
{
	const struct acpi_info *a = &acpi_info;
	uint64_t t[] = { MADT_PA, HPET_PA, MADT2_PA };

	reset_mem();
	put_std_madt(MADT_PA, 0xbad00000);
	mem[MADT_PA + 50] ^= 0x40;              /* corrupt after checksumming */
	put_hpet(HPET_PA, 0xfed00000);
	mem[HPET_PA + 45]++;
	madt_begin(MADT2_PA, 0xfee00000, 1);
	madt_lapic(0, 5, 1);
	madt_end();
	put_root(ROOT_PA, false, t, 3);
	put_rsdp(RSDP_PA, 0, ROOT_PA, 0);
	run(0);
	ok(a->found && a->lapic_phys == 0xfee00000 && a->ncpus == 1 && a->cpu_apic_id[0] == 5,
	   "bad checksum: corrupt MADT skipped, the good one used");
	ok(a->hpet_phys == 0, "bad checksum: corrupt HPET skipped");
	ok(warnings == 2, "bad checksum: two warnings (%d)", warnings);

	/* A corrupt RSDT leaves nothing usable. */
	mem[ROOT_PA + 36]++;
	run(0);
	ok(!a->found && warnings > 0, "bad checksum: corrupt RSDT -> not found");

	/* An RSDP with a bad checksum is not an RSDP. */
	put_root(ROOT_PA, false, t, 3);
	mem[RSDP_PA + 16]++;
	run(0);
	ok(!a->found && rsdp_at == 0, "bad checksum: corrupt RSDP -> not found");
}

static void test_truncated(void)
{
	const struct acpi_info *a = &acpi_info;
	uint64_t t[] = { MADT_PA };

	reset_mem();
	madt_begin(MADT_PA, 0xfee00000, 1);
	madt_lapic(0, 0, 1);
	madt_entry_at(0, 0);                    /* length 0 */
	madt_lapic(1, 1, 1);
	madt_end();
	put_root(ROOT_PA, false, t, 1);
	put_rsdp(RSDP_PA, 0, ROOT_PA, 0);
	run(0);
	ok(a->found && a->ncpus == 1 && warnings == 1, "truncated: length 0 stops the walk");

	/* An entry running past the table's end. */
	madt_begin(MADT_PA, 0xfee00000, 1);
	madt_lapic(0, 0, 1);
	madt_ioapic(1, 0xfec00000, 0);
	mem[MADT_PA + 44 + 8 + 1] = 13;         /* one byte past the end */
	madt_end();
	run(0);
	ok(a->found && a->ncpus == 1 && a->nioapics == 0 && warnings == 1,
	   "truncated: entry past the end stops the walk");

	/* Known types shorter than their structure are skipped. */
	madt_begin(MADT_PA, 0xfee00000, 1);
	madt_entry_at(9, 8);
	madt_entry_at(1, 4);
	madt_lapic(0, 6, 1);
	madt_end();
	run(0);
	ok(a->found && a->ncpus == 1 && a->cpu_apic_id[0] == 6 && a->nioapics == 0,
	   "truncated: short entries skipped");

	/* An MADT too short for its own fixed fields. */
	madt_begin(MADT_PA, 0xfee00000, 1);
	put_sdt(MADT_PA, "APIC", 40);
	run(0);
	ok(!a->found, "truncated: 40-byte MADT rejected");
}

static void test_limits(void)
{
	const struct acpi_info *a = &acpi_info;
	uint64_t t[] = { 0, 0xfffffff0u, MADT_PA - 8, MADT_PA };

	reset_mem();
	madt_begin(MADT_PA, 0xfee00000, 1);
	for (unsigned i = 0; i < 20; i++)
		madt_lapic((uint8_t)i, (uint8_t)i, 1);
	for (unsigned i = 0; i < 5; i++)
		madt_ioapic((uint8_t)i, 0xfec00000 + i * 0x1000, i * 24);
	madt_iso(1, 3, 3, 0);                   /* not ISA */
	madt_iso(0, 20, 20, 0);                 /* not an ISA IRQ */
	madt_end();
	memcpy(mem + MADT_PA - 8, "APIC", 4);   /* an "MADT" with a garbage length */
	wr32(MADT_PA - 8 + 4, 0xffffffff);
	put_root(ROOT_PA, false, t, 4);
	put_rsdp(RSDP_PA, 0, ROOT_PA, 0);
	run(0);
	ok(a->found && a->ncpus == ACPI_MAX_CPUS && a->cpu_apic_id[15] == 15,
	   "limits: 16 CPUs kept of 20");
	ok(a->nioapics == ACPI_MAX_IOAPICS && a->ioapic[3].gsi_base == 72, "limits: 4 I/O APICs kept");
	ok(!a->isa_override[3].present, "limits: non-ISA overrides ignored");

	/* A huge RSDT length is refused, not followed. */
	wr32(ROOT_PA + 4, 0xfffff000);
	run(0);
	ok(!a->found, "limits: RSDT with a huge length refused");
}

static void test_none(void)
{
	reset_mem();
	run(0);
	ok(!acpi_info.found && acpi_info.ncpus == 0, "no RSDP: not found");
	/* "RSD PTR " at the very end of the BIOS area, too short to hold one. */
	memcpy(mem + 0xffff0, "RSD PTR ", 8);
	run(0);
	ok(!acpi_info.found, "no RSDP: truncated signature at 0xffff0 ignored");
}

/* Random MADT bodies (with a valid checksum) must never read out of bounds;
 * ASan reports if they do. */
static void test_fuzz(void)
{
	uint64_t t[] = { MADT_PA };
	uint32_t seed = 12345;
	int found = 0;

	quiet = 1;
	for (int iter = 0; iter < 2000; iter++) {
		reset_mem();
		seed = seed * 1103515245u + 12345u;
		uint32_t len = 36 + (seed >> 16) % 300;
		for (uint32_t i = 36; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			mem[MADT_PA + i] = (uint8_t)(seed >> 16);
			if ((seed >> 8) % 5 == 0)       /* plausible entry lengths */
				mem[MADT_PA + i] = (uint8_t)((seed >> 12) % 20);
		}
		put_sdt(MADT_PA, "APIC", len);
		/* The same table ending exactly at the end of memory, too. */
		memcpy(mem + MEM_SIZE - len, mem + MADT_PA, len);
		t[0] = iter & 1 ? MEM_SIZE - len : MADT_PA;
		put_root(ROOT_PA, false, t, 1);
		put_rsdp(RSDP_PA, 0, ROOT_PA, 0);
		warnings = 0;
		acpi_init(0);
		found += acpi_info.found;
		if (acpi_info.ncpus > ACPI_MAX_CPUS || acpi_info.nioapics > ACPI_MAX_IOAPICS)
			break;
	}
	quiet = 0;
	diag("fuzz: %d of 2000 random MADTs were usable", found);
	ok(acpi_info.ncpus <= ACPI_MAX_CPUS && acpi_info.nioapics <= ACPI_MAX_IOAPICS,
	   "fuzz: random MADTs parsed in bounds");
}

int main(void)
{
	mem = malloc(MEM_SIZE);
	if (!mem)
		return 1;
	test_v1_rsdt();
	test_v2_xsdt();
	test_ebda();
	test_bad_checksum();
	test_truncated();
	test_limits();
	test_none();
	test_fuzz();
	free(mem);
	return done_testing();
}
