/* fuzz_ops.c - the fuzzer's operations that are more than one raw call:
 * clone (a child needs a stack and code that uses nothing else), a
 * worker's own exit, touching arena memory; and the signal handlers that
 * keep the campaign going (a no-op for every catchable signal; a fixup for
 * faults of the touch probes; a report, then death, for any other fault).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <ucontext.h>
#include <sys/syscall.h>
#include "fuzz.h"
#include "fuzz_out.h"

/* fz_raw_clone(flags, stack_top, ptid, ctid, tls, fn, arg): clone(2); the
 * child calls fn(arg) on stack_top and exits if fn returns. The parent
 * gets the new tid or -errno. */
__asm__(".text\n"
	".globl fz_raw_clone\n"
	".type fz_raw_clone,@function\n"
	"fz_raw_clone:\n"
	"	mov 8(%rsp), %rax\n"        /* arg, the 7th argument, from our stack */
	"	and $-16, %rsi\n"
	"	sub $16, %rsi\n"
	"	mov %r9, 0(%rsi)\n"         /* the child pops fn ... */
	"	mov %rax, 8(%rsi)\n"        /* ... and arg from its new stack */
	"	mov %rcx, %r10\n"           /* ctid: SYSCALL's 4th argument register */
	"	mov $56, %eax\n"            /* SYS_clone */
	"	syscall\n"
	"	test %rax, %rax\n"
	"	jnz 1f\n"                   /* the parent, or an error */
	"	xor %ebp, %ebp\n"           /* the child's outermost frame */
	"	pop %rax\n"
	"	pop %rdi\n"                 /* rsp is 16-aligned again: ABI-correct call */
	"	call *%rax\n"
	"	mov $60, %eax\n"            /* SYS_exit(0) if fn returned */
	"	xor %edi, %edi\n"
	"	syscall\n"
	"	ud2\n"
	"1:	ret\n"
	".size fz_raw_clone, .-fz_raw_clone\n"

	".globl fz_restore_rt\n"
	".type fz_restore_rt,@function\n"
	"fz_restore_rt:\n"                 /* sa_restorer: handlers return here */
	"	mov $15, %eax\n"            /* SYS_rt_sigreturn */
	"	syscall\n"
	"	ud2\n"

	/* Probes: one access each, at a known address; a fault there is
	 * turned by on_fault() into a return of -1 from fz_probe_fixup. */
	".globl fz_probe_read, fz_probe_read_insn, fz_probe_write, fz_probe_write_insn, fz_probe_fixup\n"
	"fz_probe_read:\n"
	"fz_probe_read_insn:\n"
	"	movzbl (%rdi), %eax\n"
	"	ret\n"
	"fz_probe_write:\n"
	"fz_probe_write_insn:\n"
	"	movb %sil, (%rdi)\n"
	"	xor %eax, %eax\n"
	"	ret\n"
	"fz_probe_fixup:\n"
	"	mov $-1, %eax\n"
	"	ret\n");

int fz_probe_read(uint64_t addr);
int fz_probe_write(uint64_t addr, int value);
extern const char fz_probe_read_insn[], fz_probe_write_insn[], fz_probe_fixup[];

void fz_nop_handler(int sig) { (void)sig; }

static struct fz_worker *worker_of_caller(void)
{
	int tid = (int)fz_sys(SYS_gettid, 0, 0, 0);
	for (unsigned i = 0; i < fz_env.nworkers; i++)
		if (fz_workers[i].tid == tid)
			return &fz_workers[i];
	return NULL;
}

/* SIGSEGV, SIGBUS: a probe's fault returns -1 from it. Anything else is a
 * fault of the fuzzer itself, or one the kernel caused (a call that wrote
 * where it should not, a bad return): report it, then die of it. */
static void on_fault(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	greg_t *rip = &uc->uc_mcontext.gregs[REG_RIP];
	if ((sig == SIGSEGV || sig == SIGBUS) &&
	    (*rip == (greg_t)fz_probe_read_insn || *rip == (greg_t)fz_probe_write_insn)) {
		*rip = (greg_t)fz_probe_fixup;
		return;
	}
	struct fz_worker *w = worker_of_caller();
	struct fz_out o = { .len = 0 };
	fz_out_str(&o, "fuzz: FATAL signal ");
	fz_out_dec(&o, sig);
	fz_out_str(&o, " code ");
	fz_out_dec(&o, si->si_code);
	fz_out_str(&o, " addr ");
	fz_out_hex(&o, (uint64_t)(uintptr_t)si->si_addr);
	fz_out_str(&o, " rip ");
	fz_out_hex(&o, (uint64_t)*rip);
	if (w) {
		fz_out_str(&o, " in worker ");
		fz_out_dec(&o, w->slot);
		fz_out_str(&o, " ");
		fz_out_str(&o, w->in_call ? "in call " : "after call ");
		fz_out_call(&o, w->cur, &w->cur_args);
	}
	fz_out_str(&o, "\n");
	fz_out_flush(&o);
	struct { uint64_t handler, flags, restorer, mask; } dfl = { 0, 0, 0, 0 };
	fz_syscall6(SYS_rt_sigaction, (uint64_t)sig, (uint64_t)(uintptr_t)&dfl, 0, 8, 0, 0);
	/* Returning re-runs the faulting instruction, which now kills us;
	 * a signal sent by someone (not a fault) is raised again. */
	if (si->si_code <= 0)
		fz_sys(SYS_tkill, fz_sys(SYS_gettid, 0, 0, 0), sig, 0);
}

