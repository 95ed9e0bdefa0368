/* t_mmap - anonymous memory: lazy pages, MAP_FIXED, partial munmap and
 * mprotect with the faults they must cause, absurd sizes, brk. */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <signal.h>
#include <setjmp.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <stdint.h>
#include <sys/syscall.h>
#include "../lib/tap.h"

static sigjmp_buf jb;
static volatile void *fault_addr;
static volatile int fault_code;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	fault_addr = si->si_addr;
	fault_code = si->si_code;
	siglongjmp(jb, 1);
}

/* 1 if touching p (read, or write when w) faults. */
static int faults(volatile char *p, int w)
{
	fault_addr = NULL;
	if (sigsetjmp(jb, 1))
		return 1;
	if (w)
		*p = 1;
	else
		(void)*p;
	return 0;
}

int main(void)
{
	plan(12);
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
	sigaction(SIGSEGV, &sa, NULL);
	long pg = 4096;
	char *a = mmap(NULL, 64 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ok(a != MAP_FAILED, "mmap 64 pages");
	int zero = 1;
	for (int i = 0; i < 64; i++)
		zero &= a[i * pg] == 0;
	memset(a, 0x5a, 64 * pg);
	ok(zero && a[63 * pg + 100] == 0x5a, "pages read as zero, then hold what was written");
	char *f = mmap(a + 8 * pg, 2 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ok(f == a + 8 * pg && f[0] == 0 && a[7 * pg] == 0x5a, "MAP_FIXED replaces part of a mapping with zeros");
	ok(munmap(a + 16 * pg, 4 * pg) == 0, "munmap of a hole");
	ok(faults(a + 17 * pg, 0) && fault_addr == a + 17 * pg && fault_code == SEGV_MAPERR,
	   "the hole faults: SIGSEGV, SEGV_MAPERR at the address");
	ok(!faults(a + 20 * pg, 0) && a[20 * pg] == 0x5a, "memory after the hole is intact");
	ok(mprotect(a + 30 * pg, 2 * pg, PROT_READ) == 0, "mprotect read-only");
	ok(faults(a + 30 * pg, 1) && fault_code == SEGV_ACCERR && !faults(a + 31 * pg, 0) &&
	   a[31 * pg] == 0x5a, "writing it faults with SEGV_ACCERR; reading works");
	ok(mprotect(a + 40 * pg, pg, PROT_NONE) == 0 && faults(a + 40 * pg, 0) &&
	   mprotect(a + 40 * pg, pg, PROT_READ) == 0 && a[40 * pg] == 0x5a,
	   "PROT_NONE faults, and keeps the contents for later");
	void *huge = mmap(NULL, 1UL << 62, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ok(huge == MAP_FAILED && errno == ENOMEM, "mmap of 2^62 bytes fails with ENOMEM");
	/* musl's brk() always fails; the system call itself is what matters. */
	char *b0 = (char *)syscall(SYS_brk, 0);
	char *b1 = (char *)syscall(SYS_brk, b0 + 10 * pg);
	int wrote = b1 == b0 + 10 * pg && (b0[5 * pg] = 3) == 3;
	ok(wrote && (char *)syscall(SYS_brk, b0) == b0, "brk grows (and the memory works) and shrinks");
	ok(madvise(a, 4 * pg, MADV_DONTNEED) == 0 && munmap(a, 64 * pg) == 0, "madvise, munmap all");
	return done();
}
