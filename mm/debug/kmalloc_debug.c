/* kmalloc_debug.c - the debug kernel's heap checks, in front of the raw
 * size-class allocator (mm/kmalloc.c built as kmalloc_raw etc.).
 *
 * Every object gets a header and a right redzone inside its raw slot:
 *
 *   [struct kd_hdr, 64 bytes][object: size bytes][redzone: >= 16 bytes of RZ_BYTE]
 *
 * The header records the state (LIVE or FREED), the requested size, the
 * allocation and free sites (two return addresses each), the links of the
 * list of live objects and, last, a canary just before the object. kfree() checks the canary and the
 * redzone (an overflow), then fills the whole slot after the header with
 * FREE_BYTE and parks it in a quarantine: a FIFO of freed objects that are
 * not yet handed back to the raw allocator, so a freed slot is not reused
 * at once. A kfree() of an object in quarantine finds it FREED: a double
 * free, reported with both earlier sites. When an object leaves the
 * quarantine, and again when kmalloc() next hands its slot out, the fill
 * is checked: a changed byte is a write after free, reported with the
 * allocation and free sites. A slot never used before is all page poison
 * (every page from page_alloc() is, mm/debug/page_poison.c), and is checked
 * for that.
 *
 * A double free is caught as long as the object is in quarantine or its
 * slot is still free in the raw allocator; once the slot has been handed
 * out again, a stale pointer to it looks live and cannot be told apart
 * (the quarantine makes that late: QUAR_OBJS frees or QUAR_BYTES bytes).
 * Redzones and canaries are checked at kfree(), and kmalloc_debug_check()
 * checks those of every live object and the fill of every quarantined one.
 *
 * Requests too big for a header and redzone (within 64 bytes of
 * KMALLOC_MAX_SIZE) pass straight to the raw allocator: the raw pointer
 * then sits at KMALLOC_RAW_LARGE_OFFSET in its page, where no wrapped
 * object can (a wrapped one is at least KD_HDR further).
 *
 * Locking: kd_lock (irq-saving) guards the quarantine ring and `stats`. A
 * header's state changes LIVE -> FREED by compare-and-swap, so of two
 * racing kfree()s exactly one wins; FREED -> (reused) only when the raw
 * allocator hands the slot out again. kd_lock is held across no raw
 * allocator call but kmalloc_check_raw() (kd_lock before kmalloc_lock).
 */
#include <weft/kmalloc.h>
#include <weft/debug.h>
#include <weft/backtrace.h>
#include <weft/format.h>
#include <weft/printk.h>
#include <weft/panic.h>
#include <weft/spinlock.h>
#include <weft/string.h>
#include <weft/list.h>
#include <weft/paging.h>
#include <arch/memlayout.h>
#include "kmalloc_raw.h"

#define KD_SITES   2
#define KD_LIVE    0x4556494cu	/* "LIVE" */
#define KD_FREED   0x45455246u	/* "FREE" */
#define KD_CANARY  0xc0defa11deadbeefull
#define KD_TAIL    16		/* least redzone after an object */
#define FREE_BYTE  0xfb
#define RZ_BYTE    0xcc
#define PAGE_POISON_BYTE 0xf5	/* mm/debug/page_poison.c */
#define QUAR_OBJS  1024
#define QUAR_BYTES (512u << 10)

struct kd_hdr {
	uint32_t state;			/* KD_LIVE / KD_FREED */
	uint32_t size;			/* bytes the caller asked for */
	uint64_t alloc_pc[KD_SITES];	/* return addresses into the allocating code */
	uint64_t free_pc[KD_SITES];	/* and into the freeing code */
	struct list_head live;		/* on live_objects while LIVE (kd_lock) */
	uint64_t canary;		/* KD_CANARY ^ address of the header */
};

#define KD_HDR sizeof(struct kd_hdr)	/* 64 */
_Static_assert(sizeof(struct kd_hdr) % KMALLOC_ALIGN == 0, "objects would be misaligned");
/* Largest request that gets a header and redzone. */
#define KD_MAX_WRAPPED (KMALLOC_MAX_SIZE - KD_HDR - KD_TAIL)

