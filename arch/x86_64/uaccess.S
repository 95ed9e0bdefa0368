/*
 * uaccess.S - copies to and from user memory that may fault.
 *
 * Each instruction that touches user memory has an exception-table entry
 * (section .extable: the faulting address and where to resume). trap.c
 * first tries to resolve a #PF on a user address through vm_fault(); if
 * that fails, extable_fixup() puts -EFAULT in RAX and resumes at the
 * fix-up, which ends the copy. RSI/RDI/RCX are caller-saved, so a partial
 * copy leaves nothing to clean up.
 *
 * SMAP: when CR4.SMAP is on (uaccess_smap = 1), supervisor accesses to
 * user pages fault unless RFLAGS.AC is set; STAC/CLAC bracket exactly the
 * string instructions below. Without SMAP those instructions would #UD,
 * so they are skipped.
 */
#include <weft/errno.h>

	.macro EXTABLE insn, fixup
	.pushsection .extable, "a"
	.quad \insn, \fixup
	.popsection
	.endm

	.macro USER_ACCESS_BEGIN
	testb $1, uaccess_smap(%rip)
	jz 91f
	stac                        /* allow user-page access (SMAP) */
91:
	.endm

	.macro USER_ACCESS_END
	testb $1, uaccess_smap(%rip)
	jz 92f
	clac                        /* and forbid it again */
92:
	.endm

	.data
	.globl uaccess_smap
uaccess_smap:
	.byte 0

	.text
/* int __copy_user(void *dst (RDI), const void *src (RSI), size_t n (RDX)) */
	.globl __copy_user
__copy_user:
	USER_ACCESS_BEGIN
	movq %rdx, %rcx
1:	rep movsb                   /* may fault on either side's user page */
	xorl %eax, %eax
2:	USER_ACCESS_END
	ret
	EXTABLE 1b, 2b              /* fault: RAX = -EFAULT, resume at the exit */

/* int __clear_user(void *dst (RDI), size_t n (RSI)) */
	.globl __clear_user
__clear_user:
	USER_ACCESS_BEGIN
	movq %rsi, %rcx
	xorl %eax, %eax
1:	rep stosb
	xorl %eax, %eax
2:	USER_ACCESS_END
	ret
	EXTABLE 1b, 2b

/* int __user_cmpxchg32(uint32_t *uaddr (RDI), uint32_t *old (RSI), uint32_t new (EDX)) */
	.globl __user_cmpxchg32
__user_cmpxchg32:
	movl (%rsi), %eax           /* expected value */
	USER_ACCESS_BEGIN
1:	lock cmpxchgl %edx, (%rdi)  /* EAX = the value found */
	movl %eax, (%rsi)
	xorl %eax, %eax
2:	USER_ACCESS_END
	ret
	EXTABLE 1b, 2b
