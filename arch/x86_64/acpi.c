/* acpi.c - find the RSDP, walk the RSDT/XSDT, and decode the MADT and HPET
 * tables into acpi_info (see <arch/acpi.h>).
 *
 * Firmware tables are untrusted input: every field is read byte-wise (tables
 * need not be aligned), every address is range-checked before it is turned
 * into a pointer, and every length is checked against its container before
 * anything inside is read.
 */
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <arch/acpi.h>
#ifndef WEFT_HOST_TEST
#include <arch/memlayout.h>
#include <weft/printk.h>
#endif

/* Tables must end below this physical address (the direct map's size);
 * a host test sets it to the size of its fake physical memory. */
#ifndef ACPI_PHYS_LIMIT
#define ACPI_PHYS_LIMIT (1ull << 46)
#endif
#define ACPI_MAX_TABLE  (1u << 20) /* longer tables are treated as garbage */
#define RSDP_V1_LEN     20
#define RSDP_V2_LEN     36
#define SDT_HDR_LEN     36
#define MADT_ENTRIES    44         /* header + local APIC address + flags */
#define HPET_MIN_LEN    56         /* header + block id + base address GAS */
#define BIOS_AREA       0xE0000ull
#define BIOS_AREA_END   0x100000ull

struct acpi_info acpi_info;

/* What acpi_print reports about the root pointer. */
static uint64_t rsdp_at;
static unsigned rsdp_rev;
static bool via_xsdt;
static unsigned cpus_dropped, ioapics_dropped;

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static bool sig_is(const uint8_t *p, const char *sig, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (uint8_t)sig[i])
			return false;
	return true;
}

