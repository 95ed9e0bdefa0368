/* test_buddy.c - host unit tests for mm/buddy.c.
 *
 * The allocator is included directly. A shadow bitmap of what the test has
 * allocated checks alignment, overlap and range; check_invariants() walks
 * the metadata and verifies the invariants documented in buddy.c.
 */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include "tap.h"
#include "../../mm/buddy.c"

/* buddy_panic() records the complaint and returns: buddy.c then leaves its
 * state untouched, which the tests check. An unexpected panic aborts. */
static int panic_armed, panic_count;
static const char *panic_msg;
static uint64_t panic_pfn;

void buddy_panic(const char *msg, uint64_t pfn)
{
	if (!panic_armed) {
		fprintf(stderr, "unexpected buddy_panic: %s (pfn %llu)\n", msg,
			(unsigned long long)pfn);
		abort();
	}
	panic_count++;
	panic_msg = msg;
	panic_pfn = pfn;
}

/* Run `stmt` expecting exactly one panic whose message contains `want`. */
#define EXPECT_PANIC(stmt, want, name) do {				\
	panic_armed = 1; panic_count = 0; panic_msg = "";		\
	stmt;								\
	panic_armed = 0;						\
	ok(panic_count == 1 && strstr(panic_msg, want) != NULL,		\
	   "%s (got %d: %s)", name, panic_count, panic_msg);		\
} while (0)

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The managed range and the sub-ranges given to the allocator. */
#define BASE   37u
#define NPAGES 9000u
static const struct { uint64_t pfn, count; } ranges[] = {
	{ 40, 1000 },		/* odd start, ends at 1040 */
	{ 1500, 1277 },		/* ends at 2777 */
	{ 3001, 1 },		/* single page */
	{ 3002, 5 },		/* adjacent to the previous range: must merge */
	{ 4000, 100000 },	/* runs past the end: clipped to BASE + NPAGES */
};
#define NRANGES (sizeof(ranges) / sizeof(ranges[0]))

static struct buddy B;
static struct buddy_page *meta;
static uint8_t usable[BASE + NPAGES];	/* 1: frame was added */
static uint8_t taken[BASE + NPAGES];	/* 1: frame is allocated by the test */
static uint64_t total_usable;

/* Walk every free list and the metadata; return 1 if consistent. */
static int check_invariants(struct buddy *b)
{
	static uint8_t seen[BASE + NPAGES];
	uint64_t sum = 0;

	memset(seen, 0, sizeof(seen));
	for (unsigned k = 0; k <= MAX_ORDER; k++) {
		uint64_t n = 0;
		uint32_t prev = BUDDY_NIL;

		for (uint32_t i = b->free_head[k]; i != BUDDY_NIL; i = b->pages[i].next) {
			uint64_t pfn = b->base_pfn + i, size = 1ull << k;

			if (b->pages[i].flags != BUDDY_FREE || b->pages[i].order != k ||
			    b->pages[i].prev != prev || (pfn & (size - 1)) ||
			    i + size > b->npages) {
				diag("bad free head pfn %llu order %u", (unsigned long long)pfn, k);
				return 0;
			}
			for (uint64_t j = 0; j < size; j++) {
				if (seen[pfn + j] || taken[pfn + j] || !usable[pfn + j] ||
				    (j && b->pages[i + j].flags != 0)) {
					diag("bad frame %llu in free block %llu/%u",
					     (unsigned long long)(pfn + j),
					     (unsigned long long)pfn, k);
					return 0;
				}
				seen[pfn + j] = 1;
			}
			/* Fully merged: the buddy must not be a free block of order k. */
			uint64_t bud = pfn ^ size;
			if (k < MAX_ORDER && bud >= b->base_pfn && bud - b->base_pfn < b->npages &&
			    b->pages[bud - b->base_pfn].flags == BUDDY_FREE &&
			    b->pages[bud - b->base_pfn].order == k) {
				diag("unmerged buddies %llu/%u", (unsigned long long)pfn, k);
				return 0;
			}
			prev = i;
			n++;
		}
		if (n != b->nr_free[k]) {
			diag("nr_free[%u] = %llu, list has %llu", k,
			     (unsigned long long)b->nr_free[k], (unsigned long long)n);
			return 0;
		}
		sum += n << k;
	}
	if (sum != b->free_pages) {
		diag("free_pages %llu, lists hold %llu",
		     (unsigned long long)b->free_pages, (unsigned long long)sum);
		return 0;
	}
	/* Every usable frame is free or taken; every other frame is reserved. */
	for (uint64_t pfn = BASE; pfn < BASE + NPAGES; pfn++) {
		if (usable[pfn] ? !(seen[pfn] ^ taken[pfn])
				: b->pages[pfn - BASE].flags != BUDDY_RESERVED) {
			diag("frame %llu lost", (unsigned long long)pfn);
			return 0;
		}
	}
	return 1;
}

