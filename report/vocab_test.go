package report

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// checkKnown reports a metric name that data's vocabulary does not know, or whose kind is not
// one of kinds; it returns the name's vocabulary entry.
func checkKnown(t *testing.T, where, metric string, kinds ...string) data.MetricInfo {
	t.Helper()
	info, ok := data.LookupMetric(metric)
	switch {
	case !ok:
		t.Errorf("%s: %q is not in data's vocabulary", where, metric)
	case !slices.Contains(kinds, info.Kind):
		t.Errorf("%s: %s is of kind %s, the report treats it as %v", where, metric, info.Kind, kinds)
	}
	return info
}

// TestMetricListsUseTheVocabulary walks every list of metric names the report holds: each name
// must be one data.LookupMetric knows, of the kind the report draws it as.
func TestMetricListsUseTheVocabulary(t *testing.T) {
	internal := []string{data.KindInternal, data.KindControl}
	for _, l := range []struct {
		name  string
		names []string
		kinds []string
	}{
		{"taskPanels", taskPanels, []string{data.KindTask}},
		{"widthTaskMetrics", widthTaskMetrics, []string{data.KindTask}},
		{"scoringOrder", scoringOrder, []string{data.KindTask}},
		{"headMetrics", headMetrics, []string{data.KindInternal}},
		{"familyOrder", familyOrder, internal},
		{"familiesLast", slices.Sorted(maps.Keys(familiesLast)), internal},
	} {
		if len(l.names) == 0 {
			t.Errorf("%s is empty", l.name)
		}
		for _, m := range l.names {
			info := checkKnown(t, l.name, m, l.kinds...)
			if info.Sentinel || info.Spectrum {
				t.Errorf("%s: %s is a sentinel or a spectrum, not a curve", l.name, m)
			}
		}
	}
	for _, m := range headMetrics {
		if info, _ := data.LookupMetric(m); !info.Axes.Has(data.AxisHead) {
			t.Errorf("headMetrics: %s has no head axis", m)
		}
	}
	for _, info := range data.Metrics() {
		if info.Kind != data.KindTask && !info.Sentinel && !info.Spectrum && !slices.Contains(familyOrder, info.Name) && !familiesLast[info.Name] {
			t.Errorf("internal metric %s is in neither familyOrder nor familiesLast", info.Name)
		}
		if metricTitle(info.Name) != info.Title || metricUnit(info.Name) != info.Unit {
			t.Errorf("%s: title %q and unit %q, the vocabulary's are %q and %q", info.Name, metricTitle(info.Name), metricUnit(info.Name), info.Title, info.Unit)
		}
	}
}

// TestFixtureMetricsAreKnown loads the report's fixture run (with a diverged cell and spectra):
// every metric of its tables must be known to the vocabulary with the kind the report files it
// under (task curves from metrics.parquet, internal ones from internal_metrics.parquet), and no
// sentinel row may reach a curve: the diverged marker becomes the cell's Diverged step.
func TestFixtureMetricsAreKnown(t *testing.T) {
	fx := fullFixture
	fx.Diverged = true
	dir := makeRun(t, fx)

	// The fixture's tables hold both kinds of sentinel row, so the check below means something.
	var sentinels []string
	cellDirs, err := data.CellDirs(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, cd := range cellDirs {
		if _, err := data.ReadTable(filepath.Join(cd, data.MetricsFile), func(rows []data.MetricRow) error {
			for _, r := range rows {
				checkKnown(t, "metrics.parquet", r.Metric, data.KindTask)
				if data.IsSentinel(r) && !slices.Contains(sentinels, r.Metric+"/"+r.Split) {
					sentinels = append(sentinels, r.Metric+"/"+r.Split)
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(sentinels)
	if want := []string{"diverged/train", "loss/train_batch"}; !slices.Equal(sentinels, want) {
		t.Fatalf("fixture sentinels %v, want %v", sentinels, want)
	}

	r, err := loadRun(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Task) == 0 || len(r.Internal) == 0 {
		t.Fatalf("fixture loaded %d task and %d internal rows", len(r.Task), len(r.Internal))
	}
	for _, m := range r.Task {
		checkKnown(t, "task rows", m.Metric, data.KindTask)
		if data.IsSentinel(m) {
			t.Errorf("a sentinel row reached the task curves: %+v", m)
		}
	}
	for _, m := range r.Internal {
		checkKnown(t, "internal rows", m.Metric, data.KindInternal, data.KindControl)
	}
	for _, tr := range r.Transitions {
		checkKnown(t, "transitions", tr.Metric, tr.Kind)
	}
	for _, m := range r.Mirage {
		checkKnown(t, "mirage", m.Metric, data.KindTask)
	}
	for _, v := range r.Verdicts {
		if v.Metric != "" {
			checkKnown(t, "verdicts", v.Metric, data.KindTask, data.KindInternal)
		}
		if v.TaskMetric != "" {
			checkKnown(t, "verdicts' task metric", v.TaskMetric, data.KindTask)
		}
	}
	diverged := 0
	for _, c := range r.Cells {
		if c.Diverged >= 0 {
			diverged++
		}
	}
	if diverged != 1 {
		t.Errorf("%d cells diverged, want the fixture's one", diverged)
	}
}
