/* t_fault_ud - ud2, the architecturally undefined instruction, with no
 * handler installed: #UD must kill this process with SIGILL. */
#include "tap.h"

int main(void)
{
	plan(1);
	ok(1, "about to fault");
	__asm__ volatile("ud2");
	diag("still alive after ud2");
	return 1;
}