static void setup(void)
{
	meta = malloc(buddy_meta_size(NPAGES));
	buddy_init(&B, meta, BASE, NPAGES);
	memset(usable, 0, sizeof(usable));
	memset(taken, 0, sizeof(taken));
	total_usable = 0;
	for (size_t r = 0; r < NRANGES; r++) {
		buddy_add_free(&B, ranges[r].pfn, ranges[r].count);
		for (uint64_t p = ranges[r].pfn; p < ranges[r].pfn + ranges[r].count &&
		     p < BASE + NPAGES; p++) {
			usable[p] = 1;
			total_usable++;
		}
	}
}

static void test_basics(void)
{
	struct buddy b;
	struct buddy_page m[2048];

	ok(buddy_meta_size(1000) == 1000 * sizeof(struct buddy_page), "meta size");
	ok(sizeof(struct buddy_page) == 12, "buddy_page is 12 bytes");

	buddy_init(&b, m, 0, 2048);
	ok(buddy_free_count(&b) == 0, "all frames start reserved");
	ok(buddy_alloc(&b, 0) == -1, "nothing to allocate before add_free");
	buddy_add_free(&b, 0, 512);
	buddy_add_free(&b, 512, 512);
	ok(b.nr_free[MAX_ORDER] == 1 && b.nr_free[MAX_ORDER - 1] == 0,
	   "two adjacent halves merge into one max-order block");
	ok(buddy_alloc(&b, MAX_ORDER + 1) == -1, "order > MAX_ORDER fails");
	ok(buddy_alloc(&b, MAX_ORDER) == 0, "max-order block at pfn 0");
	ok(buddy_alloc(&b, 0) == -1, "exhausted");
	buddy_free(&b, 0, MAX_ORDER);
	ok(buddy_free_count(&b) == 1024, "freed back");
	int64_t a = buddy_alloc(&b, 0);
	ok(a == 0 && b.nr_free[MAX_ORDER] == 0 && buddy_free_count(&b) == 1023,
	   "order-0 alloc splits the block (pfn %lld)", (long long)a);
	for (unsigned k = 0; k < MAX_ORDER; k++)
		if (b.nr_free[k] != 1)
			diag("nr_free[%u] = %llu", k, (unsigned long long)b.nr_free[k]);
	buddy_free(&b, 0, 0);
	ok(b.nr_free[MAX_ORDER] == 1, "freeing it merges all the way up");
}

