/* test_format.c - host tests for lib/format.c.
 *
 * Most checks format the same arguments with host libc and with weft and
 * require identical bytes and return values, at the full buffer size and
 * at every truncating size (a guard pattern catches writes past size).
 * The deliberate differences from glibc (%p, NULL %s, unknown
 * conversions) are checked against fixed expected strings instead.
 */
#include <stdio.h>
#include <stdarg.h>
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <limits.h>
#include "tap.h"

/* Host libc's formatter, captured before <weft/format.h> renames
 * snprintf/vsnprintf to weft_*. */
__attribute__((format(printf, 3, 4)))
static int host_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

#include "../../lib/format.c"

/* Unchecked entry points, for formats that gcc's -Wformat rejects
 * (ignored flag combinations, unknown conversions, NULL %s); volatile so
 * gcc cannot see through them. */
static int (*volatile raw_snprintf)(char *, size_t, const char *, ...) = snprintf;
static int (*volatile host_raw)(char *, size_t, const char *, ...) = host_snprintf;

#define OUT 600
static char hb[OUT], wb[OUT];
static int bad_combos;

/* Compare host (hf) and weft (wf) output of one call at every size from 0
 * to the full length + 2 and at OUT; one TAP line per call. */
#define CMP_WITH(hf, wf, ...) do {							\
	int hr_, wr_, hfull_, fail_ = 0;				\
	hfull_ = hf(hb, OUT, __VA_ARGS__);				\
	for (int sz_ = 0; sz_ <= hfull_ + 2 && sz_ <= OUT; sz_++) {	\
		memset(hb, '#', OUT);					\
		memset(wb, '#', OUT);					\
		hr_ = hf(hb, (size_t)sz_, __VA_ARGS__);		\
		wr_ = wf(wb, (size_t)sz_, __VA_ARGS__);		\
		if (hr_ != wr_ || memcmp(hb, wb, OUT) != 0) {		\
			fail_ = 1;					\
			diag("size %d: host %d \"%.*s\" weft %d \"%.*s\"",	\
			     sz_, hr_, OUT, hb, wr_, OUT, wb);		\
			break;						\
		}							\
	}								\
	memset(hb, '#', OUT);						\
	memset(wb, '#', OUT);						\
	hr_ = hf(hb, OUT, __VA_ARGS__);				\
	wr_ = wf(wb, OUT, __VA_ARGS__);				\
	if (hr_ != wr_ || memcmp(hb, wb, OUT) != 0)			\
		fail_ = 1;						\
	ok(!fail_, "%s => [%.60s] (%d)", #__VA_ARGS__, hb, hr_);	\
} while (0)
/* Format-checked by gcc, and unchecked. */
#define CMP(...)  CMP_WITH(host_snprintf, snprintf, __VA_ARGS__)
#define CMPU(...) CMP_WITH(host_raw, raw_snprintf, __VA_ARGS__)

/* weft's output for the arguments must be exactly want. */
#define EXPECT(want, ...) do {						\
	int r_;								\
	memset(wb, '#', OUT);						\
	r_ = raw_snprintf(wb, OUT, __VA_ARGS__);			\
	ok(r_ == (int)strlen(want) && strcmp(wb, want) == 0,		\
	   "%s => [%s] (%d), want [%s]", #__VA_ARGS__, wb, r_, want);	\
} while (0)

static void test_integers(void)
{
	CMP("plain text");
	CMP("%d|%d|%d|%d", 0, 1, -1, 42);
	CMP("%d %d", INT_MAX, INT_MIN);
	CMP("%i %i", 123, -456);
	CMP("[%5d] [%-5d] [%05d] [%+d] [% d]", 42, 42, 42, 42, 42);
	CMPU("[%+05d] [%-+6d] [% 05d] [%+ d]", 42, -42, 7, 9);
	CMPU("[%.3d] [%.0d] [%8.3d] [%-8.3d] [%08.3d]", 7, 0, -7, 7, 7);
	CMP("[%+.0d] [% .0d] [%5.0d] [%.0d]", 0, 0, 0, 1);
	CMPU("[%-05d] [%0-5d]", 3, 3);
	CMP("%u %u %10u|%-10u|%010u", 0u, UINT_MAX, 5u, 5u, 5u);
	CMPU("[%+u] [% u]", 5u, 5u);
	CMP("%x %x %x %X", 0u, 255u, 0xdeadbeefu, 0xdeadbeefu);
	CMP("[%#x] [%#x] [%#X] [%#010x] [%#-10x]", 0u, 255u, 255u, 255u, 255u);
	CMP("[%.8x] [%#.8x] [%#.0x] [%.0x] [%#5.3x]", 1u, 1u, 0u, 0u, 10u);
	CMP("%o %o %o", 0u, 8u, 0777u);
	CMP("[%#o] [%#o] [%#.5o] [%#.0o] [%.0o] [%#3o]", 0u, 8u, 8u, 0u, 0u, 8u);
	CMP("[%020d] [%.20d] [%-20d]", INT_MIN, INT_MIN, INT_MIN);
	CMP("[%300d]", 1);
	CMP("[%.300u]", 1u);
}

