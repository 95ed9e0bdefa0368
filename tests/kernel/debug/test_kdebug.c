/*
 * test_kdebug.c - the debug kernel's detectors catch what they are for
 * (built into build/debug/weft.elf only; t/debug-detectors.t runs suite
 * kdebug, t/debug-panic.t suite kdebug_panic).
 *
 * Suite kdebug: each test provokes one kind of bug on purpose under a
 * catch (debug_catch_begin), so the report is recorded instead of
 * panicking, and checks the report: exactly one, of the right kind, naming
 * the right address and size, and (in the log) the allocation and free
 * sites. Suite kdebug_panic: the same write after free without a catch
 * must panic with the report (the harness expects exit "panic").
 *
 * The bad accesses go through volatile pointers and values, so the
 * compiler neither proves them undefined at build time nor drops them.
 */
#include <weft/ktest.h>
#include <weft/debug.h>
#include <weft/kmalloc.h>
#include <weft/pmm.h>
#include <weft/printk.h>
#include <weft/format.h>
#include <weft/string.h>
#include <arch/memlayout.h>
#include <stdint.h>

/* What a test expects of the reports caught meanwhile. */
static void expect_report(struct ktest_ctx *t, const struct debug_catch *c, const char *kind,
			  const char *in_summary)
{
	KT_EXPECT(t, c->count == 1, "%u reports caught, expected 1", c->count);
	KT_EXPECT(t, !strcmp(c->kind, kind), "kind '%s', expected '%s'", c->kind, kind);
	KT_EXPECT(t, strstr(c->summary, in_summary), "summary '%s' lacks '%s'", c->summary,
		  in_summary);
}

KTEST(kdebug, use_after_free_write)
{
	struct debug_catch c;
	char want[120];
	size_t log0 = log_position();
	volatile uint8_t *p = kmalloc(40);
	KT_ASSERT(t, p, "kmalloc(40) failed");
	kfree((void *)p);
	debug_catch_begin(&c);
	p[8] = 0x42;			/* the bug */
	kmalloc_debug_check();		/* finds it in the quarantine */
	debug_catch_end();
	snprintf(want, sizeof want, "write after free to %p: bytes 8..8 of a freed 40-byte object at %p",
		 (void *)&p[8], (void *)p);
	expect_report(t, &c, "use-after-free write", want);
	KT_EXPECT(t, log_contains_since(log0, "allocated at: ktest_fn_kdebug_use_after_free_write+"),
		  "the report does not name the allocation site");
	KT_EXPECT(t, log_contains_since(log0, "freed at:     ktest_fn_kdebug_use_after_free_write+"),
		  "the report does not name the free site");
	KT_EXPECT(t, log_contains_since(log0, "backtrace:\n"), "no backtrace");

	/* Caught once, repaired: neither a second check nor the object's
	 * way out of the quarantine reports it again. */
	debug_catch_begin(&c);
	kmalloc_debug_check();
	kmalloc_trim();
	debug_catch_end();
	KT_EXPECT(t, c.count == 0, "%u more reports after the repair: %s", c.count, c.summary);
}

KTEST(kdebug, use_after_free_found_leaving_quarantine)
{
	struct debug_catch c;
	char want[120];
	volatile uint64_t *p = kmalloc(200);
	KT_ASSERT(t, p, "kmalloc(200) failed");
	kfree((void *)p);
	debug_catch_begin(&c);
	p[24] = 7;			/* the last 8 bytes of the object */
	kmalloc_trim();			/* empties the quarantine: checks each object */
	debug_catch_end();
	snprintf(want, sizeof want, "bytes 192..199 of a freed 200-byte object at %p", (void *)p);
	expect_report(t, &c, "use-after-free write", want);
}

KTEST(kdebug, double_free)
{
	struct debug_catch c;
	char want[80];
	size_t log0 = log_position();
	void *p = kmalloc(24);
	KT_ASSERT(t, p, "kmalloc(24) failed");
	kfree(p);
	debug_catch_begin(&c);
	kfree(p);			/* the bug */
	debug_catch_end();
	snprintf(want, sizeof want, "kfree of %p: double free", p);
	expect_report(t, &c, "kfree", want);
	KT_EXPECT(t, log_contains_since(log0, "freed at:     ktest_fn_kdebug_double_free+"),
		  "the report does not name the first free");
	KT_EXPECT(t, log_contains_since(log0, "this call from: ktest_fn_kdebug_double_free+"),
		  "the report does not name the second free");
}

