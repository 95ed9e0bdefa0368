/* t_signals - signal delivery as Linux does it: handlers with and without
 * SA_SIGINFO and the siginfo they see; masks, pending sets and the order
 * of delivery on unblock (lowest first, real-time signals queued);
 * SA_RESETHAND, SA_NODEFER, SIG_IGN; sigaltstack with SA_ONSTACK; a
 * handler editing the ucontext (RIP, RAX, the signal mask) and sigreturn
 * honouring it; every general register surviving a handler that wrecks
 * them; EINTR and SA_RESTART for nanosleep, futex and sem_wait;
 * sigtimedwait; thread- and process-directed signals. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "tap.h"

/* from <linux/futex.h>, which musl does not ship */
#define FUTEX_WAIT_PRIVATE 128
#define FUTEX_WAKE_PRIVATE 129

#define RT1 (SIGRTMIN + 1)
#define RT2 (SIGRTMIN + 2)

static volatile int hits, last_sig, depth, max_depth, order[8], norder;
static siginfo_t last_info;
static sigset_t mask_in_handler;
static volatile uintptr_t handler_sp;
static volatile int handler_ss_flags, handler_ss_eperm;
static volatile pid_t handler_tid;

static pid_t gettid_raw(void) { return (pid_t)syscall(SYS_gettid); }

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

