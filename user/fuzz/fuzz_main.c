/* fuzz_main.c - weft's system-call fuzzer: options, the supervisor, the
 * workers' loop. See fuzz.h for the design.
 *
 *   fuzz [--seed S] [--round R] [--seconds N] [--iters N] [--threads T]
 *        [--verbose] [--stuck S] [--weight CALL=W]...
 *
 * --weight changes a table entry's weight (0: never), for campaigns aimed
 * at one call (e.g. --weight clone=200); a replay must repeat it.
 *
 * Each worker's call sequence follows from (seed, round, worker,
 * generation) alone; thread interleaving, and with it the values that name
 * live state (addresses the kernel returned, tids, futex word contents),
 * may differ between runs. --iters N stops each worker after N calls, for
 * replays that stop at the same point; --seconds bounds the whole run.
 *
 * Exit status: 0 the campaign ran to its end; 3 a call that had to return
 * promptly (nothing to wait for, or a short timeout) was still in the
 * kernel after --stuck seconds: a kernel hang, reported with the call; 4
 * fewer than 100 calls were issued in all (the workers never ran); 5
 * clone() gave the parent 0 or the child a tid (fuzz_ops.c). The
 * kernel's own failures (panic, leaked pages) are seen by whoever started
 * us (tests/kernel/test_fuzz.c). A fatal signal ends the run early; it is
 * reported with the call that caused it (fuzz_ops.c).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/syscall.h>
#include "fuzz.h"
#include "fuzz_out.h"

struct fz_env fz_env;
struct fz_worker fz_workers[FZ_MAX_WORKERS];

static uint64_t seed, round_no, iters;
static unsigned seconds = 5, stuck_s = 20;
static bool verbose;

uint64_t fz_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t mix(uint64_t a, uint64_t b)
{
	struct fz_rng r = { a ^ (b * 0x9e3779b97f4a7c15ULL) };
	fz_next(&r);
	return fz_next(&r);
}

/* The table's weights, or what --weight NAME=W made of them; set before
 * the workers start, read-only after. */
static unsigned weights[FZ_MAX_CALLS], total_weight;

static unsigned pick_call(struct fz_rng *r)
{
	uint64_t x = fz_below(r, total_weight);
	for (unsigned i = 0; i < fz_ncalls; i++) {
		if (x < weights[i])
			return i;
		x -= weights[i];
	}
	return 0;
}

/* "NAME=W": false if there is no such call. */
static bool set_weight(const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (!eq)
		return false;
	for (unsigned i = 0; i < fz_ncalls; i++) {
		if (strlen(fz_calls[i].name) == (size_t)(eq - arg) && !strncmp(fz_calls[i].name, arg, eq - arg)) {
			weights[i] = (unsigned)strtoul(eq + 1, NULL, 10);
			return true;
		}
	}
	return false;
}

static void verbose_line(struct fz_worker *w, int idx, const struct fz_args *c)
{
	struct fz_out o = { .len = 0 };
	fz_out_str(&o, "fuzz: w");
	fz_out_dec(&o, w->slot);
	fz_out_str(&o, ".");
	fz_out_dec(&o, w->generation);
	fz_out_str(&o, " #");
	fz_out_dec(&o, (int64_t)w->calls);
	fz_out_str(&o, " ");
	fz_out_call(&o, idx, c);
	fz_out_str(&o, "\n");
	fz_out_flush(&o);
}

