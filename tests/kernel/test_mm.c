/*
 * test_mm.c - the memory manager under load: the buddy page allocator
 * (every page handed out exactly once, natural alignment, merging back),
 * the kernel heap (a long random mix of sizes with content checks and
 * exact accounting), and guard-paged kernel stacks (mapping, guard page,
 * no leak over many cycles).
 *
 * Nothing here may leave memory allocated when a check fails: a leak
 * would make every later test's accounting wrong, so failures are
 * recorded and the cleanup always runs. Big state lives in static
 * storage, never on the (16 KiB) test stack.
 */
#include <weft/ktest.h>
#include <weft/pmm.h>
#include <weft/kmalloc.h>
#include <weft/kstack.h>
#include <weft/paging.h>
#include <weft/preempt.h>
#include <arch/memlayout.h>
#include <arch/cpu.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- pmm ---------------------------------------------------------------- */

#define PAGE_MARK 0x70616765206d6b21ULL /* "page mk!" */

/* Layout of an allocated page during pmm.alloc_every_page. */
struct page_link {
	uint64_t next;  /* physical address of the next page in the chain, 0 at the end */
	uint64_t mark;  /* PAGE_MARK ^ run nonce while we hold the page */
	uint64_t self;  /* the page's own physical address */
};

KTEST(pmm, alloc_every_page)
{
	/* A fresh nonce per run, so marks left by an earlier run (test_repeat)
	 * in pages that were freed cannot look like a double allocation. */
	uint64_t mark = PAGE_MARK ^ rdtsc();
	uint64_t head = 0, count = 0, dups = 0, misaligned = 0, first_dup = 0;

	/* No other thread runs while memory is exhausted (and interrupt
	 * handlers do not allocate), so the counts are exact. No KT_ASSERT
	 * until everything is freed again. The loop also stops if the
	 * allocator misbehaves without running dry (hands out the same pages
	 * forever, or more pages than it had). */
	preempt_disable();
	uint64_t free0 = pmm_free_pages();
	while (dups <= 64 && misaligned <= 64 && count <= free0) {
		uint64_t pa = pmm_alloc(0);
		if (!pa)
			break;
		if (pa & PAGE_MASK) {
			misaligned++;
			continue; /* cannot link it safely; leaked, but reported */
		}
		struct page_link *pl = phys_to_virt(pa);
		if (pl->mark == mark && pl->self == pa) {
			/* Already on our chain: handed out twice. Do not link it
			 * again (that would make the chain cyclic). */
			if (!dups++)
				first_dup = pa;
			continue;
		}
		pl->next = head;
		pl->mark = mark;
		pl->self = pa;
		head = pa;
		count++;
	}
	uint64_t free_empty = pmm_free_pages();
	uint64_t big_when_empty = pmm_alloc(MAX_ORDER);
	if (big_when_empty)
		pmm_free(big_when_empty, MAX_ORDER);

	KT_EXPECT(t, dups == 0, "%lu pages handed out twice, first physical %#lx",
		  (unsigned long)dups, (unsigned long)first_dup);
	KT_EXPECT_EQ(t, misaligned, 0);
	KT_EXPECT(t, count == free0, "allocated %lu order-0 pages, but %lu were free",
		  (unsigned long)count, (unsigned long)free0);
	KT_EXPECT_EQ(t, free_empty, 0);
	KT_EXPECT(t, big_when_empty == 0, "order-%d allocation succeeded with no memory free",
		  MAX_ORDER);

	/* Give every page back, checking each is still the one we marked. */
	uint64_t freed = 0, corrupt = 0;
	while (head) {
		struct page_link *pl = phys_to_virt(head);
		uint64_t next = pl->next;
		if (pl->mark != mark || pl->self != head)
			corrupt++;
		pl->mark = 0;
		pmm_free(head, 0);
		freed++;
		head = next;
		if (freed > count)
			break; /* chain corrupted into a cycle */
	}
	preempt_enable();
	KT_EXPECT(t, free0 > 0, "the PMM had no free pages at all");
	KT_EXPECT_EQ(t, corrupt, 0);
	KT_EXPECT_EQ(t, freed, count);
	KT_EXPECT(t, pmm_free_pages() == free0, "after freeing everything: %lu free pages, expected %lu",
		  (unsigned long)pmm_free_pages(), (unsigned long)free0);

	/* Frees must have merged buddies back into maximal blocks. */
	uint64_t big = pmm_alloc(MAX_ORDER);
	KT_EXPECT(t, big != 0, "no order-%d block after freeing all pages (buddies not merged)",
		  MAX_ORDER);
	if (big) {
		KT_EXPECT(t, (big & ((PAGE_SIZE << MAX_ORDER) - 1)) == 0,
			  "order-%d block at %#lx is not naturally aligned", MAX_ORDER,
			  (unsigned long)big);
		KT_EXPECT_EQ(t, pmm_free_pages(), free0 - (1ULL << MAX_ORDER));
		pmm_free(big, MAX_ORDER);
	}
	KT_EXPECT_EQ(t, pmm_free_pages(), free0);
	ktest_diag(t, "%lu pages allocated one by one and freed", (unsigned long)count);
}

