#!/bin/sh
# Without a catch, a debug-kernel report panics: a write after free found
# by the heap check (suite kdebug_panic) prints the report with the
# allocation and free sites, then the panic, and QEMU exits with "panic".
cd "$(dirname "$0")/.." && exec tools/weft-test --kernel build/debug/weft.elf --name debug-panic \
	--smp 2 --timeout 120 --append "test=kdebug_panic panic=exit" --no-ktap --expect-exit panic \
	--expect 'weft debug: use-after-free write: write after free to 0x[0-9a-f]+: bytes 3\.\.3 of a freed 64-byte object at 0x[0-9a-f]+' \
	--expect 'allocated at: ktest_fn_kdebug_panic_use_after_free_write_panics\+0x' \
	--expect 'freed at: +ktest_fn_kdebug_panic_use_after_free_write_panics\+0x' \
	--expect 'KERNEL PANIC on CPU [0-9]+: use-after-free write: write after free' \
	--expect '\] kmalloc_debug_check\+0x' \
	--reject 'the write after free did not panic'
