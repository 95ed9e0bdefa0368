/*
 * kstack.c - guard-paged kernel stacks. See <weft/kstack.h>.
 *
 * The KSTACK area is cut into fixed 64 KiB slots. A stack of n pages is
 * mapped at the top of its slot; the rest of the slot below it stays
 * unmapped, so at least one guard page (up to 15 for small stacks) lies
 * between any stack and the one below it. Freed slots are recycled
 * through a free list threaded through a small index array.
 *
 * Freed stacks of the default size go to a small cache first, still
 * mapped: creating a thread then costs no page allocation, mapping or
 * TLB work (most of thread create+join). kstack_trim() gives the cache's
 * pages back, for leak checks and under memory pressure.
 *
 * Locking: kstack_lock guards the slot bookkeeping and the cache; mapping
 * itself is serialised by the page-table lock.
 */
#include <weft/kstack.h>
#include <weft/pmm.h>
#include <weft/paging.h>
#include <weft/spinlock.h>
#include <weft/kmalloc.h>
#include <arch/memlayout.h>

/* Every freed slot is remembered (LIFO: the most recently freed, whose
 * page tables are still present, is reused first), so waves of threads
 * never grow the stack area's page tables. 2^17 slots = 512 KiB of .bss. */
#define MAX_FREE_SLOTS (1u << 17)

static spinlock_t kstack_lock = SPINLOCK_INIT("kstack");
static uint64_t next_slot;                    /* never-used slots start here */
static uint32_t free_slots[MAX_FREE_SLOTS];   /* recycled slot numbers (a stack) */
static unsigned nfree;
static uint64_t live;

#define CACHE_SIZE 32
static struct kstack cache[CACHE_SIZE];       /* mapped KSTACK_PAGES stacks, LIFO */
static unsigned ncached;

static uint64_t slot_get(void)
{
	unsigned long f = spin_lock_irqsave(&kstack_lock);
	uint64_t s = nfree ? free_slots[--nfree] : next_slot++;
	live++;
	spin_unlock_irqrestore(&kstack_lock, f);
	return s;
}

static void slot_put(uint64_t s)
{
	unsigned long f = spin_lock_irqsave(&kstack_lock);
	if (nfree < MAX_FREE_SLOTS)
		free_slots[nfree++] = (uint32_t)s; /* else forget it: 1 TiB of slots is plenty */
	live--;
	spin_unlock_irqrestore(&kstack_lock, f);
}

/* Unmap ks's pages and free them. Another CPU may still hold TLB entries
 * for them (a thread ran there; kernel pages are global), so those go
 * before the pages can be handed out again: the slot's next stack could
 * otherwise be written through a stale entry into a page someone else
 * owns by then. Preemption on, no spinlock held (kunmap_flush_others). */
static void unmap_pages(const struct kstack *ks)
{
	uint64_t pa[KSTACK_SLOT_SIZE / PAGE_SIZE];
	for (unsigned i = 0; i < ks->pages; i++)
		pa[i] = kunmap_page(ks->bottom + i * PAGE_SIZE);
	kunmap_flush_others(ks->bottom, ks->bottom + ks->pages * PAGE_SIZE);
	for (unsigned i = 0; i < ks->pages; i++)
		if (pa[i])
			pmm_free(pa[i], 0);
}

int kstack_alloc(struct kstack *ks, unsigned pages)
{
	if (pages == 0 || pages * PAGE_SIZE >= KSTACK_SLOT_SIZE)
		return -22;
	if (pages == KSTACK_PAGES && ncached) {
		unsigned long f = spin_lock_irqsave(&kstack_lock);
		bool hit = ncached > 0;
		if (hit) {
			*ks = cache[--ncached];
			live++;
		}
		spin_unlock_irqrestore(&kstack_lock, f);
		if (hit)
			return 0;
	}
	uint64_t slot = slot_get();
	uint64_t top = KSTACK_BASE + (slot + 1) * KSTACK_SLOT_SIZE;
	uint64_t bottom = top - pages * PAGE_SIZE;
	for (unsigned i = 0; i < pages; i++) {
		uint64_t pa = pmm_alloc(0);
		if (!pa || kmap_page(bottom + i * PAGE_SIZE, pa, PTE_WRITE | PTE_NX) < 0) {
			if (pa)
				pmm_free(pa, 0);
			struct kstack part = { .bottom = bottom, .top = bottom + i * PAGE_SIZE,
					       .pages = i };
			unmap_pages(&part);
			slot_put(slot);
			return -12;
		}
	}
	ks->bottom = bottom;
	ks->top = top;
	ks->pages = pages;
	return 0;
}

static void unmap_and_free(struct kstack *ks)
{
	unmap_pages(ks);
	slot_put((ks->top - KSTACK_BASE) / KSTACK_SLOT_SIZE - 1);
	ks->bottom = ks->top = 0;
	ks->pages = 0;
}

void kstack_free(struct kstack *ks)
{
	if (ks->pages == KSTACK_PAGES) {
		unsigned long f = spin_lock_irqsave(&kstack_lock);
		bool kept = ncached < CACHE_SIZE;
		if (kept) {
			cache[ncached++] = *ks;
			live--;
		}
		spin_unlock_irqrestore(&kstack_lock, f);
		if (kept) {
			ks->bottom = ks->top = 0;
			ks->pages = 0;
			return;
		}
	}
	unmap_and_free(ks);
}

void kstack_trim(void)
{
	for (;;) {
		struct kstack ks;
		unsigned long f = spin_lock_irqsave(&kstack_lock);
		bool any = ncached > 0;
		if (any) {
			ks = cache[--ncached];
			live++;   /* unmap_and_free's slot_put counts it out again */
		}
		spin_unlock_irqrestore(&kstack_lock, f);
		if (!any)
			return;
		unmap_and_free(&ks);
	}
}

bool kstack_is_guard(uint64_t addr)
{
	return addr >= KSTACK_BASE && addr < KSTACK_BASE + KSTACK_AREA && !paging_is_mapped(addr);
}

uint64_t kstack_count(void) { return live; }
