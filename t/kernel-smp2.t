#!/bin/sh
# The same suites with a second CPU online: it idles in its own idle loop
# unless a test puts threads there (suite smp), and every other suite
# must not care that it is there.
# The clock-sensitive suites (sched, time) run under -icount in t/timing-*.t.
cd "$(dirname "$0")/.." && exec tools/weft-test --name smp2 --smp 2 --mem 512M --timeout 600 \
	--extra "-initrd build/initramfs.cpio" --append "test=all,-sched,-time panic=exit"