static spinlock_t kd_lock = SPINLOCK_INIT("kmalloc_debug");
static unsigned quar_head, quar_count;	/* the ring quar[] (below) */
static size_t quar_bytes;		/* raw slot sizes of the objects in quar[] */
static struct kmalloc_stats stats;	/* bytes_in_use, allocs, frees (pages_held: raw) */
static struct list_head live_objects = LIST_HEAD_INIT(live_objects);	/* wrapped, LIVE */

static inline char *obj_of(struct kd_hdr *h) { return (char *)h + KD_HDR; }

/* The two return addresses above the public function that called us:
 * where the heap was called from, and its caller. */
static __attribute__((noinline)) void caller_sites(uint64_t pcs[KD_SITES])
{
	uint64_t *fp = __builtin_frame_address(0);
	uint64_t *api = (uint64_t *)fp[0];	/* frame of kmalloc()/kfree()... */
	int n = backtrace_collect(api[1], api[0], pcs, KD_SITES);
	for (; n < KD_SITES; n++)
		pcs[n] = 0;
}

/* Offset of the first byte in [from, to) of h's slot that is not `b`, or
 * `to` if all are. `to` is a multiple of 8 (slot sizes are of 16). */
static size_t first_mismatch(const struct kd_hdr *h, size_t from, size_t to, uint8_t b)
{
	uint64_t w = b * 0x0101010101010101ull;
	const char *base = (const char *)h;
	for (; from < to && (from & 7); from++)
		if ((uint8_t)base[from] != b)
			return from;
	for (size_t off = from; off < to; off += 8) {
		uint64_t v = *(const uint64_t *)(base + off);
		if (v != w) {
			for (unsigned i = 0; i < 8; i++)
				if ((uint8_t)(v >> (8 * i)) != b)
					return off + i;
		}
	}
	return to;
}

static void fill(struct kd_hdr *h, size_t from, size_t to, uint8_t b)
{
	memset((char *)h + from, b, to - from);
}

/* Print the sites of h, one line each. */
static void print_sites(const struct kd_hdr *h, bool freed)
{
	char buf[200];
	debug_format_sites(buf, sizeof buf, h->alloc_pc, KD_SITES);
	pr_emerg("  allocated at: %s\n", buf);
	if (freed) {
		debug_format_sites(buf, sizeof buf, h->free_pc, KD_SITES);
		pr_emerg("  freed at:     %s\n", buf);
	}
}

/* A write after free into h's slot of `usable` raw bytes, found at `off`
 * (from the header) by `when`. */
static void report_uaf(struct kd_hdr *h, size_t usable, size_t off, const char *when)
{
	char summary[200];
	size_t last = off;
	for (size_t i = off; i < usable; i++)
		if (((uint8_t *)h)[i] != FREE_BYTE)
			last = i;
	snprintf(summary, sizeof summary,
		 "write after free to %p: bytes %lu..%lu of a freed %u-byte object at %p",
		 (char *)h + off, (unsigned long)(off - KD_HDR), (unsigned long)(last - KD_HDR),
		 h->size, obj_of(h));
	unsigned long f = debug_report_begin("use-after-free write", "%s (found %s)", summary, when);
	pr_emerg("  byte %#x where the free poison %#x was; heap slot of %lu bytes\n",
		 ((uint8_t *)h)[off], FREE_BYTE, (unsigned long)usable);
	print_sites(h, true);
	debug_report_end(f, "use-after-free write", summary);
}

/* Check a freed object is still all FREE_BYTE after its header. */
static void check_freed(struct kd_hdr *h, size_t usable, const char *when)
{
	size_t off = first_mismatch(h, KD_HDR, usable, FREE_BYTE);
	if (off < usable) {
		report_uaf(h, usable, off, when);
		fill(h, KD_HDR, usable, FREE_BYTE);	/* caught: repair, report once */
	}
}

/* A raw slot about to be handed out: it was either freed through us (a
 * FREED header, then poison) or never used since its page left the page
 * allocator (all page poison). */
