/* kmalloc.c - the kernel heap; see <weft/kmalloc.h> for the contract.
 *
 * Layout. Every kmalloc'd pointer lies in a block obtained from
 * page_alloc() whose first page begins with a header, so rounding a pointer
 * down to its page finds the header:
 *  - a slab page (order 0) starts with struct slab (SLAB_HDR bytes), then
 *    nobj(cls) objects of class_size[cls] bytes;
 *  - a large block (2^order pages) starts with struct large (LARGE_HDR
 *    bytes); the object is everything after it.
 * Header sizes and class sizes are multiples of KMALLOC_ALIGN, so every
 * object is aligned. Pages handed back to page_free() get DEAD_MAGIC first.
 *
 * Free objects are tracked only in their slab's bitmap, never inside the
 * objects, so a stray write to freed memory cannot corrupt the allocator,
 * and a double free is an O(1) bit test.
 *
 * Locking: kmalloc_lock (irq-saving; callers may be interrupt handlers)
 * guards the class lists, every slab header, the magic of live large
 * blocks and `stats`. It is never held across page_alloc()/page_free(), and
 * kmalloc_panic() is called after dropping it.
 */
#include <stdbool.h>
#ifdef WEFT_DEBUG
/* The debug kernel puts mm/debug/kmalloc_debug.c (redzones, poisoning,
 * quarantine) in front of this allocator: it owns the public names, and
 * these functions become its raw layer (mm/debug/kmalloc_raw.h). */
#define kmalloc             kmalloc_raw
#define kzalloc             kzalloc_raw
#define kfree               kfree_raw
#define kmalloc_usable_size kmalloc_usable_size_raw
#define kmalloc_get_stats   kmalloc_get_stats_raw
#define kmalloc_trim        kmalloc_trim_raw
#include "debug/kmalloc_raw.h"
#endif
#include <weft/kmalloc.h>
#include <weft/pmm.h>
#include <weft/spinlock.h>
#include <weft/string.h>

/* Host tests may define these to ASan-poison free objects. */
#ifndef KMALLOC_POISON
#define KMALLOC_POISON(addr, len) ((void)0)
#endif
#ifndef KMALLOC_UNPOISON
#define KMALLOC_UNPOISON(addr, len) ((void)0)
#endif

#define SLAB_MAGIC  0x51ab0b1eu
#define LARGE_MAGIC 0x1a46eb1cu
#define DEAD_MAGIC  0xdeadf4eeu
#define SLAB_HDR    64
#define LARGE_HDR   KMALLOC_ALIGN
#define MAP_WORDS   4

/* Class sizes: multiples of 16; the big ones chosen to fill a page. */
static const uint16_t class_size[] = {
	16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1008, 1344, 2016,
};
#define NCLASSES (sizeof(class_size) / sizeof(class_size[0]))

struct slab {
	uint32_t magic;			/* SLAB_MAGIC */
	uint16_t cls;			/* index into class_size */
	uint16_t nfree;			/* set bits in freemap */
	struct slab *next, *prev;	/* class partial list; NULL when off it */
	uint64_t freemap[MAP_WORDS];	/* bit i set: object i is free */
};

struct large {
	uint32_t magic;			/* LARGE_MAGIC while allocated */
	uint32_t order;			/* block is 2^order pages */
	uint64_t unused;
};

_Static_assert(sizeof(struct slab) <= SLAB_HDR, "slab header too big");
_Static_assert(sizeof(struct large) <= LARGE_HDR, "large header too big");
_Static_assert(SLAB_HDR % KMALLOC_ALIGN == 0, "slab objects misaligned");
_Static_assert((PAGE_SIZE - SLAB_HDR) / 16 <= MAP_WORDS * 64, "freemap too small");

/* Per class: `partial` lists the slabs with both free and used objects;
 * `empty` is at most one cached slab with no used objects (on no list).
 * Full slabs are on no list. */
static struct kclass {
	struct slab *partial;
	struct slab *empty;
} classes[NCLASSES];

static struct kmalloc_stats stats;
static spinlock_t kmalloc_lock = SPINLOCK_INIT("kmalloc");

static inline unsigned nobj(unsigned cls)
{
	return (unsigned)((PAGE_SIZE - SLAB_HDR) / class_size[cls]);
}

static inline char *obj_addr(struct slab *s, unsigned i)
{
	return (char *)s + SLAB_HDR + (size_t)i * class_size[s->cls];
}

static void list_push(struct slab **head, struct slab *s)
{
	s->prev = NULL;
	s->next = *head;
	if (*head)
		(*head)->prev = s;
	*head = s;
}

