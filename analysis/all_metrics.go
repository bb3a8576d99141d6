package analysis

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/phaseprobe/phaseprobe/data"
)

// kindOf classifies a metric row by its vocabulary entry (data.LookupMetric): a task metric
// (a scoring of the outputs, with no site), a control (a baseline, never given a verdict), or an
// internal metric. A name the vocabulary does not know counts as internal.
func kindOf(r data.MetricRow) string {
	info, _ := data.LookupMetric(r.Metric)
	switch {
	case info.Kind == data.KindTask && !info.Sentinel && r.Site == "":
		return data.KindTask
	case isControl(r.Metric):
		return data.KindControl
	}
	return data.KindInternal
}

// isControl reports whether metric is a baseline that never gets a verdict (a KindControl
// metric of the vocabulary: the control-task probe of Hewitt & Liang 2019 and the
// shuffled-label probe).
func isControl(metric string) bool {
	info, _ := data.LookupMetric(metric)
	return info.Kind == data.KindControl
}

// mergeMetrics copies every cell's task and internal metrics into one table (streaming) and keeps
// the checkpoint curves in memory for the transition analysis, with each cell's learning-rate
// schedule.
func mergeMetrics(dirs []string, path string) (*curves, int, error) {
	cs := &curves{byKey: map[curveKey]*curve{}, cells: map[string]data.Coords{}, diverged: map[string]int64{}, schedules: map[string]*data.LRSchedule{}, examples: map[string]int{}}
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
		if raw, err := os.ReadFile(filepath.Join(d, data.ConfigFile)); err == nil {
			s, err := data.ReadLRSchedule(raw)
			if err != nil {
				w.Abort()
				return nil, 0, fmt.Errorf("%s: %w", filepath.Join(d, data.ConfigFile), err)
			}
			cs.schedules[filepath.Base(d)] = &s
			var c struct {
				Probe data.ProbeSpec `json:"probe"` // probe.examples: every evaluation set's size
			}
			if json.Unmarshal(raw, &c) == nil {
				cs.examples[filepath.Base(d)] = c.Probe.Examples
			}
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