static void check_reused(struct kd_hdr *h, size_t usable)
{
	if (h->state == KD_FREED && h->canary == (KD_CANARY ^ (uint64_t)h)) {
		check_freed(h, usable, "by kmalloc, reusing its slot");
		return;
	}
	size_t off = first_mismatch(h, 0, usable, PAGE_POISON_BYTE);
	if (off < usable) {
		char summary[200];
		snprintf(summary, sizeof summary,
			 "write to a free heap slot: byte %lu of the %lu-byte slot at %p is %#x, not the page poison %#x",
			 (unsigned long)off, (unsigned long)usable, (void *)h, ((uint8_t *)h)[off],
			 PAGE_POISON_BYTE);
		unsigned long f = debug_report_begin("use-after-free write", "%s", summary);
		pr_emerg("  the slot had no recorded owner (its page came fresh from page_alloc)\n");
		debug_report_end(f, "use-after-free write", summary);
	}
}

/* The quarantine: freed objects, oldest first at quar_head. */
struct quar_entry {
	struct kd_hdr *h;
	size_t usable;		/* its raw slot size */
};
static struct quar_entry quar[QUAR_OBJS];

/* Take the oldest object out of the quarantine; kd_lock held. */
static bool quar_pop_locked(struct quar_entry *e)
{
	if (!quar_count)
		return false;
	*e = quar[quar_head];
	quar_head = (quar_head + 1) % QUAR_OBJS;
	quar_count--;
	quar_bytes -= e->usable;
	return true;
}

/* Hand an object that left the quarantine back to the raw allocator,
 * after checking its fill. kd_lock not held. */
static void quar_release(struct quar_entry e)
{
	check_freed(e.h, e.usable, "leaving the quarantine");
	kfree_raw(e.h);
}

/* Release the oldest objects while the quarantine holds over QUAR_BYTES
 * (or, with `all`, until it is empty). */
static void quarantine_shrink(bool all)
{
	for (;;) {
		struct quar_entry e;
		unsigned long f = spin_lock_irqsave(&kd_lock);
		bool got = (all || quar_bytes > QUAR_BYTES) && quar_pop_locked(&e);
		spin_unlock_irqrestore(&kd_lock, f);
		if (!got)
			return;
		quar_release(e);
	}
}

static void quarantine_flush(void)
{
	quarantine_shrink(true);
}

/* The canary before a live object and the redzone after it are intact;
 * else report (`when`: who looked) and, under a catch, repair them. */
static void check_redzones(struct kd_hdr *h, size_t usable, const char *when)
{
	char summary[200];
	unsigned long f;
	if (h->canary != (KD_CANARY ^ (uint64_t)h) || h->size > usable - KD_HDR - KD_TAIL) {
		snprintf(summary, sizeof summary,
			 "heap overflow: the header before the object at %p was overwritten",
			 obj_of(h));
		f = debug_report_begin("heap redzone", "%s (found %s)", summary, when);
		pr_emerg("  canary %#lx, size field %u (slot of %lu bytes)\n",
			 (unsigned long)h->canary, h->size, (unsigned long)usable);
		debug_report_end(f, "heap redzone", summary);
		h->canary = KD_CANARY ^ (uint64_t)h;
		return;
	}
	size_t end = KD_HDR + h->size, off = first_mismatch(h, end, usable, RZ_BYTE);
	if (off < usable) {
		snprintf(summary, sizeof summary,
			 "heap overflow: %lu bytes past the end of the %u-byte object at %p written",
			 (unsigned long)(off - end + 1), h->size, obj_of(h));
		f = debug_report_begin("heap redzone", "%s (found %s)", summary, when);
		pr_emerg("  byte %#x at %p where the redzone %#x was\n", ((uint8_t *)h)[off],
			 (char *)h + off, RZ_BYTE);
		print_sites(h, h->state == KD_FREED);
		debug_report_end(f, "heap redzone", summary);
		fill(h, end, usable, RZ_BYTE);
	}
}