static void test_lengths(void)
{
	CMP("%hhd %hhd %hhd", 300, -129, 127);
	CMP("%hhu %hhx %hho", 256 + 255, 0x1ab, 0777);
	CMP("%hd %hd %hu %hx", 70000, -32768, -1, 0x12345);
	CMP("%ld %ld %lu %lx", LONG_MIN, LONG_MAX, ULONG_MAX, ULONG_MAX);
	CMP("%lld %lld", (long long)INT64_MIN, (long long)INT64_MAX);
	CMP("%llu %llx %llX %llo", (unsigned long long)UINT64_MAX,
	    (unsigned long long)UINT64_MAX, (unsigned long long)UINT64_MAX,
	    (unsigned long long)UINT64_MAX);
	CMP("[%#llo] [%#llx] [%+lld]", (unsigned long long)UINT64_MAX,
	    (unsigned long long)UINT64_MAX, (long long)INT64_MIN);
	CMP("%zu %zx %zd %zd", SIZE_MAX, SIZE_MAX, (ptrdiff_t)-5,
	    (ptrdiff_t)PTRDIFF_MIN);
	CMP("%td %tu %tx", (ptrdiff_t)-7, (size_t)7, (size_t)0xabc);
	CMP("%jd %jd %ju %jx", INTMAX_MIN, INTMAX_MAX, UINTMAX_MAX,
	    UINTMAX_MAX);
	CMP("[%-+25lld] [%025lld] [% .22lld]", (long long)INT64_MIN,
	    (long long)INT64_MIN, (long long)INT64_MIN);
}

static void test_chars_strings(void)
{
	char nonterm[3] = { 'x', 'y', 'z' };

	CMP("%c%c%c", 'a', 'b', 'c');
	CMP("[%3c] [%-3c] [%1c]", 'x', 'y', 'z');
	CMP("a%cb", 0);
	CMP("%c", 0x141);
	CMP("%s|%s|%s", "abc", "", "with space");
	CMP("[%5s] [%-5s] [%2s]", "abc", "abc", "abcdef");
	CMP("[%.2s] [%5.2s] [%-5.2s] [%.0s] [%.10s]", "abc", "abc", "abc",
	    "abc", "abc");
	CMP("[%.3s]", nonterm);
	CMP("[%*.*s]", 2, 3, nonterm);
	CMP("100%%");
	CMP("%%%d%%", 5);
	CMP("%s=%d, %#x; %c %-4s|", "key", -3, 48879u, '!', "ab");
}

static void test_star(void)
{
	CMP("[%*d] [%-*d]", 5, 42, 5, 42);
	CMP("[%*d]", -5, 42);
	CMP("[%-*d]", -5, 42);
	CMP("[%.*d] [%.*d]", 3, 7, -1, 7);
	CMP("[%*.*s]", 6, 2, "abcdef");
	CMP("[%.*s]", -3, "abcdef");
	CMP("[%0*d] [%*x]", 6, -12, 0, 255u);
	CMP("[%*c]", 4, 'q');
}

/* Behaviour that deliberately differs from glibc, or is not defined by C. */
static void test_weft_specific(void)
{
	EXPECT("0x0000000000001234", "%p", (void *)0x1234);
	EXPECT("0x0000000000000000", "%p", (void *)0);
	EXPECT("0xffffffff80000000", "%p", (void *)0xffffffff80000000ul);
	EXPECT("  0x00000000000000ab|", "%20p|", (void *)0xab);
	EXPECT("0x00000000000000ab  |", "%-20p|", (void *)0xab);
	EXPECT("(null)", "%s", (char *)NULL);
	EXPECT("(nu", "%.3s", (char *)NULL);
	EXPECT("  (null)|", "%8s|", (char *)NULL);
	EXPECT("%q", "%q");
	EXPECT("a%-08.3lqb", "a%-08.3lqb");
	EXPECT("%n", "%n", (int *)NULL);
	EXPECT("%*q 42", "%*q %d", 5, 42);
	EXPECT("abc%", "abc%");
	EXPECT("abc%5", "abc%5");
	EXPECT("abc%-#", "abc%-#");
	EXPECT("abc%ll", "abc%ll");
	EXPECT("%", "%5%");
	EXPECT("", "");
	EXPECT("A", "%lc", 'A');
	EXPECT("   ab", "%05s", "ab");
}

