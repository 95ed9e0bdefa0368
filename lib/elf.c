/* elf.c - validating a static x86-64 ELF64 program; <weft/elf.h> lists
 * the rules and what the result guarantees.
 *
 * Fields are read byte by byte as little-endian, so the image needs no
 * alignment. Every offset and size comes from the file: each is compared
 * with what is left of the file or address space before any addition that
 * could overflow.
 */
#include <weft/elf.h>
#include <weft/errno.h>

#define EHDR_SIZE 64

#define EI_CLASS      4
#define EI_DATA       5
#define EI_VERSION    6
#define ELFCLASS64    2
#define ELFDATA2LSB   1
#define EV_CURRENT    1
#define EM_X86_64     62

#define PT_LOAD       1
#define PT_INTERP     3
#define PT_PHDR       6
#define PT_TLS        7
#define PT_GNU_STACK  0x6474e551u

#define PAGE_MASK     4095u

/* The n-byte little-endian number at p. */
static uint64_t rd(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i > 0; i--)
		v = v << 8 | p[i - 1];
	return v;
}

static int reject(struct elf_image *out, const char *why)
{
	out->error = why;
	return -ENOEXEC;
}

/* Decode the program header at p (ELF_PHENT_SIZE bytes) into *s. */
static uint32_t read_phdr(const uint8_t *p, struct elf_segment *s)
{
	s->flags = (uint32_t)rd(p + 4, 4) & (ELF_PF_R | ELF_PF_W | ELF_PF_X);
	s->offset = rd(p + 8, 8);
	s->vaddr = rd(p + 16, 8);
	s->filesz = rd(p + 32, 8);
	s->memsz = rd(p + 40, 8);
	s->align = rd(p + 48, 8);
	return (uint32_t)rd(p, 4);
}

/* The rules PT_LOAD and PT_TLS share: NULL if s is sound, else why not. */
static const char *check_bounds(const struct elf_segment *s, size_t len)
{
	if (s->filesz > s->memsz)
		return "segment's file size exceeds its memory size";
	if (s->offset > len || s->filesz > len - s->offset)
		return "segment extends past the end of the file";
	if (s->vaddr >= ELF_USER_LIMIT || s->memsz > ELF_USER_LIMIT - s->vaddr)
		return "segment outside the user address space";
	return NULL;
}

/* Check one PT_LOAD and append it to out->load (unless it is empty). */
static int add_load(struct elf_image *out, const struct elf_segment *s, size_t len)
{
	const char *why = check_bounds(s, len);

	if (why)
		return reject(out, why);
	if ((s->vaddr & PAGE_MASK) != (s->offset & PAGE_MASK))
		return reject(out, "segment's address and file offset differ modulo 4096");
	if (s->memsz == 0)
		return 0;
	if (out->nload == ELF_MAX_LOAD)
		return reject(out, "more than 16 loadable segments");
	if (out->nload) {
		const struct elf_segment *prev = &out->load[out->nload - 1];

		if (s->vaddr < prev->vaddr)
			return reject(out, "loadable segments not in ascending address order");
		if (s->vaddr - prev->vaddr < prev->memsz)
			return reject(out, "loadable segments overlap");
	}
	out->load[out->nload++] = *s;
	out->load_end = s->vaddr + s->memsz;
	return 0;
}

static int add_tls(struct elf_image *out, const struct elf_segment *s, size_t len)
{
	const char *why = check_bounds(s, len);

	if (out->has_tls)
		return reject(out, "more than one TLS segment");
	if (why)
		return reject(out, why);
	if (s->align > 1 && (s->align & (s->align - 1)))
		return reject(out, "TLS alignment is not a power of two");
	out->tls = *s;
	out->has_tls = true;
	return 0;
}

