/* t_fault_de - an integer division by zero: death by SIGFPE. */
#include "../lib/tap.h"
int main(void)
{
	plan(1);
	ok(1, "about to fault");
	volatile int a = 1, b = 0;
	a = a / b;
	return 1;
}
