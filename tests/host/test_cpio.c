/* test_cpio.c - host tests for lib/cpio.c, the initramfs reader: lookups,
 * iteration, malformed headers, and that no truncation or corruption of an
 * archive makes it read or return anything outside the buffer.
 *
 * Archives are written here by a small newc writer and always handed to
 * the parser in a malloc'd block of exactly their length, so any read past
 * the end is an AddressSanitizer error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdbool.h>
#include "tap.h"
#include "../../lib/cpio.c"

struct ent {
	const char *name;
	uint32_t mode;
	const char *data;
};

#define FILE_MODE 0100644u
#define EXEC_MODE 0100755u
#define DIR_MODE  0040755u
#define LINK_MODE 0120777u

/* Append one newc entry at *off (or only measure it when buf is NULL). */
static void put_entry(uint8_t *buf, size_t *off, uint32_t ino, const char *name,
		      uint32_t mode, const char *data, size_t size)
{
	char hdr[111];
	size_t nsz = strlen(name) + 1;

	snprintf(hdr, sizeof hdr, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		 ino, mode, 0u, 0u, 1u, 0u, (unsigned)size, 0u, 0u, 0u, 0u, (unsigned)nsz, 0u);
	if (buf) {
		memcpy(buf + *off, hdr, 110);
		memcpy(buf + *off + 110, name, nsz);
	}
	*off += 110 + nsz;
	while (*off % 4) {
		if (buf)
			buf[*off] = 0;
		(*off)++;
	}
	if (buf && size)
		memcpy(buf + *off, data, size);
	*off += size;
	while (*off % 4) {
		if (buf)
			buf[*off] = 0;
		(*off)++;
	}
}

/* An archive of the n entries and a trailer, malloc'd at its exact size. */
static uint8_t *build(const struct ent *e, size_t n, size_t *len)
{
	uint8_t *buf = NULL;

	for (int pass = 0; pass < 2; pass++) {
		size_t off = 0;

		for (size_t i = 0; i < n; i++)
			put_entry(buf, &off, (uint32_t)i + 1, e[i].name, e[i].mode, e[i].data,
				  e[i].data ? strlen(e[i].data) : 0);
		put_entry(buf, &off, 0, "TRAILER!!!", 0, NULL, 0);
		if (!pass) {
			*len = off;
			buf = malloc(off ? off : 1);
		}
	}
	return buf;
}

static uint8_t *copy_of(const uint8_t *src, size_t n)
{
	uint8_t *p = malloc(n ? n : 1);

	memcpy(p, src, n);
	return p;
}

/* Is [p, p + size) inside [buf, buf + n)? */
static bool within(const uint8_t *buf, size_t n, const void *p, size_t size)
{
	uintptr_t a = (uintptr_t)buf, q = (uintptr_t)p;

	return q >= a && q - a <= n && size <= n - (q - a);
}

static const struct ent sample[] = {
	{ "bin", DIR_MODE, NULL },
	{ "bin/init", EXEC_MODE, "#!init\nhello from init\n" },
	{ "bin/sh", LINK_MODE, "init" },
	{ "etc", DIR_MODE, NULL },
	{ "etc/empty", FILE_MODE, NULL },
	{ "p1", FILE_MODE, "a" },
	{ "p22", FILE_MODE, "bb" },
	{ "p333", FILE_MODE, "ccc" },
	{ "p4444", FILE_MODE, "dddd" },
	{ "p55555", FILE_MODE, "eeeee" },
	{ "./dot/x", FILE_MODE, "dotted" },
	{ "/abs", FILE_MODE, "absolute" },
};
#define NSAMPLE (sizeof(sample) / sizeof(sample[0]))

/* The regular files of sample[] and the path each is found under. */
static const struct { const char *path; const char *data; } files[] = {
	{ "bin/init", "#!init\nhello from init\n" }, { "etc/empty", "" },
	{ "p1", "a" }, { "p22", "bb" }, { "p333", "ccc" }, { "p4444", "dddd" },
	{ "p55555", "eeeee" }, { "dot/x", "dotted" }, { "abs", "absolute" },
};
#define NFILES (sizeof(files) / sizeof(files[0]))

