/* t_smp_mm - one address space, threads on several CPUs. Each thread pins
 * itself with sched_setaffinity (main on CPU 0, its partner on CPU 1) and
 * then:
 *   - munmap: the partner reads pages in a loop while main unmaps them;
 *     the partner must get SIGSEGV (caught, siglongjmp) and never read
 *     anything but the pages' own contents; once munmap has returned, no
 *     read by any thread succeeds;
 *   - MADV_DONTNEED: once madvise has returned, the partner reads zeros,
 *     never the old contents;
 *   - mprotect(PROT_READ): a partner writing in a loop faults
 *     (SEGV_ACCERR), and the page keeps the last write that succeeded;
 *   - brk shrinking: pages above the new break fault for the partner too;
 *   - futex ping-pong: 10^4 round trips between the two CPUs through one
 *     word, in exact alternation;
 *   - a thread spinning in ring 3 on the other CPU (no system calls, and
 *     weft has no periodic tick) still gets a signal sent to it, and is
 *     stopped when main returns (exit_group);
 *   - (weft only: its I/O bitmap is per process) ioperm() revoking a port
 *     stops the partner's port reads on the other CPU at once.
 * Where each thread runs is read with RDTSCP (the kernel puts the CPU
 * number in TSC_AUX, as Linux does). If the kernel does not move threads
 * (one CPU, or no affinity support) everything still runs, on fewer CPUs,
 * and the placement point is skipped. Runs on Linux as well. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <stdlib.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

#define FUTEX_WAIT_PRIVATE 128   /* musl ships no <linux/futex.h> */
#define FUTEX_WAKE_PRIVATE 129

#define PAGE     4096UL
#define NPAGES   8
#define PATTERN  0x5a5a5a5a5a5a5a5aULL
#define ROUNDS   10000

static int ncpus;
static int have_rdtscp;

/* The CPU this thread runs on now, or -1 if RDTSCP is missing. */
static int cpu_now(void)
{
	if (!have_rdtscp)
		return -1;
	uint32_t lo, hi, aux;
	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	return (int)(aux & 0xfff);
}

/* Under weft's harness (WEFT_TEST set) with two CPUs or more, the kernel
 * must honour sched_setaffinity: a thread left on the wrong CPU fails the
 * placement points instead of skipping them (elsewhere they may skip). */
static int must_place(void)
{
	return ncpus >= 2 && have_rdtscp && getenv("WEFT_TEST") != NULL;
}

static int pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu % ncpus, &s);
	return sched_setaffinity(0, sizeof s, &s);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Faults: each thread catches its own SIGSEGV and jumps back. SA_NODEFER
 * leaves SIGSEGV unblocked in the handler, so the jump need not restore
 * the signal mask, and an access costs no system call. */
static __thread sigjmp_buf fault_env;
static __thread volatile int fault_code;
static __thread volatile uintptr_t fault_addr;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	fault_code = si->si_code;
	fault_addr = (uintptr_t)si->si_addr;
	siglongjmp(fault_env, 1);
}

/* Read or write one word; 1 if it faulted. */
static int try_read(volatile uint64_t *p, uint64_t *v)
{
	if (sigsetjmp(fault_env, 0))
		return 1;
	*v = *p;
	return 0;
}

static int try_write(volatile uint64_t *p, uint64_t v)
{
	if (sigsetjmp(fault_env, 0))
		return 1;
	*p = v;
	return 0;
}

/* ------------------------------------------------------------------------
 * The partner thread: told what to do through `job`, reports back in it.
 * ------------------------------------------------------------------------ */

enum op { OP_READ, OP_WRITE };

struct job {
	volatile uint64_t *base;
	unsigned pages;
	enum op op;
	uint64_t expect;            /* OP_READ: what every successful read must return */
	int zero_ok;                /* OP_READ: zeros too (a page that was discarded) */
	volatile int after;         /* main's call has returned */
	volatile uint64_t accesses; /* successful ones */
	uint64_t stale;             /* successful though `after` was set before */
	uint64_t wrong;             /* reads that returned something else */
	uint64_t last_written;      /* OP_WRITE: last value written without a fault */
	uint64_t ok_after_fault;
	int faulted, code;
	uintptr_t addr;
	int cpu;
};

