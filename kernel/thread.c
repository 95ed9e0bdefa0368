/*
 * thread.c - creating, ending, joining and inspecting kernel threads.
 *
 * A new thread's stack is built so that the scheduler's ordinary switch
 * starts it (see <arch/switch.h>):
 *
 *     stack.top  ->  +------------------------+
 *                    | 0 (fake return address) |  keeps RSP+8 16-byte aligned at fn entry
 *                    | ret = thread_start      |
 *                    | rbp = 0                 |  ends backtraces
 *                    | rbx = 0                 |
 *                    | r12 = fn                |
 *                    | r13 = arg               |
 *                    | r14 = 0, r15 = 0        |
 *     saved_rsp  ->  +------------------------+
 *
 * switch_to() pops the six registers and RETs into thread_start, which
 * calls schedule_tail() (unlock the run queue), enables interrupts, calls
 * fn(arg) and passes its return value to thread_exit().
 *
 * Locking: thread_list_lock guards the all-threads list, ids, and the
 * exit/join fields (detached, joined, exit_value).
 */
#include <weft/thread.h>
#include <weft/smp.h>
#include <weft/sched.h>
#include <weft/kmalloc.h>
#include <weft/string.h>
#include <weft/printk.h>
#include <weft/panic.h>
#include <weft/backtrace.h>
#include <weft/ksyms.h>
#include <weft/time.h>
#include <weft/timer.h>
#include <weft/errno.h>
#include <weft/format.h>
#include <weft/smp.h>
#include <arch/switch.h>
#include <arch/trap.h>
#include <arch/irqflags.h>
#include <arch/cpu.h>
#include <stddef.h>

_Static_assert(offsetof(struct thread, saved_rsp) == THREAD_SAVED_RSP, "switch.S uses offset 0");
_Static_assert(offsetof(struct thread, need_resched) == THREAD_NEED_RESCHED, "<weft/preempt.h>");
_Static_assert(offsetof(struct switch_frame, r15) == SWF_R15, "switch_frame layout");
_Static_assert(offsetof(struct switch_frame, r14) == SWF_R14, "switch_frame layout");
_Static_assert(offsetof(struct switch_frame, r13) == SWF_R13, "switch_frame layout");
_Static_assert(offsetof(struct switch_frame, r12) == SWF_R12, "switch_frame layout");
_Static_assert(offsetof(struct switch_frame, rbx) == SWF_RBX, "switch_frame layout");
_Static_assert(offsetof(struct switch_frame, rbp) == SWF_RBP, "switch_frame layout");
_Static_assert(offsetof(struct switch_frame, ret) == SWF_RET, "switch_frame layout");
_Static_assert(sizeof(struct switch_frame) == SWF_SIZE, "switch_frame layout");

static spinlock_t thread_list_lock = SPINLOCK_INIT("threads");
static struct list_head all_threads = LIST_HEAD_INIT(all_threads);
static int next_tid = 1;
static uint64_t nthreads;

static const char *const state_names[] = { "running", "runnable", "sleep", "sleep-D",
					   "zombie", "dead" };

/* A thread with its name, priority and CPU mask, findable (all_threads)
 * from return on. */
static struct thread *thread_alloc(const char *name, uint64_t affinity)
{
	struct thread *t = kzalloc(sizeof *t);
	if (!t)
		return NULL;
	strlcpy(t->name, name, sizeof t->name);
	t->prio = PRIO_DEFAULT;
	t->weight = sched_prio_to_weight(PRIO_DEFAULT);
	wait_queue_init(&t->join_wq, "join");
	t->parent = percpu_read(current);
	t->affinity = affinity;
	/* Its home queue until sched_add_new() places it: the queue whose lock
	 * guards its mask meanwhile (set before the thread is findable). */
	t->cpu = (int)cpu_id();
	unsigned long f = spin_lock_irqsave(&thread_list_lock);
	t->tid = next_tid++;
	list_add_tail(&t->all_link, &all_threads);
	nthreads++;
	spin_unlock_irqrestore(&thread_list_lock, f);
	return t;
}

static void thread_free(struct thread *t)
{
	unsigned long f = spin_lock_irqsave(&thread_list_lock);
	list_del(&t->all_link);
	nthreads--;
	spin_unlock_irqrestore(&thread_list_lock, f);
	if (t->stack.pages)
		kstack_free(&t->stack);
	kfree(t);
}

