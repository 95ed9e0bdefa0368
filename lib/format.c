/* format.c - vsnprintf/snprintf; see <weft/format.h> for the contract.
 *
 * Output goes through a cursor that counts every character produced but
 * stores only those that fit before the final NUL, so truncation and the
 * C return value ("length it would have had") fall out of one code path.
 * Self-contained: uses nothing from lib/string.c.
 */
#include <stdbool.h>
#include <stdint.h>
#include <weft/format.h>

#define INT_MAX_ __INT_MAX__

_Static_assert(sizeof(ptrdiff_t) == sizeof(size_t),
	       "%zd and %tu reinterpret between size_t and ptrdiff_t");

/* Output cursor: buf holds size bytes; pos counts characters produced. */
struct out {
	char *buf;
	size_t size;
	size_t pos;
};

enum {
	F_LEFT  = 1 << 0,	/* '-': pad on the right */
	F_ZERO  = 1 << 1,	/* '0': pad numbers with zeros */
	F_PLUS  = 1 << 2,	/* '+': sign on non-negative signed numbers */
	F_SPACE = 1 << 3,	/* ' ': space there instead */
	F_ALT   = 1 << 4,	/* '#': 0x/0X prefix, or a leading octal 0 */
};

enum len_mod { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_T, LEN_J };

/* One parsed directive. prec < 0 means no precision was given. */
struct spec {
	unsigned flags;
	int width;
	int prec;
	enum len_mod len;
};

static void put(struct out *o, char c)
{
	if (o->pos + 1 < o->size)
		o->buf[o->pos] = c;
	o->pos++;
}

static void put_repeat(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

static void put_str(struct out *o, const char *s, size_t n)
{
	while (n--)
		put(o, *s++);
}

/* Emit n bytes of s inside the field width, padded with spaces. */
static void put_padded(struct out *o, const struct spec *sp, const char *s,
		       size_t n)
{
	int pad = (size_t)sp->width > n ? sp->width - (int)n : 0;

	if (!(sp->flags & F_LEFT))
		put_repeat(o, ' ', pad);
	put_str(o, s, n);
	if (sp->flags & F_LEFT)
		put_repeat(o, ' ', pad);
}

/* Emit magnitude v in base 8, 10 or 16, preceded by sign (0 for none),
 * honouring precision (minimum digit count; 0 with v == 0 prints no
 * digits), width, and the '-', '0' and '#' flags as C specifies. */
static void put_number(struct out *o, const struct spec *sp, uint64_t v,
		       char sign, unsigned base, bool upper)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char digits[24];	/* 2^64 needs 22 octal digits */
	char prefix[3];
	int nd = 0, np = 0, prec, zeros, pad;
	bool nonzero = v != 0;

	while (v) {
		digits[nd++] = set[v % base];
		v /= base;
	}
	prec = sp->prec < 0 ? 1 : sp->prec;
	if (sign)
		prefix[np++] = sign;
	if ((sp->flags & F_ALT) && base == 16 && nonzero) {
		prefix[np++] = '0';
		prefix[np++] = upper ? 'X' : 'x';
	}
	if ((sp->flags & F_ALT) && base == 8 && prec <= nd)
		prec = nd + 1;
	zeros = prec > nd ? prec - nd : 0;
	pad = sp->width - (np + zeros + nd);
	if (pad < 0)
		pad = 0;

	if (!(sp->flags & F_LEFT)) {
		if ((sp->flags & F_ZERO) && sp->prec < 0)
			zeros += pad;
		else
			put_repeat(o, ' ', pad);
	}
	put_str(o, prefix, (size_t)np);
	put_repeat(o, '0', zeros);
	while (nd)
		put(o, digits[--nd]);
	if (sp->flags & F_LEFT)
		put_repeat(o, ' ', pad);
}

static int64_t fetch_signed(enum len_mod len, va_list *ap)
{
	switch (len) {
	case LEN_HH: return (signed char)va_arg(*ap, int);
	case LEN_H:  return (short)va_arg(*ap, int);
	case LEN_L:  return va_arg(*ap, long);
	case LEN_LL: return va_arg(*ap, long long);
	case LEN_Z:  return va_arg(*ap, ptrdiff_t);
	case LEN_T:  return va_arg(*ap, ptrdiff_t);
	case LEN_J:  return va_arg(*ap, intmax_t);
	default:     return va_arg(*ap, int);
	}
}

static uint64_t fetch_unsigned(enum len_mod len, va_list *ap)
{
	switch (len) {
	case LEN_HH: return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_H:  return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_L:  return va_arg(*ap, unsigned long);
	case LEN_LL: return va_arg(*ap, unsigned long long);
	case LEN_Z:  return va_arg(*ap, size_t);
	case LEN_T:  return (size_t)va_arg(*ap, ptrdiff_t);
	case LEN_J:  return va_arg(*ap, uintmax_t);
	default:     return va_arg(*ap, unsigned int);
	}
}