static void test_return_and_truncation(void)
{
	char b[8];
	int r;

	ok(snprintf(NULL, 0, "%d-%s", 12345, "abc") == 9,
	   "size 0 with NULL buffer returns full length");
	memset(b, '#', sizeof(b));
	r = snprintf(b, 1, "hello");
	ok(r == 5 && b[0] == '\0' && b[1] == '#', "size 1: just the NUL");
	memset(b, '#', sizeof(b));
	r = snprintf(b, 4, "%s", "hello");
	ok(r == 5 && memcmp(b, "hel", 4) == 0 && b[4] == '#',
	   "size 4: 3 chars + NUL, nothing beyond");
	memset(b, '#', sizeof(b));
	r = snprintf(b, sizeof(b), "%d", 1234567);
	ok(r == 7 && strcmp(b, "1234567") == 0, "exact fit");
	r = snprintf(b, sizeof(b), "%d", 12345678);
	ok(r == 8 && strcmp(b, "1234567") == 0, "one too long");
}

/* Call both implementations with a format built at run time and the value
 * passed as the type the length modifier names. */
static int combo(char *out, size_t size, bool host, const char *fmt,
		 const char *len, int64_t v)
{
	int (*f)(char *, size_t, const char *, ...) =
		host ? host_snprintf : raw_snprintf;

	if (!strcmp(len, "hh") || !strcmp(len, "h") || !*len)
		return f(out, size, fmt, (int)v);
	if (!strcmp(len, "l"))
		return f(out, size, fmt, (long)v);
	if (!strcmp(len, "ll"))
		return f(out, size, fmt, (long long)v);
	if (!strcmp(len, "z") || !strcmp(len, "t"))
		return f(out, size, fmt, (ptrdiff_t)v);
	return f(out, size, fmt, (intmax_t)v);
}

/* Every combination of flags, width, precision, length and integer
 * conversion over a set of edge values. */
static void test_combinations(void)
{
	static const char *const widths[] = { "", "1", "5", "23" };
	static const char *const precs[] = { "", ".", ".0", ".1", ".5", ".21" };
	static const char *const lens[] = { "", "hh", "h", "l", "ll", "z",
					    "t", "j" };
	static const char convs[] = "diuxXo";
	static const int64_t vals[] = { 0, 1, -1, 7, 8, 255, -256, 65535,
		INT32_MAX, INT32_MIN, UINT32_MAX, INT64_MAX, INT64_MIN,
		0x123456789abcdefLL };
	static const char flagset[] = "-0+ #";
	size_t n = 0;

	for (unsigned fm = 0; fm < 32; fm++)
	for (size_t w = 0; w < sizeof(widths) / sizeof(*widths); w++)
	for (size_t p = 0; p < sizeof(precs) / sizeof(*precs); p++)
	for (size_t l = 0; l < sizeof(lens) / sizeof(*lens); l++)
	for (size_t c = 0; c < sizeof(convs) - 1; c++) {
		char fmt[32], flags[6];
		int nf = 0;

		for (int b = 0; b < 5; b++)
			if (fm & (1u << b))
				flags[nf++] = flagset[b];
		flags[nf] = '\0';
		host_snprintf(fmt, sizeof(fmt), "<%%%s%s%s%s%c>", flags,
			      widths[w], precs[p], lens[l], convs[c]);
		for (size_t v = 0; v < sizeof(vals) / sizeof(*vals); v++) {
			char h[80], g[80];
			int hr, wr;

			memset(h, '#', sizeof(h));
			memset(g, '#', sizeof(g));
			hr = combo(h, sizeof(h), true, fmt, lens[l], vals[v]);
			wr = combo(g, sizeof(g), false, fmt, lens[l], vals[v]);
			n++;
			if (hr != wr || memcmp(h, g, sizeof(h)) != 0) {
				if (bad_combos++ < 10)
					diag("%s %lld: host [%.80s] weft [%.80s]",
					     fmt, (long long)vals[v], h, g);
			}
		}
	}
	ok(bad_combos == 0, "%zu flag/width/precision/length combinations "
	   "match libc (%d mismatches)", n, bad_combos);
}

int main(void)
{
	test_integers();
	test_lengths();
	test_chars_strings();
	test_star();
	test_weft_specific();
	test_return_and_truncation();
	test_combinations();
	return done_testing();
}
