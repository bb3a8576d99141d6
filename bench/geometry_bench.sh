#!/usr/bin/env bash
# Benchmark package geometry against numpy on the same shapes and print Go/numpy time
# ratios. Go and numpy alternate for several rounds and every timing is the minimum
# over all of them, so both see the same load on a shared machine. GOMAXPROCS and
# numpy's BLAS threads are left as configured (both use every core by default).
#
#   bench/geometry_bench.sh [rounds] [go-count]   # defaults: 3 rounds, -count 3
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/peer_env.sh
rounds="${1:-3}"
count="${2:-3}"
gobench="$(mktemp)"
nptimes="$(mktemp)"
trap 'rm -f "$gobench" "$nptimes"' EXIT
for r in $(seq "$rounds"); do
	echo "round $r/$rounds: go test -run '^\$' -bench . -count $count ./geometry/" >&2
	go test -run '^$' -bench . -count "$count" ./geometry/ >>"$gobench"
	echo "round $r/$rounds: numpy" >&2
	/usr/bin/python3 bench/geometry_bench.py --repeat 10 --emit "$nptimes" >/dev/null
done
grep -h '^Benchmark' "$gobench" >&2
/usr/bin/python3 bench/geometry_bench.py --numpy-times "$nptimes" --go-bench "$gobench"
