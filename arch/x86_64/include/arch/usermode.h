/* usermode.h - ring 3: SYSCALL setup, entering and leaving user mode, and
 * the per-thread user state the context switch carries
 * (arch/x86_64/usermode.c, entry.S).
 */
#ifndef ARCH_USERMODE_H
#define ARCH_USERMODE_H
#include <stdint.h>
#include <stdbool.h>
#include <arch/trap.h>
#include <weft/thread.h>
#include <weft/signal.h>

struct thread;
struct trap_frame;
struct percpu;

/* Per CPU at boot: SYSCALL MSRs, and SMEP/SMAP/UMIP when present. */
void usermode_init_cpu(void);
/* First entry to ring 3 through the IRETQ exit (entry.S); f must be at the
 * top of the current thread's kernel stack. Interrupts may be on. */
__attribute__((noreturn)) void user_enter(struct trap_frame *f);
/* The switch path (kernel/sched.c), IRQs off, run-queue lock held: save
 * prev's user state, load next's, switch address space when it differs. */
void user_switch_state(struct percpu *c, struct thread *prev, struct thread *next);
/* Leaving the kernel for ring 3 (after a system call, interrupt or
 * exception from user mode): handle need-resched, exit requests and
 * signals until none is left. Returns with interrupts off; the result is
 * true when the frame must leave by IRETQ rather than SYSRET. */
bool exit_to_user_mode(struct trap_frame *f);
/* How many times exit_to_user_mode() found a non-canonical RIP in a frame
 * bound for ring 3 and turned it into SIGSEGV instead of an IRETQ that
 * would #GP in ring 0 (tests read it: QEMU's TCG does not model that #GP,
 * so the program alone cannot tell the check ran). */
extern uint64_t usermode_bad_rips;

/*
 * The SYSCALL path is entry.S's: it calls the handler through
 * syscall_table and leaves by SYSRET at once unless the thread has exit
 * work (thread.exit_work: need-resched, a signal, killed, a rewritten
 * frame) or the result is a restart code; then exit_to_user_mode()
 * decides. A frame that left the fast way is SYSRET-safe by construction:
 * RCX = RIP and R11 = RFLAGS as SYSCALL gave them, and RIP the address
 * after a SYSCALL below USER_TOP, which leaves the last page of the lower
 * half unmapped (a SYSCALL in it could return to a non-canonical RIP,
 * a #GP in ring 0 on Intel CPUs).
 */
/* A number entry.S's fast check sends on (all 64 bits >= SYS_MAX), with
 * the frame complete and IRQs off: Linux uses its low 32 bits. Enables
 * IRQs; returns the result (kernel/syscall.c). */
long syscall_invoke_slow(struct trap_frame *f);
/* An exception from ring 3 (trap.c): resolve it or signal the thread. */
void user_exception(struct trap_frame *f);
/* A #PF in the kernel on a user address from uaccess code: true if
 * vm_fault() resolved it and the instruction may be retried. */
bool user_fault_from_kernel(struct trap_frame *f);
#endif
