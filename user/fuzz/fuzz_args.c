/* fuzz_args.c - argument values that matter: zero, -1, page edges,
 * unmapped and kernel-half addresses, huge lengths, ranges that overlap
 * what this worker mapped before. See fuzz.h for what each may point at. */
#include "fuzz.h"

#define USER_TOP FZ_USER_TOP

uint64_t fz_gen_int(struct fz_rng *r)
{
	static const uint64_t v[] = {
		0, 1, 2, 3, 7, 8, 15, 16, 64, 255, 4095, 4096, 4097, 65535, 0x7fffffff, 0x80000000,
		0xffffffff, 0x100000000, 0x7fffffffffffffff, 0x8000000000000000, -1UL, -2UL, -4096UL,
	};
	switch (fz_below(r, 4)) {
	case 0:
		return fz_next(r);
	case 1:
		return fz_below(r, 64);
	default:
		return FZ_PICK(r, v);
	}
}

uint64_t fz_gen_len(struct fz_rng *r)
{
	static const uint64_t v[] = {
		0, 1, 7, 8, 15, 16, 24, 64, 128, 4095, 4096, 4097, 8191, 8192, 65536, 1UL << 20,
		1UL << 31, 1UL << 32, 1UL << 47, 1UL << 63, -1UL, -4096UL, 0x7fffffffffffffff,
	};
	return fz_chance(r, 25) ? fz_below(r, 3 * FZ_PAGE) : FZ_PICK(r, v);
}

uint64_t fz_gen_bad_ptr(struct fz_rng *r)
{
	static const uint64_t v[] = {
		0, 1, 8, 0xfff, 0x1000,                         /* the null page and just above */
		USER_TOP, USER_TOP - 1, USER_TOP - 8,            /* the last page's end */
		0x0000800000000000, 0x00007fffffffffff,          /* first non-canonical, last canonical */
		0x8000000000000000, 0xffff7fffffffffff,          /* non-canonical */
		0xffff800000000000, 0xffffc00000000000,          /* kernel half: direct map, stacks */
		0xffffffff80000000, 0xffffffff80100000,          /* kernel image */
		-1UL, -8UL, -4096UL,
	};
	return FZ_PICK(r, v);
}

/* Above user space: no mapping can make these readable (for writes to
 * the console, which must never print). */
uint64_t fz_gen_kernel_ptr(struct fz_rng *r)
{
	static const uint64_t v[] = {
		0x0000800000000000, 0x8000000000000000, 0xffff7fffffffffff, 0xffff800000000000,
		0xffffc00000000000, 0xffffffff80000000, -1UL, -8UL, -4096UL,
	};
	return FZ_PICK(r, v);
}

/* A page of the arena, an offset in it, sometimes straddling its end. */
static uint64_t arena_ptr(struct fz_rng *r)
{
	uint64_t page = FZ_ARENA_BASE + fz_below(r, FZ_ARENA_PAGES) * FZ_PAGE;
	switch (fz_below(r, 3)) {
	case 0:
		return page;
	case 1:
		return page + FZ_PAGE - 1 - fz_below(r, 16);   /* a few bytes before the next page */
	default:
		return page + fz_below(r, FZ_PAGE);
	}
}

uint64_t fz_gen_ptr(struct fz_worker *w)
{
	struct fz_rng *r = &w->rng;
	uint64_t junk = fz_env.junk, end = junk + FZ_JUNK_PAGES * FZ_PAGE;
	switch (fz_below(r, 10)) {
	case 0: case 1: case 2:
		return junk + (fz_below(r, FZ_JUNK_PAGES * FZ_PAGE) & ~7UL);
	case 3:
		return end - 1 - fz_below(r, 24);               /* running into the PROT_NONE page */
	case 4:
		return end + FZ_PAGE + fz_below(r, FZ_PAGE);    /* the read-only page */
	case 5:
		return end + 2 * FZ_PAGE - 1 - fz_below(r, 16); /* read-only, then whatever follows */
	case 6: case 7:
		return arena_ptr(r);
	default:
		return fz_gen_bad_ptr(r);
	}
}

uint64_t fz_gen_in_ptr(struct fz_worker *w)
{
	if (fz_chance(&w->rng, 10))
		return (uint64_t)(uintptr_t)&fz_gen_in_ptr + fz_below(&w->rng, 256);   /* our text */
	return fz_gen_ptr(w);
}

void fz_note_map(struct fz_worker *w, uint64_t addr, uint64_t len)
{
	w->maps[fz_below(&w->rng, FZ_MAPS)] = (struct fz_map){ addr, len };
}

/* Where a call that changes mappings may aim: the arena, a mapping this
 * worker made, or an address that must be refused. Never our image, heap,
 * stacks or junk region. */
uint64_t fz_gen_mm_addr(struct fz_worker *w)
{
	struct fz_rng *r = &w->rng;
	switch (fz_below(r, 8)) {
	case 0: case 1: case 2: case 3:
		return FZ_ARENA_BASE + fz_below(r, FZ_ARENA_PAGES) * FZ_PAGE;
	case 4: {
		struct fz_map *m = &w->maps[fz_below(r, FZ_MAPS)];
		if (!m->addr)
			return FZ_ARENA_BASE;
		return m->addr + (fz_chance(r, 50) ? 0 : fz_below(r, m->len / FZ_PAGE) * FZ_PAGE);
	}
	case 5:
		return FZ_ARENA_BASE + fz_below(r, FZ_ARENA_PAGES * FZ_PAGE);   /* unaligned, mostly */
	default:
		/* Refused everywhere, or below the image (fz_gen_mm_len keeps
		 * a range from 0 under 4 MiB, where nothing of ours lives). */
		return fz_gen_bad_ptr(r);
	}
}