/* Lay out the first switch frame (see the diagram at the top). */
static void build_first_frame(struct thread *t, thread_fn fn, void *arg)
{
	/* The top of every kernel stack is kept for the trap frame of an entry
	 * from ring 3 (<arch/trap.h> user_frame_at): a user thread's C code
	 * runs below it, so writing that frame never tramples a live frame. */
	uint64_t *top = (uint64_t *)(t->stack.top - sizeof(struct trap_frame));
	top[-1] = 0; /* fn is entered as if called: RSP % 16 == 8 at its first instruction */
	struct switch_frame *sf = (struct switch_frame *)(top - 1) - 1;
	memset(sf, 0, sizeof *sf);
	sf->ret = (uint64_t)thread_start;
	sf->r12 = (uint64_t)fn;
	sf->r13 = (uint64_t)arg;
	t->saved_rsp = (uint64_t)sf;
}

/* A thread ready to start but on no run queue (see thread_prepare()). */
static struct thread *prepare(thread_fn fn, void *arg, const char *name, bool detached, int cpu)
{
	/* Bound to `cpu`, or the creator's mask (Linux's rule for clone()). */
	struct thread *t = thread_alloc(name, cpu >= 0 ? (uint64_t)1 << cpu : current()->affinity);
	if (!t)
		return NULL;
	if (kstack_alloc(&t->stack, KSTACK_PAGES) < 0) {
		thread_free(t);
		return NULL;
	}
	t->detached = detached;
	build_first_frame(t, fn, arg);
	return t;
}

static struct thread *create(thread_fn fn, void *arg, const char *name, bool detached,
			     int cpu)
{
	struct thread *t = prepare(fn, arg, name, detached, cpu);
	if (t)
		sched_add_new(t);
	return t;
}

struct thread *thread_prepare(thread_fn fn, void *arg, const char *name)
{
	return prepare(fn, arg, name, true, -1);
}

void thread_launch(struct thread *t)
{
	/* Never launched before: not queued anywhere, no CPU has run it. */
	BUG_ON(!t->detached || t->on_cpu || t->state != THREAD_RUNNING || t->nr_switches);
	sched_add_new(t);
}

void thread_discard(struct thread *t)
{
	BUG_ON(t->state != THREAD_RUNNING || t->on_cpu || t->nr_switches);
	thread_free(t);
}

struct thread *thread_create(thread_fn fn, void *arg, const char *name)
{
	return create(fn, arg, name, false, -1);
}

struct thread *thread_create_detached(thread_fn fn, void *arg, const char *name)
{
	return create(fn, arg, name, true, -1);
}

struct thread *thread_create_on(unsigned cpu, thread_fn fn, void *arg, const char *name)
{
	if (cpu >= __atomic_load_n(&cpu_count, __ATOMIC_ACQUIRE))
		return NULL;
	return create(fn, arg, name, false, (int)cpu);
}

int thread_set_affinity(struct thread *t, int cpu)
{
	if (cpu >= (int)smp_online_cpus() || cpu < -1)
		return -EINVAL;
	return sched_set_affinity_mask(t, cpu < 0 ? CPUMASK_ALL : (uint64_t)1 << cpu);
}

void thread_exit(void *value)
{
	struct thread *t = current();
	if (t->idle)
		panic("the idle thread tried to exit");
	/* Interrupts stay off from here to the final switch: a zombie must
	 * not be preempted (it would never be put back on a run queue). The
	 * stack is still ours until schedule_tail() on the next thread clears
	 * on_cpu; joiners wait for that too. */
	local_irq_disable();
	spin_lock(&thread_list_lock);
	t->exit_value = value;
	t->state = THREAD_ZOMBIE;
	spin_unlock_no_resched(&thread_list_lock);
	/* A joiner may see ZOMBIE before this wakeup and return from its
	 * wait: it still frees nothing until on_cpu clears, after our final
	 * switch, so t and its join queue outlive this call. */
	wake_up_all(&t->join_wq);
	schedule();
	panic("a zombie thread was scheduled again");
}

