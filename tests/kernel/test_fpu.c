/*
 * test_fpu.c - the user FPU/SSE/AVX state module (arch/x86_64/fpu.c).
 *
 * Suite `fpu`: CPU setup (CR0/CR4/XCR0), area allocation, a bit-exact
 * save/restore round trip of every register the enabled components hold
 * (x87 stack and control word, XMM/YMM/ZMM, MXCSR, opmask), the initial
 * state, and Linux signal-frame conversion: layout and magic numbers, a
 * round trip through a frame, legacy-only frames, rejection of frames
 * that would make XRSTOR fault, and the allocation-free ways signals use:
 * the image written to user memory in pieces, a frame checked in place.
 *
 * How registers are reached: the kernel is compiled with -mno-sse
 * -mgeneral-regs-only, so C code never touches x87/SSE/AVX registers and
 * they cannot be named as asm operands or clobbers (GCC rejects "xmm0" or
 * "st" in a clobber list for this target). The asm below names them in
 * its text only, with memory operands. Not declaring them clobbered is
 * safe because nothing compiled here ever allocates them; the registers
 * belong to user threads, whose state the scheduler saved when it
 * switched to this kernel thread. A kernel thread's FPU state is not
 * saved across a switch, so every sequence that must see its own register
 * contents from load to read-back runs with preemption off (interrupt
 * handlers never use these registers).
 *
 * Every x87 exception stays masked and MXCSR keeps all its masks, so the
 * loads and stores here can never raise #MF or #XM.
 */
#include <weft/ktest.h>
#include <weft/preempt.h>
#include <weft/kmalloc.h>
#include <weft/string.h>
#include <weft/errno.h>
#include <arch/fpu.h>
#include <weft/vm.h>
#include <weft/uaccess.h>
#include <arch/cpu.h>
#include <stdbool.h>
#include <stdint.h>

#define XF_AVX    (1ULL << 2)
#define XF_AVX512 (7ULL << 5)

/* Everything the tests load and read back. vec[n] is register n from its
 * low byte: XMM in bytes 0..15, the YMM upper half in 16..31, the ZMM
 * upper half in 32..63. */
struct regs {
	uint8_t vec[32][64];
	uint8_t st[8][10];      /* st[0] = ST(0) */
	uint16_t fcw, fsw;
	uint32_t mxcsr;
	uint16_t k[8];
	uint8_t ftw;            /* abridged tag word: bit i set = physical register i in use */
};

/* Too big for a kernel stack, and the tests run one at a time in thread 0. */
static struct regs ra, rb, ref, out;
static uint8_t fx[512] __attribute__((aligned(64)));

/* How many vector registers the enabled components hold, and how wide. */
static unsigned vec_count(void) { return (fpu_xfeatures() & XF_AVX512) ? 32 : 16; }
static unsigned vec_width(void)
{
	uint64_t x = fpu_xfeatures();
	return (x & XF_AVX512) ? 64 : (x & XF_AVX) ? 32 : 16;
}
static bool has_opmask(void) { return fpu_xfeatures() & XF_AVX512; }

#define REGS_0_15(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) \
	X(12) X(13) X(14) X(15)
#define REGS_16_31(X) X(16) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24) X(25) \
	X(26) X(27) X(28) X(29) X(30) X(31)
#define REGS_K(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