/* A worker: no libc from here on (fuzz.h). */
static void worker_main(void *arg)
{
	struct fz_worker *w = arg;
	w->tid = (int)fz_sys(SYS_gettid, 0, 0, 0);
	fz_env.tids[w->slot] = w->tid;
	uint64_t none = 0;   /* the supervisor blocks everything; we take all */
	fz_syscall6(SYS_rt_sigprocmask, 2, (uint64_t)(uintptr_t)&none, 0, 8, 0, 0);
	for (uint64_t n = 0;; n++) {
		if (fz_env.stop || (iters && n >= iters)) {
			w->done = true;
			fz_sys(SYS_exit, 0, 0, 0);
		}
		int idx = (int)pick_call(&w->rng);
		const struct fz_call *k = &fz_calls[idx];
		struct fz_args c = { .a = { 0 }, .bound_ns = 1 };
		k->gen(w, &c);
		w->cur_args = c;
		w->cur = idx;
		if (verbose)
			verbose_line(w, idx, &c);
		w->ncalls[idx]++;   /* before: "exit" does not come back */
		w->in_call = true;
		long r = k->run ? k->run(w, &c)
				: fz_syscall6(k->nr, c.a[0], c.a[1], c.a[2], c.a[3], c.a[4], c.a[5]);
		w->in_call = false;
		w->nok[idx] += r >= 0;
		w->calls++;
	}
}

static int spawn(struct fz_worker *w)
{
	w->rng.s = mix(mix(mix(seed, round_no), (uint64_t)w->slot), w->generation);
	w->tid_word = 1;   /* CLONE_CHILD_CLEARTID makes it 0 when the thread is gone */
	w->exiting = w->done = false;
	w->in_call = false;
	w->cur = -1;
	memset(w->maps, 0, sizeof w->maps);
	/* VM FS FILES SIGHAND THREAD SYSVSEM | CHILD_CLEARTID */
	long r = fz_raw_clone(0x50f00UL | 0x200000, (uint64_t)(uintptr_t)w->stack + sizeof w->stack, 0,
			      (uint64_t)(uintptr_t)&w->tid_word, 0, worker_main, w);
	if (r < 0) {
		w->tid_word = 0;
		return (int)r;
	}
	w->tid = (int)r;
	fz_env.tids[w->slot] = (int)r;
	return 0;
}

/* Gone: its CLEARTID word is 0, or (a fuzzed set_tid_address moved that)
 * no thread of ours has its tid. */
static bool gone(struct fz_worker *w)
{
	if (!__atomic_load_n(&w->tid_word, __ATOMIC_ACQUIRE))
		return true;
	return w->exiting && fz_sys(SYS_tgkill, fz_env.pid, w->tid, 0) < 0;
}

static void report_stuck(struct fz_worker *w, double secs)
{
	struct fz_args c = w->cur_args;
	struct fz_out o = { .len = 0 };
	fz_out_str(&o, "fuzz: STUCK: worker ");
	fz_out_dec(&o, w->slot);
	fz_out_str(&o, " (tid ");
	fz_out_dec(&o, w->tid);
	fz_out_str(&o, ") still in ");
	fz_out_call(&o, w->cur, &c);
	fz_out_str(&o, " after ");
	fz_out_dec(&o, (int64_t)secs);
	fz_out_str(&o, " s; it had to return within ");
	fz_out_dec(&o, (int64_t)(c.bound_ns / 1000));
	fz_out_str(&o, " us\n");
	fz_out_flush(&o);
}

static void usage(void)
{
	fprintf(stderr, "usage: fuzz [--seed S] [--round R] [--seconds N] [--iters N] [--threads T] "
			"[--stuck S] [--weight CALL=W]... [--verbose]\n");
	exit(2);
}

static void setup_memory(void)
{
	long junk = fz_syscall6(SYS_mmap, 0, (FZ_JUNK_PAGES + 2) * FZ_PAGE, 3, 0x22, -1UL, 0);
	if (junk < 0) {
		fprintf(stderr, "fuzz: mmap of the junk region failed\n");
		exit(1);
	}
	fz_env.junk = (uint64_t)junk;
	fz_sys(SYS_mprotect, junk + FZ_JUNK_PAGES * FZ_PAGE, FZ_PAGE, 0);
	fz_sys(SYS_mprotect, junk + (FZ_JUNK_PAGES + 1) * FZ_PAGE, FZ_PAGE, 1);
	fz_env.pool = (volatile int *)(uintptr_t)(junk + 64);
	/* The arena: half its pages mapped to start with. */
	for (uint64_t p = 0; p < FZ_ARENA_PAGES; p += 2)
		fz_syscall6(SYS_mmap, FZ_ARENA_BASE + p * FZ_PAGE, FZ_PAGE, 3, 0x32 /* PRIVATE|ANON|FIXED */, -1UL, 0);
	fz_env.brk0 = (uint64_t)fz_sys(SYS_brk, 0, 0, 0);
}

