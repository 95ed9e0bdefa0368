/*
 * paging.c - the kernel's page tables.
 *
 * Before paging_init switches CR3, page-table pages are reached through
 * the boot tables' mapping of physical 0..1 GiB at KERNEL_VMA; afterwards
 * through the direct map. pt_va() hides the difference.
 *
 * Locking: kernel_pt_lock guards changes below the kernel-half PML4
 * entries (which themselves never change after paging_init: all 256 are
 * filled at boot so that address spaces can copy them once).
 */
#include <weft/paging.h>
#include <weft/pmm.h>
#include <weft/printk.h>
#include <weft/panic.h>
#include <weft/string.h>
#include <weft/spinlock.h>
#include <weft/bootinfo.h>
#include <weft/smp.h>
#include <arch/memlayout.h>
#include <arch/cpu.h>
#include <arch/apic.h>

extern char _text_start[], _text_end[], _rodata_start[], _rodata_end[];
extern char _data_start[], _kernel_end[];

static uint64_t kernel_pml4;          /* physical */
static bool direct_map_live;
static uint64_t nx;                   /* PTE_NX if the CPU supports it, else 0 */
static uint64_t early_next;           /* early allocator: next free physical page */
static uint64_t early_limit;
static spinlock_t kernel_pt_lock = SPINLOCK_INIT("kernel_pt");

static uint64_t *pt_va(uint64_t phys)
{
	return direct_map_live ? phys_to_virt(phys) : (uint64_t *)(phys + KERNEL_VMA);
}

uint64_t paging_early_end(void) { return early_next; }
uint64_t paging_kernel_root(void) { return kernel_pml4; }

/* The early allocator: the usable region that holds the kernel's end
 * provides zeroed pages until the PMM exists. */
static uint64_t early_alloc(void)
{
	if (!early_next) {
		uint64_t kend = kimg_to_phys(_kernel_end);
		for (unsigned i = 0; i < boot_info.nregions; i++) {
			const struct mem_region *r = &boot_info.regions[i];
			if (r->type == MEM_USABLE && r->base <= kend && kend < r->base + r->len) {
				early_next = kend;
				early_limit = r->base + r->len;
			}
		}
		/* Keep clear of the loader's structures and modules. */
		uint64_t info_end = boot_info.info_phys + boot_info.info_len;
		if (boot_info.info_phys >= early_next && info_end > early_next)
			early_next = (info_end + PAGE_MASK) & ~PAGE_MASK;
		for (unsigned i = 0; i < boot_info.nmodules; i++)
			if (boot_info.modules[i].end > early_next && boot_info.modules[i].start < early_next + (64 << 20))
				early_next = (boot_info.modules[i].end + PAGE_MASK) & ~PAGE_MASK;
		if (early_limit > (1ULL << 30))
			early_limit = 1ULL << 30; /* the boot tables map only 1 GiB */
	}
	if (!early_next || early_next + PAGE_SIZE > early_limit)
		panic("paging: out of early memory building the page tables");
	uint64_t p = early_next;
	early_next += PAGE_SIZE;
	memset(pt_va(p), 0, PAGE_SIZE);
	return p;
}

uint64_t early_alloc_pages(uint64_t n)
{
	uint64_t first = early_alloc();
	for (uint64_t i = 1; i < n; i++)
		early_alloc(); /* consecutive: the early allocator only bumps */
	return first;
}

static uint64_t alloc_table(void)
{
	if (!direct_map_live)
		return early_alloc();
	uint64_t p = pmm_alloc(0);
	if (p)
		memset(phys_to_virt(p), 0, PAGE_SIZE);
	return p;
}

/* Walk to the table at `level` (3 = PDPT, 2 = PD, 1 = PT) for va, creating
 * tables on the way. Returns the entry pointer or NULL on allocation failure. */
static uint64_t *walk_create_flags(uint64_t root, uint64_t va, int level, uint64_t table_flags);

static uint64_t *walk_create(uint64_t root, uint64_t va, int level)
{
	return walk_create_flags(root, va, level, 0);
}

/* table_flags: extra bits for new intermediate entries (PTE_USER for the
 * user half: the CPU checks U/S at every level). */
static uint64_t *walk_create_flags(uint64_t root, uint64_t va, int level, uint64_t table_flags)
{
	uint64_t *table = pt_va(root);
	for (int l = 4; l > level; l--) {
		unsigned idx = (va >> (12 + 9 * (l - 1))) & 511;
		uint64_t e = table[idx];
		if (!(e & PTE_PRESENT)) {
			uint64_t t = alloc_table();
			if (!t)
				return NULL;
			e = t | PTE_PRESENT | PTE_WRITE | table_flags; /* permissions live in the leaves */
			table[idx] = e;
		}
		if (e & PTE_HUGE)
			panic("paging: %#lx is inside a huge page", (unsigned long)va);
		table = pt_va(e & PTE_ADDR);
	}
	return &table[(va >> (12 + 9 * (level - 1))) & 511];
}

