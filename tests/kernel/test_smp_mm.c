/*
 * test_smp_mm.c - user address spaces on several CPUs: the mask of CPUs
 * that hold an mm, TLB shootdown when mappings go or lose rights, CPUs
 * that only borrow an mm leaving it, and an mm freed while another CPU
 * borrowed it.
 *
 * Suite `smp_mm`, run by t/smp-mm.t at -smp 2 and -smp 4 and by the
 * test=all runs; with one CPU the tests that need two are skipped.
 *
 * Kernel threads stand in for user threads: a worker bound to a CPU
 * adopts the address space (t->mm and CR3, as a user thread has them) and
 * reads or writes its user pages with copy_from_user()/copy_to_user(), as
 * a system call would; a fault there ends in vm_fault() and, for a page
 * that is gone, -EFAULT. Under TCG a CPU keeps a translation until it
 * flushes it, as hardware does, so a missing shootdown shows up as an
 * access that succeeds after munmap() or mprotect() returned.
 *
 * Every wait for a worker is bounded; workers give up after 10 s.
 */
#include <weft/ktest.h>
#include <weft/thread.h>
#include <weft/vm.h>
#include <weft/tlb.h>
#include <weft/smp.h>
#include <weft/pmm.h>
#include <weft/kmalloc.h>
#include <weft/kstack.h>
#include <weft/uaccess.h>
#include <weft/string.h>
#include <arch/percpu.h>
#include <arch/cpu.h>
#include <arch/irqflags.h>

#include "ktest_helpers.h"

#define VA 0x400000ULL

/* The calling kernel thread uses mm as a user thread would: every switch
 * to it loads mm, and shootdowns flush rather than unload it. */
static void adopt_mm(struct mm *mm)
{
	unsigned long f = local_irq_save();
	current()->mm = mm;
	mm_activate(mm);
	local_irq_restore(f);
}

/* Stop using it. lazily: leave it in CR3, as a user thread switching to a
 * kernel thread does (the CPU then borrows it). */
static void drop_mm(bool lazily)
{
	unsigned long f = local_irq_save();
	current()->mm = NULL;
	if (!lazily)
		mm_activate(NULL);
	local_irq_restore(f);
}

static struct mm *test_mm(unsigned pages)
{
	struct mm *mm = mm_create();
	if (mm && vm_map_populate(mm, VA, pages * PAGE_SIZE, PROT_READ | PROT_WRITE, "test", NULL,
				  0, 0) < 0) {
		mm_put(mm);
		return NULL;
	}
	return mm;
}

/* ============================================================================
 * A worker: adopts w->mm on its CPU and reads (or writes) w->pages pages
 * from VA in a loop until accesses fault, or it is told to stop.
 * ========================================================================== */

struct worker {
	struct mm *mm;
	unsigned pages;
	bool write;
	bool lazy_exit;              /* leave the mm in CR3 when done (borrowed) */
	unsigned max_accesses;       /* stop after this many (0: until faults) */
	volatile bool after;         /* the test's munmap/mprotect has returned */
	volatile bool stop;
	volatile uint64_t accesses;  /* successful ones */
	uint64_t stale;              /* successful although `after` was set before */
	uint64_t ok_after_fault;     /* successful after the first fault */
	bool faulted;
	unsigned cpu;
};

static void *worker_fn(void *arg)
{
	struct worker *w = arg;
	adopt_mm(w->mm);
	w->cpu = cpu_id();
	uint64_t deadline = now_ns() + MS(10000);
	unsigned faults = 0;
	for (uint64_t i = 0; !w->stop && now_ns() < deadline; i++) {
		uint64_t va = VA + (i % w->pages) * PAGE_SIZE;
		/* Read the flag before the access: if it was set, the access
		 * began after munmap/mprotect returned. */
		bool after = __atomic_load_n(&w->after, __ATOMIC_ACQUIRE);
		uint64_t v = i;
		int r = w->write ? copy_to_user(va, &v, sizeof v) : copy_from_user(&v, va, sizeof v);
		if (r == 0) {
			w->stale += after;
			w->ok_after_fault += w->faulted;
			__atomic_add_fetch(&w->accesses, 1, __ATOMIC_RELEASE);
			if (w->max_accesses && w->accesses >= w->max_accesses)
				break;
		} else {
			w->faulted = true;
			if (++faults == 2 * w->pages)
				break;   /* every page faults now, twice over */
		}
	}
	drop_mm(w->lazy_exit);
	return NULL;
}

