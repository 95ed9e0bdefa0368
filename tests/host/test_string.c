/* test_string.c - host tests for lib/string.c (memory/string primitives,
 * parse_u64, parse_size). The weft functions are renamed weft_* by
 * <weft/string.h> under WEFT_HOST_TEST, so the plain names below call
 * weft's versions; the reference results are computed by hand-written
 * byte loops in this file. */
#include <stdio.h>
#include <string.h>
#include <stdint.h>
#include <stdbool.h>
#include "tap.h"
#include "../../lib/string.c"

#define BUF 96

static unsigned char src_buf[BUF], dst_buf[BUF], ref_buf[BUF];

/* Byte comparison independent of the memcmp under test. */
static bool same(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (size_t i = 0; i < n; i++)
		if (p[i] != q[i])
			return false;
	return true;
}

static void fill_pattern(unsigned char *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(seed + i * 7 + (i >> 3));
}

/* memcpy for every length 0..40 at every src/dst misalignment 0..8,
 * checking the copied bytes and that nothing outside was touched. */
static void test_memcpy(void)
{
	int bad = 0;

	for (size_t so = 0; so <= 8; so++)
		for (size_t d = 0; d <= 8; d++)
			for (size_t n = 0; n <= 40; n++) {
				fill_pattern(src_buf, BUF, 1);
				fill_pattern(dst_buf, BUF, 100);
				fill_pattern(ref_buf, BUF, 100);
				for (size_t i = 0; i < n; i++)
					ref_buf[d + i] = src_buf[so + i];
				if (memcpy(dst_buf + d, src_buf + so, n) !=
				    dst_buf + d)
					bad++;
				if (!same(dst_buf, ref_buf, BUF) && bad++ < 5)
					diag("memcpy so=%zu d=%zu n=%zu", so, d, n);
			}
	ok(bad == 0, "memcpy: all lengths 0..40 x alignments, returns dst");
}

/* memmove within one buffer, with dst before and after src by up to 17
 * bytes (overlapping and not), checked against a copy made via a temp. */
static void test_memmove(void)
{
	int bad_fwd = 0, bad_bwd = 0;
	unsigned char tmp[BUF];

	for (size_t s = 17; s <= 26; s++)
		for (int shift = -17; shift <= 17; shift++)
			for (size_t n = 0; n <= 48; n++) {
				size_t d = (size_t)((int)s + shift);

				fill_pattern(dst_buf, BUF, 3);
				fill_pattern(ref_buf, BUF, 3);
				for (size_t i = 0; i < n; i++)
					tmp[i] = ref_buf[s + i];
				for (size_t i = 0; i < n; i++)
					ref_buf[d + i] = tmp[i];
				if (memmove(dst_buf + d, dst_buf + s, n) !=
					    dst_buf + d ||
				    !same(dst_buf, ref_buf, BUF)) {
					if (shift < 0)
						bad_fwd++;
					else
						bad_bwd++;
					diag("memmove s=%zu shift=%d n=%zu", s,
					     shift, n);
				}
			}
	ok(bad_fwd == 0, "memmove: dst below src (forward overlap)");
	ok(bad_bwd == 0, "memmove: dst above src (backward overlap)");

	char str[] = "abcdefghij";
	memmove(str + 2, str, 6);
	ok(same(str, "ababcdefij", 11), "memmove right by 2: %s", str);
	memmove(str, str + 3, 7);
	ok(same(str, "bcdefijfij", 11), "memmove left by 3: %s", str);
}

static void test_memset(void)
{
	int bad = 0;

	for (size_t d = 0; d <= 8; d++)
		for (size_t n = 0; n <= 40; n++) {
			fill_pattern(dst_buf, BUF, 5);
			fill_pattern(ref_buf, BUF, 5);
			for (size_t i = 0; i < n; i++)
				ref_buf[d + i] = 0xa5;
			if (memset(dst_buf + d, 0x3a5, n) != dst_buf + d ||
			    !same(dst_buf, ref_buf, BUF))
				bad++;
		}
	ok(bad == 0, "memset: lengths 0..40 x alignments, c truncated to byte");
}

static void test_memcmp(void)
{
	unsigned char a[] = { 1, 2, 3, 0x80 }, b[] = { 1, 2, 3, 0x01 };

	ok(memcmp(a, b, 0) == 0, "memcmp n=0 equal");
	ok(memcmp(a, b, 3) == 0, "memcmp equal prefix");
	ok(memcmp(a, b, 4) > 0, "memcmp compares unsigned (0x80 > 0x01)");
	ok(memcmp(b, a, 4) < 0, "memcmp reversed is negative");
}

