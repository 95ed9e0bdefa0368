/* uaccess.h - the only way the kernel touches user memory.
 *
 * Every user pointer a system call receives is checked to lie below
 * USER_TOP and copied by the routines in arch/x86_64/uaccess.S, whose
 * memory instructions have exception-table fix-ups: a page that is not
 * mapped is first offered to vm_fault() (lazy memory), and if that fails
 * the copy stops and returns -EFAULT instead of faulting the kernel.
 * With SMAP the kernel cannot touch user pages at all outside these
 * routines (they bracket the access with STAC/CLAC).
 *
 * Call them with interrupts enabled and no spinlock or mm->lock held: a
 * fault may sleep in vm_fault().
 */
#ifndef WEFT_UACCESS_H
#define WEFT_UACCESS_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <weft/paging.h>

/* [p, p + n) lies entirely in the user half (n may be 0). */
static inline bool access_ok(uint64_t p, size_t n)
{
	return p <= USER_TOP && n <= USER_TOP - p;
}

/* Raw copies, in arch/x86_64/uaccess.S: 0 on success, -EFAULT if any byte
 * faulted (the destination may then be partly written). No range check. */
int __copy_user(void *dst, const void *src, size_t n);
int __clear_user(void *dst, size_t n);
/* Atomic compare-and-exchange of a user u32 (futexes): 0 and *old updated
 * to the value found, or -EFAULT. */
int __user_cmpxchg32(uint32_t *uaddr, uint32_t *old, uint32_t new_val);

static inline int copy_from_user(void *dst, uint64_t usrc, size_t n)
{
	return access_ok(usrc, n) ? __copy_user(dst, (const void *)usrc, n) : -14;
}

static inline int copy_to_user(uint64_t udst, const void *src, size_t n)
{
	return access_ok(udst, n) ? __copy_user((void *)udst, src, n) : -14;
}

static inline int clear_user(uint64_t udst, size_t n)
{
	return access_ok(udst, n) ? __clear_user((void *)udst, n) : -14;
}

static inline int get_user_u32(uint32_t *v, uint64_t uaddr)
{
	return copy_from_user(v, uaddr, sizeof *v);
}

static inline int put_user_u32(uint64_t uaddr, uint32_t v)
{
	return copy_to_user(uaddr, &v, sizeof v);
}

static inline int get_user_u64(uint64_t *v, uint64_t uaddr)
{
	return copy_from_user(v, uaddr, sizeof *v);
}

static inline int put_user_u64(uint64_t uaddr, uint64_t v)
{
	return copy_to_user(uaddr, &v, sizeof v);
}

static inline int user_cmpxchg32(uint64_t uaddr, uint32_t *old, uint32_t new_val)
{
	if ((uaddr & 3) || !access_ok(uaddr, 4))
		return -14;
	return __user_cmpxchg32((uint32_t *)uaddr, old, new_val);
}

/* Copy a NUL-terminated user string of at most max-1 characters into dst.
 * Returns its length, -EFAULT, or -ENAMETOOLONG. */
long strncpy_from_user(char *dst, uint64_t usrc, size_t max);

/* Set at boot when CR4.SMAP is on: uaccess.S brackets accesses with STAC/CLAC. */
extern uint8_t uaccess_smap;
#endif