static void vec_load(unsigned n, const uint8_t *p, unsigned w)
{
	switch (n) {
#define L(n)                                                                             \
	case n:                                                                          \
		if (w == 64)                                                             \
			__asm__ volatile("vmovdqu64 (%0), %%zmm" #n : : "r"(p) : "memory"); \
		else if (w == 32)                                                        \
			__asm__ volatile("vmovdqu (%0), %%ymm" #n : : "r"(p) : "memory");   \
		else                                                                     \
			__asm__ volatile("movdqu (%0), %%xmm" #n : : "r"(p) : "memory");    \
		break;
		REGS_0_15(L)
#undef L
#define L(n)                                                                             \
	case n:                                                                          \
		__asm__ volatile("vmovdqu64 (%0), %%zmm" #n : : "r"(p) : "memory");     \
		break;
		REGS_16_31(L)
#undef L
	}
}

static void vec_store(unsigned n, uint8_t *p, unsigned w)
{
	switch (n) {
#define S(n)                                                                             \
	case n:                                                                          \
		if (w == 64)                                                             \
			__asm__ volatile("vmovdqu64 %%zmm" #n ", (%0)" : : "r"(p) : "memory"); \
		else if (w == 32)                                                        \
			__asm__ volatile("vmovdqu %%ymm" #n ", (%0)" : : "r"(p) : "memory");   \
		else                                                                     \
			__asm__ volatile("movdqu %%xmm" #n ", (%0)" : : "r"(p) : "memory");    \
		break;
		REGS_0_15(S)
#undef S
#define S(n)                                                                             \
	case n:                                                                          \
		__asm__ volatile("vmovdqu64 %%zmm" #n ", (%0)" : : "r"(p) : "memory");     \
		break;
		REGS_16_31(S)
#undef S
	}
}

static void k_load(unsigned n, const uint16_t *p)
{
	switch (n) {
#define L(n) case n: __asm__ volatile("kmovw (%0), %%k" #n : : "r"(p) : "memory"); break;
		REGS_K(L)
#undef L
	}
}

static void k_store(unsigned n, uint16_t *p)
{
	switch (n) {
#define S(n) case n: __asm__ volatile("kmovw %%k" #n ", (%0)" : : "r"(p) : "memory"); break;
		REGS_K(S)
#undef S
	}
}

/* Load every register of `r` that the enabled components hold. The x87
 * stack is emptied first (FNINIT), then filled: ST(0) = st[0]. */
static void regs_load(const struct regs *r)
{
	__asm__ volatile("fninit\n\tfldcw (%0)" : : "r"(&r->fcw) : "memory");
	for (int i = 7; i >= 0; i--)
		__asm__ volatile("fldt (%0)" : : "r"(r->st[i]) : "memory");
	__asm__ volatile("ldmxcsr (%0)" : : "r"(&r->mxcsr) : "memory");
	unsigned w = vec_width();
	for (unsigned n = 0; n < vec_count(); n++)
		vec_load(n, r->vec[n], w);
	if (has_opmask())
		for (unsigned n = 0; n < 8; n++)
			k_load(n, &r->k[n]);
}

/* Read every register back into `r`. With pop_x87 the eight x87
 * registers are popped into r->st (so the stack must be full); without,
 * the x87 stack is left alone and r->st stays zero. */
static void regs_store(struct regs *r, bool pop_x87)
{
	memset(r, 0, sizeof *r);
	__asm__ volatile("fnstcw (%0)" : : "r"(&r->fcw) : "memory");
	__asm__ volatile("fnstsw (%0)" : : "r"(&r->fsw) : "memory");
	__asm__ volatile("stmxcsr (%0)" : : "r"(&r->mxcsr) : "memory");
	__asm__ volatile("fxsaveq (%0)" : : "r"(fx) : "memory"); /* for the tag word only */
	r->ftw = fx[4];
	unsigned w = vec_width();
	for (unsigned n = 0; n < vec_count(); n++)
		vec_store(n, r->vec[n], w);
	if (has_opmask())
		for (unsigned n = 0; n < 8; n++)
			k_store(n, &r->k[n]);
	if (pop_x87)
		for (unsigned i = 0; i < 8; i++)
			__asm__ volatile("fstpt (%0)" : : "r"(r->st[i]) : "memory");
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 31;
	x *= 0x9e3779b97f4a7c15ULL;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	return x ^ (x >> 32);
}

/* A pattern that differs from any other seed's in every register. x87
 * values are normal numbers (explicit integer bit set), so FLD/FSTP of
 * the 80-bit format is exact. Both FCW values mask every exception and
 * keep reserved bit 6 set; both MXCSR values keep every mask and only use
 * bits every MXCSR_MASK has (not DAZ). */
static void make_pattern(struct regs *r, unsigned seed)
{
	memset(r, 0, sizeof *r);
	for (unsigned n = 0; n < 32; n++)
		for (unsigned j = 0; j < 64; j += 8) {
			uint64_t v = mix(((uint64_t)seed << 32) | (n << 8) | j);
			memcpy(&r->vec[n][j], &v, 8);
		}
	for (unsigned i = 0; i < 8; i++) {
		uint64_t mant = (1ULL << 63) | (mix(seed * 1000 + i) >> 1);
		uint16_t exp = (uint16_t)((0x3fff - 40 + i * 9 + seed * 3) | ((i + seed) & 1 ? 0x8000 : 0));
		memcpy(r->st[i], &mant, 8);
		memcpy(r->st[i] + 8, &exp, 2);
	}
	r->fcw = (seed & 1) ? 0x0f7f : 0x027f;
	r->mxcsr = (seed & 1) ? 0xffbf : 0x3f81;
	for (unsigned n = 0; n < 8; n++)
		r->k[n] = (uint16_t)mix(seed * 77 + n);
}

/* Back to the initial state, so nothing the tests loaded lingers. */
static void regs_reset(void)
{
	void *a = fpu_area_alloc();
	if (a) {
		fpu_area_init(a);
		fpu_restore(a);
		fpu_area_free(a);
	}
}

/* Compare what the enabled components hold; report the first difference. */
static bool regs_same(struct ktest_ctx *t, const char *what, const struct regs *got,
		      const struct regs *want, bool with_x87_stack)
{
	unsigned w = vec_width();
	for (unsigned n = 0; n < vec_count(); n++)
		for (unsigned j = 0; j < w; j++)
			if (got->vec[n][j] != want->vec[n][j]) {
				KT_EXPECT(t, false, "%s: vector register %u byte %u is %#x, want %#x",
					  what, n, j, got->vec[n][j], want->vec[n][j]);
				return false;
			}
	if (with_x87_stack)
		for (unsigned i = 0; i < 8; i++)
			if (memcmp(got->st[i], want->st[i], 10)) {
				KT_EXPECT(t, false, "%s: ST(%u) differs", what, i);
				return false;
			}
	bool ok = KT_EXPECT(t, got->fcw == want->fcw, "%s: FCW %#x, want %#x", what, got->fcw,
			    want->fcw);
	ok &= KT_EXPECT(t, got->fsw == want->fsw, "%s: FSW %#x, want %#x", what, got->fsw,
			want->fsw);
	ok &= KT_EXPECT(t, got->ftw == want->ftw, "%s: FTW %#x, want %#x", what, got->ftw,
			want->ftw);
	ok &= KT_EXPECT(t, got->mxcsr == want->mxcsr, "%s: MXCSR %#x, want %#x", what,
			got->mxcsr, want->mxcsr);
	if (has_opmask())
		for (unsigned n = 0; n < 8; n++)
			ok &= KT_EXPECT(t, got->k[n] == want->k[n], "%s: k%u %#x, want %#x", what, n,
					got->k[n], want->k[n]);
	return ok;
}

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

KTEST(fpu, cpu_setup)
{
	uint64_t cr0 = read_cr0(), cr4 = read_cr4();
	KT_EXPECT(t, (cr0 & (1 << 1)) && (cr0 & (1 << 5)), "CR0.MP/NE not set: %#lx",
		  (unsigned long)cr0);
	KT_EXPECT(t, !(cr0 & (1 << 2)) && !(cr0 & (1 << 3)), "CR0.EM/TS set: %#lx",
		  (unsigned long)cr0);
	KT_EXPECT(t, (cr4 & (1 << 9)) && (cr4 & (1 << 10)), "CR4.OSFXSR/OSXMMEXCPT not set: %#lx",
		  (unsigned long)cr4);
	KT_EXPECT_EQ(t, !!(cr4 & (1 << 18)), cpu_features.xsave);
	size_t size = fpu_area_size();
	KT_EXPECT(t, size >= 512 && size % 64 == 0, "area size %lu", (unsigned long)size);
	if (!cpu_features.xsave) {
		KT_EXPECT_EQ(t, fpu_xfeatures(), 0);
		KT_EXPECT_EQ(t, size, 512);
		KT_EXPECT_EQ(t, fpu_sigframe_size(), 512);
		return;
	}
	uint64_t x = fpu_xfeatures();
	KT_EXPECT_EQ(t, xgetbv0(), x);
	KT_EXPECT_EQ(t, x & 3, 3);
	KT_EXPECT(t, !(x & ~0xe7ULL), "unexpected components %#lx", (unsigned long)x);
	KT_EXPECT_EQ(t, !!(x & XF_AVX), cpu_features.avx);
	uint32_t a, b, c, d;
	cpuid(0xd, 0, &a, &b, &c, &d);
	KT_EXPECT(t, size >= b && size < b + 64, "area %lu bytes, CPUID says %u",
		  (unsigned long)size, b);
	KT_EXPECT_EQ(t, fpu_sigframe_size(), size + 4);
	ktest_diag(t, "XCR0 %#lx, area %lu bytes", (unsigned long)x, (unsigned long)size);
}

KTEST(fpu, area_alloc_aligned)
{
	void *areas[40];
	unsigned n = 0;
	for (; n < 40; n++) {
		areas[n] = fpu_area_alloc();
		if (!areas[n])
			break;
		memset(areas[n], 0xa5, fpu_area_size()); /* the whole area is ours */
	}
	KT_EXPECT_EQ(t, n, 40);
	for (unsigned i = 0; i < n; i++)
		KT_EXPECT(t, (uintptr_t)areas[i] % 64 == 0, "area %p not 64-byte aligned", areas[i]);
	for (unsigned i = 0; i < n; i++)
		fpu_area_free(areas[i]);
	fpu_area_free(NULL);
}

KTEST(fpu, save_restore_round_trip)
{
	void *area = fpu_area_alloc();
	KT_ASSERT(t, area, "no memory");
	fpu_area_init(area);
	make_pattern(&ra, 1);
	make_pattern(&rb, 2);

	preempt_disable();
	regs_load(&ra);
	regs_store(&ref, true);    /* what the registers hold with pattern A */
	regs_load(&rb);
	regs_store(&out, true);    /* ... and with pattern B */
	regs_load(&ra);
	fpu_save(area);
	regs_load(&rb);            /* clobber everything */
	fpu_restore(area);
	struct regs *got = &rb;    /* pattern B is not needed any more */
	regs_store(got, true);
	regs_reset();
	preempt_enable();

	/* The patterns really reached the registers, and differ throughout. */
	unsigned w = vec_width();
	for (unsigned n = 0; n < vec_count(); n++)
		KT_EXPECT(t, !memcmp(ref.vec[n], ra.vec[n], w), "vector %u did not load", n);
	KT_EXPECT(t, !memcmp(ref.st, ra.st, sizeof ra.st), "x87 stack did not load");
	KT_EXPECT_EQ(t, ref.fcw, ra.fcw);
	KT_EXPECT_EQ(t, ref.mxcsr, ra.mxcsr);
	KT_EXPECT_EQ(t, ref.ftw, 0xff);            /* all eight in use */
	for (unsigned n = 0; n < vec_count(); n++)
		KT_EXPECT(t, memcmp(out.vec[n], ref.vec[n], 16), "patterns agree in vector %u", n);
	KT_EXPECT(t, ref.fcw != out.fcw && ref.mxcsr != out.mxcsr, "patterns agree in controls");

	regs_same(t, "after restore", got, &ref, true);
	fpu_area_free(area);
}

/* Dirty every register with pattern `seed`, restore `area` over it: the
 * registers must hold the initial state (all zero, FCW 0x037f, MXCSR
 * 0x1f80). */
static void expect_initial(struct ktest_ctx *t, const void *area, unsigned seed, const char *what)
{
	make_pattern(&ra, seed);
	preempt_disable();
	regs_load(&ra);
	fpu_restore(area);
	regs_store(&out, false);
	regs_reset();
	preempt_enable();

	memset(&ref, 0, sizeof ref);
	ref.fcw = 0x037f;
	ref.mxcsr = 0x1f80;
	regs_same(t, what, &out, &ref, false);
}

KTEST(fpu, initial_state)
{
	void *area = fpu_area_alloc();
	KT_ASSERT(t, area, "no memory");
	fpu_area_init(area);
	expect_initial(t, area, 3, "initial state");
	KT_EXPECT_EQ(t, fpu_read_mxcsr_from_area(area), 0x1f80);
	KT_EXPECT_EQ(t, fpu_read_fcw_from_area(area), 0x037f);
	fpu_area_free(area);
}

/* The registers of pattern `r` as they come back from a frame that kept
 * only the legacy part: the rest of every vector register is zero. */
static void legacy_only(struct regs *r)
{
	for (unsigned n = 0; n < 32; n++)
		memset(r->vec[n] + (n < 16 ? 16 : 0), 0, n < 16 ? 48 : 64);
	memset(r->k, 0, sizeof r->k);
}

/* Restore `area` over pattern B and read the registers into `out`. */
static void restore_and_read(const void *area)
{
	make_pattern(&rb, 2);
	preempt_disable();
	regs_load(&rb);
	fpu_restore(area);
	regs_store(&out, true);
	regs_reset();
	preempt_enable();
}

/* Load pattern `seed` into the registers, read them back into `ref` and
 * save them into `area` (fresh from fpu_area_init()). */
static void save_pattern(void *area, unsigned seed)
{
	fpu_area_init(area);
	make_pattern(&ra, seed);
	preempt_disable();
	regs_load(&ra);
	regs_store(&ref, true);
	regs_load(&ra);
	fpu_save(area);
	regs_reset();
	preempt_enable();
}

/* The signal frame `frame` is accepted into a fresh area `b`, and
 * restoring `b` gives the registers of `ref`. */
static void expect_frame_loads(struct ktest_ctx *t, void *b, const uint8_t *frame, size_t fsize,
			       const char *what)
{
	fpu_area_init(b);
	int r = fpu_from_sigframe(b, frame, fsize);
	KT_EXPECT(t, r == 0, "%s: fpu_from_sigframe() returned %d", what, r);
	restore_and_read(b);
	regs_same(t, what, &out, &ref, true);
}

KTEST(fpu, sigframe_round_trip)
{
	size_t fsize = fpu_sigframe_size(), asize = fpu_area_size();
	uint64_t xf = fpu_xfeatures();
	void *a = fpu_area_alloc(), *b = fpu_area_alloc();
	uint8_t *frame = kmalloc(fsize), *copy = kmalloc(fsize), *snap = kmalloc(asize);
	if (!a || !b || !frame || !copy || !snap) {
		KT_EXPECT(t, false, "no memory");
		goto out;
	}
	save_pattern(a, 5);

	memset(frame, 0xee, fsize);
	KT_EXPECT_EQ(t, fpu_to_sigframe(a, frame), 0);
	/* struct _fpstate: cwd at 0, mxcsr at 24, _st at 32, _xmm at 160. */
	KT_EXPECT_EQ(t, frame[0] | frame[1] << 8, ra.fcw);
	KT_EXPECT_EQ(t, rd32(frame + 24), ra.mxcsr);
	KT_EXPECT(t, !memcmp(frame + 32, ra.st[0], 10), "ST(0) not at offset 32");
	KT_EXPECT(t, !memcmp(frame + 160 + 16 * 15, ra.vec[15], 16), "XMM15 not at offset 400");
	if (xf) {
		/* struct _fpx_sw_bytes at 464: magic1, extended_size, xfeatures,
		 * xstate_size; magic2 right after the XSAVE state. */
		KT_EXPECT_EQ(t, rd32(frame + 464), FP_XSTATE_MAGIC1);
		KT_EXPECT_EQ(t, rd32(frame + 468), fsize);
		KT_EXPECT_EQ(t, rd64(frame + 472), xf);
		KT_EXPECT_EQ(t, rd32(frame + 480), asize);
		for (unsigned off = 484; off < 512; off += 4)
			KT_EXPECT_EQ(t, rd32(frame + off), 0);
		KT_EXPECT_EQ(t, rd32(frame + asize), FP_XSTATE_MAGIC2);
		uint64_t bv = rd64(frame + 512);
		KT_EXPECT(t, (bv & 3) == 3 && !(bv & ~xf), "XSTATE_BV %#lx", (unsigned long)bv);
		KT_EXPECT_EQ(t, rd64(frame + 520), 0);  /* XCOMP_BV: standard format */
		if (xf & XF_AVX) {
			/* YMM_Hi128 at CPUID 0xD sub 2's offset. */
			uint32_t ea, eb, ec, ed;
			cpuid(0xd, 2, &ea, &eb, &ec, &ed);
			KT_EXPECT(t, !memcmp(frame + eb + 16 * 3, ra.vec[3] + 16, 16),
				  "YMM3's upper half not at %u", eb + 48);
		}
	}

	expect_frame_loads(t, b, frame, fsize, "through a frame");

	/* Frames that would make XRSTOR fault are refused, the area untouched. */
	memcpy(snap, b, asize);
	memcpy(copy, frame, fsize);
	wr32(copy + 24, ra.mxcsr | 0x80000000u);
	KT_EXPECT_EQ(t, fpu_from_sigframe(b, copy, fsize), -EINVAL);
	uint32_t mask = rd32(frame + 28);        /* MXCSR_MASK as the CPU wrote it */
	if (mask && ~mask & 0xffff) {
		uint32_t bit = ~mask & 0xffff & -(~mask & 0xffff);
		wr32(copy + 24, ra.mxcsr | bit);
		KT_EXPECT_EQ(t, fpu_from_sigframe(b, copy, fsize), -EINVAL);
	}
	KT_EXPECT_EQ(t, fpu_from_sigframe(b, frame, 100), -EINVAL);
	if (xf) {
		uint64_t unknown = ~xf & -~xf;       /* the lowest component not enabled */
		memcpy(copy, frame, fsize);
		wr64(copy + 512, rd64(frame + 512) | unknown);
		KT_EXPECT_EQ(t, fpu_from_sigframe(b, copy, fsize), -EINVAL);
		wr64(copy + 512, rd64(frame + 512) | (1ULL << 63));
		KT_EXPECT_EQ(t, fpu_from_sigframe(b, copy, fsize), -EINVAL);
		memcpy(copy, frame, fsize);
		wr64(copy + 520, (1ULL << 63) | xf);  /* XCOMP_BV: compacted */
		KT_EXPECT_EQ(t, fpu_from_sigframe(b, copy, fsize), -EINVAL);
		memcpy(copy, frame, fsize);
		copy[512 + 40] = 1;                   /* a reserved header byte */
		KT_EXPECT_EQ(t, fpu_from_sigframe(b, copy, fsize), -EINVAL);
	}
	KT_EXPECT(t, !memcmp(snap, b, asize), "a refused frame changed the area");
out:
	kfree(frame);
	kfree(copy);
	kfree(snap);
	fpu_area_free(a);
	fpu_area_free(b);
}

KTEST(fpu, sigframe_legacy_only)
{
	size_t fsize = fpu_sigframe_size(), asize = fpu_area_size();
	uint64_t xf = fpu_xfeatures();
	if (!xf) {
		ktest_skip(t, "no XSAVE: every frame is legacy-only");
		return;
	}
	void *a = fpu_area_alloc(), *b = fpu_area_alloc();
	uint8_t *frame = kmalloc(fsize), *copy = kmalloc(fsize);
	if (!a || !b || !frame || !copy) {
		KT_EXPECT(t, false, "no memory");
		goto out;
	}
	save_pattern(a, 7);
	fpu_to_sigframe(a, frame);
	legacy_only(&ref);

	/* No magic1: only the FXSAVE part counts (a program that built its
	 * own frame); x87, XMM and MXCSR come back, the rest is initial. */
	memcpy(copy, frame, fsize);
	wr32(copy + 464, 0);
	expect_frame_loads(t, b, copy, fsize, "no magic1");

	/* magic1 without magic2: the same. Unknown XSTATE_BV bits do not
	 * matter then, the header is not used. */
	memcpy(copy, frame, fsize);
	wr32(copy + asize, 0);
	wr64(copy + 512, ~0ULL);
	expect_frame_loads(t, b, copy, fsize, "no magic2");

	/* xstate_size larger than this machine's: not an XSAVE frame. */
	memcpy(copy, frame, fsize);
	wr32(copy + 480, (uint32_t)asize + 64);
	expect_frame_loads(t, b, copy, fsize, "xstate_size too big");

	/* sw_bytes.xfeatures without AVX: AVX and above come back initial. */
	if (xf & XF_AVX) {
		memcpy(copy, frame, fsize);
		wr64(copy + 472, 3);
		expect_frame_loads(t, b, copy, fsize, "xfeatures x87|SSE");
	}
out:
	kfree(frame);
	kfree(copy);
	fpu_area_free(a);
	fpu_area_free(b);
}

/* XSAVEOPT leaves a component in its initial state unwritten (its
 * XSTATE_BV bit clear, its bytes whatever they were): the frame must show
 * the initial values, and mark x87 and SSE present, as Linux does. */
KTEST(fpu, sigframe_initial_components)
{
	size_t fsize = fpu_sigframe_size(), asize = fpu_area_size();
	uint64_t xf = fpu_xfeatures();
	if (!xf) {
		ktest_skip(t, "no XSAVE header without XSAVE");
		return;
	}
	uint8_t *a = fpu_area_alloc(), *frame = kmalloc(fsize);
	if (!a || !frame) {
		KT_EXPECT(t, false, "no memory");
		goto out;
	}
	memset(a, 0x5a, asize);             /* stale bytes everywhere */
	wr32(a + 24, 0x1f80);               /* MXCSR is always written */
	memset(a + 512, 0, 64);             /* XSTATE_BV = 0: everything initial */
	KT_EXPECT_EQ(t, fpu_to_sigframe(a, frame), 0);
	KT_EXPECT_EQ(t, frame[0] | frame[1] << 8, 0x037f);
	bool zero = true;
	for (unsigned i = 2; i < 24; i++)
		zero &= frame[i] == 0;
	for (unsigned i = 32; i < 416; i++)
		zero &= frame[i] == 0;
	for (unsigned i = 576; i < asize; i++)
		zero &= frame[i] == 0;
	KT_EXPECT(t, zero, "initial components not written as zero");
	KT_EXPECT_EQ(t, rd64(frame + 512), 3);
	KT_EXPECT_EQ(t, rd32(frame + asize), FP_XSTATE_MAGIC2);

	/* And it loads as the initial state. */
	KT_EXPECT_EQ(t, fpu_from_sigframe(a, frame, fsize), 0);
	expect_initial(t, a, 9, "initial frame");
out:
	kfree(frame);
	fpu_area_free(a);
}

/* Signal delivery writes the frame image straight to user memory in
 * 256-byte pieces (fpu_sigframe_to_user, no allocation): the bytes must be
 * exactly fpu_to_sigframe()'s, whichever components are initial; and
 * rt_sigreturn checks an image copied into the area itself
 * (fpu_from_sigframe(a, a, ..)) with the same result as from a separate
 * buffer. */
KTEST(fpu, sigframe_pieces_to_user)
{
	size_t fsize = fpu_sigframe_size(), asize = fpu_area_size();
	uint64_t xf = fpu_xfeatures();
	const uint64_t va = 0x400000;
	struct mm *mm = mm_create();
	KT_ASSERT(t, mm, "mm_create failed");
	uint8_t *a = fpu_area_alloc(), *b = fpu_area_alloc(), *c = fpu_area_alloc();
	uint8_t *frame = kmalloc(fsize), *back = kmalloc(fsize);
	int r;
	if (!a || !b || !c || !frame || !back ||
	    vm_map_populate(mm, va, 4 * 4096, PROT_READ | PROT_WRITE, "test", NULL, 0, 0) < 0) {
		KT_EXPECT(t, false, "no memory");
		goto out;
	}
	mm_activate(mm);
	/* bv: everything present, x87 only (SSE, AVX.. initial), nothing. */
	const uint64_t bvs[] = { xf, 1, 0 };
	for (unsigned k = 0; k < (xf ? 3 : 1); k++) {
		save_pattern(a, 11 + k);
		if (xf) {
			memset(a + 576, 0x5a, asize - 576);   /* stale bytes in initial parts */
			wr64(a + 512, bvs[k]);
		}
		fpu_to_sigframe(a, frame);
		memset(back, 0xee, fsize);
		r = fpu_sigframe_to_user(a, va + 64);
		KT_EXPECT_EQ(t, r, 0);
		r = copy_from_user(back, va + 64, fsize);
		KT_EXPECT_EQ(t, r, 0);
		KT_EXPECT(t, !memcmp(back, frame, fsize), "bv %#lx: the pieces differ from the image",
			  (unsigned long)(xf ? bvs[k] : 0));
		/* in place, as rt_sigreturn does it */
		memcpy(c, frame, fsize);
		r = fpu_from_sigframe(b, frame, fsize);
		KT_EXPECT_EQ(t, r, 0);
		r = fpu_from_sigframe(c, c, fsize);   /* once: it changes c */
		KT_EXPECT_EQ(t, r, 0);
		size_t d = 0;
		while (d < asize && b[d] == c[d])
			d++;
		KT_EXPECT(t, d == asize, "bv %#lx: in place differs at byte %zu (%#x, %#x)",
			  (unsigned long)(xf ? bvs[k] : 0), d, d < asize ? b[d] : 0, d < asize ? c[d] : 0);
	}
	r = fpu_sigframe_to_user(a, 0x7ffffffff000ULL - 64);   /* runs past USER_TOP */
	KT_EXPECT_EQ(t, r, -EFAULT);
	mm_activate(NULL);
out:
	kfree(frame);
	kfree(back);
	fpu_area_free(a);
	fpu_area_free(b);
	fpu_area_free(c);
	mm_put(mm);
}
