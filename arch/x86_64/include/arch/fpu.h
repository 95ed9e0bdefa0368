/* fpu.h - user FPU/SSE/AVX state (arch/x86_64/fpu.c).
 *
 * The kernel itself never uses these registers (it is built with
 * -mno-sse -mgeneral-regs-only); only user threads own state, in an
 * XSAVE area (FXSAVE's 512 bytes on CPUs without XSAVE) that the context
 * switch saves and restores eagerly.
 */
#ifndef ARCH_FPU_H
#define ARCH_FPU_H
#include <stdint.h>
#include <stddef.h>

/* Per CPU: CR0/CR4 bits, XCR0. Idempotent. */
void fpu_init_cpu(void);
size_t fpu_area_size(void);
/* The XCR0 in use (x87|SSE|AVX...), 0 when only FXSAVE is available. */
uint64_t fpu_xfeatures(void);
/* A 64-byte aligned area (NULL if out of memory); free with fpu_area_free. */
void *fpu_area_alloc(void);
void fpu_area_free(void *area);
/* The state a new program starts with: FCW 0x37f, MXCSR 0x1f80, all zero. */
void fpu_area_init(void *area);
void fpu_save(void *area);
void fpu_restore(const void *area);

/* Linux signal frames: the FPU state as user space sees it (fxsave layout,
 * the software-reserved "fpx_sw_bytes" at 464, then the XSAVE header and
 * extended state, then FP_XSTATE_MAGIC2). */
size_t fpu_sigframe_size(void);
void fpu_to_sigframe(const void *area, void *buf);
/* Validate and take a frame back: 0, or -EINVAL (the area is untouched). */
int fpu_from_sigframe(void *area, const void *buf, size_t len);
#endif
