package transition

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Size and power of TestCurve by simulation on the grids users run. Seeds:
// the constants of DefaultCurveConfig (W0, MaxExponent, MaxPhi and the φ bias
// correction, h, B) were chosen on runs with seed base tuneSeed; the tests
// assert on the disjoint seed base testSeed.
const (
	tuneSeed = 1
	testSeed = 2
)

// simGrid is a checkpoint grid with its learning-rate schedule.
type simGrid struct {
	name  string
	steps []int
	x     []float64
	sch   Schedule
}

// newSimGrid builds x = log10(step+1) and η from lr.
func newSimGrid(name string, steps []int, warmup int, lr func(s int) float64) simGrid {
	x := make([]float64, len(steps))
	for i, s := range steps {
		x[i] = math.Log10(float64(s) + 1)
	}
	return simGrid{name: name, steps: steps, x: x, sch: Schedule{CumLR: CumulativeLRTo(nil, steps, lr), Warmup: warmup}}
}

// warmupLR is train.Optim.LRAt's schedule: linear warm-up over warmup steps,
// then cosine to 0, linear to 0, or constant, over total steps.
func warmupLR(lr0 float64, warmup, total int, schedule string) func(int) float64 {
	return func(s int) float64 {
		if s <= warmup {
			return lr0 * float64(s) / float64(warmup)
		}
		frac := float64(s-warmup) / float64(total-warmup)
		switch schedule {
		case "cosine":
			return lr0 * 0.5 * (1 + math.Cos(math.Pi*frac))
		case "linear":
			return lr0 * (1 - frac)
		}
		return lr0
	}
}

// logSteps returns k checkpoints: step 0 and k−1 distinct steps log-spaced
// over 1..last (rounded, duplicates pushed up by one).
func logSteps(k, last int) []int {
	steps := []int{0}
	for i := 0; i < k-1; i++ {
		s := int(math.Round(math.Pow(float64(last), float64(i)/float64(k-2))))
		if s <= steps[len(steps)-1] {
			s = steps[len(steps)-1] + 1
		}
		steps = append(steps, s)
	}
	return steps
}

// simGrids are the demo grid (examples/demo.yaml: 16 checkpoints, lr 3e-3,
// 30 warm-up steps, cosine to 0 over 600 steps; spacing ≈ 0.18 decade), a
// second grid (24 log-spaced checkpoints over 0..1500, 50 warm-up steps,
// constant lr; ≈ 0.14 decade) and a denser one (40 over 0..5000, 100 warm-up
// steps, linear decay; ≈ 0.095 decade).
func simGrids() []simGrid {
	return []simGrid{
		newSimGrid("demo", []int{0, 1, 2, 4, 6, 8, 13, 20, 30, 46, 71, 109, 167, 256, 392, 600}, 30, warmupLR(3e-3, 30, 600, "cosine")),
		newSimGrid("log24", logSteps(24, 1500), 50, warmupLR(1e-3, 50, 1500, "constant")),
		newSimGrid("log40", logSteps(40, 5000), 100, warmupLR(1e-3, 100, 5000, "linear")),
	}
}

// nullFamily generates a smooth curve (no noise) on a grid.
type nullFamily struct {
	name string
	gen  func(rng *rand.Rand, g simGrid, y []float64)
}

// flip mirrors y about 0.5 with probability ½ (decreasing curves: error
// rates, rank measures).
func flip(rng *rand.Rand, y []float64) {
	if rng.IntN(2) == 0 {
		for i := range y {
			y[i] = 1 - y[i]
		}
	}
}