KTEST(pmm, orders_aligned)
{
	uint64_t blk[MAX_ORDER + 1];
	uint64_t free0 = pmm_free_pages();
	uint64_t salt = rdtsc() | 1;

	for (unsigned k = 0; k <= MAX_ORDER; k++) {
		blk[k] = pmm_alloc(k);
		KT_EXPECT(t, blk[k] != 0, "order %u allocation failed", k);
		KT_EXPECT(t, (blk[k] & ((PAGE_SIZE << k) - 1)) == 0,
			  "order-%u block %#lx is not aligned to %lu bytes", k, (unsigned long)blk[k],
			  (unsigned long)(PAGE_SIZE << k));
	}
	uint64_t want = 0;
	for (unsigned k = 0; k <= MAX_ORDER; k++)
		want += blk[k] ? 1ULL << k : 0;
	KT_EXPECT_EQ(t, pmm_free_pages(), free0 - want);

	/* No two blocks overlap. */
	for (unsigned a = 0; a <= MAX_ORDER; a++) {
		for (unsigned b = a + 1; b <= MAX_ORDER; b++) {
			if (!blk[a] || !blk[b])
				continue;
			uint64_t a0 = blk[a], a1 = a0 + (PAGE_SIZE << a);
			uint64_t b0 = blk[b], b1 = b0 + (PAGE_SIZE << b);
			KT_EXPECT(t, a1 <= b0 || b1 <= a0, "order-%u block %#lx overlaps order-%u block %#lx",
				  a, (unsigned long)a0, b, (unsigned long)b0);
		}
	}

	/* Fill every block with a pattern unique to each word's physical
	 * address, then verify all of them: overlap or aliasing would show. */
	for (unsigned k = 0; k <= MAX_ORDER; k++) {
		if (!blk[k])
			continue;
		volatile uint64_t *w = phys_to_virt(blk[k]);
		uint64_t n = (PAGE_SIZE << k) / 8;
		for (uint64_t i = 0; i < n; i++)
			w[i] = (blk[k] + i * 8) * salt;
	}
	uint64_t bad = 0, first_bad = 0;
	for (unsigned k = 0; k <= MAX_ORDER; k++) {
		if (!blk[k])
			continue;
		volatile uint64_t *w = phys_to_virt(blk[k]);
		uint64_t n = (PAGE_SIZE << k) / 8;
		for (uint64_t i = 0; i < n; i++) {
			if (w[i] != (blk[k] + i * 8) * salt && !bad++)
				first_bad = blk[k] + i * 8;
		}
	}
	KT_EXPECT(t, bad == 0, "%lu words lost their pattern, first at physical %#lx",
		  (unsigned long)bad, (unsigned long)first_bad);

	for (unsigned k = 0; k <= MAX_ORDER; k++)
		if (blk[k])
			pmm_free(blk[k], k);
	KT_EXPECT_EQ(t, pmm_free_pages(), free0);
}

KTEST(pmm, order_too_large)
{
	uint64_t free0 = pmm_free_pages();
	uint64_t p = pmm_alloc(MAX_ORDER + 1);
	KT_EXPECT(t, p == 0, "pmm_alloc(MAX_ORDER + 1) returned %#lx", (unsigned long)p);
	if (p)
		pmm_free(p, MAX_ORDER + 1);
	p = pmm_alloc(~0u);
	KT_EXPECT(t, p == 0, "pmm_alloc(~0u) returned %#lx", (unsigned long)p);
	void *v = page_alloc(MAX_ORDER + 1);
	KT_EXPECT(t, v == NULL, "page_alloc(MAX_ORDER + 1) returned %p", v);
	KT_EXPECT_EQ(t, pmm_free_pages(), free0);
}

