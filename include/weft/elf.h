/* elf.h - checking and describing a static ELF64 x86-64 program
 * (lib/elf.c). Pure: no allocation, nothing trusted in the image. */
#ifndef WEFT_ELF_H
#define WEFT_ELF_H
#include <stdint.h>
#include <stddef.h>

#define ELF_ET_EXEC 2
#define ELF_ET_DYN  3
#define ELF_PF_X 1
#define ELF_PF_W 2
#define ELF_PF_R 4
#define ELF_MAX_LOAD 16

struct elf_segment {
	uint64_t vaddr, memsz, offset, filesz;
	uint32_t flags;            /* ELF_PF_* */
};

struct elf_image {
	unsigned type;             /* ELF_ET_EXEC, or ELF_ET_DYN (static PIE) */
	uint64_t entry;            /* before any load bias */
	uint64_t phdr_vaddr;       /* where the program headers are in memory (AT_PHDR) */
	unsigned phnum, phentsize;
	unsigned nload;
	struct elf_segment load[ELF_MAX_LOAD];   /* sorted by vaddr, non-overlapping */
	const char *error;         /* why it was rejected */
};

/* 0, or -ENOEXEC with out->error set. */
int elf_parse(const void *image, size_t len, struct elf_image *out);
#endif
