/*
 * fpu.c - saving and restoring user FPU/SSE/AVX state.
 *
 * With XSAVE: CR4.OSXSAVE, and XCR0 = x87 | SSE, plus AVX and the three
 * AVX-512 components (opmask, ZMM_Hi256, Hi16_ZMM) when the CPU has the
 * feature and CPUID 0xD lists the state. MPX, PKRU, AMX and supervisor
 * states stay off. Areas use the standard (non-compacted) format, which is
 * also what a Linux signal frame holds, so XSAVEC/XSAVES are not used.
 * XSAVEOPT when present (it skips components in their initial state or
 * unchanged since the last XRSTOR from the same address: see the rule in
 * <arch/fpu.h>), else XSAVE; XRSTOR to load. Without XSAVE:
 * FXSAVE/FXRSTOR, 512 bytes. The 64-bit forms (REX.W) keep 64-bit FPU
 * instruction and data pointers.
 *
 * Switching is eager (CR0.TS never set): the scheduler saves and loads
 * the areas of user threads; kernel threads own no state and borrow
 * whatever is loaded.
 *
 * User data is never fed to XRSTOR/FXRSTOR unchecked: fpu_from_sigframe
 * rejects everything that would make the restore raise #GP in the kernel
 * (reserved MXCSR bits, XSTATE_BV bits outside XCR0, a compacted or
 * non-zero reserved header).
 */
#include <arch/fpu.h>
#include <arch/cpu.h>
#include <weft/kmalloc.h>
#include <weft/string.h>
#include <weft/errno.h>
#include <weft/uaccess.h>
#include <weft/printk.h>

#define CR0_MP (1UL << 1)
#define CR0_EM (1UL << 2)
#define CR0_TS (1UL << 3)
#define CR0_NE (1UL << 5)
#define CR4_OSFXSR     (1UL << 9)
#define CR4_OSXMMEXCPT (1UL << 10)
#define CR4_OSXSAVE    (1UL << 18)

#define XF_X87    (1ULL << 0)
#define XF_SSE    (1ULL << 1)
#define XF_AVX    (1ULL << 2)
#define XF_AVX512 (7ULL << 5)             /* opmask, ZMM_Hi256, Hi16_ZMM */
#define NCOMP     8                       /* components weft may enable: 0..7 */

/* The legacy (FXSAVE) region. */
#define LEG_FCW     0
#define LEG_MXCSR   24
#define LEG_MXCSR_MASK 28
#define LEG_ST      32                    /* 8 x 16 bytes */
#define LEG_XMM     160                   /* 16 x 16 bytes */
#define LEG_SW      464                   /* struct _fpx_sw_bytes, 48 bytes */
#define LEG_SIZE    512
#define HDR_SIZE    64                    /* XSAVE header at 512 */
#define MXCSR_DEFAULT 0x1f80U
#define FCW_DEFAULT   0x037fU

enum fpu_insn { USE_FXSAVE, USE_XSAVE, USE_XSAVEOPT };

static enum fpu_insn insn = USE_FXSAVE;
static uint64_t xfeatures;               /* XCR0; 0 = FXSAVE only */
static size_t area_size = LEG_SIZE;
static uint32_t mxcsr_mask = 0xffbf;     /* the architectural default; refined at init */
static uint32_t comp_off[NCOMP], comp_size[NCOMP]; /* standard-format layout, components 2.. */
static bool initialized;

