/*
 * shell.c - the console shell: one line at a time from the serial port.
 *
 * Runs in the boot context; waiting for input halts the CPU until the
 * UART's receive interrupt arrives (drivers/serial.c).
 */
#include <weft/console.h>
#include <weft/printk.h>
#include <weft/string.h>
#include <weft/pmm.h>
#include <weft/kmalloc.h>
#include <weft/kstack.h>
#include <weft/time.h>
#include <weft/panic.h>
#include <weft/bootopt.h>
#include <weft/spinlock.h>
#include <weft/ktest.h>
#include <arch/cpu.h>
#include <arch/percpu.h>
#include <weft/thread.h>
#include <weft/sched.h>
#include <weft/errno.h>
#include <weft/format.h>
#include <arch/smp.h>
#include <weft/smp.h>
#include <weft/wait.h>
#include <weft/preempt.h>
#include <arch/irqflags.h>

#define LINE_MAX 128
#define PROMPT "weft> "

__attribute__((noreturn)) void machine_reboot(void);

static void cmd_help(const char *args);

static void cmd_mem(const char *args)
{
	(void)args;
	struct kmalloc_stats ks;
	kmalloc_get_stats(&ks);
	uint64_t total = pmm_total_pages(), free = pmm_free_pages();
	kprintf("pages    %lu total, %lu free, %lu used (4 KiB each; %lu MiB free)\n",
		(unsigned long)total, (unsigned long)free, (unsigned long)(total - free),
		(unsigned long)(free >> 8));
	kprintf("heap     %lu bytes in use, %lu allocations, %lu frees, %lu pages held\n",
		(unsigned long)ks.bytes_in_use, (unsigned long)ks.allocs, (unsigned long)ks.frees,
		(unsigned long)ks.pages_held);
	kprintf("kstacks  %lu allocated\n", (unsigned long)kstack_count());
}

static void cmd_uptime(const char *args)
{
	(void)args;
	uint64_t ns = clock_monotonic_ns();
	kprintf("up %lu.%03lu s (TSC %lu kHz), %lu interrupts on this CPU\n",
		(unsigned long)(ns / NSEC_PER_SEC), (unsigned long)(ns / NSEC_PER_MSEC % 1000),
		(unsigned long)(tsc_hz / 1000), (unsigned long)this_cpu()->irq_count);
}

static void cmd_cpu(const char *args)
{
	(void)args;
	cpu_print_features();
}

static void *panic_thread(void *arg)
{
	panic("requested from the console on CPU %u: %s", cpu_id(), (const char *)arg);
}

/* panic [@CPU] [MESSAGE]: @CPU panics from a thread bound to that CPU. */
static void cmd_panic(const char *args)
{
	if (*args == '@') {
		uint64_t cpu;
		const char *end = args + 1;
		while (*end >= '0' && *end <= '9')
			end++;
		if (parse_u64(args + 1, (size_t)(end - args - 1), 10, &cpu) < 0 ||
		    cpu >= cpu_count) {
			kprintf("usage: panic [@CPU] [MESSAGE] (CPU 0..%u)\n", cpu_count - 1);
			return;
		}
		while (*end == ' ')
			end++;
		if (thread_create_on((unsigned)cpu, panic_thread, (void *)end, "panic"))
			thread_sleep(10 * NSEC_PER_SEC);   /* the panic stops us long before */
		return;
	}
	panic("requested from the console%s%s", *args ? ": " : "", args);
}

/* deadlock: take a spinlock this CPU already holds - what a careless
 * nested lock does. The wait is detected after spin_timeout=S seconds and
 * ends in a panic naming the lock, with every CPU's backtrace. */
static void cmd_deadlock(const char *args)
{
	(void)args;
	static spinlock_t demo = SPINLOCK_INIT("shell-demo");
	kprintf("taking spinlock 'shell-demo' twice; expect a panic in %u s\n",
		boot_options.spin_timeout_s);
	spin_lock(&demo);
	spin_lock(&demo);
	spin_unlock(&demo);   /* never reached */
	spin_unlock(&demo);
}

/* lockup [preempt]: hold this CPU in the kernel with interrupts off (or,
 * with "preempt", preemption off and interrupts on), for ever - what a lost
 * unlock or an endless loop under a lock does. Another CPU's watchdog
 * reports it after lockup_timeout=S seconds with this CPU's NMI backtrace
 * (naming the function below), then panics if hang_panic is on. */
static __attribute__((noinline)) void shell_hold_irqs_off(void)
{
	local_irq_disable();
	for (;;)
		cpu_relax();
}

static __attribute__((noinline)) void shell_hold_preempt_off(void)
{
	preempt_disable();
	for (;;)
		cpu_relax();
}

