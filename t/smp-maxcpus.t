#!/bin/sh
# maxcpus=2 on a 4-CPU machine: two CPUs come up, the other two are left
# alone and listed as not started by `cpus`, whose load column counts the
# shell running it on CPU 0 (weight 1024 at nice 0, or more with others
# there); a panic stops only CPU 1.
cd "$(dirname "$0")/.." && exec tools/weft-test --name smp-maxcpus --smp 4 --timeout 120 \
	--append "maxcpus=2 panic=exit" --send cpus --send 'tests smp_boot' --send 'panic done' \
	--expect-exit panic \
	--expect 'smp: 2 CPUs online \(others not started' \
	--expect '  - +3  offline \(nosmp, maxcpus= or smp=\)' \
	--expect '  1 +1  online' \
	--expect 'RUNQ +LOAD CURRENT' \
	--expect '  0 +0  online +\d+ +[1-9]\d{3,} +\d+ main' \
	--expect 'ok 1 all_cpus_online' \
	--expect 'CPU 1 stopped by the panic on CPU 0' \
	--reject 'not ok|CPU [23] stopped'
