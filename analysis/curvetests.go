package analysis

import (
	"context"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/internal/pool"
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

// testCurve runs transition.TestCurve on one curve's finite checkpoints, on its cell's checkpoint
// grid and learning-rate schedule, drawing from the curve's own random stream (the analysis seed
// and the curve's name).
func testCurve(cs *curves, k curveKey, cfg transition.CurveConfig, seed uint64) *curveResult {
	c := cs.byKey[k]
	r := &curveResult{key: k, main: -1, change: math.NaN(), q: math.NaN()}
	var steps []int64
	r.x, r.y, steps = c.finite()
	sch := transition.Schedule{}
	if s := cs.schedules[k.cell]; s != nil {
		sch.CumLR = s.CumulativeTo(nil, steps)
		sch.Warmup = s.WarmupSteps
	}
	rng := rand.New(rand.NewPCG(seed, streamSeed(k.String())))
	cfg.Resolution = resolution(k.series.Metric, cs.examples[k.cell])
	r.test, r.err = transition.TestCurve(r.x, r.y, sch, cfg, rng)
	r.warm = math.Inf(-1)
	if sch.Warmup > 0 {
		r.warm = math.Log10(float64(sch.Warmup)+1) + cfg.WarmupMargin
	}
	return r
}

// testCurves runs transition.TestCurve on every curve with enough finite checkpoints, on each
// cell's own checkpoint grid and learning-rate schedule, jobs curves at a time. Each curve draws
// from its own random stream (the analysis seed and the curve's name), so results do not depend on
// scheduling. Then it adds BH q-values over every tested curve and decides which are abrupt.
func testCurves(ctx context.Context, cs *curves, opt Options) (map[curveKey]*curveResult, error) {
	keys := cs.sortedKeys()
	res := make([]*curveResult, len(keys))
	var mu sync.Mutex
	done := 0
	cfg := transition.DefaultCurveConfig()
	cfg.MaxReplicates = opt.Replicates
	workers := min(opt.Jobs, 4*runtime.NumCPU()) // no more workers than the machine can use
	if err := pool.Each(ctx, workers, keys, func(i int, k curveKey) error {
		res[i] = testCurve(cs, k, cfg, opt.Seed)
		if opt.CurveProgress != nil {
			mu.Lock()
			done++
			opt.CurveProgress(done, len(keys))
			mu.Unlock()
		}
		return nil
	}); err != nil {
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
