#!/usr/bin/env bash
# Times probes.FitLogistic against scikit-learn's LogisticRegression on identical data and
# prints one table row per case: best-of-RUNS fit times, their ratio, and both models' accuracies,
# iterations and final objectives (so the times compare fits of equal quality). The Go and Python
# runs alternate, so both see the same load on a shared machine.
#
#   bench/probes_bench.sh                 # 5 alternating rounds, all cores
#   RUNS=10 THREADS=1 bench/probes_bench.sh   # single-threaded Go, OpenBLAS and OpenMP
#
# Needs go and /usr/bin/python3 with numpy and scikit-learn. Run from anywhere in the repository.
set -euo pipefail
cd "$(git -C "$(dirname "$0")" rev-parse --show-toplevel)"
. bench/peer_env.sh
RUNS=${RUNS:-5}
PY=${PY:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [[ -n "${THREADS:-}" ]]; then
	export GOMAXPROCS=$THREADS OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
fi

go test -c -o "$tmp/probes.test" ./probes/
for ((i = 0; i < RUNS; i++)); do
	(cd probes && "$tmp/probes.test" -test.run '^$' -test.bench '^BenchmarkFitLogistic$' -test.benchtime 3x) >>"$tmp/go.txt"
	"$PY" bench/probes_bench.py --repeat 1 >>"$tmp/sk.jsonl"
done
(cd probes && "$tmp/probes.test" -test.run '^$' \
	-test.bench '^Benchmark(ScoreHeads|Specialisation|FitRidge|CrossValidateLogistic)$' -test.benchtime 3x -test.count 3) >>"$tmp/go.txt"

"$PY" - "$tmp/go.txt" "$tmp/sk.jsonl" <<'PYEOF'
import json, re, sys

def keep_min(table, key, rec, field):
    if key not in table or rec[field] < table[key][field]:
        table[key] = rec

go, other, sk = {}, {}, {}
for line in open(sys.argv[1]):
    if not line.startswith("Benchmark"):
        continue
    f = line.split()
    name = re.sub(r"-\d+$", "", f[0])
    metrics = {f[i + 1]: float(f[i]) for i in range(2, len(f) - 1, 2)}
    m = re.match(r"BenchmarkFitLogistic/(.*)", name)
    keep_min(go if m else other, m.group(1) if m else name, metrics, "ns/op")
for line in open(sys.argv[2]):
    s = json.loads(line)
    keep_min(sk, s["case"], s, "seconds")

print(f"{'case':<20} {'go ms':>8} {'sk ms':>8} {'go/sk':>6}  {'test acc go / sk':>17}  {'train acc go / sk':>17}  {'iters go / sk':>13}  {'objective go / sk':>21}")
for case, s in sk.items():
    g = go[case]
    gms, sms = g["ns/op"] / 1e6, s["seconds"] * 1e3
    print(f"{case:<20} {gms:8.1f} {sms:8.1f} {gms / sms:6.2f}  "
          f"{g['test_acc']:8.4f} / {s['test_acc']:.4f}  {g['train_acc']:8.4f} / {s['train_acc']:.4f}  "
          f"{int(g['iters']):6d} / {s['iters']:<4d}  {g['objective_x1e6'] / 1e6:10.4f} / {s['objective']:.4f}")
print()
print("Go only (best of runs):")
for k, v in sorted(other.items()):
    print(f"  {k:<40} {v['ns/op'] / 1e6:8.1f} ms")
PYEOF
