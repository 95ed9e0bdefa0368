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
#include <arch/switch.h>

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

/* Entry from anywhere clears RFLAGS.AC: ring 3 (POPF) or a uaccess copy in
 * progress may have set it, and with AC set SMAP lets ring 0 touch user
 * pages. The interrupt gate already cleared TF and NT (and IF); CLD
 * clears DF. IRETQ brings the interrupted AC back. Without SMAP, CLAC
 * would be #UD, and AC means nothing in ring 0. */
	.macro CLAC_IF_SMAP
	testb $1, uaccess_smap(%rip)
	jz 93f
	clac
93:
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
	CLAC_IF_SMAP                /* and AC: SMAP must hold in the handler */
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
	CLAC_IF_SMAP
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
 * cleared the RFLAGS bits in MSR_FMASK (IF, TF, DF, NT, AC: interrupts are
 * off, and SMAP is on whatever ring 3 did with AC), loaded the kernel
 * CS/SS, and changed nothing else: RSP is still the user's and GS still
 * the user's.
 *
 * The frame is the struct trap_frame an interrupt from ring 3 would build,
 * but the fast path writes only what it must (the null system call is the
 * template for every other, so each instruction here counts):
 *   written at entry: SS, RSP, RFLAGS, CS, RIP, the number (error_code,
 *     Linux's orig_rax, kept for restarts), RDI RSI RDX R10 R8 R9 (C may
 *     clobber them, and Linux preserves them) and RBP (zeroed for C so
 *     backtraces end here); vector = VEC_SYSCALL_PARTIAL;
 *   not written: RAX, the RCX/R11 copies of RIP/RFLAGS, and the
 *     callee-saved RBX, R12-R15, which C preserves: they hold the user's
 *     values in the registers whenever entry.S has control.
 * syscall_frame_complete fills those and sets vector = VEC_SYSCALL. It
 * runs before anything reads the whole frame: the slow exit (signals,
 * restarts, IRETQ), the slow dispatch, and the handlers that copy or
 * rewrite it (entered through syscall_full_frame below; kernel/syscall.c
 * says which). current_user_frame() checks the frame is complete.
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
	pushq $VEC_SYSCALL_PARTIAL          /* .vector */
	subq $TF_VECTOR, %rsp               /* RSP = the frame (r15 .. rdi below) */
	movq %rdi, TF_RDI(%rsp)
	movq %rsi, TF_RSI(%rsp)
	movq %rdx, TF_RDX(%rsp)
	movq %r10, TF_R10(%rsp)
	movq %r8, TF_R8(%rsp)
	movq %r9, TF_R9(%rsp)
	movq %rbp, TF_RBP(%rsp)
	xorl %ebp, %ebp                     /* backtraces end here */
	cmpq $SYSCALL_TABLE_SIZE, %rax      /* all 64 bits: a number with high bits */
	jae syscall_nr_slow                 /* set takes the slow way (Linux uses the low 32) */
	sti                                 /* system calls are preemptible */
	movq %r10, %rcx                     /* argument 4: R10 in the syscall ABI, RCX in C's */
	call *syscall_table(, %rax, 8)      /* RDI..R9 as the program set them */
syscall_after_handler:                  /* RAX = the result */
	cli                                 /* the checks and SYSRET are one step */
	movq %gs:PERCPU_CURRENT, %rcx
	cmpl $0, THREAD_EXIT_WORK(%rcx)     /* need-resched, signal, killed, rewritten */
	jne syscall_exit_slow
	leaq SYSCALL_RESTART_HI(%rax), %rcx /* -ERESTARTNOHAND..-ERESTARTSYS -> 0..2 */
	cmpq $(SYSCALL_RESTART_HI - SYSCALL_RESTART_LO), %rcx
	jbe syscall_exit_slow               /* a restart code: exit_to_user_mode() */
