/*
 * elf.c - validating a static x86-64 ELF64 executable (ET_EXEC, or ET_DYN
 * without an interpreter: static PIE) before anything is loaded.
 *
 * Every offset and size comes from the file, so each is checked against
 * the file length and for overflow; segments must lie in the user half,
 * keep (vaddr - offset) page-aligned, and not overlap.
 */
#include <stdbool.h>
#include <weft/elf.h>
#include <weft/string.h>
#include <weft/errno.h>

#define PT_LOAD   1
#define PT_INTERP 3
#define PT_PHDR   6
#define USER_LIMIT 0x0000800000000000ULL

struct ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

static int reject(struct elf_image *out, const char *why)
{
	out->error = why;
	return -ENOEXEC;
}

int elf_parse(const void *image, size_t len, struct elf_image *out)
{
	memset(out, 0, sizeof *out);
	struct ehdr eh;
	if (len < sizeof eh)
		return reject(out, "too short for an ELF header");
	memcpy(&eh, image, sizeof eh);
	if (memcmp(eh.ident, "\x7f" "ELF", 4))
		return reject(out, "not an ELF file");
	if (eh.ident[4] != 2 || eh.ident[5] != 1 || eh.ident[6] != 1)
		return reject(out, "not 64-bit little-endian ELF version 1");
	if (eh.machine != 62)
		return reject(out, "not an x86-64 program");
	if (eh.type != ELF_ET_EXEC && eh.type != ELF_ET_DYN)
		return reject(out, "not an executable");
	if (eh.phentsize != sizeof(struct phdr))
		return reject(out, "unexpected program header size");
	if (eh.phnum == 0 || eh.phoff > len || (uint64_t)eh.phnum * sizeof(struct phdr) > len - eh.phoff)
		return reject(out, "program headers outside the file");
	out->type = eh.type;
	out->entry = eh.entry;
	out->phnum = eh.phnum;
	out->phentsize = eh.phentsize;
	bool have_phdr = false;
	const uint8_t *ph = (const uint8_t *)image + eh.phoff;
	for (unsigned i = 0; i < eh.phnum; i++) {
		struct phdr p;
		memcpy(&p, ph + i * sizeof p, sizeof p);
		if (p.type == PT_INTERP)
			return reject(out, "dynamically linked (has an interpreter): build with -static");
		if (p.type == PT_PHDR) {
			out->phdr_vaddr = p.vaddr;
			have_phdr = true;
		}
		if (p.type != PT_LOAD || p.memsz == 0)
			continue;
		if (out->nload == ELF_MAX_LOAD)
			return reject(out, "too many loadable segments");
		if (p.filesz > p.memsz)
			return reject(out, "segment file size exceeds its memory size");
		if (p.offset > len || p.filesz > len - p.offset)
			return reject(out, "segment outside the file");
		if (p.vaddr >= USER_LIMIT || p.memsz > USER_LIMIT - p.vaddr)
			return reject(out, "segment outside the user address space");
		if ((p.vaddr - p.offset) & 4095)
			return reject(out, "segment address and offset disagree modulo the page size");
		struct elf_segment *s = &out->load[out->nload];
		if (out->nload && p.vaddr < s[-1].vaddr + s[-1].memsz)
			return reject(out, "loadable segments overlap or are out of order");
		s->vaddr = p.vaddr;
		s->memsz = p.memsz;
		s->offset = p.offset;
		s->filesz = p.filesz;
		s->flags = p.flags & 7;
		out->nload++;
		/* Without PT_PHDR: the headers are where the segment that
		 * holds their file offset puts them. */
		if (!have_phdr && eh.phoff >= p.offset && eh.phoff - p.offset < p.filesz)
			out->phdr_vaddr = p.vaddr + (eh.phoff - p.offset);
	}
	if (!out->nload)
		return reject(out, "no loadable segments");
	return 0;
}
