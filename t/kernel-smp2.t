#!/bin/sh
# The same suites with a second CPU present (multi-threaded TCG). Until SMP
# bring-up (issue 5) the second CPU stays parked by the firmware; this proves
# the boot CPU's code makes no single-CPU assumption about the machine.
cd "$(dirname "$0")/.." && exec tools/weft-test --name smp2 --smp 2 --mem 512M --timeout 600 \
	--extra "-initrd build/initramfs.cpio" --append "test=all panic=exit"