static void test_fill_and_drain(void)
{
	uint64_t snap[MAX_ORDER + 1];
	uint64_t *got, n = 0;
	int dup = 0, outside = 0;

	setup();
	ok(buddy_free_count(&B) == total_usable, "free count %llu == added %llu",
	   (unsigned long long)buddy_free_count(&B), (unsigned long long)total_usable);
	ok(check_invariants(&B), "invariants after add_free");
	memcpy(snap, B.nr_free, sizeof(snap));

	got = malloc(total_usable * sizeof(*got));
	for (;;) {
		int64_t p = buddy_alloc(&B, 0);
		if (p < 0)
			break;
		if (p < BASE || p >= BASE + NPAGES || !usable[p])
			outside++;
		else if (taken[p])
			dup++;
		else
			taken[p] = 1;
		if (n < total_usable)
			got[n] = (uint64_t)p;
		n++;
	}
	ok(n == total_usable, "allocated every free frame at order 0 (%llu)",
	   (unsigned long long)n);
	ok(dup == 0, "no pfn returned twice");
	ok(outside == 0, "every pfn lies in an added range");
	ok(buddy_free_count(&B) == 0, "free count 0 when exhausted");
	ok(buddy_alloc(&B, 0) == -1 && buddy_alloc(&B, 3) == -1, "alloc fails when empty");
	ok(check_invariants(&B), "invariants when exhausted");

	/* Free in a shuffled order. */
	for (uint64_t i = n - 1; i > 0; i--) {
		uint64_t j = rnd() % (i + 1), t = got[i];
		got[i] = got[j];
		got[j] = t;
	}
	for (uint64_t i = 0; i < n; i++) {
		buddy_free(&B, got[i], 0);
		taken[got[i]] = 0;
	}
	ok(buddy_free_count(&B) == total_usable, "free count restored exactly");
	ok(check_invariants(&B), "invariants after freeing all");
	ok(memcmp(snap, B.nr_free, sizeof(snap)) == 0,
	   "blocks re-merged to the same shape as after add_free");
	int64_t big = buddy_alloc(&B, MAX_ORDER);
	ok(big >= 0 && big % (1 << MAX_ORDER) == 0 && usable[big] &&
	   usable[big + (1 << MAX_ORDER) - 1], "max-order alloc succeeds again (%lld)",
	   (long long)big);
	buddy_free(&B, (uint64_t)big, MAX_ORDER);
	free(got);
	free(meta);
}

struct live { uint64_t pfn; unsigned order; };

static void test_random(void)
{
	static struct live live[4096];
	uint64_t snap[MAX_ORDER + 1];
	size_t nlive = 0;
	int bad_align = 0, overlap = 0, outside = 0, bad_count = 0, bad_inv = 0;
	uint64_t in_use = 0, fails = 0;

	setup();
	memcpy(snap, B.nr_free, sizeof(snap));
	for (int step = 0; step < 200000; step++) {
		int do_alloc = nlive == 0 || (nlive < 4096 && rnd() % 100 < 55);

		if (do_alloc) {
			/* Mostly small orders, occasionally big ones. */
			unsigned order = rnd() % 4 ? rnd() % 4 : rnd() % (MAX_ORDER + 1);
			int64_t p = buddy_alloc(&B, order);
			uint64_t size = 1ull << order;

			if (p < 0) {
				fails++;
				continue;
			}
			if ((uint64_t)p & (size - 1))
				bad_align++;
			for (uint64_t j = 0; j < size; j++) {
				uint64_t f = (uint64_t)p + j;
				if (f < BASE || f >= BASE + NPAGES || !usable[f]) {
					outside++;
					break;
				}
				if (taken[f])
					overlap++;
				taken[f] = 1;
			}
			live[nlive++] = (struct live){ (uint64_t)p, order };
			in_use += size;
		} else {
			size_t i = rnd() % nlive;
			struct live l = live[i];

			live[i] = live[--nlive];
			buddy_free(&B, l.pfn, l.order);
			for (uint64_t j = 0; j < (1ull << l.order); j++)
				taken[l.pfn + j] = 0;
			in_use -= 1ull << l.order;
		}
		if (buddy_free_count(&B) + in_use != total_usable)
			bad_count++;
		if (step % 5000 == 0 && !check_invariants(&B))
			bad_inv++;
	}
	ok(bad_align == 0, "random: every block naturally aligned");
	ok(overlap == 0, "random: no overlapping blocks");
	ok(outside == 0, "random: every block inside added ranges");
	ok(bad_count == 0, "random: free count + in use == total at every step");
	ok(bad_inv == 0, "random: invariants hold throughout");
	diag("random: %llu allocation failures, %zu live at end",
	     (unsigned long long)fails, nlive);
	ok(check_invariants(&B), "random: invariants before draining");
	while (nlive) {
		struct live l = live[--nlive];
		buddy_free(&B, l.pfn, l.order);
		for (uint64_t j = 0; j < (1ull << l.order); j++)
			taken[l.pfn + j] = 0;
	}
	ok(buddy_free_count(&B) == total_usable, "random: all frames back");
	ok(check_invariants(&B), "random: invariants after draining");
	ok(memcmp(snap, B.nr_free, sizeof(snap)) == 0, "random: fully re-merged");
	free(meta);
}