static void install(int sig, void (*h)(int), int flags)
{
	struct sigaction sa = { .sa_handler = h, .sa_flags = flags };
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void install_info(int sig, void (*h)(int, siginfo_t *, void *), int flags, int block_all)
{
	struct sigaction sa = { .sa_sigaction = h, .sa_flags = SA_SIGINFO | flags };
	(block_all ? sigfillset : sigemptyset)(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static void h_count(int sig) { hits++; last_sig = sig; }

static void h_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	hits++, last_sig = sig, last_info = *si;
	sigprocmask(SIG_BLOCK, NULL, &mask_in_handler);
}

static void h_order(int sig, siginfo_t *si, void *uc)
{
	(void)si, (void)uc;
	if (norder < 8)
		order[norder++] = sig;
}

static void h_nest(int sig)
{
	hits++;
	if (++depth > max_depth)
		max_depth = depth;
	if (hits == 1)
		raise(sig);   /* nests at once with SA_NODEFER, else waits for our return */
	depth--;
}

static void h_alt(int sig)
{
	static char spare[65536];
	char here;
	stack_t cur, other = { .ss_sp = spare, .ss_size = sizeof spare };
	(void)sig;
	handler_sp = (uintptr_t)&here;
	sigaltstack(NULL, &cur);
	handler_ss_flags = cur.ss_flags;
	handler_ss_eperm = sigaltstack(&other, NULL) == -1 && errno == EPERM;
}

/* SIGILL from ud2: report where, then resume 2 bytes later with RAX set. */
static volatile uintptr_t ill_addr;
static volatile int ill_code;
static void h_ill(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	(void)sig;
	ill_addr = (uintptr_t)si->si_addr, ill_code = si->si_code;
	uc->uc_mcontext.gregs[REG_RIP] += 2;
	uc->uc_mcontext.gregs[REG_RAX] = 4242;
}

/* Signal arriving as a system call returns: rewrite the return value and
 * the mask sigreturn will install. */
static volatile uintptr_t ctx_rip;
static volatile int ctx_mask_had_sig;
static void h_ctx(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	(void)si;
	ctx_rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	ctx_mask_had_sig = sigismember(&uc->uc_sigmask, sig);
	uc->uc_mcontext.gregs[REG_RAX] = 0x5eed;
	sigaddset(&uc->uc_sigmask, SIGWINCH);
}

static void h_tid(int sig) { (void)sig; handler_tid = gettid_raw(); hits++; }

/* A handler in assembly that sets every general register except RSP to
 * junk and returns without restoring anything: only the kernel's
 * sigreturn can give the interrupted code its registers back. */
volatile int regs_flag, regs_hits, regs_spinning;
void clobbering_handler(int);
__asm__(".text\n.globl clobbering_handler\n.type clobbering_handler,@function\n"
	"clobbering_handler:\n"
	"movl $1, regs_flag(%rip)\n lock incl regs_hits(%rip)\n"
	"movabs $0xbadbadbadbadbad0, %rax\n mov %rax, %rbx\n mov %rax, %rcx\n mov %rax, %rdx\n"
	"mov %rax, %rsi\n mov %rax, %rdi\n mov %rax, %rbp\n mov %rax, %r8\n mov %rax, %r9\n"
	"mov %rax, %r10\n mov %rax, %r11\n mov %rax, %r12\n mov %rax, %r13\n mov %rax, %r14\n"
	"mov %rax, %r15\n ret\n.size clobbering_handler, .-clobbering_handler\n");

/* --- helper threads ---------------------------------------------------- */
struct sender {
	pthread_t target;
	int sig, every_ms, max;
	volatile int stop, sent;
	volatile int *wait_for;     /* start only once this is nonzero */
	void (*then)(void);         /* run after the last signal, if any */
	int to_process;             /* kill(getpid()) instead of pthread_kill(target) */
};

static void *sender_fn(void *arg)
{
	struct sender *s = arg;
	while (s->wait_for && !*s->wait_for && !s->stop)
		sleep_ms(1);
	while (!s->stop && s->sent < s->max) {
		sleep_ms(s->every_ms);
		if (s->stop)
			break;
		if (s->to_process)
			kill(getpid(), s->sig);
		else
			pthread_kill(s->target, s->sig);
		s->sent++;
	}
	if (s->then)
		s->then();
	return NULL;
}

static pthread_t start_sender(struct sender *s)
{
	pthread_t t;
	pthread_create(&t, NULL, sender_fn, s);
	return t;
}

static int futex_word;
static sem_t sem;
static void wake_futex(void)
{
	__atomic_store_n(&futex_word, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
static void post_sem(void) { sem_post(&sem); }

static volatile int target_ready;
static volatile pid_t target_tid;
static void *target_fn(void *arg)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
	target_tid = gettid_raw();
	target_ready = 1;
	for (int i = 0; i < 5000 && !handler_tid; i++)
		sleep_ms(1);
	(void)arg;
	return NULL;
}

/* Keep 13 general registers live in a spin loop until the clobbering
 * handler (sent from another thread) has run; returns 1 if all came back. */
__attribute__((noinline)) static int registers_survive(void)
{
	register uint64_t r8 __asm__("r8") = 0x0808080808080808, r9 __asm__("r9") = 0x0909090909090909;
	register uint64_t r10 __asm__("r10") = 0x1010101010101010, r11 __asm__("r11") = 0x1111111111111111;
	register uint64_t r12 __asm__("r12") = 0x1212121212121212, r13 __asm__("r13") = 0x1313131313131313;
	register uint64_t r14 __asm__("r14") = 0x1414141414141414, r15 __asm__("r15") = 0x1515151515151515;
	uint64_t a = 0xaaaaaaaaaaaaaaa1, b = 0xbbbbbbbbbbbbbbb2, c = 0xccccccccccccccc3;
	uint64_t d = 0xddddddddddddddd4, si = 0x5151515151515151, di = 0xd1d1d1d1d1d1d1d1;
	__asm__ volatile("movl $1, %[spinning]\n 1: pause\n cmpl $0, %[flag]\n je 1b\n"
			 : "+a"(a), "+b"(b), "+c"(c), "+d"(d), "+S"(si), "+D"(di), "+r"(r8), "+r"(r9),
			   "+r"(r10), "+r"(r11), "+r"(r12), "+r"(r13), "+r"(r14), "+r"(r15)
			 : [flag] "m"(regs_flag), [spinning] "m"(regs_spinning)
			 : "cc", "memory");
	return a == 0xaaaaaaaaaaaaaaa1 && b == 0xbbbbbbbbbbbbbbb2 && c == 0xccccccccccccccc3 &&
	       d == 0xddddddddddddddd4 && si == 0x5151515151515151 && di == 0xd1d1d1d1d1d1d1d1 &&
	       r8 == 0x0808080808080808 && r9 == 0x0909090909090909 && r10 == 0x1010101010101010 &&
	       r11 == 0x1111111111111111 && r12 == 0x1212121212121212 &&
	       r13 == 0x1313131313131313 && r14 == 0x1414141414141414 && r15 == 0x1515151515151515;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

int main(void)
{
	plan(45);
	pid_t pid = getpid();
	sigset_t set, old, pend, cur;

	/* 1. Handlers and siginfo. */
	install(SIGUSR1, h_count, 0);
	raise(SIGUSR1);
	ok(hits == 1 && last_sig == SIGUSR1, "a plain handler runs once with the signal number");
	install_info(SIGUSR1, h_info, 0, 0);
	raise(SIGUSR1);
	ok(hits == 2 && last_info.si_signo == SIGUSR1 && last_info.si_code == SI_TKILL &&
	   last_info.si_pid == pid, "raise(): si_signo SIGUSR1, si_code SI_TKILL (%d), si_pid ours",
	   last_info.si_code);
	kill(pid, SIGUSR1);
	ok(hits == 3 && last_info.si_code == SI_USER && last_info.si_pid == pid &&
	   last_info.si_uid == getuid(), "kill(): si_code SI_USER (%d), si_pid and si_uid ours",
	   last_info.si_code);
	{
		struct sigaction sa = { .sa_sigaction = h_info, .sa_flags = SA_SIGINFO };
		sigemptyset(&sa.sa_mask);
		sigaddset(&sa.sa_mask, SIGUSR2);
		sigaction(SIGUSR1, &sa, NULL);
	}
	raise(SIGUSR1);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	ok(sigismember(&mask_in_handler, SIGUSR1) && sigismember(&mask_in_handler, SIGUSR2) &&
	   !sigismember(&mask_in_handler, SIGWINCH), "in the handler the signal and sa_mask are blocked");
	ok(!sigismember(&cur, SIGUSR1) && !sigismember(&cur, SIGUSR2), "after it the old mask is back");

	/* 2. Blocking, pending, delivery on unblock. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	hits = 0;
	kill(pid, SIGUSR1);
	sigpending(&pend);
	ok(hits == 0 && sigismember(&pend, SIGUSR1), "a blocked signal is not delivered but pending");
	sigprocmask(SIG_SETMASK, &old, NULL);
	sigpending(&pend);
	ok(hits == 1 && !sigismember(&pend, SIGUSR1), "unblocking delivers it before sigprocmask returns");

	/* Order: lowest number first; a standard signal sent twice arrives once,
	 * a real-time signal sent twice arrives twice. */
	int sigs[] = { SIGUSR1, SIGUSR2, RT1, RT2 };
	sigemptyset(&set);
	for (int i = 0; i < 4; i++) {
		install_info(sigs[i], h_order, 0, 1);
		sigaddset(&set, sigs[i]);
	}
	sigprocmask(SIG_BLOCK, &set, &old);
	kill(pid, RT2), kill(pid, RT1), kill(pid, SIGUSR2), kill(pid, SIGUSR1);
	kill(pid, RT1), kill(pid, SIGUSR1);
	sigpending(&pend);
	ok(sigismember(&pend, SIGUSR1) && sigismember(&pend, SIGUSR2) && sigismember(&pend, RT1) &&
	   sigismember(&pend, RT2) && norder == 0, "four blocked signals pending, none delivered");
	sigprocmask(SIG_SETMASK, &old, NULL);
	int seen[4] = { 0 }, nseen = 0, in_order = 1, count[4] = { 0 };
	for (int i = 0; i < norder; i++)
		for (int k = 0; k < 4; k++)
			if (order[i] == sigs[k]) {
				count[k]++;
				if (count[k] == 1)
					seen[nseen++] = k;
			}
	for (int k = 0; k < 4; k++)
		in_order &= nseen == 4 && seen[k] == k;
	ok(in_order, "unblocked: delivered lowest number first (%d %d %d %d %d)", order[0], order[1],
	   order[2], order[3], order[4]);
	ok(count[0] == 1 && count[1] == 1 && count[2] == 2 && count[3] == 1,
	   "SIGUSR1 sent twice arrived once; SIGRTMIN+1 sent twice was queued: twice (%d, %d)",
	   count[0], count[2]);

	/* 3. SA_RESETHAND, SA_NODEFER, SIG_IGN. */
	hits = 0;
	install(SIGWINCH, h_count, SA_RESETHAND);
	raise(SIGWINCH);
	struct sigaction now;
	sigaction(SIGWINCH, NULL, &now);
	ok(hits == 1 && now.sa_handler == SIG_DFL, "SA_RESETHAND: ran once, then SIG_DFL");
	raise(SIGWINCH);   /* default action for SIGWINCH: ignore */
	ok(hits == 1, "the second SIGWINCH took the default action (ignored)");
	hits = depth = max_depth = 0;
	install(SIGUSR2, h_nest, SA_NODEFER);
	raise(SIGUSR2);
	ok(hits == 2 && max_depth == 2, "SA_NODEFER: raising inside the handler nests (depth %d)", max_depth);
	hits = depth = max_depth = 0;
	install(SIGUSR2, h_nest, 0);
	raise(SIGUSR2);
	ok(hits == 2 && max_depth == 1, "without it the second waits for the first to return (depth %d)",
	   max_depth);
	hits = 0;
	install(SIGUSR2, SIG_IGN, 0);
	raise(SIGUSR2);
	ok(hits == 0, "SIG_IGN: an ignored signal does nothing");
	install(SIGUSR2, h_count, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &old);
	raise(SIGUSR2);
	install(SIGUSR2, SIG_IGN, 0);
	sigpending(&pend);
	ok(!sigismember(&pend, SIGUSR2), "setting SIG_IGN discards a pending signal");
	sigprocmask(SIG_SETMASK, &old, NULL);
	struct sigaction ska = { .sa_handler = h_count };
	ok(sigaction(SIGKILL, &ska, NULL) == -1 && errno == EINVAL, "SIGKILL cannot be caught: EINVAL");
	sigfillset(&set);
	sigprocmask(SIG_BLOCK, &set, &old);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	sigprocmask(SIG_SETMASK, &old, NULL);
	ok(!sigismember(&cur, SIGKILL) && !sigismember(&cur, SIGSTOP) && sigismember(&cur, SIGUSR1),
	   "blocking everything leaves SIGKILL and SIGSTOP unblocked");

	/* 4. The alternate signal stack. */
	static char alt[65536];
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof alt }, tiny = { .ss_sp = alt, .ss_size = 512 };
	ok(syscall(SYS_sigaltstack, &tiny, NULL) == -1 && errno == ENOMEM,   /* (musl checks too) */
	   "sigaltstack smaller than MINSIGSTKSZ: ENOMEM");
	ok(sigaltstack(&ss, NULL) == 0, "sigaltstack of 64 KiB set");
	install(SIGUSR2, h_alt, SA_ONSTACK);
	install(SIGWINCH, h_alt, 0);
	raise(SIGUSR2);
	ok(handler_sp >= (uintptr_t)alt && handler_sp < (uintptr_t)alt + sizeof alt,
	   "SA_ONSTACK handler runs on the alternate stack (%#lx)", (unsigned long)handler_sp);
	ok(handler_ss_flags == SS_ONSTACK && handler_ss_eperm,
	   "inside: sigaltstack reports SS_ONSTACK and refuses a change (EPERM)");
	raise(SIGWINCH);
	stack_t after;
	sigaltstack(NULL, &after);
	ok(!(handler_sp >= (uintptr_t)alt && handler_sp < (uintptr_t)alt + sizeof alt) &&
	   after.ss_flags == 0 && after.ss_sp == alt, "without SA_ONSTACK: the normal stack; after: not on it");
	stack_t off = { .ss_flags = SS_DISABLE };
	sigaltstack(&off, NULL);
	raise(SIGUSR2);
	sigaltstack(NULL, &after);
	ok(!(handler_sp >= (uintptr_t)alt && handler_sp < (uintptr_t)alt + sizeof alt) &&
	   after.ss_flags == SS_DISABLE, "SS_DISABLE: SA_ONSTACK handlers use the normal stack");

	/* 5. The handler edits the ucontext; sigreturn must honour it. */
	install_info(SIGILL, h_ill, 0, 0);
	uint64_t rax;
	uintptr_t ud2_at;
	__asm__ volatile("lea 1f(%%rip), %1\n mov $1, %%eax\n 1: ud2\n" : "=a"(rax), "=r"(ud2_at));
	ok(ill_addr == ud2_at && ill_code == ILL_ILLOPN, "ud2: SIGILL, si_addr is the instruction, ILL_ILLOPN");
	ok(rax == 4242, "sigreturn resumed after ud2 with the RAX the handler set (%lu)", (unsigned long)rax);
	install_info(SIGUSR2, h_ctx, 0, 0);
	uintptr_t after_syscall;
	__asm__ volatile("lea 1f(%%rip), %1\n syscall\n 1:\n"
			 : "=a"(rax), "=&r"(after_syscall)
			 : "a"((long)SYS_tgkill), "D"((long)pid), "S"((long)gettid_raw()), "d"((long)SIGUSR2)
			 : "rcx", "r11", "memory");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	ok(ctx_rip == after_syscall && !ctx_mask_had_sig,
	   "at a syscall return the ucontext has RIP after it and the old mask");
	ok(rax == 0x5eed, "the system call 'returned' the RAX the handler wrote (%#lx)", (unsigned long)rax);
	ok(sigismember(&cur, SIGWINCH), "the handler's change to uc_sigmask is the mask afterwards");
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGWINCH);
	sigprocmask(SIG_UNBLOCK, &set, NULL);

	/* 6. A signal from another thread lands while 14 registers hold values. */
	install(SIGUSR1, clobbering_handler, 0);
	struct sender s1 = { .target = pthread_self(), .sig = SIGUSR1, .every_ms = 5, .max = 1000,
			     .wait_for = &regs_spinning };
	pthread_t st = start_sender(&s1);
	int regs_ok = registers_survive();
	s1.stop = 1;
	pthread_join(st, NULL);
	ok(regs_hits >= 1 && regs_ok, "all general registers survived a handler that wrecked them");

	/* 7. EINTR and SA_RESTART. nanosleep is never restarted. */
	install(SIGUSR1, h_count, SA_RESTART);
	struct sender s2 = { .target = pthread_self(), .sig = SIGUSR1, .every_ms = 30, .max = 100 };
	st = start_sender(&s2);
	struct timespec req = { 5, 0 }, rem = { 0, 0 };
	int r = nanosleep(&req, &rem), e = errno;
	s2.stop = 1;
	pthread_join(st, NULL);
	ok(r == -1 && e == EINTR, "nanosleep interrupted even with SA_RESTART: -1/EINTR");
	ok(rem.tv_sec < 5 && (rem.tv_sec > 0 || rem.tv_nsec > 0) && rem.tv_sec >= 3,
	   "... and the remaining time is set (%ld.%09ld s)", (long)rem.tv_sec, rem.tv_nsec);

	install(SIGUSR1, h_count, 0);   /* no SA_RESTART: a futex wait ends in EINTR */
	struct sender s3 = { .target = pthread_self(), .sig = SIGUSR1, .every_ms = 20, .max = 250 };
	st = start_sender(&s3);
	r = (int)syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	e = errno;
	s3.stop = 1;
	pthread_join(st, NULL);
	ok(r == -1 && e == EINTR, "futex wait without SA_RESTART: -1/EINTR (%d/%d)", r, e);

	install(SIGUSR1, h_count, SA_RESTART);
	hits = 0;
	struct sender s4 = { .target = pthread_self(), .sig = SIGUSR1, .every_ms = 20, .max = 3,
			     .then = wake_futex };
	st = start_sender(&s4);
	r = (int)syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	e = errno;
	pthread_join(st, NULL);
	ok((r == 0 || e == EAGAIN) && hits >= 1,
	   "futex wait with SA_RESTART: restarted through %d signals until woken (%d/%d)", hits, r,
	   r ? e : 0);

	sem_init(&sem, 0, 0);
	hits = 0;
	struct sender s5 = { .target = pthread_self(), .sig = SIGUSR1, .every_ms = 20, .max = 3,
			     .then = post_sem };
	st = start_sender(&s5);
	r = sem_wait(&sem);
	pthread_join(st, NULL);
	ok(r == 0 && hits >= 1, "sem_wait with SA_RESTART: went on through %d signals, got the post", hits);

	/* 8. sigtimedwait. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, &old);
	struct timespec tmo = { 0, 30 * 1000 * 1000 }, t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = sigtimedwait(&set, NULL, &tmo);
	e = errno;
	long ms = ms_since(&t0);
	ok(r == -1 && e == EAGAIN && ms >= 29, "sigtimedwait with nothing pending: EAGAIN after %ld ms", ms);
	hits = 0;
	kill(pid, SIGUSR1);
	siginfo_t si;
	r = sigtimedwait(&set, &si, &tmo);
	ok(r == SIGUSR1 && si.si_signo == SIGUSR1 && si.si_code == SI_USER && hits == 0,
	   "sigtimedwait takes a pending blocked signal; no handler runs");
	struct sender s6 = { .target = pthread_self(), .sig = SIGUSR1, .every_ms = 20, .max = 1 };
	st = start_sender(&s6);
	struct timespec long_tmo = { 5, 0 };
	r = sigtimedwait(&set, &si, &long_tmo);
	pthread_join(st, NULL);
	ok(r == SIGUSR1 && si.si_code == SI_TKILL, "sigtimedwait wakes for a signal another thread sends");
	sigpending(&pend);
	ok(!sigismember(&pend, SIGUSR1), "and that signal is no longer pending");
	/* The classic pattern: every thread blocks the signal (the sender
	 * inherits our mask) and one waits for it in sigwait; a signal for
	 * the whole process must reach that waiter. */
	struct sender s7 = { .sig = SIGUSR1, .every_ms = 20, .max = 1, .to_process = 1 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = start_sender(&s7);
	r = sigtimedwait(&set, &si, &long_tmo);
	ms = ms_since(&t0);
	pthread_join(st, NULL);
	ok(r == SIGUSR1 && si.si_code == SI_USER && ms < 2500,
	   "sigtimedwait wakes for a process-directed signal every thread blocks "
	   "(got %d after %ld ms of a 5 s timeout)", r, ms);
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* 9. Thread-directed and process-directed signals. */
	install(SIGUSR2, h_tid, 0);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, &old);   /* the main thread refuses SIGUSR2 */
	pthread_t tt;
	handler_tid = 0;
	target_ready = 0;
	pthread_create(&tt, NULL, target_fn, NULL);
	while (!target_ready)
		sched_yield();
	kill(pid, SIGUSR2);
	pthread_join(tt, NULL);
	sigpending(&pend);
	ok(handler_tid == target_tid && !sigismember(&pend, SIGUSR2),
	   "kill(getpid()) went to the one thread not blocking it");
	sigprocmask(SIG_SETMASK, &old, NULL);
	handler_tid = 0;
	target_ready = 0;
	pthread_create(&tt, NULL, target_fn, NULL);
	while (!target_ready)
		sched_yield();
	r = (int)syscall(SYS_tgkill, pid, target_tid, SIGUSR2);
	pthread_join(tt, NULL);
	ok(r == 0 && handler_tid == target_tid && handler_tid != pid,
	   "tgkill runs the handler in the chosen thread (%d)", (int)handler_tid);
	ok(syscall(SYS_tgkill, pid, target_tid, 0) == -1 && errno == ESRCH,
	   "tgkill to a thread that has exited: ESRCH");
	ok(syscall(SYS_tgkill, pid, gettid_raw(), 0) == 0 && kill(pid, 0) == 0,
	   "signal 0 checks a live thread and process");
	ok(kill(pid, 65) == -1 && errno == EINVAL, "kill with signal 65: EINVAL");
	return done();
}
