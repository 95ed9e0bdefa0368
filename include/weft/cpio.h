/* cpio.h - reading "newc" cpio archives in memory (lib/cpio.c): the
 * initramfs format. Every read is bounds-checked against the archive. */
#ifndef WEFT_CPIO_H
#define WEFT_CPIO_H
#include <stddef.h>
#include <stdint.h>

struct cpio_entry {
	const char *name;      /* not NUL-terminated inside the archive: name_len */
	size_t name_len;
	uint32_t mode;
	const void *data;
	size_t size;
};

struct cpio_iter {
	const uint8_t *base;
	size_t len, pos;
};

/* 1 and *e filled, 0 at the end, -EINVAL if malformed. */
int cpio_next(struct cpio_iter *it, struct cpio_entry *e);
/* The file at path (leading '/' optional): 0, -ENOENT or -EINVAL. */
int cpio_find(const void *archive, size_t len, const char *path, const void **data, size_t *size);
#endif