static bool found_is(const uint8_t *buf, size_t n, const char *path, const char *want)
{
	const void *data = NULL;
	size_t size = 12345;
	int r = cpio_find(buf, n, path, &data, &size);

	if (r != 0) {
		diag("cpio_find(%s) = %d", path, r);
		return false;
	}
	return within(buf, n, data, size) && size == strlen(want) && !memcmp(data, want, size);
}

static void test_find(void)
{
	size_t len;
	uint8_t *a = build(sample, NSAMPLE, &len);
	char slashed[64];

	for (size_t i = 0; i < NFILES; i++) {
		ok(found_is(a, len, files[i].path, files[i].data), "find %s", files[i].path);
		snprintf(slashed, sizeof slashed, "/%s", files[i].path);
		ok(found_is(a, len, slashed, files[i].data), "find %s", slashed);
	}
	ok(found_is(a, len, "//bin/init", files[0].data), "find //bin/init");

	static const char *const misses[] = {
		"bin", "/etc", "bin/sh", "nope", "", "/", "bin/init/", "bin/ini", "bin/init2",
		"BIN/INIT", "./bin/init", "bin//init", "TRAILER!!!", "dot",
	};
	for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++) {
		const void *data = (const void *)1;
		size_t size = 7;
		int r = cpio_find(a, len, misses[i], &data, &size);

		ok(r == -ENOENT && data == (const void *)1 && size == 7,
		   "miss [%s] -> -ENOENT, outputs untouched (got %d)", misses[i], r);
	}
	free(a);
}

static void test_iter(void)
{
	size_t len;
	uint8_t *a = build(sample, NSAMPLE, &len);
	struct cpio_iter it;
	struct cpio_entry e;
	size_t want = 0, got = 0;
	bool good = true;
	int r;

	cpio_iter_init(&it, a, len);
	while ((r = cpio_next(&it, &e)) == 1) {
		while (want < NSAMPLE && (sample[want].mode & CPIO_S_IFMT) == 0120000)
			want++;    /* the iterator skips symlinks */
		const struct ent *s = &sample[want++];
		size_t dlen = s->data ? strlen(s->data) : 0;

		good = good && e.name_len == strlen(s->name) && !memcmp(e.name, s->name, e.name_len) &&
		       e.name[e.name_len] == '\0' && e.mode == s->mode && e.size == dlen &&
		       within(a, len, e.data, e.size) && !memcmp(e.data, s->data ? s->data : "", dlen);
		if (!good) {
			diag("entry %zu: %.*s", got, (int)e.name_len, e.name);
			break;
		}
		got++;
	}
	ok(good && r == 0 && got == NSAMPLE - 1, "iterate: %zu files and dirs, in order, then 0", got);
	ok(cpio_next(&it, &e) == 0 && cpio_next(&it, &e) == 0, "the end is sticky");
	free(a);
}

static void test_duplicates(void)
{
	static const struct ent dup[] = {
		{ "bin/a", FILE_MODE, "first" }, { "bin/b", FILE_MODE, "b" },
		{ "/bin/a", FILE_MODE, "second" }, { "bin/c", DIR_MODE, NULL },
		{ "bin/c", FILE_MODE, "file now" },
	};
	size_t len;
	uint8_t *a = build(dup, 5, &len);

	ok(found_is(a, len, "bin/a", "second"), "a path stored twice: the last copy wins");
	ok(found_is(a, len, "bin/c", "file now"), "a directory replaced by a file is found");
	free(a);
}

/* Offset of field i (0 = ino .. 12 = check) of the header at h. */
#define FIELD(h, i) ((h) + 6 + 8 * (i))

static int find_in(const uint8_t *buf, size_t n, const char *path)
{
	const void *d;
	size_t s;
	uint8_t *c = buf ? copy_of(buf, n) : NULL;
	int r = cpio_find(c, n, path, &d, &s);

	free(c);
	return r;
}

