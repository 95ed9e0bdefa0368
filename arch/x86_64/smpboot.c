/*
 * smpboot.c - bringing the application processors (APs) up.
 *
 * The boot CPU (BSP) starts the APs the MADT lists one at a time, from
 * smp_boot_aps() in thread context (thread "main", interrupts on). For each:
 *
 *   1. Prepare on the BSP: a struct percpu (cpu_id, expected APIC id,
 *      current = its idle thread), its IST stacks (percpu_alloc_ist) and an
 *      idle thread with a guard-paged kernel stack (thread_create_idle).
 *      cpu_list[id] points at it; cpu_count does not count it yet.
 *   2. Point the trampoline's data at that stack and percpu, then send
 *      INIT, wait 10 ms, start-up IPI, 200 us, a second start-up IPI (the
 *      MultiProcessor Specification's sequence; a CPU that already started
 *      ignores the second one).
 *   3. The AP runs trampoline.S (real mode -> long mode) and enters
 *      smp_ap_main() below on its idle thread's stack, interrupts off:
 *      GS base = its percpu (first: everything else reads the CPU id through
 *      GS), GDT + TSS (gdt_load: RSP0 and its IST stacks), the shared IDT,
 *      its LAPIC (lapic_init), FPU/SSE control bits (fpu_init_cpu), SYSCALL
 *      MSRs and SMEP/SMAP/UMIP (usermode_init_cpu), then sched_init_cpu():
 *      the running context *is* the idle thread from here on. It takes no
 *      lock before it is online, so a BSP that gives up on it can reset it
 *      with INIT without leaving a lock held.
 *   4. TSC check: BSP and AP ping-pong through memory with interrupts off;
 *      the round with the shortest round trip bounds the AP's TSC offset.
 *      An offset that is provably not zero is corrected (IA32_TSC_ADJUST, or
 *      a TSC write without it) and measured again. clock_monotonic_ns() reads
 *      the TSC of whichever CPU it runs on, so this is what keeps time from
 *      going backwards when a thread moves.
 *   5. The AP says "online", enables interrupts and runs the idle loop; the
 *      BSP then counts it in cpu_count and starts the next one.
 *
 * A CPU that does not reach its C entry within AP_TIMEOUT_NS after the
 * second start-up IPI, or "online" within AP_INIT_NS after that, is
 * reported, reset with INIT (it waits for a start-up IPI that never comes)
 * and skipped; its logical id goes to the next CPU, so online CPUs are
 * always 0 .. cpu_count-1.
 */
#include <arch/smp.h>
#include <arch/percpu.h>
#include <arch/apic.h>
#include <arch/acpi.h>
#include <arch/cpu.h>
#include <arch/trap.h>
#include <arch/fpu.h>
#include <arch/usermode.h>
#include <arch/irqflags.h>
#include <arch/memlayout.h>
#include <weft/thread.h>
#include <weft/sched.h>
#include <weft/kstack.h>
#include <weft/pmm.h>
#include <weft/paging.h>
#include <weft/printk.h>
#include <weft/panic.h>
#include <weft/string.h>
#include <weft/time.h>
#include <weft/bootopt.h>
#include <stddef.h>

_Static_assert(offsetof(struct trampoline_data, started) + TRAMP_DATA_OFF == TD_STARTED, "TD");
_Static_assert(offsetof(struct trampoline_data, pml4) + TRAMP_DATA_OFF == TD_PML4, "TD");
_Static_assert(offsetof(struct trampoline_data, efer) + TRAMP_DATA_OFF == TD_EFER, "TD");
_Static_assert(offsetof(struct trampoline_data, far32) + TRAMP_DATA_OFF == TD_FAR32, "TD");
_Static_assert(offsetof(struct trampoline_data, far64) + TRAMP_DATA_OFF == TD_FAR64, "TD");
_Static_assert(offsetof(struct trampoline_data, gdtr) + TRAMP_DATA_OFF == TD_GDTR, "TD");
_Static_assert(offsetof(struct trampoline_data, gdt) + TRAMP_DATA_OFF == TD_GDT, "TD");
_Static_assert(offsetof(struct trampoline_data, kernel_cr3) + TRAMP_DATA_OFF == TD_CR3, "TD");
_Static_assert(offsetof(struct trampoline_data, entry) + TRAMP_DATA_OFF == TD_ENTRY, "TD");
_Static_assert(offsetof(struct trampoline_data, stack_top) + TRAMP_DATA_OFF == TD_STACK, "TD");
_Static_assert(offsetof(struct trampoline_data, arg) + TRAMP_DATA_OFF == TD_ARG, "TD");
_Static_assert(sizeof(struct trampoline_data) == TD_SIZE, "TD");
_Static_assert(TRAMP_DATA_OFF + TD_SIZE <= 4096, "trampoline data fits its page");

