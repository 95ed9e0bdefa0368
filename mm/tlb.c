/*
 * tlb.c - the CPUs that hold a user address space: loading it, shooting
 * down its TLB entries everywhere, and moving every CPU off it before it
 * is freed. See <weft/tlb.h> for the protocol.
 *
 * Who touches what:
 *   mm->cpus       bit n is set and cleared only by CPU n itself, with
 *                  interrupts off (mm_switch_cpu); anyone may read it.
 *   c->active_mm   only by CPU c, interrupts off (the switch path, an IPI
 *                  handler, mm_activate). Not a reference: the mm stays
 *                  alive because the last mm_put() first moves every CPU
 *                  off it (tlb_evict_mm).
 * No locks: the handlers below run in interrupt context on any CPU.
 */
#include <weft/tlb.h>
#include <weft/vm.h>
#include <weft/thread.h>
#include <weft/panic.h>
#include <arch/percpu.h>
#include <arch/cpu.h>
#include <weft/pmm.h>

struct tlb_stats tlb_stats;

#define STAT_INC(f) __atomic_add_fetch(&tlb_stats.f, 1, __ATOMIC_RELAXED)

void mm_switch_cpu(struct percpu *c, struct mm *next)
{
	struct mm *prev = c->active_mm;
	if (prev == next)
		return;
	cpumask_t bit = (cpumask_t)1 << c->cpu_id;
	/* The bit first, with a locked instruction (a full barrier), then
	 * CR3: a flusher that reads mm->cpus without our bit changed its PTEs
	 * before we load the tables (see <weft/tlb.h>). */
	if (next)
		__atomic_fetch_or(&next->cpus, bit, __ATOMIC_SEQ_CST);
	write_cr3(next ? next->root : paging_kernel_root());
	c->active_mm = next;
	/* prev's translations went with the CR3 load: no flush of it needs
	 * us any more. This is our last access to prev (it may be freed as
	 * soon as the bit is clear, if its last owner has gone). */
	if (prev)
		__atomic_fetch_and(&prev->cpus, ~bit, __ATOMIC_RELEASE);
}

/* What one tlb_batch_flush() asks of each CPU. On the caller's stack: the
 * caller waits for every CPU. */
struct flush_req {
	struct mm *mm;
	uint64_t start, end;
	bool full;
	struct thread *caller;
};

/* On each CPU in the mask, interrupts off (an IPI, or directly on the
 * caller's CPU). */
static void flush_here(void *arg)
{
	const struct flush_req *r = arg;
	struct percpu *c = this_cpu();
	bool remote = c->current != r->caller;
	if (remote)
		STAT_INC(remote_flushes);
	if (c->active_mm != r->mm)
		return;     /* loaded something else since the mask was read: flushed by that */
	if (remote && c->current->mm != r->mm) {
		/* A kernel thread borrows it (lazy): nothing here uses it,
		 * so leave it rather than flush, and hear no more of it. */
		mm_switch_cpu(c, NULL);
		STAT_INC(lazy_leaves);
		return;
	}
	if (r->full) {
		write_cr3(read_cr3());   /* drops every non-global entry */
		STAT_INC(full_flushes);
	} else {
		for (uint64_t va = r->start; va < r->end; va += PAGE_SIZE)
			invlpg(va);
	}
}

void tlb_batch_flush(struct tlb_batch *b)
{
	if (!b->pages)
		return;
	struct flush_req r = {
		.mm = b->mm,
		.start = b->start,
		.end = b->end,
		.full = (b->end - b->start) / PAGE_SIZE > TLB_FLUSH_MAX_PAGES,
		.caller = current(),
	};
	/* The PTE changes before the read of the mask (see <weft/tlb.h>):
	 * a store followed by a load needs a full fence on x86. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	cpumask_t mask = __atomic_load_n(&b->mm->cpus, __ATOMIC_RELAXED);
	STAT_INC(flushes);
	if (mask & ~((cpumask_t)1 << cpu_id()))   /* a hint only: we may migrate */
		STAT_INC(shootdowns);
	/* One call-function IPI per other CPU in the mask, run directly here
	 * if this CPU is in it; returns when all have run flush_here(). */
	if (mask)
		smp_call_mask(mask, flush_here, &r, true);
	tlb_batch_init(b, b->mm);
}

/* On each CPU that had the dying mm loaded, interrupts off. */
static void leave_mm(void *arg)
{
	struct percpu *c = this_cpu();
	if (c->active_mm != arg)
		return;   /* switched away meanwhile */
	mm_switch_cpu(c, NULL);
	STAT_INC(evictions);
}

void tlb_evict_mm(struct mm *mm)
{
	if (current()->mm == mm)
		panic("tlb_evict_mm: the running thread still uses the address space");
	cpumask_t mask = __atomic_load_n(&mm->cpus, __ATOMIC_ACQUIRE);
	if (mask)
		smp_call_mask(mask, leave_mm, mm, true);
	/* No thread can load it again (its owners are gone), and every CPU
	 * that had it has loaded the kernel's tables, or something else. */
	mask = __atomic_load_n(&mm->cpus, __ATOMIC_ACQUIRE);
	if (mask)
		panic("tlb_evict_mm: CPUs %#lx still hold the address space", (unsigned long)mask);
}
