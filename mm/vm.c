/*
 * vm.c - user address spaces. See <weft/vm.h>.
 *
 * A PTE of a user page is one of:
 *   - present, USER, WRITE if the region is writable, NX unless executable;
 *   - PTE_PROTNONE (not present): the region is PROT_NONE now, but the page
 *     keeps its contents for a later mprotect() back;
 *   - PTE_ZAPPED (not present): being unmapped - the frame is still ours
 *     and is freed once no TLB can hold it (below); seen only inside one
 *     operation under mm->lock;
 *   - zero: never touched (or unmapped); the next access faults it in.
 * Every page referenced by one of the first three kinds belongs to this
 * mm and is freed when its range is unmapped or the mm dies.
 *
 * TLBs, with threads on several CPUs (<weft/tlb.h> has the protocol):
 *   - Unmapping (munmap, MAP_FIXED over a mapping, brk shrinking,
 *     MADV_DONTNEED) goes in three steps, all under mm->lock: zap every
 *     PTE of the range (not present, frame kept), flush - this CPU and,
 *     with one IPI round, every other CPU in mm->cpus, waiting for all -
 *     and only then free the frames and clear the PTEs. A CPU still
 *     reading through a stale entry reads a page nobody else owns yet;
 *     after the flush nobody can.
 *   - mprotect() rewrites the PTEs, then flushes the same way if any page
 *     that was present lost a right (write, execute, or all of them).
 *   - Rights that grow need no flush: a stale entry with fewer rights
 *     faults, the CPU drops it on the #PF, and vm_fault() finds the access
 *     allowed and retries it.
 *   - Teardown (the last mm_put) first moves every CPU off the mm
 *     (tlb_evict_mm), so the pages and tables are freed with no TLB
 *     anywhere referring to them.
 */
#include <weft/vm.h>
#include <weft/pmm.h>
#include <weft/kmalloc.h>
#include <weft/string.h>
#include <weft/errno.h>
#include <weft/printk.h>
#include <weft/panic.h>
#include <weft/thread.h>
#include <weft/tlb.h>
#include <arch/memlayout.h>
#include <arch/percpu.h>
#include <arch/cpu.h>
#include <arch/irqflags.h>
#include "vma.h"

#define PAGE_ALIGN_UP(x) (((x) + PAGE_MASK) & ~(uint64_t)PAGE_MASK)

static uint64_t pte_flags(unsigned prot)
{
	if (prot == PROT_NONE)
		return PTE_PROTNONE;
	uint64_t f = PTE_PRESENT | PTE_USER;
	if (prot & PROT_WRITE)
		f |= PTE_WRITE;
	if (!(prot & PROT_EXEC))
		f |= pte_nx();
	return f;
}

static bool mm_loaded(struct mm *mm) { return (read_cr3() & PTE_ADDR) == mm->root; }

/* --- lifetime and loading ------------------------------------------------- */

struct mm *mm_create(void)
{
	struct mm *mm = kzalloc(sizeof *mm);
	if (!mm)
		return NULL;
	mm->root = pt_create_root();
	if (!mm->root) {
		kfree(mm);
		return NULL;
	}
	mutex_init(&mm->lock, "mm");
	vma_tree_init(mm);
	mm->refs = 1;
	return mm;
}

void mm_get(struct mm *mm) { __atomic_add_fetch(&mm->refs, 1, __ATOMIC_RELAXED); }

/* The last step of unmapping: the PTE (zapped, or PROTNONE) holds a frame
 * no TLB can reach any more. mm->lock held, or the mm is dying. */
static void free_leaf(uint64_t *pte, uint64_t va, void *arg)
{
	(void)va;
	struct mm *mm = arg;
	pmm_free(*pte & PTE_ADDR, 0);
	*pte = 0;
	mm->pages--;
}

