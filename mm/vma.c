/*
 * vma.c - an address space's regions (struct vma): an AVL tree keyed by
 * start address (<weft/avl.h>), augmented with the largest free gap of
 * each subtree. See mm/vma.h; mm/vm.c builds the system calls on it.
 *
 * Regions never overlap and are never empty. Each records the free gap
 * below it (v->gap: from the previous region's end, USER_MIN_ADDR for the
 * first) and the tree keeps the largest gap of each subtree (v->max_gap),
 * so vma_find_gap() finds the highest hole big enough in O(log n).
 * Whoever moves a region's start, or the end of the region before it, or
 * changes which region is before it, calls gap_changed() on it. All of it
 * under mm->lock.
 */
#include <weft/vm.h>
#include <weft/kmalloc.h>
#include <weft/errno.h>
#include <weft/printk.h>
#include "vma.h"

static struct vma *vma_of(struct avl_node *n) { return n ? container_of(n, struct vma, node) : NULL; }
struct vma *vma_first(struct mm *mm) { return vma_of(avl_first(&mm->vmas)); }
struct vma *vma_next(struct vma *v) { return vma_of(avl_next(&v->node)); }
static struct vma *vma_prev(struct vma *v) { return vma_of(avl_prev(&v->node)); }

/* avl_tree.update: max_gap from the node's gap and its children's. */
static void vma_update(struct avl_node *n)
{
	struct vma *v = vma_of(n), *l = vma_of(n->left), *r = vma_of(n->right);
	uint64_t m = v->gap;
	if (l && l->max_gap > m)
		m = l->max_gap;
	if (r && r->max_gap > m)
		m = r->max_gap;
	v->max_gap = m;
}

void vma_tree_init(struct mm *mm)
{
	mm->vmas = (struct avl_tree){ .root = NULL, .update = vma_update };
	mm->nr_vmas = 0;
}

/* The free bytes between prev (NULL: none) and v. */
static uint64_t gap_below(struct vma *prev, struct vma *v)
{
	uint64_t lo = prev ? prev->end : USER_MIN_ADDR;
	return v->start > lo ? v->start - lo : 0;
}

/* v's start or the end of the region before it moved (v NULL: none). */
static void gap_changed(struct mm *mm, struct vma *v)
{
	if (!v)
		return;
	v->gap = gap_below(vma_prev(v), v);
	avl_propagate(&mm->vmas, &v->node);
}

/* The last region starting at or below addr, or NULL. */
static struct vma *vma_floor(struct mm *mm, uint64_t addr)
{
	struct vma *best = NULL;
	struct avl_node *n = mm->vmas.root;
	while (n) {
		struct vma *v = vma_of(n);
		if (addr < v->start) {
			n = n->left;
		} else {
			best = v;
			n = n->right;
		}
	}
	return best;
}

/* The first region starting at or above addr, or NULL. */
static struct vma *vma_ceil(struct mm *mm, uint64_t addr)
{
	struct vma *best = NULL;
	struct avl_node *n = mm->vmas.root;
	while (n) {
		struct vma *v = vma_of(n);
		if (v->start < addr) {
			n = n->right;
		} else {
			best = v;
			n = n->left;
		}
	}
	return best;
}

/* The region after floor (vma_floor's answer; NULL: the first region). */
static struct vma *vma_after(struct mm *mm, struct vma *floor)
{
	return floor ? vma_next(floor) : vma_first(mm);
}

struct vma *vma_find(struct mm *mm, uint64_t addr)
{
	struct vma *v = vma_floor(mm, addr);
	return v && addr < v->end ? v : NULL;
}

bool vma_range_free(struct mm *mm, uint64_t start, uint64_t end)
{
	struct vma *v = vma_floor(mm, start);
	if (v && v->end > start)
		return false;
	struct vma *n = vma_after(mm, v);
	return !n || n->start >= end;
}

/* Link v (its range free; prev the region before it, or NULL) into the
 * tree; the caller then fixes the gap of the region after it. */
static void vma_link(struct mm *mm, struct vma *v, struct vma *prev)
{
	v->gap = gap_below(prev, v);
	struct avl_node **link = &mm->vmas.root, *parent = NULL;
	while (*link) {
		parent = *link;
		link = v->start < vma_of(parent)->start ? &parent->left : &parent->right;
	}
	avl_insert(&mm->vmas, &v->node, parent, link);
	mm->nr_vmas++;
}

/* Take v out of the tree (the caller frees it and fixes the gap of the
 * region that followed it). */
static void vma_unlink(struct mm *mm, struct vma *v)
{
	avl_remove(&mm->vmas, &v->node);
	mm->nr_vmas--;
}

void vma_tree_free(struct mm *mm)
{
	while (mm->vmas.root) {
		struct vma *v = vma_of(mm->vmas.root);
		vma_unlink(mm, v);
		kfree(v);
	}
}

