/*
 * sigframe.c - running a signal handler and coming back (Linux x86-64
 * layout, so musl's and glibc's handlers and sa_restorer work unchanged).
 *
 * Delivery writes, below the interrupted RSP (past the 128-byte red zone,
 * or at the top of the alternate stack), the FPU state and then a struct
 * rt_sigframe, and points the trap frame at the handler:
 *
 *     higher addresses   FPU state (fpu_sigframe_size(), 64-aligned)
 *                        rt_sigframe.info    (siginfo_t)
 *                        rt_sigframe.uc      (ucontext: registers, mask, stack)
 *     handler's RSP ->   rt_sigframe.pretcode = sa_restorer
 *
 * RSP is 8 mod 16 at the handler's first instruction, as after a call.
 * rt_sigreturn (from sa_restorer, RSP just above pretcode) reads it all
 * back, so a handler that edits uc_mcontext changes where and how the
 * interrupted code resumes. The return leaves by IRETQ (RCX/R11 are
 * restored too, which SYSRET would clobber).
 *
 * Neither way allocates memory (a SIGSEGV handler must run when memory is
 * exhausted): the rt_sigframe lives on the kernel stack, and the FPU image
 * goes between user memory and the thread's own FPU area directly.
 */
#include "sigframe.h"
#include <weft/uaccess.h>
#include <weft/string.h>
#include <weft/errno.h>
#include <arch/trap.h>
#include <arch/fpu.h>

#define RFLAGS_USER_BITS 0x50dd5UL   /* CF PF AF ZF SF TF DF OF RF AC: a handler may set these */
#define UC_FP_XSTATE     0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4

bool sigframe_on_altstack(struct thread *t, uint64_t sp)
{
	struct user_signals *s = t->sig;
	return s->alt_flags == 0 && sp > s->alt_sp && sp <= s->alt_sp + s->alt_size;
}

static void save_regs(struct k_sigcontext *mc, const struct trap_frame *f)
{
	mc->r8 = f->r8;   mc->r9 = f->r9;   mc->r10 = f->r10; mc->r11 = f->r11;
	mc->r12 = f->r12; mc->r13 = f->r13; mc->r14 = f->r14; mc->r15 = f->r15;
	mc->rdi = f->rdi; mc->rsi = f->rsi; mc->rbp = f->rbp; mc->rbx = f->rbx;
	mc->rdx = f->rdx; mc->rax = f->rax; mc->rcx = f->rcx; mc->rsp = f->rsp;
	mc->rip = f->rip; mc->eflags = f->rflags;
	mc->cs = (uint16_t)f->cs;
	mc->ss = (uint16_t)f->ss;
	mc->err = f->vector < 32 ? f->error_code : 0;
	mc->trapno = f->vector < 32 ? f->vector : 0;
}

static void restore_regs(struct trap_frame *f, const struct k_sigcontext *mc)
{
	f->r8 = mc->r8;   f->r9 = mc->r9;   f->r10 = mc->r10; f->r11 = mc->r11;
	f->r12 = mc->r12; f->r13 = mc->r13; f->r14 = mc->r14; f->r15 = mc->r15;
	f->rdi = mc->rdi; f->rsi = mc->rsi; f->rbp = mc->rbp; f->rbx = mc->rbx;
	f->rdx = mc->rdx; f->rax = mc->rax; f->rcx = mc->rcx; f->rsp = mc->rsp;
	f->rip = mc->rip;
	f->rflags = (f->rflags & ~RFLAGS_USER_BITS) | (mc->eflags & RFLAGS_USER_BITS) | RFLAGS_IF;
	f->cs = GDT_USER_CS | 3;   /* whatever the frame says: ring 3, 64-bit */
	f->ss = GDT_USER_DS | 3;
}

/* A system call a signal interrupted: restart it or make it fail. */
static void syscall_restart(struct trap_frame *f, const struct k_sigaction *act)
{
	if (f->vector != VEC_SYSCALL)
		return;
	long r = (long)f->rax;
	if (r == -ERESTARTNOHAND || (r == -ERESTARTSYS && !(act->flags & SA_RESTART))) {
		f->rax = (uint64_t)-EINTR;
	} else if (r == -ERESTARTSYS || r == -ERESTARTNOINTR) {
		f->rax = f->error_code;    /* the system-call number again */
		f->rip -= 2;               /* back onto the SYSCALL instruction */
	}
}

