package analysis

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/transition"
)

// curveResult is the transition test of one curve, kept for the verdicts.
type curveResult struct {
	key    curveKey
	x, y   []float64 // the finite checkpoints, x = log10(step+1)
	test   transition.CurveTest
	err    error
	q      float64 // BH q over every tested curve of the sweep
	abrupt bool    // q ≤ the FDR level
	main   int     // index into test.Jumps of the curve's onset jump, -1 if none (see mainJump)
	change float64 // change point in mean (x units; see changeNear), NaN if none
	warm   float64 // x below which a jump is in the warm-up (−Inf without warm-up)
}

// onsetOf returns the curve's onset under an onset definition, NaN when it has no transition.
func (r *curveResult) onsetOf(def string) float64 {
	if r == nil || !r.abrupt || r.main < 0 {
		return math.NaN()
	}
	j := r.test.Jumps[r.main]
	switch def {
	case onsetMid:
		return j.Mid
	case onset10:
		return j.Onset10
	case onsetChange:
		return r.change
	}
	panic("analysis: unknown onset definition " + def)
}

// Onset definitions: which point of a transition is its onset. Lead–lag verdicts are computed
// under each and called robust only when they agree.
const (
	onsetMid    = "midpoint"
	onset10     = "10% point"
	onsetChange = "change point"
)

var onsetDefs = []string{onsetMid, onset10, onsetChange}

// mainJump picks the jump that stands for a curve's transition: among the jumps outside the
// learning-rate warm-up, those significant on their own (P ≤ alpha) first, then the largest |size|
// (-1 when every jump is in the warm-up, none is significant on its own, or there is none). The choice looks only at the curve
// itself, never at the task onset it will be compared with: picking the jump nearest the task onset
// would manufacture coupling out of chance.
func mainJump(js []transition.Jump, alpha float64) int {
	best := -1
	for i, j := range js {
		if j.InWarmup {
			continue
		}
		if best < 0 {
			best = i
			continue
		}
		b := js[best]
		if sig, bsig := j.P <= alpha, b.P <= alpha; sig != bsig {
			if sig {
				best = i
			}
			continue
		}
		if math.Abs(j.Size) > math.Abs(b.Size) {
			best = i
		}
	}
	if best >= 0 && !(js[best].P <= alpha) {
		return -1 // no jump outside the warm-up is significant on its own: no onset to stand for the curve
	}
	return best
}

