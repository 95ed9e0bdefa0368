/* kmalloc.h - the kernel heap (mm/kmalloc.c).
 *
 * Small requests (up to KMALLOC_MAX_SMALL bytes) are served from slab pages
 * holding objects of one size class; larger ones take 2^order whole pages
 * from page_alloc(). Every returned pointer is KMALLOC_ALIGN-aligned, and
 * the block it starts lives in the direct map (virt_to_phys() works).
 *
 * All functions may be called with interrupts on or off, including from
 * interrupt handlers; they never sleep. kmalloc() never holds its own lock
 * while calling page_alloc()/page_free(), so there is no lock ordering
 * between the heap and the page allocator.
 *
 * Errors: kfree()/kmalloc_usable_size() of a pointer kmalloc() did not
 * return, or of one already freed, calls kmalloc_panic(), which the user
 * of kmalloc.c defines (the kernel: panic(); host tests: record it). If
 * kmalloc_panic() returns, the call does nothing (usable size 0).
 * Slab double frees are always caught; a double free of a large block is
 * caught as long as its pages have not been reused since.
 */
#ifndef WEFT_KMALLOC_H
#define WEFT_KMALLOC_H
#include <stdint.h>
#include <stddef.h>
#include <weft/pmm.h>

#define KMALLOC_ALIGN     16
#define KMALLOC_MAX_SMALL 2016 /* largest size-class object */
/* Largest request kmalloc() can satisfy: a 2^MAX_ORDER-page block minus its
 * header. Larger requests return NULL. */
#define KMALLOC_MAX_SIZE  ((PAGE_SIZE << MAX_ORDER) - KMALLOC_ALIGN)

/* Allocate at least `size` bytes, uninitialised. Returns NULL if
 * size > KMALLOC_MAX_SIZE or memory is exhausted. kmalloc(0) returns a
 * unique, freeable pointer (a minimum-size object), not NULL. */
void *kmalloc(size_t size);

/* kmalloc(), with the first `size` bytes zeroed. */
void *kzalloc(size_t size);

/* Free a pointer from kmalloc()/kzalloc(). kfree(NULL) does nothing. */
void kfree(void *p);

/* Bytes usable at a live allocation `p` (>= the size asked for);
 * 0 for NULL. */
size_t kmalloc_usable_size(const void *p);

struct kmalloc_stats {
	uint64_t bytes_in_use;	/* sum of kmalloc_usable_size() over live allocations */
	uint64_t allocs;	/* successful kmalloc()/kzalloc() calls, ever */
	uint64_t frees;		/* successful kfree() calls of non-NULL pointers, ever */
	uint64_t pages_held;	/* pages obtained from page_alloc() and not yet returned */
};

/* A consistent snapshot of the counters. */
void kmalloc_get_stats(struct kmalloc_stats *out);

/* Return cached empty slab pages (at most one per size class is kept
 * after frees) to page_free(). After freeing everything and calling this,
 * pages_held is 0. */
void kmalloc_trim(void);

/* Defined by the user of kmalloc.c; see "Errors" above. */
void kmalloc_panic(const char *msg, const void *p);
#endif
