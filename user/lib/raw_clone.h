/* raw_clone.h - clone(2) without libc, for tests that need control over its
 * flags and arguments that pthread_create() does not give.
 *
 *   long raw_clone(flags, stack, ptid, ctid, tls, fn, arg);
 *
 * The x86-64 argument order: clone(flags, newsp, parent_tid, child_tid,
 * tls). Returns the child's tid (or -errno) in the caller. The child starts
 * with the caller's registers on `stack` and
 *  - if fn is NULL, exits at once (exit(0)) without touching memory, so
 *    `stack` may then be NULL (the child keeps the caller's stack pointer);
 *  - otherwise calls fn(arg) on `stack` (16-byte aligned top, required) and
 *    exits with its return value. fn runs without its own TLS unless
 *    CLONE_SETTLS gave one: it must not use errno or other thread-local
 *    libc state (raw syscalls and atomics are fine).
 * The child never returns from raw_clone(): it has no caller on its stack.
 */
#ifndef WEFT_USER_RAW_CLONE_H
#define WEFT_USER_RAW_CLONE_H
#include <stdint.h>

/* <linux/sched.h> values (musl-gcc has no kernel headers). */
#define RC_CLONE_VM             0x00000100
#define RC_CLONE_FS             0x00000200
#define RC_CLONE_FILES          0x00000400
#define RC_CLONE_SIGHAND        0x00000800
#define RC_CLONE_THREAD         0x00010000
#define RC_CLONE_SYSVSEM        0x00040000
#define RC_CLONE_SETTLS         0x00080000
#define RC_CLONE_PARENT_SETTID  0x00100000
#define RC_CLONE_CHILD_CLEARTID 0x00200000
#define RC_CLONE_CHILD_SETTID   0x01000000
/* What musl's pthread_create() passes, less the optional ones. */
#define RC_THREAD_FLAGS (RC_CLONE_VM | RC_CLONE_FS | RC_CLONE_FILES | RC_CLONE_SIGHAND | \
			 RC_CLONE_THREAD | RC_CLONE_SYSVSEM)

typedef long (*raw_clone_fn)(void *);

static inline long raw_clone(unsigned long flags, void *stack, int *ptid, int *ctid,
			     unsigned long tls, raw_clone_fn fn, void *arg)
{
	register long r10 __asm__("r10") = (long)ctid;
	register long r8 __asm__("r8") = (long)tls;
	/* fn and arg in callee-saved registers: the child gets the caller's
	 * registers (but RAX, RCX, R11), so it finds them there. */
	register long r12 __asm__("r12") = (long)fn;
	register long r13 __asm__("r13") = (long)arg;
	long ret;
	__asm__ volatile(
		"syscall\n\t"
		"test %%rax, %%rax\n\t"     /* the caller: the tid or -errno */
		"jnz 1f\n\t"
		"test %%r12, %%r12\n\t"     /* the child: a function to run? */
		"jz 2f\n\t"
		"xor %%ebp, %%ebp\n\t"      /* ends a debugger's backtrace here */
		"mov %%r13, %%rdi\n\t"
		"call *%%r12\n\t"           /* RSP = stack, 16-aligned: as after a call */
		"mov %%rax, %%rdi\n\t"
		"jmp 3f\n"
		"2:\n\t"
		"xor %%edi, %%edi\n"
		"3:\n\t"
		"mov $60, %%eax\n\t"        /* SYS_exit: this thread only */
		"syscall\n\t"
		"ud2\n"                     /* exit does not return */
		"1:"
		: "=a"(ret)
		: "0"(56L), "D"(flags), "S"(stack), "d"(ptid), "r"(r10), "r"(r8), "r"(r12), "r"(r13)
		: "rcx", "r11", "memory");
	return ret;
}
#endif
