/* linux-init - /init of the initramfs that `make bench` boots Linux with.
 *
 *   rdinit=/init -- PROG [ARGS...]      (default: /bin/t_bench all)
 *
 * Linux runs it as process 1 with the arguments after "--" on its command
 * line. It makes sure stdin/stdout/stderr are the console, prints one line
 * about the system, runs PROG with ARGS as a child, prints
 *
 *   linux-init: PROG exited with status N      (or: killed by signal N)
 *
 * and powers the machine off, which ends QEMU. It mounts nothing unless
 * /dev/console is missing (then devtmpfs on /dev). It never returns:
 * process 1 exiting would panic the kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void console_fds(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0) {
		mkdir("/dev", 0755);
		if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) == 0)
			fd = open("/dev/console", O_RDWR | O_NOCTTY);
	}
	if (fd < 0)
		return;   /* nowhere to write to: the run still powers off */
	for (int i = 0; i < 3; i++)
		if (fd != i)
			dup2(fd, i);
	if (fd > 2)
		close(fd);
}

static __attribute__((noreturn)) void power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	/* Only if that failed (not root? no ACPI?): say so and stay. */
	fprintf(stderr, "linux-init: reboot(RB_POWER_OFF): %s\n", strerror(errno));
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	static char *fallback[] = { "/bin/t_bench", "all", NULL };
	char **prog = argc > 1 ? argv + 1 : fallback;

	console_fds();
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct utsname u;
	if (uname(&u) == 0)
		printf("linux-init: %s %s %s %s\n", u.sysname, u.release, u.version, u.machine);

	pid_t pid = fork();
	if (pid < 0) {
		perror("linux-init: fork");
		power_off();
	}
	if (pid == 0) {
		execv(prog[0], prog);
		fprintf(stderr, "linux-init: %s: %s\n", prog[0], strerror(errno));
		_exit(127);
	}
	/* Reap everything; stop when our child is done. */
	int st;
	pid_t w;
	while ((w = wait(&st)) != pid)
		if (w < 0 && errno != EINTR) {
			perror("linux-init: wait");
			power_off();
		}
	if (WIFEXITED(st))
		printf("linux-init: %s exited with status %d\n", prog[0], WEXITSTATUS(st));
	else
		printf("linux-init: %s killed by signal %d\n", prog[0], WTERMSIG(st));
	power_off();
}