static void test_malformed(void)
{
	static const struct ent one[] = { { "f", FILE_MODE, "data!" } };
	size_t len, tlen;
	uint8_t *a = build(one, 1, &len);
	uint8_t *t = build(NULL, 0, &tlen);
	uint8_t *c;
	struct cpio_iter it;
	struct cpio_entry e;

	ok(find_in(a, len, "f") == 0, "the one-file archive is good");
	ok(find_in(NULL, 0, "f") == -EINVAL, "NULL archive: -EINVAL");
	ok(find_in(a, 0, "f") == -EINVAL, "empty archive: -EINVAL");
	ok(find_in(t, tlen, "f") == -ENOENT, "trailer only: -ENOENT");
	cpio_iter_init(&it, t, tlen);
	ok(cpio_next(&it, &e) == 0, "trailer only: iteration ends at once");
	ok(find_in(a, 120, "f") == -EINVAL, "no trailer: -EINVAL even for a file before it");
	ok(find_in(a, len - 1, "f") == 0, "trailer missing its last padding byte: fine");
	ok(find_in(a, len - 3, "f") == 0, "trailer cut just after its NUL: fine");
	ok(find_in(a, len - 4, "f") == -EINVAL, "trailer without its NUL: -EINVAL");

	struct { const char *what; size_t off; const char *bytes; int want; } patch[] = {
		{ "odc magic 070707", 0, "070707", -EINVAL },
		{ "crc magic 070702 accepted", 0, "070702", 0 },
		{ "binary junk magic", 0, "\x71\xc7", -EINVAL },
		{ "non-hex digit in mode", 14, "0000g1a4", -EINVAL },
		{ "space in ino", 6, " 0000001", -EINVAL },
		{ "uppercase hex accepted", 14, "000081A4", 0 },
		{ "non-hex in check field", 102, "0000000x", -EINVAL },
		{ "non-hex in the trailer's header", 120 + 14, "zzzzzzzz", -EINVAL },
		{ "namesize 0", 94, "00000000", -EINVAL },
		{ "namesize 1 (empty name)", 94, "00000001", -EINVAL },
		{ "namesize 3: no NUL at its end", 94, "00000003", -EINVAL },
		{ "namesize past the end", 94, "00001000", -EINVAL },
		{ "namesize ffffffff", 94, "ffffffff", -EINVAL },
		{ "filesize past the end", 54, "00000100", -EINVAL },
		{ "filesize ffffffff", 54, "ffffffff", -EINVAL },
		{ "filesize one short: misreads the next header", 54, "00000004", -EINVAL },
		{ "file turned into a symlink", 14, "0000a1ff", -ENOENT },
		{ "file turned into a directory", 14, "000041ed", -ENOENT },
	};
	for (size_t i = 0; i < sizeof(patch) / sizeof(patch[0]); i++) {
		c = copy_of(a, len);
		memcpy(c + patch[i].off, patch[i].bytes, strlen(patch[i].bytes));
		ok(find_in(c, len, "f") == patch[i].want, "%s -> %d", patch[i].what, patch[i].want);
		free(c);
	}

	/* A NUL inside the name ("f\0" as namesize 2 is fine; make it "\0"). */
	c = copy_of(a, len);
	c[110] = '\0';
	ok(find_in(c, len, "f") == -EINVAL, "name with its NUL first -> -EINVAL");
	free(c);

	/* An empty name (namesize 1, just the NUL) is not a name. */
	static const struct ent noname[] = { { "", FILE_MODE, "x" } };
	size_t nlen;
	c = build(noname, 1, &nlen);
	ok(find_in(c, nlen, "") == -EINVAL, "entry with an empty name -> -EINVAL");
	free(c);

	/* Data after the trailer is ignored. */
	c = malloc(len + 40);
	memcpy(c, a, len);
	memset(c + len, 'Z', 40);
	ok(find_in(c, len + 40, "f") == 0, "junk after the trailer is ignored");
	free(c);

	/* After an error the iterator stays in error. */
	c = copy_of(a, len);
	c[0] = 'X';
	cpio_iter_init(&it, c, len);
	ok(cpio_next(&it, &e) == -EINVAL && cpio_next(&it, &e) == -EINVAL, "errors are sticky");
	free(c);
	free(a);
	free(t);
}

/* Iterate c (n bytes) to the end and look up every sample file. Checks
 * that everything returned lies inside c; returns false (with a diag)
 * on any violation. find_r[] gets each lookup's result. */
