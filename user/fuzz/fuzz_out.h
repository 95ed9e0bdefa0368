/* fuzz_out.h - line formatting that needs nothing from libc (workers and
 * signal handlers use it): append to a buffer, then one write(2). */
#ifndef FUZZ_OUT_H
#define FUZZ_OUT_H
#include <sys/syscall.h>
#include "fuzz.h"

struct fz_out {
	size_t len;
	char buf[480];
};

static inline void fz_out_str(struct fz_out *o, const char *s)
{
	while (*s && o->len < sizeof o->buf)
		o->buf[o->len++] = *s++;
}

static inline void fz_out_hex(struct fz_out *o, uint64_t v)
{
	char t[19];
	int n = 0;
	do {
		t[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	fz_out_str(o, "0x");
	while (n > 0 && o->len < sizeof o->buf)
		o->buf[o->len++] = t[--n];
}

static inline void fz_out_dec(struct fz_out *o, int64_t v)
{
	char t[21];
	int n = 0;
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	do {
		t[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		fz_out_str(o, "-");
	while (n > 0 && o->len < sizeof o->buf)
		o->buf[o->len++] = t[--n];
}

/* "name(a0, ..., a5)": call idx of the table with its arguments. */
static inline void fz_out_call(struct fz_out *o, int idx, const struct fz_args *c)
{
	if (idx < 0) {
		fz_out_str(o, "(none)");
		return;
	}
	fz_out_str(o, fz_calls[idx].name);
	fz_out_str(o, "(");
	for (int i = 0; i < 6; i++) {
		fz_out_hex(o, c->a[i]);
		fz_out_str(o, i < 5 ? ", " : ")");
	}
}

static inline void fz_out_flush(struct fz_out *o)
{
	for (size_t off = 0; off < o->len;) {
		long n = fz_sys(SYS_write, 2, (uint64_t)(uintptr_t)(o->buf + off), o->len - off);
		if (n <= 0 && n != -4 /* EINTR */)
			break;
		if (n > 0)
			off += (size_t)n;
	}
	o->len = 0;
}
#endif