/* The shape of issue 11's clone() bug: the second kfree() comes after
 * other allocations of the same size, which without a quarantine would
 * likely have been given the freed slot (the raw heap hands out the lowest
 * free slot of the slab at the head of its partial list). */
#define REUSE_N 64
KTEST(kdebug, double_free_after_reuse)
{
	static void *others[REUSE_N];
	struct debug_catch c;
	char want[80];
	unsigned same = 0;
	void *keep = kmalloc(24), *p = kmalloc(24);
	KT_ASSERT(t, keep && p, "kmalloc(24) failed");
	kfree(p);
	for (unsigned i = 0; i < REUSE_N; i++) {
		others[i] = kmalloc(24);
		same += others[i] == p;
	}
	KT_EXPECT(t, same == 0, "a freed slot was handed out again at once (%u times)", same);
	debug_catch_begin(&c);
	kfree(p);			/* the bug */
	debug_catch_end();
	snprintf(want, sizeof want, "kfree of %p: double free", p);
	expect_report(t, &c, "kfree", want);
	for (unsigned i = 0; i < REUSE_N; i++)
		kfree(others[i]);

	/* Out of the quarantine, p's slot is free in the raw heap (`keep`
	 * holds its slab): still a double free. */
	kmalloc_trim();
	debug_catch_begin(&c);
	kfree(p);
	debug_catch_end();
	expect_report(t, &c, "kfree", want);
	kfree(keep);
}

KTEST(kdebug, redzone_overflow)
{
	struct debug_catch c;
	char want[120];
	size_t log0 = log_position();
	volatile char *p = kmalloc(20), *q = kmalloc(20);
	KT_ASSERT(t, p && q, "kmalloc(20) failed");
	for (int i = 0; i < 20; i++)	/* all its own bytes: fine */
		q[i] = (char)i;
	debug_catch_begin(&c);
	kfree((void *)q);
	KT_EXPECT(t, c.count == 0, "a report for writes inside the object: %s", c.summary);
	p[20] = 1;			/* the bug: one byte past the end */
	kfree((void *)p);
	debug_catch_end();
	snprintf(want, sizeof want, "heap overflow: 1 bytes past the end of the 20-byte object at %p",
		 (void *)p);
	expect_report(t, &c, "heap redzone", want);
	KT_EXPECT(t, log_contains_since(log0, "allocated at: ktest_fn_kdebug_redzone_overflow+"),
		  "the report does not name the allocation site");

	volatile char *u = kmalloc(100);
	KT_ASSERT(t, u, "kmalloc(100) failed");
	debug_catch_begin(&c);
	u[-1] = 1;			/* the bug: one byte before the start */
	kfree((void *)u);
	debug_catch_end();
	snprintf(want, sizeof want, "the header before the object at %p was overwritten", (void *)u);
	expect_report(t, &c, "heap redzone", want);
}

/* A long-lived object's overflow is found without freeing it. */
KTEST(kdebug, redzone_overflow_found_by_check)
{
	struct debug_catch c;
	char want[120];
	size_t log0 = log_position();
	volatile char *p = kmalloc(30);
	KT_ASSERT(t, p, "kmalloc(30) failed");
	debug_catch_begin(&c);
	p[32] = 1;			/* the bug: the third byte past the end */
	kmalloc_debug_check();
	kfree((void *)p);		/* repaired by the catch: no second report */
	debug_catch_end();
	snprintf(want, sizeof want, "heap overflow: 3 bytes past the end of the 30-byte object at %p",
		 (void *)p);
	expect_report(t, &c, "heap redzone", want);
	KT_EXPECT(t, log_contains_since(log0, "(found by kmalloc_debug_check)"),
		  "the report does not say the check found it");
	KT_EXPECT(t, log_contains_since(log0, "allocated at: ktest_fn_kdebug_redzone_overflow_found_by_check+"),
		  "the report does not name the allocation site");
}