static void cmd_lockup(const char *args)
{
	bool preempt = !strcmp(args, "preempt");
	if (!boot_options.lockup_timeout_s || smp_online_cpus() < 2 || (*args && !preempt)) {
		kprintf("usage: lockup [preempt]; needs lockup_timeout=S > 0 and a second CPU\n");
		return;
	}
	kprintf("holding CPU %u with %s off; expect a lockup report in %u s\n", cpu_id(),
		preempt ? "preemption" : "interrupts", boot_options.lockup_timeout_s);
	if (preempt)
		shell_hold_preempt_off();
	shell_hold_irqs_off();
}

/* starve: on the last CPU, a kernel thread spins with preemption off, and a
 * thread bound there waits behind it, runnable, never run: the hung-thread
 * detector reports it after hung_timeout=S seconds, with what its CPU runs
 * (this hog, by NMI). */
static volatile bool hog_running;

static __attribute__((noinline)) void *shell_hog_cpu(void *arg)
{
	(void)arg;
	preempt_disable();
	hog_running = true;
	for (;;)
		cpu_relax();
	return NULL;
}

static void *shell_starved_victim(void *arg)
{
	(void)arg;
	kprintf("starve: the victim ran after all\n");
	return NULL;
}

static void cmd_starve(const char *args)
{
	(void)args;
	unsigned cpu = smp_online_cpus() - 1;
	if (!boot_options.hung_timeout_s || cpu == 0) {
		kprintf("starve: needs hung_timeout=S > 0 and a second CPU\n");
		return;
	}
	if (!thread_create_on(cpu, shell_hog_cpu, NULL, "hog")) {
		kprintf("starve: out of memory\n");
		return;
	}
	while (!hog_running)
		thread_sleep(NSEC_PER_MSEC);
	if (!thread_create_on(cpu, shell_starved_victim, NULL, "starved")) {
		kprintf("starve: out of memory\n");
		return;
	}
	kprintf("CPU %u is held with preemption off; thread 'starved' waits there; expect a "
		"hung-thread report in %u s\n", cpu, boot_options.hung_timeout_s);
}

/* hang: a thread sleeps uninterruptibly on a completion nobody completes.
 * The hung-thread detector reports it after hung_timeout=S seconds, with
 * its backtrace (naming this function). */
static __attribute__((noinline)) void *shell_stuck_sleeper(void *arg)
{
	static struct completion never;
	(void)arg;
	completion_init(&never);
	wait_for_completion(&never);
	return NULL;
}

static void cmd_hang(const char *args)
{
	(void)args;
	if (!boot_options.hung_timeout_s) {
		kprintf("hang: needs hung_timeout=S > 0\n");
		return;
	}
	if (!thread_create_detached(shell_stuck_sleeper, NULL, "stuck")) {
		kprintf("hang: out of memory\n");
		return;
	}
	kprintf("thread 'stuck' sleeps uninterruptibly for ever; expect a hung-thread report in "
		"%u s\n", boot_options.hung_timeout_s);
}

static void cmd_reboot(const char *args)
{
	(void)args;
	kprintf("rebooting\n");
	machine_reboot();
}

static void cmd_dmesg(const char *args)
{
	(void)args;
	log_dump();
}

static void cmd_tests(const char *args)
{
	if (*args)
		ktest_run(args);
	else
		ktest_list();
}

static void cmd_ps(const char *args)
{
	(void)args;
	thread_print_all();
}

static void cmd_bt(const char *args)
{
	uint64_t tid;
	if (parse_u64(args, strlen(args), 10, &tid) < 0) {
		kprintf("usage: bt TID (see ps)\n");
		return;
	}
	int err = thread_backtrace((int)tid);
	if (err == -ESRCH)
		kprintf("bt: no thread %lu\n", (unsigned long)tid);
	else if (err == -EBUSY)
		kprintf("bt: thread %lu is running on another CPU\n", (unsigned long)tid);
}

static void cmd_cpus(const char *args)
{
	(void)args;
	kprintf("CPU APIC  STATE   RUNQ   LOAD CURRENT                  IDLE(ms)  INTERRUPTS   "
		"SWITCHES PREEMPTS  MIGR-IN\n");
	for (unsigned i = 0; i < smp_boot_ncpus; i++) {
		const struct cpu_boot_info *bi = &smp_boot_info[i];
		if (bi->state != CPU_BOOT_ONLINE) {
			kprintf("  - %4u  %s\n", bi->apic_id,
				bi->state == CPU_BOOT_FAILED ? "failed (did not start)"
							     : "offline (nosmp, maxcpus= or smp=)");
			continue;
		}
		unsigned cpu = (unsigned)bi->cpu;
		struct sched_stats st;
		sched_get_stats(cpu, &st);
		char cur[40];
		snprintf(cur, sizeof cur, "%d %s", st.curr_tid, st.curr_name);
		kprintf("%3u %4u  online %5u %6lu %-24s %8lu %11lu %10lu %8lu %8lu\n", cpu,
			bi->apic_id, st.nr_running, (unsigned long)st.load, cur,
			(unsigned long)(st.idle_ns / NSEC_PER_MSEC),
			(unsigned long)cpu_list[cpu]->irq_count, (unsigned long)st.switches,
			(unsigned long)st.preemptions, (unsigned long)st.migrations);
	}
}