var nullFamilies = []nullFamily{
	{"warm-up relaxation in η", func(rng *rand.Rand, g simGrid, y []float64) {
		// y = lo + d·(1 − exp(−c·η)), c·η_end ∈ [2, 50]: the curve saturates
		// anywhere from the warm-up to the end of the run.
		eta := g.sch.CumLR
		c := math.Exp(math.Log(2)+(math.Log(50)-math.Log(2))*rng.Float64()) / eta[len(eta)-1]
		lo, d := 0.05+0.1*rng.Float64(), 0.4+0.5*rng.Float64()
		for i := range y {
			y[i] = lo + d*(1-math.Exp(-c*eta[i]))
		}
		flip(rng, y)
	}},
	{"wide sigmoid 0.25–2.5 decades", func(rng *rand.Rand, g simGrid, y []float64) {
		x := g.x
		w := 0.25 + 2.25*rng.Float64()
		m := x[2] + (x[len(x)-3]-x[2])*rng.Float64()
		lo, d := 0.05+0.1*rng.Float64(), 0.3+0.6*rng.Float64()
		for i := range y {
			y[i] = lo + d*logistic((x[i]-m)/(w/WidthPerScale))
		}
		flip(rng, y)
	}},
	{"log-linear", func(rng *rand.Rand, g simGrid, y []float64) {
		x := g.x
		lo, d := 0.05+0.1*rng.Float64(), 0.2+0.7*rng.Float64()
		for i := range y {
			y[i] = lo + d*(x[i]-x[0])/(x[len(x)-1]-x[0])
		}
		flip(rng, y)
	}},
	{"saturating power law", func(rng *rand.Rand, g simGrid, y []float64) {
		// y = c − d·(step+1)^−α, α ∈ [0.1, 1.5].
		x := g.x
		a := 0.1 + 1.4*rng.Float64()
		c, y0 := 0.6+0.35*rng.Float64(), 0.05+0.15*rng.Float64()
		for i := range y {
			y[i] = c - (c-y0)*math.Pow(10, -a*x[i])
		}
		flip(rng, y)
	}},
	{"power-law loss → accuracy p^n, n = 1..10", func(rng *rand.Rand, g simGrid, y []float64) {
		// L = A·(step+1)^−α + B with α ∈ [0.2, 2] (the MaxExponent bound),
		// B ∈ [0, 0.05]; accuracy exp(−n·L), n ∈ 1..10; A set so that the
		// accuracy at step 0 is ≤ 0.05 (the curve starts near 0).
		x := g.x
		a := 0.2 + 1.8*rng.Float64()
		n := float64(1 + rng.IntN(10))
		b := 0.05 * rng.Float64()
		A := (-math.Log(0.01+0.04*rng.Float64()))/n + rng.Float64()*2/n
		for i := range y {
			y[i] = math.Exp(-n * (A*math.Pow(10, -a*x[i]) + b))
		}
		flip(rng, y)
	}},
}

// addNoise adds Gaussian noise of sd U[0.01, 0.05], i.i.d. in half of the
// trials and AR(1) with φ ∈ U[0.3, 0.9] in the other half (under a clip at
// 0.7, φ̂ of the demo's own curves sat at the clip in most cases; see
// DefaultCurveConfig).
func addNoise(rng *rand.Rand, y []float64, trial int) {
	sd := 0.01 + 0.04*rng.Float64()
	phi := 0.0
	if trial%2 == 1 {
		phi = 0.3 + 0.6*rng.Float64()
	}
	e := make([]float64, len(y))
	arNoiseTo(e, sd, phi, rng)
	for i := range y {
		y[i] += e[i]
	}
}

