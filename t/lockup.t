#!/bin/sh
# A CPU held in the kernel with interrupts off is reported, not a silent
# hang: the shell's `lockup` spins with interrupts off; with
# lockup_timeout=2 the other CPU's watchdog reports it after 2 s, with its
# backtrace taken by NMI (interrupts off, through the shell command), then
# panics (hang_panic).
cd "$(dirname "$0")/.." && exec tools/weft-test --name lockup --smp 2 --timeout 120 \
	--append "lockup_timeout=2 hang_panic panic=exit" --send lockup \
	--expect-exit panic \
	--expect 'holding CPU [0-9] with interrupts off; expect a lockup report in 2 s' \
	--expect 'LOCKUP: CPU [0-9] stuck in the kernel with interrupts or preemption off for [2-9] s \(lockup_timeout=2\)' \
	--expect='--- CPU [0-9] by NMI: kernel mode, interrupts off, preempt count 0, irq depth 0, thread ' \
	--expect '\] shell_hold_irqs_off\+0x' \
	--expect 'KERNEL PANIC on CPU [0-9]: soft lockup: CPU [0-9] not preemptible for [2-9] s' \
	--expect 'end of panic: system halted'
