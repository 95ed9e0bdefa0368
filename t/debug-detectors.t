#!/bin/sh
# The debug kernel's detectors (suite kdebug, tests/kernel/debug): a write
# after free, a double free (also after the slot's size was allocated
# again), heap overflows past and before an object (at kfree, and found
# by the explicit check in an object still live), a write to a freed page
# and UBSan reports (shift, signed overflow, index, alignment), each caught
# by the test and checked for the right kind, address, size and sites.
cd "$(dirname "$0")/.." && exec tools/weft-test --kernel build/debug/weft.elf --name debug-detectors \
	--smp 2 --timeout 120 --append "test=kdebug panic=exit"
