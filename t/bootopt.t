#!/bin/sh
# Bad boot options: a clear message each, the default used, and the boot
# (here: a test suite) carries on.
cd "$(dirname "$0")/.." && exec tools/weft-test --name bootopt --timeout 120 \
	--append "loglevel=banana frobnicate=1 test=bootopt panic=exit" \
	--expect "'loglevel=banana': expected a number 0\.\.7; using the default \(6\)" \
	--expect "'frobnicate=1': unknown option; using the default \(ignored\)"
