/*
 * test_traps.c - every exception weft must report, raised on purpose.
 *
 * Each test arms a trap catch (<arch/trap.h>), executes the faulting
 * instruction, and checks what the handler recorded (vector, decoded error
 * code, CR2) and that the full report reached the kernel log. The catch
 * resumes at its setjmp point, so a fault never takes the run down.
 * Locals that live across setjmp are volatile.
 */
#include <weft/ktest.h>
#include <weft/printk.h>
#include <weft/kstack.h>
#include <weft/ksyms.h>
#include <weft/backtrace.h>
#include <weft/bootopt.h>
#include <weft/lockup.h>
#include <weft/string.h>
#include <arch/trap.h>
#include <arch/percpu.h>
#include <arch/apic.h>
#include <arch/cpu.h>
#include <arch/irqflags.h>

void call_on_stack(void *arg, void (*fn)(void *), uint64_t top);

static struct trap_catch tc; /* one armed catch at a time, per CPU */

KTEST(traps, divide_error)
{
	size_t log0 = log_position();
	if (trap_catch_arm(&tc, VEC_DE) == 0) {
		__asm__ volatile("xorl %%edx, %%edx\n\tdivl %%ecx" : : "a"(1), "c"(0) : "rdx");
		trap_catch_disarm();
	}
	KT_EXPECT(t, tc.caught, "no #DE was raised");
	KT_EXPECT_EQ(t, tc.vector, VEC_DE);
	KT_EXPECT(t, log_contains_since(log0, "#DE divide error (vector 0)"), "report missing");
	KT_EXPECT(t, log_contains_since(log0, "backtrace:"), "no backtrace in the report");
}

KTEST(traps, invalid_opcode)
{
	size_t log0 = log_position();
	if (trap_catch_arm(&tc, VEC_UD) == 0) {
		__asm__ volatile("ud2");
		trap_catch_disarm();
	}
	KT_EXPECT(t, tc.caught, "no #UD was raised");
	KT_EXPECT_EQ(t, tc.vector, VEC_UD);
	KT_EXPECT(t, log_contains_since(log0, "#UD invalid opcode (vector 6)"), "report missing");
	/* The faulting RIP must be symbolized to this test's function. */
	uint64_t off;
	const char *fn = ksym_lookup(tc.rip, &off);
	KT_EXPECT(t, fn && strstr(fn, "invalid_opcode"), "RIP %#lx symbolized as %s",
		  (unsigned long)tc.rip, fn ? fn : "(nothing)");
}

KTEST(traps, breakpoint)
{
	size_t log0 = log_position();
	if (trap_catch_arm(&tc, VEC_BP) == 0) {
		__asm__ volatile("int3");
		trap_catch_disarm();
	}
	KT_EXPECT(t, tc.caught, "no #BP was raised");
	KT_EXPECT_EQ(t, tc.vector, VEC_BP);
	KT_EXPECT(t, log_contains_since(log0, "#BP breakpoint (vector 3)"), "report missing");
}

KTEST(traps, general_protection_noncanonical)
{
	size_t log0 = log_position();
	if (trap_catch_arm(&tc, VEC_GP) == 0) {
		uint64_t v;
		__asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(0x8000000000000000ULL));
		trap_catch_disarm();
	}
	KT_EXPECT(t, tc.caught, "no #GP was raised");
	KT_EXPECT_EQ(t, tc.vector, VEC_GP);
	KT_EXPECT_EQ(t, tc.error_code, 0);
	KT_EXPECT(t, log_contains_since(log0, "#GP general protection (vector 13)"), "report missing");
	KT_EXPECT(t, log_contains_since(log0, "not caused by a segment selector"),
		  "error code 0 not decoded");
}

KTEST(traps, general_protection_selector)
{
	size_t log0 = log_position();
	/* Selector 0x1230: GDT index 582, far past our 8-entry GDT. */
	if (trap_catch_arm(&tc, VEC_GP) == 0) {
		__asm__ volatile("movw $0x1230, %%ax\n\tmovw %%ax, %%fs" : : : "rax");
		trap_catch_disarm();
	}
	KT_EXPECT(t, tc.caught, "no #GP was raised");
	KT_EXPECT_EQ(t, tc.error_code, 0x1230);
	KT_EXPECT(t, log_contains_since(log0, "selector index 582 in the GDT"),
		  "selector error code not decoded");
	__asm__ volatile("movw %w0, %%fs" : : "r"(0));
}

KTEST(traps, page_fault_not_present)
{
	size_t log0 = log_position();
	volatile uint64_t addr = 0xdead000;
	if (trap_catch_arm(&tc, VEC_PF) == 0) {
		(void)*(volatile uint64_t *)addr;
		trap_catch_disarm();
	}
	KT_EXPECT(t, tc.caught, "no #PF was raised");
	KT_EXPECT_EQ(t, tc.vector, VEC_PF);
	KT_EXPECT_EQ(t, tc.cr2, 0xdead000);
	KT_EXPECT_EQ(t, tc.error_code, 0); /* read, not present, kernel */
	KT_EXPECT(t, log_contains_since(log0, "page not present, read, kernel mode"),
		  "error code not decoded");
	KT_EXPECT(t, log_contains_since(log0, "CR2 (fault address) 0x000000000dead000"),
		  "CR2 not reported");
}

