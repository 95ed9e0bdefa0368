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
	"	cmp %rsi, %rsp\n"           /* RSI survives SYSCALL: the child starts on it */
	"	jne 2f\n"                   /* 0 on the caller's stack: the kernel mixed them up */
	"	xor %ebp, %ebp\n"           /* the child's outermost frame */
	"	pop %rax\n"
	"	pop %rdi\n"                 /* rsp is 16-aligned again: ABI-correct call */
	"	call *%rax\n"
	"	mov $60, %eax\n"            /* SYS_exit(0) if fn returned */
	"	xor %edi, %edi\n"
	"	syscall\n"
	"	ud2\n"
	"1:	cmp %rsi, %rsp\n"
	"	je 2f\n"                    /* a tid, but on the child's stack: mixed up */
	"	ret\n"
	"2:	and $-16, %rsp\n"
	"	mov %rax, %rdi\n"
	"	call fz_clone_confused\n"   /* reports, exits with status 5 */
	"	ud2\n"
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

/* clone() returned 0 where the parent runs, or a tid where the child runs
 * (issue 11, item 0): the whole process stops, with status 5. */
__attribute__((noreturn, used)) void fz_clone_confused(long ret)
{
	struct fz_out o = { .len = 0 };
	fz_out_str(&o, "fuzz: FATAL: clone() returned ");
	fz_out_dec(&o, ret);
	fz_out_str(&o, ret ? " on the new thread's stack (tid " : " on its caller's stack (tid ");
	fz_out_dec(&o, fz_sys(SYS_gettid, 0, 0, 0));
	fz_out_str(&o, "): the kernel mixed up parent and child\n");
	fz_out_flush(&o);
	fz_sys(SYS_exit_group, 5, 0, 0);
	__builtin_unreachable();
}

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
	 * a signal sent by someone (not a fault) is raised again, and so is
	 * a SIGSEGV with SI_KERNEL: it may be a signal frame the kernel could
	 * not write (SA_ONSTACK on a bad sigaltstack), where nothing would
	 * fault again - the process would go on, and die later of some probe
	 * fault with SIGSEGV at SIG_DFL, a misleading report. */
	if (si->si_code <= 0 || si->si_code == 0x80 /* SI_KERNEL */)
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

/* --- rt_sigreturn ------------------------------------------------------------
 *
 * A frame built by hand (Linux's x86-64 layout: pretcode, then the
 * ucontext whose mcontext is the register file) on a stack in the
 * worker's build area. fz_sigreturn_jump() saves the callee-saved
 * registers, writes its own RSP and the landing address into the frame,
 * and issues rt_sigreturn with RSP just past pretcode. A frame the kernel
 * takes resumes at the landing with our RSP, where the callee-saved
 * registers are popped back and the flags a frame may set (AC, DF) are
 * cleared; one it refuses returns an error right after the syscall.
 * Rarely the RIP, CS/SS or FPU pointer are bad: the kernel must then kill
 * us with SIGSEGV (a round ends), never fault itself. */
#define UC_OFF      8                     /* the ucontext, after pretcode */
#define MC_OFF      (UC_OFF + 40)         /* uc_mcontext: after flags, link, stack */
#define MC_RSP      (MC_OFF + 120)
#define MC_RIP      (MC_OFF + 128)
#define MC_EFLAGS   (MC_OFF + 136)
#define MC_CSGSFSSS (MC_OFF + 144)        /* four 16-bit selectors */
#define MC_FPSTATE  (MC_OFF + 184)
#define UC_SIGMASK  (UC_OFF + 296)
#define FRAME_SIZE  (UC_SIGMASK + 8)

long fz_sigreturn_jump(uint64_t frame);
__asm__(".text\n"
	".globl fz_sigreturn_jump\n"
	".type fz_sigreturn_jump,@function\n"
	"fz_sigreturn_jump:\n"
	"	push %rbx\n"
	"	push %rbp\n"
	"	push %r12\n"
	"	push %r13\n"
	"	push %r14\n"
	"	push %r15\n"
	"	mov %rsp, 168(%rdi)\n"       /* MC_RSP: resume on this stack */
	"	lea 1f(%rip), %rax\n"
	"	cmpq $0, 176(%rdi)\n"        /* MC_RIP 0 means: land here */
	"	jne 2f\n"
	"	mov %rax, 176(%rdi)\n"
	"2:	mov %rsp, %rbx\n"           /* kept if the kernel refuses the frame */
	"	lea 8(%rdi), %rsp\n"         /* just past pretcode, as a handler's ret leaves it */
	"	mov $15, %eax\n"             /* SYS_rt_sigreturn */
	"	syscall\n"
	"	mov %rbx, %rsp\n"            /* refused: RAX holds the error */
	"1:	pushfq\n"
	"	andq $~0x40500, (%rsp)\n"    /* clear AC, DF, TF a frame may have set */
	"	popfq\n"
	"	pop %r15\n"
	"	pop %r14\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbp\n"
	"	pop %rbx\n"
	"	ret\n"
	".size fz_sigreturn_jump, .-fz_sigreturn_jump\n");

