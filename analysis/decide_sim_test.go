package analysis

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/phaseprobe/phaseprobe/transition"
)

// The whole-chain simulation: simulated sweeps of 3 widths × n seeds, each
// cell with a task curve and simInternal internal curves; onsets found by a
// pluggable detector; coupling across cells (transition.Couple, strata =
// width), BH over the sweep's curves, lead–lag per width (transition.
// LeadLagTest), BH over the coupled curves' rows, and the verdicts of
// DecideCoupling and DecideLeadLag.
//
// Onsets are in decades (x = log10(step+1)):
//
//   - task onsets: width means 1.9, 1.7, 1.5 (wider learns earlier; in half
//     of the null sweeps no drift, 1.7 for all) with seed spread sd 0.1
//     decade (a factor 1.26 in steps between seeds);
//   - tied internal onsets: task − 0.1 (a lead) or task + 0 (no lag), plus tie
//     noise sd 0.05 decade.
//
// Why these are realistic for the demo: the demo's probes lead exact match by
// 0.09–0.13 decade over 3 seeds (README, "What phaseprobe finds"), a spread of
// the lag of about 0.02 decade; the tie noise used here is more than twice
// that. The seed spread of task onsets was not recorded for the demo; 0.1
// decade is an assumption (it is half a checkpoint spacing), and coupling
// cannot be seen across seeds if task onsets do not vary between seeds at
// all: the power figures below hold for this spread, not for smaller ones.
//
// Curves: a logistic of 10→90 % width 0.3 decade (the demo's exact match is
// 0.2–0.4 wide) from 0 to 1 (task) or from 0.4 to 0.9 (internal), plus AR(1)
// noise with coefficient 0.5 and sd 0.03; an internal curve is instead a
// smooth ramp (no transition) in 10 % of cells.

var tuneChain = flag.Bool("tune", false, "run the whole-chain simulation on its tuning seeds and log the rates")

// onsetDetector returns a curve's onset in x units, or ok = false for no
// transition. Any detector (transition.Detect's sigmoid midpoint, a
// calibrated test) can be plugged into the chain.
type onsetDetector func(x, y []float64) (onset float64, ok bool)

// chainDetector is the detector of TestChainNull and TestChainTied: the old
// transition.Detect, kept as a fast detector for testing the decision rules
// with many sweeps. The analysis's own detector (testCurves: TestCurve, BH,
// mainJump) is simulated in chain_calibrated_test.go.
var chainDetector onsetDetector = detectSigmoid

// detectSigmoid is transition.Detect with its defaults: the sigmoid midpoint
// of an abrupt curve.
func detectSigmoid(x, y []float64) (float64, bool) {
	d, err := transition.Detect(x, y, transition.DefaultConfig())
	if err != nil || !d.Abrupt {
		return math.NaN(), false
	}
	return d.Onset, true
}

var (
	// demoSteps are the demo's checkpoints (examples/demo.yaml, 16 checkpoints over 600 steps).
	demoSteps = []float64{0, 1, 2, 4, 6, 8, 13, 20, 30, 46, 71, 109, 167, 256, 392, 600}
	// doublingSteps are 11 checkpoints at doubling steps to 1023 (spacing 0.3 decade).
	doublingSteps = []float64{0, 1, 3, 7, 15, 31, 63, 127, 255, 511, 1023}
)

const simInternal = 10 // internal curves per sweep: the FDR family of the coupling rows

// curve kinds of the internal curves.
const (
	kindUnrelated = "unrelated"    // onsets uniform on [0.9, 2.2], independent of everything
	kindDrift     = "drift"        // width means − 0.5, drifting with the task's, independent seeds
	kindShared    = "shared mean"  // the task's width means, independent seeds
	kindLead      = "tied, lead"   // task − 0.1 + tie noise
	kindZero      = "tied, no lag" // task + tie noise
)

var (
	nullKinds  = []string{kindUnrelated, kindUnrelated, kindUnrelated, kindDrift, kindDrift, kindDrift, kindShared, kindShared, kindShared, kindShared}
	powerKinds = []string{kindLead, kindLead, kindLead, kindLead, kindZero, kindZero, kindZero, kindShared, kindShared, kindShared}
)

// sweepSpec is one simulated design.
type sweepSpec struct {
	grid  string
	steps []float64
	seeds int
	kinds []string
	drift bool // task width means 1.9/1.7/1.5 rather than 1.7 for all
}

// sweepResult holds the verdicts of one simulated sweep.
type sweepResult struct {
	coupling []string   // per internal curve
	leadLag  [][]string // per internal curve, per width
}

