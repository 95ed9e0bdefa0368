/* string.h - memory and string primitives, and number parsing (lib/string.c).
 *
 * The mem and str functions follow ISO C semantics: comparisons treat bytes
 * as unsigned char, and memcpy's regions must not overlap (use memmove).
 * The kernel is built with -fno-builtin, but gcc still emits calls to
 * memcpy, memmove, memset and memcmp for struct copies and initialisers,
 * so these four keep their standard names and signatures.
 *
 * When compiled into a host unit test (WEFT_HOST_TEST) every public name is
 * renamed to weft_NAME so it cannot clash with the host's libc.
 */
#ifndef WEFT_STRING_H
#define WEFT_STRING_H
#include <stddef.h>
#include <stdint.h>

#ifdef WEFT_HOST_TEST
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef strlen
#undef strnlen
#undef strcmp
#undef strncmp
#undef strchr
#undef strrchr
#undef strlcpy
#undef strstr
#define memcpy     weft_memcpy
#define memmove    weft_memmove
#define memset     weft_memset
#define memcmp     weft_memcmp
#define strlen     weft_strlen
#define strnlen    weft_strnlen
#define strcmp     weft_strcmp
#define strncmp    weft_strncmp
#define strchr     weft_strchr
#define strrchr    weft_strrchr
#define strlcpy    weft_strlcpy
#define strstr     weft_strstr
#define parse_u64  weft_parse_u64
#define parse_size weft_parse_size
#endif

/* Copy n bytes from src to dst; the regions must not overlap. Returns dst. */
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
/* Copy n bytes from src to dst; the regions may overlap. Returns dst. */
void *memmove(void *dst, const void *src, size_t n);
/* Fill n bytes at dst with (unsigned char)c. Returns dst. */
void *memset(void *dst, int c, size_t n);
/* Compare n bytes as unsigned char: <0, 0 or >0 as a sorts before, equal
 * to or after b. n == 0 compares equal. */
int memcmp(const void *a, const void *b, size_t n);

/* Number of bytes before the terminating NUL. */
size_t strlen(const char *s);
/* Like strlen, but looks at no more than max bytes (returns max if no NUL
 * was found among them). */
size_t strnlen(const char *s, size_t max);
/* Compare NUL-terminated strings as unsigned char; sign as memcmp. */
int strcmp(const char *a, const char *b);
/* As strcmp, but compares at most n bytes; n == 0 compares equal. */
int strncmp(const char *a, const char *b, size_t n);
/* First occurrence of (char)c in s, or NULL. c == 0 finds the terminator. */
char *strchr(const char *s, int c);
/* Last occurrence of (char)c in s, or NULL. c == 0 finds the terminator. */
char *strrchr(const char *s, int c);
/* Copy src into dst (size bytes), truncating if needed. If size > 0 the
 * result is always NUL-terminated; size == 0 writes nothing. Returns
 * strlen(src), so truncation happened iff the result is >= size. */
size_t strlcpy(char *restrict dst, const char *restrict src, size_t size);
/* First occurrence of needle in hay, or NULL. An empty needle matches at
 * hay itself. */
char *strstr(const char *hay, const char *needle);

/* Parse exactly the len bytes at s as an unsigned number in base 2..36, or
 * base 0 for C-style auto-detection ("0x"/"0X" hex, a leading "0" octal,
 * otherwise decimal). Base 16 also accepts an optional "0x"/"0X" prefix.
 * Digits above 9 are letters in either case. No sign, whitespace or
 * trailing junk is allowed (a NUL inside the range is an invalid byte).
 * Returns 0 and stores the value in *out on success; returns -1 and leaves
 * *out untouched on an empty string, a prefix without digits, an invalid
 * character, an unsupported base, or a value above UINT64_MAX. */
int parse_u64(const char *s, size_t len, unsigned base, uint64_t *out);

/* Parse exactly the len bytes at s as a decimal size with an optional
 * one-letter suffix K, M or G (either case) meaning KiB, MiB, GiB, e.g.
 * "4096", "64K" (65536), "2G". Returns 0 and stores the byte count in *out,
 * or -1 (leaving *out untouched) on an empty string, missing digits, any
 * other character, or a result above UINT64_MAX. */
int parse_size(const char *s, size_t len, uint64_t *out);
#endif
