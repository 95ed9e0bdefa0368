/* string.c - memory/string primitives and number parsing; see
 * <weft/string.h> for the contracts.
 *
 * The bulk copies move 8-byte words when source and destination share
 * their alignment, and single bytes otherwise. This file must never be
 * turned into calls to itself: gcc's loop-idiom pass (loop distribution)
 * can rewrite byte loops into memset()/memcpy() calls, i.e. infinite
 * recursion, even under -fno-builtin, so it is switched off for this file.
 */
#include <stdbool.h>
#include <weft/string.h>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-tree-loop-distribute-patterns")
#endif

/* A word type that may alias any object, for the 8-byte fast paths. */
typedef uint64_t __attribute__((may_alias)) word_t;
#define WORD_SIZE sizeof(word_t)
#define WORD_MASK (WORD_SIZE - 1)

/* Copy front to back; safe for overlap when dst <= src. */
static void copy_forward(unsigned char *d, const unsigned char *s, size_t n)
{
	if ((((uintptr_t)d ^ (uintptr_t)s) & WORD_MASK) == 0) {
		while (n && ((uintptr_t)d & WORD_MASK)) {
			*d++ = *s++;
			n--;
		}
		while (n >= WORD_SIZE) {
			*(word_t *)d = *(const word_t *)s;
			d += WORD_SIZE;
			s += WORD_SIZE;
			n -= WORD_SIZE;
		}
	}
	while (n--)
		*d++ = *s++;
}

/* Copy back to front; safe for overlap when dst > src. */
static void copy_backward(unsigned char *d, const unsigned char *s, size_t n)
{
	d += n;
	s += n;
	if ((((uintptr_t)d ^ (uintptr_t)s) & WORD_MASK) == 0) {
		while (n && ((uintptr_t)d & WORD_MASK)) {
			*--d = *--s;
			n--;
		}
		while (n >= WORD_SIZE) {
			d -= WORD_SIZE;
			s -= WORD_SIZE;
			*(word_t *)d = *(const word_t *)s;
			n -= WORD_SIZE;
		}
	}
	while (n--)
		*--d = *--s;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	copy_forward(dst, src, n);
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;

	if (d == s || n == 0)
		return dst;
	if (d < s || d - s >= n)
		copy_forward(dst, src, n);
	else
		copy_backward(dst, src, n);
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	unsigned char b = (unsigned char)c;

	if (n >= 2 * WORD_SIZE) {
		word_t w = b * (uint64_t)0x0101010101010101ULL;

		while ((uintptr_t)d & WORD_MASK) {
			*d++ = b;
			n--;
		}
		/* Four words a turn: zeroing a thread or a page is on hot paths. */
		while (n >= 4 * WORD_SIZE) {
			((word_t *)d)[0] = w;
			((word_t *)d)[1] = w;
			((word_t *)d)[2] = w;
			((word_t *)d)[3] = w;
			d += 4 * WORD_SIZE;
			n -= 4 * WORD_SIZE;
		}
		while (n >= WORD_SIZE) {
			*(word_t *)d = w;
			d += WORD_SIZE;
			n -= WORD_SIZE;
		}
	}
	while (n--)
		*d++ = b;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n; n--, p++, q++) {
		if (*p != *q)
			return *p < *q ? -1 : 1;
	}
	return 0;
}

size_t strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return (size_t)(p - s);
}

size_t strnlen(const char *s, size_t max)
{
	size_t i = 0;

	while (i < max && s[i])
		i++;
	return i;
}

int strcmp(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;

	while (*p && *p == *q) {
		p++;
		q++;
	}
	return (*p > *q) - (*p < *q);
}

int strncmp(const char *a, const char *b, size_t n)
{
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;

	for (; n; n--, p++, q++) {
		if (*p != *q)
			return *p < *q ? -1 : 1;
		if (!*p)
			break;
	}
	return 0;
}

/* The C signatures hand back a non-const pointer into a const string;
 * launder it through an integer so -Wcast-qual builds stay clean. */
static char *unconst(const char *s)
{
	return (char *)(uintptr_t)s;
}

char *strchr(const char *s, int c)
{
	char ch = (char)c;

	for (;; s++) {
		if (*s == ch)
			return unconst(s);
		if (!*s)
			return NULL;
	}
}

char *strrchr(const char *s, int c)
{
	char ch = (char)c;
	const char *last = NULL;

	for (;; s++) {
		if (*s == ch)
			last = s;
		if (!*s)
			return unconst(last);
	}
}

size_t strlcpy(char *restrict dst, const char *restrict src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t n = len < size ? len : size - 1;

		copy_forward((unsigned char *)dst, (const unsigned char *)src, n);
		dst[n] = '\0';
	}
	return len;
}

char *strstr(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0)
		return unconst(hay);
	for (; *hay; hay++) {
		if (*hay == *needle && strncmp(hay, needle, n) == 0)
			return unconst(hay);
	}
	return NULL;
}

/* Value of c as a digit in any base up to 36, or 99 if not a digit. */
static unsigned digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return (unsigned)(c - '0');
	if (c >= 'a' && c <= 'z')
		return (unsigned)(c - 'a') + 10;
	if (c >= 'A' && c <= 'Z')
		return (unsigned)(c - 'A') + 10;
	return 99;
}

int parse_u64(const char *s, size_t len, unsigned base, uint64_t *out)
{
	bool has_hex_prefix;
	uint64_t v = 0;
	size_t i;

	if (len == 0 || base == 1 || base > 36)
		return -1;
	has_hex_prefix = len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	if (base == 0) {
		if (has_hex_prefix)
			base = 16;
		else if (s[0] == '0' && len > 1)
			base = 8;
		else
			base = 10;
	}
	if (base == 16 && has_hex_prefix) {
		s += 2;
		len -= 2;
		if (len == 0)
			return -1;
	}
	for (i = 0; i < len; i++) {
		unsigned d = digit_value(s[i]);

		if (d >= base)
			return -1;
		if (v > (UINT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

int parse_size(const char *s, size_t len, uint64_t *out)
{
	unsigned shift = 0;
	uint64_t v;

	if (len == 0)
		return -1;
	switch (s[len - 1]) {
	case 'k': case 'K': shift = 10; break;
	case 'm': case 'M': shift = 20; break;
	case 'g': case 'G': shift = 30; break;
	}
	if (shift)
		len--;
	if (parse_u64(s, len, 10, &v) != 0)
		return -1;
	if (v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}