static void *kd_alloc(size_t size, const uint64_t pcs[KD_SITES], bool zero)
{
	if (size > KMALLOC_MAX_SIZE)
		return NULL;
	if (size > KD_MAX_WRAPPED) {	/* no room for a header: raw */
		void *p = kmalloc_raw(size);
		if (!p)
			return NULL;
		size_t usable = kmalloc_usable_size_raw(p);
		unsigned long f = spin_lock_irqsave(&kd_lock);
		stats.bytes_in_use += usable;
		stats.allocs++;
		spin_unlock_irqrestore(&kd_lock, f);
		if (zero)
			memset(p, 0, size);
		return p;
	}
	struct kd_hdr *h = kmalloc_raw(KD_HDR + size + KD_TAIL);
	if (!h) {
		quarantine_flush();	/* what it holds may be what we lack */
		h = kmalloc_raw(KD_HDR + size + KD_TAIL);
		if (!h)
			return NULL;
	}
	size_t usable = 0;
	const char *err = kmalloc_check_raw(h, &usable);
	if (err)
		panic("kmalloc_debug: raw allocator returned %p: %s", (void *)h, err);
	check_reused(h, usable);
	h->size = (uint32_t)size;
	h->alloc_pc[0] = pcs[0];
	h->alloc_pc[1] = pcs[1];
	h->free_pc[0] = h->free_pc[1] = 0;
	h->canary = KD_CANARY ^ (uint64_t)h;
	fill(h, KD_HDR + size, usable, RZ_BYTE);
	if (zero)
		memset(obj_of(h), 0, size);
	/* The object stays FREE_BYTE / page poison otherwise: reads of it
	 * before it is written see a pattern, not old data. */
	__atomic_store_n(&h->state, KD_LIVE, __ATOMIC_RELEASE);
	unsigned long f = spin_lock_irqsave(&kd_lock);
	list_add_tail(&h->live, &live_objects);
	stats.bytes_in_use += size;
	stats.allocs++;
	spin_unlock_irqrestore(&kd_lock, f);
	return obj_of(h);
}

void *kmalloc(size_t size)
{
	uint64_t pcs[KD_SITES];
	caller_sites(pcs);
	return kd_alloc(size, pcs, false);
}

void *kzalloc(size_t size)
{
	uint64_t pcs[KD_SITES];
	caller_sites(pcs);
	return kd_alloc(size, pcs, true);
}

/* Is p a raw large block passed through (no header)? */
static bool is_raw_large(const void *p, size_t *usable)
{
	return ((uintptr_t)p & PAGE_MASK) == KMALLOC_RAW_LARGE_OFFSET && !kmalloc_check_raw(p, usable);
}

/* kfree()/kmalloc_usable_size() of something that is not a live object. */
static void report_bad_pointer(const char *kind, const void *p, const char *what,
			       const struct kd_hdr *h, bool sites, const uint64_t pcs[KD_SITES])
{
	char summary[200], buf[200];
	snprintf(summary, sizeof summary, "%s of %p: %s", kind, p, what);
	unsigned long f = debug_report_begin(kind, "%s", summary);
	if (h && sites) {
		pr_emerg("  the object: %u bytes\n", h->size);
		print_sites(h, true);
	}
	debug_format_sites(buf, sizeof buf, pcs, KD_SITES);
	pr_emerg("  this call from: %s\n", buf);
	debug_report_end(f, kind, summary);
}

/* p's header and *usable (its raw slot size) if p is a wrapped object,
 * live or in quarantine; else report what p is and return NULL. */
static struct kd_hdr *wrapped_header(const char *kind, const void *p, size_t *usable,
				     const uint64_t pcs[KD_SITES])
{
	struct kd_hdr *h = (struct kd_hdr *)((uintptr_t)p - KD_HDR);
	const char *err = kmalloc_check_raw(h, usable);
	if (!err)
		return h;
	if (strstr(err, "already free"))	/* quarantine over, slot free in the raw heap */
		report_bad_pointer(kind, p, "double free (the object was freed before)", h,
				   h->state == KD_FREED, pcs);
	else if (*(const uint32_t *)((uintptr_t)h & ~(uintptr_t)PAGE_MASK) ==
		 PAGE_POISON_BYTE * 0x01010101u)
		report_bad_pointer(kind, p, "double free (its page is back in the page allocator)",
				   NULL, false, pcs);
	else
		report_bad_pointer(kind, p, err, NULL, false, pcs);
	return NULL;
}

