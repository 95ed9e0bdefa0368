/* ksyms.c - symbol lookup over the table tools/gen-ksyms generates.
 *
 * Layout (in section .ksyms): ksyms_count, then ksyms_addrs[count] sorted
 * ascending, ksyms_name_offsets[count] into ksyms_names (NUL-separated).
 * The first link has an empty table (weak definitions below). */
#include <weft/ksyms.h>
#include <weft/format.h>
#include <weft/string.h>

extern const uint64_t ksyms_count __attribute__((weak));
extern const uint64_t ksyms_addrs[] __attribute__((weak));
extern const uint32_t ksyms_name_offsets[] __attribute__((weak));
extern const char ksyms_names[] __attribute__((weak));
extern const char _text_start[], _text_end[];

static uint64_t count(void) { return &ksyms_count ? ksyms_count : 0; }

const char *ksym_lookup(uint64_t addr, uint64_t *offset)
{
	uint64_t n = count();
	if (n == 0 || addr < (uint64_t)_text_start || addr >= (uint64_t)_text_end)
		return NULL;
	/* Binary search for the last symbol at or below addr. */
	uint64_t lo = 0, hi = n;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (ksyms_addrs[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (ksyms_addrs[lo] > addr)
		return NULL;
	if (offset)
		*offset = addr - ksyms_addrs[lo];
	return &ksyms_names[ksyms_name_offsets[lo]];
}

uint64_t ksym_address(const char *name)
{
	for (uint64_t i = 0; i < count(); i++)
		if (strcmp(&ksyms_names[ksyms_name_offsets[i]], name) == 0)
			return ksyms_addrs[i];
	return 0;
}

void ksym_format(uint64_t addr, char *buf, size_t size)
{
	uint64_t off;
	const char *name = ksym_lookup(addr, &off);
	if (name)
		snprintf(buf, size, "%s+0x%lx", name, (unsigned long)off);
	else
		snprintf(buf, size, "%#lx", (unsigned long)addr);
}
