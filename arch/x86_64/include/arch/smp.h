/* smp.h - starting the other CPUs (arch/x86_64/smpboot.c, trampoline.S).
 *
 * An application processor (AP) wakes in 16-bit real mode at the start of
 * a 4 KiB page below 1 MiB, chosen by the start-up IPI. That page holds a
 * copy of trampoline.S's code followed, at TRAMP_DATA_OFF, by a struct
 * trampoline_data that the boot CPU fills in for each AP. The assembly
 * reads the data by the TD_* offsets below; smpboot.c checks them against
 * the struct with _Static_assert.
 *
 * The low area is four pages: the trampoline page, then a PML4, a PDPT and
 * a page directory that map physical 0..2 MiB 1:1 (so the instructions
 * right after CR0.PG still run) and share the kernel half with the
 * kernel's own tables (so the AP can jump to its kernel address).
 */
#ifndef ARCH_SMP_H
#define ARCH_SMP_H

#define TRAMP_PAGES     4         /* code+data, PML4, PDPT, PD */
#define TRAMP_DATA_OFF  0xf00     /* struct trampoline_data inside the code page */

/* Offsets from the start of the trampoline page (real mode: DS = CS, so
 * these are also the 16-bit addresses; later code adds the page's base). */
#define TD_STARTED   (TRAMP_DATA_OFF + 0)
#define TD_PML4      (TRAMP_DATA_OFF + 4)
#define TD_EFER      (TRAMP_DATA_OFF + 8)
#define TD_FAR32     (TRAMP_DATA_OFF + 16)
#define TD_FAR64     (TRAMP_DATA_OFF + 24)
#define TD_GDTR      (TRAMP_DATA_OFF + 34)
#define TD_GDT       (TRAMP_DATA_OFF + 40)
#define TD_CR3       (TRAMP_DATA_OFF + 72)
#define TD_ENTRY     (TRAMP_DATA_OFF + 80)
#define TD_STACK     (TRAMP_DATA_OFF + 88)
#define TD_ARG       (TRAMP_DATA_OFF + 96)
#define TD_SIZE      104

/* Selectors of the trampoline's own GDT (struct trampoline_data.gdt). */
#define TRAMP_CS32   0x08
#define TRAMP_DS     0x10
#define TRAMP_CS64   0x18

/* CR0 the trampoline sets with paging: PG | WP | NE | ET | PE. Writing it
 * whole also clears CD and NW, which INIT leaves set (caches off). */
#define TRAMP_CR0    0x80010031
#define TRAMP_CR4    0x000000a0   /* PAE | PGE (the rest: fpu_init_cpu, usermode_init_cpu) */

#ifndef __ASSEMBLER__
#include <stdint.h>
#include <stdbool.h>

/* A far pointer as LJMP m16:32 reads it: offset, then selector. */
struct far_ptr32 {
	uint32_t offset;
	uint16_t selector;
} __attribute__((packed));

/* The operand of LGDTL in real mode: a 16-bit limit and a 32-bit base. */
struct gdtr32 {
	uint16_t limit;
	uint32_t base;
} __attribute__((packed));

struct trampoline_data {
	volatile uint32_t started;   /* TD_STARTED: the AP writes 1, in real mode */
	uint32_t pml4;               /* TD_PML4: physical address of the low PML4 */
	uint32_t efer;               /* TD_EFER: EFER bits to set (LME, NXE) */
	uint32_t pad0;
	struct far_ptr32 far32;      /* TD_FAR32: -> the 32-bit part, CS = TRAMP_CS32 */
	uint16_t pad1;
	struct far_ptr32 far64;      /* TD_FAR64: -> the 64-bit part, CS = TRAMP_CS64 */
	uint16_t pad2[2];
	struct gdtr32 gdtr;          /* TD_GDTR */
	uint64_t gdt[4];             /* TD_GDT: null, code32, data, code64 */
	uint64_t kernel_cr3;         /* TD_CR3: the kernel's PML4 (paging_kernel_root) */
	uint64_t entry;              /* TD_ENTRY: smp_ap_entry64, a kernel address */
	uint64_t stack_top;          /* TD_STACK: the AP's idle-thread stack */
	uint64_t arg;                /* TD_ARG: the AP's struct percpu */
};

/* What happened to each processor the MADT lists (the `cpus` command). */
enum cpu_boot_state {
	CPU_BOOT_ONLINE,          /* running weft as logical CPU `cpu` */
	CPU_BOOT_SKIPPED,         /* not started: nosmp / maxcpus= / smp= */
	CPU_BOOT_FAILED,          /* did not answer, or stopped half-way */
};
struct cpu_boot_info {
	uint32_t apic_id;
	int cpu;                  /* logical id, or -1 */
	enum cpu_boot_state state;
};
#define SMP_MAX_BOOT_INFO 16
extern struct cpu_boot_info smp_boot_info[SMP_MAX_BOOT_INFO];
extern unsigned smp_boot_ncpus;   /* entries in smp_boot_info */

/* Boot CPU, thread context, interrupts on, after sched_init(): start every
 * AP the MADT lists (as allowed by nosmp / maxcpus=), one at a time. Each
 * is either online when this returns, or reported and parked with INIT. */
void smp_boot_aps(void);

/* The AP's first C code (trampoline.S calls it on the idle thread's stack). */
__attribute__((noreturn)) void smp_ap_main(void *percpu);

/* Largest TSC difference measured between the boot CPU and an AP at
 * bring-up after correction, in ns (tests; 0 with one CPU). */
extern uint64_t smp_tsc_max_skew_ns;
#endif
#endif