static bool wait_accesses(struct worker *w, uint64_t n)
{
	uint64_t deadline = now_ns() + MS(5000);
	while (__atomic_load_n(&w->accesses, __ATOMIC_ACQUIRE) < n) {
		if (now_ns() > deadline)
			return false;
		thread_sleep(MS(1));
	}
	return true;
}

static struct tlb_stats snap(void)
{
	struct tlb_stats s;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy(&s, (const void *)&tlb_stats, sizeof s);
	return s;
}

#define DELTA(a, b, f) ((b).f - (a).f)

/* ============================================================================
 * smp_mm.munmap_one_page, smp_mm.munmap_many_pages: a worker on every CPU
 * but this one reads the pages in a loop; after munmap() returns, no read
 * succeeds anywhere. One shootdown round, one request per other CPU; a
 * range above TLB_FLUSH_MAX_PAGES is flushed whole.
 * mprotect_read_only: the same with writers and mprotect(PROT_READ).
 * ========================================================================== */

static void shootdown_case(struct ktest_ctx *t, unsigned pages, bool write)
{
	if (!need_cpus(t, 2))
		return;
	unsigned n = smp_online_cpus();
	struct mm *mm = test_mm(pages);
	KT_ASSERT(t, mm, "no memory for the address space");
	static struct worker w[MAX_CPUS];
	struct thread *th[MAX_CPUS] = { 0 };
	for (unsigned c = 1; c < n; c++) {
		memset(&w[c], 0, sizeof w[c]);
		w[c].mm = mm;
		w[c].pages = pages;
		w[c].write = write;
		th[c] = thread_create_on(c, worker_fn, &w[c], write ? "tlb-writer" : "tlb-reader");
		KT_ASSERT(t, th[c], "thread_create_on(%u) failed", c);
	}
	/* Every page is in every worker's TLB. */
	bool ready = true;
	for (unsigned c = 1; c < n; c++)
		ready &= wait_accesses(&w[c], 4 * pages);
	KT_EXPECT(t, ready, "the workers did not get going");
	cpumask_t mask = __atomic_load_n(&mm->cpus, __ATOMIC_ACQUIRE);
	struct tlb_stats s0 = snap();
	int r = write ? vm_mprotect(mm, VA, pages * PAGE_SIZE, PROT_READ)
		      : vm_munmap(mm, VA, pages * PAGE_SIZE);
	__atomic_store_n(&w[1].after, true, __ATOMIC_RELEASE);
	for (unsigned c = 2; c < n; c++)
		__atomic_store_n(&w[c].after, true, __ATOMIC_RELEASE);
	struct tlb_stats s1 = snap();
	KT_EXPECT_EQ(t, r, 0);
	for (unsigned c = 1; c < n; c++) {
		thread_join(th[c]);
		KT_EXPECT_EQ(t, w[c].cpu, c);
		KT_EXPECT(t, w[c].faulted, "CPU %u: %s never faulted (%lu accesses)", c,
			  write ? "writes" : "reads", (unsigned long)w[c].accesses);
		KT_EXPECT(t, w[c].stale == 0,
			  "CPU %u: %lu %s succeeded after %s returned (stale TLB entry)", c,
			  (unsigned long)w[c].stale, write ? "writes" : "reads",
			  write ? "mprotect" : "munmap");
		KT_EXPECT(t, w[c].ok_after_fault == 0, "CPU %u: %lu accesses succeeded after a fault",
			  c, (unsigned long)w[c].ok_after_fault);
	}
	ktest_diag(t, "%u pages, mask %#lx: %lu shootdown(s), %lu remote flush(es), %lu full, "
		   "%lu lazy leave(s)", pages, (unsigned long)mask,
		   (unsigned long)DELTA(s0, s1, shootdowns), (unsigned long)DELTA(s0, s1, remote_flushes),
		   (unsigned long)DELTA(s0, s1, full_flushes), (unsigned long)DELTA(s0, s1, lazy_leaves));
	KT_EXPECT_EQ(t, mask, (CPUMASK_ALL >> (64 - n)) & ~1ULL);   /* every worker CPU, not ours */
	KT_EXPECT_EQ(t, DELTA(s0, s1, flushes), 1);
	KT_EXPECT_EQ(t, DELTA(s0, s1, shootdowns), 1);
	KT_EXPECT_EQ(t, DELTA(s0, s1, remote_flushes), n - 1);   /* one request per other CPU */
	/* A worker asleep on mm->lock (it faulted on a zapped page) lets its
	 * CPU run idle, which leaves the borrowed mm instead of flushing. */
	uint64_t whole = DELTA(s0, s1, full_flushes) + DELTA(s0, s1, lazy_leaves);
	if (pages > TLB_FLUSH_MAX_PAGES)
		KT_EXPECT_EQ(t, whole, n - 1);
	else
		KT_EXPECT_EQ(t, DELTA(s0, s1, full_flushes), 0);
	if (write) {
		/* Rights that grow need no flush anywhere. */
		struct tlb_stats s2 = snap();
		KT_EXPECT_EQ(t, vm_mprotect(mm, VA, pages * PAGE_SIZE, PROT_READ | PROT_WRITE), 0);
		KT_EXPECT_EQ(t, DELTA(s2, snap(), flushes), 0);
	}
	mm_put(mm);
}

