/* backtrace.h - walking the frame-pointer chain (arch/x86_64/backtrace.c).
 * The kernel is built with -fno-omit-frame-pointer: each frame starts with
 * the caller's RBP, and the return address sits just above it. */
#ifndef WEFT_BACKTRACE_H
#define WEFT_BACKTRACE_H
#include <stdint.h>

#define BACKTRACE_MAX 32
/* Print "  [<addr>] sym+off" lines starting with rip, then following rbp.
 * Stops at a null, misaligned or unmapped frame pointer. An interrupt or
 * exception taken in kernel mode does not end the walk: after its entry
 * (interrupt_return) comes the RIP it interrupted, marked "(interrupted
 * here)", and that code's callers. */
void backtrace_print(uint64_t rip, uint64_t rbp);
/* Fill pcs[] with return addresses (rip first; after interrupt_return, the
 * interrupted RIP itself); returns how many. */
int backtrace_collect(uint64_t rip, uint64_t rbp, uint64_t *pcs, int max);
#endif
