/*
 * cpio.c - the "newc" cpio format (magic 070701): a 110-byte header of
 * ASCII hex fields, the name (NUL-terminated, header + name padded to a
 * multiple of 4), the data (padded to 4); the last entry is "TRAILER!!!".
 * Nothing is trusted: every length is checked against the archive size.
 */
#include <weft/cpio.h>
#include <weft/string.h>
#include <weft/errno.h>

#define HDR 110

static int hex8(const uint8_t *p, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 8; i++) {
		uint8_t c = p[i];
		unsigned d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -EINVAL;
		v = v << 4 | d;
	}
	*out = v;
	return 0;
}

static size_t pad4(size_t x) { return (x + 3) & ~(size_t)3; }

int cpio_next(struct cpio_iter *it, struct cpio_entry *e)
{
	if (it->pos > it->len || it->len - it->pos < HDR)
		return -EINVAL;
	const uint8_t *h = it->base + it->pos;
	if (memcmp(h, "070701", 6) != 0)
		return -EINVAL;
	uint32_t mode, filesize, namesize;
	if (hex8(h + 14, &mode) < 0 || hex8(h + 54, &filesize) < 0 || hex8(h + 94, &namesize) < 0)
		return -EINVAL;
	size_t room = it->len - it->pos;
	if (namesize == 0 || namesize > room - HDR)
		return -EINVAL;
	size_t data_off = pad4(HDR + (size_t)namesize);
	if (data_off > room || filesize > room - data_off)
		return -EINVAL;
	e->name = (const char *)h + HDR;
	e->name_len = namesize - 1;       /* without the NUL */
	e->mode = mode;
	e->data = h + data_off;
	e->size = filesize;
	if (e->name_len == 10 && !memcmp(e->name, "TRAILER!!!", 10))
		return 0;
	size_t next = data_off + pad4(filesize);
	it->pos += next < room ? next : room;
	return 1;
}

int cpio_find(const void *archive, size_t len, const char *path, const void **data, size_t *size)
{
	while (*path == '/')
		path++;
	size_t plen = strlen(path);
	struct cpio_iter it = { archive, len, 0 };
	struct cpio_entry e;
	int r;
	while ((r = cpio_next(&it, &e)) == 1) {
		const char *n = e.name;
		size_t nl = e.name_len;
		while (nl && *n == '/') {
			n++;
			nl--;
		}
		if (nl >= 2 && n[0] == '.' && n[1] == '/') {
			n += 2;
			nl -= 2;
		}
		if (nl == plen && !memcmp(n, path, plen) && (e.mode & 0170000) == 0100000) {
			*data = e.data;
			*size = e.size;
			return 0;
		}
	}
	return r < 0 ? r : -ENOENT;
}
