/* t_ioperm - I/O ports in ring 3: denied (SIGSEGV) until ioperm() grants
 * them, and denied again once revoked. Needs root on Linux. */
#include <sys/io.h>
#include <signal.h>
#include <setjmp.h>
#include <unistd.h>
#include "../lib/tap.h"

static sigjmp_buf jb;
static void on_segv(int sig) { (void)sig; siglongjmp(jb, 1); }

static int port_faults(unsigned short port)
{
	if (sigsetjmp(jb, 1))
		return 1;
	(void)inb(port);
	return 0;
}

int main(void)
{
	if (geteuid() != 0 || ioperm(0x80, 1, 0) != 0) {
		printf("1..0 # SKIP no permission to use ioperm here\n");
		return 0;
	}
	plan(5);
	signal(SIGSEGV, on_segv);
	ok(port_faults(0x80), "inb(0x80) without ioperm faults");
	ok(ioperm(0x80, 1, 1) == 0, "ioperm(0x80, 1, 1)");
	ok(!port_faults(0x80), "now inb(0x80) works");
	ok(port_faults(0x81), "port 0x81 is still denied");
	ok(ioperm(0x80, 1, 0) == 0 && port_faults(0x80), "revoked: denied again");
	return done();
}
