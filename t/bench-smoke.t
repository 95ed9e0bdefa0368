#!/bin/sh
# The benchmark build boots and every benchmark completes (no figures are
# asserted: speed is measured by `make bench`, never tested).
cd "$(dirname "$0")/.." && exec tools/weft-test --name bench --timeout 300 --no-ktap \
	--append "bench=all loglevel=3" \
	--expect 'bench: yield switch \(2 threads\) +[0-9]+ ns/op' \
	--expect 'bench: thread create \+ join +[0-9]+ ns/op' \
	--expect 'bench: end'