KTEST(smp_mm, munmap_one_page) { shootdown_case(t, 1, false); }
KTEST(smp_mm, munmap_many_pages) { shootdown_case(t, 64, false); }
KTEST(smp_mm, mprotect_read_only) { shootdown_case(t, 4, true); }

/* ============================================================================
 * smp_mm.local_munmap_sends_no_ipi: an address space loaded only here is
 * flushed here alone.
 * ========================================================================== */

struct local_arg {
	struct mm *mm;
	struct tlb_stats s0, s1;
	int r;
	uint64_t v;
	int reread;
};

static void *local_fn(void *arg)
{
	struct local_arg *a = arg;
	adopt_mm(a->mm);
	copy_from_user(&a->v, VA, sizeof a->v);   /* in the TLB now */
	a->s0 = snap();
	a->r = vm_munmap(a->mm, VA, PAGE_SIZE);
	a->s1 = snap();
	a->reread = copy_from_user(&a->v, VA, sizeof a->v);
	drop_mm(false);
	return NULL;
}

KTEST(smp_mm, local_munmap_sends_no_ipi)
{
	struct local_arg a = { .mm = test_mm(1) };
	KT_ASSERT(t, a.mm, "no memory for the address space");
	struct thread *th = thread_create_on(0, local_fn, &a, "tlb-local");
	KT_ASSERT(t, th, "thread_create_on failed");
	thread_join(th);
	KT_EXPECT_EQ(t, a.r, 0);
	KT_EXPECT(t, a.reread != 0, "the page still reads after munmap");
	KT_EXPECT_EQ(t, DELTA(a.s0, a.s1, flushes), 1);
	KT_EXPECT_EQ(t, DELTA(a.s0, a.s1, shootdowns), 0);
	KT_EXPECT_EQ(t, DELTA(a.s0, a.s1, remote_flushes), 0);
	KT_EXPECT_EQ(t, a.mm->cpus, 0);
	mm_put(a.mm);
}

/* ============================================================================
 * smp_mm.cpu_mask_follows_cr3, smp_mm.lazy_cpu_leaves_on_flush: the mask
 * has a CPU's bit while it has the mm loaded, kernel threads borrowing it
 * included; a flush makes a borrowing CPU leave (no flush, no further
 * IPIs).
 * ========================================================================== */

static struct thread *borrow_on(unsigned cpu, struct worker *w, struct mm *mm, bool lazy)
{
	memset(w, 0, sizeof *w);
	w->mm = mm;
	w->pages = 1;
	w->max_accesses = 1;
	w->lazy_exit = lazy;
	return thread_create_on(cpu, worker_fn, w, "tlb-borrow");
}

KTEST(smp_mm, cpu_mask_follows_cr3)
{
	if (!need_cpus(t, 2))
		return;
	struct mm *mm = test_mm(1);
	KT_ASSERT(t, mm, "no memory for the address space");
	static struct worker w;
	struct thread *th = borrow_on(1, &w, mm, false);
	KT_ASSERT(t, th, "thread_create_on failed");
	KT_EXPECT(t, wait_accesses(&w, 1), "the worker did not run");
	thread_join(th);
	KT_EXPECT_EQ(t, mm->cpus, 0);              /* it unloaded the mm itself */
	KT_EXPECT(t, cpu_list[1]->active_mm == NULL, "CPU 1 still has the mm loaded");
	th = borrow_on(1, &w, mm, true);
	KT_ASSERT(t, th, "thread_create_on failed");
	thread_join(th);
	KT_EXPECT_EQ(t, mm->cpus, 1ULL << 1);      /* CPU 1's idle thread borrows it */
	KT_EXPECT(t, cpu_list[1]->active_mm == mm, "CPU 1 does not have the mm loaded");
	mm_put(mm);
}