syscall_sysret:
	/* SYSRET-safe by construction: RCX and R11 from the frame's RIP and
	 * RFLAGS as SYSCALL gave them (or as exit_to_user_mode() checked
	 * them, sysret_safe()), RIP canonical (see <arch/usermode.h>). RBX,
	 * R12-R15 are the user's (C preserved them). */
	movq TF_RDI(%rsp), %rdi
	movq TF_RSI(%rsp), %rsi
	movq TF_RDX(%rsp), %rdx
	movq TF_R10(%rsp), %r10
	movq TF_R8(%rsp), %r8
	movq TF_R9(%rsp), %r9
	movq TF_RBP(%rsp), %rbp
	movq TF_RIP(%rsp), %rcx             /* SYSRET's RIP */
	movq TF_RFLAGS(%rsp), %r11          /* SYSRET's RFLAGS */
	movq TF_RSP(%rsp), %rsp             /* the user's RSP: kernel stack left */
	swapgs                              /* user GS base; no GS use after this */
	sysretq                             /* RIP = RCX, RFLAGS = R11, ring 3 */

/* The slow exit: work flagged on the thread, or a restart code. IRQs off,
 * RAX = the handler's result, RSP = the frame. */
syscall_exit_slow:
	call syscall_frame_complete
	movq %rax, TF_RAX(%rsp)             /* the result, where signals and restarts look */
	movq %rsp, %rdi
	call exit_to_user_mode              /* returns with IRQs off */
	testb %al, %al                      /* true: must leave by IRETQ */
	jnz interrupt_return
	movq TF_RAX(%rsp), %rax             /* maybe changed (-EINTR) */
	jmp syscall_sysret

/* A number >= SYSCALL_TABLE_SIZE (high bits set, or unknown): C decides. */
syscall_nr_slow:
	call syscall_frame_complete
	movq %rsp, %rdi
	call syscall_invoke_slow            /* enables IRQs; returns the result */
	jmp syscall_after_handler

/*
 * syscall_frame_complete: fill the slots syscall_entry left unwritten,
 * once (vector VEC_SYSCALL_PARTIAL -> VEC_SYSCALL); a frame that is
 * complete already (or that rt_sigreturn rewrote) is left alone. Call it
 * only from syscall_entry's paths or syscall_full_frame, while
 * RBX and R12-R15 hold the user's values. Uses R11 only: every argument
 * register survives, so a stub can jump on to its handler.
 */
syscall_frame_complete:
	movq %gs:PERCPU_KERNEL_STACK, %r11
	subq $TF_SIZE, %r11                 /* the user frame (user_frame_at) */
	cmpq $VEC_SYSCALL_PARTIAL, TF_VECTOR(%r11)
	jne 1f
	movq $VEC_SYSCALL, TF_VECTOR(%r11)
	movq %rbx, TF_RBX(%r11)
	movq %r12, TF_R12(%r11)
	movq %r13, TF_R13(%r11)
	movq %r14, TF_R14(%r11)
	movq %r15, TF_R15(%r11)
	movq %rax, TF_RAX(%r11)             /* RAX now: the number (the slow exit then
					     * stores the result over it) */
	pushq TF_RIP(%r11)                  /* RCX as SYSCALL left it: = RIP */
	popq TF_RCX(%r11)
	pushq TF_RFLAGS(%r11)               /* R11 as SYSCALL left it: = RFLAGS */
	popq TF_R11(%r11)
1:	ret

/* syscall_table's entry for a handler that reads or copies the whole
 * user frame (current_user_frame(); kernel/syscall.c chooses which):
 * complete it, then go on to the handler through syscall_full_frame_table,
 * RAX still the number (below SYSCALL_TABLE_SIZE) and the argument
 * registers untouched. */
	.globl syscall_full_frame
syscall_full_frame:
	call syscall_frame_complete
	jmp *syscall_full_frame_table(, %rax, 8)

/* void user_enter(struct trap_frame *f): first entry to ring 3 of a new
 * user thread. f is at the top of its kernel stack (where an entry from
 * ring 3 will put the next frame); the C stack below it is dead. Leave as
 * every other way out does: exit_to_user_mode() (pending work, the RIP
 * check), then the common IRETQ exit. */
	.globl user_enter
user_enter:
	cli
	movq %rdi, %rsp
	call exit_to_user_mode              /* returns with IRQs off */
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