static void list_del(struct slab **head, struct slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		*head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

/* Make `page` an empty slab of class `cls`. */
static struct slab *slab_init(void *page, unsigned cls)
{
	struct slab *s = page;
	unsigned n = nobj(cls);

	s->magic = SLAB_MAGIC;
	s->cls = (uint16_t)cls;
	s->nfree = (uint16_t)n;
	s->next = s->prev = NULL;
	for (unsigned w = 0; w < MAP_WORDS; w++) {
		unsigned lo = w * 64;
		s->freemap[w] = n <= lo ? 0 : n - lo >= 64 ? ~0ull : (1ull << (n - lo)) - 1;
	}
	KMALLOC_POISON((char *)page + SLAB_HDR, PAGE_SIZE - SLAB_HDR);
	return s;
}

/* Take one object from class `cls` with kmalloc_lock held. Returns NULL if
 * the class has no partial or cached empty slab. */
static void *class_take(unsigned cls)
{
	struct kclass *c = &classes[cls];
	struct slab *s = c->partial;
	unsigned w, i;

	if (!s) {
		s = c->empty;
		if (!s)
			return NULL;
		c->empty = NULL;
		list_push(&c->partial, s);
	}
	for (w = 0; s->freemap[w] == 0; w++)
		;	/* nfree > 0 on the partial list, so some bit is set */
	i = (unsigned)__builtin_ctzll(s->freemap[w]);
	s->freemap[w] &= ~(1ull << i);
	if (--s->nfree == 0)
		list_del(&c->partial, s);
	stats.bytes_in_use += class_size[cls];
	stats.allocs++;
	KMALLOC_UNPOISON(obj_addr(s, w * 64 + i), class_size[cls]);
	return obj_addr(s, w * 64 + i);
}

static void *kmalloc_small(size_t size)
{
	unsigned cls = 0;
	unsigned long f;
	void *p, *page;

	while (class_size[cls] < size)
		cls++;
	f = spin_lock_irqsave(&kmalloc_lock);
	p = class_take(cls);
	spin_unlock_irqrestore(&kmalloc_lock, f);
	if (p)
		return p;

	/* Grow without the lock held; another CPU may grow the class too,
	 * which only leaves an extra partial slab. */
	page = page_alloc(0);
	if (!page)
		return NULL;
	f = spin_lock_irqsave(&kmalloc_lock);
	stats.pages_held++;
	list_push(&classes[cls].partial, slab_init(page, cls));
	p = class_take(cls);
	spin_unlock_irqrestore(&kmalloc_lock, f);
	return p;
}

static void *kmalloc_large(size_t size)
{
	unsigned order = 0;
	struct large *h;
	unsigned long f;

	while ((PAGE_SIZE << order) - LARGE_HDR < size)
		order++;
	h = page_alloc(order);
	if (!h)
		return NULL;
	h->magic = LARGE_MAGIC;
	h->order = order;
	h->unused = 0;
	f = spin_lock_irqsave(&kmalloc_lock);
	stats.pages_held += 1ull << order;
	stats.bytes_in_use += (PAGE_SIZE << order) - LARGE_HDR;
	stats.allocs++;
	spin_unlock_irqrestore(&kmalloc_lock, f);
	return (char *)h + LARGE_HDR;
}

void *kmalloc(size_t size)
{
	if (size > KMALLOC_MAX_SIZE)
		return NULL;
	if (size <= KMALLOC_MAX_SMALL)
		return kmalloc_small(size);
	return kmalloc_large(size);
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);
	if (p)
		memset(p, 0, size);
	return p;
}

/* A validated pointer: either a slab object (slab, index) or a large
 * block (large). */
struct found {
	struct slab *slab;
	unsigned idx;
	struct large *large;
};

/* Find and check the header of `p` with kmalloc_lock held. Returns NULL
 * and fills *out if `p` is a live allocation, else the complaint. */
