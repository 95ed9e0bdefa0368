/* setjmp.h - kernel setjmp/longjmp (arch/x86_64/setjmp.S).
 * Saves the callee-saved registers, RSP and the return address. */
#ifndef ARCH_SETJMP_H
#define ARCH_SETJMP_H
#define JB_RBX 0
#define JB_RBP 8
#define JB_R12 16
#define JB_R13 24
#define JB_R14 32
#define JB_R15 40
#define JB_RSP 48
#define JB_RIP 56
#ifndef __ASSEMBLER__
#include <stdint.h>
struct jmp_buf {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
};
__attribute__((returns_twice)) int setjmp(struct jmp_buf *jb);
__attribute__((noreturn)) void longjmp(struct jmp_buf *jb, int val);
#endif
#endif
