/* trap.h - the register frame every interrupt and exception saves.
 *
 * arch/x86_64/entry.S builds a struct trap_frame on the stack the CPU
 * entered on (the interrupted thread's kernel stack, or an IST stack for
 * #DF, NMI and #MC): the CPU pushes SS..RIP (and an error code for some
 * exceptions), the vector stub pushes a zero error code where the CPU does
 * not plus the vector number, and the common entry pushes the general
 * registers. The TF_* offsets are what entry.S uses; trap.c checks them
 * against this struct with _Static_assert, so the two cannot drift apart.
 */
#ifndef ARCH_TRAP_H
#define ARCH_TRAP_H

#define TF_R15     0
#define TF_R14     8
#define TF_R13     16
#define TF_R12     24
#define TF_RBP     32
#define TF_RBX     40
#define TF_R11     48
#define TF_R10     56
#define TF_R9      64
#define TF_R8      72
#define TF_RAX     80
#define TF_RCX     88
#define TF_RDX     96
#define TF_RSI     104
#define TF_RDI     112
#define TF_VECTOR  120
#define TF_ERROR   128
#define TF_RIP     136
#define TF_CS      144
#define TF_RFLAGS  152
#define TF_RSP     160
#define TF_SS      168
#define TF_SIZE    176

/* Exception vectors (Intel SDM vol. 3, table 6-1). */
#define VEC_DE  0   /* divide error */
#define VEC_DB  1
#define VEC_NMI 2
#define VEC_BP  3   /* breakpoint (INT3) */
#define VEC_OF  4
#define VEC_BR  5
#define VEC_UD  6   /* invalid opcode */
#define VEC_NM  7
#define VEC_DF  8   /* double fault: IST_DOUBLE_FAULT */
#define VEC_TS  10
#define VEC_NP  11
#define VEC_SS  12
#define VEC_GP  13  /* general protection */
#define VEC_PF  14  /* page fault */
#define VEC_MF  16
#define VEC_AC  17
#define VEC_MC  18  /* machine check: IST_MACHINE_CHECK */
#define VEC_XM  19
#define VEC_VE  20
#define VEC_CP  21

/* Interrupt vectors weft assigns (the LAPIC's priority class is vector/16:
 * a higher class may interrupt a lower one's handler). */
#define VEC_IRQ_BASE   0x20   /* I/O APIC pins 0..23 -> 0x20..0x37 */
#define VEC_TEST_LOW   0x40   /* tests: nested-interrupt, low class */
#define VEC_TEST_HIGH  0xa0   /* tests: nested-interrupt, high class */
#define VEC_TIMER      0xef   /* LAPIC timer */
#define VEC_CALL       0xfc   /* IPI: run queued smp_call functions (kernel/smp.c) */
#define VEC_RESCHED    0xfd   /* IPI: reschedule; the handler only acknowledges */
#define VEC_SPURIOUS   0xff
#define VEC_SYSCALL    0x100  /* trap_frame.vector of a SYSCALL entry (not an IDT vector) */
#define VEC_SIGRETURN  0x101  /* ...after rt_sigreturn rewrote it: no restart, IRETQ exit */
#define SYSCALL_RESTART_LO 512  /* results -512..-514: ERESTARTSYS..ERESTARTNOHAND */
#define SYSCALL_RESTART_HI 514  /* (<weft/signal.h>), checked in usermode.c */
#define SYSCALL_TABLE_SIZE 512 /* entries of kernel/syscall.c's tables (= SYS_MAX) */
#define VEC_SYSCALL_PARTIAL 0x102 /* a SYSCALL frame the fast entry has not completed
				   * (entry.S: RAX, RBX, RCX, R11, R12-R15 unwritten) */

#ifndef __ASSEMBLER__
#include <stdint.h>
#include <stdbool.h>
#include <arch/setjmp.h>
#include <arch/percpu.h>

struct trap_frame {
	uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8;
	uint64_t rax, rcx, rdx, rsi, rdi;
	uint64_t vector;
	uint64_t error_code;
	/* pushed by the CPU: */
	uint64_t rip, cs, rflags, rsp, ss;
};

static inline bool trap_from_user(const struct trap_frame *f) { return f->cs & 3; }

/* A user thread's frame from ring 3 always sits at the top of its kernel
 * stack (TSS.RSP0 / percpu.kernel_stack_top point there). */
static inline struct trap_frame *user_frame_at(uint64_t kstack_top)
{
	return (struct trap_frame *)kstack_top - 1;
}

typedef void (*irq_handler_t)(struct trap_frame *f, void *arg);

/* Install the handler for an interrupt vector (0x20..0xfe). */
void irq_register(unsigned vector, irq_handler_t fn, void *arg);

/* Called by entry.S with interrupts off, for every vector. */
void trap_dispatch(struct trap_frame *f);

/* Load the IDT on this CPU (the table itself is shared). */
void idt_init(void);
void idt_load(void);

/* Print the full report of an exception: vector name, decoded error code,
 * CR2 for #PF, all registers, and a symbolized backtrace. */
void trap_report(const struct trap_frame *f, const char *why);
/* Just the register lines of that report (panic() uses them too). */
void trap_print_regs(const struct trap_frame *f);

/* Catching exceptions on purpose (tests). Arm with trap_catch_arm() and
 * check the setjmp result; the trap handler prints its normal report,
 * records what happened here, disarms, and resumes at the setjmp point
 * with the value 1. Works for every exception, #DF included, because the resume is a register-frame rewrite, not a return
 * into the faulting code. Only one catch may be armed per CPU. */
struct trap_catch {
	struct jmp_buf jb;
	unsigned expect_vector;   /* NMI (2) is never caught; others must match or we panic */
	bool caught;
	uint64_t vector, error_code, cr2, rip, rsp, handler_rsp;
};
#define trap_catch_arm(tc, vec)                                                 \
	({                                                                      \
		(tc)->expect_vector = (vec);                                    \
		(tc)->caught = false;                                           \
		this_cpu()->trap_catch = (tc);                                  \
		setjmp(&(tc)->jb);                                              \
	})
static inline void trap_catch_disarm(void) { percpu_write(trap_catch, (struct trap_catch *)0); }

/* Exception-table fix-ups: an instruction allowed to fault, and where to
 * resume when it does (uaccess, MSR probes). */
struct extable_entry {
	uint64_t insn, fixup;
};
bool extable_fixup(struct trap_frame *f);
#endif
#endif