static void xsetbv(uint32_t reg, uint64_t v)
{
	__asm__ volatile("xsetbv" : : "c"(reg), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static void wr64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void wr16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }

/* The XCR0 weft wants on this CPU (the same on every CPU of a machine). */
static uint64_t choose_xfeatures(void)
{
	uint32_t a, b, c, d;
	cpuid(0xd, 0, &a, &b, &c, &d);
	uint64_t supported = ((uint64_t)d << 32) | a;
	uint64_t want = XF_X87 | XF_SSE;
	if (cpu_features.avx && (supported & XF_AVX)) {
		want |= XF_AVX;
		/* AVX-512 only as a whole: XCR0 must set all three or none. */
		if (cpu_features.avx512f && (supported & XF_AVX512) == XF_AVX512)
			want |= XF_AVX512;
	}
	return want;
}

static void describe(char *buf, size_t n)
{
	static const char *const names[NCOMP] = { "x87", "SSE", "AVX", NULL, NULL,
						  "opmask", "ZMM_Hi256", "Hi16_ZMM" };
	size_t len = 0;
	buf[0] = 0;
	for (unsigned i = 0; i < NCOMP; i++) {
		if (!(xfeatures & (1ULL << i)) || !names[i])
			continue;
		size_t l = strlen(names[i]);
		if (len + l + 2 > n)
			break;
		if (len)
			buf[len++] = ' ';
		memcpy(buf + len, names[i], l + 1);
		len += l;
	}
}

void fpu_init_cpu(void)
{
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
	uint64_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (cpu_features.xsave)
		cr4 |= CR4_OSXSAVE;
	write_cr4(cr4);
	if (!initialized && cpu_features.xsave)
		xfeatures = choose_xfeatures();
	if (xfeatures)
		xsetbv(0, xfeatures);
	__asm__ volatile("fninit");
	if (initialized)
		return;

	if (xfeatures) {
		uint32_t a, b, c, d;
		cpuid(0xd, 0, &a, &b, &c, &d); /* EBX: the size for the XCR0 just set */
		area_size = ((size_t)b + 63) & ~(size_t)63;
		for (unsigned i = 2; i < NCOMP; i++) {
			if (!(xfeatures & (1ULL << i)))
				continue;
			cpuid(0xd, i, &a, &b, &c, &d);
			comp_size[i] = a;
			comp_off[i] = b;
		}
		cpuid(0xd, 1, &a, &b, &c, &d);
		insn = (a & 1) ? USE_XSAVEOPT : USE_XSAVE;
	}
	/* MXCSR_MASK: FXSAVE writes it (0 on old CPUs: use the default);
	 * the buffer starts zeroed, as the SDM asks. */
	static uint8_t probe[LEG_SIZE] __attribute__((aligned(16)));
	__asm__ volatile("fxsaveq %0" : "=m"(probe));
	uint32_t m = rd32(probe + LEG_MXCSR_MASK);
	if (m)
		mxcsr_mask = m;
	initialized = true;

	char names[64];
	describe(names, sizeof names);
	static const char *const insn_name[] = { "FXSAVE", "XSAVE", "XSAVEOPT" };
	if (xfeatures)
		pr_info("fpu: %s, features %#lx (%s), area %lu bytes, MXCSR mask %#x\n",
			insn_name[insn], (unsigned long)xfeatures, names, (unsigned long)area_size,
			mxcsr_mask);
	else
		pr_info("fpu: FXSAVE (no XSAVE), x87 SSE, area 512 bytes, MXCSR mask %#x\n",
			mxcsr_mask);
}

size_t fpu_area_size(void) { return area_size; }
uint64_t fpu_xfeatures(void) { return xfeatures; }

/* kmalloc guarantees KMALLOC_ALIGN (16) only; XSAVE needs 64. Over-
 * allocate and keep kmalloc's pointer in the 8 bytes below the area; and
 * FPU_AREA_SLACK bytes after it, so that a whole signal-frame image
 * (fpu_sigframe_size(), MAGIC2 past the area's end) fits in it. */
#define FPU_AREA_SLACK 4
void *fpu_area_alloc(void)
{
	uint8_t *raw = kmalloc(area_size + FPU_AREA_SLACK + 64 + sizeof(void *));
	if (!raw)
		return NULL;
	uintptr_t a = ((uintptr_t)raw + sizeof(void *) + 63) & ~(uintptr_t)63;
	((void **)a)[-1] = raw;
	/* Zeroed: XSAVE never writes the header's reserved bytes, and an
	 * area that is copied before its first restore must be defined. */
	memset((void *)a, 0, area_size);
	return (void *)a;
}

void fpu_area_free(void *area)
{
	if (area)
		kfree(((void **)area)[-1]);
}

void fpu_area_init(void *area)
{
	uint8_t *p = area;
	memset(p, 0, area_size);
	wr16(p + LEG_FCW, FCW_DEFAULT);
	wr32(p + LEG_MXCSR, MXCSR_DEFAULT);
	wr32(p + LEG_MXCSR_MASK, mxcsr_mask);
	if (xfeatures)
		wr64(p + LEG_SIZE, XF_X87 | XF_SSE); /* x87 and SSE as written; the rest initial */
}

void fpu_save(void *area)
{
	if (__builtin_expect(insn == USE_XSAVEOPT, 1))
		__asm__ volatile("xsaveoptq (%0)" : : "r"(area), "a"(-1), "d"(-1) : "memory");
	else if (insn == USE_XSAVE)
		__asm__ volatile("xsaveq (%0)" : : "r"(area), "a"(-1), "d"(-1) : "memory");
	else
		__asm__ volatile("fxsaveq (%0)" : : "r"(area) : "memory");
}

void fpu_restore(const void *area)
{
	if (__builtin_expect(insn != USE_FXSAVE, 1))
		__asm__ volatile("xrstorq (%0)" : : "r"(area), "a"(-1), "d"(-1) : "memory");
	else
		__asm__ volatile("fxrstorq (%0)" : : "r"(area) : "memory");
}

uint32_t fpu_read_mxcsr_from_area(const void *area)
{
	return rd32((const uint8_t *)area + LEG_MXCSR);
}

uint16_t fpu_read_fcw_from_area(const void *area)
{
	const uint8_t *p = area;
	if (xfeatures && !(rd64(p + LEG_SIZE) & XF_X87))
		return FCW_DEFAULT;                /* x87 initial: the bytes may be stale */
	return rd16(p + LEG_FCW);
}

uint16_t fpu_read_fsw_from_area(const void *area)
{
	const uint8_t *p = area;
	if (xfeatures && !(rd64(p + LEG_SIZE) & XF_X87))
		return 0;
	return rd16(p + 2);
}

size_t fpu_sigframe_size(void) { return xfeatures ? area_size + 4 : LEG_SIZE; }

/* The part of [lo, hi) of the frame image that falls in the piece
 * [off, off + n) held at out: zeroed, or (put) set to the bytes of v. */
static void piece_zero(uint8_t *out, size_t off, size_t n, size_t lo, size_t hi)
{
	size_t s = lo > off ? lo : off, e = hi < off + n ? hi : off + n;
	if (s < e)
		memset(out + (s - off), 0, e - s);
}

static void piece_put(uint8_t *out, size_t off, size_t n, size_t at, uint64_t v, size_t len)
{
	uint8_t bytes[8];
	wr64(bytes, v);    /* little-endian: the low `len` bytes are the value */
	for (size_t i = 0; i < len; i++)
		if (at + i >= off && at + i < off + n)
			out[at + i - off] = bytes[i];
}

/* Bytes [off, off + n) of the signal-frame image of `area` (see
 * fpu_to_sigframe), with `bv` the XSTATE_BV read from the area once for
 * the whole image. The image is the area with these changes: the
 * _fpx_sw_bytes, components in their initial state (bv bit clear: XSAVEOPT
 * did not write their bytes) written out with their initial values, x87
 * and SSE marked present as Linux does (so a program that edits only the
 * legacy part gets its edits restored), and FP_XSTATE_MAGIC2 at the end. */
static void sigframe_piece(const uint8_t *area, uint64_t bv, size_t off, uint8_t *out, size_t n)
{
	size_t from_area = off >= area_size ? 0 : off + n <= area_size ? n : area_size - off;
	memcpy(out, area + off, from_area);
	piece_zero(out, off, n, LEG_SW, LEG_SIZE);
	if (!xfeatures)
		return;
	if (!(bv & XF_X87)) {        /* x87 registers empty, FCW default (FNINIT) */
		piece_zero(out, off, n, 0, LEG_MXCSR);
		piece_put(out, off, n, LEG_FCW, FCW_DEFAULT, 2);
		piece_zero(out, off, n, LEG_ST, LEG_XMM);
	}
	if (!(bv & XF_SSE))
		piece_zero(out, off, n, LEG_XMM, LEG_XMM + 256);
	for (unsigned i = 2; i < NCOMP; i++)
		if ((xfeatures & (1ULL << i)) && !(bv & (1ULL << i)))
			piece_zero(out, off, n, comp_off[i], comp_off[i] + comp_size[i]);
	piece_zero(out, off, n, LEG_SIZE, LEG_SIZE + HDR_SIZE);
	piece_put(out, off, n, LEG_SIZE, (bv & xfeatures) | XF_X87 | XF_SSE, 8);
	/* struct _fpx_sw_bytes */
	piece_put(out, off, n, LEG_SW + 0, FP_XSTATE_MAGIC1, 4);
	piece_put(out, off, n, LEG_SW + 4, fpu_sigframe_size(), 4);   /* extended_size */
	piece_put(out, off, n, LEG_SW + 8, xfeatures, 8);
	piece_put(out, off, n, LEG_SW + 16, area_size, 4);            /* xstate_size */
	piece_put(out, off, n, area_size, FP_XSTATE_MAGIC2, 4);
}

static uint64_t area_bv(const void *area)
{
	return xfeatures ? rd64((const uint8_t *)area + LEG_SIZE) : 0;
}

int fpu_to_sigframe(const void *area, void *buf)
{
	sigframe_piece(area, area_bv(area), 0, buf, fpu_sigframe_size());
	return 0;
}

int fpu_sigframe_to_user(const void *area, uint64_t uaddr)
{
	uint8_t piece[256];
	uint64_t bv = area_bv(area);
	size_t size = fpu_sigframe_size();
	for (size_t off = 0; off < size; off += sizeof piece) {
		size_t n = size - off < sizeof piece ? size - off : sizeof piece;
		sigframe_piece(area, bv, off, piece, n);
		if (copy_to_user(uaddr + off, piece, n) < 0)
			return -EFAULT;
	}
	return 0;
}

/* Components (bit set) lying wholly inside the first `size` bytes. */
static uint64_t components_within(uint32_t size)
{
	uint64_t m = XF_X87 | XF_SSE;
	for (unsigned i = 2; i < NCOMP; i++)
		if ((xfeatures & (1ULL << i)) && comp_off[i] + comp_size[i] <= size)
			m |= 1ULL << i;
	return m;
}

int fpu_from_sigframe(void *area, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	uint8_t *a = area;
	if (len < LEG_SIZE)
		return -EINVAL;
	/* FXRSTOR and XRSTOR raise #GP on a reserved MXCSR bit. */
	if (rd32(b + LEG_MXCSR) & ~mxcsr_mask)
		return -EINVAL;
	if (!xfeatures) {
		if (a != b)
			memcpy(a, b, LEG_SIZE);
		memset(a + LEG_SW, 0, LEG_SIZE - LEG_SW);
		return 0;
	}

	/* The extended state counts only with both magic numbers and sizes
	 * that make sense (the checks Linux makes; else: legacy part only). */
	uint32_t magic1 = rd32(b + LEG_SW), ext_size = rd32(b + LEG_SW + 4);
	uint64_t sw_features = rd64(b + LEG_SW + 8);
	uint32_t xsize = rd32(b + LEG_SW + 16);
	bool full = magic1 == FP_XSTATE_MAGIC1 && xsize >= LEG_SIZE + HDR_SIZE &&
		    xsize <= area_size && xsize <= ext_size && (size_t)xsize + 4 <= len &&
		    rd32(b + xsize) == FP_XSTATE_MAGIC2;
	if (!full) {
		if (a != b)
			memcpy(a, b, LEG_SIZE);
		memset(a + LEG_SW, 0, area_size - LEG_SW);
		wr64(a + LEG_SIZE, XF_X87 | XF_SSE);   /* the rest: initial */
		return 0;
	}

	/* XRSTOR (standard form) raises #GP on XSTATE_BV bits outside XCR0
	 * and on non-zero header bytes 8..23; weft wants 8..63 zero. */
	uint64_t bv = rd64(b + LEG_SIZE);
	if (bv & ~xfeatures)
		return -EINVAL;
	for (unsigned off = 8; off < HDR_SIZE; off += 8)
		if (rd64(b + LEG_SIZE + off))
			return -EINVAL;
	/* Linux restores the components sw_bytes.xfeatures names and sets
	 * the others initial; a component past xstate_size is not there. */
	uint64_t keep = sw_features & components_within(xsize);
	if (a != b)
		memcpy(a, b, xsize);
	memset(a + xsize, 0, area_size - xsize);
	memset(a + LEG_SW, 0, LEG_SIZE - LEG_SW);
	wr64(a + LEG_SIZE, bv & keep);
	if (!(keep & (XF_SSE | XF_AVX)))
		wr32(a + LEG_MXCSR, MXCSR_DEFAULT);    /* Linux: MXCSR not restored: initial */
	return 0;
}
