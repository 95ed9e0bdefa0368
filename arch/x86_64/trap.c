/*
 * trap.c - what happens after entry.S has saved a trap frame.
 *
 * Context: interrupts are off (interrupt gates), we are on the interrupted
 * thread's kernel stack or, for #DF/NMI/#MC, on this CPU's IST stack, and
 * GS is the kernel's.
 *
 * Exceptions: a fix-up from the exception table wins (an instruction
 * that was allowed to fault); then a test's armed trap catch; anything
 * else is a kernel bug and panics with the full report. (User-mode faults
 * become signals in issue 4.)
 *
 * Device interrupts and IPIs: the handler registered for the vector runs
 * with interrupts still off, then the LAPIC gets its EOI. A handler may
 * enable interrupts itself; the LAPIC then delivers only vectors of a
 * higher priority class (vector / 16) than the one in service, so
 * interrupts nest on the same stack, each with its own trap frame.
 */
#include <arch/trap.h>
#include <weft/vcpu_yield.h>
#include <weft/lockup.h>
#include <arch/percpu.h>
#include <arch/cpu.h>
#include <arch/apic.h>
#include <arch/irqflags.h>
#include <weft/printk.h>
#include <weft/panic.h>
#include <weft/backtrace.h>
#include <weft/kstack.h>
#include <weft/preempt.h>
#include <arch/usermode.h>
#include <weft/sched.h>
#include <stddef.h>

/* entry.S addresses fields by these offsets. */
_Static_assert(offsetof(struct trap_frame, r15) == TF_R15, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, rbp) == TF_RBP, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, rbx) == TF_RBX, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, rax) == TF_RAX, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, rdi) == TF_RDI, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, r14) == TF_R14, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, r13) == TF_R13, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, r12) == TF_R12, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, r11) == TF_R11, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, r10) == TF_R10, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, r9) == TF_R9, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, r8) == TF_R8, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, rcx) == TF_RCX, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, rdx) == TF_RDX, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, rsi) == TF_RSI, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, vector) == TF_VECTOR, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, error_code) == TF_ERROR, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, rip) == TF_RIP, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, cs) == TF_CS, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, rflags) == TF_RFLAGS, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, rsp) == TF_RSP, "trap_frame layout");
_Static_assert(offsetof(struct trap_frame, ss) == TF_SS, "trap_frame layout");
_Static_assert(sizeof(struct trap_frame) == TF_SIZE, "trap_frame layout");

static struct {
	irq_handler_t fn;
	void *arg;
} irq_table[256];

void irq_register(unsigned vector, irq_handler_t fn, void *arg)
{
	if (vector < 32 || vector > 255)
		panic("irq_register: vector %u is reserved for exceptions", vector);
	irq_table[vector].arg = arg;
	__atomic_store_n(&irq_table[vector].fn, fn, __ATOMIC_RELEASE);
}

static const char *const exception_names[32] = {
	[VEC_DE] = "#DE divide error",       [VEC_DB] = "#DB debug",
	[VEC_NMI] = "NMI",                   [VEC_BP] = "#BP breakpoint",
	[VEC_OF] = "#OF overflow",           [VEC_BR] = "#BR bound range",
	[VEC_UD] = "#UD invalid opcode",     [VEC_NM] = "#NM device not available",
	[VEC_DF] = "#DF double fault",       [9] = "coprocessor segment overrun",
	[VEC_TS] = "#TS invalid TSS",        [VEC_NP] = "#NP segment not present",
	[VEC_SS] = "#SS stack fault",        [VEC_GP] = "#GP general protection",
	[VEC_PF] = "#PF page fault",         [VEC_MF] = "#MF x87 floating point",
	[VEC_AC] = "#AC alignment check",    [VEC_MC] = "#MC machine check",
	[VEC_XM] = "#XM SIMD floating point", [VEC_VE] = "#VE virtualization",
	[VEC_CP] = "#CP control protection", [29] = "#VC VMM communication",
	[30] = "#SX security",
};

static const char *vector_name(uint64_t v)
{
	if (v < 32)
		return exception_names[v] ? exception_names[v] : "reserved exception";
	return "interrupt";
}

