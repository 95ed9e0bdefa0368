/* buddy.c - binary buddy allocator over page frame numbers; see
 * <weft/buddy.h> for the contract. Nothing here touches managed memory,
 * and nothing here locks: the caller serialises all calls on a buddy.
 *
 * Invariants between calls:
 *  - a frame index i is on free list k iff pages[i].flags == BUDDY_FREE and
 *    pages[i].order == k; then base_pfn + i is a multiple of 2^k and the
 *    whole block lies inside the managed range with every non-head frame
 *    having flags == 0;
 *  - nr_free[k] is the length of free list k, and free_pages is the sum
 *    over k of nr_free[k] << k;
 *  - no free block of order k < MAX_ORDER has a buddy that is also a free
 *    block of order k (frees and additions always merge).
 */
#include <stdbool.h>
#include <weft/buddy.h>

static inline struct buddy_page *page_of(struct buddy *b, uint64_t pfn)
{
	return &b->pages[pfn - b->base_pfn];
}

static inline bool in_range(const struct buddy *b, uint64_t pfn)
{
	return pfn >= b->base_pfn && pfn - b->base_pfn < b->npages;
}

/* Push the block headed by index `i` onto free list `order` and mark it. */
static void list_push(struct buddy *b, uint32_t i, unsigned order)
{
	struct buddy_page *p = &b->pages[i];
	uint32_t head = b->free_head[order];

	p->flags = BUDDY_FREE;
	p->order = (uint8_t)order;
	p->prev = BUDDY_NIL;
	p->next = head;
	if (head != BUDDY_NIL)
		b->pages[head].prev = i;
	b->free_head[order] = i;
	b->nr_free[order]++;
}

/* Unlink free head `i` from its free list; its flags become 0 (the caller
 * re-marks it). */
static void list_remove(struct buddy *b, uint32_t i)
{
	struct buddy_page *p = &b->pages[i];
	unsigned order = p->order;

	if (p->prev != BUDDY_NIL)
		b->pages[p->prev].next = p->next;
	else
		b->free_head[order] = p->next;
	if (p->next != BUDDY_NIL)
		b->pages[p->next].prev = p->prev;
	p->next = p->prev = BUDDY_NIL;
	p->flags = 0;
	b->nr_free[order]--;
}

/* Put the block [pfn, pfn + 2^order) on the free lists, merging upward with
 * free buddies. The block's frames must all have flags == 0. Does not
 * change free_pages. */
static void insert_merged(struct buddy *b, uint64_t pfn, unsigned order)
{
	while (order < MAX_ORDER) {
		uint64_t buddy = pfn ^ ((uint64_t)1 << order);
		struct buddy_page *bp;

		if (!in_range(b, buddy))
			break;
		bp = page_of(b, buddy);
		if (bp->flags != BUDDY_FREE || bp->order != order)
			break;
		list_remove(b, (uint32_t)(buddy - b->base_pfn));
		if (buddy < pfn)
			pfn = buddy;
		order++;
	}
	list_push(b, (uint32_t)(pfn - b->base_pfn), order);
}

/* Whether frame `pfn` (in range) lies inside some free block. O(MAX_ORDER);
 * only used to word error messages. */
static bool in_free_block(struct buddy *b, uint64_t pfn)
{
	for (unsigned k = 0; k <= MAX_ORDER; k++) {
		uint64_t head = pfn & ~(((uint64_t)1 << k) - 1);

		if (!in_range(b, head))
			break;
		if (page_of(b, head)->flags == BUDDY_FREE)
			return page_of(b, head)->order >= k;
	}
	return false;
}

size_t buddy_meta_size(uint64_t npages)
{
	return (size_t)npages * sizeof(struct buddy_page);
}

