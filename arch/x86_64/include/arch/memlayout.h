/* memlayout.h - weft's virtual address map (x86-64, 4-level paging).
 *
 *   0x0000000000000000 .. 0x00007fffffffffff  user space (issue 4)
 *   0xffff800000000000 .. +64 TiB             direct map of all physical memory
 *                                             (2 MiB pages, read-write, no-execute)
 *   0xffffc00000000000 .. +1 TiB              kernel stacks: each slot is an unmapped
 *                                             guard page followed by the stack pages
 *   0xffffd00000000000 ..                     device registers (ioremap), uncached
 *   0xffffffff80000000 .. +2 GiB              the kernel image (kernel code model),
 *                                             physical 0x100000 appears at +0x100000
 *
 * The upper half (PML4 slots 256..511) is shared by every address space.
 */
#ifndef ARCH_MEMLAYOUT_H
#define ARCH_MEMLAYOUT_H

#define KERNEL_VMA      0xffffffff80000000
#define KERNEL_PHYS     0x100000
#define DIRECT_MAP_BASE 0xffff800000000000
#define KSTACK_BASE     0xffffc00000000000
#define KSTACK_AREA     0x0000010000000000 /* 1 TiB */

#ifndef __ASSEMBLER__
#include <stdint.h>
/* Physical address -> direct-map pointer, and back. */
static inline void *phys_to_virt(uint64_t pa) { return (void *)(pa + DIRECT_MAP_BASE); }
static inline uint64_t virt_to_phys(const void *va)
{
	uint64_t v = (uint64_t)va;
	return v >= KERNEL_VMA ? v - KERNEL_VMA : v - DIRECT_MAP_BASE;
}
/* Kernel-image symbol -> physical address (valid for symbols in the image only). */
#define kimg_to_phys(sym) ((uint64_t)(sym) - KERNEL_VMA)
#endif
#endif