static void *partner(void *arg)
{
	struct job *j = arg;
	pin(1);
	j->cpu = cpu_now();
	uint64_t deadline = now_ms() + 20000;
	unsigned faults = 0;
	for (uint64_t i = 1; now_ms() < deadline; i++) {
		volatile uint64_t *p = j->base + (i % j->pages) * (PAGE / 8);
		int after = __atomic_load_n(&j->after, __ATOMIC_ACQUIRE);
		uint64_t v = 0;
		int f = j->op == OP_READ ? try_read(p, &v) : try_write(p, i);
		if (!f) {
			if (j->op == OP_READ && v != j->expect && !(j->zero_ok && v == 0))
				j->wrong++;
			if (j->op == OP_READ && j->zero_ok && after && v == j->expect)
				j->stale++;   /* discarded: the old contents must not come back */
			if (!j->zero_ok && after)
				j->stale++;
			if (j->op == OP_WRITE)
				j->last_written = i;
			j->ok_after_fault += j->faulted;
			__atomic_add_fetch(&j->accesses, 1, __ATOMIC_RELEASE);
			if (j->zero_ok && after && ++faults > 4 * j->pages)
				break;        /* has read the new zeros for a while */
		} else {
			if (!j->faulted) {
				j->code = fault_code;
				j->addr = fault_addr;
			}
			j->faulted = 1;
			if (++faults > 4 * j->pages)
				break;        /* every page faults, four times over */
		}
	}
	return NULL;
}

/* Wait for the partner to get going (yielding: it may share our CPU). */
static int wait_accesses(struct job *j, uint64_t n)
{
	uint64_t deadline = now_ms() + 10000;
	while (__atomic_load_n(&j->accesses, __ATOMIC_ACQUIRE) < n) {
		if (now_ms() > deadline)
			return 0;
		sched_yield();
	}
	return 1;
}

static void *map_pattern(void)
{
	uint64_t *a = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		return NULL;
	for (size_t i = 0; i < NPAGES * PAGE / 8; i++)
		a[i] = PATTERN;
	return a;
}

/* Give the partner its job on `base` (NULL: the mapping failed) and start
 * it; 1 if it runs. */
static int start_partner(struct job *j, pthread_t *th, volatile uint64_t *base, unsigned pages,
			 enum op op, int zero_ok)
{
	memset(j, 0, sizeof *j);
	j->base = base;
	j->pages = pages;
	j->op = op;
	j->expect = PATTERN;
	j->zero_ok = zero_ok;
	return base && pthread_create(th, NULL, partner, j) == 0;
}

static int in_range(uintptr_t a, const volatile void *base, size_t len)
{
	return a >= (uintptr_t)base && a < (uintptr_t)base + len;
}

/* ------------------------------------------------------------------------ */

static int placed;   /* the partner ran on another CPU than main */

static void test_munmap(void)
{
	static struct job j;
	pthread_t th;
	if (!start_partner(&j, &th, map_pattern(), NPAGES, OP_READ, 0)) {
		ok(0, "munmap: set up");
		return;
	}
	int going = wait_accesses(&j, 4 * NPAGES);
	int r = munmap((void *)j.base, NPAGES * PAGE);
	__atomic_store_n(&j.after, 1, __ATOMIC_RELEASE);
	uint64_t v;
	int main_faults = try_read(j.base + 3 * PAGE / 8, &v);
	int main_code = fault_code;
	pthread_join(th, NULL);
	int me = cpu_now();
	placed = j.cpu >= 0 && me >= 0 && j.cpu != me;
	diag("munmap: partner on CPU %d, main on CPU %d; %lu reads before the fault", j.cpu, me,
	     (unsigned long)j.accesses);
	ok(going && r == 0, "munmap of %d pages while the partner reads them", NPAGES);
	ok(j.faulted && j.code == SEGV_MAPERR && in_range(j.addr, j.base, NPAGES * PAGE),
	   "the partner got SIGSEGV (code %d, address %#lx)", j.code, (unsigned long)j.addr);
	ok(j.stale == 0 && j.ok_after_fault == 0,
	   "no read succeeded after munmap returned (%lu did; %lu after a fault)",
	   (unsigned long)j.stale, (unsigned long)j.ok_after_fault);
	ok(j.wrong == 0, "every read that succeeded saw the page's own contents (%lu did not)",
	   (unsigned long)j.wrong);
	ok(main_faults && main_code == SEGV_MAPERR, "main's read after munmap faults too");
}

