/* page_poison.c - freed pages are filled with a pattern and checked when
 * handed out again (debug kernel; mm/pmm.c calls in under WEFT_DEBUG).
 *
 * Every page the buddy allocator owns is all PAGE_POISON_BYTE while it is
 * free: pmm_init() poisons all free memory, pmm_free() poisons each block
 * before giving it back, and pmm_alloc() checks the block it hands out. A
 * changed byte is a write to a freed page (through the direct map, or a
 * stale user or kernel mapping), reported with where the page was freed.
 *
 * free_site[pfn - base] is the return address of the page_free()/pmm_free()
 * call that last freed the page (0: free since boot). It is written by the
 * freeing CPU before the block goes back to the buddy and read by the
 * allocating CPU after it came out: pmm_lock orders the two.
 */
#include <weft/debug.h>
#include <weft/paging.h>
#include <weft/pmm.h>
#include <weft/format.h>
#include <weft/printk.h>
#include <weft/string.h>
#include <arch/memlayout.h>

#define PAGE_POISON_BYTE 0xf5
#define PAGE_POISON_WORD 0xf5f5f5f5f5f5f5f5ull

static uint64_t *free_site;
static uint64_t site_base, site_pages;

void page_poison_init(uint64_t base_pfn, uint64_t npages)
{
	uint64_t bytes = npages * sizeof(uint64_t);
	free_site = phys_to_virt(early_alloc_pages((bytes + PAGE_MASK) >> PAGE_SHIFT));
	site_base = base_pfn;
	site_pages = npages;
}

void page_poison_fill(uint64_t phys, uint64_t npages, uint64_t free_pc)
{
	if ((phys >> PAGE_SHIFT) - site_base >= site_pages)
		return;		/* not a page the allocator manages: pmm_free panics */
	memset(phys_to_virt(phys), PAGE_POISON_BYTE, npages << PAGE_SHIFT);
	uint64_t pfn = phys >> PAGE_SHIFT;
	for (uint64_t i = 0; i < npages; i++)
		if (pfn + i - site_base < site_pages)
			free_site[pfn + i - site_base] = free_pc;
}

void page_poison_check(uint64_t phys, unsigned order)
{
	const uint64_t *w = phys_to_virt(phys);
	uint64_t nwords = (PAGE_SIZE << order) / 8, bad = nwords, last = 0;

	for (uint64_t i = 0; i < nwords; i++) {
		if (w[i] != PAGE_POISON_WORD) {
			if (bad == nwords)
				bad = i;
			last = i;
		}
	}
	if (bad == nwords)
		return;

	uint64_t at = phys + bad * 8, pfn = at >> PAGE_SHIFT;
	uint64_t site = pfn - site_base < site_pages ? free_site[pfn - site_base] : 0;
	char summary[200], where[120];
	snprintf(summary, sizeof summary,
		 "write to a free page: physical %#lx (%p), offset %#lx of a %lu-page block, is %#lx",
		 (unsigned long)at, (void *)&w[bad], (unsigned long)(bad * 8),
		 1ul << order, (unsigned long)w[bad]);
	if (site)
		debug_format_sites(where, sizeof where, &site, 1);
	else
		snprintf(where, sizeof where, "(free since boot)");
	unsigned long f = debug_report_begin("use-after-free page write", "%s", summary);
	pr_emerg("  changed bytes from offset %#lx to %#lx (8-byte words); the page was freed at: %s\n",
		 (unsigned long)(bad * 8), (unsigned long)(last * 8 + 7), where);
	debug_report_end(f, "use-after-free page write", summary);
}
