/* t_tls - thread-local storage on x86-64 lives at %fs: the kernel loads
 * FS_BASE per thread (set by clone's CLONE_SETTLS or arch_prctl) and must
 * keep it across switches. 16 threads each see fresh copies of the TLS
 * initialization image (.tdata values, zeroed .tbss), write their own
 * values, yield many times and find them unchanged; ARCH_GET_FS reports
 * the same thread pointer the code uses. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "tap.h"

#ifndef ARCH_GET_FS
#define ARCH_GET_FS 0x1003   /* <asm/prctl.h>, which musl does not ship */
#endif

#define NTHREADS 16
#define ROUNDS 200

static __thread int tls_init = 42;             /* .tdata */
static __thread uint64_t tls_array[32];        /* .tbss */
static __thread int tls_id;

struct result {
	int fresh;              /* saw the initialization image */
	int kept;               /* own values survived every yield */
	int fs_matches;         /* ARCH_GET_FS == thread pointer == %fs:0 */
	uintptr_t addr;         /* &tls_id in this thread */
};
static struct result results[NTHREADS];

static uintptr_t fs_self(void)
{
	uintptr_t p;
	__asm__ volatile("mov %%fs:0, %0" : "=r"(p));   /* the TCB points at itself */
	return p;
}

static int check_fs(void)
{
	unsigned long base = 0;
	long r = syscall(SYS_arch_prctl, ARCH_GET_FS, &base);
	return r == 0 && base == (uintptr_t)__builtin_thread_pointer() && base == fs_self();
}

static void *worker(void *arg)
{
	int id = (int)(uintptr_t)arg;
	struct result *res = &results[id];
	int zero = 1;
	for (int i = 0; i < 32; i++)
		zero &= tls_array[i] == 0;
	res->fresh = tls_init == 42 && zero && tls_id == 0;
	res->addr = (uintptr_t)&tls_id;

	tls_id = id + 1;
	tls_init = 1000 + id;
	for (int i = 0; i < 32; i++)
		tls_array[i] = (uint64_t)id << 32 | (uint64_t)i;
	int kept = 1;
	for (int r = 0; r < ROUNDS; r++) {
		sched_yield();
		for (volatile int spin = 0; spin < 200; spin++)
			;
		kept &= tls_id == id + 1 && tls_init == 1000 + id &&
			tls_array[r & 31] == ((uint64_t)id << 32 | (uint64_t)(r & 31));
	}
	res->kept = kept;
	res->fs_matches = check_fs();
	return NULL;
}

int main(void)
{
	plan(7);
	ok(check_fs(), "main: ARCH_GET_FS equals the thread pointer and %%fs:0");
	ok(tls_init == 42, "main thread sees the TLS image value 42");

	pthread_t th[NTHREADS];
	for (uintptr_t i = 0; i < NTHREADS; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	/* The main thread changes its own copies meanwhile. */
	tls_init = -1;
	tls_id = -1;
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);

	int fresh = 1, kept = 1, fs = 1, distinct = 1;
	for (int i = 0; i < NTHREADS; i++) {
		fresh &= results[i].fresh;
		kept &= results[i].kept;
		fs &= results[i].fs_matches;
		for (int j = 0; j < i; j++)
			distinct &= results[i].addr != results[j].addr;
		distinct &= results[i].addr != (uintptr_t)&tls_id;
	}
	ok(fresh, "each new thread starts with a fresh TLS image (.tdata copied, .tbss zero)");
	ok(distinct, "&tls_id differs in every thread");
	ok(kept, "%d threads kept their own TLS values across %d yields each", NTHREADS, ROUNDS);
	ok(fs, "in every thread ARCH_GET_FS equals its thread pointer");
	ok(tls_init == -1 && tls_id == -1, "the main thread's TLS was not touched by the others");
	return done();
}
