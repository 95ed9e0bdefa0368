/*
 * timer.c - per-CPU one-shot timers on the LAPIC deadline.
 *
 * Each CPU keeps its pending timers in a list sorted by deadline, guarded
 * by its timer lock (irq-saving: timers are added from any context). The
 * LAPIC timer is programmed for the nearest event: the first timer's
 * deadline or the running thread's slice end (percpu.slice_end, written by
 * the scheduler), whichever is first - and, while the CPU runs a thread
 * rather than its idle thread, no later than the busy tick: the next
 * multiple of BUSY_TICK_NS of the clock, the same instants on every CPU.
 * An idle CPU has no tick. The busy tick keeps the running thread's
 * accounting (exec_start_ns) fresh for the hung-thread detector
 * (kernel/lockup.c), and gives every busy CPU timer interrupts, from
 * which a CPU that the emulator does not run gets its turns back
 * (kernel/vcpu_yield.c).
 *
 * The scheduler moves the slice end on every switch, but reprograms the
 * LAPIC only when the new end is *earlier* than the armed one
 * (percpu.timer_armed): an interrupt that comes early finds nothing due,
 * and re-arms for the real deadline. A yield therefore costs no timer
 * programming at all.
 */
#include <weft/timer.h>
#include <weft/time.h>
#include <weft/spinlock.h>
#include <weft/sched.h>
#include <arch/apic.h>
#include <arch/percpu.h>
#include <arch/cpu.h>
#include <weft/printk.h>
#include <weft/ksyms.h>
#include <weft/vcpu_yield.h>
#include <weft/lockup.h>

struct timer_cpu {
	spinlock_t lock;
	struct list_head pending;   /* sorted by deadline */
	struct timer *running;      /* whose fn runs now (compared, never dereferenced) */
};
static struct timer_cpu timer_cpus[MAX_CPUS];

void sched_tick(void);

void timer_init_struct(struct timer *t, void (*fn)(struct timer *), void *data)
{
	t->fn = fn;
	t->data = data;
	t->cpu = -1;
	list_init(&t->link);
}

/* Program the LAPIC for the earlier of the first timer and the slice end.
 * Caller holds tc->lock with interrupts off, on this CPU. */
static void program_locked(struct timer_cpu *tc, uint64_t now)
{
	struct percpu *c = this_cpu();
	uint64_t when = c->slice_end;
	if (!list_empty(&tc->pending)) {
		struct timer *first = container_of(tc->pending.next, struct timer, link);
		if (first->deadline < when)
			when = first->deadline;
	}
	/* The busy tick, on the shared grid: for a thread, and for the idle
	 * thread about to give way to one (a timer that just woke a thread
	 * here) - armed now, the switch out of idle need not program the
	 * LAPIC again (schedule_general() arms it only if it is not). */
	if (!c->current->idle || c->current->need_resched) {
		uint64_t tick = (now / BUSY_TICK_NS + 1) * BUSY_TICK_NS;
		if (tick < when)
			when = tick;
	}
	if (when >= SLICE_NONE) {
		lapic_timer_stop();
		c->timer_armed = TIMER_NEVER;
		return;
	}
	uint64_t ns = when > now ? when - now : 0;
	if (ns > NSEC_PER_SEC) {
		ns = NSEC_PER_SEC;        /* re-armed on expiry: keeps the count in range */
		when = now + ns;
	}
	c->timer_armed = when;
	uint64_t count = ns * (lapic_timer_hz / 1000) / 1000000;
	lapic_timer_oneshot(count ? (uint32_t)count : 1);
}

void timer_program(uint64_t now)
{
	struct timer_cpu *tc = &timer_cpus[cpu_id()];
	unsigned long f = spin_lock_irqsave(&tc->lock);
	program_locked(tc, now);
	spin_unlock_no_resched(&tc->lock);
	local_irq_restore(f);
}

void timer_add(struct timer *t, uint64_t deadline)
{
	unsigned long f = local_irq_save();
	int cpu = (int)cpu_id();
	struct timer_cpu *tc = &timer_cpus[cpu];
	spin_lock(&tc->lock);
	t->deadline = deadline;
	t->cpu = cpu;
	struct list_head *pos;
	list_for_each(pos, &tc->pending) {
		if (container_of(pos, struct timer, link)->deadline > deadline)
			break;
	}
	list_insert_between(&t->link, pos->prev, pos);
	if (tc->pending.next == &t->link)
		program_locked(tc, clock_monotonic_ns());   /* new earliest event */
	spin_unlock_no_resched(&tc->lock);
	local_irq_restore(f);
}

