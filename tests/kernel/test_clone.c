/*
 * test_clone.c - clone() at its limits, with /bin/t_clone_fill (a user
 * program that makes threads until clone() fails and checks that every
 * thread clone() reported runs):
 *
 *  - user.clone_nproc_default: a process starts with RLIMIT_NPROC sized to
 *    the machine (Linux's max_threads / 2: total pages / 64, soft and
 *    hard), every user thread counts against it, and that many threads
 *    would take well under half of memory (weighed with a sample of them:
 *    making them all costs seconds under TCG). t_nproc shows that clone()
 *    fails with EAGAIN at the limit;
 *  - user.clone_fragmented: with memory fragmented into single free pages
 *    (and a few 4-page blocks: a thread's signal state needs one), clone()
 *    fails with ENOMEM or EAGAIN once the kernel cannot make a whole
 *    thread, and every thread it did report runs. Before, the FPU area and
 *    signal state were allocated by the new thread itself, after clone()
 *    had returned its tid; when that failed the thread exited silently.
 *
 * Every page must be back afterwards, as for every user program.
 */
#include <weft/ktest.h>
#include <weft/process.h>
#include <weft/signal.h>
#include <weft/exec.h>
#include <weft/pmm.h>
#include <weft/kmalloc.h>
#include <weft/kstack.h>
#include <weft/string.h>
#include <weft/format.h>
#include <arch/memlayout.h>
#include "ktest_helpers.h"

#define CLONE_CAPTURE (16 * 1024)

struct clone_run {
	struct output_capture cap;
	struct process *p;
};

static bool clone_spawn(struct ktest_ctx *t, struct clone_run *r, const char *const argv[])
{
	static const char *const envp[] = { "HOME=/", "WEFT_TEST=1", NULL };
	const void *data;
	size_t size;
	if (initramfs_find("/bin/t_clone_fill", &data, &size) < 0) {
		KT_EXPECT(t, false, "/bin/t_clone_fill is not in the initramfs");
		return false;
	}
	r->cap = (struct output_capture){ .buf = kmalloc(CLONE_CAPTURE), .size = CLONE_CAPTURE };
	if (!r->cap.buf) {
		KT_EXPECT(t, false, "no memory for the capture buffer");
		return false;
	}
	int err = 0;
	/* The program's threads may go to any CPU (ktest_run pinned us). */
	struct thread *self = current();
	uint64_t pinned = self->affinity;
	sched_set_affinity_mask(self, CPUMASK_ALL);
	r->p = process_spawn("/bin/t_clone_fill", argv, envp, &r->cap, &err);
	sched_set_affinity_mask(self, pinned);
	if (!r->p || err) {
		KT_EXPECT(t, false, "process_spawn failed: %d", err);
		kfree(r->cap.buf);
		return false;
	}
	return true;
}

/* Has the program printed `s` yet? (Its output is written under p->lock.) */
static bool clone_printed(struct clone_run *r, const char *s)
{
	size_t n = strlen(s);
	unsigned long f = spin_lock_irqsave(&r->p->lock);
	bool found = false;
	for (size_t i = 0; !found && i + n <= r->cap.len; i++)
		found = !memcmp(r->cap.buf + i, s, n);
	spin_unlock_irqrestore(&r->p->lock, f);
	return found;
}

/* Wait for the program; it must exit 0 (all its TAP points passed). */
static void clone_finish(struct ktest_ctx *t, struct clone_run *r)
{
	int st = process_wait(r->p);
	bool passed = WSTATUS_EXITED(st) && WSTATUS_CODE(st) == 0;
	KT_EXPECT(t, passed, "t_clone_fill: wait status %#x", st);
	KT_EXPECT(t, process_user_threads() == 0, "%lu user threads still counted after it ended",
		  (unsigned long)process_user_threads());
	/* Its report, failed or not: how many threads, and how it ended. */
	for (size_t i = 0; i < r->cap.len;) {
		size_t j = i;
		while (j < r->cap.len && r->cap.buf[j] != '\n')
			j++;
		const char *l = r->cap.buf + i;
		if (!passed || (j - i > 2 && l[0] == '#'))
			ktest_diag(t, "  %.*s", (int)(j - i), l);
		i = j + 1;
	}
	kfree(r->cap.buf);
}

/* --- user.clone_nproc_default ------------------------------------------------- */

#define NPROC_SAMPLE 256   /* threads made to weigh one (all of them: seconds) */

