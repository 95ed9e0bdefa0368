/* kmalloc_raw.h - mm/kmalloc.c as the debug kernel builds it: the size-class
 * allocator under the debug layer (mm/debug/kmalloc_debug.c). Same
 * contracts as <weft/kmalloc.h>, for the pointers the raw layer returned. */
#ifndef WEFT_KMALLOC_RAW_H
#define WEFT_KMALLOC_RAW_H
#include <stddef.h>

struct kmalloc_stats;
void *kmalloc_raw(size_t size);
void *kzalloc_raw(size_t size);
void kfree_raw(void *p);
size_t kmalloc_usable_size_raw(const void *p);
void kmalloc_get_stats_raw(struct kmalloc_stats *out);
void kmalloc_trim_raw(void);

/* Whether `p` is a live raw allocation: NULL and *usable set if so, else
 * what is wrong with it (the message kfree_raw() would panic with). Reads
 * the header of p's page, which must be mapped. */
const char *kmalloc_check_raw(const void *p, size_t *usable);

/* Offset of a large block's object in its first page (LARGE_HDR). */
#define KMALLOC_RAW_LARGE_OFFSET 16
#endif
