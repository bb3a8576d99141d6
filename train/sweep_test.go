package train

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

const ensembleSpec = `
name: ens
task: {name: addition, params: {digits: 2}}
model: {d_model: [16], n_layers: [1], n_heads: [2]}
seeds: [0, 1, 2]
train: {steps: 40, batch_size: 16, optimizer: {lr: 0.003}}
checkpoints: {count: 4}
probe: {examples: 32, capture_examples: 8}
`

func readCells[T data.TableRow](t *testing.T, sweepDir, file string) []T {
	t.Helper()
	dirs, err := data.CellDirs(sweepDir)
	if err != nil {
		t.Fatal(err)
	}
	var all []T
	for _, d := range dirs {
		if _, err := data.ReadTable(filepath.Join(d, file), func(rows []T) error { all = append(all, rows...); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	return all
}

// TestSweepWithEnsemblesMatchesSeparateCells: training the three seeds as one ensemble (K = 3) or
// one at a time (K = 1) writes the same tables: identical coordinates and steps, values equal to
// float32 rounding (the ensemble's batched matrix products may sum in another order).
func TestSweepWithEnsemblesMatchesSeparateCells(t *testing.T) {
	b := testBackend(t)
	s, err := ParseSpec([]byte(ensembleSpec))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	one, three := filepath.Join(dir, "k1"), filepath.Join(dir, "k3")
	if err := RunSweep(context.Background(), b, s, SweepOptions{Out: one, Ensemble: 1}); err != nil {
		t.Fatal(err)
	}
	if err := RunSweep(context.Background(), b, s, SweepOptions{Out: three, Ensemble: 3}); err != nil {
		t.Fatal(err)
	}
	a := readCells[data.MetricRow](t, filepath.Join(one, "ens"), data.MetricsFile)
	c := readCells[data.MetricRow](t, filepath.Join(three, "ens"), data.MetricsFile)
	if len(a) != len(c) || len(a) == 0 {
		t.Fatalf("%d metric rows with K=1, %d with K=3", len(a), len(c))
	}
	for i := range a {
		x, y := a[i], c[i]
		vx, vy := data.Float(x.Value), data.Float(y.Value)
		x.Value, y.Value = nil, nil
		if x != y {
			t.Fatalf("row %d: %+v vs %+v", i, x, y)
		}
		if math.Abs(vx-vy) > 1e-4*(1+math.Abs(vx)) {
			t.Fatalf("row %d (%s %s step %d): %v with K=1, %v with K=3", i, x.Cell, x.Metric, x.Step, vx, vy)
		}
	}
	acts1 := readCells[data.ActivationRow](t, filepath.Join(one, "ens"), data.ActivationsFile)
	acts3 := readCells[data.ActivationRow](t, filepath.Join(three, "ens"), data.ActivationsFile)
	if len(acts1) != len(acts3) {
		t.Fatalf("%d activation rows with K=1, %d with K=3", len(acts1), len(acts3))
	}
	for i := range acts1 {
		for j := range acts1[i].Vector {
			if d := math.Abs(float64(acts1[i].Vector[j] - acts3[i].Vector[j])); d > 1e-3 {
				t.Fatalf("activation row %d [%d]: %v vs %v", i, j, acts1[i].Vector[j], acts3[i].Vector[j])
			}
		}
	}
}

// TestCompiledStepsAreShared: trainers of one shape share one compiled training step; a new shape
// compiles its own.
func TestCompiledStepsAreShared(t *testing.T) {
	b, err := NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		b.mu.Lock()
		defer b.mu.Unlock()
		return len(b.execs)
	}
	var execs []any
	for _, seed := range []uint64{1, 2, 3} {
		tr, err := NewTrainer(b, tinyCfg, Optim{}, []uint64{seed})
		if err != nil {
			t.Fatal(err)
		}
		e, err := tr.stepExec()
		if err != nil {
			t.Fatal(err)
		}
		execs = append(execs, e)
	}
	if execs[0] != execs[1] || execs[1] != execs[2] || count() != 1 {
		t.Fatalf("three trainers of one shape built %d computations", count())
	}
	wider := tinyCfg
	wider.DModel = 32
	tr, _ := NewTrainer(b, wider, Optim{}, []uint64{1})
	if _, err := tr.stepExec(); err != nil {
		t.Fatal(err)
	}
	if count() != 2 {
		t.Fatalf("a new width should add one computation; have %d", count())
	}
}

// TestSweepResumesOnItsBackend: a sweep stopped after a checkpoint and rerun on another backend
// is refused, naming the backend it trained on, and its checkpoints are left as they were; rerun
// on its own backend it finishes.
func TestSweepResumesOnItsBackend(t *testing.T) {
	s, err := ParseSpec([]byte(`
name: rb
task: {name: addition, params: {digits: 2}}
model: {d_model: [8], n_layers: [1], n_heads: [2]}
seeds: [0, 1]
train: {steps: 20, batch_size: 8}
checkpoints: {count: 4}
probe: {examples: 16, capture_examples: 8}
ensemble: 2
`))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cpu := testBackend(t)
	if err := RunSweep(context.Background(), cpu, s, SweepOptions{Out: out}); err != nil {
		t.Fatal(err)
	}
	cells, _ := s.Cells()
	var dirs []string
	for _, c := range cells { // as if killed after the second-last checkpoint
		d := CellDir(filepath.Join(out, s.Name), c.ID)
		steps := CheckpointSteps(d)
		if err := os.Remove(filepath.Join(d, data.DoneFile)); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(checkpointPath(d, steps[len(steps)-1])); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, d)
	}
	before := CheckpointSteps(dirs[0])
	other, err := NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	err = RunSweep(context.Background(), other, s, SweepOptions{Out: out})
	if err == nil || !strings.Contains(err.Error(), "--backend cpu") {
		t.Fatalf("resume on go: err %v", err)
	}
	if got := CheckpointSteps(dirs[0]); !slices.Equal(got, before) {
		t.Errorf("checkpoints %v after the refused resume, %v before", got, before)
	}
	if err := RunSweep(context.Background(), cpu, s, SweepOptions{Out: out}); err != nil {
		t.Fatalf("resume on cpu: %v", err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, data.DoneFile)); err != nil {
			t.Errorf("%s not finished: %v", d, err)
		}
	}
}
