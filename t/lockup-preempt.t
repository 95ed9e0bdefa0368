#!/bin/sh
# A CPU held in the kernel with preemption off (interrupts on) is a soft
# lockup too: the shell's `lockup preempt` spins with preemption off; its
# timer interrupts come with a raised preempt count, so its beat stops, and
# with lockup_timeout=2 the other CPU reports it by NMI (interrupts on,
# preempt count 1) and panics (hang_panic).
cd "$(dirname "$0")/.." && exec tools/weft-test --name lockup-preempt --smp 2 --timeout 120 \
	--append "lockup_timeout=2 hang_panic panic=exit" --send 'lockup preempt' \
	--expect-exit panic \
	--expect 'holding CPU [0-9] with preemption off; expect a lockup report in 2 s' \
	--expect 'LOCKUP: CPU [0-9] stuck in the kernel with interrupts or preemption off for [2-9] s \(lockup_timeout=2\)' \
	--expect='--- CPU [0-9] by NMI: kernel mode, interrupts on, preempt count 1, irq depth 0, thread ' \
	--expect '\] shell_hold_preempt_off\+0x' \
	--expect 'KERNEL PANIC on CPU [0-9]: soft lockup: CPU [0-9] not preemptible for [2-9] s' \
	--expect 'end of panic: system halted'