#define AP_TIMEOUT_NS    NSEC_PER_SEC        /* to its C entry; generous: TCG on a busy host */
#define AP_INIT_NS       (10 * NSEC_PER_SEC) /* then to "online": it runs our code by now,
					      * only a host that starves its thread is slower */
#define INIT_DELAY_US    10000               /* after INIT (MP spec: 10 ms) */
#define STARTUP_DELAY_US 200                 /* after each start-up IPI */
#define TSC_ROUNDS       8
#define MSR_TSC          0x10
#define MSR_TSC_ADJUST   0x3b
#define EFER_LME         (1U << 8)

extern const char smp_trampoline_start[], smp_trampoline_end[];
extern const char smp_trampoline_prot32[], smp_trampoline_long64[];
void smp_ap_entry64(void);

struct cpu_boot_info smp_boot_info[SMP_MAX_BOOT_INFO];
unsigned smp_boot_ncpus;
uint64_t smp_tsc_max_skew_ns;

static uint64_t tramp_phys;                 /* the low area, TRAMP_PAGES pages */
static bool tsc_has_adjust;                 /* IA32_TSC_ADJUST exists (CPUID 7.0 EBX[1]) */
static struct trampoline_data *td;          /* its data, through the direct map */

/* How far the AP being started has come; written by it, read by the BSP. */
enum { AP_NONE, AP_IN_C, AP_TSC_SYNC, AP_ONLINE };
static volatile unsigned ap_stage;
static const char *const stage_names[] = { "the trampoline", "its C entry", "the TSC check",
					   "online" };

/* The TSC ping-pong: the BSP bumps `round` (after setting `cmd`), the AP
 * does the command and answers with ack = round. */
enum { TSC_MEASURE, TSC_ADJUST, TSC_DONE };
static struct {
	volatile uint32_t round, ack, cmd;
	volatile uint64_t ap_tsc;
	volatile int64_t adjust;
} tsc_sync;

/* RDTSC is not ordered with loads; LFENCE keeps it after the ones before. */
static inline uint64_t rdtsc_ordered(void)
{
	__asm__ volatile("lfence" ::: "memory");
	return rdtsc();
}

/* --- the AP side ------------------------------------------------------------- */

static void tsc_sync_ap(void)
{
	uint32_t seen = 0;
	for (;;) {
		uint32_t r;
		while ((r = __atomic_load_n(&tsc_sync.round, __ATOMIC_ACQUIRE)) == seen)
			cpu_relax();
		seen = r;
		uint32_t cmd = tsc_sync.cmd;
		if (cmd == TSC_MEASURE) {
			tsc_sync.ap_tsc = rdtsc_ordered();
		} else if (cmd == TSC_ADJUST) {
			/* TSC_ADJUST moves the TSC by what is added to it; without
			 * it, writing the TSC loses the few cycles in between. */
			uint64_t d = (uint64_t)tsc_sync.adjust;
			if (tsc_has_adjust)
				wrmsr(MSR_TSC_ADJUST, rdmsr(MSR_TSC_ADJUST) + d);
			else
				wrmsr(MSR_TSC, rdtsc() + d);
		}
		__atomic_store_n(&tsc_sync.ack, r, __ATOMIC_RELEASE);
		if (cmd == TSC_DONE)
			return;
	}
}

/* Entered from trampoline.S on the idle thread's stack, interrupts off,
 * on the kernel's page tables. Never returns: becomes the idle loop. */
