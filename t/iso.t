#!/bin/sh
# The bootable ISO: GRUB loads weft through multiboot2 (the path a real PC
# takes), with two CPUs, and the test entry of its menu runs the traps and
# memory suites.
cd "$(dirname "$0")/.." && exec tools/weft-test --name iso --timeout 300 \
	--iso build/weft-test.iso --ktap --smp 2 \
	--expect 'smp: 2 CPUs online' \
	--expect 'boot: multiboot2, loader "GRUB' \
	--expect 'boot: command line ".*test=traps,pmm'
