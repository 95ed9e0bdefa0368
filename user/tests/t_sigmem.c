/* t_sigmem - a SIGSEGV handler on a resident alternate stack runs when
 * memory is exhausted: delivering a signal must need no memory.
 *
 * The program maps and touches memory, 2 MiB at a time, until it can have
 * no more, with RLIMIT_AS at 1 GiB so that a host with much memory stops
 * it at mmap's ENOMEM (it then faults on a PROT_NONE page mapped
 * beforehand); on a machine with less memory than that (weft boots with
 * 256-512 MiB) touching a page fails first, and that fault is the SIGSEGV.
 * Either way the handler must run, on the alternate stack, while nothing
 * is left; it jumps back out. Then, memory still exhausted, a SIGUSR1
 * handler must run and return (rt_sigreturn needs no memory either), and
 * everything is unmapped again.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include "tap.h"

#define CHUNK (2UL << 20)
#define LIMIT (1UL << 30)
#define MAX_CHUNKS (LIMIT / CHUNK)

static char altstack[64 * 1024] __attribute__((aligned(16)));
static sigjmp_buf jb;
static volatile int got_sig, got_code;
static volatile uintptr_t got_addr, handler_sp;
static volatile int mmap_errno;
static volatile uintptr_t touching;   /* written between sigsetjmp and the jump */
static void *chunks[MAX_CHUNKS];
static size_t nchunks;

static volatile int usr1_ran;
static void on_usr1(int sig) { usr1_ran = sig; }

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	char here;
	got_sig = sig;
	got_code = si->si_code;
	got_addr = (uintptr_t)si->si_addr;
	handler_sp = (uintptr_t)&here;
	siglongjmp(jb, 1);
}

int main(void)
{
	plan(4);
	memset(altstack, 1, sizeof altstack);   /* resident before memory runs out */
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
	struct rlimit rl = { LIMIT, LIMIT };
	void *guard = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sigaltstack(&ss, NULL) < 0 || setrlimit(RLIMIT_AS, &rl) < 0 || guard == MAP_FAILED) {
		diag("setup failed: errno %d", errno);
		return 1;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigaction(SIGSEGV, &sa, NULL);

	if (sigsetjmp(jb, 1) == 0) {
		while (nchunks < MAX_CHUNKS) {
			char *p = mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED) {
				mmap_errno = errno;
				break;
			}
			chunks[nchunks++] = p;
			for (size_t off = 0; off < CHUNK; off += 4096) {
				touching = (uintptr_t)p + off;
				((volatile char *)p)[off] = 1;
			}
		}
		touching = 0;
		*(volatile char *)guard = 1;   /* memory is out at mmap: fault here */
	}
	size_t mapped = nchunks;
	/* Still out of memory: a handler that returns (rt_sigreturn) must
	 * bring the program back too. */
	sa.sa_handler = on_usr1;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	int returned = usr1_ran == SIGUSR1;
	/* Where the fault was: the page being touched (out of memory on the
	 * touch) or the guard (out of memory at mmap). */
	int exhausted = (mmap_errno == ENOMEM && got_addr == (uintptr_t)guard) ||
			(touching && got_addr == touching);
	for (size_t i = 0; i < nchunks; i++)
		munmap(chunks[i], CHUNK);
	nchunks = 0;

	ok(got_sig == SIGSEGV, "the SIGSEGV handler ran (signal %d, code %d)", got_sig, got_code);
	ok(handler_sp >= (uintptr_t)altstack && handler_sp < (uintptr_t)altstack + sizeof altstack,
	   "on the alternate stack (sp %#lx)", (unsigned long)handler_sp);
	ok(exhausted, "while memory was exhausted (%zu MiB mapped; mmap errno %d; fault at %#lx, "
	   "touching %#lx, guard %p)", mapped * (CHUNK >> 20), mmap_errno, (unsigned long)got_addr,
	   (unsigned long)touching, guard);
	ok(returned, "a SIGUSR1 handler returned through rt_sigreturn with memory exhausted");
	return done();
}