void smp_ap_main(void *arg)
{
	struct percpu *c = arg;
	wrmsr(MSR_GS_BASE, (uint64_t)c);     /* first: cpu_id() and locks read GS */
	wrmsr(MSR_KERNEL_GS_BASE, 0);        /* the user's GS base, for SWAPGS */
	__atomic_store_n(&ap_stage, AP_IN_C, __ATOMIC_RELEASE);
	uint32_t expected = c->apic_id;
	gdt_load(c);                         /* own GDT and TSS: RSP0, IST stacks */
	idt_load();                          /* the one shared IDT */
	lapic_init();                        /* sets c->apic_id from the hardware */
	if (c->apic_id != expected) {
		/* Not the CPU this percpu was made for (a late answer to an
		 * earlier, abandoned start-up?): stop before taking any lock;
		 * the boot CPU times out and resets us with INIT. */
		cpu_halt_forever();
	}
	fpu_init_cpu();                      /* CR0/CR4 FPU bits, XCR0 */
	usermode_init_cpu();                 /* SYSCALL MSRs, SMEP/SMAP/UMIP */
	struct thread *idle = c->current;
	sched_init_cpu(idle, idle);          /* this context is the idle thread now */
	__atomic_store_n(&ap_stage, AP_TSC_SYNC, __ATOMIC_RELEASE);
	tsc_sync_ap();
	__atomic_store_n(&ap_stage, AP_ONLINE, __ATOMIC_RELEASE);
	local_irq_enable();
	sched_idle_fn()(NULL);
	panic("smp: the idle loop of CPU %u returned", c->cpu_id);
}

/* --- the BSP side ------------------------------------------------------------ */

/* Until when the AP being started may take to finish (clock_monotonic_ns). */
static uint64_t ap_deadline;

/* Start the next TSC ping-pong round with `cmd`; false if the AP does not
 * answer by ap_deadline. t0 and t1 bracket the AP's answer. */
static bool tsc_round(uint32_t cmd, uint64_t *t0, uint64_t *t1)
{
	unsigned long f = local_irq_save();
	uint32_t r = tsc_sync.round + 1;
	tsc_sync.cmd = cmd;
	*t0 = rdtsc_ordered();
	__atomic_store_n(&tsc_sync.round, r, __ATOMIC_RELEASE);
	bool ok = true;
	while (__atomic_load_n(&tsc_sync.ack, __ATOMIC_ACQUIRE) != r) {
		if (clock_monotonic_ns() > ap_deadline) {
			ok = false;
			break;
		}
		cpu_relax();
	}
	*t1 = rdtsc_ordered();
	local_irq_restore(f);
	return ok;
}

/* AP TSC minus BSP TSC, in ticks, from the round with the shortest round
 * trip (*rtt): the true offset lies within skew +- rtt/2. */
static bool tsc_measure(int64_t *skew, uint64_t *rtt)
{
	*rtt = UINT64_MAX;
	for (int i = 0; i < TSC_ROUNDS; i++) {
		uint64_t t0, t1;
		if (!tsc_round(TSC_MEASURE, &t0, &t1))
			return false;
		if (t1 - t0 < *rtt) {
			*rtt = t1 - t0;
			*skew = (int64_t)(tsc_sync.ap_tsc - (t0 + (t1 - t0) / 2));
		}
	}
	return true;
}

static uint64_t abs64(int64_t v) { return v < 0 ? (uint64_t)-v : (uint64_t)v; }
static int64_t ticks_to_ns_signed(int64_t t)
{
	return t < 0 ? -(int64_t)tsc_to_ns(abs64(t)) : (int64_t)tsc_to_ns((uint64_t)t);
}

/* Measure the AP's TSC against ours, correct it if it provably differs,
 * and report. False if the AP stopped answering. */
static bool tsc_check(unsigned id)
{
	int64_t skew;
	uint64_t rtt, t0, t1;
	if (!tsc_measure(&skew, &rtt))
		return false;
	bool corrected = false;
	if (abs64(skew) > rtt / 2) {
		tsc_sync.adjust = -skew;
		if (!tsc_round(TSC_ADJUST, &t0, &t1) || !tsc_measure(&skew, &rtt))
			return false;
		corrected = true;
	}
	uint64_t bound = tsc_to_ns(abs64(skew) + rtt / 2);
	if (bound > smp_tsc_max_skew_ns)
		smp_tsc_max_skew_ns = bound;
	if (abs64(skew) > rtt / 2)
		pr_warn("smp: CPU %u: TSC still off by %ld ns after correction; monotonic time may "
			"step back by that much when a thread moves\n", id,
			(long)ticks_to_ns_signed(skew));
	else
		pr_info("smp: CPU %u: TSC %s (offset within +-%lu ns)\n", id,
			corrected ? "corrected" : "in step with CPU 0",
			(unsigned long)tsc_to_ns(rtt / 2));
	return tsc_round(TSC_DONE, &t0, &t1);
}

/* Copy the trampoline below 1 MiB and build its tables and data (the
 * per-AP fields are filled by start_ap). */