KTEST(smp_mm, lazy_cpu_leaves_on_flush)
{
	if (!need_cpus(t, 2))
		return;
	struct mm *mm = mm_create();
	KT_ASSERT(t, mm, "no memory for the address space");
	KT_ASSERT(t, vm_map_populate(mm, VA, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, "test", NULL, 0,
				     0) == 0, "mapping failed");
	static struct worker w;
	struct thread *th = borrow_on(1, &w, mm, true);
	KT_ASSERT(t, th, "thread_create_on failed");
	thread_join(th);
	KT_EXPECT_EQ(t, mm->cpus, 1ULL << 1);
	struct tlb_stats s0 = snap();
	KT_EXPECT_EQ(t, vm_munmap(mm, VA, PAGE_SIZE), 0);
	struct tlb_stats s1 = snap();
	KT_EXPECT_EQ(t, DELTA(s0, s1, remote_flushes), 1);
	KT_EXPECT_EQ(t, DELTA(s0, s1, lazy_leaves), 1);
	KT_EXPECT_EQ(t, mm->cpus, 0);
	KT_EXPECT(t, cpu_list[1]->active_mm == NULL, "CPU 1 still borrows the mm");
	/* Nobody holds it now: the next unmap is a local affair. */
	KT_EXPECT_EQ(t, vm_munmap(mm, VA + PAGE_SIZE, PAGE_SIZE), 0);
	KT_EXPECT_EQ(t, DELTA(s1, snap(), remote_flushes), 0);
	mm_put(mm);
}

/* ============================================================================
 * smp_mm.freed_mm_leaves_lazy_cpu: CPU 1 borrows an mm (its idle thread
 * runs on the mm's tables) when the last reference goes. mm_put() moves
 * CPU 1 to the kernel's tables first and frees every page at once; the
 * freed pages are then scribbled over and CPU 1 is made to take an IPI,
 * which it could not survive on freed tables.
 * ========================================================================== */

static void read_cr3_fn(void *arg) { *(uint64_t *)arg = read_cr3(); }
static void nop_fn(void *arg) { (void)arg; }

KTEST(smp_mm, freed_mm_leaves_lazy_cpu)
{
	if (!need_cpus(t, 2))
		return;
	uint64_t free0 = settled_free_pages(0);
	uint64_t tables0 = kstack_table_pages();
	struct mm *mm = test_mm(8);
	KT_ASSERT(t, mm, "no memory for the address space");
	static struct worker w;
	struct thread *th = borrow_on(1, &w, mm, true);
	KT_ASSERT(t, th, "thread_create_on failed");
	thread_join(th);
	KT_EXPECT(t, cpu_list[1]->active_mm == mm, "CPU 1 does not borrow the mm");
	uint64_t root = mm->root;
	struct tlb_stats s0 = snap();
	mm_put(mm);
	KT_EXPECT_EQ(t, DELTA(s0, snap(), evictions), 1);
	KT_EXPECT(t, cpu_list[1]->active_mm == NULL, "CPU 1 still has the freed mm");
	uint64_t cr3 = 0;
	smp_call(1, read_cr3_fn, &cr3, true);
	KT_EXPECT_EQ(t, cr3 & PTE_ADDR, paging_kernel_root());

	/* Reuse the freed pages (the allocator hands back recent frees
	 * first), filled with garbage, then interrupt CPU 1. */
	static uint64_t got[64];
	unsigned ngot = 0;
	bool root_reused = false;
	for (; ngot < 64; ngot++) {
		got[ngot] = pmm_alloc(0);
		if (!got[ngot])
			break;
		memset(phys_to_virt(got[ngot]), 0xa5, PAGE_SIZE);
		root_reused |= got[ngot] == root;
	}
	smp_call(1, nop_fn, NULL, true);
	ktest_diag(t, "the old page-table root %s among %u pages reused and overwritten",
		   root_reused ? "was" : "was not", ngot);
	for (unsigned i = 0; i < ngot; i++)
		pmm_free(got[i], 0);
	uint64_t tables = kstack_table_pages() - tables0;
	uint64_t free1 = settled_free_pages(free0 - tables);
	KT_EXPECT(t, free1 + tables == free0, "%ld pages not returned after mm_put()",
		  (long)free0 - (long)(free1 + tables));
}
