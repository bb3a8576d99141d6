#!/usr/bin/env bash
# Capture overhead: a small sweep's time spent evaluating and capturing every checkpoint into
# Parquet, as a fraction of its training time, in wall time and in CPU time (with the forward
# passes' share, the floor); and the Parquet write rate of activations.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '\n== Capture overhead (sweep of 2 cells, d_model 32, 2 layers, 300 steps, 16 checkpoints, 256 probe examples) ==\n'
cat > "$tmp/spec.yaml" <<'YAML'
name: capbench
task: {name: addition, params: {digits: 3}}
model: {d_model: [32], n_layers: [2], n_heads: [4]}
seeds: [0, 1]
train: {steps: 300, batch_size: 64}
checkpoints: {count: 16}
probe: {examples: 256, capture_examples: 256, positions: all}
ensemble: 1
YAML
go build -o "$tmp/phaseprobe" ./cmd/phaseprobe
PHASEPROBE_LOG=info "$tmp/phaseprobe" sweep "$tmp/spec.yaml" --out "$tmp/runs" 2> "$tmp/log" >/dev/null
/usr/bin/python3 - "$tmp/log" <<'PYEOF'
import re, sys
train = cap = 0.0; nbytes = 0
for line in open(sys.argv[1]):
    if "ensemble trained" in line:
        train += float(re.search(r"seconds=([\d.e+-]+)", line).group(1))
    if "cell captured" in line:
        cap += float(re.search(r"seconds=([\d.e+-]+)", line).group(1))
        nbytes += int(re.search(r"parquet_bytes=(\d+)", line).group(1))
print(f"training {train:.1f} s, evaluation + capture {cap:.1f} s: capture overhead {cap/train:.1%} of training time")
print(f"Parquet written: {nbytes/1e6:.1f} MB in {cap:.1f} s of capture ({nbytes/1e6/cap:.1f} MB/s including the forward passes)")
PYEOF
printf '\n== Capture CPU time (one cell of the same setting; CPU time, which a loaded machine disturbs less than wall time) ==\n'
go test ./train/ -run '^$' -bench 'BenchmarkCaptureCell$' -benchtime 2x -count 1 2>/dev/null > "$tmp/cpu.txt"
/usr/bin/python3 - "$tmp/cpu.txt" <<'PYEOF'
import re, sys
for line in open(sys.argv[1]):
    m = {k: float(v) for v, k in re.findall(r"([\d.]+) (cpu-ms/cell|cpu-ms/step|capture-cpu-%|forward-cpu-ms/cell|forward-cpu-%)", line)}
    if "cpu-ms/cell" in m:
        print(f"capture {m['cpu-ms/cell']:.0f} ms of CPU per cell against {300*m['cpu-ms/step']:.0f} ms for its 300 training steps: {m['capture-cpu-%']:.1f}%")
        print(f"of which the forward passes alone (the floor) {m['forward-cpu-ms/cell']:.0f} ms: {m['forward-cpu-%']:.1f}%")
PYEOF
printf '\n== Parquet write rate of activation rows (list<float32>, byte-stream-split + Snappy; MB/s of float payload) ==\n'
go test ./data/ -run '^$' -bench 'BenchmarkWriteActivations' -benchtime 200x -count 1 | grep -E '^Benchmark'
