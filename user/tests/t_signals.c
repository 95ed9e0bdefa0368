/* t_signals - handlers with and without SA_SIGINFO, masks and pending
 * sets, SA_RESETHAND/SA_NODEFER, sigaltstack, a handler changing the
 * interrupted RIP through the ucontext, EINTR from nanosleep, and
 * sigtimedwait. */
#define _GNU_SOURCE
#include <signal.h>
#include <ucontext.h>
#include <string.h>
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include "../lib/tap.h"

static volatile int hits, last_sig, last_code, depth, max_depth;
static volatile uintptr_t handler_sp;

static void simple(int sig) { hits++; last_sig = sig; }

static void with_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits++;
	last_sig = sig;
	last_code = si->si_code;
}

static void on_alt(int sig)
{
	(void)sig;
	char c;
	handler_sp = (uintptr_t)&c;
}

static void nested(int sig)
{
	depth++;
	if (depth > max_depth)
		max_depth = depth;
	if (depth < 2)
		raise(sig);            /* with SA_NODEFER this nests */
	depth--;
}

/* SIGILL on ud2: skip the 2-byte instruction by editing the ucontext. */
static void skip_ud2(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucv;
	uc->uc_mcontext.gregs[REG_RIP] += 2;
	uc->uc_mcontext.gregs[REG_RAX] = 4242;
}

static void *sender(void *arg)
{
	struct timespec d = { 0, 50 * 1000 * 1000 };
	nanosleep(&d, NULL);
	kill(getpid(), SIGUSR2);
	(void)arg;
	return NULL;
}

int main(void)
{
	plan(12);
	signal(SIGUSR1, simple);
	raise(SIGUSR1);
	ok(hits == 1 && last_sig == SIGUSR1, "a plain handler runs");
	struct sigaction sa = { .sa_sigaction = with_info, .sa_flags = SA_SIGINFO };
	sigaction(SIGUSR1, &sa, NULL);
	kill(getpid(), SIGUSR1);
	ok(hits == 2 && last_code == SI_USER, "SA_SIGINFO handler sees si_code SI_USER for kill()");
	sigset_t set, old, pend;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	raise(SIGUSR1);
	sigpending(&pend);
	ok(hits == 2 && sigismember(&pend, SIGUSR1), "a blocked signal stays pending");
	sigprocmask(SIG_SETMASK, &old, NULL);
	ok(hits == 3, "unblocking delivers it");
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	struct sigaction now;
	sigaction(SIGUSR1, NULL, &now);
	ok(hits == 4 && now.sa_handler == SIG_DFL, "SA_RESETHAND restores the default");
	struct sigaction ns = { .sa_handler = nested, .sa_flags = SA_NODEFER };
	sigaction(SIGUSR2, &ns, NULL);
	raise(SIGUSR2);
	ok(max_depth == 2, "SA_NODEFER lets the handler nest (depth %d)", max_depth);
	static char alt[65536];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt };
	struct sigaction as = { .sa_handler = on_alt, .sa_flags = SA_ONSTACK };
	ok(sigaltstack(&ss, NULL) == 0 && sigaction(SIGWINCH, &as, NULL) == 0, "sigaltstack set");
	raise(SIGWINCH);
	ok(handler_sp > (uintptr_t)alt && handler_sp < (uintptr_t)alt + sizeof alt,
	   "SA_ONSTACK handler ran on the alternate stack");
	struct sigaction ill = { .sa_sigaction = skip_ud2, .sa_flags = SA_SIGINFO };
	sigaction(SIGILL, &ill, NULL);
	long rax;
	__asm__ volatile("mov $1, %%rax; ud2; mov %%rax, %0" : "=r"(rax) : : "rax");
	ok(rax == 4242, "sigreturn resumes at the RIP and RAX the handler set (%ld)", rax);
	signal(SIGUSR2, simple);
	pthread_t th;
	pthread_create(&th, NULL, sender, NULL);
	struct timespec req = { 5, 0 }, rem = { 0, 0 };
	int r = nanosleep(&req, &rem);
	ok(r == -1 && errno == EINTR && rem.tv_sec < 5 && (rem.tv_sec > 0 || rem.tv_nsec > 0),
	   "nanosleep interrupted: EINTR with the remaining time");
	pthread_join(th, NULL);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct timespec tmo = { 0, 20 * 1000 * 1000 };
	ok(sigtimedwait(&set, NULL, &tmo) == -1 && errno == EAGAIN, "sigtimedwait times out");
	raise(SIGUSR1);
	siginfo_t si;
	ok(sigtimedwait(&set, &si, &tmo) == SIGUSR1 && si.si_signo == SIGUSR1,
	   "sigtimedwait takes a pending blocked signal");
	return done();
}
