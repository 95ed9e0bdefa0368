/* test_elf.c - host tests for lib/elf.c, the static-ELF validator: a
 * synthesized static executable and static PIE are described correctly,
 * each rejection rule fires with its own reason, and no truncation or
 * corruption of an image reads outside it or yields a description that
 * breaks the guarantees in <weft/elf.h>.
 *
 * Images are built here (no binaries are embedded) and handed to the
 * parser in a malloc'd block of exactly their length, so any read past the
 * end is an AddressSanitizer error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <stdbool.h>
#include "tap.h"
#include "../../lib/elf.c"

#define PT_NOTE 4
#define R ELF_PF_R
#define W ELF_PF_W
#define X ELF_PF_X
#define LIMIT ELF_USER_LIMIT

struct ph {
	uint32_t type, flags;
	uint64_t offset, vaddr, filesz, memsz, align;
};

/* A typical static executable: headers, text, data+bss with TLS. */
static const struct ph base_ph[] = {
	{ PT_LOAD, R, 0x0000, 0x400000, 0x1000, 0x1000, 0x1000 },
	{ PT_LOAD, R | X, 0x1000, 0x401000, 0x0800, 0x0800, 0x1000 },
	{ PT_LOAD, R | W, 0x1e00, 0x402e00, 0x1200, 0x3000, 0x1000 },
	{ PT_TLS, R, 0x1e00, 0x402e00, 0x10, 0x40, 8 },
	{ PT_GNU_STACK, R | W, 0, 0, 0, 0, 16 },
	{ PT_NOTE, R, 0x200, 0x400200, 0x20, 0x20, 4 },
};
#define NBASE 6
#define BASE_LEN 0x3000   /* the data segment's file bytes end the file */

static void put(uint8_t *b, size_t off, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		b[off + i] = (uint8_t)(v >> (8 * i));
}

/* A len-byte ELF image of type with the n program headers at offset 64,
 * malloc'd at exactly len bytes (len >= 64 + 56 n). */
static uint8_t *make(unsigned type, const struct ph *ph, unsigned n, size_t len)
{
	uint8_t *b = malloc(len);

	memset(b, 0xcc, len);
	memset(b, 0, 64);
	memcpy(b, "\x7f" "ELF\x02\x01\x01", 7);
	put(b, 16, type, 2);
	put(b, 18, 62, 2);
	put(b, 20, 1, 4);
	put(b, 24, 0x401000, 8);
	put(b, 32, 64, 8);
	put(b, 52, 64, 2);
	put(b, 54, 56, 2);
	put(b, 56, n, 2);
	put(b, 58, 64, 2);
	for (unsigned i = 0; i < n; i++) {
		size_t o = 64 + 56 * (size_t)i;

		put(b, o, ph[i].type, 4);
		put(b, o + 4, ph[i].flags, 4);
		put(b, o + 8, ph[i].offset, 8);
		put(b, o + 16, ph[i].vaddr, 8);
		put(b, o + 24, ph[i].vaddr, 8);
		put(b, o + 32, ph[i].filesz, 8);
		put(b, o + 40, ph[i].memsz, 8);
		put(b, o + 48, ph[i].align, 8);
	}
	return b;
}

static bool seg_is(const struct elf_segment *s, const struct ph *p)
{
	return s->vaddr == p->vaddr && s->memsz == p->memsz && s->offset == p->offset &&
	       s->filesz == p->filesz && s->align == p->align && s->flags == p->flags;
}

/* Parse b and expect -ENOEXEC with a reason containing want; frees b. */
static void rejects(uint8_t *b, size_t len, const char *want, const char *what)
{
	struct elf_image m;
	int r = elf_parse(b, len, &m);

	if (!ok(r == -ENOEXEC && m.error && strstr(m.error, want), "reject %s", what))
		diag("got %d, error \"%s\"; wanted \"%s\"", r, m.error ? m.error : "(null)", want);
	free(b);
}

/* Parse b, expect success; frees b. */
static bool accepts(uint8_t *b, size_t len, struct elf_image *m)
{
	int r = elf_parse(b, len, m);

	if (r)
		diag("rejected: %s", m->error);
	free(b);
	return r == 0 && m->error == NULL;
}

