/* exec.h - loading programs (kernel/exec.c). */
#ifndef WEFT_EXEC_H
#define WEFT_EXEC_H
#include <stdint.h>
#include <stddef.h>

struct mm;

struct exec_result {
	uint64_t entry;          /* first user RIP */
	uint64_t stack_pointer;  /* first user RSP: points at argc */
};

/* Load `path` from the initramfs into mm (fresh, empty) and build its
 * initial stack. 0 or -errno (-ENOENT, -ENOEXEC, -E2BIG, -ENOMEM). */
int exec_load(struct mm *mm, const char *path, const char *const argv[], const char *const envp[],
	      struct exec_result *ex);
/* A file in the initramfs (the first boot module): 0 or -ENOENT/-EINVAL. */
int initramfs_find(const char *path, const void **data, size_t *size);
#endif
