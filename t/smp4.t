#!/bin/sh
# SMP suites (smp, balance) on four CPUs (more CPUs than the host may have cores: TCG
# threads are descheduled at random, which is what shakes races out).
cd "$(dirname "$0")/.." && exec tools/weft-test --name smp4-suite --smp 4 --timeout 600 \
	--append "test=smp,smp_boot,balance panic=exit" \
	--expect 'smp: 4 CPUs online' \
	--expect 'weft: CPU 3 up \(APIC id [0-9]+\)'