static void test_dontneed(void)
{
	static struct job j;
	pthread_t th;
	if (!start_partner(&j, &th, map_pattern(), NPAGES, OP_READ, 1)) {
		ok(0, "madvise: set up");
		return;
	}
	int going = wait_accesses(&j, 4 * NPAGES);
	int r = madvise((void *)j.base, NPAGES * PAGE, MADV_DONTNEED);
	__atomic_store_n(&j.after, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	ok(going && r == 0 && !j.faulted, "MADV_DONTNEED while the partner reads: no fault");
	ok(j.stale == 0 && j.wrong == 0,
	   "after madvise returned the partner read zeros only (%lu old, %lu other values)",
	   (unsigned long)j.stale, (unsigned long)j.wrong);
	munmap((void *)j.base, NPAGES * PAGE);
}

static void test_mprotect(void)
{
	static struct job j;
	pthread_t th;
	if (!start_partner(&j, &th, map_pattern(), 1, OP_WRITE, 0)) {
		ok(0, "mprotect: set up");
		return;
	}
	int going = wait_accesses(&j, 1000);
	int r = mprotect((void *)j.base, NPAGES * PAGE, PROT_READ);
	__atomic_store_n(&j.after, 1, __ATOMIC_RELEASE);
	uint64_t first = *j.base;
	pthread_join(th, NULL);
	ok(going && r == 0, "mprotect(PROT_READ) while the partner writes");
	ok(j.faulted && j.code == SEGV_ACCERR && j.addr == (uintptr_t)j.base,
	   "the partner's write got SIGSEGV, SEGV_ACCERR (code %d, address %#lx)", j.code,
	   (unsigned long)j.addr);
	ok(j.stale == 0 && j.ok_after_fault == 0,
	   "no write succeeded after mprotect returned (%lu did)", (unsigned long)j.stale);
	ok(*j.base == first && first == j.last_written,
	   "the page holds the partner's last successful write (%lu, last %lu)",
	   (unsigned long)*j.base, (unsigned long)j.last_written);
	munmap((void *)j.base, NPAGES * PAGE);
}

static void test_brk(void)
{
	uintptr_t cur = (uintptr_t)syscall(SYS_brk, 0);
	uintptr_t base = (cur + PAGE - 1) & ~(PAGE - 1);
	uintptr_t top = (uintptr_t)syscall(SYS_brk, base + NPAGES * PAGE);
	if (top != base + NPAGES * PAGE) {
		ok(0, "brk: grow the heap by %d pages", NPAGES);
		return;
	}
	volatile uint64_t *heap = (volatile uint64_t *)base;
	for (size_t i = 0; i < NPAGES * PAGE / 8; i++)
		heap[i] = PATTERN;
	static struct job j;
	pthread_t th;
	if (!start_partner(&j, &th, heap, NPAGES, OP_READ, 0)) {
		ok(0, "brk: set up");
		return;
	}
	int going = wait_accesses(&j, 4 * NPAGES);
	uintptr_t back = (uintptr_t)syscall(SYS_brk, cur);
	__atomic_store_n(&j.after, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	ok(going && back == cur && j.faulted && j.stale == 0 && j.wrong == 0,
	   "brk shrinking while the partner reads above it: SIGSEGV, nothing stale (%lu)",
	   (unsigned long)j.stale);
}

/* ------------------------------------------------------------------------
 * Futex ping-pong: the word counts turns; thread k (0 or 1) moves it from
 * 2r+k to 2r+k+1 and wakes the other.
 * ------------------------------------------------------------------------ */

static volatile int word;
static volatile int pp_abort;

struct pp {
	int k;
	int errors;           /* turns that found an unexpected value */
	int timeouts;
	int moved;            /* rounds run on another CPU than the first one */
	int cpu;
};

static long futex(volatile int *w, int op, int val, const struct timespec *ts)
{
	return syscall(SYS_futex, w, op, val, ts, NULL, 0);
}

static void *pingpong(void *arg)
{
	struct pp *p = arg;
	pin(p->k);
	p->cpu = cpu_now();
	struct timespec ts = { 30, 0 };
	for (int r = 0; r < ROUNDS && !pp_abort; r++) {
		int want = 2 * r + p->k, v;
		while ((v = __atomic_load_n(&word, __ATOMIC_ACQUIRE)) != want && !pp_abort) {
			if (v > want) {
				p->errors++;   /* our turn was skipped */
				pp_abort = 1;
				break;
			}
			if (futex(&word, FUTEX_WAIT_PRIVATE, v, &ts) < 0 && errno == ETIMEDOUT) {
				p->timeouts++;   /* a lost wakeup */
				pp_abort = 1;
			}
		}
		if (pp_abort)
			break;
		if (cpu_now() != p->cpu)
			p->moved++;
		__atomic_store_n(&word, want + 1, __ATOMIC_RELEASE);
		futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL);
	}
	if (pp_abort)
		futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL);
	return NULL;
}