/* Called from schedule_tail() once a zombie's stack is free. */
void thread_reap_if_detached(struct thread *t)
{
	unsigned long f = spin_lock_irqsave(&thread_list_lock);
	bool reap = t->detached && !t->joined;
	if (reap)
		t->joined = true;
	spin_unlock_no_resched(&thread_list_lock);
	local_irq_restore(f);
	if (reap) {
		t->state = THREAD_DEAD;
		thread_free(t);
	}
}

static bool exited(void *arg)
{
	struct thread *t = arg;
	return t->state == THREAD_ZOMBIE;
}

void *thread_join(struct thread *t)
{
	if (t == current())
		panic("thread_join: thread %d joining itself", t->tid);
	unsigned long f = spin_lock_irqsave(&thread_list_lock);
	if (t->detached || t->joined)
		panic("thread_join: thread %d is detached or already joined", t->tid);
	t->joined = true;
	spin_unlock_irqrestore(&thread_list_lock, f);
	struct thread *self = current();
	self->wait_exempt = true;      /* t is watched itself (kernel/lockup.c) */
	wait_event(&t->join_wq, exited, t, THREAD_UNINTERRUPTIBLE, 0);
	self->wait_exempt = false;
	/* A zombie is still on its stack until the CPU that ran it has switched
	 * away (schedule_tail clears on_cpu): a few instructions at most. */
	while (__atomic_load_n(&t->on_cpu, __ATOMIC_ACQUIRE))
		cpu_relax();
	void *v = t->exit_value;
	t->state = THREAD_DEAD;
	thread_free(t);
	return v;
}

void thread_kill(struct thread *t)
{
	t->killed = true;
	if (!wake_up_thread(t, 1u << THREAD_INTERRUPTIBLE))
		smp_kick_thread(t);   /* a user thread running on another CPU: leave ring 3 */
}

bool thread_killed(const struct thread *t) { return t->killed; }

void thread_set_priority(struct thread *t, int prio)
{
	if (prio < PRIO_MIN)
		prio = PRIO_MIN;
	if (prio > PRIO_MAX)
		prio = PRIO_MAX;
	/* The weight only sets how fast vruntime grows, not the heap key, so
	 * it may change while t is queued (under its run-queue lock). */
	sched_set_weight(t, prio, sched_prio_to_weight(prio));
}

static void sleep_timer_fn(struct timer *tm)
{
	struct thread *t = tm->data;
	t->timed_out = true;
	wake_up_thread(t, WAKE_SLEEPERS);
}

static int sleep_until(uint64_t deadline, int state)
{
	struct thread *t = current();
	struct timer tm;
	timer_init_struct(&tm, sleep_timer_fn, t);
	int err = 0;
	for (;;) {
		t->state = state;
		t->wait_name = "sleep";
		t->timed_out = false;
		timer_add(&tm, deadline);
		if (clock_monotonic_ns() >= deadline)
			break;
		if (state == THREAD_INTERRUPTIBLE && thread_interrupted(t)) {
			err = -EINTR;
			break;
		}
		schedule();
		timer_cancel(&tm);
		if (clock_monotonic_ns() >= deadline)
			break;
		if (state == THREAD_INTERRUPTIBLE && thread_interrupted(t)) {
			err = -EINTR;
			break;
		}
	}
	timer_cancel(&tm);
	t->state = THREAD_RUNNING;
	t->wait_name = NULL;
	return err;
}

void thread_sleep(uint64_t ns) { sleep_until(clock_monotonic_ns() + ns, THREAD_UNINTERRUPTIBLE); }

int thread_sleep_until_interruptible(uint64_t deadline)
{
	return sleep_until(deadline, THREAD_INTERRUPTIBLE);
}

int thread_sleep_interruptible(uint64_t ns)
{
	return sleep_until(clock_monotonic_ns() + ns, THREAD_INTERRUPTIBLE);
}

uint64_t thread_count(void) { return nthreads; }

/* thread_list_lock held. */
static struct thread *find_locked(int tid)
{
	struct list_head *p;
	struct thread *found = NULL;
	list_for_each(p, &all_threads) {
		struct thread *t = container_of(p, struct thread, all_link);
		if (t->tid == tid)
			found = t;
	}
	return found;
}

struct thread *thread_find(int tid)
{
	unsigned long f = spin_lock_irqsave(&thread_list_lock);
	struct thread *found = find_locked(tid);
	spin_unlock_irqrestore(&thread_list_lock, f);
	return found;
}

