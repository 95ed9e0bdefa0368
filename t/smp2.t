#!/bin/sh
# SMP suite on two CPUs: bring-up, threads bound to CPUs, remote wakeups,
# cross-CPU calls, locks in parallel, kernel TLB flushes, the clock.
cd "$(dirname "$0")/.." && exec tools/weft-test --name smp2-suite --smp 2 --timeout 600 \
	--append "test=smp,smp_boot panic=exit" \
	--expect 'smp: 2 CPUs online' \
	--expect 'weft: CPU 1 up \(APIC id [0-9]+\)'
