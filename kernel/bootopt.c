/*
 * bootopt.c - parse the kernel command line into struct boot_options.
 *
 * The table below is the whole list of options; `help` text included.
 * Bad input never stops the boot: it is reported with the value used.
 */
#include <weft/bootopt.h>
#include <weft/cmdline.h>
#include <weft/printk.h>
#include <weft/string.h>
#include <weft/lockup.h>

static const struct boot_options defaults = {
	.loglevel = LOGLEVEL_DEFAULT,
	.panic_exit = false,
	.test_repeat = 1,
	.watchdog_s = WATCHDOG_DEFAULT_S,
	.spin_timeout_s = SPIN_TIMEOUT_DEFAULT_S,
	.lockup_timeout_s = LOCKUP_TIMEOUT_DEFAULT_S,
	.hung_timeout_s = HUNG_TIMEOUT_DEFAULT_S,
	.hang_panic = -1,
	.smp = 0,
};
struct boot_options boot_options = defaults;
char boot_cmdline[512];

static void copy_value(char *dst, size_t size, const struct cmdline_token *t)
{
	size_t n = t->val_len < size - 1 ? t->val_len : size - 1;
	memcpy(dst, t->val, n);
	dst[n] = 0;
}

static void reject(struct boot_options *o, const struct cmdline_token *t, const char *why, const char *dflt)
{
	o->bad_options++;
	pr_warn("bootopt: '%.*s%s%.*s': %s; using the default (%s)\n", (int)t->key_len, t->key,
		t->has_val ? "=" : "", (int)t->val_len, t->has_val ? t->val : "", why, dflt);
}

static void parse_one(struct boot_options *o, const struct cmdline_token *t)
{
	uint64_t n;
	if (cmdline_key_is(t, "loglevel")) {
		if (!t->has_val || parse_u64(t->val, t->val_len, 10, &n) < 0 || n > 7)
			reject(o, t, "expected a number 0..7", "6");
		else
			o->loglevel = (int)n;
	} else if (cmdline_key_is(t, "panic")) {
		if (t->has_val && t->val_len == 4 && !strncmp(t->val, "exit", 4))
			o->panic_exit = true;
		else if (t->has_val && t->val_len == 4 && !strncmp(t->val, "halt", 4))
			o->panic_exit = false;
		else
			reject(o, t, "expected panic=exit or panic=halt", "halt");
	} else if (cmdline_key_is(t, "test")) {
		if (!t->has_val || t->val_len == 0 || t->val_len >= sizeof o->test)
			reject(o, t, "expected test=all or test=SUITE[,SUITE...]", "no tests");
		else
			copy_value(o->test, sizeof o->test, t);
	} else if (cmdline_key_is(t, "test_repeat")) {
		if (!t->has_val || parse_u64(t->val, t->val_len, 10, &n) < 0 || n < 1 || n > 1000)
			reject(o, t, "expected a number 1..1000", "1");
		else
			o->test_repeat = (unsigned)n;
	} else if (cmdline_key_is(t, "watchdog")) {
		if (!t->has_val || parse_u64(t->val, t->val_len, 10, &n) < 0 || n > WATCHDOG_MAX_S)
			reject(o, t, "expected seconds 0..86400 (0 = off)", "300");
		else
			o->watchdog_s = (unsigned)n;
	} else if (cmdline_key_is(t, "spin_timeout")) {
		if (!t->has_val || parse_u64(t->val, t->val_len, 10, &n) < 0 || n < 1 || n > 3600)
			reject(o, t, "expected seconds 1..3600", "20");
		else
			o->spin_timeout_s = (unsigned)n;
	} else if (cmdline_key_is(t, "lockup_timeout")) {
		if (!t->has_val || parse_u64(t->val, t->val_len, 10, &n) < 0 || n > 3600)
			reject(o, t, "expected seconds 0..3600 (0 = off)", "20");
		else
			o->lockup_timeout_s = (unsigned)n;
	} else if (cmdline_key_is(t, "hung_timeout")) {
		if (!t->has_val || parse_u64(t->val, t->val_len, 10, &n) < 0 || n > 86400)
			reject(o, t, "expected seconds 0..86400 (0 = off)", "120");
		else
			o->hung_timeout_s = (unsigned)n;
	} else if (cmdline_key_is(t, "hang_panic")) {
		if (!t->has_val)
			o->hang_panic = 1;
		else if (t->val_len == 1 && (t->val[0] == '0' || t->val[0] == '1'))
			o->hang_panic = t->val[0] - '0';
		else
			reject(o, t, "expected hang_panic, hang_panic=0 or hang_panic=1",
			       "panic only while tests run");
	} else if (cmdline_key_is(t, "init")) {
		if (!t->has_val || t->val_len == 0 || t->val_len >= sizeof o->init)
			reject(o, t, "expected init=PATH", "none");
		else
			copy_value(o->init, sizeof o->init, t);
	} else if (cmdline_key_is(t, "strace") && !t->has_val) {
		o->strace = true;         /* print every system call and its result */
	} else if (cmdline_key_is(t, "quiet") && !t->has_val) {
		o->loglevel = 3;          /* errors only: program output stays clean */
	} else if (cmdline_key_is(t, "bench")) {
		if (t->has_val && t->val_len == 3 && !strncmp(t->val, "all", 3))
			o->bench = true;
		else
			reject(o, t, "expected bench=all", "no benchmarks");
	} else if (cmdline_key_is(t, "smp") || cmdline_key_is(t, "maxcpus")) {
		if (!t->has_val || parse_u64(t->val, t->val_len, 10, &n) < 0 || n < 1 || n > 16)
			reject(o, t, "expected a number 1..16", "all CPUs");
		else
			o->smp = (unsigned)n;
	} else if (cmdline_key_is(t, "nosmp") && !t->has_val) {
		o->smp = 1;               /* the boot CPU only */
	} else {
		reject(o, t, "unknown option", "ignored");
	}
}

