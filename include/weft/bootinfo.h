/* bootinfo.h - what the bootloader told us, copied out of its structures
 * (arch/x86_64/multiboot.c) before the memory holding them is reused. */
#ifndef WEFT_BOOTINFO_H
#define WEFT_BOOTINFO_H
#include <stdint.h>

#define MEM_USABLE   1
#define MEM_RESERVED 2
#define MEM_ACPI     3
#define MEM_NVS      4
#define MEM_BAD      5

struct mem_region {
	uint64_t base, len;
	uint32_t type;          /* MEM_* (the e820 numbering) */
};

struct boot_module {
	uint64_t start, end;    /* physical, end exclusive */
	char cmdline[64];
};

#define BOOT_MAX_REGIONS 64
#define BOOT_MAX_MODULES 8

struct boot_info {
	const char *protocol;   /* "multiboot1" or "multiboot2" */
	char loader_name[64];
	char cmdline[512];
	unsigned nregions;
	struct mem_region regions[BOOT_MAX_REGIONS];
	unsigned nmodules;
	struct boot_module modules[BOOT_MAX_MODULES];
	uint64_t rsdp_phys;     /* RSDP copy inside the multiboot2 info, or 0 */
	uint64_t info_phys, info_len; /* the loader's structure: kept reserved */
};
extern struct boot_info boot_info;

/* Parse the loader's information; panics with a clear message if the
 * magic number is not one of the two multiboot ones. */
void bootinfo_parse(uint32_t magic, uint64_t info_phys);
void bootinfo_print(void);
#endif
