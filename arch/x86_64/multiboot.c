/*
 * multiboot.c - read multiboot1 (QEMU -kernel) or multiboot2 (GRUB) boot
 * information into struct boot_info.
 *
 * Runs before weft's own page tables exist: the boot tables map physical
 * 0..1 GiB at KERNEL_VMA, so loader structures (always in low memory in
 * practice) are read through boot_ptr(); anything above 1 GiB is refused
 * with a message rather than dereferenced.
 */
#include <weft/bootinfo.h>
#include <weft/printk.h>
#include <weft/panic.h>
#include <weft/string.h>
#include <arch/memlayout.h>

#define MB1_BOOT_MAGIC 0x2BADB002
#define MB2_BOOT_MAGIC 0x36d76289

struct boot_info boot_info;

static const void *boot_ptr(uint64_t phys, uint64_t len)
{
	if (phys + len > (1ULL << 30) || phys + len < phys)
		return NULL;
	return (const void *)(phys + KERNEL_VMA);
}

static void add_region(uint64_t base, uint64_t len, uint32_t type)
{
	if (boot_info.nregions >= BOOT_MAX_REGIONS) {
		pr_warn("boot: more than %d memory regions; ignoring the rest\n", BOOT_MAX_REGIONS);
		return;
	}
	if (type < MEM_USABLE || type > MEM_BAD)
		type = MEM_RESERVED;
	boot_info.regions[boot_info.nregions++] = (struct mem_region){ base, len, type };
}

static void add_module(uint64_t start, uint64_t end, const char *cmdline)
{
	if (boot_info.nmodules >= BOOT_MAX_MODULES || end < start)
		return;
	struct boot_module *m = &boot_info.modules[boot_info.nmodules++];
	m->start = start;
	m->end = end;
	strlcpy(m->cmdline, cmdline ? cmdline : "", sizeof m->cmdline);
}

static const char *boot_string(uint64_t phys)
{
	const char *s = boot_ptr(phys, 1);
	return s ? s : "";
}

/* Multiboot1 information structure (flags select the valid fields). */
struct mb1_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
} __attribute__((packed));

static void parse_mb1(uint64_t info_phys)
{
	const struct mb1_info *mbi = boot_ptr(info_phys, sizeof *mbi);
	if (!mbi)
		panic("boot: multiboot1 information at %#lx is out of reach", (unsigned long)info_phys);
	boot_info.protocol = "multiboot1";
	boot_info.info_len = sizeof *mbi;
	if (mbi->flags & (1 << 2))
		strlcpy(boot_info.cmdline, boot_string(mbi->cmdline), sizeof boot_info.cmdline);
	if (mbi->flags & (1 << 9))
		strlcpy(boot_info.loader_name, boot_string(mbi->boot_loader_name),
			sizeof boot_info.loader_name);
	if (mbi->flags & (1 << 3)) {
		const uint32_t *mods = boot_ptr(mbi->mods_addr, mbi->mods_count * 16ULL);
		for (uint32_t i = 0; mods && i < mbi->mods_count; i++)
			add_module(mods[4 * i], mods[4 * i + 1], boot_string(mods[4 * i + 2]));
	}
	if (mbi->flags & (1 << 6)) {
		/* Entries: u32 size (not counting itself), u64 base, u64 len, u32 type. */
		const uint8_t *p = boot_ptr(mbi->mmap_addr, mbi->mmap_length);
		const uint8_t *end = p ? p + mbi->mmap_length : p;
		while (p && p + 24 <= end) {
			uint32_t size;
			uint64_t base, len;
			uint32_t type;
			memcpy(&size, p, 4);
			memcpy(&base, p + 4, 8);
			memcpy(&len, p + 12, 8);
			memcpy(&type, p + 20, 4);
			add_region(base, len, type);
			p += size + 4;
		}
	} else if (mbi->flags & (1 << 0)) {
		add_region(0, (uint64_t)mbi->mem_lower * 1024, MEM_USABLE);
		add_region(1 << 20, (uint64_t)mbi->mem_upper * 1024, MEM_USABLE);
	}
}

