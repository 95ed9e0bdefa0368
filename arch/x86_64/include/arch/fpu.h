/* fpu.h - user FPU/SSE/AVX state (arch/x86_64/fpu.c).
 *
 * The kernel itself never uses these registers (it is built with
 * -mno-sse -mgeneral-regs-only); only user threads own state, in an
 * XSAVE area (FXSAVE's 512 bytes on CPUs without XSAVE) that the context
 * switch saves and restores eagerly (CR0.TS stays clear: no #NM).
 *
 * An area is in the standard (non-compacted) XSAVE format: the 512-byte
 * FXSAVE image, the 64-byte XSAVE header at 512, then each enabled
 * component at the offset CPUID 0xD gives. MXCSR is at offset 24 and the
 * x87 control word at 0 in both formats.
 *
 * The one rule for callers. fpu_save() uses XSAVEOPT when the CPU has it,
 * which may skip writing a component the registers still hold unchanged
 * since the last fpu_restore() from the *same address* on this CPU. So
 * after software writes an area whose registers are live (fpu_area_init,
 * fpu_from_sigframe, memcpy on the running thread's area), call
 * fpu_restore() on it before the next fpu_save() into it - which is what
 * loading the new state needs anyway. A new area must be restored before
 * it is first saved into.
 */
#ifndef ARCH_FPU_H
#define ARCH_FPU_H
#include <stdint.h>
#include <stddef.h>

/* Per CPU, before any user code: CR0 (MP, NE; EM and TS clear), CR4
 * (OSFXSR, OSXMMEXCPT, OSXSAVE), XCR0, FNINIT. The first call picks the
 * mechanism and prints it; calling again is harmless. */
void fpu_init_cpu(void);
/* Bytes of a save area: CPUID 0xD's size for the enabled XCR0, rounded up
 * to 64; 512 with FXSAVE only. Valid after fpu_init_cpu(). */
size_t fpu_area_size(void);
/* The XCR0 in use (x87|SSE|AVX...), 0 when only FXSAVE is available. */
uint64_t fpu_xfeatures(void);

/* A 64-byte aligned area (NULL if out of memory), contents undefined,
 * with room for fpu_sigframe_size() bytes (rt_sigreturn copies a frame
 * image into it in place);
 * free with fpu_area_free (NULL is fine). */
void *fpu_area_alloc(void);
void fpu_area_free(void *area);
/* The state a new program starts with: FCW 0x37f, all x87 registers
 * empty, MXCSR 0x1f80, every vector register zero. */
void fpu_area_init(void *area);

/* This CPU's registers (every enabled component) to/from `area`. Callers
 * keep preemption off or interrupts off across a save/restore pair that
 * must see the same registers. */
void fpu_save(void *area);
void fpu_restore(const void *area);

/* The MXCSR recorded in an area (for SIGFPE codes after #XM). */
uint32_t fpu_read_mxcsr_from_area(const void *area);
/* The x87 control and status words recorded in an area (after #MF). */
uint16_t fpu_read_fcw_from_area(const void *area);
uint16_t fpu_read_fsw_from_area(const void *area);

/* Linux signal frames: the FPU state as user space sees it (struct
 * _fpstate, 64-byte aligned in the user's frame). With XSAVE: the area in
 * standard format whose bytes 464..511 hold struct _fpx_sw_bytes (magic1
 * FP_XSTATE_MAGIC1, extended_size = fpu_sigframe_size(), xfeatures =
 * XCR0, xstate_size = fpu_area_size()), and FP_XSTATE_MAGIC2 (4 bytes) at
 * offset xstate_size. Without XSAVE: the 512-byte FXSAVE image. */
#define FP_XSTATE_MAGIC1 0x46505853U
#define FP_XSTATE_MAGIC2 0x46505845U
size_t fpu_sigframe_size(void);
/* Fill `buf` (fpu_sigframe_size() bytes, any alignment) from `area`, as
 * saved by fpu_save(). Components in their initial state are written out
 * with their initial values, and the x87 and SSE bits of XSTATE_BV are
 * always set, so a program reading the legacy part sees real values.
 * Returns 0. */
int fpu_to_sigframe(const void *area, void *buf);
/* The same image written to user address `uaddr`, 256 bytes at a time
 * through a buffer on the kernel stack: signal delivery allocates
 * nothing, however large the area (AVX-512: ~2.7 KiB). 0, or -EFAULT.
 * May fault user pages in and sleep: the area must hold what fpu_save()
 * left; a switch meanwhile saves the same registers into it again, and
 * XSTATE_BV is read once, so the image stays consistent. */
int fpu_sigframe_to_user(const void *area, uint64_t uaddr);
/* Validate a frame that came back from user space (`len` bytes, normally
 * fpu_sigframe_size()) and, if it is good, write it into `area` as state
 * that fpu_restore() loads without faulting: 0, or -EINVAL with the area
 * untouched. Checked: MXCSR against the CPU's MXCSR_MASK; XSTATE_BV within
 * XCR0; XCOMP_BV and the reserved header bytes zero. A frame without both
 * magic numbers (or with inconsistent sizes) restores only its legacy
 * 512 bytes, and every other component becomes initial, as on Linux. */
int fpu_from_sigframe(void *area, const void *buf, size_t len);
/* buf may also be the area itself (image copied in place: an area from
 * fpu_area_alloc() has room for fpu_sigframe_size() bytes); then it is
 * checked and fixed in place, and on -EINVAL its contents are garbage. */
#endif