KTEST(kdebug, freed_page_write)
{
	static void *held[4096];
	struct debug_catch c;
	char want[80];
	unsigned n = 0;
	bool back = false;
	size_t log0 = log_position();
	volatile uint64_t *pg = page_alloc(0);
	KT_ASSERT(t, pg, "page_alloc failed");
	uint64_t phys = virt_to_phys((void *)pg);
	page_free((void *)pg, 0);
	pg[5] = 0x1234;			/* the bug */
	/* The page comes back once the smaller free blocks are used up. */
	debug_catch_begin(&c);
	while (n < 4096 && !back) {
		held[n] = page_alloc(0);
		if (!held[n])
			break;
		back = held[n++] == (void *)pg;
	}
	debug_catch_end();
	while (n)
		page_free(held[--n], 0);
	KT_ASSERT(t, back, "the freed page did not come back in 4096 allocations");
	snprintf(want, sizeof want, "write to a free page: physical %#lx", (unsigned long)phys + 40);
	expect_report(t, &c, "use-after-free page write", want);
	KT_EXPECT(t, strstr(c.summary, "is 0x1234"), "summary '%s' lacks the value", c.summary);
	KT_EXPECT(t, log_contains_since(log0, "the page was freed at: ktest_fn_kdebug_freed_page_write+"),
		  "the report does not name the free site");
}

/* UBSan: the location in each report is the line of the bad operation. */
static char loc[64];
#define HERE() snprintf(loc, sizeof loc, "test_kdebug.c:%d:", __LINE__)

KTEST(kdebug, ubsan_shift_out_of_range)
{
	struct debug_catch c;
	volatile int one = 1, by = 70;
	debug_catch_begin(&c);
	HERE(); volatile int r = one << by;
	debug_catch_end();
	(void)r;
	expect_report(t, &c, "UBSAN", "shift exponent 70 is too large for 32-bit type 'int'");
	KT_EXPECT(t, strstr(c.summary, loc), "summary '%s' lacks '%s'", c.summary, loc);
}

KTEST(kdebug, ubsan_signed_overflow)
{
	struct debug_catch c;
	volatile int big = 0x7fffffff, one = 1;
	size_t log0 = log_position();
	debug_catch_begin(&c);
	HERE(); volatile int r = big + one;
	debug_catch_end();
	(void)r;
	expect_report(t, &c, "UBSAN", "signed integer overflow at");
	KT_EXPECT(t, strstr(c.summary, loc), "summary '%s' lacks '%s'", c.summary, loc);
	KT_EXPECT(t, log_contains_since(log0, "2147483647 + 1 cannot be represented in type 'int'"),
		  "the report does not show the operands");
}

KTEST(kdebug, ubsan_index_out_of_bounds)
{
	struct debug_catch c;
	/* Index 5 of arr is still inside s: only the bounds check fires. */
	struct { int arr[4]; int more[4]; } s = { { 1, 2, 3, 4 }, { 5, 6, 7, 8 } };
	volatile int i = 5;
	debug_catch_begin(&c);
	HERE(); volatile int r = s.arr[i];
	debug_catch_end();
	(void)r;
	expect_report(t, &c, "UBSAN", "index 5 out of bounds for type 'int [4]'");
	KT_EXPECT(t, strstr(c.summary, loc), "summary '%s' lacks '%s'", c.summary, loc);
}

KTEST(kdebug, ubsan_misaligned_load)
{
	struct debug_catch c;
	static uint64_t buf[2];
	char want[80];
	uint32_t *volatile p = (uint32_t *)((char *)buf + 2);
	debug_catch_begin(&c);
	HERE(); volatile uint32_t r = *p;
	debug_catch_end();
	(void)r;
	snprintf(want, sizeof want, "load of misaligned address %p for type", (void *)p);
	expect_report(t, &c, "UBSAN", want);
	KT_EXPECT(t, strstr(c.summary, loc), "summary '%s' lacks '%s'", c.summary, loc);
}

/* Without a catch a report panics (booted with panic=exit). */
KTEST(kdebug_panic, use_after_free_write_panics)
{
	volatile uint8_t *p = kmalloc(64);
	KT_ASSERT(t, p, "kmalloc(64) failed");
	kfree((void *)p);
	p[3] = 0x5a;
	kmalloc_debug_check();
	KT_EXPECT(t, false, "the write after free did not panic");
}
