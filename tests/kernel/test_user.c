/*
 * test_user.c - user mode, end to end: every test program of user/tests
 * (built with musl-gcc -static, in the initramfs) runs as a process; its
 * TAP output is captured and checked line by line, its exit status or
 * fatal signal is checked, and afterwards every page it used must be back
 * (free-page count equal to the count before it started).
 *
 * Also here: SMAP and SMEP, which must stop the kernel from touching or
 * running user memory outside the uaccess routines.
 */
#include <weft/ktest.h>
#include <weft/process.h>
#include <weft/vm.h>
#include <weft/pmm.h>
#include <weft/kmalloc.h>
#include <weft/kstack.h>
#include <weft/string.h>
#include <weft/uaccess.h>
#include <weft/exec.h>
#include <weft/sched.h>
#include <weft/smp.h>
#include <weft/thread.h>
#include <arch/trap.h>
#include <arch/cpu.h>
#include <arch/apic.h>
#include <arch/irqflags.h>
#include <arch/usermode.h>
#include <weft/signal.h>
#include "ktest_helpers.h"

#define CAPTURE_SIZE (64 * 1024)

/* Check the TAP a program printed: a plan, no "not ok", as many points as
 * planned. Failing lines are repeated as diagnostics. */
/* Does TAP line l (n bytes) carry a "# SKIP" directive? */
static bool has_skip(const char *l, size_t n)
{
	for (size_t i = 0; i + 6 <= n; i++)
		if (!strncmp(l + i, "# SKIP", 6))
			return true;
	return false;
}

static void check_tap(struct ktest_ctx *t, const char *name, const char *buf, size_t len)
{
	unsigned oks = 0, fails = 0;
	long plan = -1;
	bool skip_all = false;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && buf[j] != '\n')
			j++;
		const char *l = buf + i;
		size_t n = j - i;
		if (n >= 3 && !strncmp(l, "1..", 3)) {
			uint64_t v;
			size_t k = 3;
			while (k < n && l[k] >= '0' && l[k] <= '9')
				k++;
			if (parse_u64(l + 3, k - 3, 10, &v) == 0)
				plan = (long)v;
			skip_all = plan == 0 && n > k;   /* "1..0 # SKIP why" */
		} else if (n >= 3 && !strncmp(l, "ok ", 3)) {
			oks++;
			if (has_skip(l, n))   /* say so: a skip proves nothing */
				ktest_diag(t, "%s: %.*s", name, (int)n, l);
		} else if (n >= 7 && !strncmp(l, "not ok ", 7)) {
			fails++;
			ktest_diag(t, "%s: %.*s", name, (int)n, l);
		}
		i = j + 1;
	}
	KT_EXPECT(t, plan >= 0, "%s printed no TAP plan", name);
	KT_EXPECT(t, fails == 0, "%s: %u of its tests failed", name, fails);
	KT_EXPECT(t, plan < 0 || (long)(oks + fails) == plan || skip_all,
		  "%s: %u test points, %ld planned", name, oks + fails, plan);
	if (skip_all)
		ktest_diag(t, "%s skipped everything", name);
}

/* A failed program's output, as KTAP diagnostics (one "# " line each). */
static void show_output(struct ktest_ctx *t, const char *name, const char *buf, size_t len)
{
	ktest_diag(t, "%s output:", name);
	for (size_t i = 0, lines = 0; i < len && lines < 60; lines++) {
		size_t j = i;
		while (j < len && buf[j] != '\n')
			j++;
		ktest_diag(t, "  %.*s", (int)(j - i), buf + i);
		i = j + 1;
	}
}

