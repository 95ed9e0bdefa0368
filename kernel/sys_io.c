/*
 * sys_io.c - read, write, writev, ioctl on the three standard descriptors.
 *
 * weft has no file system yet: fd 0 reads the console (interrupt-driven
 * serial input), fds 1 and 2 write to the console, or to the process's
 * capture buffer when a test harness started it. Other descriptors are
 * -EBADF.
 */
#include <weft/syscall.h>
#include <weft/process.h>
#include <weft/console.h>
#include <weft/uaccess.h>
#include <weft/signal.h>
#include <weft/errno.h>
#include <weft/thread.h>

#define CHUNK 256                       /* bytes copied per step, on the stack */
#define IOV_MAX 1024
#define TIOCGWINSZ 0x5413

/*
 * Long writes are interruptible, as a Linux tty's are: before each chunk
 * the thread looks for a reason to stop - a signal it would take (a
 * handler to run, or a default action that ends the process) or a kill
 * (SIGKILL, another thread's exit_group). Then it returns what it has
 * written so far, or -ERESTARTSYS if that is nothing (restarted after an
 * SA_RESTART handler, -EINTR otherwise; a killed thread never sees it).
 * A console byte costs an I/O exit, so without this a 16 MiB write kept
 * its thread in the kernel, deaf to SIGKILL, for seconds.
 */
long sys_write(uint64_t fd, uint64_t buf, uint64_t len)
{
	if (fd != 1 && fd != 2)
		return fd == 0 ? -EBADF : -EBADF;
	if ((int64_t)len < 0)
		return -EINVAL;
	if (!access_ok(buf, len))
		return -EFAULT;
	char tmp[CHUNK];
	uint64_t done = 0;
	while (done < len) {
		if (thread_interrupted(current()))
			return done ? (long)done : -ERESTARTSYS;
		uint64_t n = len - done < CHUNK ? len - done : CHUNK;
		if (copy_from_user(tmp, buf + done, n) < 0)
			return done ? (long)done : -EFAULT;
		process_write_output(current_process(), tmp, n);
		done += n;
	}
	return (long)done;
}

struct iovec {
	uint64_t base, len;
};

long sys_writev(uint64_t fd, uint64_t uiov, uint64_t cnt)
{
	if (fd != 1 && fd != 2)
		return -EBADF;
	if (cnt > IOV_MAX)
		return -EINVAL;
	long total = 0;
	for (uint64_t i = 0; i < cnt; i++) {
		struct iovec v;
		if (copy_from_user(&v, uiov + i * sizeof v, sizeof v) < 0)
			return total ? total : -EFAULT;
		if (!v.len)
			continue;
		long r = sys_write(fd, v.base, v.len);
		if (r < 0)
			return total ? total : r;
		total += r;
		if ((uint64_t)r < v.len)
			break;   /* cut short (a signal, a kill): report what was written */
	}
	return total;
}

/* Blocks until at least one byte is there, then takes what is buffered
 * (like a terminal in raw mode). A signal interrupts the wait. */
long sys_read(uint64_t fd, uint64_t buf, uint64_t len)
{
	if (fd != 0)
		return fd <= 2 ? -EBADF : -EBADF;
	if (len == 0)
		return 0;
	if (!access_ok(buf, len))
		return -EFAULT;
	if (current_process()->capture)
		return 0;                     /* test processes see an empty stdin */
	int c = console_getc_interruptible();
	if (c < 0)
		return -ERESTARTSYS;
	char tmp[CHUNK];
	uint64_t n = 0;
	tmp[n++] = (char)(c == '\r' ? '\n' : c);
	while (n < len && n < CHUNK && tmp[n - 1] != '\n' && (c = console_trygetc()) >= 0)
		tmp[n++] = (char)(c == '\r' ? '\n' : c);
	return copy_to_user(buf, tmp, n) < 0 ? -EFAULT : (long)n;
}

struct winsize {
	uint16_t rows, cols, xpixel, ypixel;
};

long sys_ioctl(uint64_t fd, uint64_t cmd, uint64_t arg)
{
	if (fd > 2)
		return -EBADF;
	if (cmd != TIOCGWINSZ)
		return -ENOTTY;
	if (current_process()->capture)
		return -ENOTTY;               /* captured output is not a terminal */
	struct winsize ws = { 24, 80, 0, 0 };   /* a serial console has no real size */
	return copy_to_user(arg, &ws, sizeof ws) < 0 ? -EFAULT : 0;
}
