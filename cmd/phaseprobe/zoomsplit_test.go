package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/train"
)

// TestCapabilityFollowsTheAnalysisSplit: with --kind capability, zoom takes the jumps of exact match
// on the split the analysis recorded that it judged the capability on (train, for a sweep whose
// cells have no test split), not held-out exact match regardless; a table without settings falls
// back to the test split.
func TestCapabilityFollowsTheAnalysisSplit(t *testing.T) {
	dir := t.TempDir()
	row := func(split string, step float64) data.JumpRow {
		return data.JumpRow{Coords: data.Coords{Cell: "c0"},
			Series:  data.Series{Kind: data.KindTask, Split: split, Metric: data.MetricExactMatch, Layer: data.NA, Head: data.NA, Position: data.NA},
			MidStep: step, Onset10: step - 10, Onset90: step + 10}
	}
	rows := []data.JumpRow{row(data.SplitTrain, 100), row(data.SplitTest, 300)}
	spec := train.Spec{Train: train.TrainSpec{Steps: 1000}}
	for _, c := range []struct {
		settings string
		want     int // the window's low step
	}{{data.SplitTrain, 90}, {data.SplitTest, 290}, {"", 290}} {
		path := filepath.Join(dir, "jumps-"+c.settings+".parquet")
		meta := data.Meta{}
		if c.settings != "" {
			cfg, _ := json.Marshal(data.AnalysisSettings{Split: c.settings})
			meta.Config = cfg
		}
		if err := data.WriteTable(path, meta, rows); err != nil {
			t.Fatal(err)
		}
		got, err := jumpWindows(path, spec, []string{"c0"}, "capability", map[train.ZoomWindow]bool{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Lo != c.want {
			t.Errorf("settings split %q: windows %+v, want one starting at step %d", c.settings, got, c.want)
		}
	}
}
