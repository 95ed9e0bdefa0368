/* setjmp.S - kernel setjmp/longjmp; layout in <arch/setjmp.h>. */
#include <arch/setjmp.h>
	.text
	.globl setjmp
setjmp:                                   /* int setjmp(struct jmp_buf *jb in RDI) */
	movq %rbx, JB_RBX(%rdi)
	movq %rbp, JB_RBP(%rdi)
	movq %r12, JB_R12(%rdi)
	movq %r13, JB_R13(%rdi)
	movq %r14, JB_R14(%rdi)
	movq %r15, JB_R15(%rdi)
	leaq 8(%rsp), %rax                /* caller's RSP after our return */
	movq %rax, JB_RSP(%rdi)
	movq (%rsp), %rax                 /* our return address */
	movq %rax, JB_RIP(%rdi)
	xorl %eax, %eax
	ret

	.globl longjmp
longjmp:                                  /* void longjmp(jb in RDI, int val in ESI) */
	/* Uses no stack before RSP is reloaded: trap handlers enter here with
	 * the faulting RSP, which may point into a guard page. */
	movl %esi, %eax
	testl %eax, %eax
	jnz 1f
	incl %eax                         /* longjmp(jb, 0) returns 1, as in C */
1:	movq JB_RBX(%rdi), %rbx
	movq JB_RBP(%rdi), %rbp
	movq JB_R12(%rdi), %r12
	movq JB_R13(%rdi), %r13
	movq JB_R14(%rdi), %r14
	movq JB_R15(%rdi), %r15
	movq JB_RSP(%rdi), %rsp
	jmp *JB_RIP(%rdi)

/* void call_on_stack(void *arg in RDI, void (*fn)(void *) in RSI, uint64_t top in RDX)
 * Run fn(arg) on another stack and come back. RBP keeps the old stack
 * pointer, so the frame chain (and backtraces) continue into the caller. */
	.globl call_on_stack
call_on_stack:
	pushq %rbp
	movq %rsp, %rbp
	movq %rdx, %rsp
	call *%rsi
	movq %rbp, %rsp
	popq %rbp
	ret
