/* test_kmalloc.c - host unit tests for mm/kmalloc.c.
 *
 * page_alloc()/page_free() are simulated with aligned_alloc(); the test
 * tracks every outstanding block so it can assert that no page leaks and
 * that page_free() gets back exactly what page_alloc() gave. Freed pages sit
 * in a small quarantine (poisoned except for the header word, which
 * kfree's double-free check reads) before really being freed. Free heap
 * objects are ASan-poisoned through kmalloc.c's KMALLOC_POISON hooks.
 */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sanitizer/asan_interface.h>
#include "tap.h"

#define KMALLOC_POISON(a, n)   ASAN_POISON_MEMORY_REGION((a), (n))
#define KMALLOC_UNPOISON(a, n) ASAN_UNPOISON_MEMORY_REGION((a), (n))
#include "../../mm/kmalloc.c"
#include "../../lib/string.c"  /* kzalloc uses memset (weft_memset here) */

/* ---- simulated page allocator ---- */

struct block { void *addr; unsigned order; };
static struct block live_blocks[1 << 14];
static size_t nlive_blocks;
static struct block quarantine[64];
static size_t q_next;
static uint64_t pages_out;	/* pages handed out and not freed */
static int page_free_errors, fail_page_alloc;

void *page_alloc(unsigned order)
{
	void *p;

	if (fail_page_alloc || order > MAX_ORDER || nlive_blocks == sizeof(live_blocks) / sizeof(live_blocks[0]))
		return NULL;
	p = aligned_alloc(PAGE_SIZE, PAGE_SIZE << order);
	if (!p)
		return NULL;
	memset(p, 0xa5, PAGE_SIZE << order);	/* like recycled memory */
	live_blocks[nlive_blocks++] = (struct block){ p, order };
	pages_out += 1ull << order;
	return p;
}

static void really_free(struct block *b)
{
	if (b->addr) {
		ASAN_UNPOISON_MEMORY_REGION(b->addr, PAGE_SIZE << b->order);
		free(b->addr);
		b->addr = NULL;
	}
}

void page_free(void *addr, unsigned order)
{
	for (size_t i = 0; i < nlive_blocks; i++) {
		if (live_blocks[i].addr != addr)
			continue;
		if (live_blocks[i].order != order)
			page_free_errors++;
		pages_out -= 1ull << live_blocks[i].order;
		really_free(&quarantine[q_next]);
		quarantine[q_next] = live_blocks[i];
		q_next = (q_next + 1) % (sizeof(quarantine) / sizeof(quarantine[0]));
		ASAN_POISON_MEMORY_REGION((char *)addr + 16, (PAGE_SIZE << order) - 16);
		live_blocks[i] = live_blocks[--nlive_blocks];
		return;
	}
	page_free_errors++;
}

/* ---- kmalloc_panic: record, or abort if not expected ---- */

static int panic_armed, panic_count;
static const char *panic_msg;

void kmalloc_panic(const char *msg, const void *p)
{
	if (!panic_armed) {
		fprintf(stderr, "unexpected kmalloc_panic: %s (%p)\n", msg, p);
		abort();
	}
	panic_count++;
	panic_msg = msg;
}

#define EXPECT_PANIC(stmt, want, name) do {				\
	panic_armed = 1; panic_count = 0; panic_msg = "";		\
	stmt;								\
	panic_armed = 0;						\
	ok(panic_count == 1 && strstr(panic_msg, want) != NULL &&	\
	   !spin_is_held(&kmalloc_lock),				\
	   "%s (got %d: %s)", name, panic_count, panic_msg);		\
} while (0)

static uint64_t rng_state = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static struct kmalloc_stats st(void)
{
	struct kmalloc_stats s;
	kmalloc_get_stats(&s);
	return s;
}

static int aligned(const void *p) { return ((uintptr_t)p % KMALLOC_ALIGN) == 0; }

