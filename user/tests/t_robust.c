/* t_robust - mutexes whose owner dies holding them, as Linux has it.
 *
 * Through pthreads (musl): a robust mutex - process-private or
 * process-shared, PI or not - whose owner exits while holding it gives the
 * next locker EOWNERDEAD, whether that locker was already blocked when the
 * owner died or came afterwards; made consistent, it works again.
 *
 * Through the raw kernel interface (the owner is a bare clone() that
 * registers a robust list, takes the word and calls exit, so no C library
 * cleans up after it):
 *   - non-PI robust futex: the word becomes FUTEX_OWNER_DIED, plus
 *     FUTEX_WAITERS if it was set, and one waiter on the shared futex is
 *     woken; a FUTEX_WAIT_PRIVATE waiter is a different futex and is not;
 *   - PI lock, robust or not: a waiter blocked in FUTEX_LOCK_PI is handed
 *     the lock, the word becoming its TID | OWNER_DIED | WAITERS; once the
 *     owner is gone a robust word is OWNER_DIED (taken by the next
 *     FUTEX_LOCK_PI, OWNER_DIED kept), a non-robust one still names the
 *     dead TID and FUTEX_LOCK_PI fails with ESRCH (also with OWNER_DIED
 *     set beside that TID);
 *   - FUTEX_LOCK_PI / FUTEX_TRYLOCK_PI on a word naming no thread: ESRCH,
 *     having set FUTEX_WAITERS in the word on the way (Linux does); on a
 *     live owner's word FUTEX_TRYLOCK_PI sets it too and fails with EAGAIN.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

/* from <linux/futex.h>, which musl does not ship */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_LOCK_PI 6
#define FUTEX_TRYLOCK_PI 8
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAITERS 0x80000000u
#define FUTEX_OWNER_DIED 0x40000000u
#define FUTEX_TID_MASK 0x3fffffffu

static pid_t gettid_raw(void) { return (pid_t)syscall(SYS_gettid); }

static void sleep_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

static unsigned load(unsigned *w) { return __atomic_load_n(w, __ATOMIC_SEQ_CST); }

/* Wait (up to ~5 s) until *w has all of bits set; true if it did. */
static int wait_bits(unsigned *w, unsigned bits)
{
	for (int i = 0; i < 5000 && (load(w) & bits) != bits; i++)
		sleep_ms(1);
	return (load(w) & bits) == bits;
}

/* --- through pthreads -------------------------------------------------------- */

/* musl keeps the futex word in the second int of pthread_mutex_t. */
static unsigned *mutex_word(pthread_mutex_t *m) { return (unsigned *)&m->__u.__i[1]; }

static int make_robust(pthread_mutex_t *m, int pi, int pshared)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	int e = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (!e && pi)
		e = pthread_mutexattr_setprotocol(&a, PTHREAD_PRIO_INHERIT);
	if (!e && pshared)
		e = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (!e)
		e = pthread_mutex_init(m, &a);
	pthread_mutexattr_destroy(&a);
	return e;
}

struct dier {
	pthread_mutex_t *m;
	volatile int locked, go;
};

/* Lock the mutex, wait for the word to go, exit holding it. */
static void *die_holding(void *arg)
{
	struct dier *d = arg;
	int e = pthread_mutex_lock(d->m);
	d->locked = 1;
	while (!d->go)
		sleep_ms(1);
	return (void *)(intptr_t)e;
}

struct locker {
	pthread_mutex_t *m;
	volatile pid_t tid;
	volatile int result, consistent, unlock;
	volatile unsigned word;   /* the mutex word once it returned */
};

/* Lock; if the owner died, make the mutex consistent (only the owner may)
 * and unlock it. */
static void *lock_it(void *arg)
{
	struct locker *l = arg;
	l->tid = gettid_raw();
	struct timespec ts;   /* a kernel that never hands the lock over fails, not hangs */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	l->result = pthread_mutex_timedlock(l->m, &ts);
	l->word = load(mutex_word(l->m));
	if (l->result == EOWNERDEAD) {
		l->consistent = pthread_mutex_consistent(l->m);
		l->unlock = pthread_mutex_unlock(l->m);
	}
	return NULL;
}

/* The owner dies holding a robust mutex; a locker blocked before the death
 * (before != 0) or locking after it returns; then the mutex is made
 * consistent and used again. */
