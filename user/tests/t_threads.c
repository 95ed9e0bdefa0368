/* t_threads - clone-based threads as musl's pthreads use them: 100 threads
 * alive at once, each with its own thread ID, pthread_self and return
 * value; the process ID is shared; join collects exactly what each thread
 * returned; detached threads (which unmap their own stack on exit) come
 * and go; a thread can create and join threads of its own; the thread ID
 * clone() returns names a thread of the process at once. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "tap.h"

#define NTHREADS 100
#define FUTEX_WAIT 0   /* <linux/futex.h>: musl-gcc has no kernel headers */
#define NDETACHED 20

struct slot {
	int index;
	pid_t tid, pid;
	pthread_t self;
};

static struct slot slots[NTHREADS];
static pthread_barrier_t all_alive;

static pid_t gettid_raw(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* Record identity, wait until all 100 exist (so thread IDs cannot have been
 * reused), then return a value only this thread would return. */
static void *member(void *arg)
{
	struct slot *s = arg;
	s->tid = gettid_raw();
	s->pid = getpid();
	s->self = pthread_self();
	pthread_barrier_wait(&all_alive);
	return (void *)(uintptr_t)(0x1000 + 7 * s->index);
}

static int detached_done;

static void *detached(void *arg)
{
	(void)arg;
	sched_yield();
	__atomic_add_fetch(&detached_done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* A thread that runs threads: creation is not a main-thread privilege. */
static void *leaf(void *arg)
{
	return (void *)((uintptr_t)arg * 3);
}

static void *parent(void *arg)
{
	(void)arg;
	pthread_t kids[4];
	uintptr_t sum = 0;
	for (uintptr_t i = 0; i < 4; i++)
		if (pthread_create(&kids[i], NULL, leaf, (void *)(i + 1)))
			return NULL;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(kids[i], &r);
		sum += (uintptr_t)r;
	}
	return (void *)sum;
}

/* A bare clone() thread (no TLS of its own: it touches nothing but these
 * words) that waits to be released, then exits; the kernel clears *ctid
 * and wakes its futex when it is gone. */
static volatile int released;
static char bare_stack[16384] __attribute__((aligned(16)));

static int bare(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&released, __ATOMIC_ACQUIRE))
		;
	return 0;
}

/* clone() returns the new thread's ID: it must already name a thread of
 * this process (as on Linux), not only once the thread has run a while. */
static int tid_usable_at_once(void)
{
	const int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			  CLONE_SYSVSEM | CLONE_CHILD_CLEARTID;
	static volatile pid_t ctid;
	int good = 0;
	for (int i = 0; i < 200; i++) {
		released = 0;
		ctid = -1;
		pid_t tid = clone(bare, bare_stack + sizeof bare_stack, flags, NULL, NULL, NULL,
				  &ctid);
		if (tid <= 0)
			break;
		cpu_set_t set;
		long k = syscall(SYS_tgkill, getpid(), tid, 0);
		long a = syscall(SYS_sched_getaffinity, tid, sizeof set, &set);
		__atomic_store_n(&released, 1, __ATOMIC_RELEASE);
		for (pid_t v; (v = ctid) != 0;)
			syscall(SYS_futex, &ctid, FUTEX_WAIT, v, NULL, NULL, 0);
		if (k != 0 || a <= 0) {
			diag("clone() returned %d: tgkill(0) gave %ld, sched_getaffinity %ld", tid,
			     k, a);
			break;
		}
		good++;
	}
	return good;
}

int main(void)
{
	plan(13);
	pid_t main_tid = gettid_raw(), pid = getpid();
	ok(main_tid == pid, "the main thread's TID is the process ID (%d)", pid);

	pthread_t th[NTHREADS];
	int created = 0;
	pthread_barrier_init(&all_alive, NULL, NTHREADS + 1);
	for (int i = 0; i < NTHREADS; i++) {
		slots[i].index = i;
		if (pthread_create(&th[i], NULL, member, &slots[i]) != 0)
			break;
		created++;
	}
	ok(created == NTHREADS, "created %d threads", created);
	if (created != NTHREADS) {
		/* The barrier would never open: give up loudly. */
		diag("cannot continue without all threads");
		_exit(1);
	}
	pthread_barrier_wait(&all_alive);

	int joined = 0, values = 1;
	for (int i = 0; i < NTHREADS; i++) {
		void *r = NULL;
		if (pthread_join(th[i], &r) == 0)
			joined++;
		if ((uintptr_t)r != (uintptr_t)(0x1000 + 7 * i)) {
			if (values)
				diag("thread %d returned %p", i, r);
			values = 0;
		}
	}
	ok(joined == NTHREADS, "joined %d threads", joined);
	ok(values, "each join returned that thread's own value");

	int same_pid = 1, tid_distinct = 1, tid_not_main = 1, self_distinct = 1, self_match = 1;
	for (int i = 0; i < NTHREADS; i++) {
		same_pid &= slots[i].pid == pid;
		tid_not_main &= slots[i].tid != main_tid && slots[i].tid > 0;
		self_match &= pthread_equal(slots[i].self, th[i]) != 0;
		for (int j = 0; j < i; j++) {
			tid_distinct &= slots[i].tid != slots[j].tid;
			self_distinct &= !pthread_equal(slots[i].self, slots[j].self);
		}
	}
	ok(same_pid, "every thread sees the same getpid()");
	ok(tid_not_main, "every thread has a positive TID other than the main thread's");
	ok(tid_distinct, "the %d live threads have distinct TIDs", NTHREADS);
	ok(self_distinct, "pthread_self() differs between the threads");
	ok(self_match, "pthread_self() inside equals what pthread_create reported");
	pthread_barrier_destroy(&all_alive);

	/* Detached threads: nobody joins them; musl frees their stacks from
	 * the exiting thread itself (munmap, then exit without a stack). */
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	int dcreated = 0;
	for (int i = 0; i < NDETACHED; i++) {
		pthread_t t;
		if (pthread_create(&t, &attr, detached, NULL) == 0)
			dcreated++;
	}
	for (int spin = 0; spin < 100000 &&
	     __atomic_load_n(&detached_done, __ATOMIC_SEQ_CST) < dcreated; spin++)
		sched_yield();
	ok(dcreated == NDETACHED && detached_done == NDETACHED,
	   "%d detached threads ran to completion", detached_done);
	pthread_attr_destroy(&attr);

	pthread_t p;
	void *sum = NULL;
	int e = pthread_create(&p, NULL, parent, NULL);
	if (!e)
		pthread_join(p, &sum);
	ok(!e && (uintptr_t)sum == 3 * (1 + 2 + 3 + 4), "a thread created and joined 4 threads of its own");

	/* Many short-lived threads in sequence: IDs and stacks get recycled. */
	int cycles = 0;
	for (int i = 0; i < 200; i++) {
		pthread_t t;
		void *r = NULL;
		if (pthread_create(&t, NULL, leaf, (void *)(uintptr_t)i) != 0 ||
		    pthread_join(t, &r) != 0 || (uintptr_t)r != (uintptr_t)(3 * i))
			break;
		cycles++;
	}
	ok(cycles == 200, "200 create/join cycles in a row (%d)", cycles);

	int usable = tid_usable_at_once();
	ok(usable == 200, "the tid clone() returns answers tgkill and sched_getaffinity at once (%d of 200)",
	   usable);
	return done();
}
