/* t_fault_segv - a write to address 0 with no handler installed: the
 * page fault must kill this process with SIGSEGV (and nothing else). */
#include <stdint.h>
#include "tap.h"

int main(void)
{
	plan(1);
	ok(1, "about to fault");
	*(volatile int *)(uintptr_t)0 = 42;
	diag("still alive after writing to NULL");
	return 1;
}