// simulateSweep runs the whole chain on one simulated sweep.
func simulateSweep(spec sweepSpec, detect onsetDetector, rng *rand.Rand) (sweepResult, error) {
	x := make([]float64, len(spec.steps))
	for i, s := range spec.steps {
		x[i] = math.Log10(s + 1)
	}
	tol := transition.CheckpointSpacing(x)
	means := []float64{1.7, 1.7, 1.7}
	if spec.drift {
		means = []float64{1.9, 1.7, 1.5}
	}
	nCells := len(means) * spec.seeds
	strata := make([]int, nCells)
	trueTask := make([]float64, nCells)
	task := make([]float64, nCells)
	y := make([]float64, len(x))
	for c := range nCells {
		strata[c] = c / spec.seeds
		trueTask[c] = means[strata[c]] + 0.1*rng.NormFloat64()
		simCurve(y, x, trueTask[c], 0, 1, rng)
		task[c] = onsetOrNaN(detect(x, y))
	}
	internal := make([][]float64, len(spec.kinds))
	for k, kind := range spec.kinds {
		internal[k] = make([]float64, nCells)
		for c := range nCells {
			var on float64
			switch kind {
			case kindUnrelated:
				on = 0.9 + 1.3*rng.Float64()
			case kindDrift:
				on = means[strata[c]] - 0.5 + 0.1*rng.NormFloat64()
			case kindShared:
				on = means[strata[c]] + 0.1*rng.NormFloat64()
			case kindLead:
				on = trueTask[c] - 0.1 + 0.05*rng.NormFloat64()
			case kindZero:
				on = trueTask[c] + 0.05*rng.NormFloat64()
			}
			if rng.Float64() < 0.1 {
				simRamp(y, x, rng)
			} else {
				simCurve(y, x, on, 0.4, 0.9, rng)
			}
			internal[k][c] = onsetOrNaN(detect(x, y))
		}
	}

	return decideOnsets(task, internal, strata, len(means), spec.seeds, tol, rng)
}

// decideOnsets runs the decision half of the chain on a sweep's onsets (NaN:
// no transition): task[c] and internal[k][c] for cell c = width·seeds + seed,
// strata[c] its width. Coupling across cells (strata = width), BH over the
// internal curves, lead–lag per width, BH over the rows that can get a
// verdict, DecideCoupling and DecideLeadLag.
func decideOnsets(task []float64, internal [][]float64, strata []int, widths, seeds int, tol float64, rng *rand.Rand) (sweepResult, error) {
	cfg := DefaultDecisionConfig()
	const metric = "probe_accuracy"
	nk := len(internal)
	// Coupling across cells, BH over the sweep's curves.
	couplings := make([]transition.Coupling, nk)
	ps := make([]float64, nk)
	for k := range nk {
		c, err := transition.Couple(internal[k], task, strata, transition.DefaultCoupleConfig(), rng)
		if err != nil {
			return sweepResult{}, err
		}
		couplings[k], ps[k] = c, c.P
	}
	qs := transition.BHTo(nil, ps)
	res := sweepResult{coupling: make([]string, nk), leadLag: make([][]string, nk)}
	for k := range nk {
		res.coupling[k] = DecideCoupling(metric, couplings[k], qs[k], cfg)
	}
	// Lead–lag per width; the family is the rows that can get a verdict.
	need := transition.MinSeedsFor(cfg.Alpha)
	type row struct {
		k, w int
		r    transition.LeadLag
	}
	var rows []row
	var lp, tp []float64
	for k := range nk {
		for w := range widths {
			lo, hi := w*seeds, (w+1)*seeds
			r, err := transition.LeadLagTest(internal[k][lo:hi], task[lo:hi], transition.DefaultLeadLagConfig(tol), rng)
			if err != nil {
				return sweepResult{}, err
			}
			rows = append(rows, row{k, w, r})
			p, t := math.NaN(), math.NaN()
			if res.coupling[k] == VerdictCoupled && r.N >= need {
				p, t = r.P, r.TOSTP
			}
			lp, tp = append(lp, p), append(tp, t)
		}
	}
	lq, tq := transition.BHTo(nil, lp), transition.BHTo(nil, tp)
	for k := range nk {
		res.leadLag[k] = make([]string, widths)
	}
	for i, rw := range rows {
		d := DecideLeadLag(metric, res.coupling[rw.k], []LeadLagEvidence{{Onset: "sigmoid midpoint", Result: rw.r, Q: lq[i], TOSTQ: tq[i]}}, cfg)
		res.leadLag[rw.k][rw.w] = d.Verdict
	}
	return res, nil
}

func onsetOrNaN(x float64, ok bool) float64 {
	if !ok {
		return math.NaN()
	}
	return x
}