/* Is [vaddr, vaddr + size) inside one loadable segment's memory? */
static bool in_load(const struct elf_image *out, uint64_t vaddr, uint64_t size)
{
	for (unsigned i = 0; i < out->nload; i++) {
		const struct elf_segment *s = &out->load[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr <= s->memsz &&
		    size <= s->memsz - (vaddr - s->vaddr))
			return true;
	}
	return false;
}

/* Where the PT_LOAD whose file bytes hold the whole header table puts it. */
static uint64_t phdr_from_loads(const struct elf_image *out)
{
	uint64_t size = (uint64_t)out->phnum * out->phentsize;

	for (unsigned i = 0; i < out->nload; i++) {
		const struct elf_segment *s = &out->load[i];

		if (out->phoff >= s->offset && out->phoff - s->offset <= s->filesz &&
		    size <= s->filesz - (out->phoff - s->offset))
			return s->vaddr + (out->phoff - s->offset);
	}
	return 0;
}

int elf_parse(const void *image, size_t len, struct elf_image *out)
{
	const uint8_t *b = image;
	bool have_phdr = false;
	int r;

	*out = (struct elf_image){ .stack_flags = ELF_PF_R | ELF_PF_W | ELF_PF_X };
	if (!b || len < EHDR_SIZE)
		return reject(out, "too short for an ELF header");
	if (b[0] != 0x7f || b[1] != 'E' || b[2] != 'L' || b[3] != 'F')
		return reject(out, "not an ELF file (bad magic)");
	if (b[EI_CLASS] != ELFCLASS64)
		return reject(out, "not a 64-bit ELF file");
	if (b[EI_DATA] != ELFDATA2LSB)
		return reject(out, "not a little-endian ELF file");
	if (b[EI_VERSION] != EV_CURRENT || rd(b + 20, 4) != EV_CURRENT)
		return reject(out, "unknown ELF version");
	if (rd(b + 18, 2) != EM_X86_64)
		return reject(out, "not an x86-64 program");

	out->type = (unsigned)rd(b + 16, 2);
	out->entry = rd(b + 24, 8);
	out->phoff = rd(b + 32, 8);
	out->phentsize = (unsigned)rd(b + 54, 2);
	out->phnum = (unsigned)rd(b + 56, 2);
	if (out->type != ELF_ET_EXEC && out->type != ELF_ET_DYN)
		return reject(out, "not an executable (ET_EXEC or ET_DYN)");
	if (out->phentsize != ELF_PHENT_SIZE)
		return reject(out, "program header size is not 56");
	if (out->phnum == 0)
		return reject(out, "no program headers");
	if (out->phoff > len || (uint64_t)out->phnum * ELF_PHENT_SIZE > len - out->phoff)
		return reject(out, "program headers extend past the end of the file");

	for (unsigned i = 0; i < out->phnum; i++) {
		struct elf_segment s;
		uint32_t type = read_phdr(b + out->phoff + (uint64_t)i * ELF_PHENT_SIZE, &s);

		switch (type) {
		case PT_INTERP:
			return reject(out, "dynamically linked (PT_INTERP): build it with -static");
		case PT_LOAD:
			if ((r = add_load(out, &s, len)) < 0)
				return r;
			break;
		case PT_TLS:
			if ((r = add_tls(out, &s, len)) < 0)
				return r;
			break;
		case PT_PHDR:
			if (!have_phdr)
				out->phdr_vaddr = s.vaddr;
			have_phdr = true;
			break;
		case PT_GNU_STACK:
			out->has_gnu_stack = true;
			out->stack_flags = s.flags;
			break;
		default:
			break;
		}
	}
	if (!out->nload)
		return reject(out, "no loadable segments");
	/* The TLS initial image is copied from memory by the C library. */
	if (out->has_tls && out->tls.filesz && !in_load(out, out->tls.vaddr, out->tls.filesz))
		return reject(out, "TLS image outside the loadable segments");
	if (!have_phdr)
		out->phdr_vaddr = phdr_from_loads(out);
	return 0;
}