uint64_t fz_mm_room(struct fz_worker *w, uint64_t addr)
{
	if (addr >= FZ_ARENA_BASE && addr < FZ_ARENA_BASE + FZ_ARENA_PAGES * FZ_PAGE)
		return FZ_ARENA_BASE + FZ_ARENA_PAGES * FZ_PAGE - addr;
	for (int i = 0; i < FZ_MAPS; i++)
		if (addr >= w->maps[i].addr && addr < w->maps[i].addr + w->maps[i].len)
			return w->maps[i].addr + w->maps[i].len - addr;
	return addr < 0x400000 ? 0x400000 - addr : FZ_PAGE;   /* below the image; else small */
}

/* A length for addr that stays inside what addr may touch: to the arena's
 * end at most (or a mapping's), or so huge that the range wraps or leaves
 * user space. munmap and mmap refuse those; Linux's mprotect and madvise
 * apply them up to the first hole, which follows the arena (nothing of
 * ours is mapped right above it) but not our own mappings (top-down
 * placement packs them under the junk region): huge lengths only from
 * the arena or from addresses that are not user ones. */
uint64_t fz_gen_mm_len(struct fz_worker *w, uint64_t addr)
{
	struct fz_rng *r = &w->rng;
	static const uint64_t huge[] = { 1UL << 47, 1UL << 63, -1UL, -4096UL, 1UL << 62 };
	bool in_arena = addr >= FZ_ARENA_BASE && addr < FZ_ARENA_BASE + FZ_ARENA_PAGES * FZ_PAGE;
	uint64_t room = fz_mm_room(w, addr);
	switch (fz_below(r, 6)) {
	case 0:
		return 0;
	case 1:
		if (in_arena || addr >= (1UL << 47))
			return FZ_PICK(r, huge);
		return room;
	case 2:
		return 1 + fz_below(r, room < 3 * FZ_PAGE ? room : 3 * FZ_PAGE);   /* unaligned */
	default: {
		uint64_t n = (1 + fz_below(r, room / FZ_PAGE ? room / FZ_PAGE : 1)) * FZ_PAGE;
		return n > room ? room : n;   /* whole pages, up to the end of the room */
	}
	}
}

/* A struct timespec in the worker's build area (slot 0..7), or a bad
 * pointer, or junk. *bound_ns grows by how long it may make a call wait
 * (0: no bound). */
uint64_t fz_gen_timespec(struct fz_worker *w, int slot, uint64_t *bound_ns)
{
	struct fz_rng *r = &w->rng;
	int64_t *ts = (int64_t *)&w->build[448 + 2 * slot];
	switch (fz_below(r, 10)) {
	case 0:
		*bound_ns = 0;
		return fz_gen_ptr(w);
	case 1:
		ts[0] = 0x7fffffffffffffff;   /* forever, until a signal */
		ts[1] = (int64_t)fz_below(r, 1000000000);
		*bound_ns = 0;
		break;
	case 2: {
		static const int64_t bad_ns[] = { -1, 1000000000, 0x7fffffffffffffff, -1000000000 };
		ts[0] = fz_chance(r, 50) ? -1 : 0;
		ts[1] = FZ_PICK(r, bad_ns);   /* EINVAL */
		break;
	}
	default:
		ts[0] = 0;
		ts[1] = (int64_t)fz_below(r, 2000000);   /* up to 2 ms */
		if (*bound_ns < (uint64_t)ts[1])
			*bound_ns = (uint64_t)ts[1] + 1;
		break;
	}
	return (uint64_t)(uintptr_t)ts;
}

uint64_t fz_gen_own_tid(struct fz_worker *w)
{
	struct fz_rng *r = &w->rng;
	switch (fz_below(r, 8)) {
	case 0:
		return 0;
	case 1:
		return -1UL;
	case 2:
		return 0x7ffffff0;   /* above any pid_max: no one */
	case 3:
		return (uint64_t)fz_env.pid;
	default:
		return (uint64_t)fz_env.tids[fz_below(r, fz_env.nworkers)];
	}
}

/* Signals a worker may send: default-ignored ones, whose action may be
 * anything harmless, and ones whose handler stays the no-op; plus 0 (a
 * probe) and numbers out of range. */
int fz_gen_sent_signal(struct fz_rng *r)
{
	static const int v[] = { 0, 12, 17, 23, 28, 40, 63, 0, 65, -1, 1000 };
	return FZ_PICK(r, v);
}

/* A futex word: one of the shared pool (where workers meet), or any. */
int fz_gen_futex_word(struct fz_worker *w, uint64_t *addr)
{
	if (fz_chance(&w->rng, 80)) {
		int i = (int)fz_below(&w->rng, FZ_POOL_WORDS);
		*addr = (uint64_t)(uintptr_t)&fz_env.pool[i];
		return fz_env.pool[i];
	}
	*addr = fz_gen_ptr(w);
	return (int)fz_below(&w->rng, 4);
}