static void test_strlen(void)
{
	char nonterm[4] = { 'a', 'b', 'c', 'd' };

	ok(strlen("") == 0, "strlen empty");
	ok(strlen("hello") == 5, "strlen hello");
	ok(strnlen("hello", 3) == 3, "strnlen stops at max");
	ok(strnlen("hello", 5) == 5, "strnlen max == len");
	ok(strnlen("hello", 99) == 5, "strnlen stops at NUL");
	ok(strnlen("hello", 0) == 0, "strnlen max 0");
	ok(strnlen(nonterm, 4) == 4, "strnlen reads no further than max");
}

static void test_strcmp(void)
{
	ok(strcmp("", "") == 0, "strcmp empty");
	ok(strcmp("abc", "abc") == 0, "strcmp equal");
	ok(strcmp("abc", "abd") < 0, "strcmp less");
	ok(strcmp("abd", "abc") > 0, "strcmp greater");
	ok(strcmp("ab", "abc") < 0, "strcmp prefix sorts first");
	ok(strcmp("abc", "ab") > 0, "strcmp longer sorts after");
	ok(strcmp("\x80", "\x01") > 0, "strcmp compares unsigned");
	ok(strncmp("abcX", "abcY", 3) == 0, "strncmp stops at n");
	ok(strncmp("abcX", "abcY", 4) < 0, "strncmp differs at n-1");
	ok(strncmp("ab", "ab", 10) == 0, "strncmp stops at NUL");
	ok(strncmp("ab", "abc", 10) < 0, "strncmp shorter first");
	ok(strncmp("x", "y", 0) == 0, "strncmp n=0 equal");
	ok(strncmp("\xff", "a", 1) > 0, "strncmp compares unsigned");
}

static void test_strchr(void)
{
	const char *s = "hello world";

	ok(strchr(s, 'o') == s + 4, "strchr first o");
	ok(strrchr(s, 'o') == s + 7, "strrchr last o");
	ok(strchr(s, 'z') == NULL, "strchr missing");
	ok(strrchr(s, 'z') == NULL, "strrchr missing");
	ok(strchr(s, '\0') == s + 11, "strchr NUL finds terminator");
	ok(strrchr(s, '\0') == s + 11, "strrchr NUL finds terminator");
	ok(strchr(s, 0x100 + 'w') == s + 6, "strchr converts c to char");
	ok(strchr("", 'a') == NULL, "strchr on empty");
	ok(strrchr("a", 'a') != NULL && *strrchr("a", 'a') == 'a',
	   "strrchr single char");
}

static void test_strlcpy(void)
{
	char d[8];

	memset(d, 'Z', sizeof(d));
	ok(strlcpy(d, "hello", 0) == 5 && d[0] == 'Z',
	   "strlcpy size 0 writes nothing, returns strlen");
	ok(strlcpy(d, "hello", 1) == 5 && d[0] == '\0' && d[1] == 'Z',
	   "strlcpy size 1 gives empty string");
	ok(strlcpy(d, "hello", 4) == 5 && same(d, "hel", 4) &&
	   d[4] == 'Z', "strlcpy truncates and terminates");
	ok(strlcpy(d, "hello", 6) == 5 && same(d, "hello", 6),
	   "strlcpy exact fit");
	ok(strlcpy(d, "", sizeof(d)) == 0 && d[0] == '\0', "strlcpy empty");
}

static void test_strstr(void)
{
	const char *h = "aaab needle aab";

	ok(strstr(h, "") == h, "strstr empty needle -> hay");
	ok(strstr(h, "aab") == h + 1, "strstr after partial match");
	ok(strstr(h, "needle") == h + 5, "strstr middle");
	ok(strstr(h, " aab") == h + 11, "strstr at end");
	ok(strstr(h, "aabx") == NULL, "strstr missing");
	ok(strstr("", "a") == NULL, "strstr in empty hay");
	ok(strstr("ab", "abc") == NULL, "strstr needle longer than hay");
}

struct u64_case {
	const char *s;
	unsigned base;
	int ret;
	uint64_t val;
};