static void pthread_case(int pi, int pshared, int before)
{
	const char *what = pi ? (pshared ? "PI process-shared" : "PI process-private")
			      : (pshared ? "process-shared" : "process-private");
	pthread_mutex_t m;
	int e = make_robust(&m, pi, pshared);
	struct dier d = { .m = &m };
	struct locker l = { .m = &m, .result = -1 };
	pthread_t owner, lk;
	pthread_create(&owner, NULL, die_holding, &d);
	while (!d.locked)
		sleep_ms(1);
	int blocked = 1;
	if (before) {
		pthread_create(&lk, NULL, lock_it, &l);
		/* PI: the kernel sets WAITERS as it queues the locker; musl sets
		 * it just before its FUTEX_WAIT. */
		blocked = wait_bits(mutex_word(&m), FUTEX_WAITERS);
		sleep_ms(20);
		blocked = blocked && l.result == -1;
	}
	d.go = 1;
	void *oe;
	pthread_join(owner, &oe);
	if (!before)
		pthread_create(&lk, NULL, lock_it, &l);
	pthread_join(lk, NULL);
	int e1 = l.consistent, e2 = l.unlock;
	int e3 = pthread_mutex_lock(&m), e4 = pthread_mutex_unlock(&m);
	ok(!e && !oe && blocked && l.result == EOWNERDEAD && !e1 && !e2 && !e3 && !e4 &&
		   (!pi || (l.word & (FUTEX_TID_MASK | FUTEX_OWNER_DIED)) ==
				   ((unsigned)l.tid | FUTEX_OWNER_DIED)),
	   "robust %s mutex, locker %s the owner died: EOWNERDEAD (%d, word %#x), usable once "
	   "consistent (%d %d %d %d)",
	   what, before ? "blocked before" : "arriving after", l.result, l.word, e1, e2, e3, e4);
	pthread_mutex_destroy(&m);
}

/* --- through the kernel's interface alone ------------------------------------ */

static long raw_syscall(long n, long a, long b, long c, long d, long e)
{
	long r;
	register long r10 __asm__("r10") = d;   /* 4th argument */
	register long r8 __asm__("r8") = e;     /* 5th argument */
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");   /* syscall clobbers rcx, r11 */
	return r;
}

/* -errno or the result, without touching errno (the raw owner has no TLS of its own). */
static long futex_op(unsigned *w, int op, unsigned val, const struct timespec *ts)
{
	return raw_syscall(SYS_futex, (long)w, op, val, (long)ts, 0);
}

struct robust_head {
	void *next;             /* first entry; circular through the head */
	long futex_offset;      /* from an entry to its word */
	void *pending;
};

/* A bare thread that owns `word` and dies holding it. */
struct raw_owner {
	struct robust_head head;
	void *entry;            /* its one robust-list entry: the next pointer */
	unsigned word;
	int robust;
	volatile int locked;
	int go;                 /* set, then woken (FUTEX_WAKE_PRIVATE), to let it exit */
	int exited;             /* CLONE_CHILD_CLEARTID: 0 once it is gone */
	pid_t tid;
	char *stack;
};

static int raw_owner_main(void *arg)
{
	struct raw_owner *o = arg;
	o->tid = (pid_t)raw_syscall(SYS_gettid, 0, 0, 0, 0, 0);
	if (o->robust) {
		o->entry = &o->head;
		o->head.next = &o->entry;
		o->head.futex_offset = (char *)&o->word - (char *)&o->entry;
		o->head.pending = NULL;
		raw_syscall(SYS_set_robust_list, (long)&o->head, sizeof o->head, 0, 0, 0);
	}
	__atomic_store_n(&o->word, (unsigned)o->tid, __ATOMIC_SEQ_CST);   /* locked: 0 -> TID */
	o->locked = 1;
	while (!__atomic_load_n(&o->go, __ATOMIC_SEQ_CST))   /* sleeps: no spinning thread */
		futex_op((unsigned *)&o->go, FUTEX_WAIT | FUTEX_PRIVATE_FLAG, 0, NULL);
	raw_syscall(SYS_exit, 0, 0, 0, 0, 0);
	return 0;
}

#define OWNER_STACK 65536

static void owner_start(struct raw_owner *o, int robust)
{
	*o = (struct raw_owner){ .robust = robust, .exited = -1, .stack = malloc(OWNER_STACK) };
	clone(raw_owner_main, o->stack + OWNER_STACK,
	      CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM |
		      CLONE_CHILD_CLEARTID,
	      o, NULL, NULL, &o->exited);
	while (!o->locked)
		sleep_ms(1);
}

/* Let the owner exit; return once the kernel cleared its tid word (a
 * shared-futex wake, as CLONE_CHILD_CLEARTID's is). */
static void owner_finish(struct raw_owner *o)
{
	__atomic_store_n(&o->go, 1, __ATOMIC_SEQ_CST);
	futex_op((unsigned *)&o->go, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL);
	int v;
	while ((v = __atomic_load_n(&o->exited, __ATOMIC_SEQ_CST)) != 0)
		futex_op((unsigned *)&o->exited, FUTEX_WAIT, (unsigned)v, NULL);
	free(o->stack);
}

