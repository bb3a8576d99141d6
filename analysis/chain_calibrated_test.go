package analysis

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/transition"
)

// The whole chain through the calibrated curve test: every curve of a
// simulated sweep goes through testCurves — transition.TestCurve with
// DefaultCurveConfig and MaxReplicates 199 on the cell's own grid and
// learning-rate schedule (the demo's: lr 3e-3, 30 warm-up steps, cosine to
// 0.1·lr over 600 steps), BH within the curves of one kind, a curve abrupt at
// q ≤ 0.05, its onset the midpoint of mainJump's jump (outside the warm-up,
// jumps with their own P ≤ α first) — and then the decision half of the
// chain (decideOnsets, shared with decide_sim_test.go).
//
// Onsets (decades, x = log10(step+1)) are placed after the warm-up: a jump
// whose midpoint is below log10(31) + log10(2) = 1.79 is flagged InWarmup and
// never an onset. Task width means 2.45, 2.30, 2.15 (drift; the demo's exact
// match jumps at steps 170–260, x = 2.2–2.4) or 2.30 for all, seed spread sd
// 0.1; tied internal onsets task − 0.1 (lead) or task + 0 (no lag) plus sd
// 0.05; unrelated ones uniform on [1.9, 2.65]; shared-mean ones the task's
// width means plus independent sd 0.1.
//
// Curves: logistic 10→90 % widths uniform on [0.03, 0.1] decade, well below
// W0 = 0.25 so that TestCurve can call them abrupt. Realistic: the demo's
// exact match goes 0.03 → 0.84 within one 0.18-decade checkpoint interval.
// Task curves 0 → 1 plus AR(1) noise (φ 0.5, sd 0.03) clamped to [0, 1]
// (exact match); internal curves 0.4 → 0.9 plus AR(1) noise (φ 0.5, sd 0.015:
// a probe accuracy on ~1000 probe examples has binomial sd ≤ 0.016); 10 % of
// internal curves are a smooth ramp instead. With sd 0.03 on the internal
// curves too, the 16-checkpoint grid called almost none of them abrupt (a
// jump inside one 0.18-decade interval is fitted by the 0.25-decade null to
// within 0.02 at the two checkpoints beside it).

var (
	chainFull   = flag.Bool("chainfull", false, "run the calibrated whole-chain simulation with many sweeps (slow: hours on 2 cores)")
	chainSweeps = flag.Int("chainsweeps", 40, "with -chainfull: sweeps per design")
)

// gridLog32 is train.LogSpacedSteps(600, 32): round(600^(i/31)), duplicates
// dropped (29 checkpoints; computed with /usr/bin/python3 from the same
// formula, floor(v + 0.5) for Go's math.Round).
var gridLog32 = []int64{0, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 18, 22, 27, 33, 41, 50, 62, 76, 94, 115, 142, 174, 214, 263, 323, 397, 488, 600}

type calSpec struct {
	grid  string
	steps []int64
	seeds int
	kinds []string
	drift bool
}

// simulateCalibratedSweep builds one sweep's curves in memory and runs the
// shipped transition step and the decision half of the chain on them.
func simulateCalibratedSweep(spec calSpec, rng *rand.Rand) (sweepResult, error) {
	means := []float64{2.3, 2.3, 2.3}
	if spec.drift {
		means = []float64{2.45, 2.3, 2.15}
	}
	cs := &curves{byKey: map[curveKey]*curve{}, cells: map[string]data.Coords{}, diverged: map[string]int64{},
		schedules: map[string]*data.LRSchedule{}, sweep: "chain"}
	x := make([]float64, len(spec.steps))
	for i, s := range spec.steps {
		x[i] = logStep(s)
	}
	nCells := len(means) * spec.seeds
	strata := make([]int, nCells)
	cells := make([]string, nCells)
	trueTask := make([]float64, nCells)
	taskSer := taskSeries("test", "exact_match")
	intSer := make([]data.Series, len(spec.kinds))
	for k := range spec.kinds {
		intSer[k] = internalSeries(fmt.Sprintf("blocks.%d.hook_resid_post", k), "c", "probe_selectivity")
	}
	addCurve := func(cell string, ser data.Series, y []float64) {
		cs.byKey[curveKey{cell, ser}] = &curve{coords: cs.cells[cell], series: ser, steps: spec.steps, values: y}
	}
	for c := range nCells {
		strata[c] = c / spec.seeds
		co := data.Coords{Sweep: "chain", Cell: fmt.Sprintf("w%d-s%d", strata[c], c%spec.seeds), Task: "sim", DModel: int32(16 << strata[c]),
			NLayers: 2, NHeads: 4, Seed: int64(c % spec.seeds)}
		cells[c] = co.Cell
		cs.cells[co.Cell] = co
		sch := scheduleDemo
		cs.schedules[co.Cell] = &sch
		trueTask[c] = means[strata[c]] + 0.1*rng.NormFloat64()
		y := make([]float64, len(x))
		simSharpCurve(y, x, trueTask[c], 0, 1, 0.03, rng)
		for i := range y {
			y[i] = math.Min(1, math.Max(0, y[i]))
		}
		addCurve(co.Cell, taskSer, y)
		for k, kind := range spec.kinds {
			var on float64
			switch kind {
			case kindUnrelated:
				on = 1.9 + 0.75*rng.Float64()
			case kindShared:
				on = means[strata[c]] + 0.1*rng.NormFloat64()
			case kindLead:
				on = trueTask[c] - 0.1 + 0.05*rng.NormFloat64()
			case kindZero:
				on = trueTask[c] + 0.05*rng.NormFloat64()
			default:
				panic("analysis: kind " + kind + " not simulated here")
			}
			y := make([]float64, len(x))
			if rng.Float64() < 0.1 {
				simRampAt(y, x, rng)
			} else {
				simSharpCurve(y, x, on, 0.4, 0.9, 0.015, rng)
			}
			addCurve(co.Cell, intSer[k], y)
		}
	}
	opt := Options{Replicates: 199, Jobs: runtime.GOMAXPROCS(0), Seed: rng.Uint64()}.resolve()
	res, err := testCurves(context.Background(), cs, opt)
	if err != nil {
		return sweepResult{}, err
	}
	task := make([]float64, nCells)
	internal := make([][]float64, len(spec.kinds))
	for k := range internal {
		internal[k] = make([]float64, nCells)
	}
	for c, cell := range cells {
		task[c] = res[curveKey{cell, taskSer}].onsetOf(onsetMid)
		for k := range spec.kinds {
			internal[k][c] = res[curveKey{cell, intSer[k]}].onsetOf(onsetMid)
		}
	}
	return decideOnsets(task, internal, strata, len(means), spec.seeds, transition.CheckpointSpacing(x), rng)
}

