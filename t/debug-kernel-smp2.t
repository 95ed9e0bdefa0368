#!/bin/sh
# The debug kernel (build/debug/weft.elf: UBSan, heap redzones, freed-object
# and freed-page poisoning, double-free checks; see docs/ARCHITECTURE.md)
# runs every in-kernel suite and the user suite on two CPUs; any report
# panics. As in t/kernel-smp2.t, the clock-sensitive suites (sched, time)
# are left to the plain kernel under -icount; the detectors' own suites
# boot separately (t/debug-detectors.t, t/debug-panic.t).
cd "$(dirname "$0")/.." && exec tools/weft-test --kernel build/debug/weft.elf --name debug-smp2 \
	--smp 2 --mem 512M --timeout 900 --extra "-initrd build/initramfs.cpio" \
	--append "test=all,-sched,-time,-kdebug,-kdebug_panic panic=exit"
