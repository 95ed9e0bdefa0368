/*
 * test_vm.c - an address space's region tree (mm/vma.c) against a model.
 *
 * Suite `vm`. A fresh address space (not loaded anywhere: vm_* take the
 * mm explicitly) gets thousands of random vm_mmap (MAP_FIXED, and with no
 * address: the highest free gap below USER_MMAP_TOP), vm_munmap and
 * vm_mprotect calls inside a window just below USER_MMAP_TOP, mirrored in
 * a page-by-page model. After every call the tree must pass vm_check()
 * (order, no overlap, every gap and subtree maximum, the count), each
 * call's result must be the model's (the address mmap chose: the top of
 * the highest free run of pages that fits), and every so often every page
 * of the window must fault as the model says (vm_fault: no region, no
 * access, read-only, read-write).
 */
#include <weft/ktest.h>
#include <weft/vm.h>
#include <weft/errno.h>
#include <weft/pmm.h>

#define WPAGES 2048                              /* the window, in pages */
#define WBASE (USER_MMAP_TOP - WPAGES * PAGE_SIZE)
#define FIXED_FROM (WPAGES / 2)                  /* MAP_FIXED only in the top half */
#define OPS 4000
#define FREE_PROT (-1)

static signed char model[WPAGES];                /* FREE_PROT or the page's PROT_* */
static const unsigned prots[] = { PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE };

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static unsigned rnd(unsigned n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(rng >> 33) % n;
}

static uint64_t va(int page) { return WBASE + (uint64_t)page * PAGE_SIZE; }

/* The lowest page of the highest free run of len pages, or -1: where
 * mmap(NULL, len) must go (the window's top is USER_MMAP_TOP). */
static int model_gap(int len)
{
	int run = 0;
	for (int p = WPAGES - 1; p >= 0; p--) {
		run = model[p] == FREE_PROT ? run + 1 : 0;
		if (run == len)
			return p;
	}
	return -1;
}

static bool model_all_mapped(int from, int len)
{
	for (int p = from; p < from + len; p++)
		if (model[p] == FREE_PROT)
			return false;
	return true;
}

static void model_set(int from, int len, int prot)
{
	for (int p = from; p < from + len; p++)
		model[p] = (signed char)prot;
}

/* What vm_fault says page p is: FREE_PROT, PROT_NONE, PROT_READ or
 * PROT_READ | PROT_WRITE (a readable page gets faulted in). */
static int probe(struct mm *mm, int p)
{
	int r = vm_fault(mm, va(p), false, false);
	if (r == -EFAULT)
		return FREE_PROT;
	if (r == -EACCES)
		return PROT_NONE;
	return vm_fault(mm, va(p), true, false) == 0 ? PROT_READ | PROT_WRITE : PROT_READ;
}

KTEST(vm, region_tree_against_model)
{
	struct mm *mm = mm_create();
	KT_ASSERT(t, mm, "mm_create failed");
	for (int p = 0; p < WPAGES; p++)
		model[p] = FREE_PROT;
	int mapped = 0, bad = 0, nulls = 0;
	for (int op = 0; op < OPS && !bad; op++) {
		int len = 1 + (int)rnd(8);
		int kind = rnd(mapped > WPAGES / 4 ? 5 : 4);   /* 4: an extra munmap when full */
		unsigned prot = prots[rnd(3)];
		const char *what;
		bool good;
		if (kind == 0) {
			what = "mmap MAP_FIXED";
			int from = FIXED_FROM + (int)rnd(WPAGES - FIXED_FROM - len + 1);
			long r = vm_mmap(mm, va(from), (uint64_t)len * PAGE_SIZE, prot, MAP_FIXED);
			good = r == (long)va(from);
			model_set(from, len, (int)prot);
		} else if (kind == 1) {
			what = "mmap NULL";
			int at = model_gap(len);
			if (at < 0)
				continue;
			long r = vm_mmap(mm, 0, (uint64_t)len * PAGE_SIZE, prot, 0);
			good = r == (long)va(at);
			if (!good)
				ktest_diag(t, "mmap(NULL, %d pages) gave %#lx, the model says %#lx", len,
					   (unsigned long)r, (unsigned long)va(at));
			model_set(at, len, (int)prot);
			nulls++;
		} else if (kind == 2) {
			what = "mprotect";
			int from = (int)rnd(WPAGES - len + 1);
			bool whole = model_all_mapped(from, len);
			int r = vm_mprotect(mm, va(from), (uint64_t)len * PAGE_SIZE, prot);
			good = whole ? r == 0 : r == -ENOMEM;
			if (whole)
				model_set(from, len, (int)prot);
		} else {
			what = "munmap";
			int from = (int)rnd(WPAGES - len + 1);
			good = vm_munmap(mm, va(from), (uint64_t)len * PAGE_SIZE) == 0;
			model_set(from, len, FREE_PROT);
		}
		mapped = 0;
		for (int p = 0; p < WPAGES; p++)
			mapped += model[p] != FREE_PROT;
		if (!good || vm_check(mm) < 0) {
			ktest_diag(t, "op %d (%s, %d pages): %s", op, what, len,
				   good ? "vm_check failed" : "result differs from the model");
			bad = 1;
		}
		if (!bad && (op % 500 == 499 || op == OPS - 1)) {
			for (int p = 0; p < WPAGES && !bad; p++) {
				int got = probe(mm, p);
				if (got != model[p]) {
					ktest_diag(t, "op %d: page %d (%#lx) faults as prot %d, the model "
						   "says %d", op, p, (unsigned long)va(p), got, model[p]);
					bad = 1;
				}
			}
		}
	}
	KT_EXPECT(t, !bad, "the region tree disagreed with the model (diagnostics above)");
	KT_EXPECT(t, nulls > 100, "only %d mmap(NULL) calls were checked", nulls);
	ktest_diag(t, "%d ops, %d mmap(NULL); %d pages mapped at the end", OPS, nulls, mapped);
	mm_put(mm);
}