static void test_pingpong(void)
{
	static struct pp p[2];
	pthread_t th[2];
	word = 0;
	uint64_t t0 = now_ms();
	for (int k = 0; k < 2; k++) {
		memset(&p[k], 0, sizeof p[k]);
		p[k].k = k;
		if (pthread_create(&th[k], NULL, pingpong, &p[k])) {
			ok(0, "ping-pong: set up");
			return;
		}
	}
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	diag("ping-pong: CPUs %d and %d, %d round trips in %lu ms", p[0].cpu, p[1].cpu, ROUNDS,
	     (unsigned long)(now_ms() - t0));
	ok(!pp_abort && word == 2 * ROUNDS && p[0].errors + p[1].errors == 0,
	   "futex ping-pong: %d round trips in exact alternation (word %d, %d out of turn, "
	   "%d lost wakeups)", ROUNDS, word, p[0].errors + p[1].errors,
	   p[0].timeouts + p[1].timeouts);
	if (p[0].cpu >= 0 && p[0].cpu != p[1].cpu)
		ok(p[0].moved + p[1].moved == 0, "both stayed on their CPUs (%d and %d) throughout",
		   p[0].cpu, p[1].cpu);
	else if (must_place())
		ok(0, "the ping-pong threads ran on different CPUs (both on %d)", p[0].cpu);
	else
		skip("the two threads did not run on different CPUs");
}

/* ------------------------------------------------------------------------
 * A thread spinning in ring 3 on another CPU makes no system calls and
 * takes no interrupts of its own: a signal for it, or the end of the
 * process, must interrupt its CPU.
 * ------------------------------------------------------------------------ */

static uint64_t tsc_hz;
static volatile int sig_got, spin_ready;

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void measure_tsc(void)
{
	uint64_t t0 = now_ms(), c0 = rdtsc();
	while (now_ms() < t0 + 50)
		;
	tsc_hz = (rdtsc() - c0) * 1000 / (now_ms() - t0);
}

static void on_usr1(int sig) { (void)sig; sig_got = 1; }

/* Spin without a system call until a signal handler has run or `seconds`
 * have passed. */