// simSharpCurve fills y with a logistic from lo to hi with midpoint x0 and a
// 10→90 % width uniform on [0.03, 0.1], plus AR(1) noise (φ 0.5, stationary sd sd).
func simSharpCurve(y, x []float64, x0, lo, hi, sd float64, rng *rand.Rand) {
	const phi = 0.5
	scale := (0.03 + 0.07*rng.Float64()) / transition.WidthPerScale
	e := sd * rng.NormFloat64()
	for i, xi := range x {
		if i > 0 {
			e = phi*e + sd*math.Sqrt(1-phi*phi)*rng.NormFloat64()
		}
		y[i] = lo + (hi-lo)/(1+math.Exp(-(xi-x0)/scale)) + e
	}
}

// simRampAt fills y with a straight rise of 0.1–0.5 over the x range from 0.4 plus AR(1) noise.
func simRampAt(y, x []float64, rng *rand.Rand) {
	const phi, sd = 0.5, 0.015
	rise := 0.1 + 0.4*rng.Float64()
	e := sd * rng.NormFloat64()
	for i, xi := range x {
		if i > 0 {
			e = phi*e + sd*math.Sqrt(1-phi*phi)*rng.NormFloat64()
		}
		y[i] = 0.4 + rise*(xi-x[0])/(x[len(x)-1]-x[0]) + e
	}
}

// calCounts tallies the verdicts of a set of sweeps.
type calCounts struct {
	sweeps, sweepsWithClaim   int // sweeps with any coupled, directional or coincides verdict on a null curve
	tied, tiedCoupled         int
	nulls, nullsCoupled       int
	rows, rowsInsufficient    int
	leadRows, leadPrecedes    int
	zeroRows, zeroDirectional int
}

func (n *calCounts) add(spec calSpec, r sweepResult, need string) {
	n.sweeps++
	claim := false
	for k, kind := range spec.kinds {
		coupled := r.coupling[k] == VerdictCoupled
		tied := kind == kindLead || kind == kindZero
		if tied {
			n.tied++
			if coupled {
				n.tiedCoupled++
			}
		} else {
			n.nulls++
			if coupled {
				n.nullsCoupled++
			}
			if isClaim(r.coupling[k]) {
				claim = true
			}
		}
		for _, v := range r.leadLag[k] {
			n.rows++
			if v == need {
				n.rowsInsufficient++
			}
			if !tied && isClaim(v) {
				claim = true
			}
			switch kind {
			case kindLead:
				n.leadRows++
				if v == VerdictPrecedes {
					n.leadPrecedes++
				}
			case kindZero:
				n.zeroRows++
				if v == VerdictPrecedes || v == VerdictFollows {
					n.zeroDirectional++
				}
			}
		}
	}
	if claim {
		n.sweepsWithClaim++
	}
}

func (n calCounts) String() string {
	return fmt.Sprintf("%d sweeps, %d with a claim on a null curve; tied coupled %d/%d; nulls coupled %d/%d; lead rows precedes %d/%d; no-lag rows directional %d/%d; lead–lag rows insufficient %d/%d",
		n.sweeps, n.sweepsWithClaim, n.tiedCoupled, n.tied, n.nullsCoupled, n.nulls, n.leadPrecedes, n.leadRows, n.zeroDirectional, n.zeroRows, n.rowsInsufficient, n.rows)
}

