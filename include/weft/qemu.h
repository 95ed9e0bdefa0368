/* qemu.h - leaving QEMU through its isa-debug-exit device (port 0xf4).
 * Writing V makes QEMU exit with status (V << 1) | 1; the host harness
 * (tools/weft-test) reads 33 as "tests passed", 35 "failed", 37 "panic".
 * On a machine without the device the write does nothing and we halt. */
#ifndef WEFT_QEMU_H
#define WEFT_QEMU_H
#define QEMU_EXIT_PASS  0x10
#define QEMU_EXIT_FAIL  0x11
#define QEMU_EXIT_PANIC 0x12
__attribute__((noreturn)) void qemu_exit(unsigned code);
#endif