static bool probe(const uint8_t *c, size_t n, int *find_r, int *iter_r)
{
	struct cpio_iter it;
	struct cpio_entry e;
	size_t steps = 0;
	int r;

	cpio_iter_init(&it, c, n);
	while ((r = cpio_next(&it, &e)) == 1) {
		if (!within(c, n, e.name, e.name_len + 1) || e.name[e.name_len] ||
		    !within(c, n, e.data, e.size) || !(cpio_is_reg(&e) || cpio_is_dir(&e)) ||
		    ++steps > n / 112 + 1) {
			diag("bad entry at step %zu", steps);
			return false;
		}
	}
	*iter_r = r;
	if (r != 0 && r != -EINVAL)
		return false;
	for (size_t i = 0; i < NFILES; i++) {
		const void *d = NULL;
		size_t s = 0;

		find_r[i] = cpio_find(c, n, files[i].path, &d, &s);
		if (find_r[i] == 0 && !within(c, n, d, s)) {
			diag("%s: data outside the buffer", files[i].path);
			return false;
		}
		if (find_r[i] != 0 && find_r[i] != -ENOENT && find_r[i] != -EINVAL)
			return false;
	}
	return true;
}

static void test_truncation(void)
{
	size_t len;
	uint8_t *a = build(sample, NSAMPLE, &len);
	size_t trailer_end = len - 124 + 110 + 11;   /* just past "TRAILER!!!\0" */
	bool safe = true, right = true;
	int find_r[NFILES], iter_r;

	for (size_t n = 0; n <= len; n++) {
		uint8_t *c = copy_of(a, n);
		bool whole = n >= trailer_end;

		safe = safe && probe(c, n, find_r, &iter_r);
		for (size_t i = 0; i < NFILES; i++)
			right = right && find_r[i] == (whole ? 0 : -EINVAL);
		right = right && iter_r == (whole ? 0 : -EINVAL);
		if (whole) {
			for (size_t i = 0; i < NFILES; i++)
				right = right && found_is(c, n, files[i].path, files[i].data);
		}
		if (!safe || !right) {
			diag("at truncation length %zu of %zu", n, len);
			free(c);
			break;
		}
		free(c);
	}
	ok(safe, "every truncation (0..%zu bytes): nothing outside the buffer", len);
	ok(right, "truncated before the trailer's NUL: -EINVAL; after: all files found");
	free(a);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_fuzz(void)
{
	static const char hex[] = "0123456789abcdefABCDEF";
	size_t len;
	uint8_t *a = build(sample, NSAMPLE, &len);
	unsigned iters = 5000, accepted = 0, found = 0;
	bool safe = true;
	int find_r[NFILES], iter_r;

	for (unsigned k = 0; k < iters && safe; k++) {
		size_t n = rnd() % 4 ? len : rnd() % (len + 1);
		uint8_t *c = copy_of(a, n);
		unsigned flips = 1 + rnd() % 6;

		for (unsigned f = 0; f < flips && n; f++) {
			size_t at = rnd() % n;
			switch (rnd() % 4) {
			case 0: c[at] = (uint8_t)rnd(); break;
			case 1: c[at] = (uint8_t)hex[rnd() % 22]; break;   /* keeps headers parsing */
			case 2: c[at] = 'f'; break;                         /* big sizes */
			default: c[at] = '0'; break;                        /* small sizes */
			}
		}
		safe = probe(c, n, find_r, &iter_r);
		if (!safe)
			diag("iteration %u (length %zu)", k, n);
		accepted += iter_r == 0;
		for (size_t i = 0; i < NFILES; i++)
			found += find_r[i] == 0;
		free(c);
	}
	ok(safe, "%u random corruptions: every read and result inside the buffer", iters);
	diag("fuzz: %u archives still well-formed, %u lookups succeeded", accepted, found);
	ok(accepted > 0 && accepted < iters, "the fuzz reached both outcomes");
	free(a);
}

int main(void)
{
	test_find();
	test_iter();
	test_duplicates();
	test_malformed();
	test_truncation();
	test_fuzz();
	return done_testing();
}
