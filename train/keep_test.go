package train

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// keepSpec is a two-cell sweep (one ensemble of two seeds) with six scheduled checkpoints.
const keepSpec = `
name: keep
task: {name: addition, params: {digits: 2}}
model: {d_model: [16], n_layers: [1], n_heads: [2]}
seeds: [0, 1]
train: {steps: 30, batch_size: 16, optimizer: {lr: 0.003}}
checkpoints: {count: 5%s}
probe: {examples: 32, capture_examples: 8}
ensemble: 2
`

func keepSweep(t *testing.T, keep string) Spec {
	t.Helper()
	s, err := ParseSpec([]byte(strings.Replace(keepSpec, "%s", keep, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ckptFiles lists the file names in a cell's checkpoints/ folder.
func ckptFiles(t *testing.T, cellDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(cellDir, "checkpoints"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestKeepParses(t *testing.T) {
	for _, c := range []struct {
		keep string
		want int
		err  string
	}{
		{"", 0, ""}, {", keep: all", 0, ""}, {", keep: last", 1, ""}, {", keep: 3", 3, ""},
		{", keep: 0", 0, `checkpoints.keep: "0"`}, {", keep: -2", 0, `checkpoints.keep: "-2"`}, {", keep: newest", 0, `checkpoints.keep: "newest"`},
	} {
		s, err := ParseSpec([]byte(strings.Replace(keepSpec, "%s", c.keep, 1)))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("keep %q: error %v, want one naming %s", c.keep, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("keep %q: %v", c.keep, err)
		}
		if n, _ := s.Checkpoints.KeepCheckpoints(); n != c.want {
			t.Errorf("keep %q: keeps %d, want %d", c.keep, n, c.want)
		}
	}
}

// TestKeepLast: with checkpoints.keep: last a captured cell holds only its final checkpoint, and
// files a user put into checkpoints/ survive; the tables equal those of keep: all row for row. A
// sweep interrupted mid-training prunes nothing (no cell is captured), and its rerun resumes from
// the last checkpoint and writes the same tables. A sweep run with keep: all and rerun with keep: 2
// (a kill between a capture and its pruning leaves the same state) prunes the captured cells to the
// newest two, without retraining.
func TestKeepLast(t *testing.T) {
	b := testBackend(t)
	ctx := context.Background()
	dir := t.TempDir()
	all, last, killed := filepath.Join(dir, "all"), filepath.Join(dir, "last"), filepath.Join(dir, "killed")
	if err := RunSweep(ctx, b, keepSweep(t, ""), SweepOptions{Out: all}); err != nil {
		t.Fatal(err)
	}
	cells, _ := keepSweep(t, "").Cells()
	schedule := keepSweep(t, "").Checkpoints.Steps
	final := filepath.Base(checkpointPath("", schedule[len(schedule)-1]))
	// A user's files in the first cell's checkpoints/ folder.
	userDir := filepath.Join(CellDir(filepath.Join(last, "keep"), cells[0].ID), "checkpoints")
	if err := os.MkdirAll(userDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"notes.txt", "mine.ckpt"} {
		if err := os.WriteFile(filepath.Join(userDir, f), []byte("user data"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := RunSweep(ctx, b, keepSweep(t, ", keep: last"), SweepOptions{Out: last}); err != nil {
		t.Fatal(err)
	}
	for i, c := range cells {
		got := ckptFiles(t, CellDir(filepath.Join(last, "keep"), c.ID))
		want := []string{final}
		if i == 0 {
			want = []string{"mine.ckpt", "notes.txt", final}
		}
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: checkpoints/ holds %v, want %v", c.ID, got, want)
		}
	}
	sameCellTables(t, filepath.Join(all, "keep"), filepath.Join(last, "keep"))

	// Interrupted mid-training (at step 12 of 30): nothing is pruned; the rerun resumes.
	cctx, cancel := context.WithCancel(ctx)
	err := RunSweep(cctx, b, keepSweep(t, ", keep: last"), SweepOptions{Out: killed, Progress: func(_ string, step, _ int, _ float64) {
		if step == 12 {
			cancel()
		}
	}})
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted sweep: %v, want context.Canceled", err)
	}
	for _, c := range cells {
		cd := CellDir(filepath.Join(killed, "keep"), c.ID)
		if cellDone(cd) {
			t.Fatalf("%s was captured before the interruption; the test proves nothing", c.ID)
		}
		var want []string
		for _, st := range schedule {
			if st <= 12 {
				want = append(want, filepath.Base(checkpointPath("", st)))
			}
		}
		if got := ckptFiles(t, cd); !slices.Equal(got, want) {
			t.Errorf("%s after the interruption: checkpoints/ holds %v, want every checkpoint up to step 12 %v", c.ID, got, want)
		}
	}
	if err := RunSweep(ctx, b, keepSweep(t, ", keep: last"), SweepOptions{Out: killed}); err != nil {
		t.Fatal(err)
	}
	for _, c := range cells {
		if got := ckptFiles(t, CellDir(filepath.Join(killed, "keep"), c.ID)); !slices.Equal(got, []string{final}) {
			t.Errorf("%s after the resumed sweep: checkpoints/ holds %v, want [%s]", c.ID, got, final)
		}
	}
	sameCellTables(t, filepath.Join(all, "keep"), filepath.Join(killed, "keep"))

	// Rerun the keep: all sweep with keep: 2: its captured cells are pruned to the newest two.
	before, err := os.Stat(filepath.Join(CellDir(filepath.Join(all, "keep"), cells[0].ID), data.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := RunSweep(ctx, b, keepSweep(t, ", keep: 2"), SweepOptions{Out: all}); err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Base(checkpointPath("", schedule[len(schedule)-2])), final}
	for _, c := range cells {
		if got := ckptFiles(t, CellDir(filepath.Join(all, "keep"), c.ID)); !slices.Equal(got, want) {
			t.Errorf("%s after keep: 2: checkpoints/ holds %v, want %v", c.ID, got, want)
		}
	}
	after, err := os.Stat(filepath.Join(CellDir(filepath.Join(all, "keep"), cells[0].ID), data.MetricsFile))
	if err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("pruning a captured cell rewrote its tables (%v)", err)
	}
}

// TestPruneRefusesUncapturedCells: a cell without done.json keeps every checkpoint.
func TestPruneRefusesUncapturedCells(t *testing.T) {
	cd := t.TempDir()
	if err := os.MkdirAll(filepath.Join(cd, "checkpoints"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := PruneCheckpoints(cd, []int{0, 1}, 1); err == nil || !strings.Contains(err.Error(), "done.json") {
		t.Fatalf("pruning an uncaptured cell: %v, want an error naming done.json", err)
	}
}

// sameCellTables checks that the task tables of every cell of two sweep folders are equal row for row.
func sameCellTables(t *testing.T, want, got string) {
	t.Helper()
	check := func(name string, a, b any) {
		if reflect.ValueOf(a).Len() == 0 || !reflect.DeepEqual(a, b) {
			t.Errorf("%s: %d rows in %s, %d in %s, or rows differ", name, reflect.ValueOf(a).Len(), want, reflect.ValueOf(b).Len(), got)
		}
	}
	check(data.MetricsFile, readCells[data.MetricRow](t, want, data.MetricsFile), readCells[data.MetricRow](t, got, data.MetricsFile))
	check(data.ActivationsFile, readCells[data.ActivationRow](t, want, data.ActivationsFile), readCells[data.ActivationRow](t, got, data.ActivationsFile))
	check(data.AttentionFile, readCells[data.AttentionRow](t, want, data.AttentionFile), readCells[data.AttentionRow](t, got, data.AttentionFile))
	check(data.OutputsFile, readCells[data.OutputRow](t, want, data.OutputsFile), readCells[data.OutputRow](t, got, data.OutputsFile))
}
