/* kstack.h - kernel stacks with guard pages (mm/kstack.c).
 *
 * Each stack lives in its own slot of the KSTACK area (<arch/memlayout.h>):
 * an unmapped guard page at the bottom, then the stack pages. Running off
 * the bottom touches the guard page; the #PF handler cannot push its frame
 * there either, so the CPU raises #DF, which runs on its own IST stack and
 * reports the overflow instead of triple-faulting.
 */
#ifndef WEFT_KSTACK_H
#define WEFT_KSTACK_H
#include <stdint.h>
#include <stdbool.h>

#define KSTACK_PAGES     4              /* 16 KiB per thread */
#define KSTACK_SLOT_SIZE (64 * 1024)    /* guard + up to 15 pages */

struct kstack {
	uint64_t bottom;   /* lowest usable address (the guard page is just below) */
	uint64_t top;      /* one past the highest address: the initial RSP */
	unsigned pages;
};

/* Allocate and map a stack of `pages` pages (1..15); 0 or -ENOMEM. */
int kstack_alloc(struct kstack *ks, unsigned pages);
/* Unmap and free it. The caller must not be running on it. */
void kstack_free(struct kstack *ks);
/* Free the stacks kept mapped for reuse (leak checks, memory pressure). */
void kstack_trim(void);
/* true if addr lies in the guard page of some kernel stack slot. */
bool kstack_is_guard(uint64_t addr);
/* Number of stacks currently allocated. */
uint64_t kstack_count(void);
#endif
