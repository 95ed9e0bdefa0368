/* t_fault_segv - a NULL write: the process must die of SIGSEGV. */
#include "../lib/tap.h"
int main(void)
{
	plan(1);
	ok(1, "about to fault");
	volatile int *volatile p = 0;
	*p = 1;
	return 1;
}