// TestChainCalibrated runs the whole chain through the calibrated curve test
// (see the top of this file). Each sweep is 3 widths × n seeds with a task
// curve and 2 (null) or 4 (tied) internal curves per cell. On this machine
// (2 loaded cores) a 10-seed sweep with 4 internal curves takes 23 s on the
// 16-checkpoint grid and 34 s on the 29-checkpoint one, so the default run
// holds only 5 sweeps (~100 s) and its thresholds are wide; -chainfull runs
// 40 sweeps of every design (hours) and logs the rates.
//
// Asserted (default run):
//   - with 3 seeds every lead–lag verdict is "insufficient seeds (need 6)";
//   - null sweeps (an unrelated and a shared-mean internal curve, task
//     drifting with width): at most 1 of the 3 has a coupled, directional or
//     coincides verdict (if the per-sweep rate were 5 %, P(≥ 2 of 3) =
//     0.007, binomial);
//   - at 10 seeds on the new demo's 29-checkpoint grid the tied curves (2
//     leading by 0.1 decade, 2 with no lag) are coupled in ≥ 80 % of cases
//     (4 curves of one sweep: so all 4; measured 4/4 on two other seed
//     sets). On the 16-checkpoint grid it is logged, not asserted: measured
//     4/4 and 2/4 on two seed sets — the curve test misses part of the sharp
//     internal jumps there (a jump inside one 0.18-decade interval).
func TestChainCalibrated(t *testing.T) {
	need := fmt.Sprintf("insufficient seeds (need %d)", transition.MinSeedsFor(DefaultDecisionConfig().Alpha))
	nullKinds2 := []string{kindUnrelated, kindShared}
	tiedKinds4 := []string{kindLead, kindLead, kindZero, kindZero}
	type design struct {
		spec         calSpec
		sweeps, full int
	}
	designs := []design{
		{calSpec{"demo", gridDemo, 3, nullKinds2, true}, 2, 40},
		{calSpec{"demo", gridDemo, 10, nullKinds2, true}, 1, 40},
		{calSpec{"demo", gridDemo, 10, tiedKinds4, true}, 1, 40},
		{calSpec{"log32", gridLog32, 10, tiedKinds4, true}, 1, 40},
		{calSpec{"log32", gridLog32, 10, nullKinds2, true}, 0, 40},
		{calSpec{"log32", gridLog32, 6, tiedKinds4, true}, 0, 40},
		{calSpec{"log32", gridLog32, 3, nullKinds2, true}, 0, 40},
	}
	var nullSweeps, nullClaims, tied, tiedCoupled int
	for d, ds := range designs {
		n := ds.sweeps
		if *chainFull {
			n = min(ds.full, *chainSweeps)
		}
		if n == 0 {
			continue
		}
		var cnt calCounts
		t0 := time.Now()
		for i := range n {
			r, err := simulateCalibratedSweep(ds.spec, rand.New(rand.NewPCG(chainSeed(300+uint64(d)), uint64(i))))
			if err != nil {
				t.Fatal(err)
			}
			cnt.add(ds.spec, r, need)
		}
		t.Logf("%s grid, %d seeds, kinds %v: %v (%.1f s)", ds.spec.grid, ds.spec.seeds, ds.spec.kinds, cnt, time.Since(t0).Seconds())
		if ds.spec.seeds < 6 && cnt.rowsInsufficient != cnt.rows {
			t.Errorf("%s grid, %d seeds: %d/%d lead–lag verdicts are %q, want all", ds.spec.grid, ds.spec.seeds, cnt.rowsInsufficient, cnt.rows, need)
		}
		if cnt.tied == 0 {
			nullSweeps += cnt.sweeps
			nullClaims += cnt.sweepsWithClaim
		} else if ds.spec.seeds == 10 && ds.spec.grid == "log32" {
			tied += cnt.tied
			tiedCoupled += cnt.tiedCoupled
		}
	}
	t.Logf("null sweeps with a claim %d/%d; tied curves coupled at 10 seeds on the 29-checkpoint grid %d/%d", nullClaims, nullSweeps, tiedCoupled, tied)
	maxClaims := 1
	if *chainFull {
		maxClaims = int(math.Floor(float64(nullSweeps) * (0.05 + 2*math.Sqrt(0.05*0.95/float64(nullSweeps)))))
	}
	if nullClaims > maxClaims {
		t.Errorf("null sweeps with a coupled, directional or coincides verdict: %d/%d, want ≤ %d", nullClaims, nullSweeps, maxClaims)
	}
	if r := float64(tiedCoupled) / float64(max(tied, 1)); r < 0.8 {
		t.Errorf("tied curves coupled at 10 seeds, 29-checkpoint grid: %d/%d = %.3f, want ≥ 0.8", tiedCoupled, tied, r)
	}
}