static bool trampoline_setup(void)
{
	/* Below 0xa0000: start-up IPI vectors are page numbers < 0xa0 (0xa0-0xbf
	 * are reserved), and the legacy video/ROM area follows anyway. */
	uint64_t pa = pmm_alloc_low(TRAMP_PAGES, 0xa0000);
	if (!pa)
		return false;
	uint8_t *page = phys_to_virt(pa);
	memcpy(page, smp_trampoline_start, (size_t)(smp_trampoline_end - smp_trampoline_start));

	uint64_t *pml4 = phys_to_virt(pa + PAGE_SIZE);
	uint64_t *pdpt = phys_to_virt(pa + 2 * PAGE_SIZE);
	uint64_t *pd = phys_to_virt(pa + 3 * PAGE_SIZE);
	const uint64_t *kpml4 = phys_to_virt(paging_kernel_root());
	for (unsigned i = 256; i < 512; i++)
		pml4[i] = kpml4[i];            /* the kernel half: never changes after boot */
	pml4[0] = (pa + 2 * PAGE_SIZE) | PTE_PRESENT | PTE_WRITE;
	pdpt[0] = (pa + 3 * PAGE_SIZE) | PTE_PRESENT | PTE_WRITE;
	pd[0] = 0 | PTE_PRESENT | PTE_WRITE | PTE_HUGE;   /* 0..2 MiB at 0, for the switch */

	td = (struct trampoline_data *)(page + TRAMP_DATA_OFF);
	td->pml4 = (uint32_t)(pa + PAGE_SIZE);
	td->efer = EFER_LME | (pte_nx() ? EFER_NXE : 0);
	td->far32.offset = (uint32_t)(pa + (uint64_t)(smp_trampoline_prot32 - smp_trampoline_start));
	td->far32.selector = TRAMP_CS32;
	td->far64.offset = (uint32_t)(pa + (uint64_t)(smp_trampoline_long64 - smp_trampoline_start));
	td->far64.selector = TRAMP_CS64;
	td->gdt[0] = 0;
	td->gdt[1] = 0x00cf9a000000ffffULL;    /* TRAMP_CS32: 32-bit code, base 0, 4 GiB */
	td->gdt[2] = 0x00cf92000000ffffULL;    /* TRAMP_DS: data, base 0, 4 GiB */
	td->gdt[3] = 0x00af9a000000ffffULL;    /* TRAMP_CS64: 64-bit code */
	td->gdtr.limit = sizeof td->gdt - 1;
	td->gdtr.base = (uint32_t)(pa + TD_GDT);
	td->kernel_cr3 = paging_kernel_root();
	td->entry = (uint64_t)smp_ap_entry64;
	tramp_phys = pa;
	return true;
}

static unsigned percpu_order(void)
{
	unsigned order = 0;
	while ((PAGE_SIZE << order) < sizeof(struct percpu))
		order++;
	return order;
}

static void ist_free(struct percpu *c)
{
	for (int i = 0; i < IST_COUNT; i++) {
		if (!c->tss.ist[i])
			continue;
		struct kstack ks = { .bottom = c->ist_bottom[i], .top = c->tss.ist[i],
				     .pages = IST_STACK_PAGES };
		kstack_free(&ks);
	}
}

/* Wait until the AP reaches `stage`, or the deadline passes. */
static bool wait_stage(unsigned stage, uint64_t deadline)
{
	while (__atomic_load_n(&ap_stage, __ATOMIC_ACQUIRE) < stage) {
		if (clock_monotonic_ns() >= deadline)
			return false;
		cpu_relax();
	}
	return true;
}

