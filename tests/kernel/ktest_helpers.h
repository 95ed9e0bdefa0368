/* ktest_helpers.h - small helpers shared by the thread and sync test files. */
#ifndef WEFT_KTEST_HELPERS_H
#define WEFT_KTEST_HELPERS_H
#include <stdint.h>
#include <weft/time.h>
#include <weft/sched.h>
#include <weft/paging.h>
#include <arch/memlayout.h>

#define MS(x) ((uint64_t)(x) * NSEC_PER_MSEC)

static inline uint64_t now_ns(void) { return clock_monotonic_ns(); }

/* Scheduler counters of CPU 0, where these tests and their threads run
 * (ktest_run() pins the test thread to its CPU, CPU 0 at boot, and new
 * threads inherit their creator's mask). */
static inline struct sched_stats stats(void)
{
	struct sched_stats s;
	sched_get_stats(0, &s);
	return s;
}
/* Page-table pages (PDs and PTs) that map the kernel-stack area now.
 * kmap_page() allocates them from the PMM on demand and nothing frees
 * them, so a test that counts free pages must count these apart: they are
 * the kernel's cache of mappings for stack slots, not a leak per thread. */
static inline uint64_t kstack_table_pages(void)
{
	const uint64_t *pml4 = phys_to_virt(paging_kernel_root());
	uint64_t n = 0;
	for (uint64_t va = KSTACK_BASE; va - KSTACK_BASE < KSTACK_AREA; va += 1ULL << 39) {
		uint64_t e4 = pml4[(va >> 39) & 511];
		if (!(e4 & PTE_PRESENT))
			continue;
		const uint64_t *pdpt = phys_to_virt(e4 & PTE_ADDR); /* preallocated at boot */
		for (unsigned i = 0; i < 512; i++) {
			if (!(pdpt[i] & PTE_PRESENT) || (pdpt[i] & PTE_HUGE))
				continue;
			n++; /* a page directory */
			const uint64_t *pd = phys_to_virt(pdpt[i] & PTE_ADDR);
			for (unsigned j = 0; j < 512; j++)
				if ((pd[j] & PTE_PRESENT) && !(pd[j] & PTE_HUGE))
					n++; /* a page table */
		}
	}
	return n;
}
#endif