static void test_valid(void)
{
	struct elf_image m;
	struct ph p[NBASE + 1];

	ok(accepts(make(ELF_ET_EXEC, base_ph, NBASE, BASE_LEN), BASE_LEN, &m),
	   "a static executable is accepted");
	ok(m.type == ELF_ET_EXEC && m.entry == 0x401000, "type and entry");
	ok(m.phoff == 64 && m.phnum == NBASE && m.phentsize == 56, "program header table");
	ok(m.phdr_vaddr == 0x400040, "AT_PHDR computed from the PT_LOAD holding the table");
	ok(m.nload == 3 && seg_is(&m.load[0], &base_ph[0]) && seg_is(&m.load[1], &base_ph[1]) &&
	   seg_is(&m.load[2], &base_ph[2]), "three PT_LOADs described exactly");
	ok(m.load_end == 0x405e00, "load_end is the end of the last segment");
	ok(m.has_tls && seg_is(&m.tls, &base_ph[3]), "PT_TLS described");
	ok(m.has_gnu_stack && m.stack_flags == (R | W), "PT_GNU_STACK flags");

	memcpy(p, base_ph, sizeof base_ph);
	p[NBASE] = (struct ph){ PT_PHDR, R, 64, 0x401234, 6 * 56, 6 * 56, 8 };
	ok(accepts(make(ELF_ET_EXEC, p, NBASE + 1, BASE_LEN), BASE_LEN, &m) &&
	   m.phdr_vaddr == 0x401234, "PT_PHDR gives AT_PHDR, even after the loads");

	/* Static PIE: addresses from 0, PT_PHDR first. */
	static const struct ph pie[] = {
		{ PT_PHDR, R, 64, 64, 4 * 56, 4 * 56, 8 },
		{ PT_LOAD, R | X, 0, 0, 0x1800, 0x1800, 0x1000 },
		{ PT_LOAD, R | W, 0x1800, 0x2800, 0x800, 0x1000, 0x1000 },
		{ PT_GNU_STACK, R | W | X, 0, 0, 0, 0, 16 },
	};
	ok(accepts(make(ELF_ET_DYN, pie, 4, 0x2000), 0x2000, &m) && m.type == ELF_ET_DYN &&
	   m.phdr_vaddr == 64 && m.nload == 2 && !m.has_tls && m.stack_flags == (R | W | X),
	   "a static PIE (ET_DYN without PT_INTERP) is accepted");

	memcpy(p, base_ph, sizeof base_ph);
	p[0].type = PT_NOTE;
	ok(accepts(make(ELF_ET_EXEC, p, NBASE, BASE_LEN), BASE_LEN, &m) && m.phdr_vaddr == 0 &&
	   m.nload == 2, "table in no PT_LOAD and no PT_PHDR: AT_PHDR 0");
	memcpy(p, base_ph, sizeof base_ph);
	p[0].filesz = 0x100;
	ok(accepts(make(ELF_ET_EXEC, p, NBASE, BASE_LEN), BASE_LEN, &m) && m.phdr_vaddr == 0,
	   "table only partly in a PT_LOAD's file bytes: AT_PHDR 0");

	memcpy(p, base_ph, sizeof base_ph);
	p[4].type = PT_NOTE;
	p[1].flags = 0xf0000000u | R | X;
	ok(accepts(make(ELF_ET_EXEC, p, NBASE, BASE_LEN), BASE_LEN, &m) && !m.has_gnu_stack &&
	   m.stack_flags == (R | W | X) && m.load[1].flags == (R | X),
	   "no PT_GNU_STACK: RWX stack; unknown flag bits dropped");

	memcpy(p, base_ph, sizeof base_ph);
	p[5] = (struct ph){ PT_LOAD, R, 0x2000, 0x402000, 0, 0, 0x1000 };
	ok(accepts(make(ELF_ET_EXEC, p, NBASE, BASE_LEN), BASE_LEN, &m) && m.nload == 3,
	   "an empty PT_LOAD is checked, then left out");

	static const struct ph shared[] = {
		{ PT_LOAD, R | X, 0, 0x400000, 0x1800, 0x1800, 0x1000 },
		{ PT_LOAD, R | W, 0x1800, 0x401800, 0x100, 0x900, 0x1000 },
	};
	ok(accepts(make(ELF_ET_EXEC, shared, 2, 0x1900), 0x1900, &m) && m.nload == 2,
	   "adjacent segments sharing a page are accepted");

	static const struct ph top[] = {
		{ PT_LOAD, R | W, 0, LIMIT - 0x1000, 0x100, 0x1000, 0x1000 },
	};
	ok(accepts(make(ELF_ET_EXEC, top, 1, 0x100), 0x100, &m) && m.load_end == LIMIT,
	   "a segment ending exactly at the top of the user half");
}

/* n bss-only PT_LOADs, one page each. */
static uint8_t *many_loads(unsigned n, size_t *len)
{
	struct ph p[20];

	for (unsigned i = 0; i < n; i++)
		p[i] = (struct ph){ PT_LOAD, R | W, 0, 0x400000 + 0x1000 * (uint64_t)i, 0, 0x1000,
				    0x1000 };
	*len = 64 + 56 * n;
	return make(ELF_ET_EXEC, p, n, *len);
}

