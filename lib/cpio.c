/* cpio.c - the "newc" cpio reader; <weft/cpio.h> has the format and the
 * contracts. Every size read from a header is compared with the bytes left
 * before it is used, in an order that cannot overflow: all lengths here are
 * below 2^32 + 2^32 + 120, far from SIZE_MAX on a 64-bit machine.
 */
#include <weft/cpio.h>
#include <weft/errno.h>

#define HDR_SIZE   110
#define NFIELDS    13
#define F_MODE     1     /* field indices, after the 6-byte magic */
#define F_FILESIZE 6
#define F_NAMESIZE 11

static const char trailer[] = "TRAILER!!!";

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* The 8 ASCII hex digits at p (either case), or -1 if any is not one. */
static int64_t hex8(const uint8_t *p)
{
	uint32_t v = 0;

	for (int i = 0; i < 8; i++) {
		uint8_t c = p[i];
		uint32_t d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static bool bytes_eq(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (a[i] != b[i])
			return false;
	}
	return true;
}

void cpio_iter_init(struct cpio_iter *it, const void *archive, size_t len)
{
	it->base = archive;
	it->len = archive ? len : 0;
	it->pos = 0;
	it->end = 0;
}

/* Decode the entry at it->pos into *e. Returns 1 (an entry; it->pos
 * advanced past it), 0 (the trailer) or -EINVAL. */
static int read_entry(struct cpio_iter *it, struct cpio_entry *e)
{
	size_t room = it->len - it->pos;
	uint32_t f[NFIELDS];

	if (room < HDR_SIZE)
		return -EINVAL;
	const uint8_t *h = it->base + it->pos;
	if (!bytes_eq((const char *)h, "07070", 5) || (h[5] != '1' && h[5] != '2'))
		return -EINVAL;
	for (int i = 0; i < NFIELDS; i++) {
		int64_t v = hex8(h + 6 + 8 * i);

		if (v < 0)
			return -EINVAL;
		f[i] = (uint32_t)v;
	}

	/* The name: at least one byte and its NUL, inside the archive, and
	 * NUL-terminated exactly where namesize says. */
	size_t namesize = f[F_NAMESIZE];
	if (namesize < 2 || namesize > room - HDR_SIZE)
		return -EINVAL;
	const char *name = (const char *)h + HDR_SIZE;
	for (size_t i = 0; i + 1 < namesize; i++) {
		if (name[i] == '\0')
			return -EINVAL;
	}
	if (name[namesize - 1] != '\0')
		return -EINVAL;
	e->name = name;
	e->name_len = namesize - 1;
	if (e->name_len == sizeof(trailer) - 1 && bytes_eq(name, trailer, e->name_len))
		return 0;	/* its padding and data may be cut off: unused */

	/* The data: after the padded name, wholly inside the archive. Its
	 * own padding may be missing only at the very end, and then the
	 * next call finds no trailer. */
	size_t data_off = pad4(HDR_SIZE + namesize);
	size_t filesize = f[F_FILESIZE];
	if (data_off > room || filesize > room - data_off)
		return -EINVAL;
	e->mode = f[F_MODE];
	e->data = h + data_off;
	e->size = filesize;

	size_t next = pad4(data_off + filesize);
	it->pos += next < room ? next : room;
	return 1;
}

int cpio_next(struct cpio_iter *it, struct cpio_entry *e)
{
	struct cpio_entry tmp;

	/* Each round consumes at least HDR_SIZE + 2 bytes: this ends. */
	while (!it->end) {
		int r = read_entry(it, &tmp);

		if (r <= 0) {
			it->end = r ? r : 1;
			break;
		}
		if (cpio_is_reg(&tmp) || cpio_is_dir(&tmp)) {
			*e = tmp;
			return 1;
		}
	}
	return it->end < 0 ? it->end : 0;
}

/* Skip the leading "/" and "./" components of a name of *len bytes. */
static const char *skip_root(const char *s, size_t *len)
{
	for (;;) {
		if (*len >= 1 && s[0] == '/') {
			s++;
			(*len)--;
		} else if (*len >= 2 && s[0] == '.' && s[1] == '/') {
			s += 2;
			*len -= 2;
		} else {
			return s;
		}
	}
}

int cpio_find(const void *archive, size_t len, const char *path, const void **data,
	      size_t *size)
{
	struct cpio_iter it;
	struct cpio_entry e, last;
	bool found = false;
	size_t plen = 0;
	int r;

	while (*path == '/')
		path++;
	while (path[plen])
		plen++;

	cpio_iter_init(&it, archive, len);
	while ((r = cpio_next(&it, &e)) == 1) {
		size_t nlen = e.name_len;
		const char *n = skip_root(e.name, &nlen);

		if (cpio_is_reg(&e) && nlen == plen && bytes_eq(n, path, plen)) {
			last = e;
			found = true;
		}
	}
	if (r < 0)
		return r;
	if (!found)
		return -ENOENT;
	*data = last.data;
	*size = last.size;
	return 0;
}
