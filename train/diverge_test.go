package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

const divergeSpec = `
name: div
task: {name: addition, params: {digits: 2}}
model: {d_model: [8], n_layers: [1], n_heads: [2]}
seeds: [0, 1, 2]
train: {steps: 30, batch_size: 8, optimizer: {lr: %s}}
checkpoints: {count: 6}
probe: {examples: 16, capture_examples: 8}
`

// TestSweepMarksDivergedCells: with a huge learning rate every cell's loss stops being finite;
// RunSweep still succeeds and marks each cell with the step at which its own run (trained alone,
// stopping at the first non-finite loss) diverges, in diverged.json and as a metrics row
// "diverged"; no checkpoint after that step is saved. With a normal learning rate no cell is marked.
func TestSweepMarksDivergedCells(t *testing.T) {
	b := testBackend(t)
	for _, c := range []struct {
		lr       string
		diverges bool
	}{{"1e6", true}, {"0.003", false}} {
		t.Run("lr="+c.lr, func(t *testing.T) {
			s, err := ParseSpec(fmt.Appendf(nil, divergeSpec, c.lr))
			if err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			if err := RunSweep(context.Background(), b, s, SweepOptions{Out: out, Ensemble: 2, Log: slog.New(slog.DiscardHandler)}); err != nil {
				t.Fatal(err)
			}
			cells, _ := s.Cells()
			task, _ := data.NewTask(s.Task.Name, s.Task.Params)
			for _, cell := range cells {
				dir := CellDir(SweepDir(out, s), cell.ID)
				// The step at which this seed diverges when trained alone.
				want := -1
				r, err := NewRun(b, RunConfig{Task: task, Model: cell.Model, Optim: s.Train.Optimizer, Seeds: []uint64{cell.Seed},
					Steps: s.Train.Steps, BatchSize: s.Train.BatchSize})
				if err != nil {
					t.Fatal(err)
				}
				var de *DivergedError
				if err := r.TrainTo(context.Background(), s.Train.Steps, nil); errors.As(err, &de) {
					want = de.Step
				} else if err != nil {
					t.Fatal(err)
				}
				if c.diverges != (want >= 0) {
					t.Fatalf("%s trained alone: diverged at %d", cell.ID, want)
				}
				raw, err := os.ReadFile(filepath.Join(dir, "diverged.json"))
				if want < 0 {
					if err == nil {
						t.Errorf("%s: diverged.json %s, but it did not diverge", cell.ID, raw)
					}
				} else {
					var dj struct {
						Cell string
						Step int
					}
					if err := json.Unmarshal(raw, &dj); err != nil || dj.Cell != cell.ID || dj.Step != want {
						t.Errorf("%s: diverged.json %q (%v), want step %d", cell.ID, raw, err, want)
					}
				}
				rows := readCells[data.MetricRow](t, SweepDir(out, s), data.MetricsFile)
				got := -1
				for _, row := range rows {
					if row.Cell == cell.ID && row.Metric == "diverged" {
						got = int(row.Step)
					}
				}
				if got != want {
					t.Errorf("%s: metrics row diverged at step %d, want %d", cell.ID, got, want)
				}
				for _, st := range CheckpointSteps(dir) {
					if want >= 0 && st >= want {
						t.Errorf("%s: checkpoint at step %d, after the divergence at %d", cell.ID, st, want)
					}
				}
				if !cellDone(dir) {
					t.Errorf("%s: not finished", cell.ID)
				}
			}
		})
	}
}