int vma_insert(struct mm *mm, uint64_t start, uint64_t end, unsigned prot, const char *name)
{
	struct vma *prev = vma_floor(mm, start);
	struct vma *next = vma_after(mm, prev);
	if (prev && prev->end == start && prev->prot == prot && prev->name == name) {
		prev->end = end;
		if (next && next->start == end && next->prot == prot && next->name == name) {
			prev->end = next->end;   /* the region after next keeps its gap */
			vma_unlink(mm, next);
			kfree(next);
			return 0;
		}
		gap_changed(mm, next);
		return 0;
	}
	if (next && next->start == end && next->prot == prot && next->name == name) {
		next->start = start;
		gap_changed(mm, next);
		return 0;
	}
	struct vma *v = kmalloc(sizeof *v);
	if (!v)
		return -ENOMEM;
	v->start = start;
	v->end = end;
	v->prot = prot;
	v->name = name;
	vma_link(mm, v, prev);
	gap_changed(mm, next);
	return 0;
}

int vma_split(struct mm *mm, uint64_t at)
{
	struct vma *v = vma_find(mm, at);
	if (!v || v->start == at)
		return 0;
	struct vma *n = kmalloc(sizeof *n);
	if (!n)
		return -ENOMEM;
	*n = *v;
	n->start = at;
	v->end = at;                 /* v's gap and that of the region after n stay */
	vma_link(mm, n, v);          /* n's gap: 0 */
	return 0;
}

int vma_remove_range(struct mm *mm, uint64_t start, uint64_t end)
{
	if (vma_split(mm, start) < 0 || vma_split(mm, end) < 0)
		return -ENOMEM;
	/* After the splits the regions inside are whole: from the first
	 * starting at start up to the first ending above end. */
	struct vma *v = vma_ceil(mm, start);
	while (v && v->end <= end) {
		struct vma *next = vma_next(v);
		vma_unlink(mm, v);
		kfree(v);
		v = next;
	}
	gap_changed(mm, v);
	return 0;
}

/* The highest region at or below key in n's subtree with a gap of at
 * least len, or NULL. O(height): a subtree whose max_gap is too small is
 * skipped, and one lying wholly at or below key that is not skipped holds
 * an answer. */
static struct vma *highest_gap(struct avl_node *n, uint64_t key, uint64_t len)
{
	while (n && vma_of(n)->max_gap >= len) {
		struct vma *v = vma_of(n);
		if (v->start > key) {
			n = n->left;
			continue;
		}
		struct vma *r = highest_gap(n->right, key, len);
		if (r)
			return r;
		if (v->gap >= len)
			return v;
		n = n->left;
	}
	return NULL;
}

/* The hole under USER_MMAP_TOP above the last region starting below it,
 * else the highest gap below one of the regions up to that one. */
uint64_t vma_find_gap(struct mm *mm, uint64_t len)
{
	struct vma *top = vma_floor(mm, USER_MMAP_TOP - 1);
	uint64_t lo = top ? top->end : USER_MIN_ADDR;
	if (lo <= USER_MMAP_TOP && USER_MMAP_TOP - lo >= len)
		return USER_MMAP_TOP - len;
	if (!top)
		return 0;
	struct vma *v = highest_gap(mm->vmas.root, top->start, len);
	return v ? v->start - len : 0;
}

/* --- checking (tests) ------------------------------------------------------- */

/* Check n's subtree; returns its node count, or -1 after printing what
 * is wrong. *prev: the region before the subtree (in-order walk). */
static long check_subtree(struct avl_node *n, struct vma **prev)
{
	if (!n)
		return 0;
	long l = check_subtree(n->left, prev);
	if (l < 0)
		return -1;
	struct vma *v = vma_of(n);
	if (v->start >= v->end || (*prev && (*prev)->end > v->start)) {
		kprintf("vma_check: region %#lx-%#lx is empty or overlaps the one before\n",
			(unsigned long)v->start, (unsigned long)v->end);
		return -1;
	}
	if (v->gap != gap_below(*prev, v)) {
		kprintf("vma_check: region %#lx: gap %#lx, should be %#lx\n", (unsigned long)v->start,
			(unsigned long)v->gap, (unsigned long)gap_below(*prev, v));
		return -1;
	}
	*prev = v;
	long r = check_subtree(n->right, prev);
	if (r < 0)
		return -1;
	uint64_t want = v->max_gap;
	vma_update(n);
	if (v->max_gap != want) {
		kprintf("vma_check: region %#lx: max_gap %#lx, should be %#lx\n",
			(unsigned long)v->start, (unsigned long)want, (unsigned long)v->max_gap);
		return -1;
	}
	return l + 1 + r;
}

int vm_check(struct mm *mm)
{
	mutex_lock(&mm->lock);
	struct vma *prev = NULL;
	long n = check_subtree(mm->vmas.root, &prev);
	int r = n < 0 ? -EINVAL : 0;
	if (n >= 0 && (uint64_t)n != mm->nr_vmas) {
		kprintf("vma_check: %ld regions in the tree, nr_vmas %lu\n", n,
			(unsigned long)mm->nr_vmas);
		r = -EINVAL;
	}
	mutex_unlock(&mm->lock);
	return r;
}
