/*
 * exec.c - loading a static ELF program from the initramfs into a fresh
 * address space, with the initial stack the SysV x86-64 ABI prescribes.
 *
 * The stack, from its top down (addresses decreasing):
 *
 *     the strings: the program's path (AT_EXECFN), "x86_64", argv[], envp[]
 *     16 random bytes (AT_RANDOM)
 *     (padding to 16)
 *     auxv: (type, value) pairs, ending with AT_NULL
 *     envp[0..n], NULL
 *     argv[0..n], NULL
 *     argc                      <- RSP at the first instruction, 16-aligned
 *
 * The ELF image is parsed and checked by lib/elf.c; every segment's pages
 * are allocated and filled here (file bytes, then zeros), so the program
 * never faults on its own text or data; only its heap and stack are lazy.
 */
#include <weft/process.h>
#include <weft/exec.h>
#include <weft/vm.h>
#include <weft/elf.h>
#include <weft/pmm.h>
#include <weft/cpio.h>
#include <weft/bootinfo.h>
#include <weft/string.h>
#include <weft/errno.h>
#include <weft/printk.h>
#include <weft/time.h>
#include <arch/memlayout.h>
#include <arch/cpu.h>

#define AT_NULL     0
#define AT_PHDR     3
#define AT_PHENT    4
#define AT_PHNUM    5
#define AT_PAGESZ   6
#define AT_BASE     7
#define AT_FLAGS    8
#define AT_ENTRY    9
#define AT_UID      11
#define AT_EUID     12
#define AT_GID      13
#define AT_EGID     14
#define AT_PLATFORM 15
#define AT_HWCAP    16
#define AT_CLKTCK   17
#define AT_SECURE   23
#define AT_RANDOM   25
#define AT_HWCAP2   26
#define AT_EXECFN   31

#define PIE_BASE    0x0000555555554000ULL   /* where static-PIE programs go */
#define MAX_ARGS    256
#define MAX_STRINGS (64 * 1024)            /* bytes of argv + envp strings */

int initramfs_find(const char *path, const void **data, size_t *size)
{
	if (!boot_info.nmodules)
		return -ENOENT;
	const struct boot_module *m = &boot_info.modules[0];
	return cpio_find(phys_to_virt(m->start), m->end - m->start, path, data, size);
}

static unsigned prot_of(uint32_t pflags)
{
	return (pflags & ELF_PF_R ? PROT_READ : 0) | (pflags & ELF_PF_W ? PROT_WRITE : 0) |
	       (pflags & ELF_PF_X ? PROT_EXEC : 0);
}

/* Map every PT_LOAD; returns the highest end (for brk) or -errno. */
static int64_t load_segments(struct mm *mm, const uint8_t *image, const struct elf_image *img,
			     uint64_t bias)
{
	uint64_t top = 0, prev_end = 0;
	for (unsigned i = 0; i < img->nload; i++) {
		const struct elf_segment *s = &img->load[i];
		uint64_t va = s->vaddr + bias;
		uint64_t start = va & ~(uint64_t)PAGE_MASK;
		uint64_t end = (va + s->memsz + PAGE_MASK) & ~(uint64_t)PAGE_MASK;
		const uint8_t *src = image + s->offset;
		uint64_t filesz = s->filesz;
		if (start < prev_end) {
			/* Shares its first page with the previous segment: fill
			 * that part through the existing mapping. */
			uint64_t head = prev_end - va < filesz ? prev_end - va : filesz;
			if (head && vm_write(mm, va, src, head) < 0)
				return -ENOMEM;
			src += head;
			filesz -= head;
			va = start = prev_end;
		}
		if (end > start) {
			int r = vm_map_populate(mm, start, end - start, prot_of(s->flags), "elf", src,
						va - start, filesz);
			if (r < 0)
				return r;
		}
		prev_end = end > prev_end ? end : prev_end;
		top = end > top ? end : top;
	}
	return (int64_t)top;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	return x ^ (x >> 33);
}

struct stack_builder {
	struct mm *mm;
	uint64_t sp;     /* grows down */
	int err;
};

static uint64_t push_bytes(struct stack_builder *b, const void *p, size_t n)
{
	b->sp -= n;
	if (!b->err && vm_write(b->mm, b->sp, p, n) < 0)
		b->err = -ENOMEM;
	return b->sp;
}

static uint64_t push_string(struct stack_builder *b, const char *s)
{
	return push_bytes(b, s, strlen(s) + 1);
}

static int count(const char *const v[], size_t *bytes)
{
	int n = 0;
	for (; v && v[n]; n++)
		*bytes += strlen(v[n]) + 1;
	return n;
}

