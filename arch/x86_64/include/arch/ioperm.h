/* ioperm.h - per-process I/O port permissions through the TSS I/O bitmap
 * (arch/x86_64/ioperm.c). */
#ifndef ARCH_IOPERM_H
#define ARCH_IOPERM_H
#include <stdint.h>

struct percpu;
struct process;

/* ioperm(from, num, turn_on): Linux semantics, -errno. */
long sys_ioperm(uint64_t from, uint64_t num, uint64_t turn_on);
/* Switch path: make c's bitmap p's (or all-denied for p == NULL or a
 * process without one). Cheap when nothing changes. IRQs off. */
void ioperm_switch(struct percpu *c, struct process *p);
/* p has no threads left and its bitmap is about to be freed: every CPU
 * with it loaded loads all ones. Thread context, preemption on (waits for
 * the other CPUs). */
void ioperm_forget(struct process *p);
#endif
