/* percpu.h - each CPU's private data, reached through the GS base.
 *
 * Kernel-mode GS base (MSR_GS_BASE) points at the running CPU's struct
 * percpu from the first C instruction on (arch/x86_64/percpu.c), so there
 * is no global "current" or "this CPU" variable anywhere in weft: code asks
 * GS. The first field points at the structure itself, so
 * `mov %gs:0, %reg` turns GS-relative access into an ordinary pointer.
 *
 * Fields read by assembly have fixed offsets, checked by _Static_assert in
 * percpu.c against the PERCPU_* constants below.
 */
#ifndef ARCH_PERCPU_H
#define ARCH_PERCPU_H

#define PERCPU_SELF            0
#define PERCPU_KERNEL_STACK    8   /* top of the running thread's kernel stack */
#define PERCPU_USER_RSP        16  /* scratch for the SYSCALL entry (issue 4) */
#define PERCPU_CURRENT         24
#define PERCPU_PREEMPT_COUNT   32
#define PERCPU_IRQ_DEPTH       36  /* right after the preempt count: see in_atomic() */

#define GDT_KERNEL_CS   0x08
#define GDT_KERNEL_DS   0x10
#define GDT_USER32_CS   0x18   /* SYSRET's base selector; no 32-bit user code */
#define GDT_USER_DS     0x20   /* used with RPL 3: 0x23 */
#define GDT_USER_CS     0x28   /* used with RPL 3: 0x2b */
#define GDT_TSS         0x30   /* 16-byte system descriptor */
#define GDT_ENTRIES     8

/* IST slots (1-based, as in the IDT gate). */
#define IST_DOUBLE_FAULT 1
#define IST_NMI          2
#define IST_MACHINE_CHECK 3
#define IST_COUNT        3
#define IST_STACK_PAGES  4
#define IO_BITMAP_BYTES  8192     /* 65536 ports, one bit each */

#ifndef __ASSEMBLER__
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

struct thread;
struct trap_catch;
struct runqueue;
struct mm;

/* The 64-bit TSS (Intel SDM vol. 3, 8.7): no task switching, only stack
 * pointers. RSP0 is the stack the CPU switches to on an interrupt from
 * ring 3; it follows the running thread (set on every switch). */
struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct percpu {
	struct percpu *self;            /* PERCPU_SELF */
	uint64_t kernel_stack_top;      /* PERCPU_KERNEL_STACK: mirrors tss.rsp[0] */
	uint64_t user_rsp;              /* PERCPU_USER_RSP */
	struct thread *current;         /* PERCPU_CURRENT: the running thread */
	uint32_t preempt_count;         /* PERCPU_PREEMPT_COUNT: see <weft/preempt.h> */
	uint32_t irq_depth;             /* PERCPU_IRQ_DEPTH: nesting of hardware interrupts */
	uint32_t cpu_id;                /* 0 = boot CPU */
	uint32_t apic_id;
	uint32_t max_irq_depth;         /* deepest nesting seen (tests) */
	uint32_t in_nmi;
	uint64_t irq_count;             /* interrupts handled on this CPU */
	uint64_t nmi_count;
	uint64_t nmi_last_rsp;          /* RSP seen by the last NMI handler (tests) */
	struct trap_catch *trap_catch;  /* armed by tests: see <arch/trap.h> */
	/* The LAPIC deadline timer (kernel/timer.c, kernel/sched.c); touched only
	 * by this CPU with interrupts off: */
	struct runqueue *rq;            /* this CPU's run queue (kernel/sched.c) */
	struct mm *active_mm;           /* address space in CR3, NULL = kernel's; not a
					 * reference: its cpus mask has our bit (mm/tlb.c) */
	uint64_t slice_end;             /* running thread's slice deadline; >= SLICE_NONE: none */
	uint64_t timer_armed;           /* when the LAPIC fires next; TIMER_NEVER = not armed */
	uint32_t after_switch;          /* AFTER_SWITCH_* work for the incoming thread (sched.c) */
	/* Lending this CPU to a starved virtual CPU (kernel/vcpu_yield.c); this
	 * CPU only, interrupts off: */
	bool vcpu_lend;                 /* this interrupt's exit halts (trap.c) */
	bool vcpu_lending;              /* halted in that exit now */
	uint64_t vcpu_answered;         /* the last request answered */
	uint64_t vcpu_lends;            /* halts lent so far */
	uint64_t ist_bottom[IST_COUNT]; /* lowest address of each IST stack */
	uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
	struct tss tss __attribute__((aligned(16)));
	/* The I/O permission bitmap, right after the TSS and inside its
	 * limit: bit set = port denied. Loaded from the running process's
	 * ioperm() bitmap (arch/x86_64/ioperm.c); all ones otherwise. The
	 * extra byte of ones is the terminator the CPU requires. */
	uint8_t io_bitmap[IO_BITMAP_BYTES + 1];
	const void *io_loaded;          /* whose bitmap is in io_bitmap (NULL: all denied) */
};