struct raw_waiter {
	struct raw_owner *o;
	int op;
	volatile pid_t tid;
	volatile long result;
	volatile unsigned word;
	volatile int wakes, late, stop, done;
};

/* FUTEX_LOCK_PI on the owner's word, giving up after 10 s. */
static void *pi_locker(void *arg)
{
	struct raw_waiter *w = arg;
	w->tid = gettid_raw();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	w->result = futex_op(&w->o->word, w->op, 0, &ts);
	w->word = load(&w->o->word);
	w->done = 1;
	return NULL;
}

/* Sets WAITERS, then FUTEX_WAITs until a wake shows OWNER_DIED (or until
 * told to stop and woken). `late`: it saw OWNER_DIED without a wake (it
 * reached the kernel only after the death). */
static void *plain_waiter(void *arg)
{
	struct raw_waiter *w = arg;
	unsigned *word = &w->o->word;
	unsigned v = __atomic_or_fetch(word, FUTEX_WAITERS, __ATOMIC_SEQ_CST);
	while (!w->stop) {
		long r = futex_op(word, w->op, v, NULL);
		v = load(word);
		if (r == 0)
			w->wakes++;
		if (v & FUTEX_OWNER_DIED) {
			if (r == 0)
				break;
			w->late = 1;
			if (!(w->op & FUTEX_PRIVATE_FLAG))
				break;
		}
	}
	w->word = load(word);
	w->done = 1;
	return NULL;
}

static int wait_done(struct raw_waiter *w)
{
	for (int i = 0; i < 5000 && !w->done; i++)
		sleep_ms(1);
	return w->done;
}

/* Non-PI robust futex: the owner's death marks it and wakes a shared waiter. */
static void raw_plain_cases(void)
{
	static struct raw_owner o;
	struct raw_waiter w = { .o = &o, .op = FUTEX_WAIT };
	pthread_t t;
	owner_start(&o, 1);
	pthread_create(&t, NULL, plain_waiter, &w);
	wait_bits(&o.word, FUTEX_WAITERS);
	sleep_ms(20);
	owner_finish(&o);
	int done = wait_done(&w);
	if (w.late)
		diag("the shared waiter reached FUTEX_WAIT only after the owner died");
	ok(done && (w.wakes == 1 || w.late) && w.word == (FUTEX_WAITERS | FUTEX_OWNER_DIED),
	   "non-PI robust: a shared waiter is woken by the owner's death, the word WAITERS|OWNER_DIED "
	   "(done %d, wakes %d, word %#x)", done, w.wakes, w.word);
	if (!done) {
		w.stop = 1;
		futex_op(&o.word, FUTEX_WAKE, 1, NULL);
	}
	pthread_join(t, NULL);

	w = (struct raw_waiter){ .o = &o, .op = FUTEX_WAIT | FUTEX_PRIVATE_FLAG };
	owner_start(&o, 1);
	pthread_create(&t, NULL, plain_waiter, &w);
	wait_bits(&o.word, FUTEX_WAITERS);
	sleep_ms(20);
	owner_finish(&o);
	sleep_ms(100);
	int wakes = w.wakes;
	unsigned word = load(&o.word);
	w.stop = 1;
	long n = futex_op(&o.word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, 1, NULL);
	done = wait_done(&w);
	ok(wakes == 0 && word == (FUTEX_WAITERS | FUTEX_OWNER_DIED) && done &&
		   (n == 1 || w.late),
	   "non-PI robust: a FUTEX_WAIT_PRIVATE waiter is not woken by the death (a shared wake) "
	   "(wakes %d, word %#x); FUTEX_WAKE_PRIVATE wakes it (%ld)", wakes, word, n);
	pthread_join(t, NULL);

	owner_start(&o, 1);
	owner_finish(&o);
	word = load(&o.word);
	ok(word == FUTEX_OWNER_DIED, "non-PI robust, nobody waiting: the word is OWNER_DIED (%#x)", word);
}

/* PI lock: the owner (robust or not) dies while a locker is blocked in
 * FUTEX_LOCK_PI, or before a locker comes. */
