/* t_sigsync - a fault's signal is delivered before other pending ones, so
 * its handler sees the faulting context (Linux dequeues "synchronous"
 * signals first). One thread reads a PROT_NONE page over and over through
 * a probe instruction whose SIGSEGV handler moves RIP to a fixup; another
 * thread sends it SIGUSR1 as fast as it can. Both are bound to one CPU,
 * so the sender runs exactly when the faulter is preempted - often on its
 * way out of a fault, with the SIGSEGV queued: then a SIGUSR1 arrives
 * before the SIGSEGV is delivered. Its frame must not be built first: the
 * SIGSEGV frame would then record the SIGUSR1 handler's entry as the
 * faulting RIP. (weft did that in about 1 of 1,000 faults here; the fuzzer
 * found it.) */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "tap.h"

/* The probe: one load at a known address; a fault there returns -1. */
__asm__(".text\n"
	".globl sync_probe, sync_probe_insn, sync_probe_fixup\n"
	"sync_probe:\n"
	"sync_probe_insn:\n"
	"	movzbl (%rdi), %eax\n"
	"	ret\n"
	"sync_probe_fixup:\n"
	"	mov $-1, %eax\n"
	"	ret\n");
int sync_probe(const void *p);
extern const char sync_probe_insn[], sync_probe_fixup[];

static atomic_int stop, wrong_rip, wrong_addr, usr1;
static const char *page;
static pid_t tid_faulter;

static void on_segv(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	greg_t *rip = &((ucontext_t *)ctx)->uc_mcontext.gregs[REG_RIP];
	if (si->si_addr != page)
		atomic_fetch_add(&wrong_addr, 1);
	if (*rip == (greg_t)sync_probe_insn)
		*rip = (greg_t)sync_probe_fixup;
	else
		atomic_fetch_add(&wrong_rip, 1);   /* returning re-runs the probe: it faults again */
}

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&usr1, 1);
}

static void *sender(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		syscall(SYS_tgkill, getpid(), tid_faulter, SIGUSR1);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	plan(4);
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO };
	struct sigaction su = { .sa_handler = on_usr1 };
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGUSR1, &su, NULL);
	page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return diag("mmap failed"), 1;
	tid_faulter = (pid_t)syscall(SYS_gettid);
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(sched_getcpu() < 0 ? 0 : sched_getcpu(), &one);
	sched_setaffinity(0, sizeof one, &one);   /* the sender inherits it */
	pthread_t b;
	pthread_create(&b, NULL, sender, NULL);
	int faults = 0, n;
	double end = now_s() + 5;
	/* 20,000 probes, and on until a SIGUSR1 came; at most ~5 s. */
	for (n = 0; (n < 20000 || !atomic_load(&usr1)) && (n % 256 || now_s() < end); n++)
		faults += sync_probe(page) == -1;
	atomic_store(&stop, 1);
	pthread_join(b, NULL);
	diag("%d probes, %d SIGUSR1 handled meanwhile", n, atomic_load(&usr1));
	ok(faults == n, "every probe of the PROT_NONE page faulted and was fixed up (%d of %d)", faults, n);
	ok(atomic_load(&usr1) > 0, "SIGUSR1 arrived while the probes faulted (%d)", atomic_load(&usr1));
	ok(atomic_load(&wrong_rip) == 0, "every SIGSEGV frame held the probe's RIP (%d held another)",
	   atomic_load(&wrong_rip));
	ok(atomic_load(&wrong_addr) == 0, "every SIGSEGV named the page (%d named another address)",
	   atomic_load(&wrong_addr));
	return done();
}
