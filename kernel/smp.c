/*
 * smp.c - cross-CPU function calls and the reschedule IPI. See <weft/smp.h>.
 *
 * Locking: call_queues[cpu].lock (irq-saving) guards that CPU's FIFO of
 * entries. It is a leaf lock: nothing else is taken while it is held, and
 * a function is never run while it is held (it may queue more calls).
 */
#include <weft/smp.h>
#include <weft/spinlock.h>
#include <weft/kmalloc.h>
#include <weft/panic.h>
#include <weft/errno.h>
#include <weft/thread.h>
#include <weft/preempt.h>
#include <weft/sched.h>
#include <arch/apic.h>
#include <arch/trap.h>
#include <arch/cpu.h>
#include <arch/irqflags.h>

#define SMP_CALL_WAIT 1u     /* set e->done after fn returns */
#define SMP_CALL_FREE 2u     /* kfree(e) after fn returns (smp_call without wait) */

struct call_queue {
	spinlock_t lock;
	struct smp_call_entry *head, *tail;
};
static struct call_queue call_queues[MAX_CPUS];

static void send_ipi(unsigned cpu, uint8_t vector)
{
	lapic_send_ipi(cpu_list[cpu]->apic_id, vector);
}

void smp_send_resched(unsigned cpu) { send_ipi(cpu, VEC_RESCHED); }

void smp_kick_thread(struct thread *t)
{
	/* Our store of the work before our read of t->cpu. If t is running
	 * on the CPU we read, the IPI interrupts it and its way out passes
	 * the check. If t->cpu changes after our read (t moves), the move
	 * and the switch-in take run-queue locks after our store was
	 * visible, so t's check sees the work. If t sleeps, its waker's
	 * locks do the same. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	preempt_disable();
	unsigned cpu = (unsigned)__atomic_load_n(&t->cpu, __ATOMIC_RELAXED);
	if (cpu != cpu_id())
		smp_send_resched(cpu);
	preempt_enable();
}

static void queue_entry(unsigned cpu, struct smp_call_entry *e, smp_call_fn fn, void *arg,
			unsigned flags)
{
	struct call_queue *q = &call_queues[cpu];
	e->next = NULL;
	e->fn = fn;
	e->arg = arg;
	e->flags = flags;
	e->done = false;
	unsigned long f = spin_lock_irqsave(&q->lock);
	if (q->tail)
		q->tail->next = e;
	else
		q->head = e;
	q->tail = e;
	/* The IPI goes out with the lock held and interrupts off: after the
	 * unlock the target may already have run fn, and e may be gone. */
	send_ipi(cpu, VEC_CALL);
	spin_unlock_irqrestore(&q->lock, f);
}

void smp_call_queue(unsigned cpu, struct smp_call_entry *e, smp_call_fn fn, void *arg, bool wait)
{
	queue_entry(cpu, e, fn, arg, wait ? SMP_CALL_WAIT : 0);
}

/* Run every call queued for this CPU, in order. Interrupts off. */
static void run_queue(void)
{
	struct call_queue *q = &call_queues[cpu_id()];
	for (;;) {
		spin_lock(&q->lock);
		struct smp_call_entry *e = q->head;
		if (e) {
			q->head = e->next;
			if (!q->head)
				q->tail = NULL;
		}
		spin_unlock_no_resched(&q->lock);
		if (!e)
			return;
		smp_call_fn fn = e->fn;
		void *arg = e->arg;
		unsigned flags = e->flags;
		fn(arg);
		if (flags & SMP_CALL_FREE)
			kfree(e);
		else if (flags & SMP_CALL_WAIT)
			__atomic_store_n(&e->done, true, __ATOMIC_RELEASE);
		/* else the caller owns e and is not waiting: it may be gone */
	}
}

void smp_call_wait(struct smp_call_entry *e)
{
	while (!__atomic_load_n(&e->done, __ATOMIC_ACQUIRE)) {
		if (!irqs_enabled())
			run_queue();   /* our own IPI cannot come in: serve it by hand */
		cpu_relax();
	}
}

int smp_call_mask(cpumask_t mask, smp_call_fn fn, void *arg, bool wait)
{
	if (wait && preempt_count())
		panic("smp_call: waiting with preemption off (a spinlock held, or in an "
		      "interrupt handler) can deadlock");
	struct smp_call_entry entries[MAX_CPUS];
	cpumask_t queued = 0;
	int err = 0;
	preempt_disable();               /* stay on this CPU: `me` must stay true */
	unsigned me = cpu_id(), n = smp_online_cpus();
	for (unsigned cpu = 0; cpu < n; cpu++) {
		if (!((mask >> cpu) & 1) || cpu == me)
			continue;
		if (wait) {
			queue_entry(cpu, &entries[cpu], fn, arg, SMP_CALL_WAIT);
		} else {
			struct smp_call_entry *e = kmalloc(sizeof *e);
			if (!e) {
				err = -ENOMEM;
				continue;
			}
			queue_entry(cpu, e, fn, arg, SMP_CALL_FREE);
		}
		queued |= (cpumask_t)1 << cpu;
	}
	if ((mask >> me) & 1) {
		unsigned long f = local_irq_save();
		fn(arg);
		local_irq_restore(f);
	}
	if (wait)
		for (unsigned cpu = 0; cpu < n; cpu++)
			if ((queued >> cpu) & 1)
				smp_call_wait(&entries[cpu]);
	preempt_enable();
	return err;
}

int smp_call(unsigned cpu, smp_call_fn fn, void *arg, bool wait)
{
	if (cpu >= smp_online_cpus())
		return -EINVAL;
	return smp_call_mask((cpumask_t)1 << cpu, fn, arg, wait);
}

static void call_ipi(struct trap_frame *f, void *arg)
{
	(void)f;
	(void)arg;
	run_queue();
}

/* Little to do: trap_dispatch() sends the EOI and, on the way out, sees
 * need_resched and switches (or preempt_enable() does, if the interrupted
 * code held a lock; the idle loop looks at it before halting again). The
 * scheduler looks at affinity changes another CPU asked it to apply. */
static void resched_ipi(struct trap_frame *f, void *arg)
{
	(void)f;
	(void)arg;
	sched_resched_ipi();
}

void smp_init(void)
{
	for (unsigned i = 0; i < MAX_CPUS; i++)
		call_queues[i].lock = (spinlock_t)SPINLOCK_INIT("smp_call");
	irq_register(VEC_CALL, call_ipi, NULL);
	irq_register(VEC_RESCHED, resched_ipi, NULL);
}
