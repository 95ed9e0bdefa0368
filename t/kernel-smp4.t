#!/bin/sh
# Every in-kernel test suite with four CPUs online. The test runner pins
# itself to CPU 0 and new threads inherit their creator's mask, so the
# older suites run on CPU 0 while the other CPUs idle, take IPIs and TLB
# flushes, and run what the smp and balance suites put there.
# The clock-sensitive suites (sched, time) run under -icount in t/timing-*.t.
cd "$(dirname "$0")/.." && exec tools/weft-test --name smp4 --smp 4 --mem 512M --timeout 900 \
	--extra "-initrd build/initramfs.cpio" --append "test=all,-sched,-time panic=exit"
