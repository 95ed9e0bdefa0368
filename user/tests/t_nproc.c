/* t_nproc - RLIMIT_NPROC, the limit on a user's threads: getrlimit,
 * setrlimit and prlimit read and change it; a soft limit above the hard one
 * is refused (EINVAL); and once the user has as many threads as the soft
 * limit allows, pthread_create() and clone() fail with EAGAIN (not ENOMEM),
 * and work again when the limit is raised.
 *
 * Linux does not apply the limit to root or to a process with
 * CAP_SYS_RESOURCE or CAP_SYS_ADMIN; weft has no users or capabilities
 * (everyone is root) and applies it to everyone. So the EAGAIN points are
 * checked on weft and, on Linux, when the caller is not exempt (run it as
 * another user: setpriv --reuid=65534 --regid=65534 --clear-groups); for an
 * exempt caller on Linux they are reported as skipped. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "tap.h"
#include "raw_clone.h"

#define CAP_SYS_ADMIN    21
#define CAP_SYS_RESOURCE 24

/* Would Linux let this process past RLIMIT_NPROC? Root, or either
 * capability in the effective set. */
static int linux_exempt(void)
{
	struct utsname u;
	if (uname(&u) != 0 || strcmp(u.sysname, "Linux") != 0)
		return 0;
	if (getuid() == 0)
		return 1;
	struct { uint32_t version; int pid; } hdr = { 0x20080522, 0 };   /* version 3 */
	struct { uint32_t effective, permitted, inheritable; } data[2];
	if (syscall(SYS_capget, &hdr, data) != 0)
		return 0;
	uint64_t eff = data[0].effective | (uint64_t)data[1].effective << 32;
	return (eff >> CAP_SYS_ADMIN & 1) || (eff >> CAP_SYS_RESOURCE & 1);
}

static void *nothing(void *arg) { return arg; }

int main(void)
{
	plan(9);
	struct rlimit orig = { 0, 0 }, r;
	int rc = getrlimit(RLIMIT_NPROC, &orig);
	ok(rc == 0 && orig.rlim_cur > 0 && orig.rlim_cur <= orig.rlim_max,
	   "getrlimit(RLIMIT_NPROC): soft %llu <= hard %llu", (unsigned long long)orig.rlim_cur,
	   (unsigned long long)orig.rlim_max);

	/* Lower the soft limit; read it back both ways. */
	r = orig;
	r.rlim_cur = 5;
	struct rlimit got = { 0, 0 }, old = { 0, 0 };
	rc = setrlimit(RLIMIT_NPROC, &r);
	int rc2 = getrlimit(RLIMIT_NPROC, &got);
	ok(rc == 0 && rc2 == 0 && got.rlim_cur == 5 && got.rlim_max == orig.rlim_max,
	   "setrlimit to 5 is what getrlimit reads (soft %llu hard %llu)",
	   (unsigned long long)got.rlim_cur, (unsigned long long)got.rlim_max);
	rc = prlimit(0, RLIMIT_NPROC, NULL, &old);
	ok(rc == 0 && old.rlim_cur == 5 && old.rlim_max == orig.rlim_max,
	   "prlimit(0) reads it too (soft %llu)", (unsigned long long)old.rlim_cur);

	/* Soft above hard: EINVAL, nothing changed. */
	r.rlim_max = 10;
	r.rlim_cur = 11;
	errno = 0;
	rc = setrlimit(RLIMIT_NPROC, &r);
	int err = errno;
	rc2 = getrlimit(RLIMIT_NPROC, &got);
	ok(rc == -1 && err == EINVAL && rc2 == 0 && got.rlim_cur == 5,
	   "soft above hard: EINVAL (%d, errno %d), the limit unchanged (soft %llu)", rc, err,
	   (unsigned long long)got.rlim_cur);

	/* Soft limit 1: this process alone is at it. */
	r = orig;
	r.rlim_cur = 1;
	rc = setrlimit(RLIMIT_NPROC, &r);
	pthread_t th;
	int e = pthread_create(&th, NULL, nothing, NULL);
	if (e == 0)
		pthread_join(th, NULL);
	static char stack[4096] __attribute__((aligned(16)));
	long c = raw_clone(RC_THREAD_FLAGS, stack + sizeof stack, NULL, NULL, 0, NULL, NULL);
	int exempt = linux_exempt();
	if (exempt) {
		skip("Linux does not limit root or CAP_SYS_RESOURCE/CAP_SYS_ADMIN: run as another user");
		skip("Linux does not limit root or CAP_SYS_RESOURCE/CAP_SYS_ADMIN: run as another user");
	} else {
		ok(rc == 0 && e == EAGAIN, "at the limit, pthread_create fails with EAGAIN (got %d: %s)",
		   e, strerror(e));
		ok(c == -EAGAIN, "at the limit, clone() fails with EAGAIN (returned %ld)", c);
	}

	/* Raised again: threads come back. */
	r = orig;
	ok(setrlimit(RLIMIT_NPROC, &r) == 0, "the soft limit goes back up to %llu",
	   (unsigned long long)orig.rlim_cur);
	e = pthread_create(&th, NULL, nothing, (void *)7);
	void *v = NULL;
	if (e == 0)
		pthread_join(th, &v);
	ok(e == 0 && v == (void *)7, "below the limit pthread_create works (%d)", e);
	rc = getrlimit(RLIMIT_NPROC, &got);
	ok(rc == 0 && got.rlim_cur == orig.rlim_cur && got.rlim_max == orig.rlim_max,
	   "the limits are as they were (soft %llu hard %llu)", (unsigned long long)got.rlim_cur,
	   (unsigned long long)got.rlim_max);
	return done();
}
