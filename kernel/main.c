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
 * plain array in .bss) and enables interrupts.
 */
#include <weft/printk.h>
#include <weft/panic.h>
#include <weft/bootinfo.h>
#include <weft/bootopt.h>
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

void call_on_stack(void *arg, void (*fn)(void *), uint64_t top);

struct kstack boot_kstack; /* becomes the stack of thread 0, "main" */

static void kmain_on_kstack(void *arg)
{
	(void)arg;
	acpi_init(boot_info.rsdp_phys);
	acpi_print();
	pic_disable();
	lapic_init();
	ioapic_init();
	time_init();
	timer_init();
	sched_init();      /* this context becomes thread 0 "main"; idle0 is created */
	serial_init_irq();
	local_irq_enable();
	pr_info("weft: CPU %u up (APIC id %u, %s), interrupts on\n", cpu_id(), this_cpu()->apic_id,
		lapic_x2apic_mode() ? "x2APIC" : "xAPIC");

	if (boot_options.bench) {
		void bench_run(void);
		bench_run();
		qemu_exit(QEMU_EXIT_PASS);
	}
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
	if (kstack_alloc(&boot_kstack, KSTACK_PAGES) < 0)
		panic("kmain: no memory for the boot thread's kernel stack");
	percpu_set_kernel_stack(boot_kstack.top);
	call_on_stack(NULL, kmain_on_kstack, boot_kstack.top);
	panic("kmain: returned from the boot stack");
}