#define PATCHED(off, v, n) do {						\
	b = make(ELF_ET_EXEC, base_ph, NBASE, BASE_LEN);		\
	put(b, off, v, n);						\
} while (0)

#define WITH(stmt, ...) do {						\
	memcpy(p, base_ph, sizeof base_ph);				\
	stmt;								\
	rejects(make(ELF_ET_EXEC, p, NBASE, BASE_LEN), BASE_LEN, __VA_ARGS__); \
} while (0)

static void test_reject(void)
{
	struct ph p[NBASE];
	struct elf_image m;
	uint8_t *b;
	size_t len;

	b = make(ELF_ET_EXEC, base_ph, NBASE, BASE_LEN);
	rejects(b, 63, "too short", "63 bytes");
	ok(elf_parse(NULL, 0, &m) == -ENOEXEC && m.error, "reject NULL image");
	PATCHED(1, 'e', 1);
	rejects(b, BASE_LEN, "bad magic", "bad magic");
	PATCHED(4, 1, 1);
	rejects(b, BASE_LEN, "64-bit", "ELFCLASS32");
	PATCHED(5, 2, 1);
	rejects(b, BASE_LEN, "little-endian", "big-endian");
	PATCHED(6, 0, 1);
	rejects(b, BASE_LEN, "version", "EI_VERSION 0");
	PATCHED(20, 2, 4);
	rejects(b, BASE_LEN, "version", "e_version 2");
	PATCHED(18, 3, 2);
	rejects(b, BASE_LEN, "x86-64", "EM_386");
	PATCHED(16, 1, 2);
	rejects(b, BASE_LEN, "not an executable", "ET_REL");
	PATCHED(16, 4, 2);
	rejects(b, BASE_LEN, "not an executable", "ET_CORE");
	PATCHED(54, 32, 2);
	rejects(b, BASE_LEN, "56", "e_phentsize 32");
	PATCHED(56, 0, 2);
	rejects(b, BASE_LEN, "no program headers", "e_phnum 0");
	PATCHED(32, BASE_LEN - 100, 8);
	rejects(b, BASE_LEN, "program headers extend", "table running past the end");
	PATCHED(32, UINT64_MAX - 16, 8);
	rejects(b, BASE_LEN, "program headers extend", "e_phoff near 2^64");
	PATCHED(56, 0xffff, 2);
	rejects(b, BASE_LEN, "program headers extend", "e_phnum 0xffff");

	WITH(p[5] = ((struct ph){ PT_INTERP, R, 0x200, 0x400200, 0x1c, 0x1c, 1 }),
	     "dynamically linked", "PT_INTERP");
	WITH(p[1].filesz = 0x900, "exceeds its memory size", "filesz > memsz");
	WITH(p[2].filesz = p[2].memsz = 0x1201, "past the end of the file", "data past the end");
	WITH((p[2].offset = UINT64_MAX, p[2].vaddr = 0x402fff), "past the end of the file",
	     "offset near 2^64");
	WITH(p[2].filesz = p[2].memsz = UINT64_MAX, "past the end of the file",
	     "filesz near 2^64");
	WITH((p[2].vaddr = UINT64_MAX - 0x11ff, p[3].vaddr = p[2].vaddr),
	     "user address space", "vaddr + memsz wrapping around");
	WITH(p[2].memsz = UINT64_MAX, "user address space", "memsz near 2^64");
	WITH(p[2].memsz = LIMIT - 0x402e00 + 1, "user address space", "crossing the user half");
	WITH((p[2].vaddr = 0xffff800000402e00ULL, p[3].vaddr = p[2].vaddr),
	     "user address space", "a kernel-half segment");
	WITH(p[1].vaddr = 0x401010, "modulo 4096", "(vaddr - offset) not page aligned");
	WITH((p[1].vaddr = 0x400800, p[1].offset = 0x800), "overlap", "overlapping PT_LOADs");
	WITH((p[1] = base_ph[0], p[0] = base_ph[1]), "ascending", "PT_LOADs out of order");
	WITH(p[0].type = p[1].type = p[2].type = PT_NOTE, "no loadable segments", "no PT_LOAD");
	WITH(p[0].memsz = p[1].memsz = p[2].memsz = p[0].filesz = p[1].filesz = p[2].filesz = 0,
	     "no loadable segments", "only empty PT_LOADs");
	WITH(p[5] = ((struct ph){ PT_LOAD, R, 0x10, 0x500000, 0, 0, 0 }), "modulo 4096",
	     "an empty PT_LOAD is still checked");
	WITH(p[5] = base_ph[3], "more than one TLS", "two PT_TLS");
	WITH(p[3].filesz = p[3].memsz = 0x1300, "past the end", "TLS image past the end");
	WITH(p[3].vaddr = 0x500000, "TLS image outside", "TLS image in no PT_LOAD");
	WITH(p[3].vaddr = LIMIT - 0x20, "user address space", "TLS crossing the user half");
	WITH(p[3].align = 12, "power of two", "TLS alignment 12");

	b = many_loads(16, &len);
	ok(accepts(b, len, &m) && m.nload == 16, "16 PT_LOADs are accepted");
	b = many_loads(17, &len);
	rejects(b, len, "more than 16", "17 PT_LOADs");
}

