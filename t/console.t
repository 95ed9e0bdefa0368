#!/bin/sh
# The console shell over the interrupt-driven serial port: each command's
# output, then `panic`, which must print registers and a symbolized
# backtrace and (panic=exit) leave QEMU with the panic status.
cd "$(dirname "$0")/.." && exec tools/weft-test --name console --timeout 120 \
	--append "panic=exit" \
	--send help --send mem --send uptime --send cpu --send 'nosuchcmd' --send 'panic from the test' \
	--expect-exit panic \
	--expect 'mem +free and used pages' \
	--expect 'pages +[0-9]+ total, [0-9]+ free' \
	--expect 'heap +[0-9]+ bytes in use' \
	--expect 'up [0-9]+\.[0-9]{3} s' \
	--expect 'vendor +\S+' \
	--expect 'features.* nx' \
	--expect 'nosuchcmd: unknown command' \
	--expect 'KERNEL PANIC on CPU 0: requested from the console: from the test' \
	--expect 'RAX [0-9a-f]{16} RBX [0-9a-f]{16}' \
	--expect '\] cmd_panic\+0x' \
	--expect '\] shell_run\+0x' \
	--expect 'end of panic: system halted'