/* A valid FPU image (the one a real signal frame carried), for frames
 * that should be taken. fz_capture_fpu() fills it before workers start. */
static uint8_t fpu_image[4096] __attribute__((aligned(64)));
static volatile bool fpu_captured;

static void on_capture(int sig, siginfo_t *si, void *ctx)
{
	(void)sig, (void)si;
	const uint8_t *fp = (const uint8_t *)((ucontext_t *)ctx)->uc_mcontext.fpregs;
	if (fp) {
		/* It lies below the frame on our stack: what follows is stack too. */
		for (size_t i = 0; i < sizeof fpu_image; i++)
			fpu_image[i] = fp[i];
		fpu_captured = true;
	}
}

void fz_capture_fpu(void)
{
	struct { uint64_t handler, flags, restorer, mask; } act = {
		(uint64_t)(uintptr_t)on_capture, 0x04000000 | SA_SIGINFO, (uint64_t)(uintptr_t)fz_restore_rt, 0,
	}, nop = { (uint64_t)(uintptr_t)fz_nop_handler, 0x04000000, (uint64_t)(uintptr_t)fz_restore_rt, 0 };
	fz_syscall6(SYS_rt_sigaction, SIGUSR2, (uint64_t)(uintptr_t)&act, 0, 8, 0, 0);
	fz_sys(SYS_tkill, fz_sys(SYS_gettid, 0, 0, 0), SIGUSR2, 0);
	fz_syscall6(SYS_rt_sigaction, SIGUSR2, (uint64_t)(uintptr_t)&nop, 0, 8, 0, 0);
}

void fz_gen_sigreturn(struct fz_worker *w, struct fz_args *c)
{
	struct fz_rng *r = &w->rng;
	uint8_t *f = (uint8_t *)&w->build[128];   /* 8-aligned; the frame needs no more */
	uint64_t *q = (uint64_t *)f;
	for (unsigned i = 0; i < FRAME_SIZE / 8; i++)
		q[i] = 0;
	for (unsigned i = MC_OFF / 8; i < MC_RSP / 8; i++)
		q[i] = fz_chance(r, 50) ? fz_gen_int(r) : 0;   /* r8..r15, rdi..rax, rcx */
	static const uint64_t uc_flags[] = { 0, 1 /* FP_XSTATE */, 2 /* SIGCONTEXT_SS */, 6, -1UL };
	q[UC_OFF / 8] = FZ_PICK(r, uc_flags);
	q[UC_OFF / 8 + 3] = 2;                    /* uc_stack: SS_DISABLE */
	for (unsigned i = MC_CSGSFSSS / 8 + 1; i < MC_FPSTATE / 8; i++)
		q[i] = fz_gen_int(r);                  /* err, trapno, oldmask, cr2 */
	q[MC_RIP / 8] = 0;                        /* land in fz_sigreturn_jump */
	/* The fatal variants (a bad RIP, selectors or FPU image: the kernel
	 * must answer with SIGSEGV) are rare, so rounds last. */
	bool fatal = fz_below(r, 1000) < 2;
	if (fatal && fz_chance(r, 50))
		q[MC_RIP / 8] = fz_chance(r, 50) ? fz_gen_kernel_ptr(r) : fz_gen_bad_ptr(r);
	/* EFLAGS: the arithmetic flags, sometimes DF and AC; never TF. */
	q[MC_EFLAGS / 8] = 0x202 | (fz_next(r) & 0x8d5) | (fz_chance(r, 10) ? 0x40000 : 0);
	uint16_t *sel = (uint16_t *)(f + MC_CSGSFSSS);
	sel[0] = 0x33, sel[1] = 0, sel[2] = 0, sel[3] = 0x2b;   /* user CS, SS */
	if (fatal && fz_chance(r, 50))
		sel[0] = (uint16_t)fz_next(r), sel[3] = (uint16_t)fz_next(r);
	/* The FPU image: the captured one; rarely none (Linux then resets
	 * the FPU state; weft kills the process: see docs); in the fatal
	 * variants junk or an unmapped address. */
	q[MC_FPSTATE / 8] = fpu_captured && fz_below(r, 300) ? (uint64_t)(uintptr_t)fpu_image : 0;
	if (fatal && fz_chance(r, 50))
		q[MC_FPSTATE / 8] = fz_gen_ptr(w);
	q[UC_SIGMASK / 8] = fz_next(r) & ~(1UL << (FZ_SIG_POKE - 1) | 1UL << 3 | 1UL << 4 | 1UL << 6 |
					    1UL << 7 | 1UL << 10 | 1UL << 30);
	c->a[0] = (uint64_t)(uintptr_t)f;
	/* Not arguments: what reports should show of the frame. */
	c->a[1] = q[MC_RIP / 8];
	c->a[2] = q[MC_FPSTATE / 8];
	c->a[3] = q[MC_EFLAGS / 8];
	c->a[4] = q[MC_CSGSFSSS / 8];
	c->a[5] = q[UC_OFF / 8];
}

long fz_run_sigreturn(struct fz_worker *w, struct fz_args *c)
{
	(void)w;
	return fz_sigreturn_jump(c->a[0]);
}