KTEST(traps, page_fault_write_to_text)
{
	/* Kernel text is mapped read-only: a write is a protection fault. */
	volatile uint64_t target = (uint64_t)ksym_lookup;
	if (trap_catch_arm(&tc, VEC_PF) == 0) {
		*(volatile uint8_t *)target = 0xcc;
		trap_catch_disarm();
	}
	KT_EXPECT(t, tc.caught, "writing kernel text did not fault");
	KT_EXPECT_EQ(t, tc.cr2, target);
	KT_EXPECT_EQ(t, tc.error_code, 0x3); /* present, write, kernel */
}

KTEST(traps, page_fault_nx_data)
{
	if (!cpu_features.nx) {
		ktest_skip(t, "CPU has no NX bit");
		return;
	}
	/* A `ret` placed in .data: executing it must fault (data is NX). */
	static uint8_t code[16] = { 0xc3 };
	volatile uint64_t target = (uint64_t)code;
	if (trap_catch_arm(&tc, VEC_PF) == 0) {
		((void (*)(void))target)();
		trap_catch_disarm();
	}
	KT_EXPECT(t, tc.caught, "executing data did not fault");
	KT_EXPECT_EQ(t, tc.cr2, target);
	KT_EXPECT_EQ(t, tc.error_code, 0x11); /* present, instruction fetch */
}

/* Recurse with a big frame until the stack runs into its guard page. */
static __attribute__((noinline)) uint64_t recurse_forever(volatile uint64_t depth)
{
	volatile uint8_t pad[512];
	pad[0] = (uint8_t)depth;
	if (depth > (1ULL << 40)) /* never true; keeps the compiler from proving the recursion infinite */
		return pad[0];
	return recurse_forever(depth + 1) + pad[0];
}

static void overflow_entry(void *arg)
{
	(void)arg;
	recurse_forever(0);
}

KTEST(traps, stack_overflow_double_fault)
{
	struct kstack ks;
	KT_ASSERT(t, kstack_alloc(&ks, 2) == 0, "no kernel stack");
	size_t log0 = log_position();
	struct percpu *c = this_cpu();
	if (trap_catch_arm(&tc, VEC_DF) == 0) {
		call_on_stack(NULL, overflow_entry, ks.top);
		trap_catch_disarm();
	}
	KT_EXPECT(t, tc.caught, "the overflow did not raise #DF");
	KT_EXPECT_EQ(t, tc.vector, VEC_DF);
	KT_EXPECT(t, tc.rsp < ks.bottom && tc.rsp >= ks.bottom - 4096,
		  "faulting RSP %#lx not in the guard page below %#lx", (unsigned long)tc.rsp,
		  (unsigned long)ks.bottom);
	uint64_t ist_lo = c->ist_bottom[IST_DOUBLE_FAULT - 1];
	uint64_t ist_hi = c->tss.ist[IST_DOUBLE_FAULT - 1];
	KT_EXPECT(t, tc.handler_rsp >= ist_lo && tc.handler_rsp < ist_hi,
		  "#DF handler ran on %#lx, not on the #DF IST stack %#lx..%#lx",
		  (unsigned long)tc.handler_rsp, (unsigned long)ist_lo, (unsigned long)ist_hi);
	KT_EXPECT(t, log_contains_since(log0, "#DF double fault (vector 8)"), "report missing");
	KT_EXPECT(t, log_contains_since(log0, "kernel stack overflow"), "overflow not named");
	kstack_free(&ks);
}

KTEST(traps, nmi_on_ist_stack)
{
	struct percpu *c = this_cpu();
	uint64_t before = c->nmi_count;
	trap_catch_arm(&tc, VEC_NMI); /* marks the NMI as expected: no warning */
	lapic_send_nmi(c->apic_id);
	for (int i = 0; i < 1000000 && c->nmi_count == before; i++)
		cpu_relax();
	trap_catch_disarm();
	KT_EXPECT_EQ(t, c->nmi_count, before + 1);
	uint64_t lo = c->ist_bottom[IST_NMI - 1], hi = c->tss.ist[IST_NMI - 1];
	KT_EXPECT(t, c->nmi_last_rsp >= lo && c->nmi_last_rsp < hi,
		  "NMI handler ran on %#lx, not on the NMI IST stack %#lx..%#lx",
		  (unsigned long)c->nmi_last_rsp, (unsigned long)lo, (unsigned long)hi);
	KT_EXPECT(t, irqs_enabled(), "interrupts off after the NMI");
}