uint64_t paging_lookup(uint64_t va, int *level)
{
	uint64_t top = va >> 47;
	if (top != 0 && top != 0x1ffff)
		return 0; /* non-canonical */
	uint64_t *table = pt_va(read_cr3() & PTE_ADDR);
	for (int l = 4; l >= 1; l--) {
		uint64_t e = table[(va >> (12 + 9 * (l - 1))) & 511];
		if (!(e & PTE_PRESENT))
			return 0;
		if (l == 1 || (l <= 3 && (e & PTE_HUGE))) {
			if (level)
				*level = l;
			return e;
		}
		table = pt_va(e & PTE_ADDR);
	}
	return 0;
}

bool paging_is_mapped(uint64_t va) { return paging_lookup(va, NULL) != 0; }

static void map_range_4k(uint64_t va, uint64_t pa, uint64_t len, uint64_t flags)
{
	for (uint64_t off = 0; off < len; off += PAGE_SIZE) {
		uint64_t *pte = walk_create(kernel_pml4, va + off, 1);
		if (!pte)
			panic("paging: no memory for the kernel image mapping");
		*pte = (pa + off) | flags | PTE_PRESENT | PTE_GLOBAL;
	}
}

static void map_direct(uint64_t pa_start, uint64_t pa_end)
{
	pa_start &= ~((2ULL << 20) - 1);
	for (uint64_t pa = pa_start; pa < pa_end; pa += 2ULL << 20) {
		uint64_t *pde = walk_create(kernel_pml4, DIRECT_MAP_BASE + pa, 2);
		if (!pde)
			panic("paging: no memory for the direct map");
		*pde = pa | PTE_PRESENT | PTE_WRITE | PTE_HUGE | PTE_GLOBAL | nx;
	}
}

void paging_init(void)
{
	if (cpu_features.nx) {
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
		nx = PTE_NX;
	} else {
		pr_warn("paging: CPU has no NX bit; data will be executable\n");
	}
	kernel_pml4 = early_alloc();
	uint64_t *pml4 = pt_va(kernel_pml4);
	for (unsigned i = 256; i < 512; i++)
		pml4[i] = early_alloc() | PTE_PRESENT | PTE_WRITE;

	/* Direct map: 0..4 GiB (ACPI tables, devices) and all RAM above. */
	uint64_t top = 4ULL << 30;
	for (unsigned i = 0; i < boot_info.nregions; i++) {
		const struct mem_region *r = &boot_info.regions[i];
		if ((r->type == MEM_USABLE || r->type == MEM_ACPI || r->type == MEM_NVS) &&
		    r->base + r->len > top)
			top = r->base + r->len;
	}
	if (top > (1ULL << cpu_features.phys_addr_bits))
		top = 1ULL << cpu_features.phys_addr_bits;
	map_direct(0, top);

	/* The kernel image, section by section. */
	uint64_t text = (uint64_t)_text_start, rodata = (uint64_t)_rodata_start;
	uint64_t data = (uint64_t)_data_start, end = (uint64_t)_kernel_end;
	map_range_4k(text, kimg_to_phys(text), rodata - text, 0);
	map_range_4k(rodata, kimg_to_phys(rodata), data - rodata, nx);
	map_range_4k(data, kimg_to_phys(data), end - data, PTE_WRITE | nx);

	write_cr4(read_cr4() | (1UL << 7));        /* CR4.PGE: global kernel pages */
	write_cr3(kernel_pml4);
	direct_map_live = true;
	pr_info("paging: kernel tables at %#lx, direct map of %lu MiB, text r-x, rodata r--, "
		"data rw-%s\n", (unsigned long)kernel_pml4, (unsigned long)(top >> 20),
		nx ? " (NX on)" : "");
}

int kmap_page(uint64_t va, uint64_t pa, uint64_t flags)
{
	unsigned long f = spin_lock_irqsave(&kernel_pt_lock);
	uint64_t *pte = walk_create(kernel_pml4, va, 1);
	if (pte)
		*pte = pa | (flags & ~PTE_NX) | (flags & PTE_NX ? nx : 0) | PTE_PRESENT | PTE_GLOBAL;
	spin_unlock_irqrestore(&kernel_pt_lock, f);
	return pte ? 0 : -12;
}

uint64_t kunmap_page(uint64_t va)
{
	unsigned long f = spin_lock_irqsave(&kernel_pt_lock);
	uint64_t pa = 0;
	uint64_t *table = pt_va(kernel_pml4);
	for (int l = 4; l >= 1 && table; l--) {
		uint64_t *e = &table[(va >> (12 + 9 * (l - 1))) & 511];
		if (!(*e & PTE_PRESENT) || (*e & PTE_HUGE))
			break;
		if (l == 1) {
			pa = *e & PTE_ADDR;
			*e = 0;
			invlpg(va);
			break;
		}
		table = pt_va(*e & PTE_ADDR);
	}
	spin_unlock_irqrestore(&kernel_pt_lock, f);
	return pa;
}