/* Deadlines at or beyond 2^62 ns (146 years) mean "none": the running
 * thread alone has slice_end = now + SLICE_NONE, which no armed timer
 * precedes, so the switch path needs no special case for it. */
#define SLICE_NONE  (1ULL << 62)
#define TIMER_NEVER SLICE_NONE  /* percpu.timer_armed when the LAPIC timer is stopped */
#define MAX_CPUS 16
/* cpu_list[i] is logical CPU i's structure. CPUs 0 .. cpu_count-1 are
 * online (weft never takes a CPU offline); cpu_count only grows, during
 * smp_boot_aps() (arch/x86_64/smpboot.c), with a release store: a reader
 * that sees cpu_count == n (acquire) sees CPUs 0..n-1 fully set up. */
extern struct percpu *cpu_list[MAX_CPUS];
extern unsigned cpu_count;

/* GS-relative access to the running CPU's fields. Single instructions, so
 * safe against interrupts; the caller must keep preemption off if it uses
 * the result to touch this CPU's data later (the thread could migrate). */
#define percpu_read(field)                                                      \
	({                                                                      \
		__typeof__(((struct percpu *)0)->field) v__;                    \
		__asm__ volatile("mov %%gs:%c1, %0"                             \
				 : "=r"(v__)                                    \
				 : "i"(offsetof(struct percpu, field)));        \
		v__;                                                            \
	})
#define percpu_write(field, val)                                                \
	do {                                                                    \
		__typeof__(((struct percpu *)0)->field) v__ = (val);            \
		__asm__ volatile("mov %0, %%gs:%c1"                             \
				 : : "r"(v__), "i"(offsetof(struct percpu, field)) \
				 : "memory");                                   \
	} while (0)
/* 32-bit fields only. */
#define percpu_inc(field) \
	__asm__ volatile("incl %%gs:%c0" : : "i"(offsetof(struct percpu, field)) : "memory", "cc")
#define percpu_dec(field) \
	__asm__ volatile("decl %%gs:%c0" : : "i"(offsetof(struct percpu, field)) : "memory", "cc")

static inline struct percpu *this_cpu(void) { return percpu_read(self); }

/* Preemption disabled or in an interrupt handler: preempt_count and
 * irq_depth are adjacent (checked in percpu.c), so one 64-bit load tests
 * both. */
static inline bool in_atomic(void)
{
	uint64_t both;
	__asm__ volatile("mov %%gs:%c1, %0" : "=r"(both) : "i"(PERCPU_PREEMPT_COUNT));
	return both != 0;
}
static inline unsigned cpu_id(void) { return percpu_read(cpu_id); }

/* Point GS at the boot CPU's static structure; first thing kmain does. */
void percpu_init_boot(void);
/* Load this CPU's GDT, TSS and segment registers; keeps GS base on c. */
void gdt_load(struct percpu *c);
/* Give c guard-paged IST stacks (after the memory manager is up). Returns
 * how many could not be allocated: the boot CPU then keeps its static
 * ones; another CPU's slot stays 0 and that CPU must not be started. */
int percpu_alloc_ist(struct percpu *c);
/* Set the stack the CPU enters on from ring 3 (TSS.RSP0 and the mirror). */
void percpu_set_kernel_stack(uint64_t top);
#endif
#endif
