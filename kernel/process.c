/*
 * process.c - user processes and their threads: birth, exit, waiting.
 *
 * Birth (start_thread): the creator - clone() in a thread of the process,
 * or process_spawn() - makes the whole thread before anyone can see it:
 * FPU area, signal state, kernel stack with the first user registers at
 * its top, address space, FS base, the CLONE_*_SETTID words. Only then,
 * under the process lock, does the thread join the process's list and
 * become runnable; a failure before that leaves nothing behind and clone()
 * fails (ENOMEM, or EAGAIN at RLIMIT_NPROC). The new thread starts as a
 * kernel thread in user_thread_main(), which finds everything loaded by
 * its first switch and leaves through entry.S's IRETQ path (user_enter):
 * its first entry to ring 3. From then on it enters the kernel only by
 * SYSCALL, interrupts and exceptions, and always leaves through
 * exit_to_user_mode().
 *
 * Exit: a leaving thread first unlinks itself (tgkill no longer finds
 * it), clears its CLONE_CHILD_CLEARTID word, then stops being a user
 * thread (no address space, no FPU area, CR3 back to the kernel's); the
 * last one completes proc->exited. So once process_wait() sees the
 * completion, no thread uses the address space any more and it can go.
 */
#include <weft/process.h>
#include <weft/vm.h>
#include <weft/exec.h>
#include <weft/kmalloc.h>
#include <weft/string.h>
#include <weft/errno.h>
#include <weft/printk.h>
#include <weft/panic.h>
#include <weft/console.h>
#include <weft/futex.h>
#include <weft/signal.h>
#include <weft/uaccess.h>
#include <arch/trap.h>
#include <arch/cpu.h>
#include <arch/fpu.h>
#include <arch/usermode.h>
#include <arch/ioperm.h>
#include <weft/syscall.h>
#include <weft/pmm.h>
#include <weft/kstack.h>

static spinlock_t proc_list_lock = SPINLOCK_INIT("processes");
static struct list_head all_procs = LIST_HEAD_INIT(all_procs);
static unsigned nprocs;

/* User threads alive in all processes, checked against RLIMIT_NPROC at
 * clone(): Linux counts a user's threads, and every weft process runs as
 * root, the one user. Atomic: charged by creators, uncharged by exits. */
static uint64_t user_threads;

static bool user_threads_charge(uint64_t limit)
{
	if (__atomic_add_fetch(&user_threads, 1, __ATOMIC_RELAXED) <= limit)
		return true;
	__atomic_sub_fetch(&user_threads, 1, __ATOMIC_RELAXED);
	return false;
}

static void user_threads_uncharge(void) { __atomic_sub_fetch(&user_threads, 1, __ATOMIC_RELAXED); }

uint64_t process_user_threads(void) { return __atomic_load_n(&user_threads, __ATOMIC_RELAXED); }

uint64_t process_default_nproc(void)
{
	/* Linux's rule: room for threads whose kernel stacks would take an
	 * eighth of memory, and a user gets half of that (16 KiB stacks: one
	 * thread per 64 pages). */
	uint64_t max_threads = pmm_total_pages() / (8 * KSTACK_PAGES);
	if (max_threads < 20)
		max_threads = 20;
	return max_threads / 2;
}

/* How a new user thread starts. */
struct user_thread_spec {
	const struct trap_frame *frame; /* its first user registers */
	uint64_t fs_base;
	const void *fpu_from;           /* FPU state to start with (clone), or NULL: initial */
	uint64_t sigmask;
	uint64_t clear_child_tid;       /* CLONE_CHILD_CLEARTID address, or 0 */
	uint64_t parent_tid_addr;       /* CLONE_PARENT_SETTID address, or 0 */
	uint64_t child_tid_addr;        /* CLONE_CHILD_SETTID address, or 0 */
	uint64_t nproc_limit;           /* RLIMIT_NPROC to respect (RLIM_INFINITY: none) */
};