/* ---- kmalloc ------------------------------------------------------------ */

#define NLIVE    256
#define NOPS     20000

static struct live {
	uint8_t *p;
	size_t size;    /* asked for */
	size_t usable;  /* kmalloc_usable_size() at allocation */
	uint64_t key;
} live[NLIVE];

static uint64_t rng_state;

static uint64_t rng(void)
{
	/* xorshift64* */
	uint64_t x = rng_state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static inline uint64_t pattern_word(uint64_t key, uint64_t i)
{
	return key ^ (i * 0x9E3779B97F4A7C15ULL);
}

/* Fill all `len` bytes at p with the pattern of `key`. */
static void pattern_fill(uint8_t *p, size_t len, uint64_t key)
{
	uint64_t *w = (uint64_t *)p;
	size_t nw = len / 8;
	for (size_t i = 0; i < nw; i++)
		w[i] = pattern_word(key, i);
	for (size_t i = nw * 8; i < len; i++)
		p[i] = (uint8_t)(pattern_word(key, nw) >> (8 * (i % 8)));
}

/* Offset of the first byte that does not match, or -1. */
static long pattern_check(const uint8_t *p, size_t len, uint64_t key)
{
	const uint64_t *w = (const uint64_t *)p;
	size_t nw = len / 8;
	for (size_t i = 0; i < nw; i++)
		if (w[i] != pattern_word(key, i))
			return (long)(i * 8);
	for (size_t i = nw * 8; i < len; i++)
		if (p[i] != (uint8_t)(pattern_word(key, nw) >> (8 * (i % 8))))
			return (long)i;
	return -1;
}

static size_t random_size(void)
{
	uint64_t r = rng();
	if ((r & 15) == 0)
		return 1 + (size_t)((r >> 8) % (64 * 1024));  /* some large blocks */
	if ((r & 15) < 6)
		return 1 + (size_t)((r >> 8) % 256);          /* many small objects */
	return 1 + (size_t)((r >> 8) % 8192);
}

KTEST(kmalloc, random_stress)
{
	struct kmalloc_stats s0, s1;
	uint64_t allocs = 0, frees = 0, fails = 0, misaligned = 0, short_usable = 0;
	uint64_t corrupt = 0, stats_off = 0;
	uint64_t live_bytes = 0;

	/* Start from a trimmed heap so the final page count is comparable. */
	kmalloc_trim();
	kmalloc_get_stats(&s0);
	uint64_t free0 = pmm_free_pages();
	rng_state = 0x5eed1234abcd9876ULL;
	for (unsigned i = 0; i < NLIVE; i++)
		live[i].p = NULL;

	for (unsigned op = 0; op < NOPS; op++) {
		uint64_t r = rng();
		struct live *l = &live[r % NLIVE];
		if (l->p) {
			long bad = pattern_check(l->p, l->usable, l->key);
			if (bad >= 0 && !corrupt++)
				ktest_diag(t, "op %u: block %p (size %lu) corrupted at offset %ld", op,
					   (void *)l->p, (unsigned long)l->size, bad);
			size_t u = kmalloc_usable_size(l->p);
			if (u != l->usable && !corrupt++)
				ktest_diag(t, "op %u: usable size of %p changed from %lu to %lu", op,
					   (void *)l->p, (unsigned long)l->usable, (unsigned long)u);
			kfree(l->p);
			live_bytes -= l->usable;
			l->p = NULL;
			frees++;
		} else {
			size_t size = random_size();
			uint8_t *p = kmalloc(size);
			if (!p) {
				fails++;
				continue;
			}
			allocs++;
			size_t u = kmalloc_usable_size(p);
			if ((uintptr_t)p % KMALLOC_ALIGN && !misaligned++)
				ktest_diag(t, "kmalloc(%lu) = %p is not %d-byte aligned",
					   (unsigned long)size, (void *)p, KMALLOC_ALIGN);
			if (u < size && !short_usable++)
				ktest_diag(t, "kmalloc(%lu) = %p has usable size %lu",
					   (unsigned long)size, (void *)p, (unsigned long)u);
			if (u < size)
				u = size; /* fill only what was asked for */
			l->p = p;
			l->size = size;
			l->usable = u;
			l->key = rng() ^ ((uint64_t)(r % NLIVE) << 48) ^ size;
			pattern_fill(p, u, l->key);
			live_bytes += u;
		}
		if (op % 1000 == 999) {
			kmalloc_get_stats(&s1);
			if (s1.bytes_in_use != s0.bytes_in_use + live_bytes && !stats_off++)
				ktest_diag(t, "op %u: bytes_in_use %lu, expected %lu", op,
					   (unsigned long)s1.bytes_in_use,
					   (unsigned long)(s0.bytes_in_use + live_bytes));
		}
	}

	/* Free the rest, verifying each block one last time. */
	for (unsigned i = 0; i < NLIVE; i++) {
		struct live *l = &live[i];
		if (!l->p)
			continue;
		long bad = pattern_check(l->p, l->usable, l->key);
		if (bad >= 0 && !corrupt++)
			ktest_diag(t, "final: block %p (size %lu) corrupted at offset %ld",
				   (void *)l->p, (unsigned long)l->size, bad);
		kfree(l->p);
		l->p = NULL;
		frees++;
	}

	KT_EXPECT_EQ(t, fails, 0);
	KT_EXPECT_EQ(t, misaligned, 0);
	KT_EXPECT_EQ(t, short_usable, 0);
	KT_EXPECT_EQ(t, corrupt, 0);
	KT_EXPECT_EQ(t, stats_off, 0);
	kmalloc_get_stats(&s1);
	KT_EXPECT(t, s1.bytes_in_use == s0.bytes_in_use, "bytes_in_use %lu after freeing all, was %lu",
		  (unsigned long)s1.bytes_in_use, (unsigned long)s0.bytes_in_use);
	KT_EXPECT_EQ(t, s1.allocs - s0.allocs, allocs);
	KT_EXPECT_EQ(t, s1.frees - s0.frees, frees);
	kmalloc_trim();
	kmalloc_get_stats(&s1);
	KT_EXPECT(t, s1.pages_held == s0.pages_held, "heap holds %lu pages after trim, was %lu",
		  (unsigned long)s1.pages_held, (unsigned long)s0.pages_held);
	uint64_t free1 = pmm_free_pages();
	KT_EXPECT(t, free1 == free0, "pmm has %lu free pages after the run, was %lu (leak of %ld)",
		  (unsigned long)free1, (unsigned long)free0, (long)(free0 - free1));
	ktest_diag(t, "%lu allocations, %lu frees", (unsigned long)allocs, (unsigned long)frees);
}

KTEST(kmalloc, kzalloc_zeroes)
{
	static const size_t sizes[] = { 1, 15, 16, 17, 100, 1000, 2016, 2017, 4080, 5000, 70000 };
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		/* Dirty an object of this size first: the zeroed one that
		 * follows is then very likely the same memory. */
		uint8_t *p = kmalloc(n);
		KT_ASSERT(t, p != NULL, "kmalloc(%lu) failed", (unsigned long)n);
		size_t u = kmalloc_usable_size(p);
		for (size_t j = 0; j < u; j++)
			p[j] = 0xa5;
		kfree(p);

		uint8_t *z = kzalloc(n);
		KT_ASSERT(t, z != NULL, "kzalloc(%lu) failed", (unsigned long)n);
		KT_EXPECT(t, (uintptr_t)z % KMALLOC_ALIGN == 0, "kzalloc(%lu) = %p misaligned",
			  (unsigned long)n, (void *)z);
		size_t nonzero = 0, first = 0;
		for (size_t j = 0; j < n; j++)
			if (z[j] && !nonzero++)
				first = j;
		KT_EXPECT(t, nonzero == 0, "kzalloc(%lu): %lu non-zero bytes, first at %lu (reused %s)",
			  (unsigned long)n, (unsigned long)nonzero, (unsigned long)first,
			  z == p ? "yes" : "no");
		kfree(z);
	}
	KT_EXPECT(t, kzalloc((size_t)1 << 40) == NULL, "kzalloc(1 TiB) did not fail");
}

