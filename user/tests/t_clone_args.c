/* t_clone_args - clone()'s tid words and TLS argument, with raw clone()s
 * (no pthread_create in between):
 *  - CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID, children that exit at
 *    once: the word is back to 0 every time (the tid is written before the
 *    child runs, never after it has exited and cleared the word: a joiner
 *    waiting for 0 would wait forever);
 *  - a child finds its own tid in its CHILD_SETTID word and in the
 *    parent's PARENT_SETTID word at its first instruction, and clone()
 *    returned that tid;
 *  - CLONE_SETTLS with a base outside user space (non-canonical, or the
 *    kernel half) fails with EPERM, as arch_prctl(ARCH_SET_FS) does, and
 *    creates no thread; a good one is what the child sees in FS. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "tap.h"
#include "raw_clone.h"

#define FUTEX_WAIT 0   /* <linux/futex.h>: musl-gcc has no kernel headers */
#define NQUICK 200
#define NCHECK 50

static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "0"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
	return r;
}

/* Wait (at most ~2 s) for *w to become 0, as pthread_join does. */
static int wait_cleared(volatile int *w)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	for (int i = 0; i < 100; i++) {
		int v = __atomic_load_n(w, __ATOMIC_ACQUIRE);
		if (v == 0)
			return 1;
		syscall(SYS_futex, w, FUTEX_WAIT, v, &ts, NULL, 0);
	}
	return __atomic_load_n(w, __ATOMIC_ACQUIRE) == 0;
}

/* --- children that look at their tid words ------------------------------- */

struct seen {
	volatile int ctid, ptid;   /* CHILD_SETTID / PARENT_SETTID words */
	int tid_at_start, ctid_at_start, ptid_at_start;
	uint64_t fs_at_start;
	volatile int done;
	char stack[2048] __attribute__((aligned(16)));
};

static struct seen seen[NCHECK];

/* Runs without TLS of its own (raw clone): raw syscalls only. */
static long look(void *arg)
{
	struct seen *s = arg;
	s->ctid_at_start = s->ctid;
	s->ptid_at_start = s->ptid;
	s->tid_at_start = (int)sys3(SYS_gettid, 0, 0, 0);
	uint64_t fs;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(fs));  /* TLS word 0: the TCB's self pointer */
	s->fs_at_start = fs;
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return 0;
}

/* A TLS block for the children: word 0 points at itself (the x86-64 TLS
 * ABI's self pointer, which `mov %fs:0` reads). */
static uint64_t child_tls[8] __attribute__((aligned(64)));

int main(void)
{
	plan(8);

	/* 1. Children that exit at once. */
	int bad_ret = 0, not_cleared = 0;
	for (int i = 0; i < NQUICK; i++) {
		volatile int word = -1;
		long r = raw_clone(RC_THREAD_FLAGS | RC_CLONE_CHILD_SETTID | RC_CLONE_CHILD_CLEARTID,
				   NULL, NULL, (int *)&word, 0, NULL, NULL);
		if (r <= 0) {
			bad_ret++;
			continue;
		}
		if (!wait_cleared(&word)) {
			diag("clone %d: the CHILD_CLEARTID word is %d, not 0, 2 s after the child "
			     "(tid %ld) exited", i, word, r);
			if (++not_cleared == 3)
				break;   /* enough: each costs 2 s */
		}
	}
	ok(bad_ret == 0, "%d raw clones with CHILD_SETTID|CHILD_CLEARTID returned a tid (%d "
	   "did not)", NQUICK, bad_ret);
	ok(not_cleared == 0, "the word is back to 0 after every child exits at once (%d stayed "
	   "set)", not_cleared);

	/* 2. Children that look at their words first. */
	child_tls[0] = (uint64_t)(uintptr_t)child_tls;
	int wrong = 0, lost = 0, ret_wrong = 0, fs_wrong = 0;
	for (int i = 0; i < NCHECK; i++) {
		struct seen *s = &seen[i];
		s->ctid = s->ptid = -1;
		long r = raw_clone(RC_THREAD_FLAGS | RC_CLONE_CHILD_SETTID | RC_CLONE_PARENT_SETTID |
				   RC_CLONE_SETTLS, s->stack + sizeof s->stack, (int *)&s->ptid,
				   (int *)&s->ctid, (unsigned long)(uintptr_t)child_tls, look, s);
		if (r <= 0) {
			lost++;
			continue;
		}
		for (int spin = 0; !__atomic_load_n(&s->done, __ATOMIC_ACQUIRE) && spin < 2000; spin++)
			usleep(1000);
		if (!s->done) {
			lost++;
			continue;
		}
		ret_wrong += r != s->tid_at_start;
		wrong += s->ctid_at_start != s->tid_at_start || s->ptid_at_start != s->tid_at_start;
		fs_wrong += s->fs_at_start != (uint64_t)(uintptr_t)child_tls;
		if (wrong == 1 && (s->ctid_at_start != s->tid_at_start ||
				   s->ptid_at_start != s->tid_at_start))
			diag("child %d: tid %d, CHILD_SETTID word %d, PARENT_SETTID word %d at its "
			     "first instruction", i, s->tid_at_start, s->ctid_at_start, s->ptid_at_start);
	}
	ok(lost == 0, "%d children with a stack and TLS ran (%d did not)", NCHECK, lost);
	ok(ret_wrong == 0, "clone() returned the tid the child has (%d differ)", ret_wrong);
	ok(wrong == 0, "every child found its tid in both words before its first instruction "
	   "(%d did not)", wrong);
	ok(fs_wrong == 0, "every child ran with the CLONE_SETTLS base (%d did not)", fs_wrong);

	/* 3. TLS bases outside user space. */
	static const uint64_t bad_tls[] = {
		0x0000800000000000ULL,   /* first non-canonical address */
		0x8000000000000000ULL,   /* non-canonical */
		0xffff800000000000ULL,   /* canonical, the kernel half */
		0xfffffffffffff000ULL,
	};
	int accepted = 0;
	for (unsigned i = 0; i < sizeof bad_tls / sizeof bad_tls[0]; i++) {
		volatile int word = -1;
		long r = raw_clone(RC_THREAD_FLAGS | RC_CLONE_SETTLS | RC_CLONE_CHILD_SETTID, NULL,
				   NULL, (int *)&word, bad_tls[i], NULL, NULL);
		if (r != -EPERM) {
			accepted++;
			diag("CLONE_SETTLS %#llx: clone returned %ld, expected -EPERM (%d)",
			     (unsigned long long)bad_tls[i], r, -EPERM);
		} else if (word != -1) {
			accepted++;
			diag("CLONE_SETTLS %#llx: -EPERM, but a child tid word was written (%d)",
			     (unsigned long long)bad_tls[i], word);
		}
	}
	ok(accepted == 0, "CLONE_SETTLS outside user space: EPERM and no thread (%d otherwise)",
	   accepted);
	/* The highest user page is still a valid base. */
	volatile int word = -1;
	long r = raw_clone(RC_THREAD_FLAGS | RC_CLONE_SETTLS | RC_CLONE_CHILD_SETTID |
			   RC_CLONE_CHILD_CLEARTID, NULL, NULL, (int *)&word,
			   0x00007ffffffff000ULL - 0x1000, NULL, NULL);
	ok(r > 0 && wait_cleared(&word), "CLONE_SETTLS just below the top of user space works "
	   "(clone returned %ld)", r);
	return done();
}