static uint8_t sum8(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* A printable copy of a 4-byte signature, for messages. */
static const char *sig_str(const uint8_t *p, char out[5])
{
	for (int i = 0; i < 4; i++)
		out[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	out[4] = 0;
	return out;
}

/* [pa, pa + len) as a pointer, or NULL if pa is 0 or the range does not end
 * below ACPI_PHYS_LIMIT. */
static const uint8_t *map(uint64_t pa, uint64_t len)
{
	if (pa == 0 || len > ACPI_PHYS_LIMIT || pa > ACPI_PHYS_LIMIT - len)
		return NULL;
	return phys_to_virt(pa);
}

/* The system description table at pa, if its whole length is mappable and
 * sane and its checksum is zero; its length goes to *lenp. want, if not NULL,
 * is the required signature. Any failure is warned about and gives NULL. */
static const uint8_t *sdt_get(uint64_t pa, const char *want, uint32_t *lenp)
{
	const uint8_t *t = map(pa, SDT_HDR_LEN);
	char s[5];
	uint32_t len;

	if (!t) {
		pr_warn("ACPI: table at %lx is out of range, skipped\n", pa);
		return NULL;
	}
	if (want && !sig_is(t, want, 4)) {
		pr_warn("ACPI: expected %s at %lx, found '%s'\n", want, pa, sig_str(t, s));
		return NULL;
	}
	len = rd32(t + 4);
	if (len < SDT_HDR_LEN || len > ACPI_MAX_TABLE || !map(pa, len)) {
		pr_warn("ACPI: %s at %lx has bad length %u, skipped\n", sig_str(t, s), pa, len);
		return NULL;
	}
	if (sum8(t, len) != 0) {
		pr_warn("ACPI: %s at %lx has a bad checksum, skipped\n", sig_str(t, s), pa);
		return NULL;
	}
	*lenp = len;
	return t;
}

/* true if a v1-valid RSDP (signature, 20-byte checksum) is at pa, ending by end. */
static bool rsdp_valid(uint64_t pa, uint64_t end)
{
	const uint8_t *p = map(pa, RSDP_V1_LEN);
	return p && pa + RSDP_V1_LEN <= end && sig_is(p, "RSD PTR ", 8) &&
	       sum8(p, RSDP_V1_LEN) == 0;
}

/* The first valid RSDP on a 16-byte boundary in [start, end), or 0. */
static uint64_t rsdp_scan(uint64_t start, uint64_t end)
{
	for (uint64_t pa = start; pa + RSDP_V1_LEN <= end; pa += 16)
		if (rsdp_valid(pa, end))
			return pa;
	return 0;
}

static void add_cpu(uint32_t apic_id)
{
	for (unsigned i = 0; i < acpi_info.ncpus; i++)
		if (acpi_info.cpu_apic_id[i] == apic_id)
			return;
	if (acpi_info.ncpus == ACPI_MAX_CPUS)
		cpus_dropped++;
	else
		acpi_info.cpu_apic_id[acpi_info.ncpus++] = apic_id;
}

static void add_ioapic(uint32_t id, uint64_t phys, uint32_t gsi_base)
{
	if (acpi_info.nioapics == ACPI_MAX_IOAPICS) {
		ioapics_dropped++;
		return;
	}
	acpi_info.ioapic[acpi_info.nioapics].id = id;
	acpi_info.ioapic[acpi_info.nioapics].phys = phys;
	acpi_info.ioapic[acpi_info.nioapics].gsi_base = gsi_base;
	acpi_info.nioapics++;
}

/* MPS INTI flags: bits 0-1 polarity (0 conforms, 1 high, 3 low), bits 2-3
 * trigger (0 conforms, 1 edge, 3 level). Conforming ISA is high/edge; the
 * reserved value 2 is warned about and also taken as the ISA default. */
static void add_isa_override(unsigned bus, unsigned irq, uint32_t gsi, uint16_t flags)
{
	unsigned pol = flags & 3, trig = (flags >> 2) & 3;

	if (bus != 0 || irq >= ACPI_ISA_IRQS) {
		pr_warn("ACPI: ignoring override for bus %u IRQ %u\n", bus, irq);
		return;
	}
	if (pol == 2 || trig == 2)
		pr_warn("ACPI: IRQ %u override has reserved flags %x\n", irq, (unsigned)flags);
	acpi_info.isa_override[irq].present = true;
	acpi_info.isa_override[irq].gsi = gsi;
	acpi_info.isa_override[irq].active_low = pol == 3;
	acpi_info.isa_override[irq].level = trig == 3;
}

/* Minimum lengths of the MADT entry types decoded below (0: not decoded). */
static const uint8_t madt_min_len[10] = { [0] = 8, [1] = 12, [2] = 10, [5] = 12, [9] = 16 };

/* e points at one MADT entry of elen (>= 2) bytes, all inside the table. */
static void madt_entry(const uint8_t *e, unsigned elen)
{
	unsigned type = e[0];

	if (type >= sizeof(madt_min_len) || madt_min_len[type] == 0)
		return;
	if (elen < madt_min_len[type]) {
		pr_warn("ACPI: MADT type %u entry too short (%u bytes), skipped\n", type, elen);
		return;
	}
	switch (type) {
	case 0: /* processor local APIC: uid, APIC id, flags (enabled, online capable) */
		if (rd32(e + 4) & 3)
			add_cpu(e[3]);
		break;
	case 1: /* I/O APIC: id, reserved, address, GSI base */
		add_ioapic(e[2], rd32(e + 4), rd32(e + 8));
		break;
	case 2: /* interrupt source override: bus, source, GSI, MPS INTI flags */
		add_isa_override(e[2], e[3], rd32(e + 4), rd16(e + 8));
		break;
	case 5: /* local APIC address override: reserved, 64-bit address */
		acpi_info.lapic_phys = rd64(e + 4);
		break;
	case 9: /* processor local x2APIC: reserved, x2APIC id, flags, uid */
		if (rd32(e + 8) & 3)
			add_cpu(rd32(e + 4));
		break;
	}
}

/* t is a checksummed MADT of len bytes. */
static void parse_madt(const uint8_t *t, uint32_t len)
{
	uint32_t off = MADT_ENTRIES;

	if (len < MADT_ENTRIES) {
		pr_warn("ACPI: MADT too short (%u bytes), skipped\n", len);
		return;
	}
	acpi_info.found = true;
	acpi_info.lapic_phys = rd32(t + 36);
	acpi_info.has_8259 = rd32(t + 40) & 1;
	while (off + 2 <= len) {
		unsigned elen = t[off + 1];
		if (elen < 2 || elen > len - off) {
			pr_warn("ACPI: MADT entry at +%u has bad length %u, rest ignored\n", off, elen);
			break;
		}
		madt_entry(t + off, elen);
		off += elen;
	}
	if (cpus_dropped)
		pr_warn("ACPI: %u CPUs beyond the first %u ignored\n", cpus_dropped, ACPI_MAX_CPUS);
	if (ioapics_dropped)
		pr_warn("ACPI: %u I/O APICs beyond the first %u ignored\n", ioapics_dropped,
			ACPI_MAX_IOAPICS);
}

/* Use the table at pa (an RSDT/XSDT entry) if it is the first valid MADT or HPET. */
static void use_table(uint64_t pa)
{
	const uint8_t *t = map(pa, SDT_HDR_LEN);
	uint32_t len;

	if (!t) {
		pr_warn("ACPI: table at %lx is out of range, skipped\n", pa);
	} else if (sig_is(t, "APIC", 4) && !acpi_info.found) {
		if ((t = sdt_get(pa, NULL, &len)) != NULL)
			parse_madt(t, len);
	} else if (sig_is(t, "HPET", 4) && !acpi_info.hpet_phys) {
		if ((t = sdt_get(pa, NULL, &len)) == NULL)
			return;
		if (len < HPET_MIN_LEN || t[40] != 0) /* GAS address space 0: memory */
			pr_warn("ACPI: HPET table at %lx unusable, skipped\n", pa);
		else
			acpi_info.hpet_phys = rd64(t + 44);
	}
}

void acpi_init(uint64_t rsdp_phys)
{
	uint64_t end = ACPI_PHYS_LIMIT, rsdt, xsdt = 0, root_pa = 0;
	const uint8_t *p, *root;
	uint32_t len, esz;
	int n = 0;

	acpi_info = (struct acpi_info){ 0 };
	rsdp_at = 0;
	via_xsdt = false;
	cpus_dropped = ioapics_dropped = 0;

	if (rsdp_phys && !rsdp_valid(rsdp_phys, end)) {
		pr_warn("ACPI: RSDP at %lx from the bootloader is invalid, searching\n", rsdp_phys);
		rsdp_phys = 0;
	}
	if (!rsdp_phys && (p = map(0x40e, 2)) != NULL) {
		uint64_t ebda = (uint64_t)rd16(p) << 4;
		if (ebda >= 0x500 && ebda + 1024 <= 0xA0000 && (rsdp_phys = rsdp_scan(ebda, ebda + 1024)))
			end = ebda + 1024;
	}
	if (!rsdp_phys && (rsdp_phys = rsdp_scan(BIOS_AREA, BIOS_AREA_END)))
		end = BIOS_AREA_END;
	if (!rsdp_phys) {
		pr_warn("ACPI: no RSDP found\n");
		return;
	}

	p = phys_to_virt(rsdp_phys);
	rsdp_at = rsdp_phys;
	rsdp_rev = p[15];
	rsdt = rd32(p + 16);
	for (int i = 0; i < 6; i++)
		acpi_info.oem_id[i] = p[9 + i] >= 0x20 && p[9 + i] < 0x7f ? (char)p[9 + i] : '?';
	for (n = 6; n > 0 && acpi_info.oem_id[n - 1] == ' '; n--)
		acpi_info.oem_id[n - 1] = 0;
	if (rsdp_rev >= 2) {
		len = rd32(p + 20);
		if (len >= RSDP_V2_LEN && len <= 4096 && rsdp_phys + len <= end &&
		    map(rsdp_phys, len) && sum8(p, len) == 0)
			xsdt = rd64(p + 24);
		else
			pr_warn("ACPI: RSDP extended length/checksum bad, using the RSDT\n");
	}

	root = NULL;
	if (xsdt && (root = sdt_get(xsdt, "XSDT", &len)) != NULL) {
		via_xsdt = true;
		root_pa = xsdt;
	} else if (rsdt) {
		root = sdt_get(rsdt, "RSDT", &len);
		root_pa = rsdt;
	}
	if (!root) {
		pr_warn("ACPI: no usable RSDT/XSDT\n");
		return;
	}
	esz = via_xsdt ? 8 : 4;
	for (uint32_t off = SDT_HDR_LEN; off + esz <= len; off += esz)
		use_table(via_xsdt ? rd64(root + off) : rd32(root + off));
	if (!acpi_info.found)
		pr_warn("ACPI: no usable MADT under the %s at %lx\n", via_xsdt ? "XSDT" : "RSDT",
			root_pa);
}

void acpi_print(void)
{
	const struct acpi_info *a = &acpi_info;

	if (rsdp_at)
		pr_info("ACPI: RSDP at %lx, revision %u, OEM '%s', tables via %s\n", rsdp_at,
			rsdp_rev, a->oem_id, via_xsdt ? "XSDT" : "RSDT");
	if (!a->found) {
		pr_info("ACPI: no usable MADT, using defaults\n");
		return;
	}
	pr_info("ACPI: local APIC at %lx\n", a->lapic_phys);
	for (unsigned i = 0; i < a->ncpus; i++)
		pr_info("ACPI: CPU %u: APIC id %u\n", i, a->cpu_apic_id[i]);
	for (unsigned i = 0; i < a->nioapics; i++)
		pr_info("ACPI: I/O APIC id %u at %lx, GSI base %u\n", a->ioapic[i].id,
			a->ioapic[i].phys, a->ioapic[i].gsi_base);
	for (unsigned i = 0; i < ACPI_ISA_IRQS; i++)
		if (a->isa_override[i].present)
			pr_info("ACPI: ISA IRQ %u -> GSI %u, active %s, %s-triggered\n", i,
				a->isa_override[i].gsi, a->isa_override[i].active_low ? "low" : "high",
				a->isa_override[i].level ? "level" : "edge");
	pr_info("ACPI: 8259 PICs %s\n", a->has_8259 ? "present" : "absent");
	if (a->hpet_phys)
		pr_info("ACPI: HPET at %lx\n", a->hpet_phys);
	else
		pr_info("ACPI: no HPET\n");
}
