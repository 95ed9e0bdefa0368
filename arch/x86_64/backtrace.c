/* backtrace.c - frame-pointer stack walking. See <weft/backtrace.h>.
 *
 * Every frame pointer is checked before it is read: 8-byte aligned, in the
 * kernel half, and mapped (paging_is_mapped walks the page tables), so a
 * corrupted stack ends the walk instead of faulting inside a panic. */
#include <weft/backtrace.h>
#include <weft/ksyms.h>
#include <weft/printk.h>
#include <weft/paging.h>
#include <arch/memlayout.h>
#include <arch/trap.h>

static bool frame_readable(uint64_t fp)
{
	return fp && !(fp & 7) && fp >= DIRECT_MAP_BASE && paging_is_mapped(fp) &&
	       paging_is_mapped(fp + 8);
}

/* trap_dispatch() returns to interrupt_return (entry.S), with the trap
 * frame just above its own frame: the walk goes on in the code the
 * interrupt came from, if that was kernel code. */
extern const char interrupt_return[];

static const struct trap_frame *interrupted_frame(uint64_t rbp, uint64_t ret)
{
	if (ret != (uint64_t)interrupt_return)
		return NULL;
	uint64_t f = rbp + 16;
	if (!frame_readable(f) || !paging_is_mapped(f + sizeof(struct trap_frame) - 1))
		return NULL;
	const struct trap_frame *tf = (const struct trap_frame *)f;
	return trap_from_user(tf) ? NULL : tf;
}

int backtrace_collect(uint64_t rip, uint64_t rbp, uint64_t *pcs, int max)
{
	int n = 0;
	if (max > 0)
		pcs[n++] = rip;
	while (n < max && frame_readable(rbp)) {
		uint64_t ret = ((uint64_t *)rbp)[1];
		uint64_t next = ((uint64_t *)rbp)[0];
		if (!ret)
			break;
		pcs[n++] = ret;
		const struct trap_frame *tf = interrupted_frame(rbp, ret);
		if (tf && n < max) {
			pcs[n++] = tf->rip;   /* an exact RIP, not a return address */
			next = tf->rbp;
		} else if (next == rbp) { /* a frame pointing at itself: corrupt */
			break;   /* (callers are usually higher, but call_on_stack may go down) */
		}
		rbp = next;
	}
	return n;
}

void backtrace_print(uint64_t rip, uint64_t rbp)
{
	uint64_t pcs[BACKTRACE_MAX];
	char sym[96];
	int n = backtrace_collect(rip, rbp, pcs, BACKTRACE_MAX);
	for (int i = 0; i < n; i++) {
		/* Return addresses point after the call: look up addr-1 so a call
		 * at the very end of a function is attributed to it. */
		bool exact = i == 0 || pcs[i - 1] == (uint64_t)interrupt_return;
		ksym_format(exact ? pcs[i] : pcs[i] - 1, sym, sizeof sym);
		pr_emerg("  [<%016lx>] %s%s\n", (unsigned long)pcs[i], sym,
			 i && exact ? " (interrupted here)" : "");
	}
}
