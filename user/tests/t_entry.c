/* t_entry - what a program can put in the registers the kernel's entry
 * and exit use, and what Linux does with it:
 *   - the system-call number: Linux takes RAX's low 32 bits (0x100000027
 *     is getpid); -1, numbers past the table and the x32 bit (0x40000000,
 *     x32 not enabled) are ENOSYS;
 *   - RFLAGS: AC, DF and NT a program sets survive a system call;
 *   - RIP: a signal handler at a non-canonical address, or a sigreturn
 *     frame whose RIP is non-canonical, is SIGSEGV with si_code SI_KERNEL,
 *     address 0, the bad RIP in the context (a real CPU's IRETQ would #GP
 *     in ring 0); a canonical kernel-half RIP faults in ring 3
 *     (SEGV_MAPERR at that address);
 *   - rt_sigreturn with a NULL fpstate: the FPU state is reset, not the
 *     process killed; flags in its frame beyond what ring 3 may set itself
 *     (IOPL, NT, VM) are ignored, AC is taken;
 *   - the last page below 2^47 cannot be mapped (a SYSCALL there would
 *     return to a non-canonical RIP): ENOMEM.
 *
 * `t_entry acspin` (used by the kernel test user.entry_clears_ac) spins in
 * ring 3 with AC set until SIGUSR1 or 2 s, then checks AC is still set.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "tap.h"

#define RFLAGS_DF (1UL << 10)
#define RFLAGS_NT (1UL << 14)
#define RFLAGS_AC (1UL << 18)
#define NONCANONICAL 0x0000800000000000UL
#define KERNEL_HALF  0xffff800000000000UL

static long raw_syscall0(long nr)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr) : "rcx", "r11", "memory");
	return r;
}

static uint64_t rflags(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	return f;
}

static void syscall_numbers(void)
{
	long pid = getpid();
	ok(raw_syscall0(0x100000000L | SYS_getpid) == pid, "RAX 0x1_0000_0027: getpid (low 32 bits)");
	ok(raw_syscall0((long)(0xffffffff00000000UL | SYS_getpid)) == pid,
	   "RAX 0xffffffff_00000027: getpid");
	ok(raw_syscall0(-1) == -ENOSYS, "RAX -1: ENOSYS");
	ok(raw_syscall0(0x40000000L | SYS_getpid) == -ENOSYS, "x32 bit + getpid: ENOSYS");
	ok(raw_syscall0(512) == -ENOSYS && raw_syscall0(0x1000) == -ENOSYS &&
	   raw_syscall0(0x80000000L | SYS_getpid) == -ENOSYS, "numbers past the table: ENOSYS");
}

/* Set AC, DF and NT, make a system call, read the flags back, clear them
 * (nothing else runs in between: C code must see DF clear). */
static void flags_survive(void)
{
	uint64_t before, after;
	long r;
	__asm__ volatile("pushfq; orq %[set], (%%rsp); popfq\n\t"
			 "pushfq; popq %[before]\n\t"
			 "movl %[nr], %%eax; syscall\n\t"
			 "pushfq; popq %[after]\n\t"
			 "pushfq; andq %[clear], (%%rsp); popfq"
			 : [before] "=&r"(before), [after] "=&r"(after), "=&a"(r)
			 : [set] "r"(RFLAGS_AC | RFLAGS_DF | RFLAGS_NT),
			   [clear] "r"(~(RFLAGS_AC | RFLAGS_DF | RFLAGS_NT)),
			   [nr] "i"(SYS_getppid)
			 : "rcx", "r11", "memory", "cc");
	const uint64_t set = RFLAGS_AC | RFLAGS_DF | RFLAGS_NT;
	ok((before & set) == set && r >= 0 && (after & set) == set,
	   "AC, DF and NT survive a system call (before %#lx, after %#lx)", (unsigned long)before,
	   (unsigned long)after);
}

static sigjmp_buf jb;
static volatile int segv_code, segv_signo;
static volatile uint64_t segv_addr, segv_rip;

static void on_segv(int sig, siginfo_t *si, void *v)
{
	ucontext_t *uc = v;
	segv_signo = sig;
	segv_code = si->si_code;
	segv_addr = (uint64_t)si->si_addr;
	segv_rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	siglongjmp(jb, 1);
}

static void set_handler(int sig, void *fn, int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = (void (*)(int, siginfo_t *, void *))fn;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
}

/* Raise SIGUSR1 (whose handler the caller set) and report the SIGSEGV
 * that should follow. */
static int raise_expect_segv(void)
{
	segv_signo = 0;
	if (sigsetjmp(jb, 1) == 0) {
		raise(SIGUSR1);
		return 0;   /* came back: no SIGSEGV */
	}
	return segv_signo == SIGSEGV;
}

static void edit_rip(int sig, siginfo_t *si, void *v)
{
	(void)sig;
	(void)si;
	((ucontext_t *)v)->uc_mcontext.gregs[REG_RIP] = (greg_t)NONCANONICAL;
}