/* Everything after "--" is init's argv[1..] (quotes group words). */
static void add_init_args(struct boot_options *o, const char **pos)
{
	struct cmdline_token t;
	size_t used = 0;
	while (cmdline_next(pos, &t) && o->init_argc < BOOT_MAX_INIT_ARGS) {
		size_t need = t.key_len + (t.has_val ? 1 + t.val_len : 0) + 1;
		if (used + need > sizeof o->init_args) {
			pr_warn("bootopt: init arguments too long; the rest are dropped\n");
			break;
		}
		char *dst = o->init_args + used;
		memcpy(dst, t.key, t.key_len);
		size_t n = t.key_len;
		if (t.has_val) {
			dst[n++] = '=';
			memcpy(dst + n, t.val, t.val_len);
			n += t.val_len;
		}
		dst[n] = 0;
		o->init_argv_off[o->init_argc++] = (uint16_t)used;
		used += n + 1;
	}
}

void bootopt_parse_into(struct boot_options *o, const char *cmdline)
{
	*o = defaults;
	const char *pos = cmdline;
	struct cmdline_token t;
	/* Boot loaders may put the kernel's own path first (QEMU's multiboot
	 * loader: "build/weft.elf ..."): a first word with a '/' and no '='
	 * is not an option. */
	while (*pos == ' ')
		pos++;
	const char *w = pos;
	bool slash = false, eq = false;
	for (; *w && *w != ' '; w++) {
		slash |= *w == '/';
		eq |= *w == '=';
	}
	if (slash && !eq)
		pos = w;
	while (cmdline_next(&pos, &t)) {
		if (t.key_len == 2 && !t.has_val && !strncmp(t.key, "--", 2)) {
			add_init_args(o, &pos);
			break;
		}
		parse_one(o, &t);
	}
}

void bootopt_parse(const char *cmdline)
{
	strlcpy(boot_cmdline, cmdline ? cmdline : "", sizeof boot_cmdline);
	bootopt_parse_into(&boot_options, boot_cmdline);
	console_loglevel = boot_options.loglevel;
}
