package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
)

func TestVerdictClass(t *testing.T) {
	for v, want := range map[string]int{
		"jumps": classClaim, "genuine jump": classClaim, "scoring artefact (mirage)": classClaim, "coupled": classClaim,
		"precedes": classClaim, "coincides": classClaim, "specific": classClaim,
		"no coupling shown": classNegative, "never learns": classNegative, "no lead or lag shown": classNegative, "not shown specific": classNegative,
		"smooth over width": classNegative, "jumps with width": classClaim, "drops at a width (not emergence)": classClaim,
		"insufficient seeds (need 6)": classLimit, "insufficient cells (need 6)": classLimit, "not assessed: 3 widths (need 5)": classLimit,
		"undetermined": classLimit, "undetermined (no non-learning cells)": classLimit, "control at ceiling (cannot calibrate the probe)": classLimit,
	} {
		if got := verdictClass(v); got != want {
			t.Errorf("verdictClass(%q) = %d, want %d", v, got, want)
		}
	}
}

func TestOrderVerdicts(t *testing.T) {
	row := func(v string, q float64, d int32) data.VerdictRow {
		return data.VerdictRow{Verdict: v, Q: data.F(q), DModel: d, Question: data.QuestionLeadLag}
	}
	rows := []data.VerdictRow{row("insufficient seeds (need 6)", math.NaN(), 16), row("no lead or lag shown", 0.3, 16),
		row("coincides", 0.04, 32), row("precedes", 0.01, 64), row("precedes", 0.01, 16)}
	orig := slices.Clone(rows)
	got := orderVerdicts(rows)
	var s []string
	for _, r := range got {
		s = append(s, r.Verdict+"@"+string(rune('0'+r.DModel/16)))
	}
	// Claims by q (ties by d_model), then the tested negative, then the limit.
	want := []string{"precedes@1", "precedes@4", "coincides@2", "no lead or lag shown@1", "insufficient seeds (need 6)@1"}
	if !slices.Equal(s, want) {
		t.Errorf("order %v, want %v", s, want)
	}
	if !slices.EqualFunc(rows, orig, func(a, b data.VerdictRow) bool { return a.Verdict == b.Verdict && a.DModel == b.DModel }) {
		t.Error("orderVerdicts modified its input")
	}
}

func TestFormatVerdict(t *testing.T) {
	r := data.VerdictRow{DModel: data.NA, NLayers: 2, NHeads: 4, Verdict: "coupled", Subject: "rank", Stat: data.F(0.8123),
		P: data.F(0.0004), Q: data.F(0.0123), Effect: data.F(0.95), EffectLo: data.F(0.8), Seeds: 9, Cells: 6, Need: data.I(6)}
	got := formatVerdict(r)
	// A half-missing interval is not shown.
	if got.Shape != "all widths, L2 H4" || got.Stat != "0.812" || got.P != "<0.001" || got.Q != "0.012" || got.Effect != "0.95" ||
		got.SeedsCells != "9 / 6" || got.Need != "6" || got.Class != "v-claim" {
		t.Errorf("formatVerdict = %+v", got)
	}
	r.EffectHi = data.F(1.1)
	if got := formatVerdict(r); got.Effect != "0.95 [0.8, 1.1]" {
		t.Errorf("effect %q", got.Effect)
	}
}

func TestCouplingPoints(t *testing.T) {
	v := data.VerdictRow{Task: "addition", NLayers: fxLayers, NHeads: fxHeads, Question: data.QuestionCoupling, Metric: "effective_rank",
		Site: "blocks.1.hook_resid_post", Layer: data.NA, Head: data.NA, TaskMetric: data.MetricExactMatch}
	var trans []data.TransitionRow
	for _, w := range fxWidths {
		for _, s := range fxSeeds {
			trans = append(trans, fxTransitions(fxCoords(w, s), fxOnset(w, s))...)
		}
	}
	// A cell whose internal curve is not abrupt has no point; another family is ignored.
	trans[2].Abrupt = false // d16 s0's effective rank of blocks.1
	other := trans[0]
	other.NLayers = 1
	trans = append(trans, other)
	got := couplingPoints(trans, v, "test")
	if len(got) != 3 {
		t.Fatalf("%d points, want 3", len(got))
	}
	for _, p := range got {
		// fxTransitions puts the internal onset at 0.8 × the task onset.
		if want := fxOnset(p.DModel, p.Seed); p.Task != want || math.Abs(p.Internal-0.8*want) > 1e-9 {
			t.Errorf("point %+v, want task %v and internal %v", p, want, 0.8*want)
		}
	}
	if got[0].DModel != 16 || got[0].Seed != 1 || got[1].DModel != 32 || got[1].Seed != 0 {
		t.Errorf("points not sorted like the cells: %+v", got)
	}
}

