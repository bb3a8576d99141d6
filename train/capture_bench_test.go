package train

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
)

// cpuTime is the process's user + system CPU time so far (every goroutine's).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// captureBenchSpec is bench/capture_bench.sh's setting (d_model 32, 2 layers, 4 heads, 16
// checkpoints, 256 probe and capture examples, every position) with fewer training steps: the
// capture's cost does not depend on how long the model trained.
const captureBenchSpec = `
name: capbench
task: {name: addition, params: {digits: 3}}
model: {d_model: [32], n_layers: [2], n_heads: [4]}
seeds: [0]
train: {steps: 60, batch_size: 64}
checkpoints: {count: 16}
probe: {examples: 256, capture_examples: 256, positions: all}
ensemble: 1
`

// BenchmarkCaptureCell times CaptureCell on one trained cell of the capture bench's setting: every
// checkpoint evaluated on the probe and train sets, captured and written to Parquet. One op is one
// cell (16 checkpoints). Besides wall time it reports CPU time (all goroutines), which a loaded
// machine disturbs far less: cpu-ms/cell, the CPU time of one training step of the same model at
// batch 64 (cpu-ms/step), and their ratio for the bench's 300 training steps (capture-cpu-%), the
// overhead bench/capture_bench.sh measures in wall time.
func BenchmarkCaptureCell(b *testing.B) {
	be := testBackend(b)
	s, err := ParseSpec([]byte(captureBenchSpec))
	if err != nil {
		b.Fatal(err)
	}
	out := b.TempDir()
	if err := RunSweep(context.Background(), be, s, SweepOptions{Out: out, Ensemble: 1}); err != nil {
		b.Fatal(err)
	}
	cells, err := s.Cells()
	if err != nil {
		b.Fatal(err)
	}
	c := cells[0]
	dir := CellDir(filepath.Join(out, s.Name), c.ID)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// Training CPU per step, measured on the cell's own model after a warm-up step.
	tr, _, err := RestoreTrainer(be, []string{checkpointPath(dir, 0)})
	if err != nil {
		b.Fatal(err)
	}
	task, err := data.NewTask(s.Task.Name, s.Task.Params)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const steps = 40
	var stepCPU time.Duration
	for i := range steps + 1 {
		start := cpuTime(b)
		if _, err := tr.Step([]data.Batch{task.Sample(rng, 64, data.Train)}, 300); err != nil {
			b.Fatal(err)
		}
		if i > 0 {
			stepCPU += cpuTime(b) - start
		}
	}
	stepCPU /= steps
	b.ResetTimer()
	start := cpuTime(b)
	for b.Loop() {
		if err := CaptureCell(context.Background(), be, s, dir, c, log); err != nil {
			b.Fatal(err)
		}
	}
	capCPU := (cpuTime(b) - start) / time.Duration(b.N)
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*len(checkpointSteps(dir))), "ms/checkpoint")
	b.ReportMetric(float64(capCPU.Milliseconds()), "cpu-ms/cell")
	b.ReportMetric(float64(stepCPU.Microseconds())/1e3, "cpu-ms/step")
	b.ReportMetric(100*float64(capCPU)/float64(300*stepCPU), "capture-cpu-%")
}
