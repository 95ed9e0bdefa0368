/*
 * sys_mm.c - the memory system calls: brk, mmap, munmap, mprotect,
 * madvise. Thin: argument checks here, the work in mm/vm.c.
 */
#include <weft/syscall.h>
#include <weft/process.h>
#include <weft/vm.h>
#include <weft/errno.h>

#define MADV_DONTNEED 4

long sys_brk(uint64_t addr) { return (long)vm_brk(current_process()->mm, addr); }

long sys_mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, uint64_t fd,
	      uint64_t off)
{
	(void)off;
	unsigned type = flags & 0x0f;
	if (type != MAP_PRIVATE && type != MAP_SHARED)
		return -EINVAL;
	if (!(flags & MAP_ANONYMOUS))
		return (int)fd < 0 ? -EBADF : -ENODEV;   /* no files to map yet */
	/* Within one process, a shared anonymous mapping behaves like a
	 * private one: weft has no fork to share it with. */
	return vm_mmap(current_process()->mm, addr, len, (unsigned)prot, (unsigned)flags);
}

long sys_munmap(uint64_t addr, uint64_t len) { return vm_munmap(current_process()->mm, addr, len); }

long sys_mprotect(uint64_t addr, uint64_t len, uint64_t prot)
{
	return vm_mprotect(current_process()->mm, addr, len, (unsigned)prot);
}

/* Accepted; MADV_DONTNEED really drops the pages (they read back as
 * zeros), which is what allocators that use it expect. */
long sys_madvise(uint64_t addr, uint64_t len, uint64_t advice)
{
	if (addr & 0xfff)
		return -EINVAL;
	if (advice == MADV_DONTNEED)
		return vm_discard(current_process()->mm, addr, len);
	return 0;
}
