/*
 * pmm.c - the physical page allocator: mm/buddy.c over the boot memory map.
 *
 * The buddy's per-page metadata is one array covering every frame from the
 * lowest to the highest usable address, taken from the early allocator.
 * Free memory is every MEM_USABLE region minus what is already in use: the
 * first MiB (firmware data, and the CPU start-up trampoline: pmm_alloc_low()
 * hands out pages from there, never the buddy), the kernel
 * image and the early allocations after it, the bootloader's information
 * structure, and the boot modules.
 *
 * Locking: pmm_lock (irq-saving) guards the buddy; callable from any
 * context except NMI.
 */
#include <weft/pmm.h>
#include <weft/buddy.h>
#include <weft/kmalloc.h>
#include <weft/bootinfo.h>
#include <weft/paging.h>
#include <weft/printk.h>
#include <weft/panic.h>
#include <weft/spinlock.h>
#include <weft/string.h>
#include <arch/memlayout.h>
#ifdef WEFT_DEBUG
#include <weft/debug.h>
/* Who freed a block, for the debug kernel's freed-page reports. */
#define CALLER_PC ((uint64_t)__builtin_return_address(0))
#else
#define CALLER_PC 0
#endif

static struct buddy buddy;
static spinlock_t pmm_lock = SPINLOCK_INIT("pmm");
static uint64_t total_pages;

void buddy_panic(const char *msg, uint64_t pfn)
{
	panic("pmm: %s (physical page %#lx)", msg, (unsigned long)(pfn << PAGE_SHIFT));
}

struct range {
	uint64_t start, end;
};

/* Add [start, end) minus every reserved range, recursively splitting. */
static void add_free(uint64_t start, uint64_t end, const struct range *resv, unsigned nresv)
{
	start = (start + PAGE_MASK) & ~PAGE_MASK;
	end &= ~PAGE_MASK;
	if (start >= end)
		return;
	for (unsigned i = 0; i < nresv; i++) {
		if (resv[i].start < end && resv[i].end > start) {
			add_free(start, resv[i].start, resv + i + 1, nresv - i - 1);
			add_free(resv[i].end, end, resv + i + 1, nresv - i - 1);
			return;
		}
	}
	buddy_add_free(&buddy, start >> PAGE_SHIFT, (end - start) >> PAGE_SHIFT);
	total_pages += (end - start) >> PAGE_SHIFT;
#ifdef WEFT_DEBUG
	page_poison_fill(start, (end - start) >> PAGE_SHIFT, 0);
#endif
}

void pmm_init(void)
{
	uint64_t lo = ~0ULL, hi = 0;
	for (unsigned i = 0; i < boot_info.nregions; i++) {
		const struct mem_region *r = &boot_info.regions[i];
		if (r->type != MEM_USABLE || r->len == 0)
			continue;
		if (r->base < lo)
			lo = r->base;
		if (r->base + r->len > hi)
			hi = r->base + r->len;
	}
	if (hi <= lo)
		panic("pmm: the memory map has no usable memory");
	uint64_t base_pfn = lo >> PAGE_SHIFT, npages = (hi >> PAGE_SHIFT) - base_pfn;
	uint64_t meta_pages = (buddy_meta_size(npages) + PAGE_MASK) >> PAGE_SHIFT;
	uint64_t meta = early_alloc_pages(meta_pages);
	buddy_init(&buddy, phys_to_virt(meta), base_pfn, npages);
#ifdef WEFT_DEBUG
	page_poison_init(base_pfn, npages);	/* early allocator: before resv[] below */
#endif

	/* Reserved ranges, the early allocator's last: everything it handed
	 * out is below paging_early_end(). */
	struct range resv[4 + BOOT_MAX_MODULES];
	unsigned n = 0;
	resv[n++] = (struct range){ 0, 1 << 20 };
	resv[n++] = (struct range){ KERNEL_PHYS, paging_early_end() };
	resv[n++] = (struct range){ boot_info.info_phys, boot_info.info_phys + boot_info.info_len };
	for (unsigned i = 0; i < boot_info.nmodules; i++)
		resv[n++] = (struct range){ boot_info.modules[i].start, boot_info.modules[i].end };
	for (unsigned i = 0; i < boot_info.nregions; i++) {
		const struct mem_region *r = &boot_info.regions[i];
		if (r->type == MEM_USABLE)
			add_free(r->base, r->base + r->len, resv, n);
	}
	pr_info("pmm: %lu pages (%lu MiB) free, %lu KiB of page metadata\n",
		(unsigned long)buddy_free_count(&buddy),
		(unsigned long)(buddy_free_count(&buddy) >> (20 - PAGE_SHIFT)),
		(unsigned long)(meta_pages * 4));
}

