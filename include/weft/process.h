/* process.h - user processes: an address space and the threads running
 * in it (kernel/process.c, kernel/exec.c).
 *
 * A user thread is an ordinary weft thread (struct thread) with t->proc
 * set: it runs the program in ring 3 and enters the kernel by SYSCALL or
 * by an interrupt, on its own kernel stack. The process holds what its
 * threads share: the address space, signal handlers, process-wide pending
 * signals, the I/O permission bitmap, resource limits, the exit status.
 *
 * Locking: proc->lock (spinlock) guards the thread list, the counts, the
 * exit state and the signal tables.
 */
#ifndef WEFT_PROCESS_H
#define WEFT_PROCESS_H
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <weft/list.h>
#include <weft/spinlock.h>
#include <weft/wait.h>
#include <weft/thread.h>
#include <weft/signal.h>

#define NSIG 64

/* The kernel's copy of a struct sigaction (Linux x86-64 layout:
 * handler, flags, restorer, mask). */
struct k_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

#define RLIMIT_CPU     0
#define RLIMIT_FSIZE   1
#define RLIMIT_DATA    2
#define RLIMIT_STACK   3
#define RLIMIT_CORE    4
#define RLIMIT_NPROC   6   /* threads of the user (all of weft's processes) */
#define RLIMIT_NOFILE  7
#define RLIMIT_AS      9
#define RLIM_NLIMITS   16
#define RLIM_INFINITY  (~0ULL)

/* Where a process's standard output goes: the console, or (tests) a
 * buffer the kernel reads back. */
struct output_capture {
	char *buf;
	size_t size, len;
	bool overflowed;
};

struct process {
	int pid;
	char name[16];                 /* the program's base name */
	struct mm *mm;                 /* a reference */
	struct process *parent;        /* NULL for init and kernel-spawned ones */
	spinlock_t lock;
	struct list_head threads;      /* its live user threads (thread.proc_link) */
	unsigned nthreads;
	bool exiting;                  /* exit_group() or a fatal signal: threads leave */
	int exit_status;               /* wait status: code << 8, or the signal number */
	struct completion exited;      /* completed when the last thread has gone */
	uint64_t dead_cpu_ns;          /* CPU time of threads that have exited */

	struct k_sigaction actions[NSIG];
	uint64_t shared_pending;       /* kill(): for any thread that does not block it */
	struct k_siginfo shared_info[NSIG];
	uint8_t shared_rt_extra[NSIG]; /* queued real-time instances beyond the first */
	struct wait_queue sigwait;     /* threads in rt_sigtimedwait */

	uint8_t *iobitmap;             /* ioperm(): 8 KiB, bit clear = allowed; or NULL */
	uint64_t rlim[RLIM_NLIMITS][2];
	struct output_capture *capture;
	struct list_head all_link;     /* in the process list */
};

static inline struct process *current_process(void) { return current()->proc; }

/* Start `path` from the initramfs as a new process with these argument and
 * environment vectors (NULL-terminated). capture: NULL for the console.
 * Returns the process (to wait for), or NULL with *err = -errno. */
struct process *process_spawn(const char *path, const char *const argv[],
			      const char *const envp[], struct output_capture *capture, int *err);
/* Wait until p has exited; free it and return its wait status. */
int process_wait(struct process *p);
/* Is the wait status "exited with code" or "killed by a signal"? */
#define WSTATUS_EXITED(s)   (((s) & 0x7f) == 0)
#define WSTATUS_CODE(s)     (((s) >> 8) & 0xff)
#define WSTATUS_SIGNAL(s)   ((s) & 0x7f)

/* The calling user thread ends (exit()); the process ends with it if it
 * was the last. */
__attribute__((noreturn)) void process_thread_exit(int code);
/* End the whole process with this wait status (exit_group(), a fatal
 * signal); the calling thread leaves too. */
__attribute__((noreturn)) void process_exit_group(int status);
/* Create a user thread in the current process that starts in ring 3 at
 * frame f (clone()). Returns its tid, or -EAGAIN (RLIMIT_NPROC reached,
 * or the process is exiting), -ENOMEM, -EPERM (a CLONE_SETTLS base at or
 * above USER_TOP), -EFAULT (a CLONE_PARENT_SETTID address outside user
 * space). A tid returned names a thread that will run. */
int process_clone_thread(const void *frame, uint64_t stack, uint64_t tls,
			 uint64_t parent_tid, uint64_t child_tid, unsigned flags);

/* The console gets the output of processes without a capture. */
void process_write_output(struct process *p, const char *s, size_t n);

/* RLIMIT_NPROC of a new process (Linux's default, from the memory size)
 * and the number of user threads it counts against: all of them, since
 * every process runs as the one user, root. */
uint64_t process_default_nproc(void);
uint64_t process_user_threads(void);

/* Number of live processes (tests). */
unsigned process_count(void);
/* Print processes for the console (`ps`). */
void process_print_all(void);
#endif
