/*
 * process.c - user processes and their threads: birth, exit, waiting.
 *
 * A user thread begins as a kernel thread running user_thread_main(),
 * which adopts the process's address space, FS base and FPU state, puts
 * the initial user registers in a trap frame at the top of its kernel
 * stack and leaves through entry.S's IRETQ path (user_enter): its first
 * entry to ring 3. From then on it enters the kernel only by SYSCALL,
 * interrupts and exceptions, and always leaves through
 * exit_to_user_mode().
 *
 * Exit: a leaving thread first stops being a user thread (no address
 * space, no FPU area, CR3 back to the kernel's), then unlinks itself; the
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

static spinlock_t proc_list_lock = SPINLOCK_INIT("processes");
static struct list_head all_procs = LIST_HEAD_INIT(all_procs);
static unsigned nprocs;

/* What a new user thread needs to start; freed by the thread. */
struct user_start {
	struct process *proc;
	struct trap_frame frame;     /* its first user registers */
	uint64_t fs_base;
	uint64_t clear_child_tid;
	const void *fpu_from;        /* FPU state to start with (clone), or NULL: initial */
	uint64_t sigmask;
	uint64_t parent_tid_addr;    /* CLONE_PARENT_SETTID, or 0 */
	struct completion started;   /* clone waits: the parent's FPU area is read */
};

static void *user_thread_main(void *arg)
{
	struct user_start *us = arg;
	struct thread *t = current();
	struct process *p = us->proc;

	/* Take everything from `us` before completing: the creator frees it
	 * as soon as it wakes. The frame goes to the top of our kernel stack,
	 * which thread.c keeps free for it. */
	struct trap_frame *frame = user_frame_at(t->stack.top);
	*frame = us->frame;
	uint64_t fs_base = us->fs_base, ctid = us->clear_child_tid, mask = us->sigmask;
	void *fpu = fpu_area_alloc();
	if (fpu) {
		if (us->fpu_from)
			memcpy(fpu, us->fpu_from, fpu_area_size());
		else
			fpu_area_init(fpu);
	}
	/* Take the process's address space before touching user memory, as
	 * t->mm, not by loading it alone: the scheduler reloads CR3 on a
	 * switch back only for a thread whose t->mm is set (we may be
	 * preempted or move to another CPU), a fault on a user page is
	 * resolved only for such a thread (user_fault_from_kernel), and TLB
	 * shootdowns treat us as its user, not a kernel thread borrowing it
	 * (mm/tlb.c). */
	unsigned long f = local_irq_save();
	t->mm = p->mm;
	mm_activate(p->mm);
	local_irq_restore(f);
	if (p->pid == 0)
		p->pid = t->tid;        /* the first thread's tid is the pid, as on Linux */
	/* CLONE_PARENT_SETTID: the parent's word holds our tid before clone()
	 * returns to it (musl's thread-list lock and pthread_join rely on it;
	 * a bad address is ignored, as on Linux). */
	if (us->parent_tid_addr)
		put_user_u32(us->parent_tid_addr, (uint32_t)t->tid);

	spin_lock(&p->lock);
	list_add_tail(&t->proc_link, &p->threads);
	bool doomed = p->exiting || !fpu || signal_thread_init(t, mask) < 0;
	spin_unlock(&p->lock);
	/* Only now may clone() return: the tid it hands back must already
	 * name a thread of p for tkill, sched_setaffinity and the like. `us`
	 * is the creator's: not touched after this. */
	complete(&us->started);

	/* Become a user thread: from the next switch on, the scheduler loads
	 * this FS base and FPU state (and the address space) for us. */
	f = local_irq_save();
	t->proc = p;
	t->fpu = fpu;
	t->fs_base = fs_base;
	t->clear_child_tid = ctid;
	user_load_thread_state(t);
	local_irq_restore(f);
	if (doomed)
		process_thread_exit(0);
	user_enter(frame);   /* IRETQ to ring 3; never returns */
}

/* Create a thread of p that starts in ring 3 with `us`, which is freed
 * here once the thread has taken its contents (or left to the caller on
 * failure). Returns the tid or -errno. */
static int start_thread(struct process *p, struct user_start *us)
{
	spin_lock(&p->lock);
	if (p->exiting) {
		spin_unlock(&p->lock);
		return -EAGAIN;
	}
	p->nthreads++;       /* counted now: the process cannot end before it starts */
	spin_unlock(&p->lock);
	completion_init(&us->started);
	struct thread *t = thread_create_detached(user_thread_main, us, p->name);
	if (!t) {
		spin_lock(&p->lock);
		p->nthreads--;
		spin_unlock(&p->lock);
		return -ENOMEM;
	}
	int tid = t->tid;
	wait_for_completion(&us->started);   /* the thread has taken all of `us` */
	kfree(us);
	return tid;
}

struct process *process_spawn(const char *path, const char *const argv[],
			      const char *const envp[], struct output_capture *capture, int *err)
{
	struct process *p = kzalloc(sizeof *p);
	struct user_start *us = kzalloc(sizeof *us);
	struct mm *mm = mm_create();
	int r = -ENOMEM;
	if (!p || !us || !mm)
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

	unsigned long f = spin_lock_irqsave(&proc_list_lock);
	list_add_tail(&p->all_link, &all_procs);
	nprocs++;
	spin_unlock_irqrestore(&proc_list_lock, f);

	/* The first entry to ring 3: every general register zero (the SysV
	 * ABI leaves RDX = 0, "no exit handler"), interrupts on. */
	us->proc = p;
	us->frame.rip = ex.entry;
	us->frame.rsp = ex.stack_pointer;
	us->frame.cs = GDT_USER_CS | 3;
	us->frame.ss = GDT_USER_DS | 3;
	us->frame.rflags = RFLAGS_IF | 0x2;   /* bit 1 is always set */
	if ((r = start_thread(p, us)) < 0) {
		kfree(us);
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
	kfree(us);
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
	struct user_start *us = kzalloc(sizeof *us);
	if (!us)
		return -ENOMEM;
	us->proc = p;
	us->frame = *(const struct trap_frame *)frame;
	us->frame.rax = 0;                     /* clone() returns 0 in the child */
	if (stack)
		us->frame.rsp = stack;
	us->fs_base = (flags & CLONE_SETTLS) ? tls : t->fs_base;
	us->clear_child_tid = (flags & CLONE_CHILD_CLEARTID) ? child_tid : 0;
	/* The child starts with the parent's FPU state as of this call (the
	 * area is current until our next switch saves it again: same values). */
	preempt_disable();
	fpu_save(t->fpu);
	preempt_enable();
	us->fpu_from = t->fpu;
	us->sigmask = signal_current_mask();
	if (flags & CLONE_PARENT_SETTID) {
		if (!access_ok(parent_tid, 4))
			return kfree(us), -EFAULT;
		us->parent_tid_addr = parent_tid;
	}
	int tid = start_thread(p, us);
	if (tid < 0) {
		kfree(us);
		return tid;
	}
	if (flags & CLONE_CHILD_SETTID)
		put_user_u32(child_tid, (uint32_t)tid); /* same address space: the child sees it */
	return tid;
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
