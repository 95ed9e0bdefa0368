/* t_fault_gp - hlt is privileged: in user mode it raises #GP, which must
 * kill this process with SIGSEGV (the machine must not halt). */
#include "tap.h"

int main(void)
{
	plan(1);
	ok(1, "about to fault");
	__asm__ volatile("hlt");
	diag("still alive after hlt");
	return 1;
}