/* The first code of every user thread. Its creator gave it everything
 * before it could run (start_thread): the process, address space, FPU
 * area, FS base and signal state, and its user registers at the top of
 * this stack; the switch that started it loaded them (user_switch_state).
 * user_enter() runs the pending work first - a signal or exit_group()
 * that came while it was being made - then its first entry to ring 3. */
static void *user_thread_main(void *arg)
{
	(void)arg;
	user_enter(user_frame_at(current()->stack.top));   /* never returns */
}

/*
 * Create a thread of p that starts in ring 3 as `spec` says. Returns its
 * tid, or -errno with nothing left behind: -EAGAIN at the RLIMIT_NPROC
 * limit or when p is exiting, -ENOMEM. Everything the thread needs is
 * allocated, and its tid written where CLONE_*_SETTID asked, before it is
 * queued, so a tid returned names a thread that runs, and the child finds
 * its tid in place before its first user instruction (Linux writes
 * CHILD_SETTID in the child before it returns to user mode; a joiner
 * waiting for a CHILD_CLEARTID word to drop to 0 must never see a late
 * write put the tid back). The caller is a thread of p, or p has no
 * thread yet (process_spawn).
 */
static int start_thread(struct process *p, const struct user_thread_spec *spec)
{
	if (!user_threads_charge(spec->nproc_limit))
		return -EAGAIN;
	void *fpu = fpu_area_alloc();
	struct thread *t = fpu ? thread_prepare(user_thread_main, NULL, p->name) : NULL;
	if (!t || signal_thread_init(t, spec->sigmask) < 0) {
		if (t)
			thread_discard(t);
		fpu_area_free(fpu);
		user_threads_uncharge();
		return -ENOMEM;
	}
	if (spec->fpu_from)
		memcpy(fpu, spec->fpu_from, fpu_area_size());
	else
		fpu_area_init(fpu);
	/* Not yet runnable: nothing else reads these until the launch below.
	 * From its first switch-in the scheduler loads the address space, FS
	 * base, FPU state and I/O bitmap of a thread with t->mm set. */
	*user_frame_at(t->stack.top) = *spec->frame;
	t->proc = p;
	t->mm = p->mm;
	t->fpu = fpu;
	t->fs_base = spec->fs_base;
	t->clear_child_tid = spec->clear_child_tid;
	int tid = t->tid;
	/* The caller shares the address space (CLONE_VM) and has t->mm set,
	 * as user accesses need. A bad address is ignored, as on Linux. */
	if (spec->parent_tid_addr)
		put_user_u32(spec->parent_tid_addr, (uint32_t)tid);
	if (spec->child_tid_addr)
		put_user_u32(spec->child_tid_addr, (uint32_t)tid);

	/* Joining p and becoming runnable happen under one hold of p->lock:
	 * whoever walks p's threads (exit_group, kill, tgkill, affinity)
	 * finds only launched threads, and once p is exiting no thread is
	 * added. Order: process lock, then run queue (sched_add_new). */
	unsigned long f = spin_lock_irqsave(&p->lock);
	if (p->exiting) {
		spin_unlock_irqrestore(&p->lock, f);
		signal_thread_exit(t);
		thread_discard(t);
		fpu_area_free(fpu);
		user_threads_uncharge();
		return -EAGAIN;
	}
	p->nthreads++;
	if (p->pid == 0)
		p->pid = tid;        /* the first thread's tid is the pid, as on Linux */
	list_add_tail(&t->proc_link, &p->threads);
	thread_launch(t);        /* t may run, exit and be freed from here on */
	spin_unlock_irqrestore(&p->lock, f);
	return tid;
}