/* Run /bin/NAME ARGS...; expect exit 0, or death by expect_signal. */
static void run_program(struct ktest_ctx *t, const char *name, const char *const argv[],
			int expect_signal)
{
	char path[64] = "/bin/";
	strlcpy(path + 5, name, sizeof path - 5);
	const void *data;
	size_t size;
	if (initramfs_find(path, &data, &size) < 0) {
		KT_EXPECT(t, false, "%s is not in the initramfs (boot with -initrd build/initramfs.cpio)",
			  path);
		return;
	}
	static const char *const envp[] = { "HOME=/", "TERM=vt100", "WEFT_TEST=1", NULL };
	uint64_t free0 = settled_free_pages(0);
	uint64_t tables0 = kstack_table_pages();
	struct output_capture cap = { .buf = kmalloc(CAPTURE_SIZE), .size = CAPTURE_SIZE };
	KT_ASSERT(t, cap.buf, "no memory for the capture buffer");
	int err = 0;
	uint64_t t0 = now_ns();
	/* ktest_run() pinned this thread, and a new thread inherits its
	 * creator's mask: let the program's threads go to any CPU, as on a
	 * machine that boots it. */
	struct thread *self = current();
	uint64_t pinned = self->affinity;
	sched_set_affinity_mask(self, CPUMASK_ALL);
	struct process *p = process_spawn(path, argv, envp, &cap, &err);
	sched_set_affinity_mask(self, pinned);
	KT_EXPECT(t, p && !err, "process_spawn(%s) failed: %d", path, err);
	int st = p ? process_wait(p) : 0;
	uint64_t ms = (now_ns() - t0) / NSEC_PER_MSEC;
	if (expect_signal) {
		KT_EXPECT(t, !WSTATUS_EXITED(st) && WSTATUS_SIGNAL(st) == expect_signal,
			  "%s: wait status %#x, expected death by %s", name, st,
			  signal_name(expect_signal));
	} else {
		KT_EXPECT(t, WSTATUS_EXITED(st) && WSTATUS_CODE(st) == 0,
			  "%s: wait status %#x (exit %d, signal %d)", name, st, WSTATUS_CODE(st),
			  WSTATUS_EXITED(st) ? 0 : WSTATUS_SIGNAL(st));
	}
	KT_EXPECT(t, !cap.overflowed, "%s printed more than %d bytes", name, CAPTURE_SIZE);
	check_tap(t, name, cap.buf, cap.len);
	bool failed = expect_signal ? (WSTATUS_EXITED(st) || WSTATUS_SIGNAL(st) != expect_signal)
				    : (!WSTATUS_EXITED(st) || WSTATUS_CODE(st) != 0);
	if (failed)
		show_output(t, name, cap.buf, cap.len);
	kfree(cap.buf);
	/* Page-table pages the kernel-stack area gained (more threads alive at
	 * once than ever before) stay for later stacks: not a leak. */
	uint64_t tables = kstack_table_pages() - tables0;
	uint64_t free1 = settled_free_pages(free0 - tables);
	KT_EXPECT(t, free1 + tables == free0, "%s: %ld pages not returned after it ended", name,
		  (long)free0 - (long)(free1 + tables));
	ktest_diag(t, "%s: %lu ms, %lu bytes of output", name, (unsigned long)ms,
		   (unsigned long)cap.len);
}

