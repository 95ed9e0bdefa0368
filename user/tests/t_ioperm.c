/* t_ioperm - user-mode port I/O goes through the TSS I/O permission
 * bitmap: without permission `inb` raises #GP, delivered as SIGSEGV;
 * ioperm(port, 1, 1) grants exactly that port (a neighbour's grant does
 * not cover it), ioperm(port, 1, 0) revokes it again, and out-of-range
 * requests are refused. Port 0x80 (the POST diagnostic port) is harmless
 * to read and write. Needs root (CAP_SYS_RAWIO) on Linux. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/io.h>
#include <unistd.h>
#include "tap.h"

static sigjmp_buf env;
static volatile int fault_sig;

static void on_fault(int sig)
{
	fault_sig = sig;
	siglongjmp(env, 1);
}

/* Read a port; returns 1 if that faulted (with SIGSEGV), 0 if it worked. */
static int inb_faults(uint16_t port)
{
	fault_sig = 0;
	if (sigsetjmp(env, 1))
		return fault_sig == SIGSEGV ? 1 : -1;
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	(void)v;
	return 0;
}

static int outb_faults(uint16_t port, uint8_t v)
{
	fault_sig = 0;
	if (sigsetjmp(env, 1))
		return fault_sig == SIGSEGV ? 1 : -1;
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
	return 0;
}

int main(void)
{
	if (geteuid() != 0)
		return skip_all("not root");
	/* Revoking what we do not have is a harmless probe: root without
	 * CAP_SYS_RAWIO gets EPERM, a Linux built without
	 * CONFIG_X86_IOPL_IOPERM gets ENOSYS.
	 * Under weft's test harness (WEFT_TEST in the environment) ioperm must
	 * work, so nothing is skipped there. */
	if (ioperm(0x80, 1, 0) != 0 && !getenv("WEFT_TEST")) {
		if (errno == EPERM)
			return skip_all("ioperm not permitted here (no CAP_SYS_RAWIO)");
		if (errno == ENOSYS)
			return skip_all("this kernel has no ioperm (ENOSYS)");
	}

	plan(10);
	struct sigaction sa = { .sa_handler = on_fault, .sa_flags = SA_NODEFER };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);

	ok(inb_faults(0x80) == 1, "inb from port 0x80 without permission: SIGSEGV");
	ok(ioperm(0x81, 1, 1) == 0, "ioperm(0x81, 1, 1) granted");
	ok(inb_faults(0x80) == 1, "permission for 0x81 does not cover 0x80");
	ok(inb_faults(0x81) == 0, "but 0x81 itself can be read");
	ok(ioperm(0x80, 1, 1) == 0, "ioperm(0x80, 1, 1) granted");
	ok(inb_faults(0x80) == 0 && outb_faults(0x80, 0x42) == 0, "now inb and outb on 0x80 work");
	ok(ioperm(0x80, 1, 0) == 0 && inb_faults(0x80) == 1, "ioperm(0x80, 1, 0) revokes it: SIGSEGV again");
	ok(inb_faults(0x81) == 0, "0x81 is still granted");
	ok(ioperm(0x10000, 1, 1) == -1 && errno == EINVAL, "ioperm beyond port 0xffff: EINVAL");
	ioperm(0x81, 1, 0);
	ok(inb_faults(0x81) == 1, "after revoking 0x81 too, no port is accessible");
	return done();
}