static void test_basics(void)
{
	void *a = kmalloc(0), *b = kmalloc(0);
	struct kmalloc_stats s;

	ok(a && b && a != b, "kmalloc(0) returns unique non-NULL pointers");
	ok(aligned(a) && aligned(b), "kmalloc(0) pointers aligned");
	ok(kmalloc_usable_size(a) == 16, "kmalloc(0) usable size is 16");
	kfree(a);
	kfree(b);
	kfree(NULL);
	ok(kmalloc_usable_size(NULL) == 0, "kfree(NULL) ok, usable_size(NULL) == 0");

	ok(kmalloc(KMALLOC_MAX_SIZE + 1) == NULL, "KMALLOC_MAX_SIZE + 1 -> NULL");
	ok(kmalloc(SIZE_MAX) == NULL && kzalloc(SIZE_MAX) == NULL, "SIZE_MAX -> NULL");
	ok(kmalloc((PAGE_SIZE << MAX_ORDER) * 4) == NULL, "more than 2^MAX_ORDER pages -> NULL");
	uint64_t pages_before = pages_out;
	char *m = kmalloc(KMALLOC_MAX_SIZE);
	ok(m && aligned(m) && kmalloc_usable_size(m) == KMALLOC_MAX_SIZE,
	   "KMALLOC_MAX_SIZE succeeds with exactly that usable size");
	if (m) {
		m[0] = 1;
		m[KMALLOC_MAX_SIZE - 1] = 2;
	}
	ok(pages_out - pages_before == (1u << MAX_ORDER), "it holds 2^MAX_ORDER pages");
	kfree(m);
	ok(pages_out == pages_before, "and gives them all back");

	static const size_t sizes[] = { 1, 15, 16, 17, 48, 100, 1008, 1009, 2016,
					2017, 4080, 4081, 8176, 8177, 16384 };
	int bad = 0;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *p = kmalloc(sizes[i]);
		size_t u = p ? kmalloc_usable_size(p) : 0;

		if (!p || !aligned(p) || u < sizes[i] ||
		    (sizes[i] > KMALLOC_MAX_SMALL && (u + 16) % PAGE_SIZE != 0)) {
			diag("size %zu -> %p usable %zu", sizes[i], (void *)p, u);
			bad++;
		}
		if (p)
			memset(p, 0x11, u);
		kfree(p);
	}
	ok(bad == 0, "boundary sizes: aligned, usable >= size");
	s = st();
	ok(s.bytes_in_use == 0 && s.allocs == s.frees, "basics: nothing in use");
}

static uint8_t pat(uint32_t id, size_t i)
{
	return (uint8_t)(id * 131u + i * 7u + (i >> 8));
}

struct obj { uint8_t *p; size_t size, usable; uint32_t id; };

static int verify(const struct obj *o)
{
	for (size_t i = 0; i < o->usable; i++)
		if (o->p[i] != pat(o->id, i))
			return 0;
	return 1;
}

static void test_random(void)
{
	enum { MAXLIVE = 1500, STEPS = 40000 };
	static struct obj live[MAXLIVE];
	size_t nlive = 0;
	uint32_t next_id = 1;
	uint64_t sum_usable = 0, base_allocs = st().allocs, base_frees = st().frees;
	int nulls = 0, misaligned = 0, short_usable = 0, corrupt = 0, bad_stats = 0;

	for (int step = 0; step < STEPS; step++) {
		/* Grow to MAXLIVE, then hover around half of it. */
		unsigned pct = step < STEPS / 2 ? 60 : nlive < MAXLIVE / 2 ? 55 : 45;
		int grow = nlive == 0 || (nlive < MAXLIVE && rnd() % 100 < pct);

		if (grow) {
			unsigned r = rnd() % 100;
			size_t size = r < 70 ? 1 + rnd() % 256
				    : r < 90 ? 257 + rnd() % (2048 - 256)
				    : 2049 + rnd() % (16384 - 2048);
			struct obj o = { kmalloc(size), size, 0, next_id++ };

			if (!o.p) {
				nulls++;
				continue;
			}
			o.usable = kmalloc_usable_size(o.p);
			if (!aligned(o.p))
				misaligned++;
			if (o.usable < size)
				short_usable++;
			for (size_t i = 0; i < o.usable; i++)
				o.p[i] = pat(o.id, i);
			sum_usable += o.usable;
			live[nlive++] = o;
		} else {
			size_t i = rnd() % nlive;
			struct obj o = live[i];

			live[i] = live[--nlive];
			if (!verify(&o))
				corrupt++;
			sum_usable -= o.usable;
			kfree(o.p);
		}
		if (step % 97 == 0 && nlive && !verify(&live[rnd() % nlive]))
			corrupt++;
		struct kmalloc_stats s = st();
		if (s.bytes_in_use != sum_usable || s.pages_held != pages_out ||
		    s.allocs - base_allocs - (s.frees - base_frees) != nlive)
			bad_stats++;
	}
	ok(nulls == 0, "random: no allocation failed");
	ok(misaligned == 0, "random: every pointer 16-byte aligned");
	ok(short_usable == 0, "random: usable_size >= size");
	ok(corrupt == 0, "random: every pattern intact (no overlap)");
	ok(bad_stats == 0, "random: stats match the test's bookkeeping at every step");
	diag("random: %zu live, %llu pages held before draining", nlive,
	     (unsigned long long)pages_out);

	while (nlive) {
		struct obj o = live[--nlive];
		if (!verify(&o))
			corrupt++;
		kfree(o.p);
	}
	struct kmalloc_stats s = st();
	ok(corrupt == 0, "random: patterns intact while draining");
	ok(s.bytes_in_use == 0, "random: bytes_in_use 0 after freeing all");
	ok(s.allocs == s.frees, "random: allocs == frees (%llu)", (unsigned long long)s.allocs);
	ok(s.pages_held == pages_out && pages_out <= NCLASSES,
	   "random: only cached empty slabs remain (%llu pages, at most one per class)",
	   (unsigned long long)pages_out);
	kmalloc_trim();
	ok(pages_out == 0 && st().pages_held == 0 && nlive_blocks == 0,
	   "random: zero pages outstanding after kmalloc_trim");
	ok(page_free_errors == 0, "page_free always got a block page_alloc gave, same order");
}

