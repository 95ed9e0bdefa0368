#!/bin/sh
# The suites whose assertions are about time - fair shares, preemption
# delays, sleep bounds, the LAPIC rate against the TSC - at 2 CPU(s), on a
# deterministic clock: under -icount the guest's time advances with its own
# instructions, so a loaded host that stalls QEMU cannot stretch it (with
# multi-threaded TCG a stalled vCPU looks, to the guest, like a thread that
# ran for the whole stall). The same suites' logic, without the clock, is
# what the kernel-smp*.t runs cover. Also user_timing: user threads that
# spin while others sleep, which QEMU's single-threaded TCG (-icount) once
# let starve a CPU for ever (kernel/vcpu_yield.c).
cd "$(dirname "$0")/.." && exec tools/weft-test --name timing-smp2 --smp 2 --icount --timeout 600 \
	--extra "-initrd build/initramfs.cpio" --append "test=sched,time,user_timing panic=exit"
