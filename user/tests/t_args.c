/* t_args - the initial process state the kernel builds on the user stack:
 * argc/argv/envp exactly as passed, the auxiliary vector after envp, and
 * the values in it (page size, program headers, entry point, random bytes,
 * credentials, AT_EXECFN). Started as `t_args one two`. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>
#include "tap.h"

extern char **environ;
extern const Elf64_Ehdr __ehdr_start;   /* the linker's name for our ELF header */
extern char _start[];                   /* musl's entry point (crt1) */

/* getauxval() answers 0 for both "absent" and "zero"; errno tells them apart. */
static int aux_present(unsigned long type, unsigned long *val)
{
	errno = 0;
	*val = getauxval(type);
	return errno == 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && !strcmp(s + n - m, suffix);
}

int main(int argc, char **argv, char **envp)
{
	plan(22);

	/* argv: the kernel copied our arguments and NULL-terminated the array. */
	ok(argc == 3, "argc is 3 (got %d)", argc);
	ok(argc >= 1 && ends_with(argv[0], "t_args"), "argv[0] names the program (%s)",
	   argc >= 1 ? argv[0] : "(none)");
	ok(argc == 3 && !strcmp(argv[1], "one") && !strcmp(argv[2], "two"),
	   "argv[1..2] are \"one\" \"two\"");
	ok(argv[argc] == NULL, "argv[argc] is NULL");

	/* envp sits right after argv's NULL and is NULL-terminated itself;
	 * every entry has the NAME=VALUE form. */
	ok(envp == argv + argc + 1, "envp follows argv's terminating NULL");
	ok(environ == envp, "environ is main's envp");
	int nenv = 0, wellformed = 1;
	while (nenv < 10000 && envp[nenv]) {
		wellformed &= strchr(envp[nenv], '=') != NULL;
		nenv++;
	}
	ok(nenv < 10000 && envp[nenv] == NULL, "environment is NULL-terminated (%d entries)", nenv);
	ok(wellformed, "every environment entry is NAME=VALUE");
	const char *home = getenv("HOME");
	diag("HOME=%s", home ? home : "(unset)");

	/* The auxiliary vector starts after envp's NULL: (type, value) pairs
	 * ending in AT_NULL. Walk it directly and compare with getauxval(). */
	const unsigned long *aux = (const unsigned long *)(envp + nenv + 1);
	int n = 0, found_pagesz = 0;
	while (n < 200 && aux[2 * n] != AT_NULL) {
		if (aux[2 * n] == AT_PAGESZ)
			found_pagesz = aux[2 * n + 1] == getauxval(AT_PAGESZ);
		n++;
	}
	ok(n < 200 && found_pagesz, "auxv follows envp (%d entries, AT_PAGESZ agrees)", n);

	unsigned long v = 0;
	int p = aux_present(AT_PAGESZ, &v);
	ok(p && v == 4096, "AT_PAGESZ is 4096 (%lu)", v);

	/* Program headers: where our own ELF header says they are. */
	const char *phdr = (const char *)&__ehdr_start + __ehdr_start.e_phoff;
	p = aux_present(AT_PHDR, &v);
	ok(p && v == (unsigned long)phdr,
	   "AT_PHDR %#lx is the loaded program header table %p", v, (void *)phdr);
	ok(aux_present(AT_PHENT, &v) && v == sizeof(Elf64_Phdr), "AT_PHENT is sizeof(Elf64_Phdr)");
	p = aux_present(AT_PHNUM, &v);
	ok(p && v == __ehdr_start.e_phnum, "AT_PHNUM is e_phnum (%lu)", v);
	int has_load = 0;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)phdr;
	for (unsigned i = 0; i < __ehdr_start.e_phnum; i++)
		has_load |= ph[i].p_type == PT_LOAD;
	ok(has_load, "the program headers at AT_PHDR are readable and include PT_LOAD");

	p = aux_present(AT_ENTRY, &v);
	ok(p && v == (unsigned long)_start,
	   "AT_ENTRY %#lx is _start %p", v, (void *)_start);

	/* AT_RANDOM: 16 readable bytes (all zero would be a 2^-128 accident). */
	const unsigned char *rnd = NULL;
	int nonzero = 0;
	if (aux_present(AT_RANDOM, &v) && v) {
		rnd = (const unsigned char *)v;
		for (int i = 0; i < 16; i++)
			nonzero |= rnd[i];
	}
	ok(rnd && nonzero, "AT_RANDOM points at 16 readable, not all zero bytes");

	unsigned long uid = 0, euid = 0, gid = 0, egid = 0;
	int creds = aux_present(AT_UID, &uid) & aux_present(AT_EUID, &euid) &
		    aux_present(AT_GID, &gid) & aux_present(AT_EGID, &egid);
	ok(creds, "AT_UID/EUID/GID/EGID present (%lu %lu %lu %lu)", uid, euid, gid, egid);
	ok(creds && uid == (unsigned long)getuid() && euid == (unsigned long)geteuid() &&
	   gid == (unsigned long)getgid() && egid == (unsigned long)getegid(),
	   "auxv credentials match the get*id() system calls");
	ok(aux_present(AT_SECURE, &v) && v == 0, "AT_SECURE is present and 0");

	const char *execfn = NULL;
	if (aux_present(AT_EXECFN, &v))
		execfn = (const char *)v;
	ok(execfn && ends_with(execfn, "t_args"), "AT_EXECFN names the program (%s)",
	   execfn ? execfn : "(absent)");

	p = aux_present(AT_HWCAP, &v);
	ok(p, "AT_HWCAP present (%#lx)", v);

	/* The ABI promises a 16-byte aligned stack at every call; musl's _start
	 * realigns anyway, so this mostly proves main was entered normally. */
	char probe[16] __attribute__((aligned(16)));
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	ok(((uintptr_t)probe & 15) == 0 && sp > (uintptr_t)probe - 65536 &&
	   (uintptr_t)argv > (uintptr_t)probe,
	   "main's stack is sane and below argv (sp ~%#lx, argv %p)", (unsigned long)sp,
	   (void *)argv);
	return done();
}
