/* bootopt.h - kernel command-line options (kernel/bootopt.c).
 *
 * Every option is parsed once at boot. An unknown option, or a value that
 * does not parse, is reported on the console with the default that is used
 * instead; the boot never stops for it. */
#ifndef WEFT_BOOTOPT_H
#define WEFT_BOOTOPT_H
#include <stdbool.h>
#include <stdint.h>

#define BOOT_MAX_INIT_ARGS 32
#define WATCHDOG_DEFAULT_S 300   /* generous: the slowest test takes seconds */
#define WATCHDOG_MAX_S 86400
#define SPIN_TIMEOUT_DEFAULT_S 20 /* a spinlock wait this long is a deadlock */

struct boot_options {
	int loglevel;             /* loglevel=0..7 (default 6) */
	bool panic_exit;          /* panic=exit: leave QEMU (status 37) on panic; panic=halt */
	char test[128];           /* test=all | test=SUITE[,SUITE...]: run in-kernel tests, exit */
	unsigned test_repeat;     /* test_repeat=N: run the selection N times (default 1) */
	unsigned watchdog_s;      /* watchdog=S: a test still running after S seconds is
				   * reported as hung (every thread's state and stack,
				   * then panic); 0 = off. Default WATCHDOG_DEFAULT_S. */
	unsigned spin_timeout_s;  /* spin_timeout=S: panic when a spinlock wait lasts S
				   * seconds (1..3600; default SPIN_TIMEOUT_DEFAULT_S) */
	unsigned lockup_timeout_s; /* lockup_timeout=S: report a CPU not preemptible for
				   * S s (0 = off, 1..3600; default 20, kernel/lockup.c) */
	unsigned hung_timeout_s;  /* hung_timeout=S: report a thread runnable but not run,
				   * or asleep uninterruptibly, for S s (0 = off,
				   * 1..86400; default 120) */
	int hang_panic;           /* hang_panic[=0|1]: those reports end in a panic;
				   * -1 (default): only while tests run (test=) */
	char init[128];           /* init=PATH: the first program (from the initramfs) */
	/* "-- ARGS...": init's arguments, NUL-separated in init_args. */
	char init_args[512];
	uint16_t init_argv_off[BOOT_MAX_INIT_ARGS];
	unsigned init_argc;
	bool bench;               /* bench=all: run kernel/bench.c and exit */
	bool strace;              /* strace: log every system call (debugging) */
	unsigned smp;             /* smp=N or maxcpus=N: CPUs to use; nosmp = 1; 0 = all */
	unsigned bad_options;     /* how many options were rejected (tests) */
};
extern struct boot_options boot_options;
/* Raw command line as the bootloader gave it (truncated to 511 bytes). */
extern char boot_cmdline[512];

void bootopt_parse(const char *cmdline);
/* Parse into *o, starting from the defaults (tests use a scratch copy). */
void bootopt_parse_into(struct boot_options *o, const char *cmdline);
#endif
