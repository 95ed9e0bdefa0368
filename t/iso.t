#!/bin/sh
# The bootable ISO: GRUB loads weft through multiboot2 (the path a real PC
# takes) and the test entry of its menu runs the traps and memory suites.
cd "$(dirname "$0")/.." && exec tools/weft-test --name iso --timeout 300 \
	--iso build/weft-test.iso --ktap \
	--expect 'boot: multiboot2, loader "GRUB' \
	--expect 'boot: command line ".*test=traps,pmm'