static void bad_rips(void)
{
	set_handler(SIGSEGV, on_segv, SA_SIGINFO | SA_NODEFER);

	set_handler(SIGUSR1, (void *)NONCANONICAL, 0);
	int got = raise_expect_segv();
	ok(got && segv_code == SI_KERNEL && segv_addr == 0 && segv_rip == NONCANONICAL,
	   "handler at %#lx: SIGSEGV SI_KERNEL (got %d, code %#x, addr %#lx, rip %#lx)",
	   NONCANONICAL, got, segv_code, (unsigned long)segv_addr, (unsigned long)segv_rip);

	set_handler(SIGUSR1, edit_rip, SA_SIGINFO);
	got = raise_expect_segv();
	ok(got && segv_code == SI_KERNEL && segv_addr == 0 && segv_rip == NONCANONICAL,
	   "sigreturn to RIP %#lx: SIGSEGV SI_KERNEL (got %d, code %#x, addr %#lx, rip %#lx)",
	   NONCANONICAL, got, segv_code, (unsigned long)segv_addr, (unsigned long)segv_rip);

	set_handler(SIGUSR1, (void *)KERNEL_HALF, 0);
	got = raise_expect_segv();
	ok(got && segv_code == SEGV_MAPERR && segv_addr == KERNEL_HALF && segv_rip == KERNEL_HALF,
	   "handler at %#lx: SIGSEGV SEGV_MAPERR there (got %d, code %#x, addr %#lx)", KERNEL_HALF,
	   got, segv_code, (unsigned long)segv_addr);

	set_handler(SIGUSR1, SIG_DFL, 0);
	set_handler(SIGSEGV, SIG_DFL, 0);
}

/* A handler asks for IOPL 3, NT, VM and AC in the flags it returns to:
 * sigreturn takes only what ring 3 may set itself (AC), as Linux does. */
static void wild_flags(int sig, siginfo_t *si, void *v)
{
	(void)sig;
	(void)si;
	((ucontext_t *)v)->uc_mcontext.gregs[REG_EFL] |= 0x3000 | RFLAGS_NT | 0x20000 | RFLAGS_AC;
}

static void sigreturn_flags(void)
{
	set_handler(SIGUSR1, wild_flags, SA_SIGINFO);
	uint64_t f;
	/* raise() returns through sigreturn into libc: read the flags at once,
	 * then clear AC before any other C code runs. */
	raise(SIGUSR1);
	__asm__ volatile("pushfq; popq %0; pushfq; andq %1, (%%rsp); popfq"
			 : "=&r"(f) : "r"(~RFLAGS_AC) : "cc");
	ok(!(f & (0x3000 | RFLAGS_NT | 0x20000)) && (f & RFLAGS_AC),
	   "sigreturn: no IOPL, NT or VM from the frame, AC kept (%#lx)", (unsigned long)f);
	set_handler(SIGUSR1, SIG_DFL, 0);
}

static void null_fpstate(int sig, siginfo_t *si, void *v)
{
	(void)sig;
	(void)si;
	((ucontext_t *)v)->uc_mcontext.fpregs = NULL;
}

static void fpstate_reset(void)
{
	set_handler(SIGUSR1, null_fpstate, SA_SIGINFO);
	uint32_t mxcsr = 0x7f80;        /* all exceptions masked, round toward zero */
	uint16_t cw = 0x0c7f;           /* x87: round toward zero */
	__asm__ volatile("ldmxcsr %0" ::"m"(mxcsr));
	__asm__ volatile("fldcw %0" ::"m"(cw));
	__asm__ volatile("movq %0, %%xmm5" ::"r"(0x1234567812345678UL) : "xmm5");
	raise(SIGUSR1);
	uint64_t x5;
	__asm__ volatile("movq %%xmm5, %0" : "=r"(x5));
	__asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
	__asm__ volatile("fnstcw %0" : "=m"(cw));
	ok(mxcsr == 0x1f80 && cw == 0x37f && x5 == 0,
	   "sigreturn with fpstate NULL resets the FPU (MXCSR %#x, FCW %#x, xmm5 %#lx)", mxcsr, cw,
	   (unsigned long)x5);
	set_handler(SIGUSR1, SIG_DFL, 0);
}

static void last_page(void)
{
	void *p = mmap((void *)(NONCANONICAL - 4096), 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ok(p == MAP_FAILED && errno == ENOMEM, "the last page below 2^47 cannot be mapped (%p, %d)",
	   p, p == MAP_FAILED ? errno : 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
}

static volatile sig_atomic_t stop;
static void on_usr1(int sig) { (void)sig; stop = 1; }

static int ac_spin(void)
{
	plan(1);
	set_handler(SIGUSR1, (void *)on_usr1, 0);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	uint64_t f = 0;
	/* AC set: with CR0.AM, any misaligned access here would be #AC, so
	 * the loop touches nothing but `stop` and the stack, both aligned. */
	__asm__ volatile("pushfq; orq %0, (%%rsp); popfq" ::"r"(RFLAGS_AC) : "cc");
	for (unsigned long i = 1; !stop; i++) {
		if (i % (1UL << 20) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec >= 2)
				break;
		}
	}
	f = rflags();
	__asm__ volatile("pushfq; andq %0, (%%rsp); popfq" ::"r"(~RFLAGS_AC) : "cc");
	ok(f & RFLAGS_AC, "AC still set after spinning (interrupts restore it): %#lx",
	   (unsigned long)f);
	return done();
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "acspin"))
		return ac_spin();
	plan(12);
	syscall_numbers();
	flags_survive();
	bad_rips();
	fpstate_reset();
	sigreturn_flags();
	last_page();
	return done();
}
