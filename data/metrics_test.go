package data

import (
	"slices"
	"testing"
)

// TestMetricVocabulary checks the vocabulary's own consistency: names unique and found by
// LookupMetric, every field filled in, and the flags where DESIGN.md puts them (exact match the
// discrete scoring, loss, Brier score and edit distance lower-is-better, diverged the one
// sentinel, the control probes of kind control).
func TestMetricVocabulary(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Metrics() {
		if seen[m.Name] {
			t.Errorf("%s: listed twice", m.Name)
		}
		seen[m.Name] = true
		got, ok := LookupMetric(m.Name)
		if !ok || got.Name != m.Name {
			t.Errorf("LookupMetric(%q) = %+v, %v", m.Name, got, ok)
		}
		if m.Kind != KindTask && m.Kind != KindInternal && m.Kind != KindControl {
			t.Errorf("%s: kind %q", m.Name, m.Kind)
		}
		if m.Title == "" || m.Unit == "" || m.ComputedBy == "" {
			t.Errorf("%s: empty title, unit or ComputedBy: %+v", m.Name, m)
		}
		if m.Kind == KindTask && m.Axes.Has(AxisSite) || m.Kind != KindTask && !m.Axes.Has(AxisSite) {
			t.Errorf("%s: kind %s with axes %b: task metrics have no site, the others have one", m.Name, m.Kind, m.Axes)
		}
		if m.Spectrum && !m.Axes.Has(AxisPosition) {
			t.Errorf("%s: a spectrum without the position axis", m.Name)
		}
	}
	if _, ok := LookupMetric("ExactMatch"); ok {
		t.Error(`LookupMetric("ExactMatch") found a metric: names are the tables' snake_case`)
	}
	flagged := func(f func(MetricInfo) bool) []string {
		var names []string
		for _, m := range Metrics() {
			if f(m) {
				names = append(names, m.Name)
			}
		}
		return names
	}
	for _, c := range []struct {
		what string
		f    func(MetricInfo) bool
		want []string
	}{
		{"discrete", func(m MetricInfo) bool { return m.Discrete }, []string{MetricExactMatch, MetricNumericalRank}},
		{"lower is better", func(m MetricInfo) bool { return m.LowerIsBetter },
			[]string{MetricBrier, MetricEditDistance, MetricLoss, MetricProbeLogLoss}},
		{"sentinel", func(m MetricInfo) bool { return m.Sentinel }, []string{MetricDiverged}},
		{"spectrum", func(m MetricInfo) bool { return m.Spectrum }, []string{MetricSingularValue}},
		{"rank group", func(m MetricInfo) bool { return m.Group == GroupRank },
			[]string{MetricEffectiveRank, MetricRankMe, MetricParticipationRatio, MetricStableRank, MetricNumericalRank}},
		{"probe group", func(m MetricInfo) bool { return m.Group == GroupProbe },
			[]string{MetricProbeAccuracy, MetricProbeSelectivity, MetricProbeLogLoss}},
	} {
		if got := flagged(c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.what, got, c.want)
		}
	}
	// The task metrics train.CaptureCell writes, in the order of the report's task table.
	wantTask := []string{"exact_match", "token_accuracy", "position_accuracy", "logprob", "brier", "edit_distance", "loss"}
	if got := MetricNames(KindTask); !slices.Equal(got, wantTask) {
		t.Errorf("MetricNames(KindTask) = %v, want %v", got, wantTask)
	}
	if got, want := MetricNames(KindControl), []string{"probe_control_accuracy", "probe_shuffled_accuracy"}; !slices.Equal(got, want) {
		t.Errorf("MetricNames(KindControl) = %v, want %v", got, want)
	}
	if got := MetricNames(KindInternal); slices.Contains(got, MetricSingularValue) || len(got) != 15 {
		t.Errorf("MetricNames(KindInternal) = %v: want the 15 internal curves, no spectrum", got)
	}
	// Metrics returns a copy.
	all := Metrics()
	all[0].Name = "changed"
	if m, ok := LookupMetric(MetricExactMatch); !ok || m.Name != MetricExactMatch || Metrics()[0].Name != MetricExactMatch {
		t.Error("changing the slice Metrics returned changed the vocabulary")
	}
}

// TestIsSentinel: the diverged marker and the training-batch losses are sentinels; the checkpoint
// rows of the same metrics on the other splits are not.
func TestIsSentinel(t *testing.T) {
	cases := []struct {
		row  MetricRow
		want bool
	}{
		{MetricRow{Split: SplitTrain, Metric: MetricDiverged}, true},
		{MetricRow{Split: SplitTrainBatch, Metric: MetricLoss}, true},
		{MetricRow{Split: SplitTrain, Metric: MetricLoss}, false},
		{MetricRow{Split: SplitTest, Metric: MetricExactMatch}, false},
		{MetricRow{Split: SplitProbe, Site: "blocks.0.hook_resid_post", Metric: MetricEffectiveRank}, false},
		{MetricRow{Split: SplitProbe, Site: "blocks.0.hook_resid_post", Position: 3, Metric: MetricSingularValue}, false},
	}
	for _, c := range cases {
		if got := IsSentinel(c.row); got != c.want {
			t.Errorf("IsSentinel(%s/%s) = %v, want %v", c.row.Split, c.row.Metric, got, c.want)
		}
	}
}
