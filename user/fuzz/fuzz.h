/* fuzz.h - weft's system-call fuzzer: what its parts share.
 *
 * The program (fuzz_main.c) is a supervisor thread and W worker threads.
 * Each worker draws calls from the table (fuzz_calls.c) with a PRNG seeded
 * from (seed, round, worker, generation), builds their arguments with the
 * generators (fuzz_args.c) and issues them raw. Workers use nothing from
 * libc (no TLS, no errno, no stack protector: a fuzzed arch_prctl may move
 * their FS base), so only the supervisor calls into musl.
 *
 * Memory the kernel may write through a fuzzed pointer is only the junk
 * region and the arena; the fuzzer's own state is never a target. Calls
 * that change mappings (mmap MAP_FIXED, munmap, mprotect, madvise) get
 * addresses only in the arena, in ranges the worker mapped itself, or
 * addresses no call may accept (kernel half, non-canonical, unaligned).
 */
#ifndef FUZZ_H
#define FUZZ_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FZ_PAGE          4096UL
#define FZ_MAX_WORKERS   16
#define FZ_ARENA_BASE    0x200000000000UL   /* 32 TiB: far from the image, heap and stack */
#define FZ_ARENA_PAGES   256UL
#define FZ_USER_TOP      0x00007ffffffff000UL   /* the end of user space (x86-64, 4-level) */
#define FZ_JUNK_PAGES    16UL                /* then one PROT_NONE and one read-only page */
#define FZ_POOL_WORDS    8                   /* futex words shared by all workers */
#define FZ_MAPS          16                  /* mappings a worker remembers */
#define FZ_CHILD_STACKS  4
#define FZ_CHILD_STACK   8192
#define FZ_WORKER_STACK  (64 * 1024)
#define FZ_MAX_CALLS     64                  /* entries of fz_calls[] */

/* Signals: the supervisor interrupts a worker's long call with SIGUSR1
 * (handler without SA_RESTART); workers send each other only the
 * "sent" signals, whose actions stay harmless. */
#define FZ_SIG_POKE 10                        /* SIGUSR1 */

/* splitmix64: one 64-bit state, full period, good enough mixing. */
struct fz_rng {
	uint64_t s;
};