// simCurve fills y with a logistic from lo to hi with midpoint x0 and 10→90 %
// width 0.3, plus AR(1) noise (coefficient 0.5, stationary sd 0.03).
func simCurve(y, x []float64, x0, lo, hi float64, rng *rand.Rand) {
	const width, phi, sd = 0.3, 0.5, 0.03
	scale := width / transition.WidthPerScale
	e := sd * rng.NormFloat64()
	for i, xi := range x {
		if i > 0 {
			e = phi*e + sd*math.Sqrt(1-phi*phi)*rng.NormFloat64()
		}
		y[i] = lo + (hi-lo)/(1+math.Exp(-(xi-x0)/scale)) + e
	}
}

// simRamp fills y with a straight rise of 0.1–0.5 over the x range plus the same AR(1) noise.
func simRamp(y, x []float64, rng *rand.Rand) {
	rise := 0.1 + 0.4*rng.Float64()
	simCurve(y, x, 0, 0, 0, rng)
	for i, xi := range x {
		y[i] += 0.4 + rise*(xi-x[0])/(x[len(x)-1]-x[0])
	}
}

// runSweeps simulates n sweeps of spec in parallel; sweep i uses its own
// stream (seed, i), so results do not depend on scheduling.
func runSweeps(t *testing.T, spec sweepSpec, n int, seed uint64, detect onsetDetector) []sweepResult {
	t.Helper()
	out := make([]sweepResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = simulateSweep(spec, detect, rand.New(rand.NewPCG(seed, uint64(i))))
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// chainSeed returns the rng seed of design k: tuning seeds 100+k, asserted seeds 200+k.
func chainSeed(k uint64) uint64 {
	if *tuneChain {
		return 100 + k
	}
	return 200 + k
}

func isClaim(v string) bool {
	switch v {
	case VerdictCoupled, VerdictPrecedes, VerdictFollows, VerdictCoincides:
		return true
	}
	return false
}

// TestChainNull: unrelated internal and task onsets — independent, drifting
// with width like the task's, or sharing the task's mean onset per width —
// must earn a "coupled", directional or "coincides" verdict in at most 5 % of
// sweeps (each sweep holds 10 such curves; without BH any-rejection would be
// 1 − 0.95¹⁰ = 40 %). Tolerance: 2 binomial standard errors of 5 % over the
// sweeps pooled across designs.
func TestChainNull(t *testing.T) {
	designs := []struct {
		spec   sweepSpec
		sweeps int
	}{
		{sweepSpec{grid: "demo", steps: demoSteps, seeds: 3, kinds: nullKinds}, 80},
		{sweepSpec{grid: "demo", steps: demoSteps, seeds: 6, kinds: nullKinds}, 50},
		{sweepSpec{grid: "demo", steps: demoSteps, seeds: 10, kinds: nullKinds}, 30},
		{sweepSpec{grid: "doubling", steps: doublingSteps, seeds: 6, kinds: nullKinds}, 40},
	}
	var total, withClaim int
	need := fmt.Sprintf("insufficient seeds (need %d)", transition.MinSeedsFor(DefaultDecisionConfig().Alpha))
	for d, ds := range designs {
		claims := map[string]int{}
		sweepsWithClaim := 0
		for i, half := range []int{ds.sweeps / 2, ds.sweeps - ds.sweeps/2} {
			spec := ds.spec
			spec.drift = i == 0
			for _, r := range runSweeps(t, spec, half, chainSeed(uint64(2*d+i)), chainDetector) {
				any := false
				for k, kind := range spec.kinds {
					if isClaim(r.coupling[k]) {
						claims[kind]++
						any = true
					}
					for _, v := range r.leadLag[k] {
						if isClaim(v) {
							claims[kind+" lead/lag"]++
							any = true
						}
						if spec.seeds < 6 && v != need {
							t.Errorf("%s grid, %d seeds: lead/lag verdict %q, want %q", spec.grid, spec.seeds, v, need)
						}
					}
				}
				if any {
					sweepsWithClaim++
				}
			}
		}
		t.Logf("%s grid, %d seeds: %d/%d sweeps with a claim; claims by kind %v", ds.spec.grid, ds.spec.seeds, sweepsWithClaim, ds.sweeps, claims)
		total += ds.sweeps
		withClaim += sweepsWithClaim
	}
	rate := float64(withClaim) / float64(total)
	lim := 0.05 + 2*math.Sqrt(0.05*0.95/float64(total))
	t.Logf("all designs: %d/%d sweeps (%.3f) with a coupled, directional or coincides verdict; limit %.3f", withClaim, total, rate, lim)
	if rate > lim {
		t.Errorf("null sweeps with a claim: %.3f, want ≤ %.3f", rate, lim)
	}
}

// TestChainTied: internal onsets tied to the task's (4 curves leading by 0.1
// decade, 3 with no lag, beside 3 shared-mean nulls per sweep, task drifting
// with width). At 10 seeds the tied curves must be found coupled in ≥ 80 % of
// cases, the leading ones "precedes" at the rate tuned below, and the no-lag
// ones must get a directional verdict in at most 5 % of rows (their lag is the
// null of the directional test). With 3 seeds every lead/lag verdict must be
// "insufficient seeds (need 6)".
func TestChainTied(t *testing.T) {
	cfg := DefaultDecisionConfig()
	need := fmt.Sprintf("insufficient seeds (need %d)", transition.MinSeedsFor(cfg.Alpha))
	designs := []struct {
		spec   sweepSpec
		sweeps int
	}{
		{sweepSpec{grid: "demo", steps: demoSteps, seeds: 10, kinds: powerKinds, drift: true}, 30},
		{sweepSpec{grid: "doubling", steps: doublingSteps, seeds: 10, kinds: powerKinds, drift: true}, 20},
		{sweepSpec{grid: "demo", steps: demoSteps, seeds: 6, kinds: powerKinds, drift: true}, 20},
		{sweepSpec{grid: "demo", steps: demoSteps, seeds: 3, kinds: powerKinds, drift: true}, 20},
	}
	for d, ds := range designs {
		res := runSweeps(t, ds.spec, ds.sweeps, chainSeed(50+uint64(d)), chainDetector)
		var tied, coupled, nulls, falseCoupled, discoveries int
		var leadRows, precedes, leadCoincides, zeroRows, zeroDirectional, zeroCoincides int
		for _, r := range res {
			for k, kind := range ds.spec.kinds {
				isCoupled := r.coupling[k] == VerdictCoupled
				if isCoupled {
					discoveries++
				}
				switch kind {
				case kindLead, kindZero:
					tied++
					if isCoupled {
						coupled++
					}
				default:
					nulls++
					if isCoupled {
						falseCoupled++
					}
				}
				for _, v := range r.leadLag[k] {
					if ds.spec.seeds < 6 && v != need {
						t.Errorf("%s grid, %d seeds: lead/lag verdict %q, want %q", ds.spec.grid, ds.spec.seeds, v, need)
					}
					switch kind {
					case kindLead:
						leadRows++
						if v == VerdictPrecedes {
							precedes++
						}
						if v == VerdictCoincides {
							leadCoincides++
						}
					case kindZero:
						zeroRows++
						if v == VerdictPrecedes || v == VerdictFollows {
							zeroDirectional++
						}
						if v == VerdictCoincides {
							zeroCoincides++
						}
					}
				}
			}
		}
		f := func(a, b int) float64 { return float64(a) / float64(max(b, 1)) }
		t.Logf("%s grid, %d seeds, %d sweeps: tied curves coupled %d/%d (%.3f); nulls coupled %d/%d, false discovery proportion %.3f; "+
			"leading rows precedes %d/%d (%.3f), coincides %d; no-lag rows directional %d/%d (%.3f), coincides %d/%d (%.3f)",
			ds.spec.grid, ds.spec.seeds, ds.sweeps, coupled, tied, f(coupled, tied), falseCoupled, nulls, f(falseCoupled, discoveries),
			precedes, leadRows, f(precedes, leadRows), leadCoincides, zeroDirectional, zeroRows, f(zeroDirectional, zeroRows),
			zeroCoincides, zeroRows, f(zeroCoincides, zeroRows))
		if ds.spec.seeds != 10 {
			continue
		}
		if r := f(coupled, tied); r < 0.8 {
			t.Errorf("%s grid, 10 seeds: tied curves coupled %.3f, want ≥ 0.8", ds.spec.grid, r)
		}
		if r, lim := f(zeroDirectional, zeroRows), 0.05+2*math.Sqrt(0.05*0.95/float64(zeroRows)); r > lim {
			t.Errorf("%s grid, 10 seeds: no-lag rows directional %.3f, want ≤ %.3f", ds.spec.grid, r, lim)
		}
		if r, lim := f(falseCoupled, discoveries), 0.05+2*math.Sqrt(0.05*0.95/float64(discoveries)); r > lim {
			t.Errorf("%s grid, 10 seeds: false discovery proportion %.3f, want ≤ %.3f", ds.spec.grid, r, lim)
		}
		// Tuned on seeds 100+k (see the log of -tune).
		if r := f(precedes, leadRows); r < minPrecedes[ds.spec.grid] {
			t.Errorf("%s grid, 10 seeds: leading rows precedes %.3f, want ≥ %.2f", ds.spec.grid, r, minPrecedes[ds.spec.grid])
		}
	}
}

// minPrecedes are the "precedes" rates asserted for the leading curves at 10
// seeds, set below the rates measured on the tuning seeds.
// (tuning seeds, 10 seeds: demo 462/480 = 0.963, doubling 187/240 = 0.779).
var minPrecedes = map[string]float64{"demo": 0.9, "doubling": 0.7}