func TestTheilSenIntercept(t *testing.T) {
	// y = 2x + 1 exactly except one outlier: the median residual ignores it.
	x := []float64{0, 1, 2, 3, 4}
	y := []float64{1, 3, 5, 100, 9}
	if got := theilSenIntercept(x, y, 2); got != 1 {
		t.Errorf("intercept %v, want 1", got)
	}
}

func TestFixedSteps(t *testing.T) {
	for _, tc := range []struct {
		steps, want []int64
	}{
		// log10(1001) ≈ 3.0: targets ≈ 1.0 and 2.0, nearest checkpoints 8 (log10 9 = 0.95) and 128 (2.11; 64 gives 1.81).
		{[]int64{0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000}, []int64{8, 128, 1000}},
		{[]int64{0, 1000}, []int64{0, 1000}},
		{[]int64{5}, []int64{5}},
		{nil, nil},
	} {
		if got := fixedSteps(tc.steps); !slices.Equal(got, tc.want) {
			t.Errorf("fixedSteps(%v) = %v, want %v", tc.steps, got, tc.want)
		}
	}
}

func TestNormalise(t *testing.T) {
	nan := math.NaN()
	got := normalise([]float64{2, nan, 4, 3}, false)
	if got[0] != 0 || !math.IsNaN(got[1]) || got[2] != 1 || got[3] != 0.5 {
		t.Errorf("normalise = %v", got)
	}
	if got := normalise([]float64{2, 4}, true); got[0] != 1 || got[1] != 0 {
		t.Errorf("flipped = %v", got)
	}
	if got := normalise([]float64{3, 3}, false); got[0] != 0 || got[1] != 0 {
		t.Errorf("constant = %v", got)
	}
}

// TestScoringStyles: every scoring of the window figure, every seed and every width of the
// coupling scatter is drawn differently.
func TestScoringStyles(t *testing.T) {
	scs := []scoring{{"exact_match", data.NA}, {"token_accuracy", data.NA}, {"position_accuracy", 0}, {"position_accuracy", 1},
		{"position_accuracy", 2}, {"position_accuracy", 3}, {"logprob", data.NA}, {"brier", data.NA}, {"edit_distance", data.NA}}
	seen := map[string]scoring{}
	for _, s := range scs {
		k := fmt.Sprintf("%v", scoringStyle(s))
		if o, ok := seen[k]; ok {
			t.Errorf("%v and %v share a line style", o, s)
		}
		seen[k] = s
	}
	b := &builder{seeds: []int64{0, 1, 2, 3, 4}, widths: []int32{8, 16, 32, 64}}
	b.colours = widthColours(b.widths)
	dashes := map[string]bool{}
	for _, s := range b.seeds {
		dashes[fmt.Sprint(b.seedDashes(s))] = true
	}
	if len(dashes) != len(b.seeds) {
		t.Errorf("%d dash patterns for %d seeds", len(dashes), len(b.seeds))
	}
	glyphs := map[string]bool{}
	for _, w := range b.widths {
		g := b.widthGlyph(w, 3)
		glyphs[fmt.Sprintf("%v %T", g.Color, g.Shape)] = true
	}
	if len(glyphs) != len(b.widths) {
		t.Errorf("%d markers for %d widths", len(glyphs), len(b.widths))
	}
}

// TestWriteWarmupOnsets: an exact-match onset in the warm-up is marked in its own style in the
// task figure, and the summary names it as a limit.
func TestWriteWarmupOnsets(t *testing.T) {
	fx := fullFixture
	fx.WarmTask = true
	html := writeReport(t, makeRun(t, fx), Options{})
	if !strings.Contains(html, "Red dash-dot lines: onsets that lie in the learning-rate warm-up.") {
		t.Error("the task figure does not mark the warm-up onset")
	}
	if !strings.Contains(html, "onsets in warm-up: 2 curves have their largest jump in the learning-rate warm-up (1 of them task metrics)") {
		t.Error("the summary does not name the warm-up onsets")
	}
	if strings.Contains(writeReport(t, makeRun(t, fullFixture), Options{}), "Red dash-dot lines: onsets that lie in the learning-rate warm-up.") {
		t.Error("the task figure marks a warm-up onset where there is none")
	}
}