/* Update the shadow for a block the test allocated (1) or freed (0). */
static void shadow(int64_t pfn, unsigned order, uint8_t v)
{
	for (uint64_t j = 0; j < (1ull << order); j++)
		taken[(uint64_t)pfn + j] = v;
}

static void test_misuse(void)
{
	uint64_t before;
	int64_t a, c;

	setup();
	a = buddy_alloc(&B, 2);
	c = buddy_alloc(&B, 0);
	ok(a >= 0 && c >= 0, "allocations for misuse tests");
	shadow(c, 0, 1);
	buddy_free(&B, (uint64_t)a, 2);
	before = buddy_free_count(&B);

	EXPECT_PANIC(buddy_free(&B, (uint64_t)a, 2), "already free", "double free detected");
	ok(buddy_free_count(&B) == before && check_invariants(&B),
	   "double free changed nothing");
	EXPECT_PANIC(buddy_free(&B, (uint64_t)a + 1, 0), "already free",
		     "free of a frame inside a free block detected");
	EXPECT_PANIC(buddy_free(&B, 2000, 0), "already free",
		     "free of a never-allocated free frame detected");
	EXPECT_PANIC(buddy_free(&B, 1200, 0), "reserved", "free of a reserved frame detected");
	EXPECT_PANIC(buddy_free(&B, (uint64_t)c, 1), "", "free with wrong order detected");
	EXPECT_PANIC(buddy_free(&B, 5, 0), "out of range", "free below the range detected");
	EXPECT_PANIC(buddy_free(&B, BASE + NPAGES, 0), "out of range",
		     "free above the range detected");
	EXPECT_PANIC(buddy_free(&B, 4097, 1), "misaligned", "misaligned free detected");
	EXPECT_PANIC(buddy_free(&B, (uint64_t)c, MAX_ORDER + 1), "bad order",
		     "order > MAX_ORDER detected");

	a = buddy_alloc(&B, 3);
	shadow(a, 3, 1);
	EXPECT_PANIC(buddy_free(&B, (uint64_t)a + 4, 2), "not an allocated block",
		     "free of the inner half of an allocated block detected");
	ok(buddy_free_count(&B) == before - 8 && check_invariants(&B),
	   "misuse left counts and metadata unchanged");
	buddy_free(&B, (uint64_t)a, 3);
	buddy_free(&B, (uint64_t)c, 0);
	shadow(a, 3, 0);
	shadow(c, 0, 0);
	ok(buddy_free_count(&B) == total_usable && check_invariants(&B),
	   "state intact after all misuse");

	EXPECT_PANIC(buddy_add_free(&B, 3000, 10), "already managed",
		     "add_free over managed frames detected");
	ok(buddy_free_count(&B) == total_usable && check_invariants(&B),
	   "rejected add_free changed nothing");
	buddy_add_free(&B, 0, 30);
	buddy_add_free(&B, BASE + NPAGES, 50);
	ok(buddy_free_count(&B) == total_usable, "add_free outside the range is ignored");
	free(meta);
}

int main(void)
{
	test_basics();
	test_fill_and_drain();
	test_random();
	test_misuse();
	return done_testing();
}
