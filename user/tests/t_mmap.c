/* t_mmap - the address space as a process sees it: anonymous private
 * mappings are zero-filled and populated lazily (a 1 GiB mapping costs
 * nothing until touched); MAP_FIXED replaces part of a mapping; munmap and
 * mprotect can split one; faults on holes, read-only and PROT_NONE pages
 * and on data that is not executable arrive as SIGSEGV with the right
 * si_addr and si_code, and the process carries on after siglongjmp; huge
 * requests fail with ENOMEM at once; brk grows and shrinks; madvise
 * (MADV_DONTNEED) is accepted. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

#define PAGE 4096UL

static sigjmp_buf env;
static volatile int fault_sig, fault_code;
static volatile uintptr_t fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	fault_sig = sig;
	fault_code = si->si_code;
	fault_addr = (uintptr_t)si->si_addr;
	siglongjmp(env, 1);
}

/* Access one byte; returns 1 if it faulted (details in fault_*). */
static int faults(volatile char *p, int write)
{
	fault_sig = fault_code = 0;
	fault_addr = 0;
	if (sigsetjmp(env, 1))
		return 1;
	if (write)
		*p = 1;
	else
		(void)*p;
	return 0;
}

static int fault_was(void *addr, int code)
{
	return fault_sig == SIGSEGV && fault_addr == (uintptr_t)addr && fault_code == code;
}