KTEST(kmalloc, zero_and_huge)
{
	struct kmalloc_stats s0, s1;
	kmalloc_get_stats(&s0);

	void *a = kmalloc(0), *b = kmalloc(0);
	KT_EXPECT(t, a != NULL, "kmalloc(0) returned NULL");
	KT_EXPECT(t, b != NULL, "kmalloc(0) returned NULL");
	KT_EXPECT(t, a != b, "two kmalloc(0) calls returned the same pointer %p", a);
	KT_EXPECT(t, (uintptr_t)a % KMALLOC_ALIGN == 0, "kmalloc(0) = %p misaligned", a);
	kfree(a);
	kfree(b);
	kfree(NULL);
	KT_EXPECT_EQ(t, kmalloc_usable_size(NULL), 0);

	uint64_t free0 = pmm_free_pages();
	void *h = kmalloc((size_t)1 << 40);
	KT_EXPECT(t, h == NULL, "kmalloc(1 TiB) returned %p", h);
	KT_EXPECT_EQ(t, pmm_free_pages(), free0);
	h = kmalloc(KMALLOC_MAX_SIZE + 1);
	KT_EXPECT(t, h == NULL, "kmalloc(KMALLOC_MAX_SIZE + 1) returned %p", h);
	KT_EXPECT_EQ(t, pmm_free_pages(), free0);
	h = kmalloc((size_t)-1);
	KT_EXPECT(t, h == NULL, "kmalloc(SIZE_MAX) returned %p", h);
	KT_EXPECT_EQ(t, pmm_free_pages(), free0);

	/* The largest request that is allowed does succeed, and is usable. */
	uint8_t *m = kmalloc(KMALLOC_MAX_SIZE);
	KT_EXPECT(t, m != NULL, "kmalloc(KMALLOC_MAX_SIZE) failed");
	if (m) {
		KT_EXPECT(t, kmalloc_usable_size(m) >= KMALLOC_MAX_SIZE, "usable %lu",
			  (unsigned long)kmalloc_usable_size(m));
		m[0] = 1;
		m[KMALLOC_MAX_SIZE - 1] = 2;
		KT_EXPECT(t, m[0] == 1 && m[KMALLOC_MAX_SIZE - 1] == 2, "ends not writable");
		kfree(m);
	}
	KT_EXPECT_EQ(t, pmm_free_pages(), free0);

	kmalloc_get_stats(&s1);
	KT_EXPECT_EQ(t, s1.bytes_in_use, s0.bytes_in_use);
	KT_EXPECT_EQ(t, s1.allocs - s0.allocs, 3);
	KT_EXPECT_EQ(t, s1.frees - s0.frees, 3);
}

