#!/bin/sh
# A thread kept runnable but never run is reported: the shell's `starve`
# holds the last CPU with a kernel thread spinning with preemption off and
# binds a second thread there; with hung_timeout=2 (and the soft-lockup
# detector off, which would name the hog first) a watchdog reports the
# starved thread after 2 s, and what its CPU runs - the hog, by NMI, with
# preemption off, or by its own backtrace when the watchdog that noticed
# runs on the hog's CPU, interrupting it - then panics (hang_panic).
cd "$(dirname "$0")/.." && exec tools/weft-test --name hung-starved --smp 2 --timeout 120 \
	--append "hung_timeout=2 lockup_timeout=0 hang_panic panic=exit" --send starve \
	--expect-exit panic \
	--expect "CPU 1 is held with preemption off; thread 'starved' waits there; expect a hung-thread report in 2 s" \
	--expect "HUNG: thread 'starved' \(tid [0-9]+\) runnable on CPU 1 but not run for [2-9] s \(hung_timeout=2\)" \
	--expect "its CPU 1 runs 'hog' \(tid [0-9]+\):" \
	--expect='(--- CPU 1 by NMI: kernel mode, interrupts on, preempt count 1, irq depth 0, thread .hog.|\] shell_hog_cpu\+0x[0-9a-f]+ \(interrupted here\))' \
	--expect '\] shell_hog_cpu\+0x' \
	--expect "KERNEL PANIC on CPU [0-9]: hung thread: 'starved' \(tid [0-9]+\) for [2-9] s" \
	--expect 'end of panic: system halted' \
	--reject 'the victim ran after all'
