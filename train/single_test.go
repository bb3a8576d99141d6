package train

import (
	"context"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// TestTrainSingle: one call trains every seed, scores each on the same held-out set, reports the
// end of training to progress and saves one readable checkpoint per seed; a run far beyond the
// machine's memory is refused with ErrMemory before anything is allocated.
func TestTrainSingle(t *testing.T) {
	task, err := data.NewTask("addition", map[string]any{"digits": 2})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := EvalSet(task, 3, 20), EvalSet(task, 3, 20); !reflect.DeepEqual(a, b) {
		t.Error("EvalSet with the same seed gave different examples")
	}
	if a, b := EvalSet(task, 3, 20), EvalSet(task, 4, 20); reflect.DeepEqual(a, b) {
		t.Error("EvalSet with another seed gave the same examples")
	}
	huge := SingleConfig{Run: RunConfig{Task: task, Model: Config{DModel: 1 << 16, NLayers: 64, NHeads: 4}, Seeds: []uint64{0}, Steps: 1, BatchSize: 64}, EvalExamples: 10}
	if _, err := huge.Resolve(); !errors.Is(err, ErrMemory) {
		t.Errorf("a 64-layer d_model 65536 run: %v, want ErrMemory", err)
	}
	b, err := NewBackend("cpu")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dir := t.TempDir()
	c := SingleConfig{Run: RunConfig{Task: task, Model: Config{DModel: 16, NLayers: 1, NHeads: 2}, Seeds: []uint64{5, 6}, Steps: 6, BatchSize: 8},
		EvalExamples: 30, EvalSeed: 5, SaveDir: dir}
	var steps []int
	res, err := TrainSingle(context.Background(), b, c, func(step, total int, loss float64) { steps = append(steps, step) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1, 2, 3, 4, 5, 6, -1}; !reflect.DeepEqual(steps, want) {
		t.Errorf("progress saw steps %v, want %v", steps, want)
	}
	if len(res.Scores) != 2 || res.Scores[0].N != 30 || res.Scores[1].N != 30 || res.Model.DHead != 8 || res.Steps != 6 {
		t.Errorf("result %+v: want 2 members scored on 30 examples, the resolved model and 6 steps", res)
	}
	if len(res.Saved) != 2 {
		t.Fatalf("saved %v, want one checkpoint per seed", res.Saved)
	}
	for _, p := range res.Saved {
		if _, err := ReadCheckpointHeader(p); err != nil {
			t.Errorf("checkpoint %s: %v", p, err)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("save folder holds %d entries, want the 2 checkpoints", len(entries))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c.SaveDir = t.TempDir()
	if _, err := TrainSingle(ctx, b, c, nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(c.SaveDir); len(entries) != 0 {
		t.Errorf("a cancelled run saved %d files", len(entries))
	}
}