void mm_put(struct mm *mm)
{
	if (__atomic_sub_fetch(&mm->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	/* The last owner: no thread of it is left to load it. CPUs that
	 * still have it in CR3 (kernel threads borrowing it) move to the
	 * kernel's tables first; then nothing refers to it, and everything
	 * goes without the lock or any TLB flush. */
	tlb_evict_mm(mm);
	pt_walk_range(mm->root, 0, USER_TOP, free_leaf, mm);
	vma_tree_free(mm);
	pt_destroy_root(mm->root);
	kfree(mm);
}

void mm_activate(struct mm *mm)
{
	unsigned long f = local_irq_save();
	mm_switch_cpu(this_cpu(), mm);
	local_irq_restore(f);
}

/* --- unmapping: zap, flush, free --------------------------------------------- */

/* Step 1: take the page out of the MMU's view but keep the frame. The
 * exchange is atomic against the CPUs' own updates of the accessed and
 * dirty bits (which they never make in a not-present entry). */
static void zap_leaf(uint64_t *pte, uint64_t va, void *arg)
{
	struct tlb_batch *b = arg;
	uint64_t old = __atomic_exchange_n(pte, (*pte & PTE_ADDR) | PTE_ZAPPED, __ATOMIC_SEQ_CST);
	if (old & PTE_PRESENT)
		tlb_batch_add(b, va);   /* may be cached somewhere (PROTNONE ones cannot) */
}

/* Free every page in [start, end), keeping the regions. mm->lock held;
 * thread context, preemption on (the flush waits for other CPUs). */
static void unmap_pages_locked(struct mm *mm, uint64_t start, uint64_t end)
{
	struct tlb_batch b;
	tlb_batch_init(&b, mm);
	pt_walk_range(mm->root, start, end, zap_leaf, &b);
	tlb_batch_flush(&b);                    /* step 2: no CPU caches them now */
	pt_walk_range(mm->root, start, end, free_leaf, mm);   /* step 3 */
}

/* Remove all regions inside [start, end) and free their pages. */
static int unmap_locked(struct mm *mm, uint64_t start, uint64_t end)
{
	int r = vma_remove_range(mm, start, end);
	if (r == 0)
		unmap_pages_locked(mm, start, end);
	return r;
}

/* --- system calls ---------------------------------------------------------- */

long vm_mmap(struct mm *mm, uint64_t addr, uint64_t len, unsigned prot, unsigned flags)
{
	if (len == 0 || (prot & ~(unsigned)(PROT_READ | PROT_WRITE | PROT_EXEC)))
		return -EINVAL;
	if (len > USER_TOP)
		return -ENOMEM;           /* absurd sizes fail at once, taking nothing */
	len = PAGE_ALIGN_UP(len);
	bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	if (fixed && (addr & PAGE_MASK))
		return -EINVAL;
	if (fixed && (addr < USER_MIN_ADDR || addr > USER_TOP - len))
		return (flags & MAP_FIXED) ? -ENOMEM : -EINVAL;
	mutex_lock(&mm->lock);
	long r;
	if (fixed) {
		if (!vma_range_free(mm, addr, addr + len)) {
			if (flags & MAP_FIXED_NOREPLACE) {
				r = -EEXIST;
				goto out;
			}
			if ((r = unmap_locked(mm, addr, addr + len)) < 0)
				goto out;
		}
	} else {
		addr &= ~(uint64_t)PAGE_MASK;
		if (addr < USER_MIN_ADDR || addr > USER_TOP - len || !vma_range_free(mm, addr, addr + len))
			addr = vma_find_gap(mm, len);
		if (!addr) {
			r = -ENOMEM;
			goto out;
		}
		BUG_ON(!vma_range_free(mm, addr, addr + len));   /* vma_find_gap's promise */
	}
	r = vma_insert(mm, addr, addr + len, prot, "anon");
	if (r == 0)
		r = (long)addr;
out:
	mutex_unlock(&mm->lock);
	return r;
}

int vm_munmap(struct mm *mm, uint64_t addr, uint64_t len)
{
	if ((addr & PAGE_MASK) || len == 0 || addr >= USER_TOP || len > USER_TOP - addr)
		return -EINVAL;
	mutex_lock(&mm->lock);
	int r = unmap_locked(mm, addr, addr + PAGE_ALIGN_UP(len));
	mutex_unlock(&mm->lock);
	return r;
}

int vm_discard(struct mm *mm, uint64_t addr, uint64_t len)
{
	if (addr >= USER_TOP || len > USER_TOP - addr)
		return -EINVAL;
	mutex_lock(&mm->lock);
	unmap_pages_locked(mm, addr, addr + PAGE_ALIGN_UP(len));
	mutex_unlock(&mm->lock);
	return 0;
}

struct reprotect {
	uint64_t flags;
	struct tlb_batch batch;
};

/* Did a present PTE lose a right in old -> new (so that a CPU caching old
 * could do what new forbids)? */
static bool rights_lost(uint64_t old, uint64_t new)
{
	if (!(old & PTE_PRESENT))
		return false;
	return !(new & PTE_PRESENT) || ((old & PTE_WRITE) && !(new & PTE_WRITE)) ||
	       (!(old & PTE_NX) && (new & PTE_NX));
}

static void reprotect_leaf(uint64_t *pte, uint64_t va, void *arg)
{
	struct reprotect *rp = arg;
	uint64_t old = *pte, new = (old & PTE_ADDR) | rp->flags;
	__atomic_store_n(pte, new, __ATOMIC_RELAXED);
	if (rights_lost(old, new))
		tlb_batch_add(&rp->batch, va);
}

int vm_mprotect(struct mm *mm, uint64_t addr, uint64_t len, unsigned prot)
{
	if ((addr & PAGE_MASK) || (prot & ~(unsigned)(PROT_READ | PROT_WRITE | PROT_EXEC)))
		return -EINVAL;
	if (len == 0)
		return 0;
	if (addr >= USER_TOP || len > USER_TOP - addr)
		return -ENOMEM;
	uint64_t end = addr + PAGE_ALIGN_UP(len);
	mutex_lock(&mm->lock);
	/* The whole range must be mapped (Linux: -ENOMEM otherwise). */
	int r = 0;
	for (uint64_t a = addr; a < end;) {
		struct vma *v = vma_find(mm, a);
		if (!v) {
			r = -ENOMEM;
			goto out;
		}
		a = v->end;
	}
	if ((r = vma_split(mm, addr)) < 0 || (r = vma_split(mm, end)) < 0)
		goto out;
	for (uint64_t a = addr; a < end;) {
		struct vma *v = vma_find(mm, a);
		v->prot = prot;
		a = v->end;
	}
	struct reprotect rp = { .flags = pte_flags(prot) };
	tlb_batch_init(&rp.batch, mm);
	pt_walk_range(mm->root, addr, end, reprotect_leaf, &rp);
	tlb_batch_flush(&rp.batch);   /* before returning: no CPU keeps the lost rights */
out:
	mutex_unlock(&mm->lock);
	return r;
}

uint64_t vm_brk(struct mm *mm, uint64_t new_brk)
{
	mutex_lock(&mm->lock);
	uint64_t cur = mm->brk;
	if (new_brk < mm->brk_start || new_brk > USER_MMAP_TOP)
		goto out;
	uint64_t old_top = PAGE_ALIGN_UP(cur), new_top = PAGE_ALIGN_UP(new_brk);
	if (new_top > old_top) {
		if (!vma_range_free(mm, old_top, new_top) ||
		    vma_insert(mm, old_top, new_top, PROT_READ | PROT_WRITE, "brk") < 0)
			goto out;
	} else if (new_top < old_top) {
		if (unmap_locked(mm, new_top, old_top) < 0)
			goto out;
	}
	mm->brk = cur = new_brk;
out:
	mutex_unlock(&mm->lock);
	return cur;
}

/* --- faults and population ------------------------------------------------- */

/* Map a fresh zeroed page at va (absent until now). mm->lock held. */
static int fault_in(struct mm *mm, uint64_t va, unsigned prot, uint64_t **ptep)
{
	uint64_t *pte = pt_walk_user(mm->root, va, true);
	if (!pte)
		return -ENOMEM;
	if (!*pte) {
		uint64_t pa = pmm_alloc(0);
		if (!pa)
			return -ENOMEM;
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
		*pte = pa | pte_flags(prot);
		mm->pages++;
		mm->faults++;
	}
	if (ptep)
		*ptep = pte;
	return 0;
}

int vm_fault(struct mm *mm, uint64_t addr, bool write, bool exec)
{
	if (addr >= USER_TOP)
		return -EFAULT;
	mutex_lock(&mm->lock);
	int r;
	struct vma *v = vma_find(mm, addr);
	if (!v)
		r = -EFAULT;
	else if (v->prot == PROT_NONE || (write && !(v->prot & PROT_WRITE)) ||
		 (exec && !(v->prot & PROT_EXEC)))
		r = -EACCES;
	else {
		uint64_t *pte;
		r = fault_in(mm, addr & ~(uint64_t)PAGE_MASK, v->prot, &pte);
		if (r == 0) {
			/* Present already (another thread won the race, or a
			 * stale TLB entry with fewer rights): make sure the
			 * flags match. Rights only grow here, so this CPU's
			 * entry is all that may need to go. */
			*pte = (*pte & PTE_ADDR) | pte_flags(v->prot);
			if (mm_loaded(mm))
				invlpg(addr);
		}
	}
	mutex_unlock(&mm->lock);
	return r;
}

int vm_map_lazy(struct mm *mm, uint64_t addr, uint64_t len, unsigned prot, const char *name)
{
	mutex_lock(&mm->lock);
	int r = vma_range_free(mm, addr, addr + len) ? vma_insert(mm, addr, addr + len, prot, name)
						   : -EEXIST;
	mutex_unlock(&mm->lock);
	return r;
}

/* Copy into user pages through the direct map, faulting them in. */
static int write_locked(struct mm *mm, uint64_t addr, const void *src, uint64_t len)
{
	const char *s = src;
	while (len) {
		uint64_t va = addr & ~(uint64_t)PAGE_MASK, off = addr & PAGE_MASK;
		uint64_t n = PAGE_SIZE - off < len ? PAGE_SIZE - off : len;
		struct vma *v = vma_find(mm, va);
		uint64_t *pte;
		if (!v)
			return -EFAULT;
		int r = fault_in(mm, va, v->prot, &pte);
		if (r < 0)
			return r;
		memcpy((char *)phys_to_virt(*pte & PTE_ADDR) + off, s, n);
		s += n;
		addr += n;
		len -= n;
	}
	return 0;
}

int vm_write(struct mm *mm, uint64_t addr, const void *src, uint64_t len)
{
	mutex_lock(&mm->lock);
	int r = write_locked(mm, addr, src, len);
	mutex_unlock(&mm->lock);
	return r;
}

int vm_map_populate(struct mm *mm, uint64_t addr, uint64_t len, unsigned prot,
		    const char *name, const void *data, uint64_t skip, uint64_t len_data)
{
	mutex_lock(&mm->lock);
	int r = -EEXIST;
	if (!vma_range_free(mm, addr, addr + len))
		goto out;
	if ((r = vma_insert(mm, addr, addr + len, prot, name)) < 0)
		goto out;
	for (uint64_t va = addr; va < addr + len && r == 0; va += PAGE_SIZE)
		r = fault_in(mm, va, prot, NULL);
	/* Through the direct map: the pages' own protection does not apply. */
	if (r == 0 && len_data)
		r = write_locked(mm, addr + skip, data, len_data);
out:
	mutex_unlock(&mm->lock);
	return r;
}

void vm_print(struct mm *mm)
{
	mutex_lock(&mm->lock);
	for (struct vma *v = vma_first(mm); v; v = vma_next(v)) {
		kprintf("  %012lx-%012lx %c%c%c %s\n", (unsigned long)v->start, (unsigned long)v->end,
			v->prot & PROT_READ ? 'r' : '-', v->prot & PROT_WRITE ? 'w' : '-',
			v->prot & PROT_EXEC ? 'x' : '-', v->name);
	}
	kprintf("  %lu pages resident, %lu faults\n", (unsigned long)mm->pages,
		(unsigned long)mm->faults);
	mutex_unlock(&mm->lock);
}