/* ---- kstack ------------------------------------------------------------- */

KTEST(kstack, guard_page_unmapped)
{
	struct kstack ks;
	kstack_trim(); /* a cached stack would cost no pages */
	uint64_t count0 = kstack_count();
	uint64_t free0 = pmm_free_pages();

	KT_ASSERT(t, kstack_alloc(&ks, KSTACK_PAGES) == 0, "kstack_alloc failed");
	KT_EXPECT_EQ(t, kstack_count(), count0 + 1);
	KT_EXPECT_EQ(t, ks.pages, KSTACK_PAGES);
	KT_EXPECT_EQ(t, ks.top - ks.bottom, KSTACK_PAGES * PAGE_SIZE);
	KT_EXPECT(t, ks.top % KSTACK_SLOT_SIZE == 0 && ks.bottom >= KSTACK_BASE &&
			     ks.top <= KSTACK_BASE + KSTACK_AREA,
		  "stack %#lx..%#lx is not at the top of a KSTACK slot", (unsigned long)ks.bottom,
		  (unsigned long)ks.top);
	/* The stack pages, plus at most a page-table page or two. */
	uint64_t used = free0 - pmm_free_pages();
	KT_EXPECT(t, used >= KSTACK_PAGES && used <= KSTACK_PAGES + 2,
		  "a %u-page stack took %lu pages", KSTACK_PAGES, (unsigned long)used);

	for (uint64_t va = ks.bottom; va < ks.top; va += PAGE_SIZE)
		KT_EXPECT(t, paging_is_mapped(va), "stack page %#lx is not mapped", (unsigned long)va);
	KT_EXPECT(t, !paging_is_mapped(ks.bottom - PAGE_SIZE), "guard page %#lx is mapped",
		  (unsigned long)(ks.bottom - PAGE_SIZE));
	KT_EXPECT(t, !paging_is_mapped(ks.bottom - 8), "the word below the stack is mapped");
	KT_EXPECT(t, kstack_is_guard(ks.bottom - 8), "kstack_is_guard(bottom - 8) is false");
	KT_EXPECT(t, !kstack_is_guard(ks.bottom), "kstack_is_guard(bottom) is true");
	KT_EXPECT(t, !kstack_is_guard(ks.top - 8), "kstack_is_guard(top - 8) is true");

	/* The whole stack is writable and keeps what is written. */
	volatile uint64_t *w = (volatile uint64_t *)ks.bottom;
	uint64_t nw = (ks.top - ks.bottom) / 8, bad = 0;
	for (uint64_t i = 0; i < nw; i++)
		w[i] = ks.bottom + i * 8;
	for (uint64_t i = 0; i < nw; i++)
		bad += w[i] != ks.bottom + i * 8;
	KT_EXPECT_EQ(t, bad, 0);

	uint64_t bottom = ks.bottom, top = ks.top;
	kstack_free(&ks);
	kstack_trim(); /* the stack cache would keep it mapped for reuse */
	KT_EXPECT_EQ(t, kstack_count(), count0);
	for (uint64_t va = bottom; va < top; va += PAGE_SIZE)
		KT_EXPECT(t, !paging_is_mapped(va), "freed stack page %#lx is still mapped",
			  (unsigned long)va);
	KT_EXPECT(t, kstack_is_guard(bottom), "freed stack is not all guard");
	/* Page-table pages may stay for the slot's next user; nothing else. */
	uint64_t kept = free0 - pmm_free_pages();
	KT_EXPECT(t, kept <= 2, "%lu pages not returned after kstack_free", (unsigned long)kept);
	if (kept)
		ktest_diag(t, "%lu page-table page(s) kept for the slot", (unsigned long)kept);

	/* Now in steady state: alloc/free cycles must not leak at all. */
	uint64_t free1 = pmm_free_pages();
	unsigned failed = 0;
	for (unsigned i = 0; i < 1000; i++) {
		if (kstack_alloc(&ks, KSTACK_PAGES) != 0) {
			failed++;
			continue;
		}
		*(volatile uint64_t *)(ks.top - 8) = i;
		*(volatile uint64_t *)ks.bottom = i;
		kstack_free(&ks);
	}
	KT_EXPECT_EQ(t, failed, 0);
	KT_EXPECT_EQ(t, kstack_count(), count0);
	kstack_trim();
	KT_EXPECT(t, pmm_free_pages() == free1, "1000 stack cycles: %lu free pages, expected %lu",
		  (unsigned long)pmm_free_pages(), (unsigned long)free1);
}