void thread_print_all(void)
{
	struct list_head *p;
	kprintf("  TID NAME                     STATE    CPU   RUNTIME(ms) PRIO WAITING ON\n");
	unsigned long f = spin_lock_irqsave(&thread_list_lock);
	list_for_each(p, &all_threads) {
		struct thread *t = container_of(p, struct thread, all_link);
		int st = t->state;
		kprintf("%5d %-24s %-8s %3d %13lu %4d %s\n", t->tid, t->name,
			st >= 0 && st <= THREAD_DEAD ? state_names[st] : "?", t->cpu,
			(unsigned long)(t->cpu_time_ns / NSEC_PER_MSEC), t->prio,
			(st == THREAD_INTERRUPTIBLE || st == THREAD_UNINTERRUPTIBLE) && t->wait_name
				? t->wait_name : "-");
	}
	spin_unlock_irqrestore(&thread_list_lock, f);
}

int thread_backtrace(int tid)
{
	/* All of it under thread_list_lock: the thread may exit meanwhile, but
	 * thread_free() takes it off the list under this lock before it frees
	 * the thread and its stack, so both stay readable until we unlock
	 * (looking it up, unlocking and then reading it could read a freed
	 * thread). */
	unsigned long f = spin_lock_irqsave(&thread_list_lock);
	struct thread *t = find_locked(tid);
	int r = 0;
	if (!t) {
		r = -ESRCH;
	} else {
		kprintf("thread %d '%s' (%s):\n", t->tid, t->name, state_names[t->state]);
		if (t == current()) {
			backtrace_print((uint64_t)thread_backtrace,
					(uint64_t)__builtin_frame_address(0));
		} else if (t->on_cpu || t->state == THREAD_DEAD) {
			r = -EBUSY; /* running on another CPU: its saved frame is stale */
		} else {
			/* A switched-out thread's stack starts with its switch frame. */
			const struct switch_frame *sf = (const struct switch_frame *)t->saved_rsp;
			backtrace_print(sf->ret, sf->rbp);
		}
	}
	spin_unlock_irqrestore(&thread_list_lock, f);
	return r;
}

static void print_stack(struct thread *t);

bool thread_for_each_try(void (*fn)(struct thread *t, void *arg), void *arg, bool keep)
{
	unsigned long f = local_irq_save();
	if (!spin_trylock(&thread_list_lock)) {
		local_irq_restore(f);
		return false;
	}
	struct list_head *p;
	list_for_each(p, &all_threads)
		fn(container_of(p, struct thread, all_link), arg);
	if (!keep) {
		spin_unlock_no_resched(&thread_list_lock);
		local_irq_restore(f);
	}
	return true;
}

/* Interrupts stay as they were before thread_for_each_try(): its callers
 * run with them off (the watchdog timer). */
void thread_for_each_done(void) { spin_unlock_no_resched(&thread_list_lock); }

void thread_print_stack(struct thread *t) { print_stack(t); }

/* Where a switched-out (or the calling) thread is in the kernel. */
static void print_stack(struct thread *t)
{
	if (t == current()) {
		backtrace_print((uint64_t)print_stack, (uint64_t)__builtin_frame_address(0));
	} else if (t->on_cpu) {
		kprintf("    (running on CPU %d: no saved frame)\n", t->cpu);
	} else {
		const struct switch_frame *sf = (const struct switch_frame *)t->saved_rsp;
		backtrace_print(sf->ret, sf->rbp);
	}
}

