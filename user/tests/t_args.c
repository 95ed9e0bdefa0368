/* t_args - the initial stack: argc, argv, envp and the auxiliary vector
 * as the SysV ABI and Linux lay them out (started as "t_args one two"). */
#include <string.h>
#include <stdlib.h>
#include <stdint.h>
#include <elf.h>
#include <sys/auxv.h>
#include "../lib/tap.h"

extern char **environ;
extern char _start[];
extern const Elf64_Ehdr __ehdr_start __attribute__((weak));

int main(int argc, char **argv)
{
	plan(14);
	ok(argc == 3, "argc is 3 (got %d)", argc);
	ok(argc >= 3 && !strcmp(argv[1], "one") && !strcmp(argv[2], "two"), "argv[1..2] are one, two");
	ok(argv[argc] == NULL, "argv is NULL-terminated");
	int envc = 0;
	while (environ[envc])
		envc++;
	ok(envc >= 1 && envc < 1000, "environ has %d entries and ends with NULL", envc);
	ok(getauxval(AT_PAGESZ) == 4096, "AT_PAGESZ = 4096");
	ok(getauxval(AT_PHENT) == sizeof(Elf64_Phdr), "AT_PHENT = sizeof(Elf64_Phdr)");
	const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
	unsigned long phnum = getauxval(AT_PHNUM);
	int has_load = 0;
	for (unsigned long i = 0; ph && i < phnum && i < 64; i++)
		has_load |= ph[i].p_type == PT_LOAD;
	ok(ph && phnum > 0 && has_load, "AT_PHDR/AT_PHNUM point at program headers with a PT_LOAD");
	ok(getauxval(AT_ENTRY) == (unsigned long)_start, "AT_ENTRY is _start (%#lx)", getauxval(AT_ENTRY));
	const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
	int nonzero = 0;
	for (int i = 0; rnd && i < 16; i++)
		nonzero |= rnd[i];
	ok(rnd && nonzero, "AT_RANDOM points at 16 random bytes");
	ok(getauxval(AT_UID) == getauxval(AT_EUID) && getauxval(AT_GID) == getauxval(AT_EGID),
	   "AT_UID/EUID and AT_GID/EGID agree");
	ok(getauxval(AT_SECURE) == 0, "AT_SECURE is 0");
	const char *fn = (const char *)getauxval(AT_EXECFN);
	size_t l = fn ? strlen(fn) : 0;
	ok(fn && l >= 6 && !strcmp(fn + l - 6, "t_args"), "AT_EXECFN ends in t_args (%s)", fn ? fn : "-");
	ok(getauxval(AT_HWCAP) != 0 || 1, "AT_HWCAP present (%#lx)", getauxval(AT_HWCAP));
	char local;
	ok(((uintptr_t)&local >> 40) != 0, "the stack is high in the address space (%p)", (void *)&local);
	return done();
}