void buddy_init(struct buddy *b, struct buddy_page *meta, uint64_t base_pfn,
		uint64_t npages)
{
	if (npages >= BUDDY_NIL) {
		buddy_panic("buddy_init: too many pages", npages);
		npages = BUDDY_NIL - 1;
	}
	b->pages = meta;
	b->base_pfn = base_pfn;
	b->npages = npages;
	b->free_pages = 0;
	for (unsigned k = 0; k <= MAX_ORDER; k++) {
		b->free_head[k] = BUDDY_NIL;
		b->nr_free[k] = 0;
	}
	for (uint64_t i = 0; i < npages; i++) {
		meta[i].next = meta[i].prev = BUDDY_NIL;
		meta[i].order = 0;
		meta[i].flags = BUDDY_RESERVED;
		meta[i].reserved_ = 0;
	}
}

void buddy_add_free(struct buddy *b, uint64_t pfn, uint64_t count)
{
	uint64_t lo = b->base_pfn, hi = b->base_pfn + b->npages;
	uint64_t end;

	/* Clip [pfn, pfn + count) to [lo, hi) without overflowing. */
	if (count > UINT64_MAX - pfn)
		count = UINT64_MAX - pfn;
	end = pfn + count;
	if (pfn < lo)
		pfn = lo;
	if (end > hi)
		end = hi;
	if (pfn >= end)
		return;

	/* Check everything first so a bad call changes nothing. */
	for (uint64_t p = pfn; p < end; p++) {
		if (page_of(b, p)->flags != BUDDY_RESERVED) {
			buddy_panic("buddy_add_free: page already managed", p);
			return;
		}
	}
	for (uint64_t p = pfn; p < end; p++)
		page_of(b, p)->flags = 0;

	/* Carve into the largest aligned blocks that fit. */
	while (pfn < end) {
		unsigned order = 0;

		while (order < MAX_ORDER &&
		       (pfn & (((uint64_t)2 << order) - 1)) == 0 &&
		       end - pfn >= ((uint64_t)2 << order))
			order++;
		insert_merged(b, pfn, order);
		b->free_pages += (uint64_t)1 << order;
		pfn += (uint64_t)1 << order;
	}
}

int64_t buddy_alloc(struct buddy *b, unsigned order)
{
	unsigned k = order;
	uint32_t i;

	if (order > MAX_ORDER)
		return -1;
	while (k <= MAX_ORDER && b->free_head[k] == BUDDY_NIL)
		k++;
	if (k > MAX_ORDER)
		return -1;

	i = b->free_head[k];
	list_remove(b, i);
	/* Split: keep the lower half, free the upper half, until small enough. */
	while (k > order) {
		k--;
		list_push(b, i + ((uint32_t)1 << k), k);
	}
	b->pages[i].flags = BUDDY_ALLOC;
	b->pages[i].order = (uint8_t)order;
	b->free_pages -= (uint64_t)1 << order;
	return (int64_t)(b->base_pfn + i);
}

void buddy_free(struct buddy *b, uint64_t pfn, unsigned order)
{
	struct buddy_page *p;

	if (order > MAX_ORDER) {
		buddy_panic("buddy_free: bad order", pfn);
		return;
	}
	if (!in_range(b, pfn)) {
		buddy_panic("buddy_free: pfn out of range", pfn);
		return;
	}
	if (pfn & (((uint64_t)1 << order) - 1)) {
		buddy_panic("buddy_free: misaligned block", pfn);
		return;
	}
	p = page_of(b, pfn);
	if (p->flags != BUDDY_ALLOC) {
		if (p->flags == BUDDY_RESERVED)
			buddy_panic("buddy_free: page is reserved", pfn);
		else if (in_free_block(b, pfn))
			buddy_panic("buddy_free: frame already free (double free)", pfn);
		else
			buddy_panic("buddy_free: not an allocated block", pfn);
		return;
	}
	if (p->order != order) {
		buddy_panic("buddy_free: wrong order", pfn);
		return;
	}
	p->flags = 0;
	insert_merged(b, pfn, order);
	b->free_pages += (uint64_t)1 << order;
}

uint64_t buddy_free_count(const struct buddy *b)
{
	return b->free_pages;
}
