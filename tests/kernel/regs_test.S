/*
 * regs_test.S - do the callee-saved registers survive context switches?
 *
 * uint64_t regs_test_run(uint64_t seed in RDI, uint64_t iterations in RSI,
 *                        void (*fn)(void *) in RDX, void *arg in RCX,
 *                        uint64_t spin in R8)
 *
 * Loads six distinct 64-bit patterns derived from `seed` into RBX, RBP and
 * R12-R15, then `iterations` times: calls fn(arg) (which yields, or spins
 * until the timer preempts it), busy-loops `spin` times with every pattern
 * still live in its register (so a timer interrupt can land here too), and
 * compares the six registers with their patterns. Returns the total number
 * of (register, iteration) mismatches; 0 means every switch restored them.
 * After a mismatch the patterns are reloaded, so each call is judged on its
 * own.
 *
 * To its own C caller this is an ordinary SysV function: it saves and
 * restores the caller's callee-saved registers around all this. RBP holds a
 * pattern, not a frame pointer, while the loop runs: everything the loop
 * needs lives at fixed offsets from RSP instead.
 *
 * void regs_test_clobber(void *arg)
 *
 * A deliberately broken callback for the self-check: it overwrites all six
 * callee-saved registers and returns, as a context switch that lost them
 * would. regs_test_run() must then count 6 mismatches per iteration.
 */

/* The local frame below the six saved registers (offsets from RSP). The
 * .L names stay out of the symbol table. */
	.set .Lrt_fn, 0      /* fn */
	.set .Lrt_arg, 8     /* arg */
	.set .Lrt_left, 16   /* iterations still to run */
	.set .Lrt_bad, 24    /* mismatches so far */
	.set .Lrt_spin, 32   /* spin count */
	.set .Lrt_pat, 40    /* six patterns: RBX, RBP, R12, R13, R14, R15 */
	.set .Lrt_size, 88   /* 88 = 8 (mod 16): see the SUBQ below */

	.text

/* Load all six pattern registers from the frame. */
.macro LOAD_PATTERNS
	movq .Lrt_pat+0(%rsp), %rbx
	movq .Lrt_pat+8(%rsp), %rbp
	movq .Lrt_pat+16(%rsp), %r12
	movq .Lrt_pat+24(%rsp), %r13
	movq .Lrt_pat+32(%rsp), %r14
	movq .Lrt_pat+40(%rsp), %r15
.endm

/* RAX += (reg != its pattern). Clobbers RCX only. */
.macro CHECK reg, slot
	xorl %ecx, %ecx                   /* SETNE writes only CL: clear the rest first */
	cmpq .Lrt_pat+\slot(%rsp), \reg
	setne %cl
	addq %rcx, %rax
.endm

	.globl regs_test_run
	.type regs_test_run, @function
regs_test_run:
	pushq %rbp                        /* the caller's callee-saved registers: */
	pushq %rbx                        /* we overwrite all six with patterns */
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	subq $.Lrt_size, %rsp             /* RSP was 8 (mod 16) at entry (return address), */
	                                  /* 6 pushes keep it 8, 88 more make it 0: the ABI's */
	                                  /* alignment at the CALL below */

	movq %rdx, .Lrt_fn(%rsp)          /* argument registers are caller-saved: */
	movq %rcx, .Lrt_arg(%rsp)         /* fn may clobber them, so keep copies */
	movq %rsi, .Lrt_left(%rsp)
	movq %r8, .Lrt_spin(%rsp)
	movq $0, .Lrt_bad(%rsp)

	/* pattern[k] = (seed + k + 1) * 0x9e3779b97f4a7c15 for k = 0..5: the
	 * odd constant of Fibonacci hashing. Multiplying by an odd number is a
	 * bijection mod 2^64, so distinct (seed + k + 1) give distinct
	 * patterns, with bits set all over the register. Seeds of different
	 * threads must differ by more than 6 to keep all their patterns apart. */
	movabsq $0x9e3779b97f4a7c15, %r9  /* IMUL has no 64-bit immediate form */
	xorl %ecx, %ecx                   /* k */
1:	leaq 1(%rdi,%rcx), %rax           /* seed + k + 1 */
	imulq %r9, %rax                   /* low 64 bits of the product */
	movq %rax, .Lrt_pat(%rsp,%rcx,8)
	incq %rcx
	cmpq $6, %rcx
	jb 1b

	LOAD_PATTERNS

.Lrt_loop:
	cmpq $0, .Lrt_left(%rsp)
	je .Lrt_done
	movq .Lrt_arg(%rsp), %rdi
	call *.Lrt_fn(%rsp)               /* may switch away: yield, or preempted inside */

	movq .Lrt_spin(%rsp), %rax        /* spin with all six patterns live, so a */
	testq %rax, %rax                  /* timer interrupt (and the preemption on its */
	jz 3f                             /* exit path) can strike while they are in */
2:	decq %rax                         /* registers rather than saved by fn */
	jnz 2b
3:	xorl %eax, %eax                   /* mismatches in this iteration */
	CHECK %rbx, 0
	CHECK %rbp, 8
	CHECK %r12, 16
	CHECK %r13, 24
	CHECK %r14, 32
	CHECK %r15, 40
	testq %rax, %rax
	jz 4f
	addq %rax, .Lrt_bad(%rsp)
	LOAD_PATTERNS                     /* judge the next iteration on its own */
4:	decq .Lrt_left(%rsp)
	jmp .Lrt_loop

.Lrt_done:
	movq .Lrt_bad(%rsp), %rax         /* return value */
	addq $.Lrt_size, %rsp
	popq %r15                         /* give the caller its registers back */
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size regs_test_run, . - regs_test_run

	.globl regs_test_clobber
	.type regs_test_clobber, @function
regs_test_clobber:
	/* Breaks the ABI on purpose: no save, no restore. RET needs only RSP. */
	xorl %ebx, %ebx
	xorl %ebp, %ebp
	movq %rdi, %r12                   /* arg: some value unlike any pattern */
	movq %rdi, %r13
	notq %r13
	xorl %r14d, %r14d
	movq $-1, %r15
	ret
	.size regs_test_clobber, . - regs_test_clobber
