/* vm.h - user address spaces: regions, lazy anonymous memory, page faults
 * (mm/vm.c).
 *
 * An address space (struct mm) is a page-table root sharing the kernel
 * half, plus its regions (struct vma) saying what the lower half may
 * contain, in an AVL tree keyed by start address (<weft/avl.h>) that also
 * keeps the largest free gap of each subtree: finding, inserting,
 * splitting, merging and removing a region and finding a free gap for
 * mmap are O(log n) in the number of regions. Pages are allocated on first touch (vm_fault), so
 * mapping memory costs nothing until it is used, and PROT_NONE never does.
 *
 * Locking: mm->lock (a sleeping mutex) guards the regions, the page
 * tables' lower half and brk. It is never held while touching user memory
 * (a fault would take it again).
 *
 * Several CPUs: the threads of a process may run on any CPUs at once, each
 * with the address space in CR3. Removing or restricting mappings flushes
 * the TLBs of all of them before the call returns and before any page is
 * freed (<weft/tlb.h>, mm/tlb.c); mm->cpus says which CPUs to ask.
 */
#ifndef WEFT_VM_H
#define WEFT_VM_H
#include <stdint.h>
#include <stdbool.h>
#include <weft/list.h>
#include <weft/avl.h>
#include <weft/mutex.h>
#include <weft/paging.h>
#include <weft/smp.h>

#define PROT_NONE  0
#define PROT_READ  1
#define PROT_WRITE 2
#define PROT_EXEC  4

#define MAP_SHARED          0x01
#define MAP_PRIVATE         0x02
#define MAP_FIXED           0x10
#define MAP_ANONYMOUS       0x20
#define MAP_GROWSDOWN       0x100
#define MAP_DENYWRITE       0x800
#define MAP_NORESERVE       0x4000
#define MAP_POPULATE        0x8000
#define MAP_STACK           0x20000
#define MAP_FIXED_NOREPLACE 0x100000

/* The fixed parts of the layout. */
#define USER_STACK_TOP   0x00007ffffff00000ULL  /* initial stack, growing down */
#define USER_STACK_MAX   (8ULL << 20)           /* reserved below it (RLIMIT_STACK) */
#define USER_MMAP_TOP    0x00007f0000000000ULL  /* mmap searches down from here */
#define USER_MIN_ADDR    0x10000ULL             /* nothing is mapped below (NULL traps) */

struct vma {
	struct avl_node node;    /* in mm->vmas, keyed by start; regions never overlap */
	uint64_t start, end;     /* page-aligned, [start, end) */
	unsigned prot;           /* PROT_* */
	const char *name;        /* "stack", "brk", "elf", "anon" (for reports) */
	uint64_t gap;            /* free bytes below start: from the previous region's
				  * end (USER_MIN_ADDR for the first) */
	uint64_t max_gap;        /* the largest gap in its subtree (augmented) */
};

struct mm {
	uint64_t root;           /* physical address of the PML4 (CR3) */
	struct mutex lock;
	struct avl_tree vmas;    /* the regions (struct vma), under lock */
	uint64_t nr_vmas;        /* how many, under lock */
	uint64_t brk_start, brk; /* the heap: [brk_start, brk) in a "brk" region */
	uint64_t pages;          /* pages currently mapped (resident) */
	uint64_t faults;         /* page faults resolved (first touches) */
	int refs;                /* owners: its process, tests (atomic). CPUs
				  * that have it loaded hold none: see cpus */
	cpumask_t cpus;          /* CPUs that have it in CR3 and may cache its
				  * translations (<weft/tlb.h>; atomic, each CPU
				  * changes only its own bit) */
};

struct mm *mm_create(void);
void mm_get(struct mm *mm);
/* Drop an owner's reference. The last one moves every CPU that still has
 * the address space loaded (a kernel thread borrowing it) to the kernel's
 * tables, then frees every page and table. Thread context, preemption on
 * (it may wait for other CPUs). */
void mm_put(struct mm *mm);
/* Load mm's page tables on this CPU (no-op if already loaded); NULL loads
 * the kernel's. Interrupts may be on. Not a reference: the caller keeps mm
 * alive while it is loaded. A thread that relies on mm staying in CR3 (it
 * touches user memory) must have current()->mm == mm, or the switch path
 * and TLB shootdowns treat it as a kernel thread merely borrowing it. */
void mm_activate(struct mm *mm);

/* System-call level operations; Linux semantics and -errno results. */
long vm_mmap(struct mm *mm, uint64_t addr, uint64_t len, unsigned prot, unsigned flags);
int vm_munmap(struct mm *mm, uint64_t addr, uint64_t len);
int vm_mprotect(struct mm *mm, uint64_t addr, uint64_t len, unsigned prot);
uint64_t vm_brk(struct mm *mm, uint64_t new_brk);
/* Free the pages of [addr, addr+len) but keep the regions (MADV_DONTNEED). */
int vm_discard(struct mm *mm, uint64_t addr, uint64_t len);

/* Map [addr, addr+len) for the ELF loader and the stack: a region with
 * prot, pages allocated now, `data` (len_data bytes, may be NULL) copied to
 * its start at offset `skip`, the rest zero. */
int vm_map_populate(struct mm *mm, uint64_t addr, uint64_t len, unsigned prot,
		    const char *name, const void *data, uint64_t skip, uint64_t len_data);
/* Reserve a lazily populated region (e.g. the stack). */
int vm_map_lazy(struct mm *mm, uint64_t addr, uint64_t len, unsigned prot, const char *name);
/* Copy into mm's memory through the direct map (exec builds the initial
 * stack before the process runs). The pages must exist or be faultable. */
int vm_write(struct mm *mm, uint64_t addr, const void *src, uint64_t len);

/* Resolve a page fault at addr. Returns 0 (mapped: retry the access),
 * -EFAULT (no region: SEGV_MAPERR) or -EACCES (region forbids it:
 * SEGV_ACCERR). */
int vm_fault(struct mm *mm, uint64_t addr, bool write, bool exec);

/* Print the regions (console `ps`-style reports and debugging). */
void vm_print(struct mm *mm);
/* Check the region tree (mm/vma.c): regions in order, none empty or
 * overlapping, every recorded gap and subtree maximum right, the count
 * right. 0, or -EINVAL after printing the first fault. Takes mm->lock. */
int vm_check(struct mm *mm);
#endif
