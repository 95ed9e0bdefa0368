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
 *
 * Several CPUs: a process's threads may run on several CPUs at once, each
 * with its own copy of the bitmap. ioperm() therefore reloads it on every
 * CPU that has it (an IPI round) before returning, so a port it revokes is
 * denied to all the threads from then on; and before a bitmap is freed,
 * ioperm_forget() makes sure no CPU's io_loaded still names it.
 */
#include <arch/ioperm.h>
#include <arch/percpu.h>
#include <arch/irqflags.h>
#include <weft/process.h>
#include <weft/kmalloc.h>
#include <weft/string.h>
#include <weft/errno.h>
#include <weft/smp.h>

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

/* Every CPU that has p's bitmap (or runs a thread of p) loads it again:
 * the process's threads may run on any CPU. Interrupts off, in an IPI or
 * directly on the caller's CPU. */
static void reload_here(void *arg)
{
	struct process *p = arg;
	struct percpu *c = this_cpu();
	if (c->io_loaded == p->iobitmap)
		memcpy(c->io_bitmap, p->iobitmap, IO_BITMAP_BYTES);   /* changed in place */
	else if (c->current->proc == p)
		ioperm_switch(c, p);   /* p's first bitmap: this CPU had all ones */
}

/*
 * Ports a process may never have: the kernel's own devices, through which
 * a program could pass itself off as the kernel - COM1 (the console's
 * registers), COM2 (the status channel, <weft/console.h>) and QEMU's
 * isa-debug-exit (the harness's verdict). Linux grants any port to a
 * process with CAP_SYS_RAWIO; weft refuses these with EPERM, the answer of
 * a process without it.
 */
static const struct {
	uint16_t first, count;
} reserved_ports[] = {
	{ 0x3f8, 8 },   /* COM1 */
	{ 0x2f8, 8 },   /* COM2 */
	{ 0xf4, 4 },    /* isa-debug-exit (iosize 4) */
};

static bool touches_reserved(uint64_t from, uint64_t num)
{
	for (size_t i = 0; i < sizeof reserved_ports / sizeof reserved_ports[0]; i++)
		if (from < (uint64_t)reserved_ports[i].first + reserved_ports[i].count &&
		    reserved_ports[i].first < from + num)
			return true;
	return false;
}

long sys_ioperm(uint64_t from, uint64_t num, uint64_t turn_on)
{
	struct process *p = current_process();
	if (from >= 65536 || num > 65536 - from)
		return -EINVAL;
	if (turn_on && touches_reserved(from, num))
		return -EPERM;    /* revoking is always allowed */
	if (!p->iobitmap) {
		if (!turn_on)
			return 0;
		uint8_t *b = kmalloc(IO_BITMAP_BYTES);
		if (!b)
			return -ENOMEM;
		memset(b, 0xff, IO_BITMAP_BYTES);
		uint8_t *none = NULL;   /* another thread may have installed one meanwhile */
		if (!__atomic_compare_exchange_n(&p->iobitmap, &none, b, false, __ATOMIC_ACQ_REL,
						 __ATOMIC_ACQUIRE))
			kfree(b);
	}
	/* Bytes are shared between ports, and threads may call this at once:
	 * atomic bit updates lose nobody's change. */
	for (uint64_t port = from; port < from + num; port++) {
		uint8_t bit = (uint8_t)(1u << (port % 8));
		if (turn_on)
			__atomic_fetch_and(&p->iobitmap[port / 8], (uint8_t)~bit, __ATOMIC_RELAXED);
		else
			__atomic_fetch_or(&p->iobitmap[port / 8], bit, __ATOMIC_RELAXED);
	}
	/* The new bitmap holds on every CPU before we return: this one (the
	 * caller runs here) and those running, or last having run, another
	 * thread of p. A concurrent call's copy may be torn; its own reload
	 * after its change puts it right. */
	smp_call_mask(CPUMASK_ALL, reload_here, p, true);
	return 0;
}

/* On every CPU: if p's bitmap is loaded, load all ones instead. */
static void forget_here(void *arg)
{
	struct percpu *c = this_cpu();
	if (c->io_loaded == arg)
		ioperm_switch(c, NULL);
}

void ioperm_forget(struct process *p)
{
	/* Never compare against a freed bitmap: a new one at the same
	 * address would be taken as loaded already. */
	if (p->iobitmap)
		smp_call_mask(CPUMASK_ALL, forget_here, p->iobitmap, true);
}
