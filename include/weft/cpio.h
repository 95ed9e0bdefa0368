/* cpio.h - reading cpio "newc" archives in memory (lib/cpio.c): the
 * initramfs format.
 *
 * An archive is a sequence of entries, each a 110-byte header of ASCII
 * fields ("070701", then thirteen 8-digit hex numbers: ino, mode, uid, gid,
 * nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor,
 * namesize, check), the NUL-terminated name (header + name padded with NULs
 * to a multiple of 4), then the file data (padded to a multiple of 4). The
 * entry named "TRAILER!!!" ends the archive; anything after it is ignored.
 * The CRC variant (magic "070702") is read the same way, checksum unchecked.
 *
 * Nothing in the archive is trusted: every field is checked, and no
 * function here reads outside [archive, archive + len) whatever its bytes.
 * Returned pointers point into the caller's archive, which must stay
 * mapped and unchanged for as long as they are used. Self-contained: no
 * dependencies beyond <stdint.h>, <stddef.h>, <stdbool.h>, <weft/errno.h>.
 */
#ifndef WEFT_CPIO_H
#define WEFT_CPIO_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define CPIO_S_IFMT  0170000u
#define CPIO_S_IFDIR 0040000u
#define CPIO_S_IFREG 0100000u

struct cpio_entry {
	const char *name;   /* name_len bytes in the archive, then a NUL; no
			       other NUL inside. Exactly as stored: may start
			       with "./" or "/" */
	size_t name_len;    /* >= 1 */
	uint32_t mode;      /* file type (CPIO_S_IFREG or CPIO_S_IFDIR) | permissions */
	const void *data;   /* size bytes, all inside the archive */
	size_t size;        /* 0 for an empty file; as stored for a directory */
};

/* Iteration state; set up with cpio_iter_init, opaque otherwise. */
struct cpio_iter {
	const uint8_t *base;
	size_t len;
	size_t pos;         /* offset of the next header; <= len */
	int end;            /* 0 while going, else cpio_next's sticky result */
};

static inline bool cpio_is_reg(const struct cpio_entry *e)
{
	return (e->mode & CPIO_S_IFMT) == CPIO_S_IFREG;
}

static inline bool cpio_is_dir(const struct cpio_entry *e)
{
	return (e->mode & CPIO_S_IFMT) == CPIO_S_IFDIR;
}

/* Start iterating the len bytes at archive. */
void cpio_iter_init(struct cpio_iter *it, const void *archive, size_t len);

/* The next regular file or directory, in archive order; entries of other
 * types (symlinks, devices, ...) are checked and skipped. Returns 1 with
 * *e filled, 0 at the trailer, or -EINVAL if the archive is malformed at
 * this point (bad magic or hex digit, a name without its NUL, a name or
 * data running past the end, no trailer). Once it has returned 0 or
 * -EINVAL it keeps returning the same. */
int cpio_next(struct cpio_iter *it, struct cpio_entry *e);

/* Find the regular file at path ("bin/init" and "/bin/init" are the same;
 * an entry's own leading "./" and "/" are ignored too; no other
 * normalisation). Reads the whole archive: if a path occurs twice the last
 * copy wins, as when Linux unpacks an initramfs. Returns 0 with *data and
 * *size set, -ENOENT if there is no such regular file, or -EINVAL if the
 * archive is malformed anywhere (then *data and *size are untouched). */
int cpio_find(const void *archive, size_t len, const char *path, const void **data,
	      size_t *size);
#endif
