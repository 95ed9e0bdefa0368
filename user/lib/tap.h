/* tap.h - a tiny header-only TAP producer for weft's user-space tests.
 *
 * Every test program prints its plan first ("1..N"), then one line per test
 * point ("ok N - what" / "not ok N - what") and "# ..." diagnostics. Lines
 * are formatted into a buffer and written with one write(2) each, so output
 * reaches a serial console line by line, lines from different threads never
 * interleave, and nothing depends on stdio buffering.
 *
 *   plan(n);  ok(cond, "what %d", x);  diag("...");  return done();
 *
 * done() returns 0 only if every point passed and exactly n were reported.
 */
#ifndef WEFT_USER_TAP_H
#define WEFT_USER_TAP_H
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

static int tap_planned = -1;
static int tap_count, tap_failed;

/* Write all of buf to stdout; errno is preserved for the caller. */
static inline void tap_write(const char *buf, size_t len)
{
	int saved = errno;
	while (len > 0) {
		ssize_t n = write(1, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		buf += n;
		len -= (size_t)n;
	}
	errno = saved;
}

/* Format prefix + fmt into one line and write it. */
static inline void tap_vline(const char *prefix, const char *fmt, va_list ap)
{
	char line[512];
	int n = snprintf(line, sizeof line, "%s", prefix);
	if (n < 0)
		n = 0;
	if ((size_t)n < sizeof line - 1) {
		int m = vsnprintf(line + n, sizeof line - 1 - (size_t)n, fmt, ap);
		if (m > 0)
			n += m;
	}
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	tap_write(line, (size_t)n);
}

/* plan(n) - announce n test points; call it before anything else. */
static inline void plan(int n)
{
	char line[32];
	tap_planned = n;
	int len = snprintf(line, sizeof line, "1..%d\n", n);
	tap_write(line, (size_t)len);
}

/* skip_all("why") - nothing can run here; prints "1..0 # SKIP why". */
static inline int skip_all(const char *why)
{
	char line[256];
	int len = snprintf(line, sizeof line, "1..0 # SKIP %s\n", why);
	if (len > (int)sizeof line - 1)
		len = (int)sizeof line - 1;
	tap_write(line, (size_t)len);
	return 0;
}

/* ok(cond, "name", ...) - record one test point; returns cond. Safe to call
 * from several threads (the counters are updated atomically). */
__attribute__((format(printf, 2, 3)))
static inline int ok(int cond, const char *fmt, ...)
{
	char prefix[48];
	int num = __atomic_add_fetch(&tap_count, 1, __ATOMIC_SEQ_CST);
	if (!cond)
		__atomic_add_fetch(&tap_failed, 1, __ATOMIC_SEQ_CST);
	snprintf(prefix, sizeof prefix, "%sok %d - ", cond ? "" : "not ", num);
	va_list ap;
	va_start(ap, fmt);
	tap_vline(prefix, fmt, ap);
	va_end(ap);
	return cond;
}

/* skip(why) - one test point that could not run here ("ok N # SKIP why"). */
static inline void skip(const char *why)
{
	char line[256];
	int num = __atomic_add_fetch(&tap_count, 1, __ATOMIC_SEQ_CST);
	int len = snprintf(line, sizeof line, "ok %d # SKIP %s\n", num, why);
	if (len > (int)sizeof line - 1)
		len = (int)sizeof line - 1;
	tap_write(line, (size_t)len);
}

/* diag("...") - a "# " comment line, for context around a failure. */
__attribute__((format(printf, 1, 2)))
static inline void diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_vline("# ", fmt, ap);
	va_end(ap);
}

/* done() - main's return value: 0 iff all passed and the count matched. */
static inline int done(void)
{
	if (tap_planned >= 0 && tap_count != tap_planned)
		diag("planned %d test points but ran %d", tap_planned, tap_count);
	if (tap_failed)
		diag("%d of %d test points failed", tap_failed, tap_count);
	return (tap_failed == 0 && tap_count == tap_planned) ? 0 : 1;
}
#endif
