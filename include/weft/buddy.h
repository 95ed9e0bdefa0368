/* buddy.h - a binary buddy allocator over a range of page frame numbers.
 *
 * The allocator never reads or writes the memory it manages: every piece of
 * bookkeeping lives in a caller-provided array of struct buddy_page, one
 * entry per frame in [base_pfn, base_pfn + npages). So it can manage memory
 * that is not mapped yet.
 *
 * Blocks: a block of order k is 2^k frames starting at a pfn that is a
 * multiple of 2^k (absolute pfn, not relative to base_pfn), 0 <= k <=
 * MAX_ORDER. Each frame is in exactly one state:
 *   reserved  - never handed to the allocator (the initial state);
 *   free      - part of a free block on free list[order] of the block head;
 *   allocated - part of a block returned by buddy_alloc() and not yet freed.
 * Free blocks are always merged with a free buddy of the same order, so no
 * two buddies of order k < MAX_ORDER are both free heads of order k.
 *
 * Cost: buddy_alloc() and buddy_free() are O(MAX_ORDER); buddy_add_free()
 * is O(count); buddy_init() is O(npages).
 *
 * Locking: none here. Callers serialise every call on one struct buddy
 * (mm/pmm.c holds its spinlock around them).
 *
 * Errors: misuse (double free, freeing a block that was never allocated or
 * with the wrong order, giving the allocator frames it already has) calls
 * buddy_panic(), which the user of this file defines (the kernel: panic();
 * host tests: record the error). If buddy_panic() returns, the offending
 * call returns without changing any state.
 */
#ifndef WEFT_BUDDY_H
#define WEFT_BUDDY_H
#include <stdint.h>
#include <stddef.h>
#include <weft/pmm.h>

/* Ends a free list / marks an unlinked entry. Also bounds npages. */
#define BUDDY_NIL UINT32_MAX

/* buddy_page.flags */
#define BUDDY_RESERVED 0x1 /* not managed: never given by buddy_add_free() */
#define BUDDY_FREE     0x2 /* head of a free block of `order`, on a free list */
#define BUDDY_ALLOC    0x4 /* head of an allocated block of `order` */
/* flags == 0: a non-head frame inside some free or allocated block. */

/* Per-frame metadata. `next`/`prev` link free-block heads into their free
 * list as indexes relative to base_pfn (BUDDY_NIL at the ends); they and
 * `order` are meaningful only while flags is BUDDY_FREE (`order` also while
 * BUDDY_ALLOC). */
struct buddy_page {
	uint32_t next;
	uint32_t prev;
	uint8_t order;
	uint8_t flags;
	uint16_t reserved_;
};

struct buddy {
	struct buddy_page *pages;		/* pages[pfn - base_pfn] */
	uint64_t base_pfn;
	uint64_t npages;			/* < BUDDY_NIL */
	uint32_t free_head[MAX_ORDER + 1];	/* index of first free block, or BUDDY_NIL */
	uint64_t nr_free[MAX_ORDER + 1];	/* blocks on each free list */
	uint64_t free_pages;			/* frames in free blocks */
};

/* Bytes of struct buddy_page metadata needed to manage npages frames. */
size_t buddy_meta_size(uint64_t npages);

/* Set up `b` over [base_pfn, base_pfn + npages) using `meta`, which must
 * hold buddy_meta_size(npages) bytes and outlive `b`. All frames start
 * reserved. npages must be < BUDDY_NIL (larger values call buddy_panic()
 * and are clamped). */
void buddy_init(struct buddy *b, struct buddy_page *meta, uint64_t base_pfn,
		uint64_t npages);

/* Hand the frames [pfn, pfn + count) to the allocator as free memory,
 * merging with adjacent free blocks. Parts of the range outside the
 * managed range are ignored. Every frame inside it must still be reserved;
 * otherwise buddy_panic() is called and nothing is added. */
void buddy_add_free(struct buddy *b, uint64_t pfn, uint64_t count);

/* Allocate a naturally aligned block of 2^order frames. Returns its first
 * pfn, or -1 if order > MAX_ORDER or no free block is large enough. */
int64_t buddy_alloc(struct buddy *b, unsigned order);

/* Free a block returned by buddy_alloc(b, order), merging it with free
 * buddies. A pfn that is not the head of an allocated block of exactly this
 * order (double free, never allocated, wrong order, out of range) calls
 * buddy_panic(). */
void buddy_free(struct buddy *b, uint64_t pfn, unsigned order);

/* Frames currently free. */
uint64_t buddy_free_count(const struct buddy *b);

/* Defined by the user of buddy.c; see "Errors" above. `pfn` is the frame
 * (or count) the complaint is about. */
void buddy_panic(const char *msg, uint64_t pfn);
#endif