/* Decode the error code into words a reader can act on. */
static void print_error_code(const struct trap_frame *f)
{
	uint64_t e = f->error_code;
	switch (f->vector) {
	case VEC_PF:
		pr_emerg("error code %#lx: %s, %s, %s mode%s%s%s\n", (unsigned long)e,
			 (e & 1) ? "protection violation" : "page not present",
			 (e & 16) ? "instruction fetch" : (e & 2) ? "write" : "read",
			 (e & 4) ? "user" : "kernel", (e & 8) ? ", reserved bit set" : "",
			 (e & 32) ? ", protection key" : "", (e & 64) ? ", shadow stack" : "");
		pr_emerg("CR2 (fault address) %#018lx\n", (unsigned long)read_cr2());
		break;
	case VEC_TS: case VEC_NP: case VEC_SS: case VEC_GP: case VEC_AC:
		if (e == 0) {
			pr_emerg("error code 0: not caused by a segment selector\n");
			break;
		}
		pr_emerg("error code %#lx: selector index %lu in the %s%s\n", (unsigned long)e,
			 (unsigned long)((e >> 3) & 0x1fff),
			 (e & 2) ? "IDT" : (e & 4) ? "LDT" : "GDT",
			 (e & 1) ? ", external event" : "");
		break;
	case VEC_DF:
		pr_emerg("error code %#lx (always 0 for #DF)\n", (unsigned long)e);
		break;
	default:
		if (f->vector < 32)
			pr_emerg("no error code\n");
	}
}

void trap_print_regs(const struct trap_frame *f)
{
	pr_emerg("RIP %04lx:%016lx RFLAGS %016lx\n", (unsigned long)f->cs, (unsigned long)f->rip,
		 (unsigned long)f->rflags);
	pr_emerg("RSP %04lx:%016lx\n", (unsigned long)f->ss, (unsigned long)f->rsp);
	pr_emerg("RAX %016lx RBX %016lx RCX %016lx\n", (unsigned long)f->rax,
		 (unsigned long)f->rbx, (unsigned long)f->rcx);
	pr_emerg("RDX %016lx RSI %016lx RDI %016lx\n", (unsigned long)f->rdx,
		 (unsigned long)f->rsi, (unsigned long)f->rdi);
	pr_emerg("RBP %016lx R8  %016lx R9  %016lx\n", (unsigned long)f->rbp,
		 (unsigned long)f->r8, (unsigned long)f->r9);
	pr_emerg("R10 %016lx R11 %016lx R12 %016lx\n", (unsigned long)f->r10,
		 (unsigned long)f->r11, (unsigned long)f->r12);
	pr_emerg("R13 %016lx R14 %016lx R15 %016lx\n", (unsigned long)f->r13,
		 (unsigned long)f->r14, (unsigned long)f->r15);
	pr_emerg("CR0 %016lx CR3 %016lx CR4 %016lx\n", (unsigned long)read_cr0(),
		 (unsigned long)read_cr3(), (unsigned long)read_cr4());
}

void trap_report(const struct trap_frame *f, const char *why)
{
	pr_emerg("--- %s: %s (vector %lu) on CPU %u, %s mode ---\n", why, vector_name(f->vector),
		 (unsigned long)f->vector, cpu_id(), trap_from_user(f) ? "user" : "kernel");
	print_error_code(f);
	if (f->vector == VEC_DF && (kstack_is_guard(f->rsp) || kstack_is_guard(read_cr2())))
		pr_emerg("kernel stack overflow: RSP %#lx ran into a stack guard page\n",
			 (unsigned long)f->rsp);
	trap_print_regs(f);
	if (!trap_from_user(f)) {
		pr_emerg("backtrace:\n");
		backtrace_print(f->rip, f->rbp);
	}
}

/* A test armed a catch for this vector: record, report, and resume at its
 * setjmp point by rewriting our own return frame to enter longjmp(). */
static bool trap_try_catch(struct trap_frame *f)
{
	struct trap_catch *tc = this_cpu()->trap_catch;
	if (!tc || tc->expect_vector != f->vector)
		return false;
	tc->vector = f->vector;
	tc->error_code = f->error_code;
	tc->cr2 = read_cr2();
	tc->rip = f->rip;
	tc->rsp = f->rsp;
	tc->handler_rsp = (uint64_t)__builtin_frame_address(0);
	tc->caught = true;
	trap_report(f, "exception (caught by test)");
	trap_catch_disarm();
	f->rip = (uint64_t)longjmp;
	f->rdi = (uint64_t)&tc->jb;
	f->rsi = 1;
	f->cs = GDT_KERNEL_CS;
	f->ss = GDT_KERNEL_DS;
	/* longjmp's first instructions run on the stack IRETQ gives them,
	 * with the interrupted code's IF: an interrupt taken there pushes its
	 * frame at that RSP. The faulting RSP may be in a guard page (a stack
	 * overflow caught as #DF): a #DF again, not caught this time. Give
	 * them the stack longjmp is about to switch to, below which nothing
	 * of the setjmp caller lives. */
	f->rsp = tc->jb.rsp;
	return true;
}

