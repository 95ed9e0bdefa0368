/*
 * fpu.c - saving and restoring user FPU/SSE/AVX state.
 *
 * With XSAVE: CR4.OSXSAVE, XCR0 = every state component among x87, SSE,
 * AVX (and the three AVX-512 ones) that the CPU supports; areas use the
 * standard (non-compacted) format, which is also what a Linux signal
 * frame holds, so signal delivery is a copy. XSAVEOPT when present (it
 * skips components still in their initial state). Without XSAVE:
 * FXSAVE/FXRSTOR, 512 bytes.
 *
 * User data is never fed to XRSTOR/FXRSTOR unchecked: fpu_from_sigframe
 * rejects reserved MXCSR bits and unknown state components, which would
 * make the restore fault in the kernel.
 */
#include <arch/fpu.h>
#include <arch/cpu.h>
#include <weft/kmalloc.h>
#include <weft/string.h>
#include <weft/errno.h>
#include <weft/printk.h>

#define CR0_MP (1UL << 1)
#define CR0_EM (1UL << 2)
#define CR0_TS (1UL << 3)
#define CR0_NE (1UL << 5)
#define CR4_OSFXSR     (1UL << 9)
#define CR4_OSXMMEXCPT (1UL << 10)
#define CR4_OSXSAVE    (1UL << 18)
#define XFEATURES_KNOWN 0xe7ULL          /* x87 SSE AVX, opmask ZMM_Hi256 Hi16_ZMM */
#define MAGIC1 0x46505853U
#define MAGIC2 0x46505845U
#define SW_BYTES 464                      /* offset of fpx_sw_bytes in the legacy area */

static uint64_t xfeatures;               /* XCR0; 0 = FXSAVE only */
static size_t area_size = 512;
static bool use_xsaveopt;
static uint32_t mxcsr_mask = 0xffbf;     /* refined from FXSAVE at init */
static bool initialized;

static void xsetbv(uint32_t reg, uint64_t v)
{
	__asm__ volatile("xsetbv" : : "c"(reg), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

void fpu_init_cpu(void)
{
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
	uint64_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (cpu_features.xsave)
		cr4 |= CR4_OSXSAVE;
	write_cr4(cr4);
	if (cpu_features.xsave) {
		uint32_t a, b, c, d;
		cpuid(0xd, 0, &a, &b, &c, &d);
		xfeatures = (((uint64_t)d << 32) | a) & XFEATURES_KNOWN;
		if ((xfeatures & 0xe0) != 0xe0)
			xfeatures &= ~0xe0ULL;        /* AVX-512 only as a whole */
		xsetbv(0, xfeatures);
		cpuid(0xd, 0, &a, &b, &c, &d);    /* EBX: size for the enabled XCR0 */
		area_size = (b + 63) & ~63U;
		cpuid(0xd, 1, &a, &b, &c, &d);
		use_xsaveopt = a & 1;
	}
	__asm__ volatile("fninit");
	if (!initialized) {
		static uint8_t probe[512] __attribute__((aligned(16)));
		__asm__ volatile("fxsave %0" : "=m"(probe));
		uint32_t m;
		memcpy(&m, probe + 28, 4);
		if (m)
			mxcsr_mask = m;
		initialized = true;
		pr_info("fpu: %s, features %#lx, area %lu bytes\n",
			xfeatures ? (use_xsaveopt ? "XSAVEOPT" : "XSAVE") : "FXSAVE",
			(unsigned long)xfeatures, (unsigned long)area_size);
	}
}

size_t fpu_area_size(void) { return area_size; }
uint64_t fpu_xfeatures(void) { return xfeatures; }

/* kmalloc gives 16-byte alignment at least; XSAVE needs 64: over-allocate
 * and keep the real pointer just below the aligned area. */
void *fpu_area_alloc(void)
{
	uint8_t *raw = kmalloc(area_size + 64 + 8);
	if (!raw)
		return NULL;
	uint8_t *a = (uint8_t *)(((uintptr_t)raw + 8 + 63) & ~(uintptr_t)63);
	((void **)a)[-1] = raw;
	/* XSAVE never writes the header's reserved bytes; they must be zero
	 * for the area to be a valid signal frame later. */
	memset(a, 0, area_size);
	return a;
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
	uint16_t fcw = 0x37f;
	uint32_t mxcsr = 0x1f80;
	memcpy(p, &fcw, 2);
	memcpy(p + 24, &mxcsr, 4);
	if (xfeatures) {
		uint64_t bv = 3;                  /* x87 and SSE as written; the rest initial */
		memcpy(p + 512, &bv, 8);
	}
}

void fpu_save(void *area)
{
	if (!xfeatures)
		__asm__ volatile("fxsaveq (%0)" : : "r"(area) : "memory");
	else if (use_xsaveopt)
		__asm__ volatile("xsaveoptq (%0)" : : "r"(area), "a"(-1), "d"(-1) : "memory");
	else
		__asm__ volatile("xsaveq (%0)" : : "r"(area), "a"(-1), "d"(-1) : "memory");
}

void fpu_restore(const void *area)
{
	if (!xfeatures)
		__asm__ volatile("fxrstorq (%0)" : : "r"(area) : "memory");
	else
		__asm__ volatile("xrstorq (%0)" : : "r"(area), "a"(-1), "d"(-1) : "memory");
}

size_t fpu_sigframe_size(void) { return area_size + 4; }

void fpu_to_sigframe(const void *area, void *buf)
{
	uint8_t *b = buf;
	memcpy(b, area, area_size);
	/* struct _fpx_sw_bytes: magic1, extended_size, xfeatures, xstate_size */
	uint32_t sw[12] = { 0 };
	sw[0] = xfeatures ? MAGIC1 : 0;
	sw[1] = (uint32_t)area_size + 4;
	sw[2] = (uint32_t)xfeatures;
	sw[3] = (uint32_t)(xfeatures >> 32);
	sw[4] = (uint32_t)area_size;
	memcpy(b + SW_BYTES, sw, sizeof sw);
	uint32_t m2 = MAGIC2;
	memcpy(b + area_size, &m2, 4);
}

int fpu_from_sigframe(void *area, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	if (len < 512)
		return -EINVAL;
	uint32_t mxcsr;
	memcpy(&mxcsr, b + 24, 4);
	if (mxcsr & ~mxcsr_mask)
		return -EINVAL;
	uint32_t magic1, m2 = 0;
	memcpy(&magic1, b + SW_BYTES, 4);
	bool full = xfeatures && magic1 == MAGIC1 && len >= area_size + 4;
	if (full)
		memcpy(&m2, b + area_size, 4);
	if (full && m2 == MAGIC2) {
		uint64_t bv, hdr[8];
		memcpy(hdr, b + 512, 64);
		bv = hdr[0];
		if ((bv & ~xfeatures) || hdr[1] /* XCOMP_BV: standard format only */)
			return -EINVAL;
		for (int i = 2; i < 8; i++)
			if (hdr[i])
				return -EINVAL;   /* reserved header bytes must be zero */
		memcpy(area, b, area_size);
		return 0;
	}
	/* Only the legacy part: the rest of the state returns to initial. */
	uint8_t *a = area;
	memcpy(a, b, 512);
	if (xfeatures) {
		memset(a + 512, 0, area_size - 512);
		uint64_t bv = 3;
		memcpy(a + 512, &bv, 8);
	}
	return 0;
}