/* Bring the AP with this APIC id up as logical CPU `id`. */
static bool start_ap(unsigned id, uint32_t apic_id)
{
	struct percpu *c = page_alloc(percpu_order());
	struct thread *idle = NULL;
	if (!c)
		goto nomem;
	memset(c, 0, sizeof *c);
	c->self = c;
	c->cpu_id = id;
	c->apic_id = apic_id;              /* expected; lapic_init() on the AP checks */
	c->timer_armed = TIMER_NEVER;
	c->slice_end = SLICE_NONE;
	if (percpu_alloc_ist(c) != 0)
		goto nomem;
	idle = thread_create_idle(id);
	if (!idle)
		goto nomem;
	c->current = idle;                 /* never NULL: preempt_enable() reads it */
	cpu_list[id] = c;

	td->started = 0;
	/* The top of every kernel stack is kept free for a trap frame from
	 * ring 3 (<arch/trap.h>); 176 bytes keep RSP 16-byte aligned. */
	td->stack_top = idle->stack.top - sizeof(struct trap_frame);
	td->arg = (uint64_t)c;
	ap_stage = AP_NONE;
	memset((void *)&tsc_sync, 0, sizeof tsc_sync);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);   /* all of it visible before the IPIs */

	uint8_t vector = (uint8_t)(tramp_phys >> PAGE_SHIFT);
	lapic_send_init(apic_id);
	udelay(INIT_DELAY_US);
	lapic_send_startup(apic_id, vector);
	udelay(STARTUP_DELAY_US);
	lapic_send_startup(apic_id, vector);

	bool ok = wait_stage(AP_IN_C, clock_monotonic_ns() + AP_TIMEOUT_NS);
	ap_deadline = clock_monotonic_ns() + AP_INIT_NS;
	if (ok && wait_stage(AP_TSC_SYNC, ap_deadline) && tsc_check(id) &&
	    wait_stage(AP_ONLINE, ap_deadline)) {
		__atomic_store_n(&cpu_count, id + 1, __ATOMIC_RELEASE);
		return true;
	}

	unsigned stage = ap_stage;
	if (!td->started)
		pr_err("weft: CPU %u (APIC id %u) did not start, skipped\n", id, apic_id);
	else
		pr_err("weft: CPU %u (APIC id %u) stopped in %s, skipped\n", id, apic_id,
		       stage_names[stage]);
	/* INIT puts it back to waiting for a start-up IPI that never comes; it
	 * took no lock on the way (see smp_ap_main), so nothing stays held and
	 * its memory can go. */
	lapic_send_init(apic_id);
	udelay(INIT_DELAY_US);
	cpu_list[id] = NULL;
	thread_destroy_idle(idle);
	ist_free(c);
	page_free(c, percpu_order());
	return false;

nomem:
	pr_err("weft: CPU %u (APIC id %u): no memory to start it, skipped\n", id, apic_id);
	if (idle)
		thread_destroy_idle(idle);
	if (c) {
		ist_free(c);
		page_free(c, percpu_order());
	}
	return false;
}

void smp_boot_aps(void)
{
	struct percpu *bsp = this_cpu();
	unsigned want = boot_options.smp ? boot_options.smp : MAX_CPUS;
	smp_boot_ncpus = 0;
	smp_boot_info[smp_boot_ncpus++] = (struct cpu_boot_info){ bsp->apic_id, 0, CPU_BOOT_ONLINE };
	if (!acpi_info.found || acpi_info.ncpus < 2) {
		pr_info("smp: the firmware lists no other CPU\n");
		return;
	}
	uint32_t a, b, cx, d;
	cpuid(0, 0, &a, &b, &cx, &d);
	if (a >= 7) {
		cpuid(7, 0, &a, &b, &cx, &d);
		tsc_has_adjust = b & (1U << 1);
	}
	bool tramp = trampoline_setup();
	if (!tramp)
		pr_err("smp: no free page below 640 KiB for the start-up code; one CPU only\n");
	else
		pr_info("smp: start-up code at %#lx, starting up to %u more CPU(s)\n",
			(unsigned long)tramp_phys, acpi_info.ncpus - 1);
	for (unsigned i = 0; i < acpi_info.ncpus && smp_boot_ncpus < SMP_MAX_BOOT_INFO; i++) {
		uint32_t apic_id = acpi_info.cpu_apic_id[i];
		if (apic_id == bsp->apic_id)
			continue;
		struct cpu_boot_info *bi = &smp_boot_info[smp_boot_ncpus++];
		*bi = (struct cpu_boot_info){ apic_id, -1, CPU_BOOT_SKIPPED };
		if (!tramp || cpu_count >= want || cpu_count >= MAX_CPUS)
			continue;
		unsigned id = cpu_count;
		if (start_ap(id, apic_id)) {
			bi->cpu = (int)id;
			bi->state = CPU_BOOT_ONLINE;
			pr_info("weft: CPU %u up (APIC id %u)\n", id, apic_id);
		} else {
			bi->state = CPU_BOOT_FAILED;
		}
	}
	unsigned skipped = 0;
	for (unsigned i = 0; i < smp_boot_ncpus; i++)
		skipped += smp_boot_info[i].state == CPU_BOOT_SKIPPED;
	pr_info("smp: %u CPUs online%s\n", cpu_count,
		skipped ? " (others not started: nosmp, maxcpus= or smp=)" : "");
}