static void test_kzalloc(void)
{
	unsigned char *p = kmalloc(100), *q;
	int nonzero = 0;

	memset(p, 0xff, 100);
	kfree(p);
	q = kzalloc(100);
	ok(q == p, "kzalloc reuses the freed object (LIFO-ish)");
	for (int i = 0; i < 100; i++)
		nonzero += q[i] != 0;
	ok(nonzero == 0, "kzalloc(100) zeroed over dirty memory");
	kfree(q);

	q = kzalloc(10000);
	nonzero = 0;
	for (int i = 0; i < 10000; i++)
		nonzero += q[i] != 0;
	ok(q && nonzero == 0, "kzalloc(10000) (large) zeroed");
	kfree(q);
	q = kzalloc(0);
	ok(q != NULL, "kzalloc(0) non-NULL");
	kfree(q);
}

static void test_misuse(void)
{
	char *p = kmalloc(32), *keep = kmalloc(32), *big = kmalloc(5000);
	struct kmalloc_stats before;

	kfree(p);
	before = st();
	EXPECT_PANIC(kfree(p), "double free", "slab double free detected");
	struct kmalloc_stats after = st();
	ok(memcmp(&before, &after, sizeof(before)) == 0, "rejected kfree changed no stats");
	EXPECT_PANIC(kmalloc_usable_size(p), "double free", "usable_size of a freed object detected");
	EXPECT_PANIC(kfree(keep + 16), "not the start", "pointer inside an object detected");
	EXPECT_PANIC(kfree((char *)((uintptr_t)keep & ~(uintptr_t)PAGE_MASK) + 8),
		     "not the start", "pointer into a slab header detected");
	EXPECT_PANIC(kfree(big + 16), "not the start of a large", "pointer inside a large block detected");
	EXPECT_PANIC(kfree(big + PAGE_SIZE), "bad magic", "pointer into a large block's 2nd page detected");

	void *foreign = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	memset(foreign, 0x5a, PAGE_SIZE);
	EXPECT_PANIC(kfree((char *)foreign + 64), "bad magic", "foreign pointer detected");
	free(foreign);

	kfree(big);
	EXPECT_PANIC(kfree(big), "double free", "large double free detected");

	/* A slab whose page went back to page_free: the header is DEAD. */
	char *objs[2];
	/* spare and objs[0] fill page A (two per page), objs[1] starts page B.
	 * A empties first and takes the class's cache slot, so B is released. */
	char *spare = kmalloc(2016);
	objs[0] = kmalloc(2016);
	objs[1] = kmalloc(2016);
	kfree(spare);
	kfree(objs[0]);
	kfree(objs[1]);
	EXPECT_PANIC(kfree(objs[1]), "double free", "double free after the slab page was released");
	kfree(keep);
	kmalloc_trim();
	ok(pages_out == 0 && st().bytes_in_use == 0, "misuse: no leaks");
}

static void test_empty_cache_and_oom(void)
{
	char *o[6];

	kmalloc_trim();
	for (int i = 0; i < 6; i++)
		o[i] = kmalloc(1500);	/* class 2016: two objects per page */
	ok(pages_out == 3 && st().pages_held == 3, "six 2016-byte objects use three pages");
	for (int i = 0; i < 6; i++)
		kfree(o[i]);
	ok(pages_out == 1 && st().pages_held == 1, "emptied slabs released except one cached");
	o[0] = kmalloc(2000);
	ok(pages_out == 1, "the cached empty slab is reused");
	kfree(o[0]);
	kmalloc_trim();
	ok(pages_out == 0, "kmalloc_trim releases it");

	struct kmalloc_stats before = st();
	fail_page_alloc = 1;
	ok(kmalloc(64) == NULL && kmalloc(10000) == NULL && kzalloc(1) == NULL,
	   "page_alloc failure -> NULL");
	fail_page_alloc = 0;
	ok(st().allocs == before.allocs && st().pages_held == 0, "failed kmalloc counted nothing");
	o[0] = kmalloc(64);
	ok(o[0] != NULL, "kmalloc works again once pages are available");
	kfree(o[0]);
	kmalloc_trim();
	ok(pages_out == 0 && !spin_is_held(&kmalloc_lock), "final: no pages, lock free");
}

int main(void)
{
	test_basics();
	test_random();
	test_kzalloc();
	test_misuse();
	test_empty_cache_and_oom();
	for (size_t i = 0; i < sizeof(quarantine) / sizeof(quarantine[0]); i++)
		really_free(&quarantine[i]);
	return done_testing();
}
