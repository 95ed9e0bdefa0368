/* ktest_helpers.h - small helpers shared by the in-kernel test files. */
#ifndef WEFT_KTEST_HELPERS_H
#define WEFT_KTEST_HELPERS_H
#include <stdint.h>
#include <weft/time.h>
#include <weft/sched.h>
#include <weft/timer.h>
#include <weft/paging.h>
#include <arch/memlayout.h>
#include <weft/wait.h>
#include <weft/kstack.h>
#include <weft/kmalloc.h>
#include <weft/pmm.h>
#include <weft/thread.h>
#include <weft/smp.h>
#include <weft/ktest.h>

#define MS(x) ((uint64_t)(x) * NSEC_PER_MSEC)

static inline uint64_t now_ns(void) { return clock_monotonic_ns(); }

static inline unsigned ncpus(void) { return smp_online_cpus(); }

/* Skip the test (true: go on) unless at least n CPUs are online. */
static inline bool need_cpus(struct ktest_ctx *t, unsigned n)
{
	if (ncpus() >= n)
		return true;
	ktest_skip(t, n == 2 ? "needs 2 CPUs" : "needs more CPUs");
	return false;
}

/* Wait for `n` complete()s of `done`, all within timeout_ns from now.
 * Returns how many arrived. */
static inline unsigned wait_done(struct completion *done, unsigned n, uint64_t timeout_ns)
{
	uint64_t deadline = now_ns() + timeout_ns;
	for (unsigned i = 0; i < n; i++) {
		uint64_t now = now_ns();
		if (now >= deadline || wait_for_completion_timeout(done, deadline - now) != 0)
			return i;
	}
	return n;
}

/* Free pages once every trace of finished threads is gone: exited threads
 * are reaped a moment after they switch out for the last time, and cached
 * stacks and empty slabs are given back first. */
static inline uint64_t settled_free_pages(uint64_t want)
{
	uint64_t now = 0;
	for (int i = 0; i < 200; i++) {
		kstack_trim();
		kmalloc_trim();
		now = pmm_free_pages();
		if (now == want)
			break;
		thread_sleep(MS(1));
	}
	return now;
}

/* How much later than `requested` a timed wait over [t0, t1] returned by
 * the kernel's doing: the time past its deadline, less the delay of the
 * timer interrupt that ended it if that interrupt found the CPU idle (the
 * machine's delay, see timer_last_irq: under TCG, host time in which QEMU
 * did not run the virtual CPU). *machine gets that delay. Call right after
 * the wait returns, on the CPU it ran on. */
static inline uint64_t kernel_lateness(uint64_t t0, uint64_t t1, uint64_t requested,
				       uint64_t *machine)
{
	struct timer_irq_stamp irq;
	timer_last_irq(&irq);
	uint64_t late = t1 - t0 > requested ? t1 - t0 - requested : 0;
	uint64_t m = irq.idle && irq.at >= t0 && irq.at <= t1 ? irq.late_ns : 0;
	*machine = m;
	return late > m ? late - m : 0;
}

/* Scheduler counters of CPU 0, where these tests and their threads run
 * (ktest_run() pins the test thread to its CPU, CPU 0 at boot, and new
 * threads inherit their creator's mask). */
static inline struct sched_stats stats(void)
{
	struct sched_stats s;
	sched_get_stats(0, &s);
	return s;
}
/* Page-table pages (PDs and PTs) that map the kernel-stack area now.
 * kmap_page() allocates them from the PMM on demand and nothing frees
 * them, so a test that counts free pages must count these apart: they are
 * the kernel's cache of mappings for stack slots, not a leak per thread. */
static inline uint64_t kstack_table_pages(void)
{
	const uint64_t *pml4 = phys_to_virt(paging_kernel_root());
	uint64_t n = 0;
	for (uint64_t va = KSTACK_BASE; va - KSTACK_BASE < KSTACK_AREA; va += 1ULL << 39) {
		uint64_t e4 = pml4[(va >> 39) & 511];
		if (!(e4 & PTE_PRESENT))
			continue;
		const uint64_t *pdpt = phys_to_virt(e4 & PTE_ADDR); /* preallocated at boot */
		for (unsigned i = 0; i < 512; i++) {
			if (!(pdpt[i] & PTE_PRESENT) || (pdpt[i] & PTE_HUGE))
				continue;
			n++; /* a page directory */
			const uint64_t *pd = phys_to_virt(pdpt[i] & PTE_ADDR);
			for (unsigned j = 0; j < 512; j++)
				if ((pd[j] & PTE_PRESENT) && !(pd[j] & PTE_HUGE))
					n++; /* a page table */
		}
	}
	return n;
}
#endif