static void flush_range(void *arg)
{
	const uint64_t *r = arg;
	for (uint64_t va = r[0]; va < r[1]; va += PAGE_SIZE)
		invlpg(va);
}

void kunmap_flush_others(uint64_t start, uint64_t end)
{
	if (smp_online_cpus() < 2)
		return;
	uint64_t r[2] = { start & ~PAGE_MASK, end };
	smp_call_mask(CPUMASK_ALL, flush_range, r, true);
}

/* The I/O window: device registers, 4 KiB pages, uncached. */
#define IOREMAP_BASE 0xffffd00000000000ULL
static uint64_t ioremap_next = IOREMAP_BASE;

void *ioremap(uint64_t phys, uint64_t size)
{
	uint64_t off = phys & PAGE_MASK;
	uint64_t pages = (off + size + PAGE_MASK) >> PAGE_SHIFT;
	uint64_t va = __atomic_fetch_add(&ioremap_next, pages * PAGE_SIZE, __ATOMIC_RELAXED);
	for (uint64_t i = 0; i < pages; i++)
		if (kmap_page(va + i * PAGE_SIZE, (phys & ~PAGE_MASK) + i * PAGE_SIZE,
			      PTE_WRITE | PTE_PCD | PTE_PWT | PTE_NX) < 0)
			panic("ioremap: no memory to map %#lx", (unsigned long)phys);
	return (void *)(va + off);
}

/* --- user address spaces (mm/vm.c) -----------------------------------------
 *
 * An address space's root shares the kernel half: its PML4 entries
 * 256..511 are copies of the kernel's, which never change after boot, so
 * every kernel mapping made later is visible in every address space. The
 * lower half belongs to the address space alone; the caller (mm/vm.c)
 * serialises changes with the address space's lock.
 */

uint64_t pt_create_root(void)
{
	uint64_t root = alloc_table();
	if (!root)
		return 0;
	uint64_t *dst = pt_va(root), *src = pt_va(kernel_pml4);
	for (unsigned i = 256; i < 512; i++)
		dst[i] = src[i];
	return root;
}

/* Free the user half's table pages (the pages they map are the caller's). */
static void free_tables(uint64_t table_pa, int level)
{
	uint64_t *t = pt_va(table_pa);
	if (level > 1)
		for (unsigned i = 0; i < 512; i++)
			if (t[i] & PTE_PRESENT)
				free_tables(t[i] & PTE_ADDR, level - 1);
	pmm_free(table_pa, 0);
}

void pt_destroy_root(uint64_t root)
{
	uint64_t *t = pt_va(root);
	for (unsigned i = 0; i < 256; i++)
		if (t[i] & PTE_PRESENT)
			free_tables(t[i] & PTE_ADDR, 3);
	pmm_free(root, 0);
}

uint64_t *pt_walk_user(uint64_t root, uint64_t va, bool create)
{
	if (va >= USER_TOP)
		return NULL;
	if (create)
		return walk_create_flags(root, va, 1, PTE_USER);
	uint64_t *table = pt_va(root);
	for (int l = 4; l > 1; l--) {
		uint64_t e = table[(va >> (12 + 9 * (l - 1))) & 511];
		if (!(e & PTE_PRESENT))
			return NULL;
		table = pt_va(e & PTE_ADDR);
	}
	return &table[(va >> 12) & 511];
}

uint64_t pte_nx(void) { return nx; }

/* Call fn on every non-zero 4 KiB leaf in [start, end) of a user root,
 * skipping absent tables whole (a sparse 2^46-byte range costs only the
 * tables that exist). */
/* Visit the entries of one table that overlap [start, end) - computed,
 * not searched for: a walk costs per present table, not per slot. The
 * range overlaps this table's span [base, base + 512 * span). */
static void range_walk(uint64_t table_pa, int level, uint64_t base, uint64_t start,
		       uint64_t end, pt_leaf_fn fn, void *arg)
{
	uint64_t *t = pt_va(table_pa);
	unsigned shift = 12 + 9 * (unsigned)(level - 1);
	uint64_t first = start > base ? (start - base) >> shift : 0;
	uint64_t last = (end - 1 - base) >> shift;
	if (last > 511)
		last = 511;
	for (uint64_t i = first; i <= last; i++) {
		/* A leaf holds a page if it is not zero (<weft/paging.h>); a
		 * table entry only if present. */
		if (level == 1 ? t[i] == 0 : !(t[i] & PTE_PRESENT))
			continue;
		uint64_t lo = base + (i << shift);
		if (level == 1)
			fn(&t[i], lo, arg);
		else
			range_walk(t[i] & PTE_ADDR, level - 1, lo, start, end, fn, arg);
	}
}

void pt_walk_range(uint64_t root, uint64_t start, uint64_t end, pt_leaf_fn fn, void *arg)
{
	if (end > USER_TOP)
		end = USER_TOP;
	if (start < end)
		range_walk(root, 4, 0, start, end, fn, arg);
}
