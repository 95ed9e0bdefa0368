/* t_fault_de - an integer division by zero (volatile operands, so the
 * compiler cannot fold it away): #DE must kill this process with SIGFPE. */
#include "tap.h"

int main(void)
{
	plan(1);
	ok(1, "about to fault");
	volatile int dividend = 1, divisor = 0;
	volatile int quotient = dividend / divisor;
	(void)quotient;
	diag("still alive after dividing by zero");
	return 1;
}
