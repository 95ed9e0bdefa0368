/* thread.h - kernel threads (kernel/thread.c) and the scheduler's view of
 * them (kernel/sched.c).
 *
 * A thread's registers live on its own kernel stack while it is switched
 * out; the structure keeps only the stack pointer (saved_rsp, first field:
 * switch.S addresses it at offset 0).
 */
#ifndef WEFT_THREAD_H
#define WEFT_THREAD_H
#include <stdint.h>
#include <stdbool.h>
#include <weft/list.h>
#include <weft/kstack.h>
#include <weft/wait.h>
#include <arch/percpu.h>

struct process;
struct mm;
struct user_signals;

enum thread_state {
	THREAD_RUNNING,          /* on a CPU now */
	THREAD_RUNNABLE,         /* on a run queue, waiting for a CPU */
	THREAD_INTERRUPTIBLE,    /* asleep; woken by its event, a timeout or thread_kill() */
	THREAD_UNINTERRUPTIBLE,  /* asleep; woken only by its event or a timeout */
	THREAD_ZOMBIE,           /* exited; waiting to be joined */
	THREAD_DEAD,             /* joined or reaped; memory about to be freed */
};

#define THREAD_NAME_LEN 24
#define PRIO_MIN  (-20)          /* highest priority (weight 88761) */
#define PRIO_MAX  19             /* lowest (weight 15) */
#define PRIO_DEFAULT 0           /* weight 1024 */

struct thread {
	uint64_t saved_rsp;          /* THREAD_SAVED_RSP: valid while switched out */
	/* Work that stops a return to user mode from taking the fast way
	 * out (arch/x86_64/usermode.c): one byte each, so one 32-bit load
	 * tests them all. */
	union {
		volatile uint32_t exit_work;
		struct {
			volatile bool need_resched; /* THREAD_NEED_RESCHED: set by the timer or
						     * a wakeup; checked on IRQ exit and
						     * preempt_enable() */
			volatile bool sigpending;   /* a signal it does not block waits
						     * (kernel/signal.c) */
			volatile bool killed;       /* thread_kill() was called */
			volatile bool frame_rewritten; /* rt_sigreturn replaced its user
							* frame: leave by the slow way */
		};
	};
	/* Fixed at creation: */
	struct kstack stack;
	int tid;
	char name[THREAD_NAME_LEN];
	struct thread *parent;
	bool idle;                   /* the per-CPU idle thread: never queued */

	/* Scheduler state, guarded by the run-queue lock of `cpu`: */
	volatile int state;          /* enum thread_state */
	int cpu;                     /* CPU whose run queue owns this thread; changes
				      * only under that queue's lock *and* the lock of
				      * the queue it moves to (kernel/sched.c: a wakeup
				      * placing it, balancing, an affinity change) */
	uint64_t affinity;           /* cpumask_t: the CPUs it may run on (bit n = CPU n;
				      * may name CPUs that are not online). Written
				      * under the run-queue lock of `cpu` */
	volatile bool on_cpu;        /* its stack is in use by a CPU (until schedule_tail) */
	/* No saved preempt count: the count is per-CPU (struct percpu) and is
	 * zero at every switch (schedule() refuses to run otherwise, and the
	 * run-queue lock is held with interrupts off instead of preemption
	 * off), so there is never anything to save. */
	int prio;                    /* -20..19, nice-style */
	uint32_t weight;
	uint64_t vruntime;           /* weighted CPU time: the fair-queue key */
	uint64_t exec_start_ns;      /* running: when it was last charged (it got the CPU,
				      * or a tick); queued: when it was woken or created,
				      * or last ran; asleep: about when it went to sleep
				      * (kernel/lockup.c reads it, unlocked) */
	uint64_t cpu_time_ns;        /* total CPU time used */
	uint64_t nr_switches;
	struct thread *heap_left, *heap_right; /* run-queue leftist heap links */
	struct thread *heap_parent;  /* NULL at the root (and outside the heap): lets
				      * balancing take out a thread that is not first */
	uint32_t heap_rank;
	uint64_t heap_seq;           /* FIFO tie-break among equal vruntimes */

	/* Sleeping: */
	const char *wait_name;       /* what it sleeps on (for `ps`), or NULL */
	volatile bool timed_out;
	bool wait_exempt;            /* waits for another thread or process to end: not
				      * a hung thread however long (set by itself) */
	uint64_t hung_reported;      /* exec_start_ns when last reported hung (lockup.c,
				      * thread list lock) */

	/* User threads (kernel/process.c); all zero/NULL for kernel threads.
	 * Written by the thread itself, or before it first runs: */
	struct process *proc;        /* the process it belongs to */
	struct mm *mm;               /* proc->mm, for the switch path */
	uint64_t fs_base;            /* TLS pointer (arch_prctl ARCH_SET_FS) */
	void *fpu;                   /* its FPU/SSE/AVX save area (arch/x86_64/fpu.c) */
	uint64_t clear_child_tid;    /* user address zeroed + futex-woken at exit */
	uint64_t robust_list, robust_len;
	struct list_head proc_link;  /* in proc->threads, under proc->lock */
	struct user_signals *sig;    /* per-thread signal state (kernel/signal.c) */
	bool pi_boosted;             /* priority lent by a PI-futex waiter (kernel/futex.c) */
	int pi_saved_prio;
	bool futex_exited;           /* futex_exit() done: no PI lock waits for it (futex_pi.c) */

