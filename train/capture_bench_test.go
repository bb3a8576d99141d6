package train

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
)

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
// cell (16 checkpoints); ms/checkpoint is reported too.
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
	b.ResetTimer()
	for b.Loop() {
		if err := CaptureCell(context.Background(), be, s, dir, c, log); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*len(checkpointSteps(dir))), "ms/checkpoint")
}
