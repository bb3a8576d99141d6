package analysis

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/phaseprobe/phaseprobe/data"
)

// Task metrics: scorings of the model's outputs. The rest of metrics.parquet's metrics are internal.
var taskMetrics = map[string]bool{data.MetricExactMatch: true, data.MetricTokenAccuracy: true, data.MetricPositionAccuracy: true, data.MetricLogprob: true,
	data.MetricLoss: true, data.MetricBrier: true, data.MetricEditDistance: true}

// controlMetrics are baselines, never given a verdict: the control-task probe (Hewitt & Liang
// 2019) and the shuffled-label probe.
var controlMetrics = map[string]bool{data.MetricProbeControlAccuracy: true, data.MetricProbeShuffledAccuracy: true}

// kindOf classifies a metric row.
func kindOf(r data.MetricRow) string {
	switch {
	case taskMetrics[r.Metric] && r.Site == "":
		return data.KindTask
	case controlMetrics[r.Metric]:
		return data.KindControl
	}
	return data.KindInternal
}

// mergeMetrics copies every cell's task and internal metrics into one table (streaming) and keeps
// the checkpoint curves in memory for the transition analysis, with each cell's learning-rate
// schedule.
func mergeMetrics(dirs []string, path string) (*curves, int, error) {
	cs := &curves{byKey: map[curveKey]*curve{}, cells: map[string]data.Coords{}, diverged: map[string]int64{}, schedules: map[string]*data.LRSchedule{}}
	w, err := data.CreateTable[data.MetricRow](path, data.Meta{Config: []byte("null")})
	if err != nil {
		return nil, 0, err
	}
	add := func(rows []data.MetricRow) error {
		for _, r := range rows {
			if r.Metric == data.MetricDiverged {
				cs.diverged[r.Cell] = r.Step
			}
			if data.IsSentinel(r) || r.Metric == data.MetricSingularValue {
				continue
			}
			s := data.Series{Kind: kindOf(r), Split: r.Split, Site: r.Site, Layer: r.Layer, Head: r.Head, Position: r.Position, Concept: r.Concept, Metric: r.Metric}
			k := curveKey{r.Cell, s}
			c := cs.byKey[k]
			if c == nil {
				c = &curve{coords: r.Coords, series: s}
				cs.byKey[k] = c
				cs.cells[r.Cell] = r.Coords
				cs.sweep = r.Sweep
			}
			c.steps = append(c.steps, r.Step)
			c.values = append(c.values, data.Float(r.Value))
		}
		return w.Write(rows...)
	}
	for _, d := range dirs {
		for _, f := range []string{data.MetricsFile, data.InternalMetricsFile} {
			if _, err := data.ReadTable(filepath.Join(d, f), add); err != nil {
				w.Abort()
				return nil, 0, err
			}
		}
		if raw, err := os.ReadFile(filepath.Join(d, "config.json")); err == nil {
			s, err := data.ReadLRSchedule(raw)
			if err != nil {
				w.Abort()
				return nil, 0, fmt.Errorf("%s: %w", filepath.Join(d, "config.json"), err)
			}
			cs.schedules[filepath.Base(d)] = &s
		}
	}
	if err := w.Close(); err != nil {
		return nil, 0, err
	}
	for _, c := range cs.byKey {
		sortCurve(c)
	}
	return cs, len(cs.diverged), nil
}

func sortCurve(c *curve) {
	idx := make([]int, len(c.steps))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return c.steps[idx[a]] < c.steps[idx[b]] })
	st, vs := make([]int64, len(idx)), make([]float64, len(idx))
	for i, j := range idx {
		st[i], vs[i] = c.steps[j], c.values[j]
	}
	c.steps, c.values = st, vs
}