static inline uint64_t fz_next(struct fz_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t fz_below(struct fz_rng *r, uint64_t n) { return n ? fz_next(r) % n : 0; }
static inline bool fz_chance(struct fz_rng *r, unsigned percent) { return fz_below(r, 100) < percent; }
#define FZ_PICK(r, arr) ((arr)[fz_below((r), sizeof(arr) / sizeof((arr)[0]))])

/* One call as it is about to be issued. bound_ns: the call must return
 * within about this long (it was given a short timeout or nothing to wait
 * for); 0: it may block until a signal or another thread ends it. */
struct fz_args {
	uint64_t a[6];
	uint64_t bound_ns;
};

struct fz_map {
	uint64_t addr, len;
};

/* A worker. The supervisor reads calls, cur, in_call to see progress. */
struct fz_worker {
	int slot;
	unsigned generation;
	volatile int tid_word;            /* CLONE_CHILD_CLEARTID clears it at exit */
	int tid;
	struct fz_rng rng;
	volatile uint64_t calls;          /* finished calls */
	volatile int cur;                 /* index in fz_calls of the latest call, or -1 */
	struct fz_args cur_args;          /* its arguments (for reports) */
	volatile bool in_call;            /* cur is in flight */
	volatile bool exiting;            /* it chose to exit (the "exit" op) */
	volatile bool done;               /* it reached --iters and left */
	struct fz_map maps[FZ_MAPS];      /* what its mmaps returned */
	uint32_t ncalls[FZ_MAX_CALLS], nok[FZ_MAX_CALLS];   /* per table entry: issued, >= 0 */
	/* Structured arguments (timespecs, sigsets, iovecs) are built here,
	 * never a target of another worker's pointers. */
	uint64_t build[512] __attribute__((aligned(64)));
	uint8_t altstack[16384] __attribute__((aligned(16)));   /* a good sigaltstack */
	uint8_t child_stacks[FZ_CHILD_STACKS][FZ_CHILD_STACK] __attribute__((aligned(16)));
	uint8_t stack[FZ_WORKER_STACK] __attribute__((aligned(16)));
};

/* What every worker may look at. */
struct fz_env {
	int pid;
	uint64_t junk;                    /* FZ_JUNK_PAGES RW, then PROT_NONE, then read-only */
	uint64_t brk0;                    /* the break when we started: never shrink below */
	unsigned nworkers;
	volatile int tids[FZ_MAX_WORKERS];
	volatile bool stop;
	volatile int *pool;               /* FZ_POOL_WORDS futex words, in the junk region */
};
extern struct fz_env fz_env;
extern struct fz_worker fz_workers[FZ_MAX_WORKERS];

/* A table entry. gen fills the arguments; run, if set, issues the call
 * itself (clone, exit, memory touches), else the raw system call nr is. */
struct fz_call {
	const char *name;
	long nr;
	unsigned weight;
	void (*gen)(struct fz_worker *w, struct fz_args *c);
	long (*run)(struct fz_worker *w, struct fz_args *c);
};
extern const struct fz_call fz_calls[];
extern const unsigned fz_ncalls;

static inline long fz_syscall6(long nr, uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			       uint64_t a5)
{
	register uint64_t r10 __asm__("r10") = a3;   /* the 4th argument register of SYSCALL */
	register uint64_t r8 __asm__("r8") = a4;
	register uint64_t r9 __asm__("r9") = a5;
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");   /* SYSCALL clobbers RCX (RIP) and R11 (RFLAGS) */
	return ret;
}
#define fz_sys(nr, a0, a1, a2) fz_syscall6((nr), (uint64_t)(a0), (uint64_t)(a1), (uint64_t)(a2), 0, 0, 0)

uint64_t fz_now_ns(void);

/* fuzz_args.c: argument values that matter. */
uint64_t fz_gen_int(struct fz_rng *r);
uint64_t fz_gen_len(struct fz_rng *r);
uint64_t fz_gen_bad_ptr(struct fz_rng *r);           /* unmapped (we never map the top page), or not user */
uint64_t fz_gen_kernel_ptr(struct fz_rng *r);        /* never a user address */
uint64_t fz_gen_ptr(struct fz_worker *w);             /* any: junk, arena, edges, bad */
uint64_t fz_gen_in_ptr(struct fz_worker *w);          /* the kernel only reads: also our text */
uint64_t fz_gen_mm_addr(struct fz_worker *w);         /* for calls that change mappings */
uint64_t fz_gen_mm_len(struct fz_worker *w, uint64_t addr);
uint64_t fz_mm_room(struct fz_worker *w, uint64_t addr);   /* bytes from addr we may remap */
uint64_t fz_gen_timespec(struct fz_worker *w, int slot, uint64_t *bound_ns);
uint64_t fz_gen_own_tid(struct fz_worker *w);         /* ours, 0, -1, or no one's */
int fz_gen_sent_signal(struct fz_rng *r);
int fz_gen_futex_word(struct fz_worker *w, uint64_t *addr);
void fz_note_map(struct fz_worker *w, uint64_t addr, uint64_t len);

/* fuzz_ops.c: what cannot be a plain system call - clone (the child
 * needs a stack and code), a worker's own exit, touching memory - and the
 * signal handlers. */
long fz_raw_clone(uint64_t flags, uint64_t stack_top, uint64_t ptid, uint64_t ctid, uint64_t tls,
		  void (*fn)(void *), void *arg);
void fz_restore_rt(void);
void fz_nop_handler(int sig);
void fz_install_handlers(void);
void fz_gen_clone(struct fz_worker *w, struct fz_args *c);
long fz_run_clone(struct fz_worker *w, struct fz_args *c);
long fz_run_exit(struct fz_worker *w, struct fz_args *c);
long fz_run_touch(struct fz_worker *w, struct fz_args *c);
void fz_gen_sigreturn(struct fz_worker *w, struct fz_args *c);
void fz_capture_fpu(void);   /* before the workers start */
long fz_run_sigreturn(struct fz_worker *w, struct fz_args *c);
#endif