/* Parse a run of decimal digits at *p, saturating at INT_MAX. */
static int parse_int(const char **p)
{
	int v = 0;

	while (**p >= '0' && **p <= '9') {
		int d = *(*p)++ - '0';

		v = v > (INT_MAX_ - d) / 10 ? INT_MAX_ : v * 10 + d;
	}
	return v;
}

/* Parse flags, width, precision and length of the directive after '%',
 * taking any '*' values from ap. Leaves *p at the conversion character. */
static void parse_spec(const char **p, struct spec *sp, va_list *ap)
{
	const char *s = *p;

	sp->flags = 0;
	for (;; s++) {
		if (*s == '-')
			sp->flags |= F_LEFT;
		else if (*s == '0')
			sp->flags |= F_ZERO;
		else if (*s == '+')
			sp->flags |= F_PLUS;
		else if (*s == ' ')
			sp->flags |= F_SPACE;
		else if (*s == '#')
			sp->flags |= F_ALT;
		else
			break;
	}

	if (*s == '*') {
		int w = va_arg(*ap, int);

		s++;
		if (w < 0) {
			sp->flags |= F_LEFT;
			w = w < -INT_MAX_ ? INT_MAX_ : -w;
		}
		sp->width = w;
	} else {
		sp->width = parse_int(&s);
	}

	sp->prec = -1;
	if (*s == '.') {
		s++;
		if (*s == '*') {
			int pr = va_arg(*ap, int);

			s++;
			sp->prec = pr < 0 ? -1 : pr;
		} else {
			sp->prec = parse_int(&s);
		}
	}

	sp->len = LEN_NONE;
	switch (*s) {
	case 'h':
		s++;
		sp->len = LEN_H;
		if (*s == 'h') {
			s++;
			sp->len = LEN_HH;
		}
		break;
	case 'l':
		s++;
		sp->len = LEN_L;
		if (*s == 'l') {
			s++;
			sp->len = LEN_LL;
		}
		break;
	case 'z': s++; sp->len = LEN_Z; break;
	case 't': s++; sp->len = LEN_T; break;
	case 'j': s++; sp->len = LEN_J; break;
	}
	*p = s;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	const char *p = fmt;
	va_list args;

	va_copy(args, ap);
	while (*p) {
		const char *start = p;
		struct spec sp;
		char conv;

		if (*p != '%') {
			put(&o, *p++);
			continue;
		}
		p++;
		parse_spec(&p, &sp, &args);
		conv = *p;
		if (conv == '\0') {
			put_str(&o, start, (size_t)(p - start));
			break;
		}
		p++;

		switch (conv) {
		case 'd':
		case 'i': {
			int64_t v = fetch_signed(sp.len, &args);
			char sign = v < 0 ? '-' : (sp.flags & F_PLUS) ? '+' :
				    (sp.flags & F_SPACE) ? ' ' : 0;
			uint64_t mag = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

			put_number(&o, &sp, mag, sign, 10, false);
			break;
		}
		case 'u':
			put_number(&o, &sp, fetch_unsigned(sp.len, &args), 0, 10,
				   false);
			break;
		case 'x':
		case 'X':
			put_number(&o, &sp, fetch_unsigned(sp.len, &args), 0, 16,
				   conv == 'X');
			break;
		case 'o':
			put_number(&o, &sp, fetch_unsigned(sp.len, &args), 0, 8,
				   false);
			break;
		case 'c': {
			char c = (char)va_arg(args, int);

			put_padded(&o, &sp, &c, 1);
			break;
		}
		case 's': {
			const char *s = va_arg(args, const char *);
			size_t n = 0;

			if (!s)
				s = "(null)";
			/* With a precision, s need not be NUL-terminated: never
			 * look past prec bytes. */
			while ((sp.prec < 0 || n < (size_t)sp.prec) && s[n])
				n++;
			put_padded(&o, &sp, s, n);
			break;
		}
		case 'p': {
			uintptr_t v = (uintptr_t)va_arg(args, void *);
			char hex[2 + 2 * sizeof(v)];
			int i;

			hex[0] = '0';
			hex[1] = 'x';
			for (i = (int)sizeof(hex) - 1; i >= 2; i--, v >>= 4)
				hex[i] = "0123456789abcdef"[v & 0xf];
			put_padded(&o, &sp, hex, sizeof(hex));
			break;
		}
		case '%':
			put(&o, '%');
			break;
		default:
			put_str(&o, start, (size_t)(p - start));
			break;
		}
	}
	va_end(args);

	if (size)
		buf[o.pos < size ? o.pos : size - 1] = '\0';
	return o.pos > (size_t)INT_MAX_ ? INT_MAX_ : (int)o.pos;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
