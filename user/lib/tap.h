/* tap.h - a tiny TAP producer for weft's user-space test programs.
 *
 * Every line is flushed at once (stdout may be a serial console or a
 * kernel capture buffer). A program prints its plan first, one "ok" or
 * "not ok" per check, and exits with done(): 0 iff every check passed
 * and as many ran as were planned.
 */
#ifndef USER_TAP_H
#define USER_TAP_H
#include <stdio.h>
#include <stdarg.h>

static int tap_planned, tap_run, tap_failed;

__attribute__((unused)) static void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

__attribute__((format(printf, 2, 3), unused)) static int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	tap_run++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	return cond;
}

__attribute__((format(printf, 1, 2), unused)) static void diag(const char *fmt, ...)
{
	va_list ap;
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

__attribute__((unused)) static int done(void)
{
	if (tap_run != tap_planned)
		diag("planned %d tests, ran %d", tap_planned, tap_run);
	return tap_failed || tap_run != tap_planned;
}
#endif