struct process *process_spawn(const char *path, const char *const argv[],
			      const char *const envp[], struct output_capture *capture, int *err)
{
	struct process *p = kzalloc(sizeof *p);
	struct mm *mm = mm_create();
	int r = -ENOMEM;
	if (!p || !mm)
		goto fail;
	struct exec_result ex;
	if ((r = exec_load(mm, path, argv, envp, &ex)) < 0)
		goto fail;

	p->mm = mm;
	p->lock = (spinlock_t)SPINLOCK_INIT("process");
	list_init(&p->threads);
	completion_init(&p->exited);
	wait_queue_init(&p->sigwait, "sigwait");
	p->capture = capture;
	p->parent = current()->proc;
	const char *base = path;
	for (const char *s = path; *s; s++)
		if (*s == '/')
			base = s + 1;
	strlcpy(p->name, base, sizeof p->name);
	for (int i = 0; i < RLIM_NLIMITS; i++)
		p->rlim[i][0] = p->rlim[i][1] = RLIM_INFINITY;
	p->rlim[RLIMIT_STACK][0] = USER_STACK_MAX;
	p->rlim[RLIMIT_NOFILE][0] = p->rlim[RLIMIT_NOFILE][1] = 1024;
	p->rlim[RLIMIT_NPROC][0] = p->rlim[RLIMIT_NPROC][1] = process_default_nproc();

	unsigned long f = spin_lock_irqsave(&proc_list_lock);
	list_add_tail(&p->all_link, &all_procs);
	nprocs++;
	spin_unlock_irqrestore(&proc_list_lock, f);

	/* The first entry to ring 3: every general register zero (the SysV
	 * ABI leaves RDX = 0, "no exit handler"), interrupts on. A program
	 * the kernel starts is not refused for the thread limit. */
	struct trap_frame frame = {
		.rip = ex.entry,
		.rsp = ex.stack_pointer,
		.cs = GDT_USER_CS | 3,
		.ss = GDT_USER_DS | 3,
		.rflags = RFLAGS_IF | 0x2,   /* bit 1 is always set */
	};
	struct user_thread_spec spec = { .frame = &frame, .nproc_limit = RLIM_INFINITY };
	if ((r = start_thread(p, &spec)) < 0) {
		p->exiting = true;
		complete_all(&p->exited);
		p->exit_status = 127 << 8;
		if (err)
			*err = r;
		return p;   /* a process that exited at once; the caller waits it */
	}
	return p;
fail:
	if (mm)
		mm_put(mm);
	kfree(p);
	if (err)
		*err = r;
	return NULL;
}

int process_clone_thread(const void *frame, uint64_t stack, uint64_t tls, uint64_t parent_tid,
			 uint64_t child_tid, unsigned flags)
{
	struct thread *t = current();
	struct process *p = t->proc;
	/* A TLS base is checked as arch_prctl(ARCH_SET_FS) checks it: the
	 * switch loads it into MSR_FS_BASE, where a non-canonical value would
	 * fault in ring 0. */
	if ((flags & CLONE_SETTLS) && tls >= USER_TOP)
		return -EPERM;
	if ((flags & CLONE_PARENT_SETTID) && !access_ok(parent_tid, 4))
		return -EFAULT;
	struct trap_frame child = *(const struct trap_frame *)frame;
	child.rax = 0;                         /* clone() returns 0 in the child */
	if (stack)
		child.rsp = stack;
	/* The child starts with the parent's FPU state as of this call (the
	 * area is current until our next switch saves it again: same values). */
	preempt_disable();
	fpu_save(t->fpu);
	preempt_enable();
	unsigned long f = spin_lock_irqsave(&p->lock);
	uint64_t nproc = p->rlim[RLIMIT_NPROC][0];
	spin_unlock_irqrestore(&p->lock, f);
	struct user_thread_spec spec = {
		.frame = &child,
		.fs_base = (flags & CLONE_SETTLS) ? tls : t->fs_base,
		.fpu_from = t->fpu,
		.sigmask = signal_current_mask(),
		.clear_child_tid = (flags & CLONE_CHILD_CLEARTID) ? child_tid : 0,
		.parent_tid_addr = (flags & CLONE_PARENT_SETTID) ? parent_tid : 0,
		.child_tid_addr = (flags & CLONE_CHILD_SETTID) ? child_tid : 0,
		.nproc_limit = nproc,
	};
	return start_thread(p, &spec);
}

