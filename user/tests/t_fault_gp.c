/* t_fault_gp - a privileged instruction in ring 3 (#GP): death by SIGSEGV. */
#include "../lib/tap.h"
int main(void)
{
	plan(1);
	ok(1, "about to fault");
	__asm__ volatile("hlt");
	return 1;
}
