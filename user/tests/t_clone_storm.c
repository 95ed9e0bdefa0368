/* t_clone_storm - four threads each clone, as fast as they can, threads
 * that exit at once, yielding now and then: the children run, exit and are
 * freed while their creators are still inside clone(). Every clone() must
 * return the new thread's tid to its caller (the value the kernel also
 * stored at the CLONE_PARENT_SETTID address, so never 0, an error, an
 * address or another thread's tid), and every creator must get through all
 * its clones (a creator that got 0 back would run the child's exit and
 * vanish). This once panicked weft within seconds at -smp 1 and 2 (a freed
 * thread's tid read back; a completion freed while its waker still held
 * it). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include "tap.h"
#include "raw_clone.h"

#define NCREATORS 4
#define NCLONES   1500   /* per creator; argv[1] may ask for more */

static int nclones = NCLONES;

struct creator {
	int index;
	int finished;       /* set after the last clone(): the creator survived */
	int bad;            /* clones whose return value was not the child's tid */
	long first_bad, first_bad_ptid;
};

static struct creator creators[NCREATORS];

static void *storm(void *arg)
{
	struct creator *c = arg;
	for (int i = 0; i < nclones; i++) {
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
		   "creator %d made all %d clones and returned", i, nclones);
		ok(created[i] && c->bad == 0,
		   "creator %d: every clone() returned the child's tid (%d did not; first %ld, "
		   "parent_tid word %ld)", i, c->bad, c->first_bad, c->first_bad_ptid);
	}
	return done();
}
