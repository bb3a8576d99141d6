package train

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

func additionTask(t *testing.T) data.Task {
	t.Helper()
	task, err := data.NewTask("addition", map[string]any{"digits": 2})
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// TestResumeContinuesTheSameRun: 12 steps, or 5 steps + checkpoint + restore + 7 steps, give
// bit-identical losses and weights on the pure-Go backend.
func TestResumeContinuesTheSameRun(t *testing.T) {
	b := testBackend(t)
	rc := RunConfig{Task: additionTask(t), Model: Config{DModel: 16, NLayers: 1, NHeads: 2}, Seeds: []uint64{4, 9},
		Steps: 12, BatchSize: 8, Optim: Optim{LR: 3e-3, WarmupSteps: 3, Schedule: "cosine"}}
	var straight []float64
	full, err := NewRun(b, rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := full.TrainTo(context.Background(), 12, func(_ int, r StepResult) { straight = append(straight, r.Loss...) }); err != nil {
		t.Fatal(err)
	}

	var resumed []float64
	dir := t.TempDir()
	first, err := NewRun(b, rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.TrainTo(context.Background(), 5, func(_ int, r StepResult) { resumed = append(resumed, r.Loss...) }); err != nil {
		t.Fatal(err)
	}
	paths := []string{filepath.Join(dir, "a.ckpt"), filepath.Join(dir, "b.ckpt")}
	for k, p := range paths {
		if err := first.Save(p, k); err != nil {
			t.Fatal(err)
		}
	}
	second, err := ResumeRun(b, rc, paths)
	if err != nil {
		t.Fatal(err)
	}
	if second.Step() != 5 {
		t.Fatalf("resumed at step %d, want 5", second.Step())
	}
	if err := second.TrainTo(context.Background(), 12, func(_ int, r StepResult) { resumed = append(resumed, r.Loss...) }); err != nil {
		t.Fatal(err)
	}
	for i := range straight {
		if straight[i] != resumed[i] {
			t.Fatalf("loss %d: straight %v, resumed %v", i, straight[i], resumed[i])
		}
	}
	for k := range 2 {
		a, c := full.Trainer.Params(k), second.Trainer.Params(k)
		for name := range a {
			for j := range a[name] {
				if a[name][j] != c[name][j] {
					t.Fatalf("member %d %s[%d]: %v vs %v", k, name, j, a[name][j], c[name][j])
				}
			}
		}
	}
}

func TestCheckpointDamageIsDetected(t *testing.T) {
	b := testBackend(t)
	rc := RunConfig{Task: additionTask(t), Model: Config{DModel: 8, NLayers: 1, NHeads: 2}, Seeds: []uint64{1}, Steps: 2, BatchSize: 4}
	r, err := NewRun(b, rc)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "x.ckpt")
	if err := r.Save(p, 0); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p)
	if _, err := ReadCheckpointHeader(p); err != nil {
		t.Fatalf("intact checkpoint: %v", err)
	}
	for name, bad := range map[string][]byte{
		"truncated": raw[:len(raw)/2],
		"bit flip":  append(append([]byte{}, raw[:100]...), append([]byte{raw[100] ^ 1}, raw[101:]...)...),
		"not ours":  []byte("hello world, this is not a checkpoint"),
	} {
		q := filepath.Join(t.TempDir(), "bad.ckpt")
		os.WriteFile(q, bad, 0o644)
		_, err := ReadCheckpointHeader(q)
		if err == nil || !strings.Contains(err.Error(), q) {
			t.Errorf("%s: error %v, want one naming %s", name, err, q)
		}
	}
	// No temporary files are left behind by a successful save.
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries after one save, want 1", len(entries))
	}
}

// TestCheckpointStepsReadsOnlyCheckpoints: a cell's checkpoints are the regular files named exactly
// as data.CheckpointFileFormat writes them; temporaries, a short name, a folder and other files
// are not.
func TestCheckpointStepsReadsOnlyCheckpoints(t *testing.T) {
	cell := t.TempDir()
	dir := filepath.Join(cell, data.CheckpointsDir)
	if err := os.MkdirAll(filepath.Join(dir, "step-00000007.ckpt"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"step-00000012.ckpt", "step-00000003.ckpt", ".step-00000004.ckpt.tmp-phaseprobe-1",
		"step-00000005.ckpt.tmp-phaseprobe-2", "step-6.ckpt", "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A checkpoint kept elsewhere and linked in (a run folder assembled from another disk) counts.
	if err := os.Symlink(filepath.Join(dir, "step-00000012.ckpt"), filepath.Join(dir, "step-00000020.ckpt")); err != nil {
		t.Fatal(err)
	}
	if got, want := CheckpointSteps(cell), []int{3, 12, 20}; !slices.Equal(got, want) {
		t.Errorf("CheckpointSteps = %v, want %v", got, want)
	}
	if got := CheckpointSteps(filepath.Join(cell, "missing")); got != nil {
		t.Errorf("CheckpointSteps of a missing cell = %v, want none", got)
	}
}
