/*
 * percpu.c - per-CPU structures, GDT and TSS.
 *
 * Each CPU owns a struct percpu (<arch/percpu.h>) that holds its GDT and
 * TSS too: the TSS's RSP0 follows the thread running on that CPU and its
 * IST slots point at that CPU's emergency stacks, so neither can be shared.
 * The boot CPU's structure is static (it is needed before any allocator
 * exists); the others get theirs from the page allocator when they are
 * started (arch/x86_64/smpboot.c).
 */
#include <arch/percpu.h>
#include <arch/cpu.h>
#include <arch/trap.h>
#include <weft/kstack.h>
#include <weft/string.h>
#include <weft/printk.h>

_Static_assert(offsetof(struct percpu, self) == PERCPU_SELF, "percpu layout");
_Static_assert(offsetof(struct percpu, kernel_stack_top) == PERCPU_KERNEL_STACK, "percpu layout");
_Static_assert(offsetof(struct percpu, user_rsp) == PERCPU_USER_RSP, "percpu layout");
_Static_assert(offsetof(struct percpu, current) == PERCPU_CURRENT, "percpu layout");
_Static_assert(offsetof(struct percpu, preempt_count) == PERCPU_PREEMPT_COUNT, "percpu layout");
_Static_assert(offsetof(struct percpu, irq_depth) == PERCPU_IRQ_DEPTH &&
	       PERCPU_IRQ_DEPTH == PERCPU_PREEMPT_COUNT + 4, "in_atomic() reads both counts at once");
_Static_assert(sizeof(struct tss) == 104, "TSS is 104 bytes");

static struct percpu boot_cpu;
struct percpu *cpu_list[MAX_CPUS];
unsigned cpu_count;

/* Emergency stacks of the boot CPU until percpu_alloc_ist() replaces them
 * with guard-paged ones (an exception before then still gets a report). */
static uint8_t boot_ist[IST_COUNT][8192] __attribute__((aligned(16)));

void percpu_init_boot(void)
{
	boot_cpu.self = &boot_cpu;
	boot_cpu.cpu_id = 0;
	/* Never NULL from here on: preempt_enable() reads current->need_resched. */
	extern struct thread boot_thread;
	boot_cpu.current = &boot_thread;
	boot_cpu.timer_armed = TIMER_NEVER;
	boot_cpu.slice_end = SLICE_NONE;
	cpu_list[0] = &boot_cpu;
	cpu_count = 1;
	wrmsr(MSR_GS_BASE, (uint64_t)&boot_cpu);
	wrmsr(MSR_KERNEL_GS_BASE, 0);       /* the user's GS base, swapped in by SWAPGS */
	for (int i = 0; i < IST_COUNT; i++) {
		boot_cpu.tss.ist[i] = (uint64_t)&boot_ist[i][8192];
		boot_cpu.ist_bottom[i] = (uint64_t)&boot_ist[i][0];
	}
}

/* A code or data segment descriptor: in long mode only the type, DPL,
 * present and L bits matter; base and limit are ignored. */
static uint64_t seg_desc(bool code, unsigned dpl)
{
	uint64_t d = (1ULL << 47)             /* present */
		     | (1ULL << 44)           /* code/data (not system) */
		     | ((uint64_t)dpl << 45)
		     | (1ULL << 41)           /* readable code / writable data */
		     | 0xffffULL | (0xfULL << 48) | (1ULL << 55); /* limit 4 GiB, G */
	if (code)
		d |= (1ULL << 43) | (1ULL << 53); /* executable, L (64-bit) */
	else
		d |= (1ULL << 54);                /* D/B: 32-bit data */
	return d;
}

void gdt_load(struct percpu *c)
{
	uint64_t *g = c->gdt;
	g[0] = 0;
	g[GDT_KERNEL_CS / 8] = seg_desc(true, 0);
	g[GDT_KERNEL_DS / 8] = seg_desc(false, 0);
	g[GDT_USER32_CS / 8] = (seg_desc(true, 3) & ~(1ULL << 53)) | (1ULL << 54); /* 32-bit code: SYSRET base only */
	g[GDT_USER_DS / 8] = seg_desc(false, 3);
	g[GDT_USER_CS / 8] = seg_desc(true, 3);
	/* TSS: a 16-byte "available 64-bit TSS" system descriptor. Its limit
	 * covers the I/O bitmap that follows it (percpu.h), all ones (every
	 * port denied to ring 3) until a process with ioperm() runs here. */
	uint64_t base = (uint64_t)&c->tss;
	uint64_t limit = offsetof(struct percpu, io_bitmap) + IO_BITMAP_BYTES -
			 offsetof(struct percpu, tss);
	c->tss.iomap_base = offsetof(struct percpu, io_bitmap) - offsetof(struct percpu, tss);
	memset(c->io_bitmap, 0xff, sizeof c->io_bitmap);   /* every port denied */
	c->io_loaded = NULL;
	g[GDT_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x9ULL << 40) |
			 (1ULL << 47) | (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	g[GDT_TSS / 8 + 1] = base >> 32;

	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr = { sizeof(c->gdt) - 1, (uint64_t)g };
	uint64_t gs_base = rdmsr(MSR_GS_BASE);
	__asm__ volatile(
		"lgdt %0\n\t"
		"pushq %1\n\t"              /* reload CS with a far return */
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movl %2, %%eax\n\t"
		"movl %%eax, %%ds\n\t"
		"movl %%eax, %%es\n\t"
		"movl %%eax, %%ss\n\t"
		"xorl %%eax, %%eax\n\t"
		"movl %%eax, %%fs\n\t"
		"movl %%eax, %%gs\n\t"      /* clears the GS base: restored below */
		"ltr %w3\n\t"
		: : "m"(gdtr), "i"(GDT_KERNEL_CS), "i"(GDT_KERNEL_DS), "r"(GDT_TSS)
		: "rax", "memory");
	wrmsr(MSR_GS_BASE, gs_base);
}

int percpu_alloc_ist(struct percpu *c)
{
	int failed = 0;
	for (int i = 0; i < IST_COUNT; i++) {
		struct kstack ks;
		if (kstack_alloc(&ks, IST_STACK_PAGES) < 0) {
			pr_err("percpu: no memory for IST stack %d of CPU %u%s\n", i + 1, c->cpu_id,
			       c == &boot_cpu ? "; keeping the boot one" : "");
			failed++;
			continue;
		}
		c->ist_bottom[i] = ks.bottom;
		c->tss.ist[i] = ks.top;
	}
	return failed;
}

void percpu_set_kernel_stack(uint64_t top)
{
	struct percpu *c = this_cpu();
	c->tss.rsp[0] = top;
	c->kernel_stack_top = top;
}
