#!/bin/sh
# SMP suites on two CPUs: bring-up, threads bound to CPUs, remote wakeups,
# cross-CPU calls, locks in parallel, kernel TLB flushes, the clock; and
# balance: affinity masks, placement, idle pulling and periodic balancing.
cd "$(dirname "$0")/.." && exec tools/weft-test --name smp2-suite --smp 2 --timeout 600 \
	--append "test=smp,smp_boot,balance panic=exit" \
	--expect 'smp: 2 CPUs online' \
	--expect 'weft: CPU 1 up \(APIC id [0-9]+\)'
