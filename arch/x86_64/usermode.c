/*
 * usermode.c - the x86-64 side of user mode: SYSCALL/SYSRET setup, the
 * exit-to-user work loop, the switch of per-thread user state, and user
 * exceptions.
 *
 * Which stack: a system call or an interrupt from ring 3 arrives on the
 * thread's own kernel stack (TSS.RSP0 and percpu.kernel_stack_top are set
 * on every switch), its trap frame at the very top. The code here runs on
 * that stack, in the thread's context, and may sleep.
 */
#include <arch/usermode.h>
#include <arch/percpu.h>
#include <arch/trap.h>
#include <arch/cpu.h>
#include <arch/fpu.h>
#include <arch/ioperm.h>
#include <arch/switch.h>
#include <arch/irqflags.h>
#include <weft/process.h>
#include <weft/sched.h>
#include <weft/signal.h>
#include <weft/syscall.h>
#include <weft/uaccess.h>
#include <weft/vm.h>
#include <weft/tlb.h>
#include <weft/printk.h>
#include <weft/errno.h>

#define MSR_STAR   0xC0000081
#define MSR_LSTAR  0xC0000082
#define MSR_FMASK  0xC0000084
#define MSR_TSC_AUX 0xC0000103
#define EFER_SCE   (1UL << 0)
#define CR4_UMIP   (1UL << 11)
#define CR4_SMEP   (1UL << 20)
#define CR4_SMAP   (1UL << 21)
#define RFLAGS_TF  (1UL << 8)
#define RFLAGS_DF  (1UL << 10)
#define RFLAGS_NT  (1UL << 14)
#define RFLAGS_RF  (1UL << 16)
#define RFLAGS_AC  (1UL << 18)

void syscall_entry(void);

/* What entry.S's SYSRET check uses. */
_Static_assert(offsetof(struct thread, exit_work) == THREAD_EXIT_WORK, "entry.S");
_Static_assert(SYSCALL_RESTART_LO == ERESTARTSYS && SYSCALL_RESTART_HI == ERESTARTNOHAND &&
	       ERESTARTNOINTR > ERESTARTSYS && ERESTARTNOINTR < ERESTARTNOHAND, "entry.S");

void usermode_init_cpu(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	/* SYSCALL loads CS = STAR[47:32], SS = +8; SYSRET (64-bit) loads
	 * CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8, both with RPL 3:
	 * hence the GDT order USER32_CS, USER_DS, USER_CS. */
	wrmsr(MSR_STAR, ((uint64_t)GDT_USER32_CS << 48) | ((uint64_t)GDT_KERNEL_CS << 32));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	/* Cleared on entry: interrupts off until the stack is switched, no
	 * single-step, DF clear for C, AC clear for SMAP. */
	wrmsr(MSR_FMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_NT | RFLAGS_AC);
	/* RDTSCP returns TSC_AUX in ECX: the CPU number, as Linux sets it
	 * (NUMA node 0 in bits 12 and up), so a program can see where it
	 * runs without a system call. */
	if (cpu_features.rdtscp)
		wrmsr(MSR_TSC_AUX, cpu_id());

	uint64_t cr4 = read_cr4();
	if (cpu_features.smep)
		cr4 |= CR4_SMEP;      /* never execute user pages in ring 0 */
	if (cpu_features.smap)
		cr4 |= CR4_SMAP;      /* never touch them outside uaccess.S */
	if (cpu_features.umip)
		cr4 |= CR4_UMIP;      /* SGDT/SIDT/SLDT/SMSW/STR fault in ring 3 */
	write_cr4(cr4);
	uaccess_smap = cpu_features.smap;
	if (cpu_id() == 0)   /* the same on every CPU; other CPUs take no lock here (smpboot.c) */
		pr_info("usermode: SYSCALL at %p; SMEP %s, SMAP %s, UMIP %s\n", (void *)syscall_entry,
		cpu_features.smep ? "on" : "absent", cpu_features.smap ? "on" : "absent",
		cpu_features.umip ? "on" : "absent");
}

/* The FS base lives in an MSR: weft leaves CR4.FSGSBASE off, because with
 * it ring 3 could load any GS base, including a kernel-looking one, and
 * the paranoid NMI entry decides SWAPGS by the GS base's sign. */
static void load_fs_base(uint64_t base) { wrmsr(MSR_FS_BASE, base); }

/*
 * Everything here is per CPU and loaded afresh whenever a user thread
 * comes in, so a user thread may run on any CPU, and on another one after
 * every switch: the FPU state is saved into its area when it leaves a CPU
 * and restored from it on the next one (XSAVEOPT's "unmodified since the
 * last XRSTOR" tracking stays right, since every switch-in restores);
 * the FS base is an MSR of this CPU; CR3 and mm->cpus follow the address
 * space (mm_switch_cpu); the I/O bitmap is this CPU's TSS copy. The user
 * GS base is always 0 (ARCH_SET_GS is refused), which MSR_KERNEL_GS_BASE
 * holds on every CPU, so SWAPGS gives the same result wherever the
 * thread runs.
 */
void user_switch_state(struct percpu *c, struct thread *prev, struct thread *next)
{
	if (prev->fpu)
		fpu_save(prev->fpu);
	if (!next->mm)
		return;           /* a kernel thread: borrows whatever is loaded (lazy TLB) */
	mm_switch_cpu(c, next->mm);  /* no-op if it is loaded already */
	load_fs_base(next->fs_base);
	if (next->fpu)
		fpu_restore(next->fpu);
	ioperm_switch(c, next->proc);
}