bool timer_cancel(struct timer *t)
{
	unsigned long f = local_irq_save();
	bool was = false;
	int cpu = __atomic_load_n(&t->cpu, __ATOMIC_ACQUIRE);
	if (cpu >= 0) {
		struct timer_cpu *tc = &timer_cpus[cpu];
		spin_lock(&tc->lock);
		if (t->cpu == cpu) {
			list_del(&t->link);
			t->cpu = -1;
			was = true;
		}
		spin_unlock_no_resched(&tc->lock);
	}
	local_irq_restore(f);
	if (!was) {
		/* It may have fired on another CPU and still be running there:
		 * the caller is about to free t (timers live on stacks), and
		 * timer_expire() reads t until fn has returned. With one CPU the
		 * owner cannot run while its timer's interrupt handler does, but
		 * a thread moved to another CPU can. */
		unsigned n = __atomic_load_n(&cpu_count, __ATOMIC_ACQUIRE);
		for (unsigned i = 0; i < n; i++)
			while (__atomic_load_n(&timer_cpus[i].running, __ATOMIC_ACQUIRE) == t)
				cpu_relax();
	}
	return was;
}

/* The last timer interrupt of each CPU (timer_last_irq). */
static struct timer_irq_stamp last_irq[MAX_CPUS];

void timer_last_irq(struct timer_irq_stamp *out)
{
	unsigned long f = local_irq_save();
	*out = last_irq[cpu_id()];
	local_irq_restore(f);
}

/* The LAPIC timer interrupt (interrupts off, preemption off). */
static void timer_expire(void)
{
	struct percpu *c = this_cpu();
	struct timer_cpu *tc = &timer_cpus[c->cpu_id];
	uint64_t now = clock_monotonic_ns(), armed = c->timer_armed;
	last_irq[c->cpu_id] = (struct timer_irq_stamp){
		.at = now, .late_ns = armed != TIMER_NEVER && now > armed ? now - armed : 0,
		.idle = c->current->idle };
	c->timer_armed = TIMER_NEVER;   /* the one-shot has fired */
	lockup_tick(now);               /* the soft-lockup detector's beat (lockup.c) */
	spin_lock(&tc->lock);
	while (!list_empty(&tc->pending)) {
		struct timer *t = container_of(tc->pending.next, struct timer, link);
		if (t->deadline > now)
			break;
		list_del(&t->link);
		/* `running` before `cpu`: a timer_cancel() that reads cpu == -1
		 * (acquire) then finds running == t and waits for fn. In the
		 * other order it could read -1, miss `running`, return, and its
		 * caller free t (a stack frame) just before fn runs. */
		__atomic_store_n(&tc->running, t, __ATOMIC_RELAXED);
		__atomic_store_n(&t->cpu, -1, __ATOMIC_RELEASE);
		spin_unlock_no_resched(&tc->lock);
		t->fn(t);                 /* may add timers or wake threads */
		spin_lock(&tc->lock);
		__atomic_store_n(&tc->running, (struct timer *)0, __ATOMIC_RELEASE);
	}
	spin_unlock_no_resched(&tc->lock);
	sched_tick();
	spin_lock(&tc->lock);
	uint64_t end = clock_monotonic_ns();
	program_locked(tc, end);
	spin_unlock_no_resched(&tc->lock);
	/* How late this interrupt came and how long it took (end is read
	 * before the LAPIC write: under QEMU that write may end this vCPU's
	 * turn, and the next turn's wait is the next interrupt's lateness). */
	vcpu_yield_note(last_irq[c->cpu_id].late_ns, end - now, end);
}

void timer_dump(void)
{
	unsigned long f = local_irq_save();
	uint64_t now = clock_monotonic_ns();
	for (unsigned cpu = 0; cpu < cpu_count; cpu++) {
		struct timer_cpu *tc = &timer_cpus[cpu];
		struct percpu *c = cpu_list[cpu];
		if (!c)
			continue;   /* not started */
		bool locked = false;
		for (int i = 0; i < 1000000 && !(locked = spin_trylock(&tc->lock)); i++)
			cpu_relax();
		kprintf("--- timers of CPU %u%s: slice_end %ld us, LAPIC armed %ld us from now ---\n",
			cpu, locked ? "" : " [read unlocked]",
			c->slice_end >= SLICE_NONE ? -1L : (long)(c->slice_end - now) / 1000,
			c->timer_armed >= TIMER_NEVER ? -1L : (long)(c->timer_armed - now) / 1000);
		struct list_head *pos;
		int n = 0;
		list_for_each(pos, &tc->pending) {
			struct timer *t = container_of(pos, struct timer, link);
			char sym[64];
			ksym_format((uint64_t)t->fn, sym, sizeof sym);
			kprintf("  timer %p due in %ld us: %s(data %p)\n", (void *)t,
				(long)(t->deadline - now) / 1000, sym, t->data);
			if (++n == 64) {
				kprintf("  ...\n");
				break;
			}
		}
		if (locked)
			spin_unlock_no_resched(&tc->lock);
	}
	local_irq_restore(f);
}

void timer_init(void)
{
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		timer_cpus[i].lock = (spinlock_t)SPINLOCK_INIT("timer");
		list_init(&timer_cpus[i].pending);
	}
	timer_set_hook(timer_expire);
}
