/*
 * panic.c - the end of the line: report everything, stop every CPU.
 *
 * Only the first CPU to panic reports; a second panic (on another CPU, or
 * a fault inside the report itself) halts quietly. When its own report is
 * done, the panicking CPU sends an NMI to every other online CPU - even a
 * CPU spinning with interrupts off takes it. Each stopped CPU only
 * publishes where its NMI frame is (panic_stop_cpu) and halts for good with
 * NMIs still blocked, so that frame and the stack under it never change
 * again. The panicking CPU waits (at most STOP_WAIT_NS) for them, then
 * prints every stopped CPU's registers line and backtrace itself, in CPU
 * order: one printer, so no two reports can interleave however slowly a
 * (virtual) CPU runs, and a CPU that never answered is named.
 */
#include <weft/panic.h>
#include <weft/printk.h>
#include <weft/format.h>
#include <weft/backtrace.h>
#include <weft/bootopt.h>
#include <weft/qemu.h>
#include <arch/trap.h>
#include <arch/percpu.h>
#include <arch/apic.h>
#include <arch/cpu.h>
#include <arch/irqflags.h>
#include <weft/time.h>

static volatile int panicking = -1; /* CPU id of the panicking CPU, or -1 */
/* stopped_frame[i]: CPU i's NMI frame once it has stopped (written once by
 * CPU i, read by the panicking CPU after its acquire load of the count). */
static const struct trap_frame *volatile stopped_frame[MAX_CPUS];
static volatile unsigned cpus_stopped;  /* CPUs that have published a frame */

/* A CPU takes an NMI within microseconds; a virtual one on a loaded host
 * may wait for the host to run it. Only a dead CPU costs the full wait. */
#define STOP_WAIT_NS (5 * NSEC_PER_SEC)

bool panic_in_progress(void) { return panicking >= 0; }
int panic_cpu(void) { return panicking; }

/* Claim the panic for this CPU; false if someone else already has it. */
static bool panic_begin(void)
{
	local_irq_disable();
	int me = (int)cpu_id();
	if (!__sync_bool_compare_and_swap(&panicking, -1, me)) {
		if (panicking == me) {
			pr_emerg("panic: recursive panic on CPU %d; halting\n", me);
			if (boot_options.panic_exit)
				qemu_exit(QEMU_EXIT_PANIC);
		}
		cpu_halt_forever();
	}
	printk_bust_locks();
	return true;
}

/* Where stopped CPU `cpu` was: registers line and, in kernel mode, the
 * backtrace of its stack (which no longer changes: that CPU is halted). */
static void report_stopped_cpu(unsigned cpu, const struct trap_frame *f)
{
	pr_emerg("--- CPU %u stopped by the panic on CPU %d (%s mode) ---\n", cpu, panicking,
		 trap_from_user(f) ? "user" : "kernel");
	pr_emerg("RIP %04lx:%016lx RSP %016lx RFLAGS %016lx\n", (unsigned long)f->cs,
		 (unsigned long)f->rip, (unsigned long)f->rsp, (unsigned long)f->rflags);
	if (!trap_from_user(f)) {
		pr_emerg("backtrace:\n");
		backtrace_print(f->rip, f->rbp);
	}
}

/* Stop the other online CPUs, then report each of them, in CPU order. */
static void stop_other_cpus(void)
{
	unsigned me = cpu_id(), n = __atomic_load_n(&cpu_count, __ATOMIC_ACQUIRE);
	if (n < 2)
		return;
	for (unsigned i = 0; i < n; i++)
		if (i != me)
			lapic_send_nmi(cpu_list[i]->apic_id);
	uint64_t deadline = clock_monotonic_ns() + STOP_WAIT_NS;
	while (__atomic_load_n(&cpus_stopped, __ATOMIC_ACQUIRE) < n - 1 &&
	       clock_monotonic_ns() < deadline)
		cpu_relax();
	unsigned silent = 0;
	for (unsigned i = 0; i < n; i++) {
		if (i == me)
			continue;
		const struct trap_frame *f = __atomic_load_n(&stopped_frame[i], __ATOMIC_ACQUIRE);
		if (f)
			report_stopped_cpu(i, f);
		else
			pr_emerg("--- CPU %u did not answer the stop NMI ---\n", i), silent++;
	}
	if (silent)
		pr_emerg("panic: %u of %u other CPUs did not answer the stop NMI\n", silent, n - 1);
}

/* NMI handler (arch/x86_64/trap.c) on a CPU other than the panicking one:
 * publish where this CPU was and halt, NMIs blocked (we never IRET), so the
 * frame stays valid while the panicking CPU reads it. */
void panic_stop_cpu(const struct trap_frame *f)
{
	unsigned me = cpu_id();
	if (me < MAX_CPUS)
		__atomic_store_n(&stopped_frame[me], f, __ATOMIC_RELEASE);
	__atomic_fetch_add(&cpus_stopped, 1, __ATOMIC_RELEASE);
	cpu_halt_forever();
}

__attribute__((noreturn)) static void panic_end(void)
{
	stop_other_cpus();
	pr_emerg("--- end of panic: system halted ---\n");
	if (boot_options.panic_exit)
		qemu_exit(QEMU_EXIT_PANIC);
	cpu_halt_forever();
}

/* Snapshot of the registers inside panic(), so it prints the same dump as
 * a trap; the backtrace then starts in panic() and names its caller. */
static __attribute__((noinline)) void capture_regs(struct trap_frame *f)
{
	__asm__ volatile("movq %%rax, %0\n\tmovq %%rbx, %1\n\tmovq %%rcx, %2\n\t"
			 "movq %%rdx, %3\n\tmovq %%rsi, %4\n\tmovq %%rdi, %5\n\t"
			 "movq %%r8, %6\n\tmovq %%r9, %7\n\tmovq %%r10, %8\n\t"
			 "movq %%r11, %9\n\tmovq %%r12, %10\n\tmovq %%r13, %11\n\t"
			 "movq %%r14, %12\n\tmovq %%r15, %13"
			 : "=m"(f->rax), "=m"(f->rbx), "=m"(f->rcx), "=m"(f->rdx), "=m"(f->rsi),
			   "=m"(f->rdi), "=m"(f->r8), "=m"(f->r9), "=m"(f->r10), "=m"(f->r11),
			   "=m"(f->r12), "=m"(f->r13), "=m"(f->r14), "=m"(f->r15));
	uint64_t *fp = __builtin_frame_address(0);
	f->rbp = fp[0];                  /* the caller's frame */
	f->rip = (uint64_t)__builtin_return_address(0);
	f->rsp = (uint64_t)(fp + 2);
	f->rflags = read_rflags();
	/* A 64-bit destination: MOV from a segment register zero-extends
	 * into it (a 16-bit MOV into %w0 left the upper bits of the 64-bit
	 * output register as they were, and the report showed them). */
	__asm__ volatile("movq %%cs, %0; movq %%ss, %1" : "=r"(f->cs), "=r"(f->ss));
	f->vector = 0;
	f->error_code = 0;
}

void panic(const char *fmt, ...)
{
	struct trap_frame f = { 0 };
	capture_regs(&f);
	panic_begin();
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pr_emerg("KERNEL PANIC on CPU %u: %s\n", cpu_id(), msg);
	trap_print_regs(&f);
	pr_emerg("backtrace:\n");
	backtrace_print(f.rip, f.rbp);
	panic_end();
}

void panic_trap(const struct trap_frame *f, const char *why)
{
	panic_begin();
	pr_emerg("KERNEL PANIC on CPU %u: %s\n", cpu_id(), why);
	trap_report(f, why);
	panic_end();
}