void thread_dump_all(void)
{
	/* Called from anywhere, interrupts included, maybe while the
	 * interrupted code holds thread_list_lock: wait for it a little, then
	 * read the list without it (the report is for a machine about to stop). */
	unsigned long f = local_irq_save();
	bool locked = false;
	for (int i = 0; i < 1000000 && !(locked = spin_trylock(&thread_list_lock)); i++)
		cpu_relax();
	uint64_t now = clock_monotonic_ns();
	kprintf("--- all threads at %lu.%06lu s (CPU %u, current tid %d)%s ---\n",
		(unsigned long)(now / NSEC_PER_SEC), (unsigned long)(now / 1000 % 1000000), cpu_id(),
		current()->tid, locked ? "" : " [thread list read unlocked]");
	struct list_head *p;
	list_for_each(p, &all_threads) {
		struct thread *t = container_of(p, struct thread, all_link);
		int st = t->state;
		kprintf("%5d %-16s %-8s cpu %d%s%s%s%s%s vruntime %lu run %lu ms waits %s\n", t->tid,
			t->name, st >= 0 && st <= THREAD_DEAD ? state_names[st] : "?", t->cpu,
			t->on_cpu ? " on_cpu" : "", t->need_resched ? " need_resched" : "",
			t->killed ? " killed" : "", t->sigpending ? " sigpending" : "",
			t->timed_out ? " timed_out" : "", (unsigned long)t->vruntime,
			(unsigned long)(t->cpu_time_ns / NSEC_PER_MSEC),
			t->wait_name ? t->wait_name : "-");
		if (t->mm && st != THREAD_DEAD && t->stack.pages) {
			const struct trap_frame *uf = user_frame_at(t->stack.top);
			kprintf("    user rip %#lx rsp %#lx; last entry: vector %#lx, error code"
				" (system call number) %lu, rdi %#lx rsi %#lx rdx %#lx r10 %#lx\n",
				(unsigned long)uf->rip, (unsigned long)uf->rsp,
				(unsigned long)uf->vector, (unsigned long)uf->error_code,
				(unsigned long)uf->rdi, (unsigned long)uf->rsi,
				(unsigned long)uf->rdx, (unsigned long)uf->r10);
		}
		if (st != THREAD_DEAD)
			print_stack(t);
	}
	if (locked)
		spin_unlock_no_resched(&thread_list_lock);
	local_irq_restore(f);
}

/* The boot context, which becomes thread 0 "main"; percpu.current points
 * here from kmain's first line (arch/x86_64/percpu.c). */
struct thread boot_thread;
static struct thread idle_thread0;

/* An AP's idle thread (arch/x86_64/smpboot.c). No first frame: the AP's
 * first C code already runs on this stack and becomes the thread. */
struct thread *thread_create_idle(unsigned cpu)
{
	struct thread *idle = kzalloc(sizeof *idle);
	if (!idle)
		return NULL;
	if (kstack_alloc(&idle->stack, KSTACK_PAGES) < 0) {
		kfree(idle);
		return NULL;
	}
	snprintf(idle->name, sizeof idle->name, "idle%u", cpu);
	idle->weight = sched_prio_to_weight(PRIO_MAX);
	idle->prio = PRIO_MAX;
	idle->tid = -1;
	idle->detached = true;
	idle->affinity = (uint64_t)1 << cpu;
	idle->cpu = (int)cpu;
	idle->state = THREAD_RUNNABLE;
	wait_queue_init(&idle->join_wq, "join");
	unsigned long f = spin_lock_irqsave(&thread_list_lock);
	list_add_tail(&idle->all_link, &all_threads);
	nthreads++;
	spin_unlock_irqrestore(&thread_list_lock, f);
	return idle;
}

void thread_destroy_idle(struct thread *idle)
{
	thread_free(idle);
}

void sched_init(void)
{
	extern struct kstack boot_kstack;
	struct thread *boot = &boot_thread, *idle = &idle_thread0;
	strlcpy(boot->name, "main", sizeof boot->name);
	boot->stack = boot_kstack;
	boot->prio = PRIO_DEFAULT;
	boot->weight = sched_prio_to_weight(PRIO_DEFAULT);
	wait_queue_init(&boot->join_wq, "join");
	boot->tid = 0;
	boot->detached = true;
	boot->affinity = CPUMASK_ALL;
	list_add_tail(&boot->all_link, &all_threads);
	nthreads++;

	/* The idle thread: its stack is built like any new thread's. */
	strlcpy(idle->name, "idle0", sizeof idle->name);
	if (kstack_alloc(&idle->stack, KSTACK_PAGES) < 0)
		panic("sched_init: no memory for the idle thread's stack");
	idle->weight = sched_prio_to_weight(PRIO_MAX);
	idle->prio = PRIO_MAX;
	idle->tid = -1;
	idle->detached = true;
	idle->affinity = 1;          /* CPU 0 */
	wait_queue_init(&idle->join_wq, "join");
	build_first_frame(idle, sched_idle_fn(), NULL);
	list_add_tail(&idle->all_link, &all_threads);
	nthreads++;
	sched_init_cpu(boot, idle);
}
