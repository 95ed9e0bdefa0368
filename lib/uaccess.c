/*
 * uaccess.c - user-string copying on top of the fault-safe copies in
 * arch/x86_64/uaccess.S. See <weft/uaccess.h>.
 */
#include <weft/uaccess.h>
#include <weft/errno.h>
#include <weft/pmm.h>

long strncpy_from_user(char *dst, uint64_t usrc, size_t max)
{
	size_t n = 0;
	while (n < max) {
		/* Copy up to the end of the current user page only: the string
		 * may end just before an unmapped page. */
		uint64_t src = usrc + n;
		size_t chunk = PAGE_SIZE - (src & PAGE_MASK);
		if (chunk > max - n)
			chunk = max - n;
		if (copy_from_user(dst + n, src, chunk) < 0)
			return -EFAULT;
		for (size_t i = 0; i < chunk; i++)
			if (dst[n + i] == 0)
				return (long)(n + i);
		n += chunk;
	}
	if (max)
		dst[max - 1] = 0;
	return -ENAMETOOLONG;
}