static void raw_pi_case(int robust, int private, int before)
{
	static struct raw_owner o;
	int op = FUTEX_LOCK_PI | (private ? FUTEX_PRIVATE_FLAG : 0);
	const char *what = robust ? "robust" : "non-robust";
	const char *kind = private ? "private" : "shared";
	owner_start(&o, robust);
	if (before) {
		struct raw_waiter w = { .o = &o, .op = op };
		pthread_t t;
		pthread_create(&t, NULL, pi_locker, &w);
		int queued = wait_bits(&o.word, FUTEX_WAITERS);   /* the kernel sets it as it queues */
		owner_finish(&o);
		pthread_join(t, NULL);
		ok(queued && w.result == 0 &&
			   w.word == ((unsigned)w.tid | FUTEX_WAITERS | FUTEX_OWNER_DIED),
		   "PI %s (%s), locker blocked when the owner died: handed the lock (%ld), word "
		   "TID|WAITERS|OWNER_DIED (%#x, tid %d)", what, kind, w.result, w.word, (int)w.tid);
		return;
	}
	pid_t dead = o.tid;
	owner_finish(&o);
	unsigned w0 = load(&o.word);
	long r = futex_op(&o.word, op, 0, NULL);
	unsigned w1 = load(&o.word);
	if (robust)
		ok(w0 == FUTEX_OWNER_DIED && r == 0 &&
			   w1 == ((unsigned)gettid_raw() | FUTEX_OWNER_DIED),
		   "PI robust (%s), locker after the owner died: the word was OWNER_DIED (%#x), "
		   "FUTEX_LOCK_PI takes it (%ld), OWNER_DIED kept (%#x)", kind, w0, r, w1);
	else {
		/* The same with OWNER_DIED beside the dead TID. */
		unsigned d0 = (unsigned)dead | FUTEX_OWNER_DIED;
		__atomic_store_n(&o.word, d0, __ATOMIC_SEQ_CST);
		long r2 = futex_op(&o.word, op, 0, NULL);
		unsigned d1 = load(&o.word);
		ok(w0 == (unsigned)dead && r == -ESRCH && w1 == (w0 | FUTEX_WAITERS) && r2 == -ESRCH &&
			   d1 == (d0 | FUTEX_WAITERS),
		   "PI non-robust (%s), locker after the owner died: the word still names it (%#x), "
		   "FUTEX_LOCK_PI fails with ESRCH (%ld), having set WAITERS (%#x); also with "
		   "OWNER_DIED (%ld, %#x)", kind, w0, r, w1, r2, d1);
	}
	__atomic_store_n(&o.word, 0, __ATOMIC_SEQ_CST);
}

/* FUTEX_LOCK_PI and FUTEX_TRYLOCK_PI on a word naming no thread. */
static void raw_esrch(void)
{
	static const unsigned bits[] = { 0, FUTEX_OWNER_DIED, FUTEX_WAITERS };
	const unsigned none = 0x3ffffff0;   /* above any pid_max */
	int good = 1;
	for (int private = 0; private < 2; private++) {
		for (unsigned i = 0; i < sizeof bits / sizeof bits[0]; i++) {
			for (int op = FUTEX_LOCK_PI; op <= FUTEX_TRYLOCK_PI; op += 2) {
				unsigned word = none | bits[i];
				long r = futex_op(&word, op | (private ? FUTEX_PRIVATE_FLAG : 0), 0, NULL);
				if (r != -ESRCH || word != (none | bits[i] | FUTEX_WAITERS)) {
					diag("op %d word %#x: %ld, word now %#x", op, none | bits[i], r, word);
					good = 0;
				}
			}
		}
	}
	ok(good, "FUTEX_LOCK_PI/FUTEX_TRYLOCK_PI on a word naming no thread (with OWNER_DIED or "
		 "WAITERS, private or shared): ESRCH, WAITERS set in the word");
}

/* FUTEX_TRYLOCK_PI on a word a live thread owns. */
static void raw_trylock_live(void)
{
	static struct raw_owner o;
	owner_start(&o, 0);
	long r = futex_op(&o.word, FUTEX_TRYLOCK_PI | FUTEX_PRIVATE_FLAG, 0, NULL);
	unsigned w = load(&o.word);
	ok(r == -EAGAIN && w == ((unsigned)o.tid | FUTEX_WAITERS),
	   "FUTEX_TRYLOCK_PI on a live owner's word: EAGAIN (%ld), WAITERS set (%#x)", r, w);
	owner_finish(&o);
}

int main(void)
{
	plan(21);
	for (int pi = 0; pi < 2; pi++)
		for (int pshared = 0; pshared < 2; pshared++)
			for (int before = 0; before < 2; before++)
				pthread_case(pi, pshared, before);
	raw_plain_cases();
	for (int robust = 0; robust < 2; robust++)
		for (int private = 0; private < 2; private++)
			for (int before = 0; before < 2; before++)
				raw_pi_case(robust, private, before);
	raw_esrch();
	raw_trylock_live();
	return done();
}