KTEST(traps, ist_stacks_guarded)
{
	struct percpu *c = this_cpu();
	for (int i = 0; i < IST_COUNT; i++) {
		KT_EXPECT(t, kstack_is_guard(c->ist_bottom[i] - 8),
			  "IST stack %d has no guard page below %#lx", i + 1,
			  (unsigned long)c->ist_bottom[i]);
		KT_EXPECT(t, c->tss.ist[i] - c->ist_bottom[i] == IST_STACK_PAGES * 4096,
			  "IST stack %d has the wrong size", i + 1);
	}
}

KTEST(ksyms, lookup_and_backtrace)
{
	uint64_t off = ~0ULL;
	const char *name = ksym_lookup((uint64_t)ksym_lookup + 5, &off);
	KT_EXPECT(t, name && !strcmp(name, "ksym_lookup"), "got %s", name ? name : "(null)");
	KT_EXPECT_EQ(t, off, 5);
	KT_EXPECT_EQ(t, ksym_address("ktest_run"), (uint64_t)ktest_run);
	uint64_t pcs[8];
	int n = backtrace_collect((uint64_t)__builtin_return_address(0),
				  (uint64_t)__builtin_frame_address(0), pcs, 8);
	bool saw_runner = false;
	for (int i = 0; i < n; i++) {
		const char *s = ksym_lookup(pcs[i] - 1, NULL);
		saw_runner |= s && !strcmp(s, "ktest_run");
	}
	KT_EXPECT(t, saw_runner, "backtrace of %d frames does not reach ktest_run", n);
}

KTEST(bootopt, bad_options_fall_back)
{
	static struct boot_options o;
	size_t log0 = log_position();
	bootopt_parse_into(&o, "loglevel=banana frobnicate=1 test_repeat=0 panic=sometimes smp=3 "
			   "watchdog=soon");
	KT_EXPECT_EQ(t, o.loglevel, LOGLEVEL_DEFAULT);
	KT_EXPECT_EQ(t, o.test_repeat, 1);
	KT_EXPECT_EQ(t, o.panic_exit, 0);
	KT_EXPECT_EQ(t, o.smp, 3);           /* the one good option is taken */
	KT_EXPECT_EQ(t, o.watchdog_s, WATCHDOG_DEFAULT_S);
	KT_EXPECT_EQ(t, o.bad_options, 5);
	KT_EXPECT(t, log_contains_since(log0, "'loglevel=banana': expected a number 0..7; using the default (6)"),
		  "no clear message for loglevel=banana");
	KT_EXPECT(t, log_contains_since(log0, "'frobnicate=1': unknown option"),
		  "no message for an unknown option");
}

/* The detectors' timeouts (kernel/lockup.c): bad values get a message and
 * the default; 0 turns a detector off; hang_panic takes 0, 1 or nothing. */
KTEST(bootopt, hang_detector_options)
{
	static struct boot_options o;
	size_t log0 = log_position();
	bootopt_parse_into(&o, "lockup_timeout=soon hung_timeout=86401 hang_panic=maybe");
	KT_EXPECT_EQ(t, o.lockup_timeout_s, LOCKUP_TIMEOUT_DEFAULT_S);
	KT_EXPECT_EQ(t, o.hung_timeout_s, HUNG_TIMEOUT_DEFAULT_S);
	KT_EXPECT_EQ(t, o.hang_panic, -1);
	KT_EXPECT_EQ(t, o.bad_options, 3);
	KT_EXPECT(t, log_contains_since(log0, "'lockup_timeout=soon': expected seconds 0..3600 (0 = off); "
					"using the default (20)"),
		  "no clear message for lockup_timeout=soon");
	KT_EXPECT(t, log_contains_since(log0, "'hung_timeout=86401': expected seconds 0..86400 (0 = off); "
					"using the default (120)"),
		  "no clear message for hung_timeout=86401");
	bootopt_parse_into(&o, "lockup_timeout=0 hung_timeout=7 hang_panic");
	KT_EXPECT_EQ(t, o.lockup_timeout_s, 0);
	KT_EXPECT_EQ(t, o.hung_timeout_s, 7);
	KT_EXPECT_EQ(t, o.hang_panic, 1);
	KT_EXPECT_EQ(t, o.bad_options, 0);
	bootopt_parse_into(&o, "hang_panic=0");
	KT_EXPECT_EQ(t, o.hang_panic, 0);
}

KTEST(bootopt, good_options)
{
	static struct boot_options o;
	bootopt_parse_into(&o, "/boot/weft.elf loglevel=3 panic=exit test=pmm,traps watchdog=0 "
			   "init=\"/bin/x\"");
	KT_EXPECT_EQ(t, o.loglevel, 3);
	KT_EXPECT_EQ(t, o.watchdog_s, 0);
	KT_EXPECT_EQ(t, o.panic_exit, 1);
	KT_EXPECT(t, !strcmp(o.test, "pmm,traps"), "test=%s", o.test);
	KT_EXPECT(t, !strcmp(o.init, "/bin/x"), "init=%s", o.init);
	KT_EXPECT_EQ(t, o.bad_options, 0);
}