	/* Exit and join, guarded by thread_list_lock: */
	void *exit_value;
	bool detached;
	bool joined;
	struct wait_queue join_wq;   /* joiners wait here for state == ZOMBIE */
	struct list_head all_link;   /* on the all-threads list */
};

typedef void *(*thread_fn)(void *arg);

/* Create a runnable thread that runs fn(arg) and exits with its return
 * value. NULL if out of memory. Not callable from interrupt context. */
struct thread *thread_create(thread_fn fn, void *arg, const char *name);
/* The same, detached: reaped automatically when it exits. */
struct thread *thread_create_detached(thread_fn fn, void *arg, const char *name);
/* The same, bound to CPU `cpu` (an online CPU, 0 .. cpu_count-1): it is
 * queued there, runs only there, and a wakeup always puts it back there.
 * NULL if out of memory or `cpu` is not online. */
struct thread *thread_create_on(unsigned cpu, thread_fn fn, void *arg, const char *name);
/* In two steps, for a creator that must finish a thread before it can run
 * or be found by its process (user threads: kernel/process.c):
 * thread_prepare() makes a detached thread with its tid, stack and first
 * frame (fn(arg)) that is on no run queue (NULL if out of memory); the
 * creator may fill in its fields and the top of its stack; then either
 * thread_launch() makes it runnable - from then on it may run, exit and be
 * freed at any moment, so the creator must not touch it after the call
 * (read t->tid before) - or thread_discard() frees it unlaunched (the
 * caller first frees what it attached). */
struct thread *thread_prepare(thread_fn fn, void *arg, const char *name);
void thread_launch(struct thread *t);
void thread_discard(struct thread *t);
/* Bind t to `cpu`, or let it run anywhere (-1): sched_set_affinity_mask()
 * (<weft/sched.h>) with one CPU or all of them, with the same rules. -EINVAL
 * for a CPU that is not online or an idle thread. A thread created by
 * thread_create() or thread_create_detached() starts with its creator's
 * mask, as on Linux. */
int thread_set_affinity(struct thread *t, int cpu);
/* End the calling thread. */
__attribute__((noreturn)) void thread_exit(void *value);
/* Wait for t to exit, free it, return its value. -EINVAL-like misuse panics. */
void *thread_join(struct thread *t);
/* Mark t killed and wake it if it sleeps interruptibly. */
void thread_kill(struct thread *t);
bool thread_killed(const struct thread *t);
/* An interruptible sleep of t must end: killed, or a signal to handle. */
static inline bool thread_interrupted(const struct thread *t) { return t->killed || t->sigpending; }
void thread_set_priority(struct thread *t, int prio);
/* Give the CPU to another runnable thread of this CPU if there is one,
 * even one that is owed less than we are (sched_yield(), "back of the
 * queue"); the caller runs again at its next fair turn. With nothing else
 * runnable it returns at once. */
void thread_yield(void);
/* Sleep at least ns nanoseconds (uninterruptible). */
void thread_sleep(uint64_t ns);
/* Interruptible: 0, or -EINTR if killed first. */
int thread_sleep_interruptible(uint64_t ns);
/* Until clock_monotonic_ns() >= deadline: 0, or -EINTR. */
int thread_sleep_until_interruptible(uint64_t deadline);

static inline struct thread *current(void) { return percpu_read(current); }

/* Number of threads that exist (any state), and a lookup by id. The
 * thread found may exit and be freed at any moment after the lookup
 * unless the caller keeps it alive by other means (it is current, a
 * joinable thread it created, an idle thread). */
uint64_t thread_count(void);
struct thread *thread_find(int tid);

/* `ps` and `bt ID` */
void thread_print_all(void);
int thread_backtrace(int tid);
/* Every thread's state, flags and kernel stack (and user RIP): for hang
 * reports. Any context; does not wait for locks the caller may hold. */
void thread_dump_all(void);
/* Call fn(t, arg) for every thread with the thread list lock held and
 * interrupts off; false, calling nothing, if the lock is taken (any
 * context: the caller tries again later). With keep, the lock stays held
 * on success until thread_for_each_done(), so the threads fn picked stay
 * allocated while the caller reports them. */
bool thread_for_each_try(void (*fn)(struct thread *t, void *arg), void *arg, bool keep);
void thread_for_each_done(void);
/* The kernel backtrace of a switched-out thread (or of the caller); a line
 * saying so for one running on another CPU. */
void thread_print_stack(struct thread *t);

/* Boot: turn the running boot context into a thread, start the idle
 * thread and the scheduler on this CPU. */
void sched_init(void);
/* SMP bring-up (arch/x86_64/smpboot.c), boot CPU: the idle thread of CPU
 * `cpu`, listed like any thread; its stack is where that CPU's first C
 * code runs. NULL if out of memory. thread_destroy_idle() frees one whose
 * CPU never came up. */
struct thread *thread_create_idle(unsigned cpu);
void thread_destroy_idle(struct thread *idle);
/* Internal (schedule_tail): free a detached zombie whose stack is no longer in use. */
void thread_reap_if_detached(struct thread *t);
#endif