static const char *lookup(const void *p, struct found *out)
{
	uintptr_t page = (uintptr_t)p & ~(uintptr_t)PAGE_MASK;
	size_t off = (uintptr_t)p - page;
	uint32_t magic = *(const uint32_t *)page;

	out->slab = NULL;
	out->large = NULL;
	if (magic == SLAB_MAGIC) {
		struct slab *s = (struct slab *)page;
		unsigned i;

		if (s->cls >= NCLASSES)
			return "kmalloc: corrupt slab header";
		if (off < SLAB_HDR || (off - SLAB_HDR) % class_size[s->cls])
			return "kmalloc: pointer is not the start of an object";
		i = (unsigned)((off - SLAB_HDR) / class_size[s->cls]);
		if (i >= nobj(s->cls))
			return "kmalloc: pointer past the last object";
		if (s->freemap[i / 64] & (1ull << (i % 64)))
			return "kmalloc: object already free (double free)";
		out->slab = s;
		out->idx = i;
		return NULL;
	}
	if (magic == LARGE_MAGIC) {
		struct large *h = (struct large *)page;

		if (off != LARGE_HDR)
			return "kmalloc: pointer is not the start of a large block";
		if (h->order > MAX_ORDER)
			return "kmalloc: corrupt large header";
		out->large = h;
		return NULL;
	}
	if (magic == DEAD_MAGIC)
		return "kmalloc: double free (page already released)";
	return "kmalloc: bad magic (not a kmalloc pointer)";
}

void kfree(void *p)
{
	struct slab *release = NULL;
	struct large *h;
	struct found fd;
	const char *err;
	unsigned long f;

	if (!p)
		return;
	f = spin_lock_irqsave(&kmalloc_lock);
	err = lookup(p, &fd);
	if (err) {
		spin_unlock_irqrestore(&kmalloc_lock, f);
		kmalloc_panic(err, p);
		return;
	}
	stats.frees++;
	h = fd.large;
	if (h) {
		unsigned order = h->order;

		/* Marked dead under the lock so a racing double free sees it. */
		h->magic = DEAD_MAGIC;
		stats.bytes_in_use -= (PAGE_SIZE << order) - LARGE_HDR;
		stats.pages_held -= 1ull << order;
		spin_unlock_irqrestore(&kmalloc_lock, f);
		page_free(h, order);
		return;
	}

	struct slab *s = fd.slab;
	struct kclass *c = &classes[s->cls];
	bool was_full = s->nfree == 0;

	KMALLOC_POISON(p, class_size[s->cls]);
	s->freemap[fd.idx / 64] |= 1ull << (fd.idx % 64);
	s->nfree++;
	stats.bytes_in_use -= class_size[s->cls];
	if (s->nfree == nobj(s->cls)) {
		if (!was_full)
			list_del(&c->partial, s);
		if (!c->empty) {
			c->empty = s;
		} else {
			s->magic = DEAD_MAGIC;
			stats.pages_held--;
			release = s;
		}
	} else if (was_full) {
		list_push(&c->partial, s);
	}
	spin_unlock_irqrestore(&kmalloc_lock, f);
	if (release)
		page_free(release, 0);
}

size_t kmalloc_usable_size(const void *p)
{
	struct found fd;
	const char *err;
	unsigned long f;
	size_t n = 0;

	if (!p)
		return 0;
	f = spin_lock_irqsave(&kmalloc_lock);
	err = lookup(p, &fd);
	if (!err)
		n = fd.slab ? class_size[fd.slab->cls]
			    : (PAGE_SIZE << fd.large->order) - LARGE_HDR;
	spin_unlock_irqrestore(&kmalloc_lock, f);
	if (err) {
		kmalloc_panic(err, p);
		return 0;
	}
	return n;
}

void kmalloc_get_stats(struct kmalloc_stats *out)
{
	unsigned long f = spin_lock_irqsave(&kmalloc_lock);
	*out = stats;
	spin_unlock_irqrestore(&kmalloc_lock, f);
}

void kmalloc_trim(void)
{
	struct slab *list = NULL;
	unsigned long f = spin_lock_irqsave(&kmalloc_lock);

	for (unsigned c = 0; c < NCLASSES; c++) {
		struct slab *s = classes[c].empty;

		if (s) {
			classes[c].empty = NULL;
			s->magic = DEAD_MAGIC;
			s->next = list;
			list = s;
			stats.pages_held--;
		}
	}
	spin_unlock_irqrestore(&kmalloc_lock, f);
	while (list) {
		struct slab *next = list->next;
		page_free(list, 0);
		list = next;
	}
}

#ifdef WEFT_DEBUG
_Static_assert(LARGE_HDR == KMALLOC_RAW_LARGE_OFFSET, "kmalloc_raw.h disagrees");

const char *kmalloc_check_raw(const void *p, size_t *usable)
{
	struct found fd;
	unsigned long f = spin_lock_irqsave(&kmalloc_lock);
	const char *err = lookup(p, &fd);
	if (!err)
		*usable = fd.slab ? class_size[fd.slab->cls]
				  : (PAGE_SIZE << fd.large->order) - LARGE_HDR;
	spin_unlock_irqrestore(&kmalloc_lock, f);
	return err;
}
#endif
