/* errno.h - error numbers, with Linux's values (the system-call ABI). */
#ifndef WEFT_ERRNO_H
#define WEFT_ERRNO_H
#define EPERM      1
#define ENOENT     2
#define ESRCH      3
#define EINTR      4
#define EIO        5
#define EAGAIN     11
#define ENOMEM     12
#define EFAULT     14
#define EBUSY      16
#define EINVAL     22
#define ENOSYS     38
#define ETIMEDOUT  110
#endif
