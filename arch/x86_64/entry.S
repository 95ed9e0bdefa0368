/*
 * entry.S - interrupt and exception entry and exit.
 *
 * Every IDT vector has a small stub that makes the stack look the same
 * for all vectors (a zero error code where the CPU pushes none, then the
 * vector number) and jumps to a common entry, which completes a
 * struct trap_frame (<arch/trap.h>) and calls trap_dispatch(frame).
 *
 * Which stack: an interrupt from ring 0 stays on the interrupted thread's
 * kernel stack (frames nest there, which is what makes kernel preemption
 * possible: the preempted thread's state is simply its stack). From
 * ring 3 the CPU loads TSS.RSP0, the running thread's kernel stack top.
 * #DF, NMI and #MC always switch to their own per-CPU IST stack.
 *
 * GS: the kernel's GS base must be live in C. An ordinary interrupt
 * knows where it came from by CS: from ring 3 it SWAPGSes on entry and
 * again just before IRETQ. NMI, #MC and #DF can arrive anywhere,
 * including between a SWAPGS and the IRETQ/SYSRET that follows it, so CS
 * does not tell them which GS is loaded: the "paranoid" entry reads
 * MSR_GS_BASE instead (kernel addresses are negative) and remembers in
 * RBX, a callee-saved register, whether it swapped.
 *
 * All gates are interrupt gates: IF is clear on entry. C code decides
 * whether to re-enable interrupts (nested interrupts are allowed by the
 * LAPIC's priority classes, see trap.c).
 */
#include <arch/trap.h>
#include <arch/percpu.h>

/* Exceptions for which the CPU pushes an error code. */
#define HAS_ERROR(v) ((v) == 8 || (v) == 10 || (v) == 11 || (v) == 12 || \
		      (v) == 13 || (v) == 14 || (v) == 17 || (v) == 21 || \
		      (v) == 29 || (v) == 30)
#define PARANOID(v) ((v) == VEC_DF || (v) == VEC_NMI || (v) == VEC_MC)

	.macro PUSH_REGS            /* fills trap_frame from rdi down to r15 */
	pushq %rdi
	pushq %rsi
	pushq %rdx
	pushq %rcx
	pushq %rax
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %rbx
	pushq %rbp
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	.endm

	.macro POP_REGS
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbp
	popq %rbx
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rax
	popq %rcx
	popq %rdx
	popq %rsi
	popq %rdi
	.endm

	.macro VECTOR_STUB v
	.align 16
vector_stub_\v:
	.if !HAS_ERROR(\v)
	pushq $0                    /* trap_frame.error_code */
	.endif
	pushq $\v                   /* trap_frame.vector */
	.if PARANOID(\v)
	jmp paranoid_entry
	.else
	jmp interrupt_entry
	.endif
	.endm

	.text
	.align 16
	.globl vector_stubs_start
vector_stubs_start:                 /* stub v is at vector_stubs_start + 16 * v */
	.altmacro
	.set v, 0
	.rept 256
	VECTOR_STUB %v
	.set v, v + 1
	.endr

/* Ordinary entry: exceptions and device interrupts, from ring 0 or 3. */
interrupt_entry:
	cld                         /* C expects DF clear; ring 3 may have set it */
	PUSH_REGS
	testb $3, TF_CS(%rsp)       /* from user mode? */
	jz 1f
	swapgs                      /* yes: load the kernel's GS base */
1:	xorl %ebp, %ebp             /* backtraces stop at the trap frame... */
	movq %rsp, %rdi
	call trap_dispatch          /* ...which trap.c prints by itself */
	.globl interrupt_return
interrupt_return:
	/* RSP points at a trap_frame; interrupts are off. */
	testb $3, TF_CS(%rsp)
	jz 2f
	swapgs                      /* back to the user's GS base; no GS use after this */
2:	POP_REGS
	addq $16, %rsp              /* drop vector and error code */
	iretq