// sizeOf returns how many of trials curves of fam on g TestCurve rejects at
// p ≤ 0.05, and the mean number of replicates.
func sizeOf(t testing.TB, fam nullFamily, g simGrid, trials int, seed uint64, cfg CurveConfig) (rejected int, meanReps float64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	y := make([]float64, len(g.x))
	for trial := 0; trial < trials; trial++ {
		fam.gen(rng, g, y)
		addNoise(rng, y, trial)
		r, err := TestCurve(g.x, y, g.sch, cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		if r.P <= 0.05 {
			rejected++
		}
		meanReps += float64(r.Replicates)
	}
	return rejected, meanReps / float64(trials)
}

// gapAt returns the spacing of the two checkpoints around m.
func gapAt(x []float64, m float64) float64 {
	for i := 0; i+1 < len(x); i++ {
		if x[i+1] >= m {
			return x[i+1] - x[i]
		}
	}
	return x[len(x)-1] - x[len(x)-2]
}

// jumpCurve fills y with a logistic jump of size ±[0.3, 1] and 10→90% width
// w from a level in [0.02, 0.1] (or its mirror), midpoint uniform between the
// 4th checkpoint and the 4th from the end, plus addNoise; it returns the
// midpoint.
func jumpCurve(rng *rand.Rand, x, y []float64, w float64, trial int) float64 {
	n := len(x)
	m := x[3] + (x[n-4]-x[3])*rng.Float64()
	amp := 0.3 + 0.7*rng.Float64()
	lo := 0.02 + 0.08*rng.Float64()
	for i := range y {
		y[i] = lo + amp*logistic((x[i]-m)/(w/WidthPerScale))
	}
	flip(rng, y)
	addNoise(rng, y, trial)
	return m
}

// located reports whether r has a jump with P ≤ 0.05 within one checkpoint
// spacing of m.
func located(r CurveTest, x []float64, m float64) bool {
	for _, j := range r.Jumps {
		if j.P <= 0.05 && math.Abs(j.Mid-m) <= gapAt(x, m) {
			return true
		}
	}
	return false
}

// powerOf returns how many of trials jump curves of width drawn by width()
// TestCurve finds (P ≤ 0.05, a jump within one spacing of the truth).
func powerOf(t testing.TB, g simGrid, trials int, seed uint64, cfg CurveConfig, width func(*rand.Rand) float64) int {
	rng := rand.New(rand.NewPCG(seed, 13))
	y := make([]float64, len(g.x))
	found := 0
	for trial := 0; trial < trials; trial++ {
		m := jumpCurve(rng, g.x, y, width(rng), trial)
		r, err := TestCurve(g.x, y, g.sch, cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		if r.P <= 0.05 && located(r, g.x, m) {
			found++
		}
	}
	return found
}

// twoPhaseCurve is the token-accuracy curve of the demo (examples/demo.yaml):
// the easy position is learned by step ~46 (a jump from 0.1 to a plateau of
// 0.40, midpoint at steps 12–30, width 0.05–0.3 decade), the plateau drifts to
// 0.46, and the hard position jumps 0.46 → 0.95 between steps 167 and 256
// (midpoint uniform there, width 0.02–0.1 decade). It returns the second
// jump's midpoint.
func twoPhaseCurve(rng *rand.Rand, x, y []float64, trial int) float64 {
	m1 := math.Log10(13) + (math.Log10(31)-math.Log10(13))*rng.Float64()
	w1 := 0.05 + 0.25*rng.Float64()
	m2 := math.Log10(168) + (math.Log10(257)-math.Log10(168))*rng.Float64()
	w2 := 0.02 + 0.08*rng.Float64()
	for i, xi := range x {
		drift := 0.06 * math.Min(math.Max((xi-m1)/(m2-m1), 0), 1)
		y[i] = 0.1 + 0.3*logistic((xi-m1)/(w1/WidthPerScale)) + drift + 0.49*logistic((xi-m2)/(w2/WidthPerScale))
	}
	addNoise(rng, y, trial)
	return m2
}

// binomBound returns p + z·√(p(1−p)/n): the tolerance of a rate measured on
// n trials whose true value is p (z = 2.33: one-sided 99%; z = 3.09: 99.9%).
func binomBound(p float64, n int, z float64) float64 {
	return p + z*math.Sqrt(p*(1-p)/float64(n))
}

// sizeTrials are the null trials per family on each grid: 200 on the demo
// grid, fewer on the larger grids, whose fits cost more (380 per family in
// all).
var sizeTrials = map[string]int{"demo": 200, "log24": 100, "log40": 80}

// TestCurveSize checks that TestCurve rejects smooth curves at p ≤ 0.05 in at
// most 5% of trials, per family and grid, under i.i.d. and AR(1) noise (half
// the trials each). Tolerance: per family and grid the 99.9% one-sided
// binomial bound of a 5% rate (9.8% on 200 trials, 11.7% on 100, 12.6% on
// 80; 15 cells, so a true 5% rate fails one with probability ≈ 1.5%),
// pooled per family over the grids the 99% bound (7.6% on 380 trials).
func TestCurveSize(t *testing.T) {
	cfg := DefaultCurveConfig()
	pooled := make([]int, len(nullFamilies))
	total := 0
	for _, g := range simGrids() {
		trials := sizeTrials[g.name]
		total += trials
		for fi, fam := range nullFamilies {
			rej, reps := sizeOf(t, fam, g, trials, testSeed*1000+uint64(fi), cfg)
			pooled[fi] += rej
			rate := float64(rej) / float64(trials)
			t.Logf("%-5s %-42s rejected %3d/%d (%.3f), mean replicates %.1f", g.name, fam.name, rej, trials, rate, reps)
			if bound := binomBound(0.05, trials, 3.09); rate > bound {
				t.Errorf("%s, %s: size %.3f > %.3f", g.name, fam.name, rate, bound)
			}
		}
	}
	for fi, fam := range nullFamilies {
		rate := float64(pooled[fi]) / float64(total)
		t.Logf("%-42s pooled over grids: %d/%d (%.3f)", fam.name, pooled[fi], total, rate)
		if bound := binomBound(0.05, total, 2.33); rate > bound {
			t.Errorf("%s: pooled size %.3f > %.3f", fam.name, rate, bound)
		}
	}
}

// powerCfg is DefaultCurveConfig with B = 39 replicates, to keep the power
// tests short; at α = 0.05 it can only lose power against B = 99 (the
// smallest p is 0.025 instead of 0.01).
func powerCfg() CurveConfig {
	cfg := DefaultCurveConfig()
	cfg.MaxReplicates = 39
	return cfg
}

// TestCurvePower measures how often TestCurve finds a logistic jump well
// below W0 (10→90% width U[0.01, 0.1] decade, size ±[0.3, 1], noise sd
// [0.01, 0.05], half i.i.d., half AR(1) φ ∈ [0.3, 0.9]) at P ≤ 0.05 with a
// jump of P ≤ 0.05 within one checkpoint spacing of the true midpoint.
//
// The power falls short of 95% on these coarse grids: a jump inside one
// checkpoint interval can be fitted by the W0 = 0.25-decade null nearly as
// well (zoom_sim_test.go measures the cure, a zoom into the jump). Measured on
// the tuning seeds (80 trials, B = 39, with MaxPhi 0.9, PhiBias 1.2 and the
// noise above): a 16-checkpoint grid 42/80 (52.5%), log24 61/80 (76%), log40
// 69/80 (86%). (With MaxPhi 0.7, PhiBias 0.8 and AR(1) φ ≤ 0.6: 61%, 73%,
// 85% — a setting that is liberal under the demo's noise; see
// DefaultCurveConfig.) The
// thresholds are the tuning rates less 2.33 standard errors of the
// difference between two rates on 80 trials: a regression guard, not the
// 95% target.
func TestCurvePower(t *testing.T) {
	cfg := powerCfg()
	const trials = 80
	want := map[string]float64{"demo": 0.34, "log24": 0.60, "log40": 0.73}
	seed := uint64(testSeed)
	if *tuneSims {
		seed = tuneSeed
	}
	for _, g := range simGrids() {
		found := powerOf(t, g, trials, seed*1000+uint64(len(g.x)), cfg, func(rng *rand.Rand) float64 { return 0.01 + 0.09*rng.Float64() })
		rate := float64(found) / trials
		t.Logf("%-5s (spacing %.3f): found %d/%d (%.3f)", g.name, CheckpointSpacing(g.x), found, trials, rate)
		if rate < want[g.name] {
			t.Errorf("%s: power %.3f < %.2f", g.name, rate, want[g.name])
		}
	}
}

// TestCurveTwoPhase checks the demo's two-phase token-accuracy curve (see
// twoPhaseCurve) on the demo grid: TestCurve must list two jumps, the first
// flagged InWarmup (its midpoint, steps 12–30, is before 2 × 30 warm-up
// steps) and the second not (in ≥ 95% of the two-jump fits), and find the second (P ≤ 0.05, within one
// spacing of its midpoint). Measured on the tuning seeds (80 trials, B = 39):
// two jumps in 75/80, warm-up flags right in 74/75, the second jump found in
// 54/80 (67.5%). Thresholds: two jumps in ≥ 90% of 80 trials; the second
// found in ≥ 50% (67.5% less 2.33 standard errors of the difference of two
// rates on 80 trials), short of the 95% target on this 16-checkpoint grid;
// on the demo's 29-checkpoint grid and after a zoom see TestZoomTwoPhase.
func TestCurveTwoPhase(t *testing.T) {
	g := simGrids()[0]
	cfg := powerCfg()
	seed := uint64(testSeed)
	if *tuneSims {
		seed = tuneSeed
	}
	rng := rand.New(rand.NewPCG(seed, 17))
	y := make([]float64, len(g.x))
	const trials = 80
	var two, found, flagged int
	for trial := 0; trial < trials; trial++ {
		m2 := twoPhaseCurve(rng, g.x, y, trial)
		r, err := TestCurve(g.x, y, g.sch, cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Jumps) != 2 {
			continue
		}
		two++
		if r.Jumps[0].InWarmup && !r.Jumps[1].InWarmup {
			flagged++
		}
		if j := r.Jumps[1]; j.P <= 0.05 && math.Abs(j.Mid-m2) <= gapAt(g.x, m2) {
			found++
		}
	}
	t.Logf("two jumps %d/%d, warm-up flags right %d/%d, second jump found %d/%d", two, trials, flagged, two, found, trials)
	if float64(two)/trials < 0.9 {
		t.Errorf("two jumps in %d/%d trials, want ≥ 90%%", two, trials)
	}
	if float64(flagged) < 0.95*float64(two) {
		t.Errorf("warm-up flags right in %d of %d two-jump fits, want ≥ 95%%", flagged, two)
	}
	if float64(found)/trials < 0.50 {
		t.Errorf("second jump found in %d/%d trials, want ≥ 50%%", found, trials)
	}
}

// TestCurveSecondJumpSize checks the per-jump test under its null: a sharp
// jump (width 0.02–0.1 decade, size 0.3–0.6) plus a wide rise (a logistic of
// width 0.25–1.5 decades, size 0.2–0.4, midpoint at least 0.5 decade away),
// with the noise of addNoise. TestCurve must not list two jumps both at
// P ≤ 0.05 in more than 5% of trials; tolerance the 99% one-sided binomial
// bound (10.7% on 80 trials) on the demo grid and log40 each. (Measured:
// 0/100 on both; the jump's P = max(P, p_k) makes it conservative.)
func TestCurveSecondJumpSize(t *testing.T) {
	cfg := powerCfg()
	const trials = 80
	for _, gi := range []int{0, 2} {
		g := simGrids()[gi]
		x := g.x
		n := len(x)
		rng := rand.New(rand.NewPCG(testSeed, 23))
		y := make([]float64, n)
		var two, spurious int
		for trial := 0; trial < trials; trial++ {
			m1 := x[3] + (x[n-4]-x[3])*rng.Float64()
			m2 := x[2] + (x[n-3]-x[2])*rng.Float64()
			for math.Abs(m2-m1) < 0.5 {
				m2 = x[2] + (x[n-3]-x[2])*rng.Float64()
			}
			w1, w2 := 0.02+0.08*rng.Float64(), 0.25+1.25*rng.Float64()
			a1, a2 := 0.3+0.3*rng.Float64(), 0.2+0.2*rng.Float64()
			for i, xi := range x {
				y[i] = 0.05 + a1*logistic((xi-m1)/(w1/WidthPerScale)) + a2*logistic((xi-m2)/(w2/WidthPerScale))
			}
			addNoise(rng, y, trial)
			r, err := TestCurve(x, y, g.sch, cfg, rng)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Jumps) == 2 {
				two++
				if r.Jumps[0].P <= 0.05 && r.Jumps[1].P <= 0.05 {
					spurious++
				}
			}
		}
		rate := float64(spurious) / trials
		t.Logf("%s: two jumps listed %d/%d, both at P ≤ 0.05 %d/%d (%.3f)", g.name, two, trials, spurious, trials, rate)
		if bound := binomBound(0.05, trials, 2.33); rate > bound {
			t.Errorf("%s: a wide rise declared a second jump in %.3f of trials > %.3f", g.name, rate, bound)
		}
	}
}
