/* vma.h - an address space's regions, private to mm/ (mm/vma.c): the
 * tree behind mm->vmas and the operations mm/vm.c builds mmap, munmap,
 * mprotect, brk and faults on. Every function needs mm->lock held (or the
 * mm dying, for vma_tree_free); each is O(log n) in the number of regions
 * (vma_remove_range: plus the regions it removes). */
#ifndef WEFT_MM_VMA_H
#define WEFT_MM_VMA_H
#include <weft/vm.h>

void vma_tree_init(struct mm *mm);
/* Free every region (the mm is dying: no lock needed). */
void vma_tree_free(struct mm *mm);

/* The region containing addr, or NULL. */
struct vma *vma_find(struct mm *mm, uint64_t addr);
/* No region meets [start, end). */
bool vma_range_free(struct mm *mm, uint64_t start, uint64_t end);
/* Add [start, end) (free) with prot and name, merged into a neighbour
 * with the same prot and name that touches it. 0 or -ENOMEM. */
int vma_insert(struct mm *mm, uint64_t start, uint64_t end, unsigned prot, const char *name);
/* Make `at` a region boundary if it falls inside a region. 0 or -ENOMEM. */
int vma_split(struct mm *mm, uint64_t at);
/* Remove every region inside [start, end), splitting those that straddle
 * its ends (the pages are the caller's). 0 or -ENOMEM (nothing removed). */
int vma_remove_range(struct mm *mm, uint64_t start, uint64_t end);
/* The top of the highest free gap of len bytes below USER_MMAP_TOP, minus
 * len (where mmap(NULL) places a mapping), or 0 if there is none. */
uint64_t vma_find_gap(struct mm *mm, uint64_t len);

/* In address order. */
struct vma *vma_first(struct mm *mm);
struct vma *vma_next(struct vma *v);
#endif