void fz_install_handlers(void)
{
	for (int sig = 1; sig <= 64; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		bool fault = sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
			     sig == SIGTRAP || sig == SIGSYS;
		struct { uint64_t handler, flags, restorer, mask; } act = {
			fault ? (uint64_t)(uintptr_t)on_fault : (uint64_t)(uintptr_t)fz_nop_handler,
			0x04000000 | (fault ? SA_SIGINFO : 0),   /* SA_RESTORER; no SA_RESTART: pokes interrupt */
			(uint64_t)(uintptr_t)fz_restore_rt, 0,
		};
		fz_syscall6(SYS_rt_sigaction, (uint64_t)sig, (uint64_t)(uintptr_t)&act, 0, 8, 0, 0);
	}
}

/* --- clone ----------------------------------------------------------------- */

#define CLONE_THREAD_FLAGS 0x50f00UL   /* VM FS FILES SIGHAND THREAD SYSVSEM */

void fz_gen_clone(struct fz_worker *w, struct fz_args *c)
{
	struct fz_rng *r = &w->rng;
	static const uint64_t optional[] = { 0x80000 /* SETTLS */, 0x100000 /* PARENT_SETTID */,
					     0x200000 /* CHILD_CLEARTID */, 0x400000 /* DETACHED */,
					     0x1000000 /* CHILD_SETTID */ };
	/* Exit signals (used when THREAD is dropped): only sent ones, or 65 (EINVAL). */
	static const uint64_t odd_add[] = { 0x11 /* SIGCHLD */, 0x17 /* SIGURG */, 0x41, 0x4000 /* VFORK */,
					    0x20000 /* NEWNS */,
					    0x1000 /* PIDFD */, 0x2000 /* PTRACE */, 1UL << 32, 0x800000 };
	static const uint64_t odd_drop[] = { 0x10000 /* THREAD */, 0x100 /* VM */, 0x800 /* SIGHAND */,
					     0x200 /* FS */ };
	uint64_t f = CLONE_THREAD_FLAGS;
	for (unsigned i = 0; i < sizeof optional / sizeof optional[0]; i++)
		if (fz_chance(r, 30))
			f |= optional[i];
	if (fz_chance(r, 15))
		f |= FZ_PICK(r, odd_add);
	if (fz_chance(r, 10))
		f &= ~FZ_PICK(r, odd_drop);
	c->a[0] = f;
	c->a[1] = fz_below(r, FZ_CHILD_STACKS);   /* which stack; the child's mode below */
	c->a[2] = fz_chance(r, 50) ? fz_gen_ptr(w) : (uint64_t)(uintptr_t)&w->build[120];
	c->a[3] = fz_chance(r, 50) ? fz_gen_ptr(w) : (uint64_t)(uintptr_t)&w->build[121];
	c->a[4] = fz_chance(r, 50) ? fz_gen_ptr(w) : fz_gen_int(r);   /* TLS: any value */
	c->a[5] = fz_below(r, 3);                  /* 0: exit at once; 1: yield first; 2: sleep */
}

/* The child: signals all blocked (inherited), no stack beyond its frame,
 * no memory but its stack; a few calls, then gone. */
static void clone_child(void *arg)
{
	uint64_t mode = (uint64_t)(uintptr_t)arg;
	if (mode == 1)
		fz_sys(SYS_sched_yield, 0, 0, 0);
	if (mode == 2) {
		static const int64_t ts[2] = { 0, 100000 };
		fz_sys(SYS_nanosleep, (uint64_t)(uintptr_t)ts, 0, 0);
	}
	fz_sys(SYS_exit, 0, 0, 0);
}

long fz_run_clone(struct fz_worker *w, struct fz_args *c)
{
	uint64_t all = -1UL, old = 0;
	fz_syscall6(SYS_rt_sigprocmask, 2 /* SETMASK */, (uint64_t)(uintptr_t)&all,
		    (uint64_t)(uintptr_t)&old, 8, 0, 0);
	uint64_t top = (uint64_t)(uintptr_t)w->child_stacks[c->a[1]] + FZ_CHILD_STACK;
	long r = fz_raw_clone(c->a[0], top, c->a[2], c->a[3], c->a[4], clone_child,
			      (void *)(uintptr_t)c->a[5]);
	fz_syscall6(SYS_rt_sigprocmask, 2, (uint64_t)(uintptr_t)&old, 0, 8, 0, 0);
	return r;
}

/* The worker ends itself; the supervisor starts the next generation. */
long fz_run_exit(struct fz_worker *w, struct fz_args *c)
{
	(void)c;
	w->exiting = true;
	fz_sys(SYS_exit, 0, 0, 0);
	return -1;   /* not reached */
}

/* Read or write a few bytes of a range a worker may change: the page
 * faults, the copy-on-nothing of fresh anonymous pages, PROT_NONE. */
long fz_run_touch(struct fz_worker *w, struct fz_args *c)
{
	long faults = 0;
	uint64_t len = c->a[1] && c->a[1] < (1UL << 32) ? c->a[1] : FZ_PAGE;
	bool ours = c->a[0] >= FZ_ARENA_BASE && c->a[0] < FZ_ARENA_BASE + FZ_ARENA_PAGES * FZ_PAGE;
	for (int i = 0; i < FZ_MAPS && !ours; i++)
		ours = c->a[0] >= w->maps[i].addr && c->a[0] < w->maps[i].addr + w->maps[i].len;
	if (!ours && !(c->a[0] >> 47))
		return 0;   /* not ours to scribble on (it may be our image or stack) */
	for (int i = 0; i < 4; i++) {
		uint64_t a = c->a[0] + fz_below(&w->rng, len);
		int r = fz_chance(&w->rng, 50) ? fz_probe_read(a) : fz_probe_write(a, (int)fz_next(&w->rng));
		faults += r < 0;
	}
	return faults;
}
