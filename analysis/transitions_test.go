package analysis

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/transition"
)

// TestChangeNear: on a two-phase curve whose first (larger) jump lies in the warm-up, the change
// point that stands for the onset is the one of the onset jump's stretch, not the whole curve's.
func TestChangeNear(t *testing.T) {
	steps := []float64{0, 1, 2, 4, 8, 16, 32, 64, 128, 181, 256, 362, 512, 724, 1024}
	x := make([]float64, len(steps))
	y := make([]float64, len(steps))
	for i, s := range steps {
		x[i] = math.Log10(s + 1)
		switch {
		case s < 8: // before the first jump
			y[i] = 0
		case s < 256: // plateau after a jump of 0.6 at step ~6
			y[i] = 0.6
		default: // the second jump, of 0.3, between steps 181 and 256
			y[i] = 0.9
		}
	}
	whole, err := transition.MostSignificantChange(y, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := steps[whole.Index]; got != 8 {
		t.Fatalf("whole-curve change point at step %v, want 8 (the test's premise)", got)
	}
	jumps := []transition.Jump{{Mid: math.Log10(7), InWarmup: true}, {Mid: math.Log10(220)}}
	r := &curveResult{x: x, y: y, abrupt: true, main: 1, test: transition.CurveTest{Jumps: jumps}, warm: math.Log10(31) + 0.3}
	if got := math.Pow(10, changeNear(r)) - 1; math.Abs(got-256) > 1e-9 {
		t.Errorf("changeNear = step %v, want 256 (the first checkpoint after the onset jump)", got)
	}
	// Without an onset jump the whole curve after the warm-up is searched: the same stretch here.
	r.main = -1
	if got := math.Pow(10, changeNear(r)) - 1; math.Abs(got-256) > 1e-9 {
		t.Errorf("changeNear without onset = step %v, want 256", got)
	}
	// Onset jump 0 of the pair (outside a warm-up): its stretch ends halfway to jump 1.
	r.main, r.warm = 0, math.Inf(-1)
	if got := math.Pow(10, changeNear(r)) - 1; math.Abs(got-8) > 1e-9 {
		t.Errorf("changeNear for the first jump = step %v, want 8", got)
	}
	r.err = transition.ErrFlat
	if got := changeNear(r); !math.IsNaN(got) {
		t.Errorf("changeNear of a failed test = %v, want NaN", got)
	}
}

// TestCoarseExactMatchNotTested: a cell's exact match that never learns (0 with a one-example
// blip, over the 128 examples its config.json names) is not tested (ErrCoarse, so ErrFlat: no
// transition), while the same curve read as a continuous measure (its loss) is tested; the
// resolution comes from probe.examples for exact match and per-position accuracy only.
func TestCoarseExactMatchNotTested(t *testing.T) {
	if got := resolution(data.MetricExactMatch, 128); got != 1.0/128 {
		t.Fatalf("resolution(exact_match, 128) = %v", got)
	}
	if resolution(data.MetricLoss, 128) != 0 || resolution(data.MetricPositionAccuracy, 0) != 0 {
		t.Fatal("resolution of a continuous metric, or with N unknown, must be 0")
	}
	steps := make([]int64, 29)
	values := make([]float64, 29)
	for i := range steps {
		steps[i] = int64(math.Round(math.Pow(10, float64(i)/28*math.Log10(601)))) - 1 + int64(i)
	}
	values[20] = 1.0 / 128
	cs := &curves{byKey: map[curveKey]*curve{}, cells: map[string]data.Coords{}, examples: map[string]int{"c": 128}}
	for _, m := range []string{data.MetricExactMatch, data.MetricLoss} {
		k := curveKey{cell: "c", series: data.Series{Kind: data.KindTask, Split: data.SplitTest, Metric: m}}
		cs.byKey[k] = &curve{series: k.series, steps: steps, values: values}
		r := testCurve(cs, k, transition.DefaultCurveConfig(), 1)
		if coarse := errors.Is(r.err, transition.ErrCoarse); coarse != (m == data.MetricExactMatch) {
			t.Errorf("%s: err %v, want ErrCoarse only for exact match", m, r.err)
		}
	}
}

// TestSpecificityCountsFlatAsNoTransition: a measure that stays flat in a learning cell (ErrFlat,
// or ErrCoarse) is evidence of no transition there, not missing evidence: with 3 of 6 learning
// cells abrupt and 3 flat, against 6 smooth never-learning cells, the table is 3/6 vs 0/6 (a
// curve that could not be tested for another reason is still left out).
func TestSpecificityCountsFlatAsNoTransition(t *testing.T) {
	um := unitMetrics{unit: unitKey{site: "blocks.0.hook_resid_post", layer: 0, head: data.NA, group: "g"}, metrics: []string{data.MetricEffectiveRank}}
	res := map[curveKey]*curveResult{}
	var jump, never []string
	for i := range 7 {
		c, n := string(rune('a'+i)), string(rune('n'+i))
		r := &curveResult{main: -1}
		switch {
		case i < 3:
			r.abrupt, r.main = true, 0
		case i < 5:
			r.err = transition.ErrFlat
		case i == 5:
			r.err = transition.ErrCoarse
		default:
			r.err = errors.New("transition: 5 points, need at least 8") // not evidence either way
		}
		jump = append(jump, c)
		res[curveKey{c, um.series(data.MetricEffectiveRank)}] = r
		if i < 6 {
			never = append(never, n)
			res[curveKey{n, um.series(data.MetricEffectiveRank)}] = &curveResult{main: -1}
		}
	}
	a := &unitAsk{b: &verdictBuilder{decide: map[int]func(float64){}}, res: res, um: um, opt: Options{Decisions: DefaultDecisions()}}
	uq := &unitQuestions{groupSize: 1, metric: data.MetricEffectiveRank}
	a.specificity(uq, jump, never)
	s := uq.spec
	if s.JumpWith != 3 || s.JumpWithout != 3 || s.NoJumpWith != 0 || s.NoJumpWithout != 6 {
		t.Fatalf("table %d/%d vs %d/%d, want 3/6 vs 0/6", s.JumpWith, s.JumpWith+s.JumpWithout, s.NoJumpWith, s.NoJumpWith+s.NoJumpWithout)
	}
}

// TestCouplingGateAfterBonferroni: a perfectly concordant coupling over 2 widths × 3 seeds has
// smallest p 1/36 ≤ α = 0.05 on its own, but its row's p is Bonferroni-corrected over a group of
// 2 measures (smallest 1/18 > α): the design cannot show coupling, so the verdict is insufficient
// cells, not "no coupling shown".
func TestCouplingGateAfterBonferroni(t *testing.T) {
	task := []float64{1.2, 1.4, 1.6, 1.3, 1.5, 1.7}
	internal := []float64{1.0, 1.2, 1.4, 1.1, 1.3, 1.5}
	strata := []int{32, 32, 32, 64, 64, 64}
	c, err := transition.Couple(internal, task, strata, transition.DefaultCoupleConfig(), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if !(c.MinP <= 0.05) || !(2*c.MinP > 0.05) {
		t.Fatalf("MinP %v: the case needs MinP ≤ 0.05 < 2·MinP", c.MinP)
	}
	spec := transition.SpecificityTest(6, 0, 0, 6)
	for _, tc := range []struct {
		group        int
		insufficient bool
	}{{1, false}, {2, true}} {
		b := &verdictBuilder{decide: map[int]func(float64){}}
		u := &unitQuestions{metric: data.MetricEffectiveRank, coupling: c, groupSize: tc.group, spec: &spec, specMetric: data.MetricEffectiveRank}
		u.cP, u.sP = math.Min(1, c.P*float64(tc.group)), spec.P
		u.cRow, u.sRow = b.add(data.VerdictRow{}), b.add(data.VerdictRow{})
		decideCouplingRows(b, []*unitQuestions{u}, DefaultDecisionConfig())
		v := b.rows[u.cRow].Verdict
		if got := strings.HasPrefix(v, "insufficient"); got != tc.insufficient {
			t.Errorf("group of %d: verdict %q, want insufficient %v", tc.group, v, tc.insufficient)
		}
	}
}

// TestLeadLagZeroLagsInsufficient: 6 paired seeds whose lags are 0, −.1, −.1, −.2, −.2, −.2 (a zero
// lag: both change points on the same checkpoint) have only 5 informative lags, smallest p 1/16 >
// α: the verdict is insufficient seeds, not "no lead or lag shown"; with the zero lag replaced
// by −.05 the sign-flip test reaches its smallest p 1/32 and finds the lead.
func TestLeadLagZeroLagsInsufficient(t *testing.T) {
	internal := []float64{1.0, 1.1, 1.2, 1.3, 1.4, 1.5}
	task := []float64{1.0, 1.2, 1.3, 1.5, 1.6, 1.7}
	r, err := transition.LeadLagTest(internal, task, transition.DefaultLeadLagConfig(0.05), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if r.N != 6 || r.NonZero != 5 || r.MinP != 2.0/32 {
		t.Fatalf("N %d NonZero %d MinP %v, want 6, 5, 1/16", r.N, r.NonZero, r.MinP)
	}
	d := DecideLeadLag(data.MetricEffectiveRank, VerdictCoupled, []LeadLagEvidence{{Onset: onsetMid, Result: r, Q: r.P, TOSTQ: r.TOSTP}}, DefaultDecisionConfig())
	if !strings.HasPrefix(d.Verdict, "insufficient seeds") {
		t.Errorf("verdict %q, want insufficient seeds", d.Verdict)
	}
	internal[0] = 0.95
	r, _ = transition.LeadLagTest(internal, task, transition.DefaultLeadLagConfig(0.05), rand.New(rand.NewPCG(1, 1)))
	d = DecideLeadLag(data.MetricEffectiveRank, VerdictCoupled, []LeadLagEvidence{{Onset: onsetMid, Result: r, Q: r.P, TOSTQ: r.TOSTP}}, DefaultDecisionConfig())
	if d.Verdict != VerdictPrecedes {
		t.Errorf("no zero lag: verdict %q (p %v), want %q", d.Verdict, r.P, VerdictPrecedes)
	}
}

// TestSpecificityInsufficient: 10 of 12 learning cells transition and neither of 2 never-learning
// cells does; no table with these margins gets below 66/1001 > α and a clean baseline would need
// 3 cells, so the verdict is insufficient non-learning cells (need 3), not "not shown specific"; with 6
// never-learning cells, of which one transitions, and 5 of 12 learning ones, the best table with
// these margins reaches 0.0498 ≤ α and a large p is "not shown specific".
func TestSpecificityInsufficient(t *testing.T) {
	cfg := DefaultDecisionConfig()
	s := transition.SpecificityTest(10, 2, 0, 2)
	if got := DecideSpecificity(data.MetricEffectiveRank, s, s.P, cfg); got != "insufficient non-learning cells (need 3)" {
		t.Errorf("(10,2;0,2): verdict %q", got)
	}
	s = transition.SpecificityTest(5, 7, 1, 5)
	if got := DecideSpecificity(data.MetricEffectiveRank, s, s.P, cfg); got != VerdictNotSpecific {
		t.Errorf("(5,7;1,5), p %v: verdict %q, want %q", s.P, got, VerdictNotSpecific)
	}
	// Half the 10 never-learning cells transition too: evidence against specificity, not a
	// shortage of cells (3 would do: C(3,3)/C(6,3) = 0.05), though no table with these margins
	// reaches α (MinP 0.196).
	s = transition.SpecificityTest(3, 0, 5, 5)
	if got := DecideSpecificity(data.MetricEffectiveRank, s, s.P, cfg); got != VerdictNotSpecific || !(s.MinP > cfg.Alpha) {
		t.Errorf("(3,0;5,5), MinP %v: verdict %q, want %q", s.MinP, got, VerdictNotSpecific)
	}
}

// TestCouplingTiedOnsetsVerdict: 9 cells, 6 of them in one width whose task onsets are all equal,
// 3 in another: the tied stratum carries no information, the smallest p is 1/3! > α, and the
// 9 cells are already more than 2 equal strata without ties would need (2 × 3): the verdict
// names the ties, not a number of cells that the design already has.
func TestCouplingTiedOnsetsVerdict(t *testing.T) {
	task := []float64{1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.2, 1.4, 1.6}
	internal := []float64{1.1, 1.3, 1.2, 1.4, 1.0, 1.5, 1.0, 1.3, 1.5}
	strata := []int{32, 32, 32, 32, 32, 32, 64, 64, 64}
	c, err := transition.Couple(internal, task, strata, transition.DefaultCoupleConfig(), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(c.MinP-1.0/6) > 1e-12 {
		t.Fatalf("MinP %v, want 1/6", c.MinP)
	}
	if got := DecideCoupling(data.MetricEffectiveRank, c, 0.5, DefaultDecisionConfig()); got != VerdictTiedOnsets {
		t.Errorf("verdict %q, want %q", got, VerdictTiedOnsets)
	}
}

// TestTransitionRowWarmupLabel: an abrupt curve whose every jump lies in the warm-up is labelled
// so, with the first jump's onset; one with a jump outside the warm-up that is not significant on
// its own is "abrupt overall", with no onset and not flagged as in the warm-up.
func TestTransitionRowWarmupLabel(t *testing.T) {
	k := curveKey{cell: "c", series: data.Series{Kind: data.KindTask, Split: data.SplitTest, Metric: data.MetricLoss}}
	cs := &curves{byKey: map[curveKey]*curve{k: {series: k.series, steps: []int64{0, 1, 2, 4}, values: []float64{0, 0, 1, 1}}}, cells: map[string]data.Coords{"c": {Cell: "c"}}}
	for _, c := range []struct {
		jumps    []transition.Jump
		warm     bool
		reason   string
		hasOnset bool
	}{
		{[]transition.Jump{{Mid: 0.5, InWarmup: true, P: 0.01}, {Mid: 0.6, InWarmup: true, P: 0.2}}, true, "every jump lies in the learning-rate warm-up", true},
		{[]transition.Jump{{Mid: 0.5, InWarmup: true, P: 0.01}, {Mid: 2.5, P: 1}}, false, "no jump outside the learning-rate warm-up is significant on its own", false},
	} {
		res := map[curveKey]*curveResult{k: {abrupt: true, main: -1, test: transition.CurveTest{P: 0.001, Jumps: c.jumps}}}
		trans, _ := transitionRows(cs, res, Options{}.resolve())
		if len(trans) != 1 {
			t.Fatalf("%d rows", len(trans))
		}
		r := trans[0]
		if r.InWarmup != c.warm || !strings.Contains(r.Reason, c.reason) || (r.MidStep != nil) != c.hasOnset {
			t.Errorf("jumps %+v: in_warmup %v, onset %v, reason %q; want %v, onset %v, %q", c.jumps, r.InWarmup, r.MidStep != nil, r.Reason, c.warm, c.hasOnset, c.reason)
		}
	}
}

// TestWarmupJumpOnlyWhenEveryRiseIsInWarmup: a learned cell's abrupt exact match whose only
// rising jump lies in the warm-up is a warm-up jump; with a second rising jump after the warm-up
// (not significant on its own) it is not, since its rise does not lie only in the warm-up.
func TestWarmupJumpOnlyWhenEveryRiseIsInWarmup(t *testing.T) {
	ser := taskSeries("test", data.MetricExactMatch)
	k := curveKey{cell: "c", series: ser}
	cs := &curves{byKey: map[curveKey]*curve{k: {series: ser, steps: []int64{0, 10, 100}, values: []float64{0, 0.5, 0.9}}},
		cells: map[string]data.Coords{"c": {Cell: "c"}}, diverged: map[string]int64{}}
	for _, c := range []struct {
		jumps []transition.Jump
		want  bool
	}{
		{[]transition.Jump{{Size: 0.5, InWarmup: true, P: 0.01}}, true},
		{[]transition.Jump{{Size: 0.5, InWarmup: true, P: 0.01}, {Size: 0.4, P: 1}}, false},
	} {
		res := map[curveKey]*curveResult{k: {abrupt: true, test: transition.CurveTest{Jumps: c.jumps}}}
		if got := classifyCells(cs, res, "test", DefaultDecisions())["c"].warmupJump; got != c.want {
			t.Errorf("jumps %+v: warmupJump %v, want %v", c.jumps, got, c.want)
		}
	}
}