/* SYSRET can return only to a canonical address with RCX = RIP and R11 =
 * RFLAGS; anything else (a signal frame, sigreturn, a RIP the handler
 * changed) leaves by IRETQ. TF and RF also need IRETQ's exact semantics. */
static bool sysret_safe(const struct trap_frame *f)
{
	return f->vector == VEC_SYSCALL && f->rcx == f->rip && f->r11 == f->rflags &&
	       f->rip < USER_TOP && f->cs == (GDT_USER_CS | 3) && f->ss == (GDT_USER_DS | 3) &&
	       !(f->rflags & (RFLAGS_TF | RFLAGS_RF));
}

uint64_t usermode_bad_rips;

/* A canonical address (4-level paging): bits 63..47 all equal. IRETQ to
 * anything else raises #GP in ring 0 on real CPUs (QEMU's TCG lets it
 * through); a canonical kernel-half RIP is harmless, its fetch faults in
 * ring 3 (SEGV_MAPERR there, as on Linux). */
static bool rip_canonical(uint64_t rip) { return (uint64_t)((int64_t)(rip << 16) >> 16) == rip; }

/* RFLAGS bits ring 3 may hold, as IRETQ loads them: the arithmetic flags,
 * TF, DF, NT, RF, AC, ID (a program can set each with POPF); IF always;
 * never IOPL (ports: the TSS bitmap decides), VM, VIF or VIP. */
#define RFLAGS_USER_OK (0x00200000UL | RFLAGS_AC | RFLAGS_RF | RFLAGS_NT | RFLAGS_DF | \
			RFLAGS_TF | 0x8d5UL)   /* ID; CF PF AF ZF SF OF */
#define RFLAGS_FIXED1  0x2UL                   /* bit 1 reads as 1 */

bool exit_to_user_mode(struct trap_frame *f)
{
	current()->frame_rewritten = false;  /* sysret_safe() below looks at the frame itself */
	for (;;) {
		local_irq_disable();
		struct thread *t = current();
		if (t->need_resched) {
			local_irq_enable();
			preempt_schedule();  /* preempted on the way out to ring 3 (not a
					      * yield: the fairest thread runs, maybe us) */
			continue;
		}
		if (t->proc->exiting) {
			local_irq_enable();
			process_thread_exit(0);
		}
		if (signal_pending_for(t)) {
			local_irq_enable();
			signal_deliver(f);   /* may rewrite the frame, or end the process */
			continue;
		}
		/* The RIP a handler address (rt_sigaction) or a sigreturn frame
		 * put here is the user's value: ring 0 must not IRETQ to it if
		 * it is not canonical. Linux's IRETQ faults and becomes the
		 * program's SIGSEGV (SI_KERNEL, address 0) with that RIP in its
		 * context: the same here, before the IRETQ. */
		if (__builtin_expect(!rip_canonical(f->rip), 0)) {
			__atomic_fetch_add(&usermode_bad_rips, 1, __ATOMIC_RELAXED);
			local_irq_enable();
			signal_fault(f, SIGSEGV, SI_KERNEL, 0);   /* queued, or the end */
			continue;
		}
		break;
	}
	/* A system call interrupted by a signal that needed no handler (it
	 * was ignored, or the sleep ended for another reason): run it again. */
	long r = (long)f->rax;
	if (f->vector == VEC_SYSCALL &&
	    (r == -ERESTARTSYS || r == -ERESTARTNOINTR || r == -ERESTARTNOHAND)) {
		f->rax = f->error_code;
		f->rip -= 2;
	}
	/* Whatever wrote it, IRETQ in ring 0 loads what is here: only flags
	 * ring 3 could have set itself. */
	f->rflags = (f->rflags & RFLAGS_USER_OK) | RFLAGS_IF | RFLAGS_FIXED1;
	return !sysret_safe(f);
}


bool user_fault_from_kernel(struct trap_frame *f)
{
	struct thread *t = current();
	uint64_t addr = read_cr2();
	if (!t->mm || addr >= USER_TOP || !(f->rflags & RFLAGS_IF) || preempt_count())
		return false;
	local_irq_enable();
	int r = vm_fault(t->mm, addr, f->error_code & 2, false);
	local_irq_disable();
	return r == 0;
}

void user_exception(struct trap_frame *f)
{
	/* CR2 before interrupts go on: once they are, this thread can be
	 * switched out, and a page fault of the thread run meanwhile
	 * overwrites it (one CR2 per CPU) - this fault would be handled at
	 * that thread's address, and die of SIGSEGV if it is no longer mapped. */
	uint64_t addr = f->vector == VEC_PF ? read_cr2() : 0;
	local_irq_enable();
	struct thread *t = current();
	if (f->vector == VEC_PF) {
		int r = vm_fault(t->mm, addr, f->error_code & 2, f->error_code & 16);
		if (r == 0)
			return;
		signal_fault(f, SIGSEGV, r == -EACCES ? SEGV_ACCERR : SEGV_MAPERR, addr);
		return;
	}
	switch (f->vector) {
	case VEC_DE:
		signal_fault(f, SIGFPE, FPE_INTDIV, f->rip);
		break;
	case VEC_MF:
	case VEC_XM:
		signal_fault(f, SIGFPE, 0, f->rip);
		break;
	case VEC_UD:
		signal_fault(f, SIGILL, ILL_ILLOPN, f->rip);
		break;
	case VEC_BP:
	case VEC_DB:
		signal_fault(f, SIGTRAP, 0, f->rip);
		break;
	case VEC_AC:
		signal_fault(f, SIGBUS, 0, 0);
		break;
	default:   /* #GP (privileged instructions, ports, bad segments), #SS, #NP, ... */
		signal_fault(f, SIGSEGV, SI_KERNEL, 0);
		break;
	}
}
