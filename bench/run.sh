#!/usr/bin/env bash
# make bench: phaseprobe's speed next to its peers, measured in the same run on this machine.
# Each section prints a table with the ratio against the peer. Nothing here asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/peer_env.sh
PY=/usr/bin/python3
export GOMLX_NO_AUTO_INSTALL=1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

section() { printf '\n== %s ==\n' "$*"; }
# pin1 CMD...: run CMD on one core. PyTorch told to use one thread still keeps a second core busy
# (its CPU time is about twice its wall time unpinned); phaseprobe runs with GOMAXPROCS=1 (-cpu 1),
# pinned too (unpinned, it was seen using more CPU time than wall time at GOMAXPROCS=1).
pin1() { if command -v taskset >/dev/null; then taskset -c 0 "$@"; else "$@"; fi; }

section "Training step: 2 layers, 4 heads, batch 64 x 16 tokens (phaseprobe cpu backend vs PyTorch CPU, 1 thread)"
go test -c -o "$tmp/train.test" ./train/
(cd train && pin1 "$tmp/train.test" -test.run '^$' -test.bench 'BenchmarkTrainStep$' -test.benchtime 10x -test.cpu 1 -test.count 1) > "$tmp/go.txt" || true
pin1 $PY bench/torch_step.py --d-model 32 64 128 256 --steps 20 > "$tmp/torch.jsonl"
$PY - "$tmp/go.txt" "$tmp/torch.jsonl" <<'PYEOF'
import json, re, sys
go = {}
for line in open(sys.argv[1]):
    m = re.match(r'BenchmarkTrainStep/d_model=(\d+)/grad=(\w+)(?:-\d+)?\s+\d+\s+\d+ ns/op\s+([\d.]+) ms/step', line)
    if m:
        go[(int(m.group(1)), m.group(2))] = float(m.group(3))
torch = {j["d_model"]: j["ms_per_step"] for j in map(json.loads, open(sys.argv[2]))}
print(f"{'d_model':>8} {'phaseprobe ms/step':>19} {'tokens/s':>9} {'stock-grad ms/step':>19} {'speed-up':>9} {'PyTorch ms/step':>16} {'vs PyTorch':>11}")
for d in sorted(torch):
    ours = go.get((d, "matmul"))
    stock = go.get((d, "stock"))
    su = f"{stock/ours:8.1f}x" if stock and ours else f"{'-':>9}"
    st = f"{stock:19.1f}" if stock else f"{'-':>19}"
    print(f"{d:8d} {ours:19.1f} {64*16/ours*1e3:9.0f} {st} {su} {torch[d]:16.1f} {ours/torch[d]:10.2f}x")
print("(vs PyTorch > 1 means phaseprobe is slower; speed-up is the matrix-product DotGeneral gradient over GoMLX's stock one)")
PYEOF

for extra in bench/backend_bench.sh bench/geometry_bench.sh bench/probes_bench.sh bench/capture_bench.sh bench/ensemble_bench.sh; do
  if [ -f "$extra" ]; then bash "$extra"; fi
done
