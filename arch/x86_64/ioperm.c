/*
 * ioperm.c - I/O port access for user processes.
 *
 * In ring 3 (IOPL 0) an IN/OUT is allowed only if the port's bits in the
 * TSS I/O permission bitmap are clear. Each CPU's bitmap follows its TSS
 * (struct percpu); it holds all ones unless the running process has
 * called ioperm(), in which case its 8 KiB bitmap is copied in when it is
 * switched to (only such processes pay for the copy; percpu.io_loaded
 * remembers whose bitmap is loaded so that switching between threads of
 * one process copies nothing).
 */
#include <arch/ioperm.h>
#include <arch/percpu.h>
#include <arch/irqflags.h>
#include <weft/process.h>
#include <weft/kmalloc.h>
#include <weft/string.h>
#include <weft/errno.h>

void ioperm_switch(struct percpu *c, struct process *p)
{
	const void *want = p ? p->iobitmap : NULL;
	if (want == c->io_loaded)
		return;
	if (want)
		memcpy(c->io_bitmap, want, IO_BITMAP_BYTES);
	else
		memset(c->io_bitmap, 0xff, IO_BITMAP_BYTES);
	c->io_loaded = want;
}

long sys_ioperm(uint64_t from, uint64_t num, uint64_t turn_on)
{
	struct process *p = current_process();
	if (from >= 65536 || num > 65536 - from)
		return -EINVAL;
	if (!p->iobitmap) {
		if (!turn_on)
			return 0;
		uint8_t *b = kmalloc(IO_BITMAP_BYTES);
		if (!b)
			return -ENOMEM;
		memset(b, 0xff, IO_BITMAP_BYTES);
		p->iobitmap = b;
	}
	for (uint64_t port = from; port < from + num; port++) {
		if (turn_on)
			p->iobitmap[port / 8] &= (uint8_t)~(1u << (port % 8));
		else
			p->iobitmap[port / 8] |= (uint8_t)(1u << (port % 8));
	}
	/* Load the new bitmap on this CPU now (the caller runs here). */
	unsigned long f = local_irq_save();
	struct percpu *c = this_cpu();
	c->io_loaded = NULL;
	ioperm_switch(c, p);
	local_irq_restore(f);
	return 0;
}
