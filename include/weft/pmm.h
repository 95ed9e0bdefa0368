/* pmm.h - the physical page allocator (mm/pmm.c over mm/buddy.c).
 *
 * Physical memory is handed out in blocks of 2^order pages. Every physical
 * page is also reachable through the direct map (see <arch/memlayout.h>),
 * so page_alloc() returns a kernel virtual address ready to use.
 * All functions may be called with interrupts on or off; they take an
 * irq-saving spinlock internally. They never sleep.
 */
#ifndef WEFT_PMM_H
#define WEFT_PMM_H
#include <stdint.h>
#include <stddef.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1UL << PAGE_SHIFT)
#define PAGE_MASK  (PAGE_SIZE - 1)
#define MAX_ORDER  10 /* largest block: 2^10 pages = 4 MiB */

/* Allocate 2^order contiguous pages; returns a direct-map address, or NULL. */
void *page_alloc(unsigned order);
/* Free a block from page_alloc() with the same order. */
void page_free(void *addr, unsigned order);

/* The same, in physical addresses (0 means failure). */
uint64_t pmm_alloc(unsigned order);
void pmm_free(uint64_t phys, unsigned order);

/* Counters for tests and the `mem` command. */
uint64_t pmm_free_pages(void);
uint64_t pmm_total_pages(void);

/* `pages` zeroed contiguous pages of usable RAM below `limit` (at most
 * 1 MiB) and above page 0, never handed out again; 0 if there are none.
 * For what real-mode code must reach (the CPU start-up trampoline). Boot
 * CPU, before the other CPUs are started. */
uint64_t pmm_alloc_low(unsigned pages, uint64_t limit);
/* Boot: hand every unused usable page to the allocator (after paging_init). */
void pmm_init(void);
#endif