// changeNear returns the change point that stands for the curve's onset under the "change point"
// definition: the most significant single change in mean (transition.MostSignificantChange, ≥ 2
// points a side) of the stretch of the curve that belongs to its onset jump — after the warm-up
// (r.warm) and between the midpoints that separate the onset jump from its neighbours in the
// two-jump fit — so that the third onset definition measures the same transition as the other two,
// not a warm-up move or the other jump of a two-phase curve. A curve with no onset jump is searched
// whole after the warm-up. NaN when the stretch has fewer than 4 points or the test failed.
func changeNear(r *curveResult) float64 {
	if r.err != nil || len(r.x) == 0 {
		return math.NaN()
	}
	lo, hi := r.warm, math.Inf(1)
	if r.main >= 0 {
		js := r.test.Jumps
		if m := r.main; m > 0 {
			lo = math.Max(lo, 0.5*(js[m-1].Mid+js[m].Mid))
		}
		if m := r.main; m+1 < len(js) {
			hi = 0.5 * (js[m].Mid + js[m+1].Mid)
		}
	}
	first, last := -1, -1
	for i, xi := range r.x {
		if xi >= lo && xi <= hi {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	if first < 0 || last-first+1 < 4 {
		return math.NaN()
	}
	ch, err := transition.MostSignificantChange(r.y[first:last+1], 2)
	if err != nil {
		return math.NaN()
	}
	return r.x[first+ch.Index]
}

// testCurves runs transition.TestCurve on every curve with enough finite checkpoints, on each
// cell's own checkpoint grid and learning-rate schedule, jobs curves at a time. Each curve draws
// from its own random stream (the analysis seed and the curve's name), so results do not depend on
// scheduling. Then it adds BH q-values over every tested curve and decides which are abrupt.
func testCurves(ctx context.Context, cs *curves, opt Options) (map[curveKey]*curveResult, error) {
	keys := cs.sortedKeys()
	res := make([]*curveResult, len(keys))
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	cfg := transition.DefaultCurveConfig()
	cfg.MaxReplicates = opt.Replicates
	workers := min(opt.Jobs, len(keys), 4*runtime.NumCPU()) // no more workers than curves or than the machine can use
	for range workers {
		wg.Go(func() {
			for i := range work {
				k := keys[i]
				c := cs.byKey[k]
				r := &curveResult{key: k, main: -1, change: math.NaN(), q: math.NaN()}
				var steps []int64
				r.x, r.y, steps = c.finite()
				sch := transition.Schedule{}
				if s := cs.schedules[k.cell]; s != nil {
					sch.CumLR = s.CumulativeTo(nil, steps)
					sch.Warmup = s.WarmupSteps
				}
				rng := rand.New(rand.NewPCG(opt.Seed, streamSeed(k.String())))
				r.test, r.err = transition.TestCurve(r.x, r.y, sch, cfg, rng)
				r.warm = math.Inf(-1)
				if sch.Warmup > 0 {
					r.warm = math.Log10(float64(sch.Warmup)+1) + cfg.WarmupMargin
				}
				res[i] = r
				if opt.CurveProgress != nil {
					mu.Lock()
					done++
					opt.CurveProgress(done, len(keys))
					mu.Unlock()
				}
			}
		})
	}
	for i := range keys {
		if ctx.Err() != nil {
			break
		}
		work <- i
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The FDR step runs within each kind of curve (task scorings, internal measures, controls), so
	// the few task curves a verdict rests on are not diluted by the many internal ones.
	q := make([]float64, len(res))
	for _, kind := range []string{data.KindTask, data.KindInternal, data.KindControl} {
		var idx []int
		var p []float64
		for i, r := range res {
			if r.key.series.Kind == kind && r.err == nil {
				idx, p = append(idx, i), append(p, r.test.P)
			}
		}
		for j, v := range transition.BHTo(nil, p) {
			q[idx[j]] = v
		}
	}
	out := make(map[curveKey]*curveResult, len(res))
	for i, r := range res {
		r.q = math.NaN()
		if r.err == nil {
			r.q = q[i]
			r.abrupt = r.q <= opt.Decisions.FDRLevel
			if r.abrupt {
				r.main = mainJump(r.test.Jumps, opt.Decisions.Alpha)
			}
		}
		r.change = changeNear(r)
		out[r.key] = r
	}
	return out, nil
}

// transitionRows turns the curve tests into the transitions and jumps tables, in curve order.
func transitionRows(cs *curves, res map[curveKey]*curveResult, opt Options) ([]data.TransitionRow, []data.JumpRow) {
	var trans []data.TransitionRow
	var jumps []data.JumpRow
	for _, k := range cs.sortedKeys() {
		r := res[k]
		c := cs.byKey[k]
		row := data.TransitionRow{Coords: c.coords, Series: c.series, Points: int32(len(r.x)), ChangeStep: data.F(stepOf(r.change))}
		if r.err != nil {
			row.Reason = "not tested: " + r.err.Error()
			trans = append(trans, row)
			continue
		}
		t := r.test
		row.P, row.Q, row.Stat = data.F(t.P), data.F(r.q), data.F(t.Stat)
		row.Null, row.NoiseSD, row.NoiseAR1, row.Replicates = t.Null, data.F(t.Sigma), data.F(t.Phi), int32(t.Replicates)
		row.Abrupt = r.abrupt
		// Every jump of an abrupt curve, and the candidate jumps of every task curve (where the jump
		// model puts them, whatever their p): `phaseprobe zoom --window auto` zooms into those, so a
		// jump the coarse grid could not resolve gets the checkpoints to be resolved.
		if r.abrupt || c.series.Kind == data.KindTask {
			row.Jumps = int32(len(t.Jumps))
			for i, j := range t.Jumps {
				jumps = append(jumps, data.JumpRow{Coords: c.coords, Series: c.series, Jump: int32(i), MidStep: stepOf(j.Mid),
					Onset10: stepOf(j.Onset10), Onset90: stepOf(j.Onset90), Width: j.Width, Lo: j.Lo, Hi: j.Hi, Size: j.Size,
					P: data.F(j.P), InWarmup: j.InWarmup})
			}
		}
		m := r.main
		if r.abrupt && m < 0 && len(t.Jumps) > 0 {
			m = 0 // every jump is in the warm-up: describe the first, flagged
			row.InWarmup = true
		}
		if r.abrupt && m >= 0 {
			j := t.Jumps[m]
			row.MidStep, row.Onset10, row.Onset90 = data.F(stepOf(j.Mid)), data.F(stepOf(j.Onset10)), data.F(stepOf(j.Onset90))
			row.Width, row.Lo, row.Hi, row.Size = data.F(j.Width), data.F(j.Lo), data.F(j.Hi), data.F(j.Size)
			row.InWarmup = row.InWarmup || j.InWarmup
		}
		switch {
		case r.abrupt && row.InWarmup:
			row.Reason = "abrupt, but every jump lies in the learning-rate warm-up"
		case r.abrupt:
			row.Reason = "abrupt: q ≤ FDR level against smooth nulls on the run's grid"
		case t.P <= opt.Decisions.Alpha:
			row.Reason = "p ≤ α but not after FDR over the sweep's curves"
		default:
			row.Reason = "smooth: no jump beyond the best smooth null (" + t.Null + ")"
		}
		trans = append(trans, row)
	}
	return trans, jumps
}
