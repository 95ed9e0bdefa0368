/* tap.h - a tiny TAP producer for weft's host unit tests.
 *
 * Host tests are built with AddressSanitizer and UBSan and print TAP
 * ("ok N - name" / "not ok N - name", plan "1..N" at the end) on stdout;
 * t/host.t runs every tests/host/test_*.c binary under prove.
 * Each check is one TAP line, so a failure names what was expected.
 */
#ifndef WEFT_HOST_TAP_H
#define WEFT_HOST_TAP_H
#include <stdio.h>
#include <stdarg.h>

static int tap_count, tap_failed;

/* ok(cond, "name %d", ...) - record one test point; returns cond. */
__attribute__((format(printf, 2, 3)))
static int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	tap_count++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

/* diag("...") - a TAP comment line, for context on a failure. */
__attribute__((format(printf, 1, 2)))
static void diag(const char *fmt, ...)
{
	va_list ap;
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

/* done_testing() - print the plan; use as main's return value. */
static int done_testing(void)
{
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}
#endif
