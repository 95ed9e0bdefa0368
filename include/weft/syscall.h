/* syscall.h - the system-call table (kernel/syscall.c) and the handlers'
 * shared conventions.
 *
 * Numbers, arguments and results are Linux x86-64's: the number in RAX,
 * arguments in RDI, RSI, RDX, R10, R8, R9, the result in RAX, -errno on
 * failure. Each handler receives the six arguments; one that needs the
 * whole register frame (clone, rt_sigreturn) finds it with
 * current_user_frame().
 */
#ifndef WEFT_SYSCALL_H
#define WEFT_SYSCALL_H
#include <stdint.h>
#include <arch/trap.h>
#include <weft/thread.h>
#include <weft/panic.h>

typedef long (*syscall_fn)(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			   uint64_t a5);

/* Boot: apply the strace option to the dispatch table. */
void syscall_init(void);
/* The entry frame of the current user thread. In a system call only the
 * handlers kernel/syscall.c marks as needing the full frame may call it:
 * the fast entry leaves part of the frame unwritten (entry.S). */
static inline struct trap_frame *current_user_frame(void)
{
	struct trap_frame *f = user_frame_at(current()->stack.top);
	BUG_ON(f->vector == VEC_SYSCALL_PARTIAL);
	return f;
}
/* Called through the table (number: handler). */
#define SYS_read            0
#define SYS_write           1
#define SYS_mmap            9
#define SYS_mprotect        10
#define SYS_munmap          11
#define SYS_brk             12
#define SYS_rt_sigaction    13
#define SYS_rt_sigprocmask  14
#define SYS_rt_sigreturn    15
#define SYS_ioctl           16
#define SYS_writev          20
#define SYS_sched_yield     24
#define SYS_madvise         28
#define SYS_nanosleep       35
#define SYS_getpid          39
#define SYS_clone           56
#define SYS_exit            60
#define SYS_kill            62
#define SYS_uname           63
#define SYS_gettimeofday    96
#define SYS_getrlimit       97
#define SYS_getrusage       98
#define SYS_getuid          102
#define SYS_getgid          104
#define SYS_geteuid         107
#define SYS_getegid         108
#define SYS_getppid         110
#define SYS_rt_sigpending   127
#define SYS_rt_sigtimedwait 128
#define SYS_sigaltstack     131
#define SYS_prctl           157
#define SYS_arch_prctl      158
#define SYS_setrlimit       160
#define SYS_ioperm          173
#define SYS_gettid          186
#define SYS_tkill           200
#define SYS_futex           202
#define SYS_sched_setaffinity 203
#define SYS_sched_getaffinity 204
#define SYS_set_tid_address 218
#define SYS_clock_gettime   228
#define SYS_clock_getres    229
#define SYS_clock_nanosleep 230
#define SYS_exit_group      231
#define SYS_tgkill          234
#define SYS_set_robust_list 273
#define SYS_get_robust_list 274
#define SYS_prlimit64       302
#define SYS_MAX             512

/* clone() flags */
#define CLONE_VM             0x00000100
#define CLONE_FS             0x00000200
#define CLONE_FILES          0x00000400
#define CLONE_SIGHAND        0x00000800
#define CLONE_THREAD         0x00010000
#define CLONE_SYSVSEM        0x00040000
#define CLONE_SETTLS         0x00080000
#define CLONE_PARENT_SETTID  0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000
#define CLONE_DETACHED       0x00400000
#define CLONE_CHILD_SETTID   0x01000000
#endif
