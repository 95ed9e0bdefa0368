#!/bin/sh
# A panic on CPU 2 of 4 (shell: panic @2): the panicking CPU reports, then
# stops the others with an NMI and prints each stopped CPU's registers line
# and backtrace, in CPU order, before "end of panic".
cd "$(dirname "$0")/.." && exec tools/weft-test --name smp-panic --smp 4 --timeout 120 \
	--append "panic=exit" --send 'panic @2 from the smp test' --expect-exit panic \
	--expect 'KERNEL PANIC on CPU 2: requested from the console on CPU 2: from the smp test' \
	--expect '\] panic_thread\+0x' \
	--expect 'CPU 0 stopped by the panic on CPU 2 \(kernel mode\) ---\n[^\n]*RIP [^\n]*\n[^\n]*backtrace:\n[^\n]*\] \w+\+0x' \
	--expect 'CPU 1 stopped by the panic on CPU 2 \(kernel mode\) ---\n[^\n]*RIP [^\n]*\n[^\n]*backtrace:\n[^\n]*\] \w+\+0x' \
	--expect 'CPU 3 stopped by the panic on CPU 2 \(kernel mode\) ---\n[^\n]*RIP [^\n]*\n[^\n]*backtrace:\n[^\n]*\] \w+\+0x' \
	--reject 'did not answer the stop NMI' \
	--expect 'end of panic: system halted'
