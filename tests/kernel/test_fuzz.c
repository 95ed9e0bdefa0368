/*
 * test_fuzz.c - suite fuzz: the system-call fuzzer (user/fuzz, /bin/fuzz
 * in the initramfs) against this kernel.
 *
 * A campaign is a seed and a length in seconds. It runs as rounds: round
 * R is `fuzz --seed S --round R --seconds LEFT`; a round the fuzzer ends
 * itself (status 0) ends the campaign; a round that ends by a fatal signal
 * (the fuzzer can kill itself: a signal frame on a bad sigaltstack, a
 * handler address it installed) is reported and followed by the next
 * round while time is left. After every round, every page must be back.
 *
 * What fails the test: the fuzzer's status 3 (a call that had to return
 * at once was still in the kernel after 20 s: a hang), any other non-zero
 * status (4: its workers issued fewer than 100 calls; 5: clone() gave a
 * parent 0 or a child a tid; 6: a worker's signal mask blocked a fault
 * signal after its rt_sigprocmask), pages not returned (a leak). A kernel panic or hang ends the
 * whole boot (panic exit code, the test watchdog): the seed and the
 * replay command are printed before each round, so the log names them.
 *
 * Without arguments (test=all, make test): a fixed set of seeds, one
 * second each. With init arguments (make fuzz: "test=fuzz -- --seed S
 * --seconds N [--threads T]"): that one campaign.
 */
#include <weft/ktest.h>
#include <weft/process.h>
#include <weft/exec.h>
#include <weft/bootopt.h>
#include <weft/format.h>
#include <weft/string.h>
#include <weft/signal.h>
#include "ktest_helpers.h"

static const uint64_t fixed_seeds[] = { 1, 2, 3 };
#define FIXED_SECONDS 1
#define FUZZ_EXIT_STUCK 3

struct campaign {
	uint64_t seed;
	unsigned seconds, threads;
};

/* One round; false if it failed the test. *ended_by_signal: it died. */
static bool fuzz_round(struct ktest_ctx *t, const struct campaign *c, unsigned round, unsigned left,
		       bool *ended_by_signal)
{
	char a_seed[24], a_round[16], a_secs[16], a_threads[16];
	snprintf(a_seed, sizeof a_seed, "%lu", (unsigned long)c->seed);
	snprintf(a_round, sizeof a_round, "%u", round);
	snprintf(a_secs, sizeof a_secs, "%u", left);
	snprintf(a_threads, sizeof a_threads, "%u", c->threads);
	const char *const argv[] = { "fuzz", "--seed", a_seed, "--round", a_round, "--seconds", a_secs,
				     "--threads", a_threads, NULL };
	static const char *const envp[] = { "HOME=/", "WEFT_TEST=1", NULL };
	ktest_diag(t, "fuzz: seed %lu round %u, %u s, %u threads, %u CPUs; replay: make fuzz SEED=%lu "
		   "SECONDS=%u THREADS=%u SMP=%u (or tools/weft-run --smp %u build/user/fuzz --seed %lu "
		   "--round %u --seconds %u --threads %u)",
		   (unsigned long)c->seed, round, left, c->threads, ncpus(), (unsigned long)c->seed, c->seconds,
		   c->threads, ncpus(), ncpus(), (unsigned long)c->seed, round, left, c->threads);
	uint64_t free0 = settled_free_pages(0);
	uint64_t tables0 = kstack_table_pages();
	/* Its threads may go to any CPU (ktest_run() pinned this one). */
	struct thread *self = current();
	uint64_t pinned = self->affinity;
	sched_set_affinity_mask(self, CPUMASK_ALL);
	int err = 0;
	struct process *p = process_spawn("/bin/fuzz", argv, envp, NULL, &err);   /* output: the console */
	sched_set_affinity_mask(self, pinned);
	if (!KT_EXPECT(t, p && !err, "process_spawn(/bin/fuzz) failed: %d (boot with -initrd "
		       "build/initramfs.cpio)", err))
		return false;
	int st = process_wait(p);
	bool ok = true;
	*ended_by_signal = !WSTATUS_EXITED(st);
	if (*ended_by_signal) {
		ktest_diag(t, "fuzz: seed %lu round %u ended by %s (the fuzzer may kill itself; see its "
			   "FATAL line)", (unsigned long)c->seed, round, signal_name(WSTATUS_SIGNAL(st)));
	} else {
		int code = WSTATUS_CODE(st);
		ok &= KT_EXPECT(t, code != FUZZ_EXIT_STUCK, "fuzz: seed %lu round %u: a call hung in the "
				"kernel (its STUCK line above)", (unsigned long)c->seed, round);
		ok &= KT_EXPECT(t, code == 0 || code == FUZZ_EXIT_STUCK, "fuzz: seed %lu round %u exited %d",
				(unsigned long)c->seed, round, code);
	}
	/* Page-table pages the kernel-stack area gained stay for later
	 * stacks: not a leak (as in test_user.c). */
	uint64_t tables = kstack_table_pages() - tables0;
	uint64_t free1 = settled_free_pages(free0 - tables);
	ok &= KT_EXPECT(t, free1 + tables == free0, "fuzz: seed %lu round %u: %ld pages not returned "
			"after it ended (a leak)", (unsigned long)c->seed, round,
			(long)free0 - (long)(free1 + tables));
	return ok;
}

static void fuzz_campaign(struct ktest_ctx *t, const struct campaign *c)
{
	uint64_t end = now_ns() + (uint64_t)c->seconds * NSEC_PER_SEC;
	for (unsigned round = 0;; round++) {
		uint64_t now = now_ns();
		unsigned left = now >= end ? 0 : (unsigned)((end - now + NSEC_PER_SEC - 1) / NSEC_PER_SEC);
		if (!left && round > 0)
			return;
		bool died;
		if (!fuzz_round(t, c, round, left ? left : 1, &died) || !died)
			return;
	}
}

/* "--seed S --seconds N --threads T" from the kernel command line's
 * init arguments; false if there are none. */
static bool campaign_from_cmdline(struct ktest_ctx *t, struct campaign *c)
{
	const struct boot_options *o = &boot_options;
	if (!o->init_argc)
		return false;
	for (unsigned i = 0; i + 1 < o->init_argc; i += 2) {
		const char *k = o->init_args + o->init_argv_off[i];
		const char *v = o->init_args + o->init_argv_off[i + 1];
		uint64_t n;
		bool num = parse_u64(v, strlen(v), 10, &n) == 0;
		if (num && !strcmp(k, "--seed"))
			c->seed = n;
		else if (num && !strcmp(k, "--seconds") && n >= 1 && n <= 86400)
			c->seconds = (unsigned)n;
		else if (num && !strcmp(k, "--threads") && n >= 1 && n <= 16)
			c->threads = (unsigned)n;
		else
			KT_EXPECT(t, false, "fuzz: unknown argument '%s %s' (expected --seed, --seconds, "
				  "--threads)", k, v);
	}
	return true;
}

KTEST(fuzz, campaign)
{
	struct campaign c = { .seed = 1, .seconds = 60, .threads = 4 };
	if (campaign_from_cmdline(t, &c)) {
		fuzz_campaign(t, &c);
		return;
	}
	for (unsigned i = 0; i < sizeof fixed_seeds / sizeof fixed_seeds[0]; i++) {
		c.seed = fixed_seeds[i];
		c.seconds = FIXED_SECONDS;
		fuzz_campaign(t, &c);
	}
}