int main(int argc, char **argv)
{
	unsigned threads = 4;
	bool have_seed = false;
	for (unsigned i = 0; i < fz_ncalls && i < FZ_MAX_CALLS; i++)
		weights[i] = fz_calls[i].weight;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--verbose")) {
			verbose = true;
			continue;
		}
		if (!v)
			usage();
		if (!strcmp(a, "--weight")) {
			if (!set_weight(v))
				usage();
			i++;
			continue;
		}
		char *end;
		unsigned long long n = strtoull(v, &end, 0);
		if (*end || !*v)
			usage();
		i++;
		if (!strcmp(a, "--seed"))
			seed = n, have_seed = true;
		else if (!strcmp(a, "--round"))
			round_no = n;
		else if (!strcmp(a, "--seconds"))
			seconds = (unsigned)n;
		else if (!strcmp(a, "--iters"))
			iters = n;
		else if (!strcmp(a, "--threads") && n >= 1 && n <= FZ_MAX_WORKERS)
			threads = (unsigned)n;
		else if (!strcmp(a, "--stuck") && n >= 1)
			stuck_s = (unsigned)n;
		else
			usage();
	}
	if (!have_seed)
		seed = mix(fz_now_ns(), (uint64_t)getpid()) % 1000000000;
	if (fz_ncalls > FZ_MAX_CALLS) {
		fprintf(stderr, "fuzz: %u calls in the table, FZ_MAX_CALLS is %d\n", fz_ncalls, FZ_MAX_CALLS);
		return 1;
	}
	for (unsigned i = 0; i < fz_ncalls; i++)
		total_weight += weights[i];
	if (!total_weight)
		usage();
	printf("fuzz: seed %llu round %llu threads %u seconds %u iters %llu\n", (unsigned long long)seed,
	       (unsigned long long)round_no, threads, seconds, (unsigned long long)iters);
	char it[512] = "";
	size_t itn = 0;
	if (iters)
		itn += (size_t)snprintf(it, sizeof it, " --iters %llu", (unsigned long long)iters);
	for (unsigned i = 0; i < fz_ncalls && itn < sizeof it; i++)
		if (weights[i] != fz_calls[i].weight)
			itn += (size_t)snprintf(it + itn, sizeof it - itn, " --weight %s=%u", fz_calls[i].name,
						weights[i]);
	printf("fuzz: replay: fuzz --seed %llu --round %llu --threads %u --seconds %u%s (each thread's "
	       "calls repeat; their interleaving may not)\n",
	       (unsigned long long)seed, (unsigned long long)round_no, threads, seconds, it);
	fflush(stdout);

	fz_env.pid = getpid();
	fz_env.nworkers = threads;
	setup_memory();
	fz_install_handlers();
	fz_capture_fpu();
	uint64_t all = -1UL;   /* process-directed signals go to the workers */
	fz_syscall6(SYS_rt_sigprocmask, 2, (uint64_t)(uintptr_t)&all, 0, 8, 0, 0);
	for (unsigned i = 0; i < threads; i++) {
		fz_workers[i].slot = (int)i;
		if (spawn(&fz_workers[i]) < 0) {
			fprintf(stderr, "fuzz: cannot start worker %u\n", i);
			return 1;
		}
	}

	uint64_t t0 = fz_now_ns(), end = t0 + (uint64_t)seconds * 1000000000ULL;
	uint64_t last_calls[FZ_MAX_WORKERS] = { 0 }, since[FZ_MAX_WORKERS];
	unsigned ticks[FZ_MAX_WORKERS] = { 0 };   /* our ticks since its last progress */
	for (unsigned i = 0; i < threads; i++)
		since[i] = t0;
	int status = 0;
	unsigned respawns = 0, finished = 0;
	for (;;) {
		struct timespec tick = { 0, 20 * 1000000 };
		nanosleep(&tick, NULL);
		uint64_t now = fz_now_ns();
		bool stop = now >= end || status;
		finished = 0;
		for (unsigned i = 0; i < threads; i++) {
			struct fz_worker *w = &fz_workers[i];
			if (w->done && gone(w)) {
				finished++;
				continue;
			}
			if (w->exiting && gone(w)) {
				w->generation++;
				respawns++;
				int err = stop ? 0 : spawn(w);
				if (err)
					fprintf(stderr, "fuzz: worker %u: clone failed (%d); it is not replaced\n", i,
						err);
				if (stop || err) {
					w->done = true;   /* no more generations */
					finished++;
				}
				since[i] = now;
				ticks[i] = 0;
				continue;
			}
			if (w->calls != last_calls[i]) {
				last_calls[i] = w->calls;
				since[i] = now;
				ticks[i] = 0;
				continue;
			}
			ticks[i]++;
			/* No progress for 40 ms: poke it out of a wait that has
			 * no end (SIGUSR1, no SA_RESTART), every tick. */
			uint64_t idle = now - since[i];
			if (idle >= 40000000)
				fz_sys(SYS_tgkill, fz_env.pid, w->tid, FZ_SIG_POKE);
			/* Stuck: long in guest time, and over many of our ticks (a
			 * host that stalls QEMU moves the clock, not the ticks). */
			if (w->in_call && w->cur_args.bound_ns && idle > (uint64_t)stuck_s * 1000000000ULL +
			    w->cur_args.bound_ns && ticks[i] >= stuck_s * 10 && !status) {
				report_stuck(w, (double)idle / 1e9);
				status = 3;
			}
		}
		if (finished == threads)
			break;
		if (stop) {
			fz_env.stop = true;
			if (now >= end + 1000000000ULL)
				break;   /* some are blocked for good: exit_group ends them */
		}
	}
	for (unsigned i = 0; i < threads; i++) {
		struct fz_worker *w = &fz_workers[i];
		if (w->done && gone(w))
			continue;
		struct fz_args c = w->cur_args;
		struct fz_out o = { .len = 0 };
		fz_out_str(&o, "fuzz: worker ");
		fz_out_dec(&o, w->slot);
		fz_out_str(&o, w->in_call ? " is blocked in " : " did not stop after ");
		fz_out_call(&o, w->cur, &c);
		fz_out_str(&o, "; exit_group ends it\n");
		fz_out_flush(&o);
	}
	uint64_t total = 0;
	char line[4096];
	size_t len = 0;
	for (unsigned k = 0; k < fz_ncalls; k++) {
		uint64_t n = 0, ok = 0;
		for (unsigned i = 0; i < threads; i++)
			n += fz_workers[i].ncalls[k], ok += fz_workers[i].nok[k];
		total += n;
		len += (size_t)snprintf(line + len, sizeof line - len, "%s%s %llu/%llu", k % 8 ? ", " : "\nfuzz:   ",
					fz_calls[k].name, (unsigned long long)ok, (unsigned long long)n);
		if (len >= sizeof line)
			len = sizeof line - 1;
	}
	printf("fuzz: %llu calls in %.1f s by %u workers (%u exited and were replaced, %u still blocked at "
	       "the end); per call: succeeded/issued:%s\n",
	       (unsigned long long)total, (double)(fz_now_ns() - t0) / 1e9, threads, respawns, threads - finished,
	       line);
	if (total < 100 && (!iters || iters * threads >= 100) && !status) {
		printf("fuzz: FAILED: only %llu calls issued: the workers did not run\n", (unsigned long long)total);
		status = 4;
	}
	printf("fuzz: %s\n", status ? "FAILED" : "done");
	fflush(stdout);
	fz_sys(SYS_exit_group, status, 0, 0);   /* ends workers still blocked */
	return status;
}
