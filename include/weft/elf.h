/* elf.h - checking and describing a static ELF64 x86-64 program before it
 * is loaded (lib/elf.c).
 *
 * elf_parse is pure: it reads only [image, image + len), allocates nothing
 * and trusts nothing in the image. On success every value in struct
 * elf_image has been checked against the rules below, so a loader may use
 * them without re-checking bounds within the file:
 *   - ELFCLASS64, little-endian, EV_CURRENT, EM_X86_64, ET_EXEC or ET_DYN
 *     (static PIE), e_phentsize 56, program headers inside the file;
 *   - no PT_INTERP (dynamically linked programs are not supported);
 *   - 1..ELF_MAX_LOAD PT_LOAD segments with memsz > 0, in ascending vaddr
 *     order, not overlapping (they may share a page), each with
 *     filesz <= memsz, [offset, offset + filesz) inside the file,
 *     [vaddr, vaddr + memsz) below ELF_USER_LIMIT and
 *     (vaddr - offset) % 4096 == 0. PT_LOADs with memsz 0 are checked the
 *     same way and then left out of load[];
 *   - at most one PT_TLS, its image inside the file and the user half.
 * Addresses are as in the file: for ET_DYN the loader adds its load bias
 * and must itself check that [bias + lowest vaddr, bias + load_end) is in
 * the user half.
 *
 * Self-contained: <stdint.h>, <stddef.h>, <stdbool.h> and <weft/errno.h>.
 */
#ifndef WEFT_ELF_H
#define WEFT_ELF_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define ELF_ET_EXEC 2
#define ELF_ET_DYN  3

#define ELF_PF_X 1
#define ELF_PF_W 2
#define ELF_PF_R 4

#define ELF_MAX_LOAD   16
#define ELF_PHENT_SIZE 56
#define ELF_USER_LIMIT 0x0000800000000000ULL   /* end of the user half */

struct elf_segment {
	uint64_t vaddr, memsz;
	uint64_t offset, filesz;   /* the file bytes; the rest of memsz is zero */
	uint64_t align;            /* p_align as stored (not checked) */
	uint32_t flags;            /* ELF_PF_* bits only */
};

struct elf_image {
	unsigned type;             /* ELF_ET_EXEC, or ELF_ET_DYN (static PIE) */
	uint64_t entry;            /* e_entry, before any load bias (not checked) */

	/* The program header table: phnum entries of phentsize bytes at file
	 * offset phoff (AT_PHENT, AT_PHNUM). phdr_vaddr is where it is in
	 * memory (AT_PHDR): PT_PHDR's vaddr, else computed from the PT_LOAD
	 * whose file bytes hold it; 0 when neither exists. */
	uint64_t phoff;
	unsigned phnum, phentsize;
	uint64_t phdr_vaddr;

	unsigned nload;
	struct elf_segment load[ELF_MAX_LOAD];
	uint64_t load_end;         /* vaddr + memsz of the last load[] */

	bool has_tls;              /* PT_TLS: the initial image of the TLS block */
	struct elf_segment tls;

	/* PT_GNU_STACK's flags; without one, R|W|X (the traditional
	 * executable-stack default) and has_gnu_stack false. */
	bool has_gnu_stack;
	uint32_t stack_flags;

	const char *error;         /* NULL on success; else why it was rejected,
				      a static string, e.g. for the console */
};

/* Check the len-byte ELF file at image and describe it in *out (all of
 * which is overwritten). Returns 0, or -ENOEXEC with out->error set; after
 * a rejection the other fields of *out mean nothing. */
int elf_parse(const void *image, size_t len, struct elf_image *out);
#endif