/* Paranoid entry: NMI, #MC, #DF, always on their IST stack. */
paranoid_entry:
	cld
	PUSH_REGS
	movl $0xC0000101, %ecx      /* MSR_GS_BASE */
	rdmsr
	xorl %ebx, %ebx             /* RBX = 0: GS was already the kernel's */
	testl %edx, %edx            /* kernel GS base is a negative address */
	js 1f
	swapgs
	movl $1, %ebx               /* RBX = 1: swap back on exit */
1:	xorl %ebp, %ebp
	movq %rsp, %rdi
	call trap_dispatch
	testl %ebx, %ebx            /* RBX survived the call: callee-saved */
	jz 2f
	swapgs
2:	POP_REGS
	addq $16, %rsp
	iretq

/*
 * SYSCALL entry. The CPU has put the user RIP in RCX and RFLAGS in R11,
 * cleared the RFLAGS bits in MSR_FMASK (IF among them: interrupts are
 * off), loaded the kernel CS/SS, and changed nothing else: RSP is still
 * the user's and GS still the user's. We build the same struct trap_frame
 * an interrupt from ring 3 would (so signals, ptrace-like inspection and
 * the IRETQ exit need only one layout), with vector = VEC_SYSCALL and the
 * system-call number in error_code (Linux's orig_rax: kept for restarts).
 */
	.globl syscall_entry
syscall_entry:
	swapgs                              /* kernel GS base: per-CPU data */
	movq %rsp, %gs:PERCPU_USER_RSP      /* no free register: park user RSP */
	movq %gs:PERCPU_KERNEL_STACK, %rsp  /* this thread's kernel stack top */
	pushq $(GDT_USER_DS | 3)            /* trap_frame.ss */
	pushq %gs:PERCPU_USER_RSP           /* .rsp */
	pushq %r11                          /* .rflags */
	pushq $(GDT_USER_CS | 3)            /* .cs */
	pushq %rcx                          /* .rip */
	pushq %rax                          /* .error_code = system-call number */
	pushq $VEC_SYSCALL                  /* .vector */
	PUSH_REGS                           /* RCX/R11 land in .rcx/.r11 as well */
	xorl %ebp, %ebp                     /* backtraces end here */
	movq %r10, %rcx                     /* argument 4: R10 in the syscall ABI, RCX in C's */
	call syscall_dispatch               /* (RDI..R9 as the program set them); enables
					     * interrupts inside, returns with them off */
	testl %eax, %eax                    /* 0: the frame is as we built it (usermode.c) */
	jnz interrupt_return                /* else the general IRETQ path */
	/* R15..R12 and RBX still hold the user's values: C preserved them,
	 * and only rt_sigreturn rewrites them in the frame (it leaves by
	 * IRETQ). RBP was zeroed above, the rest are C's scratch registers. */
	addq $TF_RBP, %rsp                  /* skip .r15 .. .r12 */
	popq %rbp
	popq %rbx
	popq %r11                           /* = .rflags */
	popq %r10
	popq %r9
	popq %r8
	popq %rax                           /* the result */
	popq %rcx                           /* = .rip */
	popq %rdx
	popq %rsi
	popq %rdi
	movq TF_RSP - TF_VECTOR(%rsp), %rsp /* the user's RSP: kernel stack left */
	swapgs                              /* user GS base; no GS use after this */
	sysretq                             /* RIP = RCX, RFLAGS = R11, ring 3 */

/* void user_enter(struct trap_frame *f): first entry to ring 3 of a new
 * user thread. f is at the top of its kernel stack (where an entry from
 * ring 3 will put the next frame); leave through the common IRETQ exit. */
	.globl user_enter
user_enter:
	cli
	movq %rdi, %rsp
	jmp interrupt_return

	.section .rodata
	.align 8
	.globl vector_stub_table
vector_stub_table:             /* addresses of the 256 stubs, for idt.c */
	.set v, 0
	.rept 256
	.quad vector_stubs_start + v * 16
	.set v, v + 1
	.endr
