#!/bin/sh
# user_timing at 4 CPUs under -icount: user threads that spin while others
# sleep and wake (t_spinners). QEMU's single-threaded TCG runs the vCPUs in
# turn from CPU 0; a spinner on an early CPU once kept the later ones from
# ever running again (issue 11, item 1; kernel/vcpu_yield.c). 2 CPUs are
# covered by timing-smp2.t.
cd "$(dirname "$0")/.." && exec tools/weft-test --name timing-smp4 --smp 4 --icount --timeout 600 \
	--mem 512M --extra "-initrd build/initramfs.cpio" --append "test=user_timing panic=exit"