/* The guarantees of <weft/elf.h>, checked from the outside. */
static bool sound(const struct elf_image *m, size_t len)
{
	if (m->error || (m->type != ELF_ET_EXEC && m->type != ELF_ET_DYN) ||
	    m->phentsize != 56 || !m->phnum || m->phoff > len ||
	    (uint64_t)m->phnum * 56 > len - m->phoff || !m->nload || m->nload > ELF_MAX_LOAD)
		return false;
	for (unsigned i = 0; i < m->nload; i++) {
		const struct elf_segment *s = &m->load[i];

		if (!s->memsz || s->filesz > s->memsz || s->offset > len ||
		    s->filesz > len - s->offset || s->vaddr >= LIMIT ||
		    s->memsz > LIMIT - s->vaddr || (s->vaddr - s->offset) % 4096 ||
		    (s->flags & ~7u))
			return false;
		if (i && s->vaddr < m->load[i - 1].vaddr + m->load[i - 1].memsz)
			return false;
	}
	if (m->load_end != m->load[m->nload - 1].vaddr + m->load[m->nload - 1].memsz)
		return false;
	if (m->has_tls && (m->tls.filesz > m->tls.memsz || m->tls.offset > len ||
			   m->tls.filesz > len - m->tls.offset || m->tls.vaddr >= LIMIT ||
			   m->tls.memsz > LIMIT - m->tls.vaddr))
		return false;
	return true;
}

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_truncation(void)
{
	uint8_t *full = make(ELF_ET_EXEC, base_ph, NBASE, BASE_LEN);
	bool good = true;
	struct elf_image m;

	for (size_t n = 0; n < BASE_LEN && good; n++) {
		uint8_t *c = malloc(n ? n : 1);

		memcpy(c, full, n);
		good = elf_parse(c, n, &m) == -ENOEXEC && m.error;
		if (!good)
			diag("truncated to %zu bytes: accepted", n);
		free(c);
	}
	ok(good, "every truncation (0..%d bytes) is rejected, reading nothing past it",
	   BASE_LEN - 1);
	free(full);
}

static void test_fuzz(void)
{
	static const uint64_t interesting[] = {
		0, 1, 0xfff, 0x1000, 0x7fffffffffffULL, LIMIT, LIMIT - 0x1000, UINT64_MAX,
		UINT64_MAX - 0xfff, 0x8000000000000000ULL, 0x400000, 0x3000,
	};
	uint8_t *full = make(ELF_ET_EXEC, base_ph, NBASE, BASE_LEN);
	size_t hdr_end = 64 + 56 * NBASE;
	unsigned iters = 20000, accepted = 0;
	bool good = true;

	for (unsigned k = 0; k < iters && good; k++) {
		size_t n = rnd() % 8 ? BASE_LEN : rnd() % (BASE_LEN + 1);
		uint8_t *c = malloc(n ? n : 1);
		unsigned flips = 1 + rnd() % 4;
		struct elf_image m;
		int r;

		memcpy(c, full, n);
		for (unsigned f = 0; f < flips; f++) {
			size_t at = rnd() % hdr_end;

			if (rnd() % 2 && (at & ~(size_t)7) + 8 <= n)
				put(c, at & ~7u, interesting[rnd() % 12] + rnd() % 3 - 1, 8);
			else if (at < n)
				c[at] = (uint8_t)rnd();
		}
		r = elf_parse(c, n, &m);
		if (r == 0) {
			accepted++;
			good = sound(&m, n);
		} else {
			good = r == -ENOEXEC && m.error;
		}
		if (!good)
			diag("iteration %u (length %zu): result %d breaks the contract", k, n, r);
		free(c);
	}
	ok(good, "%u random corruptions: rejected with a reason, or soundly described", iters);
	diag("fuzz: %u of %u corrupted images still accepted", accepted, iters);
	ok(accepted > 0 && accepted < iters, "the fuzz reached both outcomes");
	free(full);
}

int main(void)
{
	test_valid();
	test_reject();
	test_truncation();
	test_fuzz();
	return done_testing();
}
