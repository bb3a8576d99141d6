package analysis

import (
	"maps"
	"slices"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

// TestMetricListsUseTheVocabulary walks every list of metric names the analysis holds: each name
// must be one data.LookupMetric knows, of the kind the analysis treats it as. The lists built from
// the vocabulary are also pinned to the metrics and order each question has always asked, so that a
// metric renamed, reordered or dropped in the vocabulary cannot silently change a question.
func TestMetricListsUseTheVocabulary(t *testing.T) {
	for _, l := range []struct {
		name      string
		got, want []string
	}{
		{"scaleMetrics", scaleMetrics, []string{"exact_match", "token_accuracy", "logprob", "brier", "edit_distance"}},
		{"continuousScorings", continuousScorings, []string{"token_accuracy", "position_accuracy", "logprob", "brier", "edit_distance", "loss"}},
		{"DefaultDecisionConfig().Controls", DefaultDecisionConfig().Controls, []string{"probe_control_accuracy", "probe_shuffled_accuracy"}},
	} {
		if !slices.Equal(l.got, l.want) {
			t.Errorf("%s = %v, want %v", l.name, l.got, l.want)
		}
	}
	for _, l := range []struct {
		name  string
		names []string
		kind  string
	}{
		{"scaleMetrics", scaleMetrics, data.KindTask},
		{"continuousScorings", continuousScorings, data.KindTask},
		{"sameAsExactMatch", slices.Sorted(maps.Keys(sameAsExactMatch)), data.KindTask},
		{"DefaultDecisionConfig().Controls", DefaultDecisionConfig().Controls, data.KindControl},
	} {
		if len(l.names) == 0 {
			t.Errorf("%s is empty", l.name)
		}
		for _, m := range l.names {
			info, ok := data.LookupMetric(m)
			switch {
			case !ok:
				t.Errorf("%s: %q is not in data's vocabulary", l.name, m)
			case info.Kind != l.kind || info.Sentinel || info.Spectrum:
				t.Errorf("%s: %s is of kind %s (sentinel %v, spectrum %v), want a %s curve", l.name, m, info.Kind, info.Sentinel, info.Spectrum, l.kind)
			}
		}
	}
	for _, m := range continuousScorings {
		if isDiscrete(m) {
			t.Errorf("continuousScorings holds the discrete %s", m)
		}
	}
	if !isDiscrete(data.MetricExactMatch) {
		t.Errorf("exact match is not discrete: the mirage table's Discrete row would be lost")
	}
	// Every metric the analysis writes or reads is classified by the vocabulary as the tables
	// say: a task metric has no site, the rest do.
	for _, info := range data.Metrics() {
		if info.Sentinel || info.Spectrum {
			continue
		}
		r := data.MetricRow{Metric: info.Name}
		if info.Axes.Has(data.AxisSite) {
			r.Site = "blocks.0.hook_resid_post"
		}
		if got := kindOf(r); got != info.Kind {
			t.Errorf("kindOf(%s) = %s, the vocabulary says %s", info.Name, got, info.Kind)
		}
		if g := measureGroup(info.Name); info.Group != "" && g != info.Group || info.Group == "" && g != info.Name {
			t.Errorf("measureGroup(%s) = %s, the vocabulary's group is %q", info.Name, g, info.Group)
		}
	}
}
