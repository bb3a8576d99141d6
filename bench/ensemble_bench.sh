#!/usr/bin/env bash
# Per-model training throughput of seed ensembles (K models in one graph) on the cpu backend,
# next to PyTorch CPU (1 thread) training the same models one after another — its per-model
# throughput is its single-model throughput. Same run, same machine.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/peer_env.sh
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '\n== Seed ensembles: family throughput, 2 layers, 4 heads, batch 64 x 16 (phaseprobe cpu backend vs PyTorch CPU sequential) ==\n'
# One core each, pinned: phaseprobe with GOMAXPROCS=1, PyTorch with 1 thread (unpinned, each keeps
# a second core busy too).
if command -v taskset >/dev/null; then pin=(taskset -c 0); else pin=(); fi
go test -c -o "$tmp/train.test" ./train/
(cd train && "${pin[@]}" "$tmp/train.test" -test.run '^$' -test.bench 'BenchmarkEnsembleStep' -test.benchtime 5x -test.cpu 1 -test.count 1) > "$tmp/go.txt"
"${pin[@]}" /usr/bin/python3 bench/torch_step.py --d-model 32 64 128 --steps 20 > "$tmp/torch.jsonl"
/usr/bin/python3 - "$tmp/go.txt" "$tmp/torch.jsonl" <<'PYEOF'
import json, re, sys
go = {}
for line in open(sys.argv[1]):
    m = re.match(r'BenchmarkEnsembleStep/d_model=(\d+)/K=(\d+)(?:-\d+)?\s+\d+\s+\d+ ns/op\s+([\d.]+) ms/step\s+([\d.e+]+) tokens/s', line)
    if m:
        go[(int(m.group(1)), int(m.group(2)))] = (float(m.group(3)), float(m.group(4)))
torch = {j["d_model"]: j["tokens_per_s"] for j in map(json.loads, open(sys.argv[2]))}
print(f"{'d_model':>8} {'K':>3} {'ms/step':>9} {'ms/model-step':>14} {'model-tokens/s':>15} {'PyTorch tokens/s':>17} {'ratio':>7}")
for (d, k), (ms, tps) in sorted(go.items()):
    # tps counts every member's tokens: K x 64 x 16 per step. PyTorch trains the K models one after
    # another, so its family throughput is its single-model tokens/s.
    print(f"{d:8d} {k:3d} {ms:9.1f} {ms/k:14.1f} {tps:15.0f} {torch[d]:17.0f} {tps/torch[d]:7.2f}")
print("(model-tokens/s = tokens per second summed over the K models of the ensemble; ratio = that over")
print(" PyTorch's tokens/s training the same models one after another; >= 1 means phaseprobe trains a family faster)")
PYEOF
