package analysis

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// TestReuseKey: a cell's internal_metrics.parquet is reused by a rerun with the same options and
// recomputed when any setting that changes it differs: every probe optimiser setting, the probed
// and analysed sites, the rank tolerances, the pattern check's tolerance and the seed. Settings
// of the sweep-level stage only (jobs, replicates, decisions) do not force it.
func TestReuseKey(t *testing.T) {
	run := t.TempDir()
	c := data.Coords{Sweep: "r", Cell: "c", Task: "toy", DModel: 2, NLayers: 1, NHeads: 1}
	writeCell(t, run, c, []int64{0, 10, 100}, func(s int64, e int) []float32 { return []float32{float32(e), float32(s % 7)} })
	analyze := func(opt Options) Summary {
		t.Helper()
		sum, err := Analyze(context.Background(), run, opt)
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	base := Options{}
	analyze(base)
	if s := analyze(base); s.Skipped != 1 {
		t.Fatalf("rerun with the same options: %d cells skipped, want 1", s.Skipped)
	}
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"ProbeFolds", Options{ProbeFolds: 5}},
		{"ProbeC", Options{ProbeC: 0.1}},
		{"ProbeTol", Options{ProbeTol: 1e-5}},
		{"ProbeMaxIter", Options{ProbeMaxIter: 50}},
		{"ProbeRawFeatures", Options{ProbeRawFeatures: true}},
		{"ProbeSites", Options{ProbeSites: []string{"hook_resid_mid"}}},
		{"Sites", Options{Sites: []string{"blocks.0.hook_resid_post"}}},
		{"RankTol", Options{RankTol: 1e-6}},
		{"RankMeEpsilon", Options{RankMeEpsilon: 1e-9}},
		{"PatternTol", Options{PatternTol: 1e-2}},
		{"Seed", Options{Seed: 7}},
	} {
		analyze(base) // the table on disk is the base options' before each change
		if s := analyze(tc.opt); s.Skipped != 0 {
			t.Errorf("%s changed: %d cells skipped, want the cell analysed again", tc.name, s.Skipped)
		}
		if s := analyze(tc.opt); s.Skipped != 1 {
			t.Errorf("%s: rerun with the same options: %d cells skipped, want 1", tc.name, s.Skipped)
		}
	}
	analyze(base)
	if s := analyze(Options{Jobs: 2, Replicates: 99, Decisions: Decisions{DecisionConfig: DecisionConfig{Alpha: 0.01, FDRLevel: 0.01}}}); s.Skipped != 1 {
		t.Errorf("sweep-level settings changed: %d cells skipped, want 1 (they do not change internal metrics)", s.Skipped)
	}
}

// TestSweepSettingsRecorded: every sweep-level table records the split the capability was judged
// on and the levels it was decided at, for readers such as the report.
func TestSweepSettingsRecorded(t *testing.T) {
	run := t.TempDir()
	c := data.Coords{Sweep: "r", Cell: "c", Task: "toy", DModel: 2, NLayers: 1, NHeads: 1}
	writeCell(t, run, c, []int64{0, 10, 100}, func(s int64, e int) []float32 { return []float32{float32(e), float32(s % 7)} })
	if _, err := Analyze(context.Background(), run, Options{Replicates: 99, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	want := data.AnalysisSettings{Split: "test", Seed: 4, Replicates: 99, Alpha: 0.05, FDRLevel: 0.05, Learned: 0.5, NeverLearned: 0.1,
		ControlCeiling: 0.95, MinCells: 6, MinWidths: 5}
	for _, f := range []string{data.TransitionsFile, data.JumpsFile, data.MirageFile, data.VerdictsFile} {
		got, ok, err := data.ReadAnalysisSettings(filepath.Join(run, "analysis", f))
		if err != nil || !ok || got != want {
			t.Errorf("%s: settings %+v (recorded %v, %v), want %+v", f, got, ok, err, want)
		}
	}
}