void kfree(void *p)
{
	uint64_t pcs[KD_SITES];
	size_t usable = 0;
	unsigned long f;

	if (!p)
		return;
	caller_sites(pcs);
	if (is_raw_large(p, &usable)) {
		f = spin_lock_irqsave(&kd_lock);
		stats.bytes_in_use -= usable;
		stats.frees++;
		spin_unlock_irqrestore(&kd_lock, f);
		kfree_raw(p);
		return;
	}
	struct kd_hdr *h = wrapped_header("kfree", p, &usable, pcs);
	if (!h)
		return;
	uint32_t old = KD_LIVE;
	if (!__atomic_compare_exchange_n(&h->state, &old, KD_FREED, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE)) {
		if (old == KD_FREED)
			report_bad_pointer("kfree", p, "double free (the object is in the quarantine)",
					   h, true, pcs);
		else
			report_bad_pointer("kfree", p, "corrupt object header (state word overwritten)",
					   NULL, false, pcs);
		return;
	}
	h->free_pc[0] = pcs[0];
	h->free_pc[1] = pcs[1];
	check_redzones(h, usable, "at kfree");
	size_t size = h->size <= usable - KD_HDR ? h->size : 0;	/* 0 if the header lies */
	fill(h, KD_HDR, usable, FREE_BYTE);
	struct quar_entry old_e;
	f = spin_lock_irqsave(&kd_lock);
	list_del(&h->live);
	stats.bytes_in_use -= size;
	stats.frees++;
	bool full = quar_count == QUAR_OBJS && quar_pop_locked(&old_e);
	quar[(quar_head + quar_count) % QUAR_OBJS] = (struct quar_entry){ h, usable };
	quar_count++;
	quar_bytes += usable;
	spin_unlock_irqrestore(&kd_lock, f);
	if (full)
		quar_release(old_e);
	quarantine_shrink(false);
}

size_t kmalloc_usable_size(const void *p)
{
	uint64_t pcs[KD_SITES];
	size_t usable = 0;

	if (!p)
		return 0;
	caller_sites(pcs);
	if (is_raw_large(p, &usable))
		return usable;
	struct kd_hdr *h = wrapped_header("kmalloc_usable_size", p, &usable, pcs);
	if (!h)
		return 0;
	if (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) != KD_LIVE) {
		report_bad_pointer("kmalloc_usable_size", p, "the object is free", h,
				   h->state == KD_FREED, pcs);
		return 0;
	}
	return h->size;
}

void kmalloc_get_stats(struct kmalloc_stats *out)
{
	struct kmalloc_stats raw;
	kmalloc_get_stats_raw(&raw);
	unsigned long f = spin_lock_irqsave(&kd_lock);
	*out = stats;
	spin_unlock_irqrestore(&kd_lock, f);
	out->pages_held = raw.pages_held;
}

void kmalloc_trim(void)
{
	quarantine_flush();
	kmalloc_trim_raw();
}

/* Is `l`, read from a list node, a node the walk may follow? A heap
 * overflow may have hit the links before any check saw it. */
static bool link_sane(const struct list_head *l)
{
	return l == &live_objects ||
	       ((uintptr_t)l >= DIRECT_MAP_BASE && !((uintptr_t)l & 7) &&
		paging_is_mapped((uintptr_t)l) && paging_is_mapped((uintptr_t)l + 15));
}

unsigned kmalloc_debug_check(void)
{
	unsigned long f = spin_lock_irqsave(&kd_lock);
	unsigned n = 0;
	for (struct list_head *l = live_objects.next; l != &live_objects; l = l->next, n++) {
		struct kd_hdr *h = container_of(l, struct kd_hdr, live);
		size_t usable = 0;
		if (!link_sane(l->next) || l->next->prev != l) {
			unsigned long rf = debug_report_begin("heap redzone",
				"the live-object list is broken after %p", obj_of(h));
			debug_report_end(rf, "heap redzone", "heap list links overwritten");
			break;	/* caught: the rest of the list cannot be trusted */
		}
		if (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) != KD_LIVE ||
		    kmalloc_check_raw(h, &usable))
			continue;	/* being freed right now */
		check_redzones(h, usable, "by kmalloc_debug_check");
	}
	n += quar_count;
	for (unsigned i = 0; i < quar_count; i++) {
		/* Under kd_lock: nothing leaves the quarantine meanwhile. */
		struct quar_entry *e = &quar[(quar_head + i) % QUAR_OBJS];
		check_freed(e->h, e->usable, "by kmalloc_debug_check");
	}
	spin_unlock_irqrestore(&kd_lock, f);
	return n;
}