static void nmi_handle(struct trap_frame *f)
{
	struct percpu *c = this_cpu();
	if (panic_in_progress() && panic_cpu() != (int)c->cpu_id)
		panic_stop_cpu(f);        /* another CPU panicked: hand it our frame, stop */
	c->in_nmi++;
	c->nmi_count++;
	c->nmi_last_rsp = (uint64_t)__builtin_frame_address(0);
	if (lockup_nmi(f)) {              /* another CPU asked where we are */
		c->in_nmi--;
		return;
	}
	struct trap_catch *tc = c->trap_catch;
	if (!(tc && tc->expect_vector == VEC_NMI))
		pr_warn("NMI received on CPU %u at RIP %#lx (unexpected; continuing)\n", c->cpu_id,
			(unsigned long)f->rip);
	c->in_nmi--;
}

static bool in_extable(uint64_t rip);

static void exception_handle(struct trap_frame *f)
{
	/* uaccess.S touching a user page that is not there yet: lazy memory
	 * is faulted in and the copy resumes; a bad address gets -EFAULT. */
	if (f->vector == VEC_PF && in_extable(f->rip) && user_fault_from_kernel(f))
		return;
	if (extable_fixup(f))
		return;
	if (trap_try_catch(f))
		return;
	panic_trap(f, "unhandled exception");
}

void trap_dispatch(struct trap_frame *f)
{
	uint64_t v = f->vector;
	if (v == VEC_NMI) {
		nmi_handle(f);
		return;
	}
	if (v < 32) {
		if (trap_from_user(f)) {
			user_exception(f);     /* a signal, or lazy memory faulted in */
			exit_to_user_mode(f);
		} else {
			exception_handle(f);
		}
		return;
	}
	struct percpu *c = this_cpu();
	preempt_disable();              /* interrupt context: no preemption inside */
	c->irq_depth++;
	if (c->irq_depth > c->max_irq_depth)
		c->max_irq_depth = c->irq_depth;
	c->irq_count++;
	irq_handler_t fn = __atomic_load_n(&irq_table[v].fn, __ATOMIC_ACQUIRE);
	if (fn)
		fn(f, irq_table[v].arg);
	else
		pr_warn("unexpected interrupt, vector %#lx on CPU %u\n", (unsigned long)v, c->cpu_id);
	if (v != VEC_SPURIOUS)
		lapic_eoi();   /* before any switch: the next thread must get interrupts */
	c->irq_depth--;
	preempt_enable_no_resched();
	/* A starved virtual CPU gets our turns until the next interrupt - on
	 * the way out of the outermost interrupt only: a nested one (a
	 * higher-priority vector that interrupted a handler) leaves the
	 * request for the handler it returns to. */
	if (__builtin_expect(c->vcpu_lend, 0) && c->irq_depth == 0)
		vcpu_yield_lend(c);
	/* Preemption point: leaving the outermost interrupt to code that ran
	 * with interrupts enabled and no preemption-disabling lock held. The
	 * thread is switched out right here, with its trap frame on its stack,
	 * and resumes through entry.S's IRETQ when it is next picked. */
	if (trap_from_user(f)) {
		exit_to_user_mode(f);          /* preemption, signals: on the way out */
		return;
	}
	struct thread *cur = c->current;
	if (cur && cur->need_resched && c->irq_depth == 0 && c->preempt_count == 0 &&
	    (f->rflags & RFLAGS_IF))
		preempt_schedule_irq();
}

extern const struct extable_entry __extable_start[], __extable_end[];

static bool in_extable(uint64_t rip)
{
	for (const struct extable_entry *e = __extable_start; e < __extable_end; e++)
		if (e->insn == rip)
			return true;
	return false;
}

bool extable_fixup(struct trap_frame *f)
{
	for (const struct extable_entry *e = __extable_start; e < __extable_end; e++) {
		if (e->insn == f->rip) {
			f->rax = -14;   /* -EFAULT, for callers that want a result */
			f->rip = e->fixup;
			return true;
		}
	}
	return false;
}