uint64_t pmm_alloc(unsigned order)
{
	if (order > MAX_ORDER)
		return 0;
	unsigned long f = spin_lock_irqsave(&pmm_lock);
	int64_t pfn = buddy_alloc(&buddy, order);
	spin_unlock_irqrestore(&pmm_lock, f);
#ifdef WEFT_DEBUG
	if (pfn >= 0)
		page_poison_check((uint64_t)pfn << PAGE_SHIFT, order);
#endif
	return pfn < 0 ? 0 : (uint64_t)pfn << PAGE_SHIFT;
}

/* pmm_free(); `pc` is where it was called from (debug kernel only). */
static inline void free_block(uint64_t phys, unsigned order, uint64_t pc)
{
	(void)pc;
	if (phys & PAGE_MASK)
		panic("pmm_free: %#lx is not page aligned", (unsigned long)phys);
#ifdef WEFT_DEBUG
	if (order <= MAX_ORDER)
		page_poison_fill(phys, 1ull << order, pc);	/* before another CPU can take it */
#endif
	unsigned long f = spin_lock_irqsave(&pmm_lock);
	buddy_free(&buddy, phys >> PAGE_SHIFT, order);
	spin_unlock_irqrestore(&pmm_lock, f);
}

void pmm_free(uint64_t phys, unsigned order)
{
	free_block(phys, order, CALLER_PC);
}

void *page_alloc(unsigned order)
{
	uint64_t p = pmm_alloc(order);
	return p ? phys_to_virt(p) : NULL;
}

void page_free(void *addr, unsigned order)
{
	if (addr)
		free_block(virt_to_phys(addr), order, CALLER_PC);
}

uint64_t pmm_free_pages(void)
{
	unsigned long f = spin_lock_irqsave(&pmm_lock);
	uint64_t n = buddy_free_count(&buddy);
	spin_unlock_irqrestore(&pmm_lock, f);
	return n;
}

uint64_t pmm_total_pages(void) { return total_pages; }

/* Below 1 MiB: the buddy never owns these pages (pmm_init reserves the whole
 * first MiB), so this is a separate bump allocator over the memory map's
 * usable low regions. Page 0 (real-mode vectors, BIOS data) is never given
 * out, nor the loader's structure or modules if a loader put them there.
 * Boot CPU only, before other CPUs run: no lock. */
static uint64_t low_next = PAGE_SIZE;

static bool low_range_free(uint64_t start, uint64_t end)
{
	bool usable = false;
	for (unsigned i = 0; i < boot_info.nregions; i++) {
		const struct mem_region *r = &boot_info.regions[i];
		if (r->type == MEM_USABLE && r->base <= start && end <= r->base + r->len)
			usable = true;
		else if (r->type != MEM_USABLE && r->base < end && start < r->base + r->len)
			return false;     /* overlapping regions: the reserved one wins */
	}
	if (!usable)
		return false;
	if (boot_info.info_phys < end && start < boot_info.info_phys + boot_info.info_len)
		return false;
	for (unsigned i = 0; i < boot_info.nmodules; i++)
		if (boot_info.modules[i].start < end && start < boot_info.modules[i].end)
			return false;
	return true;
}

uint64_t pmm_alloc_low(unsigned pages, uint64_t limit)
{
	if (limit > 1 << 20)
		limit = 1 << 20;
	for (uint64_t pa = low_next; pa + pages * PAGE_SIZE <= limit; pa += PAGE_SIZE) {
		if (low_range_free(pa, pa + pages * PAGE_SIZE)) {
			low_next = pa + pages * PAGE_SIZE;
			memset(phys_to_virt(pa), 0, pages * PAGE_SIZE);
			return pa;
		}
	}
	return 0;
}

/* mm/kmalloc.c reports heap corruption through this hook. */
void kmalloc_panic(const char *msg, const void *p)
{
	panic("kmalloc: %s (pointer %p)", msg, p);
}