KTEST(kstack, sizes)
{
	struct kstack ks;
	uint64_t count0 = kstack_count();
	KT_EXPECT(t, kstack_alloc(&ks, 0) < 0, "a 0-page stack was allocated");
	KT_EXPECT(t, kstack_alloc(&ks, KSTACK_SLOT_SIZE / PAGE_SIZE) < 0,
		  "a stack filling the whole slot (no guard) was allocated");
	KT_EXPECT_EQ(t, kstack_count(), count0);

	/* The largest stack still has its guard page. */
	unsigned maxp = KSTACK_SLOT_SIZE / PAGE_SIZE - 1;
	KT_ASSERT(t, kstack_alloc(&ks, maxp) == 0, "%u-page stack failed", maxp);
	KT_EXPECT_EQ(t, ks.top - ks.bottom, maxp * PAGE_SIZE);
	KT_EXPECT(t, kstack_is_guard(ks.bottom - 8), "no guard below a %u-page stack", maxp);
	for (uint64_t va = ks.bottom; va < ks.top; va += PAGE_SIZE)
		KT_EXPECT(t, paging_is_mapped(va), "stack page %#lx is not mapped", (unsigned long)va);

	/* A second stack does not touch the first one's slot. */
	struct kstack ks2;
	KT_ASSERT(t, kstack_alloc(&ks2, 1) == 0, "second stack failed");
	KT_EXPECT(t, ks2.top <= ks.bottom - PAGE_SIZE || ks2.bottom >= ks.top + PAGE_SIZE,
		  "stacks %#lx..%#lx and %#lx..%#lx have no guard between them",
		  (unsigned long)ks.bottom, (unsigned long)ks.top, (unsigned long)ks2.bottom,
		  (unsigned long)ks2.top);
	KT_EXPECT(t, kstack_is_guard(ks2.bottom - 8), "no guard below a 1-page stack");
	KT_EXPECT_EQ(t, kstack_count(), count0 + 2);
	kstack_free(&ks2);
	kstack_free(&ks);
	KT_EXPECT_EQ(t, kstack_count(), count0);
}
