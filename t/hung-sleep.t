#!/bin/sh
# A thread asleep uninterruptibly for too long is reported, not a silent
# hang: the shell's `hang` starts a thread that waits on a completion
# nobody completes; with hung_timeout=2 a watchdog reports it after 2 s
# with its backtrace (through the function that sleeps), then panics
# (hang_panic).
cd "$(dirname "$0")/.." && exec tools/weft-test --name hung-sleep --smp 2 --timeout 120 \
	--append "hung_timeout=2 hang_panic panic=exit" --send hang \
	--expect-exit panic \
	--expect "thread 'stuck' sleeps uninterruptibly for ever; expect a hung-thread report in 2 s" \
	--expect "HUNG: thread 'stuck' \(tid [0-9]+\) in uninterruptible sleep for [2-9] s \(hung_timeout=2\), waiting on completion" \
	--expect '\] wait_for_completion\+0x' \
	--expect '\] shell_stuck_sleeper\+0x' \
	--expect "KERNEL PANIC on CPU [0-9]: hung thread: 'stuck' \(tid [0-9]+\) for [2-9] s" \
	--expect 'end of panic: system halted'