static const struct u64_case u64_cases[] = {
	{ "0", 0, 0, 0 },
	{ "7", 0, 0, 7 },
	{ "42", 10, 0, 42 },
	{ "0x1F", 0, 0, 31 },
	{ "0X1f", 0, 0, 31 },
	{ "017", 0, 0, 15 },
	{ "019", 0, -1, 0 },
	{ "00", 0, 0, 0 },
	{ "ff", 16, 0, 255 },
	{ "0xff", 16, 0, 255 },
	{ "0x10", 10, -1, 0 },
	{ "1011", 2, 0, 11 },
	{ "2", 2, -1, 0 },
	{ "zZ", 36, 0, 1295 },
	{ "1", 1, -1, 0 },
	{ "1", 37, -1, 0 },
	{ "18446744073709551615", 0, 0, UINT64_MAX },
	{ "18446744073709551616", 0, -1, 0 },
	{ "99999999999999999999", 10, -1, 0 },
	{ "0xffffffffffffffff", 0, 0, UINT64_MAX },
	{ "0x10000000000000000", 0, -1, 0 },
	{ "01777777777777777777777", 0, 0, UINT64_MAX },
	{ "02000000000000000000000", 0, -1, 0 },
	{ "000000000000000000000000000001", 10, 0, 1 },
	{ "", 0, -1, 0 },
	{ "0x", 0, -1, 0 },
	{ "0x", 16, -1, 0 },
	{ "-1", 0, -1, 0 },
	{ "+1", 0, -1, 0 },
	{ " 1", 0, -1, 0 },
	{ "1 ", 0, -1, 0 },
	{ "12a", 10, -1, 0 },
};

static void test_parse_u64(void)
{
	for (size_t i = 0; i < sizeof(u64_cases) / sizeof(u64_cases[0]); i++) {
		const struct u64_case *c = &u64_cases[i];
		uint64_t v = 0xdeadbeef;
		int r = parse_u64(c->s, strlen(c->s), c->base, &v);

		if (c->ret == 0)
			ok(r == 0 && v == c->val,
			   "parse_u64(\"%s\", base %u) = %llu (got %d, %llu)",
			   c->s, c->base, (unsigned long long)c->val, r,
			   (unsigned long long)v);
		else
			ok(r == -1 && v == 0xdeadbeef,
			   "parse_u64(\"%s\", base %u) fails, *out untouched",
			   c->s, c->base);
	}

	uint64_t v = 0;
	ok(parse_u64("123abc", 3, 10, &v) == 0 && v == 123,
	   "parse_u64 honours len (stops before trailing junk)");
	ok(parse_u64("1\0", 2, 10, &v) == -1, "parse_u64: NUL inside len invalid");
	ok(parse_u64("0x1f", 1, 0, &v) == 0 && v == 0, "parse_u64 len 1 of 0x1f");
}

struct size_case {
	const char *s;
	int ret;
	uint64_t val;
};

static const struct size_case size_cases[] = {
	{ "4096", 0, 4096 },
	{ "0", 0, 0 },
	{ "0K", 0, 0 },
	{ "64K", 0, 65536 },
	{ "64k", 0, 65536 },
	{ "2M", 0, 2ULL << 20 },
	{ "2m", 0, 2ULL << 20 },
	{ "3G", 0, 3ULL << 30 },
	{ "3g", 0, 3ULL << 30 },
	{ "010", 0, 10 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "17179869183G", 0, 17179869183ULL << 30 },
	{ "17179869184G", -1, 0 },
	{ "18014398509481983K", 0, 18014398509481983ULL << 10 },
	{ "18014398509481984K", -1, 0 },
	{ "18446744073709551616", -1, 0 },
	{ "", -1, 0 },
	{ "K", -1, 0 },
	{ "1T", -1, 0 },
	{ "1KB", -1, 0 },
	{ "1KK", -1, 0 },
	{ "0x10", -1, 0 },
	{ "-1K", -1, 0 },
	{ " 1K", -1, 0 },
	{ "1 K", -1, 0 },
};

static void test_parse_size(void)
{
	for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
		const struct size_case *c = &size_cases[i];
		uint64_t v = 0xdeadbeef;
		int r = parse_size(c->s, strlen(c->s), &v);

		if (c->ret == 0)
			ok(r == 0 && v == c->val,
			   "parse_size(\"%s\") = %llu (got %d, %llu)", c->s,
			   (unsigned long long)c->val, r,
			   (unsigned long long)v);
		else
			ok(r == -1 && v == 0xdeadbeef,
			   "parse_size(\"%s\") fails, *out untouched", c->s);
	}

	uint64_t v = 0;
	ok(parse_size("16Mxyz", 3, &v) == 0 && v == 16ULL << 20,
	   "parse_size honours len");
}

int main(void)
{
	test_memcpy();
	test_memmove();
	test_memset();
	test_memcmp();
	test_strlen();
	test_strcmp();
	test_strchr();
	test_strlcpy();
	test_strstr();
	test_parse_u64();
	test_parse_size();
	return done_testing();
}
