package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// TestTrainJSONUsesMetricNames: `phaseprobe train --json` names each result's metrics as the
// tables do (exact_match, logprob, ...: data's vocabulary), not by Go field names.
func TestTrainJSONUsesMetricNames(t *testing.T) {
	code, stdout, stderr := runCLI(t, "train", "--task", "addition", "--param", "digits=2", "--d-model", "16", "--n-heads", "2",
		"--n-layers", "1", "--steps", "5", "--batch", "16", "--eval-examples", "20", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var out struct {
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("train --json: %v\n%s", err, stdout)
	}
	if len(out.Results) != 1 {
		t.Fatalf("train --json: %d results, want 1 (one seed)\n%s", len(out.Results), stdout)
	}
	want := append([]string{"seed", "examples"}, data.MetricNames(data.KindTask)...)
	slices.Sort(want)
	var got []string
	for k := range out.Results[0] {
		got = append(got, k)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("train --json result keys %v, want %v", got, want)
	}
	if n, _ := out.Results[0]["examples"].(float64); n != 20 {
		t.Errorf("train --json: examples = %v, want 20 (--eval-examples)", out.Results[0]["examples"])
	}
}

// vocabSpec is the bad-input fixture sweep (badSpec) at two widths, so that cka_next_width (a
// cell against the next wider one) is computed as well.
var vocabSpec = strings.Replace(strings.Replace(badSpec, "name: fx", "name: vocab", 1), "d_model: [8]", "d_model: [8, 16]", 1)

// TestTablesUseTheVocabulary sweeps and analyzes two tiny fixtures (vocabSpec, and divergeSpec with
// lr 1e6, whose cells diverge) and reads every table that names metrics: each cell's
// metrics.parquet and internal_metrics.parquet and analysis/'s metrics, transitions, jumps, mirage
// and verdicts. Every metric name there must be one data.LookupMetric knows, with the kind, split
// and coordinate columns its MetricInfo gives; and every name of the vocabulary must occur, so it
// lists nothing that no stage writes.
func TestTablesUseTheVocabulary(t *testing.T) {
	if testing.Short() {
		t.Skip("trains models")
	}
	dir := t.TempDir()
	var runs []string
	for _, f := range []struct{ name, spec string }{{"vocab", vocabSpec}, {"div", fmt.Sprintf(divergeSpec, "1e6")}} {
		spec := writeFile(t, filepath.Join(dir, f.name+".yaml"), f.spec)
		if code, _, stderr := runCLI(t, "sweep", spec, "--out", filepath.Join(dir, "runs"), "--jobs", "1"); code != 0 {
			t.Fatalf("sweep %s: exit %d\n%s", f.name, code, stderr)
		}
		run := filepath.Join(dir, "runs", f.name)
		if code, _, stderr := runCLI(t, "analyze", run); code != 0 {
			t.Fatalf("analyze %s: exit %d\n%s", f.name, code, stderr)
		}
		runs = append(runs, run)
	}

	seen := map[string]bool{}
	bad := map[string]int{} // error message -> rows, so one mistake is reported once
	complain := func(format string, args ...any) { bad[fmt.Sprintf(format, args...)]++ }
	lookup := func(table, name string) (data.MetricInfo, bool) {
		info, ok := data.LookupMetric(name)
		if !ok {
			complain("%s: metric %q is not in data's vocabulary", table, name)
		}
		seen[name] = true
		return info, ok
	}
	checkRow := func(table string, r data.MetricRow, kinds ...string) {
		info, ok := lookup(table, r.Metric)
		if !ok {
			return
		}
		if !slices.Contains(kinds, info.Kind) {
			complain("%s: metric %s of kind %s, want %v", table, r.Metric, info.Kind, kinds)
		}
		switch {
		case info.Kind != data.KindTask:
			if r.Split != data.SplitProbe {
				complain("%s: %s on split %q, want %q", table, r.Metric, r.Split, data.SplitProbe)
			}
		case r.Split == data.SplitTrainBatch:
			if r.Metric != data.MetricLoss || !data.IsSentinel(r) {
				complain("%s: %s on split %s: only the training loss is written there", table, r.Metric, r.Split)
			}
		case r.Split != data.SplitTrain && r.Split != data.SplitTest:
			complain("%s: task metric %s on split %q", table, r.Metric, r.Split)
		}
		for _, c := range []struct {
			axis data.Axes
			col  string
			set  bool
		}{
			{data.AxisSite, "site", r.Site != ""}, {data.AxisLayer, "layer", r.Layer != data.NA},
			{data.AxisHead, "head", r.Head != data.NA}, {data.AxisPosition, "position", r.Position != data.NA},
			{data.AxisConcept, "concept", r.Concept != ""},
		} {
			if c.set != info.Axes.Has(c.axis) {
				complain("%s: %s has %s set = %v, its vocabulary axes say %v", table, r.Metric, c.col, c.set, !c.set)
			}
		}
		if r.Site != "" {
			if _, err := data.ParseSite(r.Site); err != nil {
				complain("%s: %s: %v", table, r.Metric, err)
			}
		}
		if info.Sentinel && !data.IsSentinel(r) {
			complain("%s: a %s row that IsSentinel does not filter", table, r.Metric)
		}
	}
	checkSeries := func(table string, s data.Series) {
		info, ok := lookup(table, s.Metric)
		if !ok {
			return
		}
		if s.Kind != info.Kind || info.Sentinel || info.Spectrum {
			complain("%s: curve of %s with kind %s; the vocabulary says kind %s, sentinel %v, spectrum %v",
				table, s.Metric, s.Kind, info.Kind, info.Sentinel, info.Spectrum)
		}
	}

	rows := 0
	for _, run := range runs {
		for _, r := range readAll[data.MetricRow](t, run, data.MetricsFile) {
			checkRow(data.MetricsFile, r, data.KindTask)
			rows++
		}
		for _, r := range readAll[data.MetricRow](t, run, data.InternalMetricsFile) {
			checkRow(data.InternalMetricsFile, r, data.KindInternal, data.KindControl)
			rows++
		}
		analysis := func(file string) string { return filepath.Join(run, data.AnalysisDir, file) }
		readEach(t, analysis(data.AllMetricsFile), func(r data.MetricRow) {
			checkRow("analysis/"+data.AllMetricsFile, r, data.KindTask, data.KindInternal, data.KindControl)
		})
		readEach(t, analysis(data.TransitionsFile), func(r data.TransitionRow) { checkSeries(data.TransitionsFile, r.Series) })
		readEach(t, analysis(data.JumpsFile), func(r data.JumpRow) { checkSeries(data.JumpsFile, r.Series) })
		readEach(t, analysis(data.MirageFile), func(r data.MirageRow) {
			if info, ok := lookup(data.MirageFile, r.Metric); ok && (info.Kind != data.KindTask || info.Discrete != r.Discrete) {
				complain("%s: %s with discrete = %v; the vocabulary says kind %s, discrete %v", data.MirageFile, r.Metric, r.Discrete, info.Kind, info.Discrete)
			}
		})
		readEach(t, analysis(data.VerdictsFile), func(r data.VerdictRow) {
			if r.Metric != "" {
				lookup(data.VerdictsFile+" metric", r.Metric)
			}
			if r.TaskMetric != "" {
				if info, ok := lookup(data.VerdictsFile+" task_metric", r.TaskMetric); ok && info.Kind != data.KindTask {
					complain("%s: task_metric %s is of kind %s", data.VerdictsFile, r.TaskMetric, info.Kind)
				}
			}
		})
	}
	for msg, n := range bad {
		t.Errorf("%s (%d rows)", msg, n)
	}
	for _, m := range data.Metrics() {
		if !seen[m.Name] {
			t.Errorf("metric %s (%s) is in the vocabulary, but no table of these runs holds it", m.Name, m.ComputedBy)
		}
	}
	t.Logf("%d metric rows of the cells checked; %d metric names seen", rows, len(seen))
}

// readEach reads a table and calls fn on every row.
func readEach[T data.TableRow](t *testing.T, path string, fn func(T)) {
	t.Helper()
	if _, err := data.ReadTable(path, func(rows []T) error {
		for _, r := range rows {
			fn(r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