KTEST(user, clone_nproc_default)
{
	uint64_t limit = process_default_nproc();
	KT_EXPECT_EQ(t, limit, pmm_total_pages() / (8 * KSTACK_PAGES) / 2);
	KT_ASSERT(t, process_user_threads() == 0, "%lu user threads before the test",
		  (unsigned long)process_user_threads());
	KT_ASSERT(t, limit > NPROC_SAMPLE + 1, "RLIMIT_NPROC %lu on this machine",
		  (unsigned long)limit);
	uint64_t free0 = settled_free_pages(0), tables0 = kstack_table_pages();
	char cap[24];
	snprintf(cap, sizeof cap, "%u", NPROC_SAMPLE);
	const char *const argv[] = { "t_clone_fill", "--cap", cap, "--min-count", cap,
				     "--hold-signal", NULL };
	struct clone_run r;
	if (!clone_spawn(t, &r, argv))
		return;
	KT_EXPECT_EQ(t, r.p->rlim[RLIMIT_NPROC][0], limit);
	KT_EXPECT_EQ(t, r.p->rlim[RLIMIT_NPROC][1], limit);
	/* With the sample alive (the program holds its threads until
	 * SIGUSR1), weigh a thread: what `limit` of them would take must leave
	 * most of memory free - the limit stops a program long before it has
	 * every page. (That clone() then fails with EAGAIN is t_nproc's.) */
	uint64_t before = pmm_free_pages(), t0 = now_ns();
	while (!clone_printed(&r, "holding the threads") && now_ns() - t0 < 60 * NSEC_PER_SEC)
		thread_sleep(MS(5));
	uint64_t held = pmm_free_pages();
	KT_EXPECT_EQ(t, process_user_threads(), NPROC_SAMPLE + 1);
	signal_send_process(r.p, SIGUSR1, SI_USER);
	clone_finish(t, &r);
	uint64_t per_thread = before > held ? (before - held + NPROC_SAMPLE - 1) / NPROC_SAMPLE : 0;
	KT_EXPECT(t, per_thread > 0, "%u threads took no memory?", NPROC_SAMPLE);
	KT_EXPECT(t, limit * per_thread < before / 2,
		  "RLIMIT_NPROC %lu threads of %lu pages each would take %lu of %lu free pages",
		  (unsigned long)limit, (unsigned long)per_thread,
		  (unsigned long)(limit * per_thread), (unsigned long)before);
	ktest_diag(t, "RLIMIT_NPROC %lu: a thread takes %lu pages, so at most %lu of %lu free pages",
		   (unsigned long)limit, (unsigned long)per_thread,
		   (unsigned long)(limit * per_thread), (unsigned long)before);
	uint64_t tables = kstack_table_pages() - tables0;
	uint64_t free1 = settled_free_pages(free0 - tables);
	KT_EXPECT(t, free1 + tables == free0, "%ld pages not returned",
		  (long)free0 - (long)(free1 + tables));
}

/* --- user.clone_fragmented ----------------------------------------------------- */

#define FRAG_BLOCKS 8   /* 4-page blocks left free: a thread's signal state takes one */

struct fragments {
	void *held;                    /* pages kept, linked through their first word */
	uint64_t nheld, nfreed;
};

/* Take every free page, then give back those with an odd frame number:
 * each one's buddy (the even neighbour) stays taken, so none can merge, and
 * memory is single free pages - except FRAG_BLOCKS blocks of 4 pages,
 * taken first and given back last. */
static void fragment(struct fragments *fr)
{
	void *blocks[FRAG_BLOCKS];
	for (unsigned i = 0; i < FRAG_BLOCKS; i++)
		blocks[i] = page_alloc(2);
	void *all = NULL;
	for (void *pg; (pg = page_alloc(0));) {
		*(void **)pg = all;
		all = pg;
	}
	fr->held = NULL;
	fr->nheld = fr->nfreed = 0;
	while (all) {
		void *pg = all;
		all = *(void **)pg;
		if ((virt_to_phys(pg) >> PAGE_SHIFT) & 1) {
			page_free(pg, 0);
			fr->nfreed++;
		} else {
			*(void **)pg = fr->held;
			fr->held = pg;
			fr->nheld++;
		}
	}
	for (unsigned i = 0; i < FRAG_BLOCKS; i++)
		if (blocks[i])
			page_free(blocks[i], 2);
}

static void unfragment(struct fragments *fr)
{
	while (fr->held) {
		void *pg = fr->held;
		fr->held = *(void **)pg;
		page_free(pg, 0);
	}
}

KTEST(user, clone_fragmented)
{
	uint64_t free0 = settled_free_pages(0), tables0 = kstack_table_pages();
	const char *const argv[] = { "t_clone_fill", "--wait-signal", "--cap", "2000",
				     "--expect-fail", "--min-count", "1", NULL };
	struct clone_run r;
	if (!clone_spawn(t, &r, argv))
		return;
	/* It touches all its memory first, then waits for SIGUSR1. */
	uint64_t t0 = now_ns();
	while (!clone_printed(&r, "waiting for SIGUSR1") && now_ns() - t0 < 30 * NSEC_PER_SEC)
		thread_sleep(MS(5));
	struct fragments fr;
	uint64_t t1 = now_ns();
	fragment(&fr);
	uint64_t t2 = now_ns();
	signal_send_process(r.p, SIGUSR1, SI_USER);
	clone_finish(t, &r);
	uint64_t t3 = now_ns();
	unfragment(&fr);
	ktest_diag(t, "memory fragmented: %lu single free pages (+%u blocks of 4), %lu held; "
		   "start %lu ms, fragmenting %lu ms, the program %lu ms, unfragmenting %lu ms",
		   (unsigned long)fr.nfreed, FRAG_BLOCKS, (unsigned long)fr.nheld,
		   (unsigned long)((t1 - t0) / NSEC_PER_MSEC), (unsigned long)((t2 - t1) / NSEC_PER_MSEC),
		   (unsigned long)((t3 - t2) / NSEC_PER_MSEC),
		   (unsigned long)((now_ns() - t3) / NSEC_PER_MSEC));
	uint64_t tables = kstack_table_pages() - tables0;
	uint64_t free1 = settled_free_pages(free0 - tables);
	KT_EXPECT(t, free1 + tables == free0, "%ld pages not returned",
		  (long)free0 - (long)(free1 + tables));
}
