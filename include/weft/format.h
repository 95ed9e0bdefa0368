/* format.h - printf-style formatting into a buffer (lib/format.c).
 *
 * Conversions: %d %i %u %x %X %o %c %s %p %%, with C's flags ('-' '0' '+'
 * ' ' '#'), field width and precision (each may be '*', taken from an int
 * argument; a negative '*' width means '-' plus its magnitude, a negative
 * '*' precision means none), and length modifiers hh h l ll z t j on the
 * integer conversions (ignored on %c %s %p). No floating point.
 * Differences from glibc, all deliberate:
 *  - %p always prints "0x" and 16 lowercase hex digits (NULL too); only
 *    width and '-' apply to it.
 *  - %% prints one '%'; flags, width or precision on it are ignored.
 *  - %s with a NULL pointer prints "(null)", cut by a precision like any
 *    other string ("%.3s" gives "(nu").
 *  - An unknown conversion (including %n, which is never supported) is
 *    copied to the output literally, from its '%' through the offending
 *    character; a '*' it contained has still consumed its argument. A '%'
 *    directive cut short by the end of the format is copied literally too.
 *
 * In host unit tests (WEFT_HOST_TEST) the functions are renamed weft_NAME.
 */
#ifndef WEFT_FORMAT_H
#define WEFT_FORMAT_H
#include <stddef.h>
#include <stdarg.h>

#ifdef WEFT_HOST_TEST
#undef vsnprintf
#undef snprintf
#define vsnprintf weft_vsnprintf
#define snprintf  weft_snprintf
#endif

/* Format into buf, which holds size bytes. When size > 0 the output is
 * always NUL-terminated, truncated to size - 1 characters if necessary;
 * size == 0 writes nothing (buf may then be NULL). Returns the length the
 * complete output has (excluding the NUL), so truncation happened iff the
 * result is >= size. Lengths beyond INT_MAX are reported as INT_MAX. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
/* As vsnprintf, with the arguments passed directly. */
__attribute__((format(printf, 3, 4)))
int snprintf(char *buf, size_t size, const char *fmt, ...);
#endif
