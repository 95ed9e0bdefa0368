#!/bin/sh
# A spinlock deadlock ends in a clear panic, not a hang: the shell's
# `deadlock` takes a spinlock it holds; with spin_timeout=2 the wait panics
# after 2 s naming the lock, with this CPU's backtrace through the shell
# command and the other CPU's report (NMI).
cd "$(dirname "$0")/.." && exec tools/weft-test --name spin-deadlock --smp 2 --timeout 120 \
	--append "spin_timeout=2 panic=exit" --send deadlock \
	--expect-exit panic \
	--expect "taking spinlock 'shell-demo' twice; expect a panic in 2 s" \
	--expect "KERNEL PANIC on CPU 0: spinlock 'shell-demo' not acquired after 2 s: deadlock\? \(last recorded holder: CPU 0" \
	--expect '\] spin_lock_wait(\.cold)?\+0x' \
	--expect '\] cmd_deadlock\+0x' \
	--expect 'CPU 1 stopped by the panic on CPU 0' \
	--expect 'end of panic: system halted'
