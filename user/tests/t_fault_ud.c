/* t_fault_ud - an undefined instruction: the process must die of SIGILL. */
#include "../lib/tap.h"
int main(void)
{
	plan(1);
	ok(1, "about to fault");
	__asm__ volatile("ud2");
	return 1;
}