#define USER_TEST(prog, ...)                                            \
	KTEST(user, prog)                                               \
	{                                                               \
		static const char *const argv[] = { #prog, __VA_ARGS__ }; \
		run_program(t, #prog, argv, 0);                         \
	}
#define USER_FAULT_TEST(prog, sig)                                      \
	KTEST(user, prog)                                               \
	{                                                               \
		static const char *const argv[] = { #prog, NULL };      \
		run_program(t, #prog, argv, sig);                       \
	}

/* --- Entry and exit with user values (t_entry, item 10 of issue 11) ----------- */

/* t_entry's handler at, and sigreturn to, a non-canonical RIP: the program
 * sees SIGSEGV/SI_KERNEL either way under TCG (which lets IRETQ through to
 * fault in ring 3), so count that weft's own check made both. */
KTEST(user, t_entry)
{
	static const char *const argv[] = { "t_entry", NULL };
	uint64_t bad0 = __atomic_load_n(&usermode_bad_rips, __ATOMIC_RELAXED);
	run_program(t, "t_entry", argv, 0);
	uint64_t bad = __atomic_load_n(&usermode_bad_rips, __ATOMIC_RELAXED) - bad0;
	KT_EXPECT(t, bad == 2, "exit_to_user_mode() refused %lu non-canonical RIPs, expected 2",
		  (unsigned long)bad);
}

#define RFLAGS_AC (1UL << 18)
static volatile bool ac_seen, ac_in_handler, ac_faulted;
static volatile uint64_t ac_user_rip;
static struct trap_catch ac_tc;

/* VEC_TEST_LOW on the CPU that runs `t_entry acspin`: the first time it
 * interrupts ring 3 with AC set, look at our own AC and read the user's
 * code page without the uaccess helpers. */
static void ac_probe(struct trap_frame *f, void *arg)
{
	(void)arg;
	if (ac_seen || !trap_from_user(f) || !(f->rflags & RFLAGS_AC))
		return;
	ac_in_handler = read_rflags() & RFLAGS_AC;
	ac_user_rip = f->rip;
	if (trap_catch_arm(&ac_tc, VEC_PF) == 0) {
		(void)*(volatile uint8_t *)f->rip;   /* present: the CPU is running it */
		trap_catch_disarm();
	}
	ac_faulted = ac_tc.caught && ac_tc.cr2 == f->rip;
	ac_seen = true;
}

/* An interrupt from ring 3 with RFLAGS.AC set must not run its handler
 * with AC set (SMAP off): the program spins with AC on CPU 1, CPU 0 sends
 * it test IPIs. */
KTEST(user, entry_clears_ac)
{
	if (!cpu_features.smap) {
		ktest_diag(t, "the CPU has no SMAP: AC means nothing in ring 0");
		return;
	}
	if (!need_cpus(t, 2))
		return;
	const void *data;
	size_t size;
	KT_ASSERT(t, initramfs_find("/bin/t_entry", &data, &size) == 0, "/bin/t_entry missing");
	static const char *const argv[] = { "t_entry", "acspin", NULL };
	static const char *const envp[] = { "WEFT_TEST=1", NULL };
	struct output_capture cap = { .buf = kmalloc(CAPTURE_SIZE), .size = CAPTURE_SIZE };
	KT_ASSERT(t, cap.buf, "no memory for the capture buffer");
	ac_seen = ac_in_handler = ac_faulted = false;
	irq_register(VEC_TEST_LOW, ac_probe, NULL);
	struct thread *self = current();
	uint64_t pinned = self->affinity;
	sched_set_affinity_mask(self, 1ULL << 1);   /* the program inherits CPU 1 */
	int err = 0;
	struct process *p = process_spawn("/bin/t_entry", argv, envp, &cap, &err);
	sched_set_affinity_mask(self, 1ULL << 0);
	KT_EXPECT(t, p && !err, "process_spawn failed: %d", err);
	for (uint64_t end = now_ns() + MS(5000); p && !ac_seen && now_ns() < end;) {
		lapic_send_ipi(cpu_list[1]->apic_id, VEC_TEST_LOW);
		thread_sleep(MS(1));
	}
	if (p)
		signal_send_process(p, SIGUSR1, SI_USER);   /* ends its spin */
	int st = p ? process_wait(p) : 0;
	irq_register(VEC_TEST_LOW, NULL, NULL);
	sched_set_affinity_mask(self, pinned);
	KT_EXPECT(t, ac_seen, "no test IPI interrupted the program in ring 3 with AC set");
	KT_EXPECT(t, !ac_in_handler, "the handler ran with AC set (SMAP off)");
	KT_EXPECT(t, ac_faulted, "a plain read of user code at %#lx did not fault (caught %d)",
		  (unsigned long)ac_user_rip, ac_tc.caught);
	KT_EXPECT(t, p && WSTATUS_EXITED(st) && WSTATUS_CODE(st) == 0, "t_entry acspin: status %#x",
		  st);
	check_tap(t, "t_entry acspin", cap.buf, cap.len);
	kfree(cap.buf);
}

/* Tests run in reverse order of definition: the simplest last here runs first. */
USER_TEST(t_nproc, NULL)
USER_TEST(t_clone_args, NULL)
USER_TEST(t_clone_storm, NULL)
USER_TEST(t_smp_mm, NULL)
USER_TEST(t_sigmem, NULL)
USER_TEST(t_ioperm, NULL)
USER_FAULT_TEST(t_fault_gp, SIGSEGV)
USER_FAULT_TEST(t_fault_de, SIGFPE)
USER_FAULT_TEST(t_fault_ud, SIGILL)
USER_FAULT_TEST(t_fault_segv, SIGSEGV)
USER_TEST(t_sigsync, NULL)
USER_TEST(t_signals, NULL)
USER_TEST(t_fpu, NULL)
USER_TEST(t_cancel, NULL)
USER_TEST(t_robust, NULL)
USER_TEST(t_pimutex, NULL)
USER_TEST(t_efault, NULL)
USER_TEST(t_huge_timeout, NULL)
USER_TEST(t_mutex, NULL)
USER_TEST(t_tls, NULL)
USER_TEST(t_threads, NULL)
USER_TEST(t_mmap_many, NULL)
USER_TEST(t_fault_race, NULL)
USER_TEST(t_sigfail, NULL)
USER_TEST(t_mmap, NULL)
USER_TEST(t_misc, NULL)
USER_TEST(t_args, "one", "two", NULL)

/* Programs whose threads spin in user mode while others sleep and wake
 * (issue 11, item 1): suite user_timing, which the -icount runs choose
 * (t/timing-smp2.t, t/timing-smp4.t: QEMU's single-threaded TCG is where
 * a CPU running a spinner starved the others); the kernel-smp*.t runs take
 * it with `all`, on multi-threaded TCG. */
KTEST(user_timing, t_spinners)
{
	static const char *const argv[] = { "t_spinners", NULL };
	run_program(t, "t_spinners", argv, 0);
}

/* --- SMAP and SMEP ------------------------------------------------------------ */

static struct trap_catch tc;

KTEST(user, smap_smep)
{
	if (!cpu_features.smap && !cpu_features.smep) {
		ktest_diag(t, "the CPU has neither SMAP nor SMEP: nothing to check");
		return;
	}
	/* A user page in an address space this kernel thread borrows. */
	struct mm *mm = mm_create();
	KT_ASSERT(t, mm, "mm_create failed");
	const uint64_t va = 0x400000;
	static const uint8_t code[] = { 0xc3 };   /* ret */
	KT_ASSERT(t, vm_map_populate(mm, va, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, "test", code, 0,
				     sizeof code) == 0, "mapping the user page failed");
	mm_activate(mm);
	uint32_t v = 0;
	KT_EXPECT(t, copy_from_user(&v, va, 1) == 0 && v == 0xc3,
		  "copy_from_user of a mapped user page failed (%#x)", v);
	if (cpu_features.smap) {
		if (trap_catch_arm(&tc, VEC_PF) == 0) {
			v = *(volatile uint8_t *)va;   /* outside the accessors */
			trap_catch_disarm();
		}
		KT_EXPECT(t, tc.caught && tc.cr2 == va && (tc.error_code & 1),
			  "SMAP: a plain kernel read of user memory did not fault (caught %d)",
			  tc.caught);
	}
	if (cpu_features.smep) {
		if (trap_catch_arm(&tc, VEC_PF) == 0) {
			((void (*)(void))va)();        /* run user code in ring 0 */
			trap_catch_disarm();
		}
		KT_EXPECT(t, tc.caught && tc.cr2 == va && (tc.error_code & 16),
			  "SMEP: ring 0 ran a user page (caught %d, error %#lx)", tc.caught,
			  (unsigned long)tc.error_code);
	}
	mm_activate(NULL);
	mm_put(mm);
}