void sigframe_setup(struct trap_frame *f, int sig, const struct k_siginfo *info,
		    const struct k_sigaction *act)
{
	struct thread *t = current();
	syscall_restart(f, act);
	if (!(act->flags & SA_RESTORER)) {
		signal_force_segv(sig);   /* no way back from the handler */
		return;
	}

	uint64_t sp = f->rsp;
	bool on_alt = sigframe_on_altstack(t, sp);
	if ((act->flags & SA_ONSTACK) && t->sig->alt_flags == 0 && !on_alt)
		sp = t->sig->alt_sp + t->sig->alt_size;
	else
		sp -= 128;                 /* the interrupted function's red zone */
	size_t fsize = fpu_sigframe_size();
	uint64_t fpstate = (sp - fsize) & ~63ULL;
	uint64_t frame = ((fpstate - sizeof(struct rt_sigframe)) & ~15ULL) - 8;

	/* Nothing is allocated: the frame (440 bytes) is built on this
	 * kernel stack, the FPU image goes out in pieces from the thread's
	 * own area, so a handler runs even when memory is exhausted. */
	_Static_assert(sizeof(struct rt_sigframe) <= 512, "built on the kernel stack");
	struct rt_sigframe fr;
	memset(&fr, 0, sizeof fr);
	fr.pretcode = act->restorer;
	fr.uc.flags = UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS | (fpu_xfeatures() ? UC_FP_XSTATE : 0);
	fr.uc.stack.sp = t->sig->alt_sp;
	fr.uc.stack.size = t->sig->alt_size;
	fr.uc.stack.flags = on_alt ? SS_ONSTACK : t->sig->alt_flags;
	save_regs(&fr.uc.mcontext, f);
	fr.uc.mcontext.fpstate = fpstate;
	fr.uc.mcontext.oldmask = t->sig->mask;
	fr.uc.mcontext.cr2 = sig == SIGSEGV || sig == SIGBUS ? info->addr : 0;
	fr.uc.sigmask = t->sig->mask;
	fr.info = *info;
	/* The live registers are the interrupted code's: save them. A switch
	 * during the copy (a user page faulted in) saves the same registers
	 * into the area again, which changes nothing. */
	preempt_disable();
	fpu_save(t->fpu);
	preempt_enable();
	if (fpu_sigframe_to_user(t->fpu, fpstate) < 0 || copy_to_user(frame, &fr, sizeof fr) < 0) {
		/* Nothing of f changed but the restart rewrite, which is the
		 * state the SIGSEGV handler (if any) then sees, as on Linux. */
		signal_force_segv(sig);
		return;
	}

	f->rsp = frame;
	f->rip = act->handler;
	f->rdi = (uint64_t)sig;
	f->rsi = frame + offsetof(struct rt_sigframe, info);
	f->rdx = frame + offsetof(struct rt_sigframe, uc);
	f->rax = 0;
	f->rflags &= ~(uint64_t)(0x100 | 0x400 | 0x10000);   /* TF, DF, RF: a clean start */
	f->cs = GDT_USER_CS | 3;
	f->ss = GDT_USER_DS | 3;
	/* The handler starts with a clean FPU (the interrupted state is in
	 * the frame), and with its mask added. */
	preempt_disable();
	fpu_area_init(t->fpu);
	fpu_restore(t->fpu);
	preempt_enable();
	uint64_t mask = t->sig->mask | act->mask;
	if (!(act->flags & SA_NODEFER))
		mask |= SIGBIT(sig);
	signal_set_mask(mask);
}

long sys_rt_sigreturn(struct trap_frame *f)
{
	struct thread *t = current();
	uint64_t frame = f->rsp - 8;   /* sa_restorer's RET popped pretcode */
	struct rt_sigframe frs, *fr = &frs;
	/* A frame that cannot be read leaves the registers as the handler
	 * had them, returns 0 and raises SIGSEGV (Linux's signal_fault),
	 * which the process may catch. One whose FPU state is refused has
	 * had its mask and registers taken first (Linux restores them before
	 * it reads the FPU state): the SIGSEGV is taken in that context. */
	if (copy_from_user(fr, frame, sizeof *fr) < 0) {
		signal_force_segv(0);
		return 0;
	}
	uint64_t fpstate = fr->uc.mcontext.fpstate;
	if (!fpstate) {
		/* No FPU state in the frame: the FPU starts afresh, as on
		 * Linux. Area and registers together (preemption off). */
		preempt_disable();
		fpu_area_init(t->fpu);
		fpu_restore(t->fpu);
		preempt_enable();
	} else {
		/* Nothing allocated: the image is copied straight into this
		 * thread's own area, detached meanwhile (t->fpu NULL: a switch
		 * while a user page is faulted in neither saves the registers
		 * into it nor loads it; those registers are the handler's, which
		 * are being discarded). Then it is checked and fixed in place
		 * (the user cannot change it any more), put back and loaded,
		 * with preemption off: area and registers change together. */
		void *area = t->fpu;
		__atomic_store_n(&t->fpu, NULL, __ATOMIC_SEQ_CST);
		size_t fsize = fpu_sigframe_size();
		bool bad = copy_from_user(area, fpstate, fsize) < 0 ||
			   fpu_from_sigframe(area, area, fsize) < 0;
		if (bad)
			fpu_area_init(area);   /* loadable, for the way out */
		preempt_disable();
		__atomic_store_n(&t->fpu, area, __ATOMIC_SEQ_CST);
		fpu_restore(area);
		preempt_enable();
		if (bad) {
			/* Mask first: signal_force_segv() must see the frame's
			 * (a frame that blocks SIGSEGV resets its handler, as
			 * on Linux). The registers are the frame's; RAX is the
			 * 0 returned. Leave by IRETQ (a frame's RIP). */
			signal_set_mask(fr->uc.sigmask);
			restore_regs(f, &fr->uc.mcontext);
			f->vector = VEC_SIGRETURN;
			t->frame_rewritten = true;
			signal_force_segv(0);
			return 0;
		}
	}
	restore_regs(f, &fr->uc.mcontext);
	signal_set_mask(fr->uc.sigmask);
	/* The alternate stack as the handler left it in uc_stack. */
	if (!sigframe_on_altstack(t, f->rsp)) {
		if (fr->uc.stack.flags & SS_DISABLE) {
			t->sig->alt_flags = SS_DISABLE;
		} else if (fr->uc.stack.size >= MINSIGSTKSZ) {
			t->sig->alt_sp = fr->uc.stack.sp;
			t->sig->alt_size = fr->uc.stack.size;
			t->sig->alt_flags = 0;
		}
	}
	f->vector = VEC_SIGRETURN;     /* no restart logic, and leave by IRETQ */
	t->frame_rewritten = true;     /* not by the SYSRET fast way */
	return (long)f->rax;           /* the dispatcher stores it back into RAX */
}
