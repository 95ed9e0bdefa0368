/*
 * main.c - kmain: from boot.S's first C call to the console or the tests.
 *
 * Order matters and each step says what it needs:
 *   per-CPU GS base      - printk and locks read the CPU id through GS
 *   serial (polled)      - printk output
 *   boot info, options   - before anything prints at a chosen loglevel
 *   GDT/TSS, IDT         - exceptions get reports, not triple faults
 *   paging, PMM, heap    - page tables need the early allocator only
 *   IST stacks, kstack   - guarded stacks need the PMM and kmap_page
 *   ACPI, APICs, time    - device registers need ioremap (paging)
 * Then kmain continues on a guard-paged kernel stack (boot.S's stack is a
 * plain array in .bss), enables interrupts, and starts the other CPUs
 * (smp_boot_aps: the scheduler, timers and IPI handlers must exist first,
 * as each AP ends in its idle loop, ready for threads).
 */
#include <weft/printk.h>
#include <weft/format.h>
#include <weft/panic.h>
#include <weft/bootinfo.h>
#include <weft/bootopt.h>
#include <weft/lockup.h>
#include <weft/console.h>
#include <weft/paging.h>
#include <weft/pmm.h>
#include <weft/kstack.h>
#include <weft/time.h>
#include <weft/ktest.h>
#include <weft/qemu.h>
#include <weft/thread.h>
#include <weft/timer.h>
#include <arch/percpu.h>
#include <arch/trap.h>
#include <arch/cpu.h>
#include <arch/apic.h>
#include <arch/acpi.h>
#include <arch/irqflags.h>
#include <arch/usermode.h>
#include <arch/fpu.h>
#include <weft/process.h>
#include <weft/syscall.h>
#include <weft/bootopt.h>
#include <weft/smp.h>
#include <arch/smp.h>

void call_on_stack(void *arg, void (*fn)(void *), uint64_t top);

struct kstack boot_kstack; /* becomes the stack of thread 0, "main" */

/* init=PATH [-- ARGS]: run the first program, report how it ended - one
 * line on the console for people, one on the status channel for
 * tools/weft-run (a program can print the first, not the second) - and
 * leave QEMU. */
static void run_init(void)
{
	struct boot_options *o = &boot_options;
	const char *argv[BOOT_MAX_INIT_ARGS + 2];
	unsigned argc = 0;
	argv[argc++] = o->init;
	for (unsigned i = 0; i < o->init_argc; i++)
		argv[argc++] = o->init_args + o->init_argv_off[i];
	argv[argc] = NULL;
	static const char *const envp[] = { "HOME=/", "PATH=/bin", "TERM=vt100", NULL };
	int err = 0;
	uint64_t t0 = clock_monotonic_ns();
	struct process *p = process_spawn(o->init, argv, envp, NULL, &err);
	int status = p ? process_wait(p) : 127 << 8;
	uint64_t ran = clock_monotonic_ns() - t0;
	if (!p || err)
		pr_err("weft: cannot run %s (error %d)\n", o->init, err);
	if (WSTATUS_EXITED(status))
		kprintf("weft: init exited with status %d\n", WSTATUS_CODE(status));
	else
		kprintf("weft: init killed by signal %d (%s)\n", WSTATUS_SIGNAL(status),
			signal_name(WSTATUS_SIGNAL(status)));
	char line[80];
	int n = snprintf(line, sizeof line, "weft-status: %s %d ran %lu\n",
			 WSTATUS_EXITED(status) ? "exited" : "killed",
			 WSTATUS_EXITED(status) ? WSTATUS_CODE(status) : WSTATUS_SIGNAL(status),
			 (unsigned long)ran);
	serial_status_write(line, (size_t)n);
	qemu_exit(QEMU_EXIT_PASS);
}

static void kmain_on_kstack(void *arg)
{
	(void)arg;
	acpi_init(boot_info.rsdp_phys);
	acpi_print();
	pic_disable();
	lapic_init();
	ioapic_init();
	time_init();
	time_rtc_init();
	timer_init();
	sched_init();      /* this context becomes thread 0 "main"; idle0 is created */
	smp_init();        /* reschedule and call-function IPI handlers */
	serial_init_irq();
	local_irq_enable();
	pr_info("weft: CPU %u up (APIC id %u, %s), interrupts on\n", cpu_id(), this_cpu()->apic_id,
		lapic_x2apic_mode() ? "x2APIC" : "xAPIC");
	smp_boot_aps();
	lockup_init();     /* every CPU's watchdog: soft lockups, hung threads */

	if (boot_options.bench) {
		void bench_run(void);
		bench_run();
		qemu_exit(QEMU_EXIT_PASS);
	}
	if (boot_options.init[0])
		run_init();        /* returns only if QEMU did not exit */
	if (boot_options.test[0]) {
		unsigned failed = 0;
		for (unsigned i = 0; i < boot_options.test_repeat; i++)
			failed += ktest_run(boot_options.test);
		qemu_exit(failed ? QEMU_EXIT_FAIL : QEMU_EXIT_PASS);
	}
	shell_run();
}

void kmain(uint32_t magic, uint64_t info_phys)
{
	percpu_init_boot();
	serial_init_early();
	kprintf("\nweft: booting\n");
	cpu_detect();
	gdt_load(this_cpu());
	idt_init();
	bootinfo_parse(magic, info_phys);
	bootopt_parse(boot_info.cmdline);
	bootinfo_print();
	paging_init();
	pmm_init();
	percpu_alloc_ist(this_cpu());
	fpu_init_cpu();
	usermode_init_cpu();
	syscall_init();
	if (kstack_alloc(&boot_kstack, KSTACK_PAGES) < 0)
		panic("kmain: no memory for the boot thread's kernel stack");
	percpu_set_kernel_stack(boot_kstack.top);
	call_on_stack(NULL, kmain_on_kstack, boot_kstack.top);
	panic("kmain: returned from the boot stack");
}
