/* debug.h - the debug kernel's detectors and how they report
 * (build/debug/weft.elf, built with -DWEFT_DEBUG; see docs/ARCHITECTURE.md,
 * "The debug kernel").
 *
 * Detectors: UBSan handlers (kernel/debug/ubsan.c), kmalloc redzones,
 * freed-object poisoning, quarantine and double-free checks
 * (mm/debug/kmalloc_debug.c), freed-page poisoning (mm/debug/page_poison.c).
 * Each report is printed whole under one lock (reports from two CPUs never
 * interleave): what happened, where, the recorded allocation and free
 * sites when there are any, and a backtrace of the reporting code; then
 * the kernel panics - unless the reporting thread has armed a catch
 * (tests of the detectors themselves), in which case the report is
 * recorded in the catch and the detector returns and repairs what it can.
 *
 * Nothing here exists in the plain kernel: callers are under #ifdef
 * WEFT_DEBUG.
 */
#ifndef WEFT_DEBUG_H
#define WEFT_DEBUG_H
#include <stdint.h>
#include <stdbool.h>

#ifdef WEFT_DEBUG
/* A test's record of the reports it provoked. */
struct debug_catch {
	struct thread *owner;	/* only this thread's reports are caught (not an ISR's on it) */
	unsigned count;		/* reports caught since debug_catch_begin() */
	char kind[32];		/* the first one's kind, e.g. "use-after-free write" */
	char summary[200];	/* and its one-line summary */
};

/* Catch the calling thread's reports in `c` until debug_catch_end().
 * One catch at a time in the whole kernel; reports of other threads still
 * panic. Call with preemption and interrupts as usual (not in an ISR). */
void debug_catch_begin(struct debug_catch *c);
void debug_catch_end(void);

/* A report: debug_report_begin() takes the report lock (irqs off) and
 * prints the first line "weft debug: KIND: ..."; the detector prints its
 * details with pr_emerg(); debug_report_end() prints the backtrace of its
 * caller and either panics with `summary` or, under a catch, records it,
 * drops the lock and returns. Any context but NMI. */
unsigned long debug_report_begin(const char *kind, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void debug_report_end(unsigned long flags, const char *kind, const char *summary);

/* "sym+0x1f <- sym2+0x40" for up to n recorded return addresses (0 ends). */
void debug_format_sites(char *buf, unsigned size, const uint64_t *pcs, unsigned n);

/* Check the canary and redzone of every live heap object, and every
 * object in kmalloc's quarantine (freed, poisoned, not yet reusable) for
 * writes after free; reports as kfree would. Returns how many objects were
 * checked. The test runner calls it after each test. */
unsigned kmalloc_debug_check(void);

/* Freed-page poisoning (mm/pmm.c calls these with WEFT_DEBUG). */
void page_poison_init(uint64_t base_pfn, uint64_t npages);
void page_poison_fill(uint64_t phys, uint64_t npages, uint64_t free_pc);
void page_poison_check(uint64_t phys, unsigned order);
#endif
#endif
