/* t_mmap_many - an address space with 32768 mappings.
 *
 * 32768 single-page anonymous mappings, made with mmap(NULL, ...) one by
 * one with alternating protections (read-write, read-only) so that no two
 * can merge, then unmapped one by one: first every read-write one, then
 * the rest. After each phase every page is checked: mprotect() of a page
 * succeeds exactly when it is still mapped (Linux: ENOMEM otherwise),
 * sampled read-write pages keep what was written, sampled read-only pages
 * read zero and fault on a write, and sampled unmapped pages fault on a
 * read (SIGSEGV). The time of each phase is printed as a diagnostic only
 * (speed is `make bench`'s business): with the regions in a list the
 * 32768 munmaps took seconds, with a balanced tree they take
 * milliseconds. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

#define N 32768
#define PAGE 4096
#define SAMPLE 61   /* pages touched: every SAMPLE-th (odd: hits both kinds) */

static char *page[N];

static int prot_of(int i) { return i & 1 ? PROT_READ : PROT_READ | PROT_WRITE; }

static sigjmp_buf env;
static void on_segv(int sig)
{
	(void)sig;
	siglongjmp(env, 1);
}

/* Does a read (write: a write) of *p fault? */
static int faults(volatile char *p, int write)
{
	if (sigsetjmp(env, 1))
		return 1;
	if (write)
		*p = 1;
	else
		(void)*p;
	return 0;
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
	return x < y ? -1 : x > y;
}

/* Every page: mapped (mprotect to its own protection succeeds) exactly
 * when mapped(i); diagnoses the first page that disagrees. */
static int check_mapped(int (*mapped)(int), const char *when)
{
	int bad = 0;
	for (int i = 0; i < N; i++) {
		int r = mprotect(page[i], PAGE, prot_of(i));
		int want = mapped(i);
		if (want ? r != 0 : !(r == -1 && errno == ENOMEM)) {
			if (!bad++)
				diag("%s: page %d at %p: mprotect %d (errno %d), expected %s", when, i,
				     (void *)page[i], r, errno, want ? "mapped" : "ENOMEM");
		}
	}
	return bad;
}

/* The sampled pages: contents and faults as mapped(i) and prot_of(i) say. */
static int check_sampled(int (*mapped)(int), const char *when)
{
	int bad = 0;
	for (int i = 0; i < N; i += SAMPLE) {
		int good;
		if (!mapped(i))
			good = faults(page[i], 0);
		else if (prot_of(i) & PROT_WRITE)
			good = !faults(page[i], 0) && *(volatile int *)page[i] == i;
		else
			good = !faults(page[i], 0) && *(volatile int *)page[i] == 0 && faults(page[i], 1);
		if (!good && !bad++)
			diag("%s: sampled page %d at %p is wrong", when, i, (void *)page[i]);
	}
	return bad;
}

static int all(int i) { (void)i; return 1; }
static int read_only_left(int i) { return i & 1; }
static int none(int i) { (void)i; return 0; }

int main(void)
{
	plan(8);
	struct sigaction sa = { .sa_handler = on_segv };
	sigaction(SIGSEGV, &sa, NULL);

	uint64_t t0 = now_us();
	int failed = 0;
	for (int i = 0; i < N; i++) {
		void *p = mmap(NULL, PAGE, prot_of(i), MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			diag("mmap %d failed: errno %d", i, errno);
			failed = 1;
			break;
		}
		page[i] = p;
	}
	uint64_t t_map = now_us() - t0;
	ok(!failed, "%d single-page mappings made", N);
	if (failed)
		return done();

	static uintptr_t sorted[N];
	memcpy(sorted, page, sizeof sorted);
	qsort(sorted, N, sizeof sorted[0], cmp_ptr);
	int distinct = 1;
	for (int i = 0; i < N; i++)
		if (sorted[i] % PAGE || (i && sorted[i] == sorted[i - 1]))
			distinct = 0;
	ok(distinct, "they are page-aligned and pairwise distinct");

	for (int i = 0; i < N; i += SAMPLE)
		if (prot_of(i) & PROT_WRITE)
			*(int *)page[i] = i;
	ok(!check_mapped(all, "all mapped") && !check_sampled(all, "all mapped"),
	   "every page mapped with its own protection; sampled pages read, write and fault as their "
	   "protection says");

	t0 = now_us();
	int bad = 0;
	for (int i = 0; i < N; i += 2)
		bad += munmap(page[i], PAGE) != 0;
	uint64_t t_unmap1 = now_us() - t0;
	ok(!bad, "the %d read-write mappings unmapped one by one (%d failures)", N / 2, bad);
	ok(!check_mapped(read_only_left, "half unmapped") &&
		   !check_sampled(read_only_left, "half unmapped"),
	   "exactly the read-only pages are left: the others give ENOMEM and fault");

	t0 = now_us();
	bad = 0;
	for (int i = 1; i < N; i += 2)
		bad += munmap(page[i], PAGE) != 0;
	uint64_t t_unmap2 = now_us() - t0;
	ok(!bad, "the %d read-only mappings unmapped one by one (%d failures)", N / 2, bad);
	ok(!check_mapped(none, "all unmapped") && !check_sampled(none, "all unmapped"),
	   "no page is left mapped");

	/* The space is reusable: one mapping over the whole former range. */
	uintptr_t lo = sorted[0], hi = sorted[N - 1] + PAGE;
	void *big = mmap((void *)lo, hi - lo, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	int reusable = big == (void *)lo;
	if (reusable) {
		((char *)big)[0] = 1;
		((char *)big)[hi - lo - 1] = 2;
		reusable = munmap(big, hi - lo) == 0;
	}
	ok(reusable, "the emptied range [%#lx, %#lx) takes one MAP_FIXED_NOREPLACE mapping (%p)",
	   (unsigned long)lo, (unsigned long)hi, big);

	diag("times: %d mmaps %lu ms, %d munmaps %lu ms, %d more munmaps %lu ms", N,
	     (unsigned long)(t_map / 1000), N / 2, (unsigned long)(t_unmap1 / 1000), N / 2,
	     (unsigned long)(t_unmap2 / 1000));
	return done();
}