/* `spawn`: threads that show preemption on the console. Each spins
 * without ever yielding and prints a line every so often; the timer
 * preempts them, so their lines interleave. */
static void *spinner(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	for (int round = 0; round < 5; round++) {
		uint64_t until = clock_monotonic_ns() + 40 * NSEC_PER_MSEC;
		while (clock_monotonic_ns() < until)
			; /* busy: never calls schedule() */
		kprintf("  spinner %lu: round %d (CPU time %lu ms)\n", (unsigned long)id, round,
			(unsigned long)(current()->cpu_time_ns / NSEC_PER_MSEC));
	}
	return NULL;
}

static void cmd_spawn(const char *args)
{
	uint64_t n = 3;
	if (*args && (parse_u64(args, strlen(args), 10, &n) < 0 || n < 1 || n > 16)) {
		kprintf("usage: spawn [1..16]\n");
		return;
	}
	struct thread *t[16];
	for (uint64_t i = 0; i < n; i++) {
		t[i] = thread_create(spinner, (void *)(uintptr_t)(i + 1), "spinner");
		if (!t[i]) {
			kprintf("spawn: out of memory\n");
			n = i;
			break;
		}
	}
	for (uint64_t i = 0; i < n; i++)
		thread_join(t[i]);
	kprintf("spawn: %lu busy threads shared the CPU without yielding\n", (unsigned long)n);
}

static const struct command {
	const char *name;
	void (*fn)(const char *args);
	const char *help;
} commands[] = {
	{ "help", cmd_help, "list commands" },
	{ "mem", cmd_mem, "free and used pages, heap, kernel stacks" },
	{ "uptime", cmd_uptime, "time since boot" },
	{ "cpu", cmd_cpu, "CPU identification and features" },
	{ "dmesg", cmd_dmesg, "print the kernel log buffer" },
	{ "tests", cmd_tests, "list in-kernel tests; 'tests SUITE' runs one" },
	{ "deadlock", cmd_deadlock, "take a held spinlock again: shows the deadlock panic (spin_timeout=S)" },
	{ "lockup", cmd_lockup, "lockup [preempt]: hold this CPU with interrupts (preemption) off: shows the soft-lockup report" },
	{ "starve", cmd_starve, "keep a thread runnable behind a CPU hog: shows the hung-thread report (hung_timeout=S)" },
	{ "hang", cmd_hang, "a thread sleeps uninterruptibly for ever: shows the hung-thread report" },
	{ "ps", cmd_ps, "threads: id, name, state, CPU, run time, what they wait on" },
	{ "bt", cmd_bt, "bt TID: stack trace of any thread" },
	{ "cpus", cmd_cpus, "per CPU: APIC id, state, run queue, current thread, idle, interrupts, migrations" },
	{ "spawn", cmd_spawn, "spawn [N]: busy threads that the timer preempts" },
	{ "panic", cmd_panic, "panic [@CPU] [MSG]: panic on purpose (to see the report)" },
	{ "reboot", cmd_reboot, "reset the machine" },
};

static void cmd_help(const char *args)
{
	(void)args;
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		kprintf("  %-8s %s\n", commands[i].name, commands[i].help);
}

static size_t read_line(char *buf, size_t size)
{
	size_t n = 0;
	for (;;) {
		int c = console_getc();
		if (c == '\r' || c == '\n') {
			kputs("\n");
			buf[n] = 0;
			return n;
		}
		if ((c == 0x7f || c == '\b')) {
			if (n > 0) {
				n--;
				kputs("\b \b");
			}
			continue;
		}
		if (c == 0x15) { /* ^U: erase the line */
			while (n > 0) {
				n--;
				kputs("\b \b");
			}
			continue;
		}
		if (c < 0x20 || c > 0x7e || n + 1 >= size)
			continue;
		buf[n++] = (char)c;
		char echo[2] = { (char)c, 0 };
		kputs(echo);
	}
}

void shell_run(void)
{
	char line[LINE_MAX];
	kprintf("\nweft console. Type 'help' for commands.\n");
	for (;;) {
		kputs(PROMPT);
		read_line(line, sizeof line);
		char *cmd = line;
		while (*cmd == ' ')
			cmd++;
		if (!*cmd)
			continue;
		char *args = cmd;
		while (*args && *args != ' ')
			args++;
		if (*args)
			*args++ = 0;
		while (*args == ' ')
			args++;
		size_t i;
		for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
			if (!strcmp(cmd, commands[i].name)) {
				commands[i].fn(args);
				break;
			}
		}
		if (i == sizeof commands / sizeof commands[0])
			kprintf("%s: unknown command; try 'help'\n", cmd);
	}
}
