package report

import (
	"math"
	"slices"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

func TestCurvesOf(t *testing.T) {
	a, b := fxCoords(32, 0), fxCoords(16, 1)
	rows := []data.MetricRow{
		metricRow(a, 10, "test", "exact_match", 0.5),
		metricRow(a, 0, "test", "exact_match", 0.0),
		metricRow(b, 10, "test", "exact_match", 0.2),
		metricRow(a, 10, "train", "exact_match", 0.9),   // other split
		metricRow(a, 10, "test", "token_accuracy", 0.7), // other metric
		metricRow(b, 0, "test", "exact_match", 0.1),
		metricRow(a, 10, "test", "exact_match", 0.6), // a later duplicate wins
	}
	pos := metricRow(a, 10, "test", "exact_match", 0.3)
	pos.Position = 1 // a per-position row is another series
	rows = append(rows, pos)
	got := curvesOf(rows, taskSeries("test", "exact_match"))
	if len(got) != 2 {
		t.Fatalf("%d curves, want 2", len(got))
	}
	// Sorted by d_model: the d16 cell first, whatever the row order.
	want := []struct {
		cell          string
		steps, values []float64
	}{
		{b.Cell, []float64{0, 10}, []float64{0.1, 0.2}},
		{a.Cell, []float64{0, 10}, []float64{0.0, 0.6}},
	}
	for i, w := range want {
		c := got[i]
		if c.Cell != w.cell || !slices.Equal(c.Steps, w.steps) || !slices.Equal(c.Values, w.values) {
			t.Errorf("curve %d = %s %v %v, want %s %v %v", i, c.Cell, c.Steps, c.Values, w.cell, w.steps, w.values)
		}
	}
}

func TestPrimarySplit(t *testing.T) {
	c := fxCoords(16, 0)
	rows := []data.MetricRow{metricRow(c, 0, "train", "exact_match", 0), metricRow(c, 0, "test", "exact_match", 0)}
	for _, tc := range []struct {
		rows      []data.MetricRow
		preferred string
		want      string
	}{
		{rows, "", "test"},
		{rows, "train", "train"},
		{rows, "probe", "test"}, // preferred split has no rows
		{rows[:1], "", "train"},
		{[]data.MetricRow{metricRow(c, 0, "val", "exact_match", 0)}, "", "val"},
		{nil, "test", ""},
	} {
		if got := primarySplit(tc.rows, tc.preferred); got != tc.want {
			t.Errorf("primarySplit(%d rows, %q) = %q, want %q", len(tc.rows), tc.preferred, got, tc.want)
		}
	}
}

func TestPickFamilies(t *testing.T) {
	c := fxCoords(16, 0)
	var rows []data.MetricRow
	add := func(metric, site string, layer, head int32, f func(x float64) float64) {
		for _, st := range fxSteps {
			r := metricRow(c, st, "probe", metric, f(math.Log10(float64(st)+1)))
			r.Site, r.Layer, r.Head = site, layer, head
			rows = append(rows, r)
		}
	}
	add("effective_rank", "blocks.0.hook_resid_post", data.NA, data.NA, func(x float64) float64 { return 10 - 3*x }) // changes most
	add("effective_rank", "blocks.1.hook_resid_post", data.NA, data.NA, func(x float64) float64 { return 10 - x })
	add("induction_score", "blocks.1.attn.hook_pattern", 1, 0, func(x float64) float64 { return 0.1 })
	add("induction_score", "blocks.1.attn.hook_pattern", 1, 1, func(x float64) float64 { return 0.1 + 0.2*x })
	add("zeta_metric", "", data.NA, data.NA, func(x float64) float64 { return x })
	add("singular_value", "blocks.0.hook_resid_post", data.NA, data.NA, func(x float64) float64 { return 100 * x })

	// Without transitions the largest relative change wins.
	got := pickFamilies(rows, nil, 0)
	var names []string
	for _, f := range got {
		names = append(names, seriesLabel(f.Series))
	}
	want := []string{"effective_rank blocks.0.hook_resid_post", "induction_score blocks.1.attn.hook_pattern H1", "zeta_metric"}
	if !slices.Equal(names, want) {
		t.Errorf("families %q, want %q", names, want)
	}

	// A series abrupt in more cells wins over a larger change.
	tr := data.TransitionRow{Coords: c, Abrupt: true, Q: data.F(0.01),
		Series: fxSeries("internal", "probe", "blocks.1.hook_resid_post", data.NA, data.NA, "effective_rank")}
	got = pickFamilies(rows, []data.TransitionRow{tr}, 2)
	if len(got) != 2 || got[0].Series.Site != "blocks.1.hook_resid_post" || got[0].Abrupt != 1 {
		t.Errorf("with a transition: %+v, want blocks.1 effective rank abrupt in 1 first and 2 families", got)
	}
	// Equally abrupt (in no cell): the smaller median q wins over the larger change.
	tq := tr
	tq.Abrupt = false
	got = pickFamilies(rows, []data.TransitionRow{tq}, 1)
	if len(got) != 1 || got[0].Series.Site != "blocks.1.hook_resid_post" || got[0].Abrupt != 0 {
		t.Errorf("with a q-value: %+v, want blocks.1 effective rank (the only one with a q)", got)
	}
}

func TestOnsetsOf(t *testing.T) {
	s := taskSeries("test", "exact_match")
	mk := func(w int32, seed int64, abrupt bool, at float64) data.TransitionRow {
		return data.TransitionRow{Coords: fxCoords(w, seed), Series: fxSeries("task", "test", "", data.NA, data.NA, "exact_match"), Abrupt: abrupt, MidStep: data.F(at)}
	}
	other := mk(16, 0, true, 5)
	other.Metric = "token_accuracy"
	warm := mk(32, 1, true, 3)
	warm.InWarmup = true
	trans := []data.TransitionRow{mk(32, 0, true, 60), mk(16, 1, true, 250), mk(16, 0, false, 20), mk(16, 0, true, math.NaN()), other, warm}
	got := onsetsOf(trans, s)
	if len(got) != 3 || got[0].DModel != 16 || got[0].Step != 250 || got[1].DModel != 32 || got[1].Step != 60 || got[1].InWarmup ||
		got[2].Seed != 1 || !got[2].InWarmup {
		t.Errorf("onsets %+v, want d16 at 250, d32 at 60, then d32 seed 1 at 3 in the warm-up", got)
	}
}

func TestTopHeads(t *testing.T) {
	a, b := fxCoords(16, 0), fxCoords(32, 0)
	head := func(c data.Coords, step int64, metric string, layer, head int32, v float64) data.MetricRow {
		r := metricRow(c, step, "probe", metric, v)
		r.Layer, r.Head = layer, head
		return r
	}
	rows := []data.MetricRow{
		head(a, 100, "induction_score", 1, 1, 0.9), // not the last step of its cell
		head(a, 1000, "induction_score", 1, 1, 0.5),
		head(b, 1000, "induction_score", 1, 1, 0.8), // the best cell of L1H1
		head(b, 1000, "prev_token_score", 0, 0, 0.7),
		head(a, 1000, "prev_token_score", 0, 0, 0.6),
		head(a, 1000, "prev_token_score", 0, 1, 0.2),
		head(a, 1000, "entropy", 0, 1, 3.0), // not a specialisation score
	}
	got := topHeads(rows, 2)
	if len(got) != 2 || got[0].Cell != b.Cell || got[0].Layer != 1 || got[0].Head != 1 || got[0].Value != 0.8 ||
		got[1].Layer != 0 || got[1].Head != 0 || got[1].Cell != b.Cell {
		t.Errorf("topHeads = %+v, want L1H1 of d32 (0.8) then L0H0 of d32 (0.7)", got)
	}
	// Without head scores, the most specialised layers, head 0.
	spec := []data.MetricRow{head(a, 10, "specialisation", 0, data.NA, 0.1), head(a, 10, "specialisation", 1, data.NA, 0.4)}
	got = topHeads(spec, 3)
	if len(got) != 2 || got[0].Layer != 1 || got[0].Head != 0 || got[1].Layer != 0 {
		t.Errorf("topHeads by specialisation = %+v, want L1H0 then L0H0", got)
	}
	if got := topHeads(nil, 3); len(got) != 0 {
		t.Errorf("topHeads(nil) = %v", got)
	}
}

func TestTaskOnset(t *testing.T) {
	s := taskSeries("test", "exact_match")
	nan := math.NaN()
	row := func(mid, width float64) data.TransitionRow {
		return data.TransitionRow{Coords: fxCoords(16, 0), Series: fxSeries("task", "test", "", data.NA, data.NA, "exact_match"),
			MidStep: data.F(mid), Width: data.F(width)}
	}
	// Exact match crosses half its range at log10(step+1) = 1, i.e. step 9 (linear interpolation
	// between steps 0 and 99 on the log axis).
	em := curve{Coords: fxCoords(16, 0), Steps: []float64{0, 9, 99}, Values: []float64{0, 0.5, 1}}
	for _, tc := range []struct {
		name        string
		trans       []data.TransitionRow
		em          curve
		step, width float64
	}{
		{"largest jump's midpoint", []data.TransitionRow{row(50, 0.2)}, em, 50, 0.2},
		{"midpoint without a width", []data.TransitionRow{row(40, nan)}, em, 40, nan},
		{"no midpoint: from the curve", []data.TransitionRow{row(nan, nan)}, em, 9, nan},
		{"from the curve", nil, em, 9, nan},
		// 0.2 at step 0 and 0.8 at step 99: half is a half of the way along log10(step+1) ∈ [0, 2].
		{"interpolated", nil, curve{Steps: []float64{0, 99}, Values: []float64{0.2, 0.8}}, 9, nan},
		{"nothing", nil, curve{}, nan, nan},
	} {
		step, width := taskOnset(tc.trans, fxCoords(16, 0).Cell, s, tc.em)
		if !sameFloat(step, tc.step, 1e-9) || !sameFloat(width, tc.width, 0) {
			t.Errorf("%s: taskOnset = %v, %v; want %v, %v", tc.name, step, width, tc.step, tc.width)
		}
	}
}

func sameFloat(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

func TestBeforeAfter(t *testing.T) {
	steps := []int64{0, 1, 3, 9, 99, 999}
	nan := math.NaN()
	for _, tc := range []struct {
		name          string
		steps         []int64
		onset, width  float64
		before, after int64
	}{
		{"no onset: first and last", steps, nan, nan, 0, 999},
		{"around the onset", steps, 50, nan, 9, 99},
		// Half a decade each side of step 50: below 10^(log10 51 − 0.5) − 1 ≈ 15.1 and above ≈ 160.3.
		{"widened by the jump", steps, 50, 1, 9, 999},
		{"onset on a checkpoint", steps, 99, nan, 9, 999},
		{"onset before the first checkpoint", steps, 0, nan, 0, 1},
		{"onset after the last checkpoint", steps, 5000, nan, 99, 999},
		{"one checkpoint", []int64{7}, 3, nan, 7, 7},
		{"none", nil, 3, nan, 0, 0},
	} {
		b, a := beforeAfter(tc.steps, tc.onset, tc.width)
		if b != tc.before || a != tc.after {
			t.Errorf("%s: beforeAfter = %d, %d; want %d, %d", tc.name, b, a, tc.before, tc.after)
		}
	}
}

func TestMeanPatterns(t *testing.T) {
	co := fxCoords(16, 0)
	rows := []data.AttentionRow{
		{Coords: co, Step: 5, Layer: 1, Head: 1, Example: 0, QueryPos: 1, Pattern: []float32{1, 0, 0}},
		{Coords: co, Step: 5, Layer: 1, Head: 1, Example: 1, QueryPos: 1, Pattern: []float32{0, 1, 0}},
		{Coords: co, Step: 5, Layer: 1, Head: 1, Example: 0, QueryPos: 0, Pattern: []float32{1, 0, 0}},
		{Coords: co, Step: 5, Layer: 1, Head: 0, Example: 0, QueryPos: 2, Pattern: []float32{0, 0, 1}}, // other head
		{Coords: co, Step: 7, Layer: 1, Head: 1, Example: 0, QueryPos: 0, Pattern: []float32{1, 0, 0}}, // other step
	}
	acc := map[int64]*pattern{}
	meanPatterns(rows, 1, 1, []int64{5}, acc)
	if len(acc) != 1 || acc[5] == nil {
		t.Fatalf("patterns for steps %v, want only 5", acc)
	}
	m := acc[5].mean()
	want := [][]float64{{1, 0, 0}, {0.5, 0.5, 0}, {nan(), nan(), nan()}} // query 2 never seen
	for q := range want {
		for k := range want[q] {
			if !sameFloat(m[q][k], want[q][k], 1e-12) {
				t.Errorf("mean[%d][%d] = %v, want %v", q, k, m[q][k], want[q][k])
			}
		}
	}
	all := map[int64]*pattern{}
	meanPatterns(rows, 1, 1, nil, all)
	if len(all) != 2 {
		t.Errorf("nil steps gave %d steps, want 2", len(all))
	}
}

func nan() float64 { return math.NaN() }

func TestSpectraOf(t *testing.T) {
	c := fxCoords(16, 0)
	sv := func(site string, step int64, pos int32, v float64) data.MetricRow {
		r := metricRow(c, step, "probe", "singular_value", v)
		r.Site, r.Position = site, pos
		return r
	}
	rows := []data.MetricRow{
		sv("a", 0, 1, 2), sv("a", 0, 0, 4), sv("a", 10, 0, 5),
		sv("b", 0, 0, 1),
		metricRow(c, 0, "probe", "effective_rank", 3),
	}
	site, sp := spectraOf(rows, "")
	if site != "a" || len(sp) != 2 || sp[0].Step != 0 || !slices.Equal(sp[0].Values, []float64{4, 2}) || sp[1].Step != 10 {
		t.Errorf("spectraOf = %q %+v, want site a with steps 0 ([4 2]) and 10", site, sp)
	}
	if site, sp := spectraOf(rows, "b"); site != "b" || len(sp) != 1 {
		t.Errorf("spectraOf(b) = %q %+v", site, sp)
	}
	if site, sp := spectraOf(rows[4:], ""); site != "" || sp != nil {
		t.Errorf("no spectra: %q %+v", site, sp)
	}
}

func TestSegments(t *testing.T) {
	x := []float64{0, 1, 2, 3, 4, 5}
	y := []float64{1, math.NaN(), 2, 3, math.Inf(-1), 4}
	got := segments(x, y)
	if len(got) != 3 || len(got[0]) != 1 || len(got[1]) != 2 || len(got[2]) != 1 || got[1][1].X != 3 {
		t.Errorf("segments = %v, want [0] [2 3] [5]", got)
	}
	if got := segments([]float64{lg(0)}, []float64{1}); len(got) != 0 {
		t.Errorf("lg(0) kept: %v", got)
	}
}

func TestLogTicks(t *testing.T) {
	labels := func(lo, hi float64) (major []string, minor int) {
		for _, tk := range logTicks(lo, hi) {
			if tk.Label == "" {
				minor++
			} else {
				major = append(major, tk.Label)
			}
		}
		return major, minor
	}
	for _, tc := range []struct {
		lo, hi float64
		major  []string
		minor  int
	}{
		{0, 3, []string{"1", "10", "100", "1k"}, 24},
		{0, lg(8), []string{"1", "8"}, 6},     // 2..7 minors; the end at 8 is labelled
		{lg(2), lg(5), []string{"2", "5"}, 2}, // no power of ten inside
		{lg(0.02), lg(45), []string{"0.1", "1", "10"}, 8 + 8 + 8 + 3},
	} {
		major, minor := labels(tc.lo, tc.hi)
		if !slices.Equal(major, tc.major) || minor != tc.minor {
			t.Errorf("logTicks(%g, %g): labels %v and %d minor ticks, want %v and %d", tc.lo, tc.hi, major, minor, tc.major, tc.minor)
		}
	}
	for v, want := range map[float64]string{1: "1", 10: "10", 1000: "1k", 20000: "20k", 3e6: "3M", 0.01: "0.01", 250: "250"} {
		if got := shortNumber(v); got != want {
			t.Errorf("shortNumber(%g) = %q, want %q", v, got, want)
		}
	}
}

func TestInternalLabel(t *testing.T) {
	for _, tc := range []struct {
		metric, site string
		layer, head  int32
		concept      string
		want         string
	}{
		{"effective_rank", "blocks.0.hook_resid_post", data.NA, data.NA, "", "effective_rank blocks.0.hook_resid_post"},
		{"induction_score", "", 1, 0, "", "induction_score L1H0"},
		{"induction_score", "blocks.1.attn.hook_pattern", 1, 0, "", "induction_score blocks.1.attn.hook_pattern H0"},
		{"specialisation", "", 2, data.NA, "", "specialisation L2"},
		{"probe_accuracy", "blocks.0.hook_resid_post", data.NA, data.NA, "carry", "probe_accuracy blocks.0.hook_resid_post [carry]"},
	} {
		if got := internalLabel(tc.metric, tc.site, tc.layer, tc.head, tc.concept); got != tc.want {
			t.Errorf("internalLabel = %q, want %q", got, tc.want)
		}
	}
}

func TestWidthColours(t *testing.T) {
	a := widthColours([]int32{16, 32, 64})
	b := widthColours([]int32{16, 32, 64})
	if a[32] != b[32] {
		t.Error("colours are not deterministic")
	}
	if a[16] == a[32] || a[32] == a[64] {
		t.Error("widths share a colour")
	}
	if a[16] != viridis[0] {
		t.Errorf("narrowest width %v, want the dark end of viridis %v", a[16], viridis[0])
	}
}