static void parse_mb2(uint64_t info_phys)
{
	const uint32_t *hdr = boot_ptr(info_phys, 8);
	if (!hdr || !boot_ptr(info_phys, hdr[0]))
		panic("boot: multiboot2 information at %#lx is out of reach", (unsigned long)info_phys);
	boot_info.protocol = "multiboot2";
	boot_info.info_len = hdr[0];
	const uint8_t *p = (const uint8_t *)hdr + 8;
	const uint8_t *end = (const uint8_t *)hdr + hdr[0];
	while (p + 8 <= end) {
		uint32_t type, size;
		memcpy(&type, p, 4);
		memcpy(&size, p + 4, 4);
		if (type == 0 || size < 8 || p + size > end)
			break;
		switch (type) {
		case 1: /* boot command line */
			strlcpy(boot_info.cmdline, (const char *)p + 8, sizeof boot_info.cmdline);
			break;
		case 2: /* boot loader name */
			strlcpy(boot_info.loader_name, (const char *)p + 8, sizeof boot_info.loader_name);
			break;
		case 3: { /* module: u32 start, u32 end, string */
			uint32_t s, e;
			memcpy(&s, p + 8, 4);
			memcpy(&e, p + 12, 4);
			add_module(s, e, (const char *)p + 16);
			break;
		}
		case 6: { /* memory map: u32 entry_size, u32 version, entries */
			uint32_t esize;
			memcpy(&esize, p + 8, 4);
			for (const uint8_t *e = p + 16; esize >= 24 && e + esize <= p + size; e += esize) {
				uint64_t base, len;
				uint32_t t;
				memcpy(&base, e, 8);
				memcpy(&len, e + 8, 8);
				memcpy(&t, e + 16, 4);
				add_region(base, len, t);
			}
			break;
		}
		case 14: /* ACPI old RSDP (copy follows the tag header) */
		case 15: /* ACPI new RSDP: preferred */
			if (type == 15 || !boot_info.rsdp_phys)
				boot_info.rsdp_phys = info_phys + (uint64_t)(p + 8 - (const uint8_t *)hdr);
			break;
		}
		p += (size + 7) & ~7U;
	}
}

void bootinfo_parse(uint32_t magic, uint64_t info_phys)
{
	boot_info.info_phys = info_phys;
	if (magic == MB1_BOOT_MAGIC)
		parse_mb1(info_phys);
	else if (magic == MB2_BOOT_MAGIC)
		parse_mb2(info_phys);
	else
		panic("boot: unknown boot protocol (EAX %#x): boot weft with a multiboot or "
		      "multiboot2 loader", magic);
	if (boot_info.nregions == 0)
		panic("boot: the bootloader passed no memory map");
}

void bootinfo_print(void)
{
	static const char *const names[] = { "?", "usable", "reserved", "ACPI", "ACPI NVS", "bad" };
	uint64_t usable = 0;
	pr_info("boot: %s, loader \"%s\"\n", boot_info.protocol,
		boot_info.loader_name[0] ? boot_info.loader_name : "unknown");
	pr_info("boot: command line \"%s\"\n", boot_info.cmdline);
	for (unsigned i = 0; i < boot_info.nregions; i++) {
		const struct mem_region *r = &boot_info.regions[i];
		pr_info("boot: mem 0x%012lx-0x%012lx %s\n", (unsigned long)r->base,
			(unsigned long)(r->base + r->len - 1), names[r->type]);
		if (r->type == MEM_USABLE)
			usable += r->len;
	}
	pr_info("boot: %lu MiB usable\n", (unsigned long)(usable >> 20));
	for (unsigned i = 0; i < boot_info.nmodules; i++)
		pr_info("boot: module %#lx-%#lx \"%s\"\n", (unsigned long)boot_info.modules[i].start,
			(unsigned long)boot_info.modules[i].end, boot_info.modules[i].cmdline);
}
