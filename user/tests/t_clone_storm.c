/* t_clone_storm - four threads each clone, as fast as they can, threads
 * that exit at once, yielding now and then: the children run, exit and are
 * freed while their creators are still inside clone(). Every clone() must
 * return the new thread's tid to its caller (the value the kernel also
 * stored at the CLONE_PARENT_SETTID address, so never 0, an error, an
 * address or another thread's tid), and every creator must get through all
 * its clones (a creator that got 0 back would run the child's exit and
 * vanish). Each creator makes 1500 clones (argv[1]: another count) or
 * stops after 2 s, whichever comes first. This once panicked weft within
 * seconds at -smp 1 and 2 (a freed thread's tid read back; a completion
 * freed while its waker still held it). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include "tap.h"
#include "raw_clone.h"

#define NCREATORS 4
#define NCLONES   1500   /* per creator; argv[1] may ask for more */
#define STORM_MS  2000   /* ... but stop after this long (slow machines) */

static int nclones = NCLONES;
static uint64_t storm_end_ms;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct creator {
	int index;
	int finished;       /* set after the last clone(): the creator survived */
	int made;           /* clones made */
	int bad;            /* clones whose return value was not the child's tid */
	long first_bad, first_bad_ptid;
};

static struct creator creators[NCREATORS];

static void *storm(void *arg)
{
	struct creator *c = arg;
	for (int i = 0; i < nclones; i++) {
		if (i % 64 == 63 && now_ms() > storm_end_ms)
			break;
		c->made++;
		int ptid = 0;
		long r = raw_clone(RC_THREAD_FLAGS | RC_CLONE_PARENT_SETTID, NULL, &ptid, NULL, 0,
				   NULL, NULL);
		if (r <= 0 || r != ptid) {
			if (!c->bad++) {
				c->first_bad = r;
				c->first_bad_ptid = ptid;
			}
		}
		if ((i * 7 + c->index) % 5 == 0)   /* "sometimes" yield: a fixed pattern */
			sched_yield();
	}
	__atomic_store_n(&c->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		nclones = atoi(argv[1]);
	plan(2 * NCREATORS);
	pthread_t th[NCREATORS];
	storm_end_ms = now_ms() + STORM_MS;
	int created[NCREATORS];
	for (int i = 0; i < NCREATORS; i++) {
		creators[i].index = i;
		created[i] = pthread_create(&th[i], NULL, storm, &creators[i]) == 0;
	}
	for (int i = 0; i < NCREATORS; i++)
		if (created[i])
			pthread_join(th[i], NULL);
	for (int i = 0; i < NCREATORS; i++) {
		struct creator *c = &creators[i];
		ok(created[i] && __atomic_load_n(&c->finished, __ATOMIC_ACQUIRE),
		   "creator %d made its clones (%d of at most %d in %d ms) and returned", i, c->made,
		   nclones, STORM_MS);
		ok(created[i] && c->bad == 0,
		   "creator %d: every clone() returned the child's tid (%d did not; first %ld, "
		   "parent_tid word %ld)", i, c->bad, c->first_bad, c->first_bad_ptid);
	}
	return done();
}
