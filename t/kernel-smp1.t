#!/bin/sh
# Every in-kernel test suite, one CPU (TCG unless the host has real KVM).
# The clock-sensitive suites (sched, time) run under -icount in t/timing-*.t.
cd "$(dirname "$0")/.." && exec tools/weft-test --name smp1 --smp 1 --mem 512M --timeout 600 \
	--extra "-initrd build/initramfs.cpio" --append "test=all,-sched,-time panic=exit"
