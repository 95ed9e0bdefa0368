/* tlb.h - which CPUs hold a user address space, and how they are made to
 * forget it (mm/tlb.c).
 *
 * A CPU caches translations of the address space in its CR3 (TLB entries,
 * paging-structure caches). weft uses no PCIDs, so loading CR3 drops every
 * non-global entry: a CPU can hold translations of an mm only while that
 * mm is its CR3. mm->cpus has a bit for each such CPU: set before the CPU
 * loads the mm, cleared after it loaded something else. A CPU running a
 * kernel thread keeps the last address space loaded ("lazy": kernel
 * threads never touch user memory through CR3) and keeps its bit.
 *
 * Shootdown: whoever removes or restricts user mappings (mm->lock held,
 * mm/vm.c) changes the PTEs, then calls tlb_batch_flush(), which flushes
 * this CPU and sends one call-function IPI to every other CPU in
 * mm->cpus, and waits for all of them. Only then may pages that were
 * mapped be freed or reused. A CPU in the mask that only borrows the mm
 * (its running thread is a kernel thread) leaves it instead of flushing
 * (loads the kernel's tables, drops its bit), so it gets no further IPIs.
 *
 * Why no CPU is missed: the flusher's PTE stores are followed by a full
 * fence and then the read of mm->cpus; a CPU loading the mm sets its bit
 * with a locked instruction and then writes CR3. Either the flusher sees
 * the bit (and the CPU gets the IPI), or the CPU's bit came later, its CR3
 * load later still, and its page walks see the new PTEs.
 *
 * Teardown: the last mm_put() calls tlb_evict_mm(), which makes every CPU
 * in mm->cpus load the kernel's tables (an IPI each) and waits, so no CPU
 * has the tables in CR3 when they are freed. Nothing can load the mm any
 * more by then: its last owner is gone, and with it every thread that
 * could be switched to.
 */
#ifndef WEFT_TLB_H
#define WEFT_TLB_H
#include <stdint.h>
#include <weft/smp.h>
#include <weft/pmm.h>

struct mm;
struct percpu;

/* A flush of more pages than this reloads CR3 (everything) instead of
 * one INVLPG per page. */
#define TLB_FLUSH_MAX_PAGES 32

/* Translations of one mm to flush, gathered while PTEs change. */
struct tlb_batch {
	struct mm *mm;
	uint64_t start, end;     /* span of the pages added: [start, end) */
	uint64_t pages;          /* how many were added */
};

static inline void tlb_batch_init(struct tlb_batch *b, struct mm *mm)
{
	b->mm = mm;
	b->start = ~0ULL;
	b->end = 0;
	b->pages = 0;
}
/* A PTE for va that may be cached (it was present) lost rights or went. */
static inline void tlb_batch_add(struct tlb_batch *b, uint64_t va)
{
	if (va < b->start)
		b->start = va;
	if (va + PAGE_SIZE > b->end)
		b->end = va + PAGE_SIZE;
	b->pages++;
}
/* Flush b's pages on every CPU that may cache them (this one included)
 * and wait until all have: afterwards no CPU uses the old PTEs. Thread
 * context with preemption on (it waits for other CPUs: no spinlock held;
 * mm->lock, a mutex, may be and usually is). Nothing to do if b is empty. */
void tlb_batch_flush(struct tlb_batch *b);

/* Load next's tables on this CPU (NULL: the kernel's) and keep next->cpus
 * and c->active_mm right. Interrupts off; c is this CPU. The caller makes
 * sure next stays alive while loaded (it belongs to the running thread,
 * or the caller holds a reference). */
void mm_switch_cpu(struct percpu *c, struct mm *next);
/* Make every CPU that has mm loaded load the kernel's tables instead, and
 * wait. For the last mm_put(): thread context, preemption on. */
void tlb_evict_mm(struct mm *mm);

/* Counters since boot, for tests and `mem` (updated atomically). */
struct tlb_stats {
	uint64_t flushes;        /* tlb_batch_flush() calls with pages to flush */
	uint64_t shootdowns;     /* ... that had to reach another CPU (one IPI round each) */
	uint64_t remote_flushes; /* flush requests handled by a CPU other than the caller's */
	uint64_t full_flushes;   /* flushes (on any CPU) done as a CR3 reload */
	uint64_t lazy_leaves;    /* CPUs that left a borrowed mm instead of flushing */
	uint64_t evictions;      /* CPUs moved off an mm being freed */
};
extern struct tlb_stats tlb_stats;
#endif