static int build_stack(struct mm *mm, const char *path, const char *const argv[],
		       const char *const envp[], const struct elf_image *img, uint64_t bias,
		       uint64_t *sp_out)
{
	size_t bytes = 0;
	int argc = count(argv, &bytes), envc = count(envp, &bytes);
	if (argc > MAX_ARGS || envc > MAX_ARGS || bytes > MAX_STRINGS)
		return -E2BIG;
	int r = vm_map_lazy(mm, USER_STACK_TOP - USER_STACK_MAX, USER_STACK_MAX,
			    PROT_READ | PROT_WRITE, "stack");
	if (r < 0)
		return r;
	struct stack_builder b = { mm, USER_STACK_TOP, 0 };
	uint64_t execfn = push_string(&b, path);
	uint64_t platform = push_string(&b, "x86_64");
	uint64_t argp[MAX_ARGS + 1], envpp[MAX_ARGS + 1];
	for (int i = argc - 1; i >= 0; i--)
		argp[i] = push_string(&b, argv[i]);
	for (int i = envc - 1; i >= 0; i--)
		envpp[i] = push_string(&b, envp[i]);
	uint64_t rnd[2] = { mix(rdtsc() ^ (uint64_t)mm), mix(rdtsc() + clock_monotonic_ns()) };
	b.sp &= ~15ULL;
	uint64_t random = push_bytes(&b, rnd, sizeof rnd);

	uint32_t a, bx, c, d;
	cpuid(1, 0, &a, &bx, &c, &d);
	uint64_t auxv[][2] = {
		{ AT_PHDR, img->phdr_vaddr + bias }, { AT_PHENT, img->phentsize },
		{ AT_PHNUM, img->phnum }, { AT_PAGESZ, PAGE_SIZE }, { AT_BASE, 0 },
		{ AT_FLAGS, 0 }, { AT_ENTRY, img->entry + bias }, { AT_UID, 0 }, { AT_EUID, 0 },
		{ AT_GID, 0 }, { AT_EGID, 0 }, { AT_PLATFORM, platform }, { AT_HWCAP, d },
		{ AT_CLKTCK, 100 }, { AT_SECURE, 0 }, { AT_RANDOM, random }, { AT_HWCAP2, 0 },
		{ AT_EXECFN, execfn }, { AT_NULL, 0 },
	};
	/* Everything from argc up is 8-byte words; make argc land 16-aligned. */
	size_t words = 1 + (size_t)argc + 1 + (size_t)envc + 1 + 2 * (sizeof auxv / 16);
	b.sp -= (b.sp - words * 8) & 15;
	push_bytes(&b, auxv, sizeof auxv);
	uint64_t zero = 0;
	push_bytes(&b, &zero, 8);
	for (int i = envc - 1; i >= 0; i--)
		push_bytes(&b, &envpp[i], 8);
	push_bytes(&b, &zero, 8);
	for (int i = argc - 1; i >= 0; i--)
		push_bytes(&b, &argp[i], 8);
	uint64_t argc64 = (uint64_t)argc;
	push_bytes(&b, &argc64, 8);
	if (b.err)
		return b.err;
	*sp_out = b.sp;
	return 0;
}

int exec_load(struct mm *mm, const char *path, const char *const argv[], const char *const envp[],
	      struct exec_result *ex)
{
	const void *data;
	size_t size;
	int r = initramfs_find(path, &data, &size);
	if (r < 0) {
		pr_err("exec: %s: not in the initramfs\n", path);
		return r;
	}
	struct elf_image img;
	if ((r = elf_parse(data, size, &img)) < 0) {
		pr_err("exec: %s: not a static x86-64 ELF program (%s)\n", path,
		       img.error ? img.error : "invalid");
		return r;
	}
	uint64_t bias = img.type == ELF_ET_DYN ? PIE_BASE : 0;
	int64_t top = load_segments(mm, data, &img, bias);
	if (top < 0)
		return (int)top;
	mm->brk_start = mm->brk = (uint64_t)top;
	if ((r = build_stack(mm, path, argv, envp, &img, bias, &ex->stack_pointer)) < 0)
		return r;
	ex->entry = img.entry + bias;
	/* The first IRETQ goes there: never to a RIP outside the user half
	 * (non-canonical would fault in ring 0). Linux refuses such a program
	 * with EINVAL too. */
	if (ex->entry >= USER_TOP) {
		pr_err("exec: %s: entry point %#lx outside user space\n", path,
		       (unsigned long)ex->entry);
		return -EINVAL;
	}
	return 0;
}
