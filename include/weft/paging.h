/* paging.h - kernel page tables (arch/x86_64/paging.c).
 *
 * weft builds its own tables at boot (paging_init): the direct map of all
 * physical memory (2 MiB pages, no-execute), the kernel image in 4 KiB
 * pages with text read-only+executable, rodata read-only, data and bss
 * read-write+no-execute, and an empty, pre-allocated PDPT for every slot of
 * the kernel half so that every future address space can share them. */
#ifndef WEFT_PAGING_H
#define WEFT_PAGING_H
#include <stdint.h>
#include <stdbool.h>

#define PTE_PRESENT  (1ULL << 0)
#define PTE_WRITE    (1ULL << 1)
#define PTE_USER     (1ULL << 2)
#define PTE_PWT      (1ULL << 3)
#define PTE_PCD      (1ULL << 4)
#define PTE_ACCESSED (1ULL << 5)
#define PTE_DIRTY    (1ULL << 6)
#define PTE_HUGE     (1ULL << 7)
#define PTE_GLOBAL   (1ULL << 8)
#define PTE_PROTNONE (1ULL << 9)   /* software bit (not present): a user page kept
					  * under PROT_NONE, see mm/vm.c */
#define PTE_ZAPPED   (1ULL << 10)  /* software bit (not present): a user page being
					  * unmapped, freed after the TLB flush (mm/vm.c) */
#define PTE_NX       (1ULL << 63)
#define PTE_ADDR     0x000ffffffffff000ULL

/* Build and load the kernel's tables. Allocates page-table pages from the
 * early allocator (pmm is not up yet). */
void paging_init(void);
/* First physical address the early allocator has not used: the PMM gets
 * everything usable from here on. */
uint64_t paging_early_end(void);
/* n contiguous zeroed pages from the early allocator (before the PMM). */
uint64_t early_alloc_pages(uint64_t n);

/* Map/unmap one 4 KiB page in the kernel half of every address space.
 * flags: PTE_WRITE, PTE_NX, PTE_PCD... (present and global are implied).
 * Returns 0, or -ENOMEM if a page-table page could not be allocated. */
int kmap_page(uint64_t va, uint64_t pa, uint64_t flags);
/* Returns the physical address that was mapped, or 0. Flushes the TLB
 * entry on this CPU only: see kunmap_flush_others(). */
uint64_t kunmap_page(uint64_t va);
/* After kunmap_page() of pages in [start, end): make every other CPU drop
 * its TLB entries for the range (kernel pages are global, so entries
 * survive CR3 switches), before the pages are reused. Waits for them: call
 * with preemption on (no spinlock held; interrupts may be off), see
 * <weft/smp.h>. A no-op with one CPU online. */
void kunmap_flush_others(uint64_t start, uint64_t end);
/* Is va mapped in the current address space? Safe on any address. */
bool paging_is_mapped(uint64_t va);
/* The leaf entry for va (0 if none); *level gets 1 (4K), 2 (2M) or 3 (1G). */
uint64_t paging_lookup(uint64_t va, int *level);
/* Physical address of the kernel's PML4. */
uint64_t paging_kernel_root(void);

/* User address spaces (the lower half, below USER_TOP). */
#define USER_TOP 0x00007ffffffff000ULL   /* first address user mode never gets */
/* A new root sharing the kernel half; 0 if out of memory. */
uint64_t pt_create_root(void);
/* Free a root and its user-half table pages (not the pages they map). */
void pt_destroy_root(uint64_t root);
/* The 4 KiB PTE for a user va (NULL if va >= USER_TOP, or if a table is
 * missing and !create, or out of memory). */
uint64_t *pt_walk_user(uint64_t root, uint64_t va, bool create);
/* fn(pte, va, arg) for every leaf in [start, end) of a user root that
 * holds a page: any non-zero PTE (present, PTE_PROTNONE, PTE_ZAPPED). */
typedef void (*pt_leaf_fn)(uint64_t *pte, uint64_t va, void *arg);
void pt_walk_range(uint64_t root, uint64_t start, uint64_t end, pt_leaf_fn fn, void *arg);
/* PTE_NX if the CPU has it, else 0. */
uint64_t pte_nx(void);
#endif