static void *map(size_t len, int prot)
{
	return mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

int main(void)
{
	plan(25);
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_NODEFER };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);

	/* 64 pages: zero at first, each keeps what is written. */
	const size_t n = 64;
	char *a = map(n * PAGE, PROT_READ | PROT_WRITE);
	ok(a != MAP_FAILED && ((uintptr_t)a & (PAGE - 1)) == 0, "mmap 64 pages: page aligned %p", (void *)a);
	int zero = 1;
	for (size_t i = 0; i < n; i++)
		zero &= a[i * PAGE] == 0 && a[i * PAGE + PAGE - 1] == 0;
	ok(zero, "fresh anonymous memory reads as zero");
	for (size_t i = 0; i < n; i++)
		memset(a + i * PAGE, (int)(i + 1), PAGE);
	int kept = 1;
	for (size_t i = 0; i < n; i++)
		kept &= a[i * PAGE] == (char)(i + 1) && a[i * PAGE + 2049] == (char)(i + 1);
	ok(kept, "every page keeps its own contents");

	/* MAP_FIXED over pages 4..5: new zero pages there, neighbours intact. */
	char *f = mmap(a + 4 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ok(f == a + 4 * PAGE, "MAP_FIXED maps exactly where asked");
	ok(f[0] == 0 && f[PAGE] == 0 && a[3 * PAGE] == 4 && a[6 * PAGE] == 7,
	   "the replaced pages are zero, their neighbours unchanged");

	/* munmap of page 10 only: a hole in the middle. */
	ok(munmap(a + 10 * PAGE, PAGE) == 0, "munmap of one page inside the mapping");
	int hit = faults(a + 10 * PAGE + 123, 0);
	ok(hit && fault_was(a + 10 * PAGE + 123, SEGV_MAPERR),
	   "reading the hole: SIGSEGV, SEGV_MAPERR, si_addr the byte read (%#lx)",
	   (unsigned long)fault_addr);
	ok(!faults(a + 9 * PAGE, 0) && !faults(a + 11 * PAGE, 1) && a[9 * PAGE] == 10,
	   "the pages on either side still work");

	/* mprotect pages 20..21 read-only: reads work, writes fault. */
	ok(mprotect(a + 20 * PAGE, 2 * PAGE, PROT_READ) == 0, "mprotect two pages PROT_READ");
	ok(!faults(a + 21 * PAGE, 0) && a[21 * PAGE] == 22, "reading a read-only page works");
	hit = faults(a + 20 * PAGE + 5, 1);
	ok(hit && fault_was(a + 20 * PAGE + 5, SEGV_ACCERR),
	   "writing it: SIGSEGV with SEGV_ACCERR (%d) at the byte written", fault_code);
	ok(a[20 * PAGE + 5] == 21, "the failed write changed nothing");
	ok(!faults(a + 19 * PAGE, 1) && !faults(a + 22 * PAGE, 1), "the neighbours are still writable");
	ok(mprotect(a + 20 * PAGE, 2 * PAGE, PROT_READ | PROT_WRITE) == 0 && !faults(a + 20 * PAGE, 1),
	   "mprotect back to read-write: writes work again");

	/* PROT_NONE: no access at all. */
	ok(mprotect(a + 30 * PAGE, PAGE, PROT_NONE) == 0 && faults(a + 30 * PAGE, 0) &&
	   fault_was(a + 30 * PAGE, SEGV_ACCERR), "PROT_NONE: even reading faults (SEGV_ACCERR)");

	/* Data is not code: calling into a read-write page faults at its first
	 * byte; once made executable the same bytes run. */
	static const unsigned char ret42[] = { 0xb8, 42, 0, 0, 0, 0xc3 };   /* mov $42,%eax; ret */
	char *code = map(PAGE, PROT_READ | PROT_WRITE);
	memcpy(code, ret42, sizeof ret42);
	int (*fn)(void) = (int (*)(void))(void *)code;
	volatile int got = 0;
	fault_sig = 0;
	if (!sigsetjmp(env, 1))
		got = fn();
	ok(fault_sig == SIGSEGV && fault_addr == (uintptr_t)code && fault_code == SEGV_ACCERR,
	   "executing a non-executable page: SIGSEGV at it, SEGV_ACCERR");
	int mp = mprotect(code, PAGE, PROT_READ | PROT_EXEC);
	if (mp == 0 && !sigsetjmp(env, 1))
		got = fn();
	ok(mp == 0 && got == 42, "after mprotect PROT_EXEC it runs (%d)", got);

	/* Laziness: 1 GiB costs nothing until touched. */
	size_t big = 1UL << 30;
	char *g = map(big, PROT_READ | PROT_WRITE);
	int big_ok = g != MAP_FAILED;
	if (big_ok) {
		g[0] = 1, g[big / 2] = 2, g[big - 1] = 3;
		big_ok = g[0] == 1 && g[big / 2] == 2 && g[big - 1] == 3 && g[PAGE] == 0;
		big_ok &= munmap(g, big) == 0;
	}
	ok(big_ok, "a 1 GiB mapping: three pages touched, then unmapped");

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	void *huge = map(1UL << 62, PROT_READ | PROT_WRITE);
	int huge_err = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ok(huge == MAP_FAILED && huge_err == ENOMEM && ms < 1000,
	   "mmap of 2^62 bytes: ENOMEM in %ld ms", ms);

	ok(map(0, PROT_READ) == MAP_FAILED && errno == EINVAL, "mmap of 0 bytes: EINVAL");
	ok(munmap(a + 1, PAGE) == -1 && errno == EINVAL, "munmap of an unaligned address: EINVAL");

	/* madvise(MADV_DONTNEED): accepted, the range stays usable. */
	ok(madvise(a + 40 * PAGE, 4 * PAGE, MADV_DONTNEED) == 0 && !faults(a + 41 * PAGE, 0) &&
	   !faults(a + 42 * PAGE, 1), "madvise(MADV_DONTNEED) accepted; the pages stay accessible");
	if (a[43 * PAGE] != 0)
		diag("note: MADV_DONTNEED kept the old contents (Linux zero-fills)");

	/* brk: grow by 64 KiB, use it, shrink back; the released page faults. */
	uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
	uintptr_t want = cur + 16 * PAGE;
	uintptr_t grown = (uintptr_t)syscall(SYS_brk, want);
	int brk_ok = cur != 0 && grown == want;
	if (brk_ok) {
		char *heap = (char *)cur;
		memset(heap, 0x5a, 16 * PAGE);
		brk_ok = heap[16 * PAGE - 1] == 0x5a;
	}
	ok(brk_ok, "brk grows by 64 KiB (%#lx -> %#lx) and the memory works", (unsigned long)cur,
	   (unsigned long)grown);
	uintptr_t shrunk = (uintptr_t)syscall(SYS_brk, cur);
	uintptr_t first_free = (cur + PAGE - 1) & ~(PAGE - 1);
	ok(shrunk == cur, "brk shrinks back to %#lx", (unsigned long)cur);
	ok(faults((char *)first_free + PAGE, 0) && fault_was((char *)first_free + PAGE, SEGV_MAPERR),
	   "memory released by brk faults");
	return done();
}