static void *spinner(void *arg)
{
	int seconds = (int)(intptr_t)arg;
	pin(1);
	spin_ready = 1;
	uint64_t c0 = rdtsc();
	while (!sig_got && rdtsc() - c0 < (uint64_t)seconds * tsc_hz)
		__asm__ volatile("pause");
	if (seconds > 20)   /* the exit test: the process should be gone by now */
		ok(0, "exit_group did not stop a thread spinning on another CPU in %d s", seconds);
	return NULL;
}

static void test_signal_spinner(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sig_got = spin_ready = 0;
	pthread_t th;
	if (pthread_create(&th, NULL, spinner, (void *)(intptr_t)10)) {
		ok(0, "signal: set up");
		return;
	}
	while (!spin_ready)
		sched_yield();
	uint64_t t0 = now_ms();
	pthread_kill(th, SIGUSR1);
	pthread_join(th, NULL);
	ok(sig_got, "a signal reaches a thread spinning in ring 3 on the other CPU (%lu ms)",
	   (unsigned long)(now_ms() - t0));
}

/* ------------------------------------------------------------------------
 * ioperm: on weft the I/O bitmap is the process's (Linux keeps one per
 * thread), and each CPU holds a copy: revoking a port must reach the copy
 * of the CPU where the partner runs before ioperm() returns.
 * ------------------------------------------------------------------------ */

static volatile int io_after, io_stop;
static volatile uint64_t io_ok;
static uint64_t io_stale;
static int io_faulted;

static void *port_reader(void *arg)
{
	(void)arg;
	pin(1);
	uint64_t deadline = now_ms() + 20000;
	while (!io_stop && now_ms() < deadline) {
		int after = __atomic_load_n(&io_after, __ATOMIC_ACQUIRE);
		if (sigsetjmp(fault_env, 0)) {
			io_faulted = 1;
			break;
		}
		uint8_t v;
		__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"((uint16_t)0x80));
		(void)v;
		io_stale += after;
		__atomic_add_fetch(&io_ok, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

static void test_ioperm(void)
{
	if (!getenv("WEFT_TEST")) {
		skip("ioperm is per thread on Linux");
		return;
	}
	pthread_t th;
	if (ioperm(0x80, 1, 1) != 0 || pthread_create(&th, NULL, port_reader, NULL)) {
		ok(0, "ioperm: set up");
		return;
	}
	uint64_t deadline = now_ms() + 10000;
	while (io_ok < 100 && !io_faulted && now_ms() < deadline)
		sched_yield();
	int r = ioperm(0x80, 1, 0);
	__atomic_store_n(&io_after, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	ok(r == 0 && io_ok >= 100 && io_faulted && io_stale == 0,
	   "ioperm revoked by main: the partner's inb faults at once (%lu reads, %lu after)",
	   (unsigned long)io_ok, (unsigned long)io_stale);
}

/* Leave a thread spinning on CPU 1 and return from main: exit_group must
 * stop it (else it prints a failing point after 30 s). */
static void start_exit_spinner(void)
{
	sig_got = spin_ready = 0;
	pthread_t th;
	if (pthread_create(&th, NULL, spinner, (void *)(intptr_t)30) == 0)
		while (!spin_ready)
			sched_yield();
}

int main(void)
{
	cpu_set_t s;
	ncpus = sched_getaffinity(0, sizeof s, &s) == 0 ? CPU_COUNT(&s) : 1;
	uint32_t a, b, c, d;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001), "c"(0));
	have_rdtscp = (d >> 27) & 1;
	plan(17);
	diag("%d CPU(s), RDTSCP %s", ncpus, have_rdtscp ? "yes" : "no");
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_NODEFER };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	pin(0);

	test_munmap();
	if (placed || must_place())
		ok(placed, "the partner thread ran on another CPU than main");
	else
		skip(ncpus < 2 ? "one CPU" : "the kernel left both threads on one CPU");
	test_dontneed();
	test_mprotect();
	test_brk();
	test_pingpong();
	measure_tsc();
	test_signal_spinner();
	test_ioperm();
	start_exit_spinner();
	return done();
}