void process_thread_exit(int code)
{
	struct thread *t = current();
	struct process *p = t->proc;

	/* Robust futexes and PI locks first, while we are still in the
	 * thread list (a PI waiter then finds us, and is handed the lock):
	 * a joiner that sees the tid word cleared finds them all released. */
	futex_exit(t);

	/* Out of the thread list: once a joiner sees the tid word
	 * cleared below, tgkill() must no longer find us (ESRCH). */
	spin_lock(&p->lock);
	list_del(&t->proc_link);
	signal_thread_leaving(p, t);   /* a shared signal meant for us goes to another */
	spin_unlock(&p->lock);

	/* set_tid_address()/CLONE_CHILD_CLEARTID: zero the word and wake a
	 * joiner waiting on it (while the address space is still ours). */
	if (t->clear_child_tid) {
		if (put_user_u32(t->clear_child_tid, 0) == 0)
			futex_wake_address(t->clear_child_tid, 1);
		t->clear_child_tid = 0;
	}

	/* Stop being a user thread before anyone can see us gone. */
	unsigned long f = local_irq_save();
	void *fpu = t->fpu;
	t->fpu = NULL;
	t->mm = NULL;
	t->proc = NULL;
	mm_activate(NULL);
	local_irq_restore(f);
	fpu_area_free(fpu);
	signal_thread_exit(t);

	user_threads_uncharge();

	spin_lock(&p->lock);
	p->dead_cpu_ns += t->cpu_time_ns;
	bool last = --p->nthreads == 0;
	if (!p->exiting) {
		if (last)
			p->exit_status = (code & 0xff) << 8;
	}
	if (last)
		p->exiting = true;
	spin_unlock(&p->lock);
	if (last)
		complete_all(&p->exited);
	thread_exit(NULL);
}

void process_exit_group(int status)
{
	struct process *p = current()->proc;
	spin_lock(&p->lock);
	if (!p->exiting) {
		p->exiting = true;
		p->exit_status = status;
	}
	struct list_head *pos;
	list_for_each(pos, &p->threads) {
		struct thread *o = container_of(pos, struct thread, proc_link);
		if (o != current())
			thread_kill(o); /* interruptible sleepers wake with -EINTR and leave */
	}
	spin_unlock(&p->lock);
	process_thread_exit(0);
}

int process_wait(struct process *p)
{
	current()->wait_exempt = true;   /* its threads are watched themselves (lockup.c) */
	wait_for_completion(&p->exited);
	current()->wait_exempt = false;
	unsigned long f = spin_lock_irqsave(&proc_list_lock);
	list_del(&p->all_link);
	nprocs--;
	spin_unlock_irqrestore(&proc_list_lock, f);
	int status = p->exit_status;
	/* Its last thread has left (exited completes after that thread
	 * stopped using the address space). Other CPUs may still have the
	 * address space or the I/O bitmap loaded, idle or running kernel
	 * threads: mm_put() moves them off the first, ioperm_forget() the
	 * second. */
	if (p->mm)
		mm_put(p->mm);
	signal_process_free(p);
	ioperm_forget(p);
	kfree(p->iobitmap);
	kfree(p);
	return status;
}

void process_write_output(struct process *p, const char *s, size_t n)
{
	struct output_capture *c = p ? p->capture : NULL;
	if (!c) {
		console_write(s, n);
		return;
	}
	unsigned long f = spin_lock_irqsave(&p->lock);
	size_t room = c->size - c->len;
	if (n > room) {
		c->overflowed = true;
		n = room;
	}
	memcpy(c->buf + c->len, s, n);
	c->len += n;
	spin_unlock_irqrestore(&p->lock, f);
}

unsigned process_count(void) { return nprocs; }

void process_print_all(void)
{
	unsigned long f = spin_lock_irqsave(&proc_list_lock);
	struct list_head *pos;
	list_for_each(pos, &all_procs) {
		struct process *p = container_of(pos, struct process, all_link);
		kprintf("  pid %d %-15s %u thread(s)%s, %lu pages\n", p->pid, p->name, p->nthreads,
			p->exiting ? " exiting" : "", (unsigned long)(p->mm ? p->mm->pages : 0));
	}
	spin_unlock_irqrestore(&proc_list_lock, f);
}
