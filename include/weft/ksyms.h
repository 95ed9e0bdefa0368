/* ksyms.h - the kernel's own symbol table, for backtraces.
 *
 * The build links the kernel twice: the second link carries a table of
 * every text symbol of the first (tools/gen-ksyms), placed after all code
 * so that adding it moves no function. */
#ifndef WEFT_KSYMS_H
#define WEFT_KSYMS_H
#include <stdint.h>
#include <stddef.h>

/* Find the function containing addr: its name and the offset into it.
 * Returns NULL if addr is not in kernel text. */
const char *ksym_lookup(uint64_t addr, uint64_t *offset);
/* Address of a named function, or 0. */
uint64_t ksym_address(const char *name);
/* "name+0xoff" into buf (or the bare hex address). */
void ksym_format(uint64_t addr, char *buf, size_t size);
#endif
