package analysis

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/transition"
)

// Readings of one scoring across exact match's jump window (MirageRow.Reading).
const (
	readJumps        = "jumps with exact match"
	readSmooth       = "smooth across the jump"
	readUndetermined = "undetermined"
)

// continuousScorings are the scorings of the same outputs that are not all-or-nothing, in the
// order the mirage table lists them; position_accuracy has one row per answer position.
var continuousScorings = []string{data.MetricTokenAccuracy, data.MetricPositionAccuracy, data.MetricLogprob, data.MetricBrier, data.MetricEditDistance, data.MetricLoss}

// cellClass is what a cell's primary task curve (exact match on the primary split) says about it.
type cellClass struct {
	learned      bool    // final exact match ≥ Decisions.Learned: the cell has the capability
	neverLearned bool    // final exact match < Decisions.NeverLearned: a baseline for specificity
	jump         bool    // learned, and exact match is abrupt with a rising jump: the capability jump
	smallJump    bool    // exact match is abrupt with a rising jump but the cell does not learn
	final        float64 // final exact match
	onset        *curveResult
	jumpIdx      int // index into onset.test.Jumps of the capability jump
}

// taskOnset is the cell's capability-jump onset under an onset definition (NaN without a jump).
func (c cellClass) taskOnset(def string) float64 {
	if !c.jump {
		return math.NaN()
	}
	j := c.onset.test.Jumps[c.jumpIdx]
	switch def {
	case onsetMid:
		return j.Mid
	case onset10:
		return j.Onset10
	}
	return c.onset.change
}

// capabilityJump picks the jump of an exact-match curve that stands for the capability: a rising
// jump outside the warm-up, those significant on their own first, then the largest; -1 if none.
func capabilityJump(js []transition.Jump, alpha float64) int {
	rising := make([]transition.Jump, len(js))
	for i, j := range js {
		rising[i] = j
		if j.Size <= 0 {
			rising[i].InWarmup = true // excluded, as mainJump skips warm-up jumps
		}
	}
	return mainJump(rising, alpha)
}

// classifyCells reads each cell's exact match on the primary split. A cell has the capability jump
// when it learns the task (final exact match ≥ Learned: a 1-layer control that rises 0.02 → 0.10
// has none) and its exact match is abrupt (q ≤ the FDR level) with a rising jump; the onset is that
// jump's.
func classifyCells(cs *curves, res map[curveKey]*curveResult, split string, d Decisions) map[string]cellClass {
	out := map[string]cellClass{}
	for cell := range cs.cells {
		c := cs.get(cell, taskSeries(split, data.MetricExactMatch))
		if c == nil {
			continue
		}
		cl := cellClass{final: c.last(), jumpIdx: -1}
		cl.learned = cl.final >= d.Learned
		cl.neverLearned = cl.final < d.NeverLearned
		r := res[curveKey{cell, c.series}]
		if r != nil && r.abrupt {
			if k := capabilityJump(r.test.Jumps, d.Alpha); k >= 0 {
				cl.onset, cl.jumpIdx = r, k
				cl.jump = cl.learned
				cl.smallJump = !cl.learned
			}
		}
		out[cell] = cl
	}
	return out
}

// mirageAtJump asks, per shape, of every continuous scoring of the same outputs whether it jumps
// across the window where exact match rises from 10 % to 90 % of its range (transition.TestWindow
// in each seed that learns the task). Seeds are combined by Fisher's method (independent seeds); a scoring
// is "smooth across the jump" only when every such seed shows it smooth (an intersection–union
// test); BH runs over all rows of the table. Exact match's own row carries Schaeffer et al.'s
// predictions: its distance from the product of per-position accuracies and from p̄^L across the
// window.
func mirageAtJump(cs *curves, classes map[string]cellClass, split string, opt Options) []data.MirageRow {
	type scoring struct {
		metric string
		pos    int32
	}
	type acc struct {
		seeds                 int
		p                     []float64
		excess, frac          []float64
		upper                 float64
		jumpSeeds, smoothSeed int
		lo, hi                []float64
		indep, power          []float64
	}
	byShape := map[shapeKey]map[scoring]*acc{}
	cfg := transition.DefaultWindowConfig()
	for _, cell := range sortedCells(cs) {
		// Every cell that learns is asked, whether or not its exact match passes the curve test
		// (a rise that a researcher reads as a jump deserves the question too); the task_jump
		// verdict says separately whether it is abrupt.
		if !classes[cell].learned {
			continue
		}
		shape := shapeOf(cs.cells[cell])
		em := cs.get(cell, taskSeries(split, data.MetricExactMatch))
		x, y, _ := em.finite()
		lo, hi, err := transition.JumpWindow(x, y, transition.Increasing)
		if err != nil {
			continue
		}
		if byShape[shape] == nil {
			byShape[shape] = map[scoring]*acc{}
		}
		get := func(s scoring) *acc {
			a := byShape[shape][s]
			if a == nil {
				a = &acc{}
				byShape[shape][s] = a
			}
			return a
		}
		// With a one-token answer exact match is all-or-nothing over a single token: token accuracy,
		// that position's accuracy and edit distance are exact match itself (or 1 − it), so only the
		// genuinely continuous scorings (log-probability, Brier, loss) can speak to the mirage.
		oneToken := answerPositions(cs, cell, split) == 1
		e := get(scoring{data.MetricExactMatch, data.NA})
		e.seeds++
		e.lo, e.hi = append(e.lo, stepOf(lo)), append(e.hi, stepOf(hi))
		if g, pw, ok := schaefferGaps(cs, cell, split, lo, hi); ok {
			e.indep, e.power = append(e.indep, g), append(e.power, pw)
		}
		for k, c := range cs.byKey {
			if k.cell != cell || c.series.Kind != data.KindTask || c.series.Split != split || !slices.Contains(continuousScorings, c.series.Metric) {
				continue
			}
			if oneToken && sameAsExactMatch[c.series.Metric] {
				continue
			}
			s := scoring{c.series.Metric, c.series.Position}
			a := get(s)
			a.seeds++
			a.lo, a.hi = append(a.lo, stepOf(lo)), append(a.hi, stepOf(hi))
			cx, cy, _ := c.finite()
			rng := rand.New(rand.NewPCG(opt.Seed, streamSeed("window|"+k.String())))
			w, err := transition.TestWindow(cx, cy, lo, hi, cfg, rng)
			if err != nil {
				continue
			}
			a.p = append(a.p, w.P)
			a.excess, a.frac = append(a.excess, w.Jump), append(a.frac, w.RelJump)
			a.upper = math.Max(a.upper, math.Max(math.Abs(w.RelLow), math.Abs(w.RelHigh)))
			if w.P <= opt.Decisions.Alpha {
				a.jumpSeeds++
			}
			if w.ShownSmooth {
				a.smoothSeed++
			}
		}
	}
	var out []data.MirageRow
	shapes := make([]shapeKey, 0, len(byShape))
	for s := range byShape {
		shapes = append(shapes, s)
	}
	slices.SortFunc(shapes, compareShapes)
	for _, shape := range shapes {
		scs := make([]scoring, 0, len(byShape[shape]))
		for s := range byShape[shape] {
			scs = append(scs, s)
		}
		slices.SortFunc(scs, func(a, b scoring) int {
			ia, ib := scoringIndex(a.metric), scoringIndex(b.metric)
			return cmp.Or(cmp.Compare(ia, ib), cmp.Compare(a.pos, b.pos))
		})
		for _, s := range scs {
			a := byShape[shape][s]
			row := data.MirageRow{Sweep: cs.sweep, Task: shape.task, DModel: shape.dModel, NLayers: shape.nLayers, NHeads: shape.nHeads,
				Split: split, Metric: s.metric, Position: s.pos, Discrete: s.metric == data.MetricExactMatch, Seeds: int32(a.seeds),
				WindowLo: data.F(median(a.lo)), WindowHi: data.F(median(a.hi))}
			if row.Discrete {
				row.IndepGap, row.PowerGap = data.F(mean(a.indep)), data.F(mean(a.power))
				row.Reading = "the jump (all-or-nothing scoring)"
				out = append(out, row)
				continue
			}
			row.Excess, row.ExcessFrac = data.F(median(a.excess)), data.F(median(a.frac))
			if len(a.p) > 0 {
				row.ExcessUpper = data.F(a.upper)
				row.P = data.F(fisherCombine(a.p))
			}
			row.JumpSeeds, row.SmoothSeeds = int32(a.jumpSeeds), int32(a.smoothSeed)
			out = append(out, row)
		}
	}
	// BH over every window test of the table, then the readings.
	p := make([]float64, len(out))
	for i, r := range out {
		p[i] = deref(r.P)
	}
	q := transition.BHTo(nil, p)
	for i := range out {
		r := &out[i]
		if r.Discrete {
			continue
		}
		r.Q = data.F(q[i])
		switch {
		case r.Q != nil && *r.Q <= opt.Decisions.FDRLevel:
			r.Reading = readJumps
		case r.P != nil && r.SmoothSeeds == r.Seeds && r.Seeds > 0:
			r.Reading = readSmooth
		default:
			r.Reading = readUndetermined
		}
	}
	return out
}

// sameAsExactMatch are the scorings that, for a one-token answer, are exact match itself or an
// affine function of it.
var sameAsExactMatch = map[string]bool{data.MetricTokenAccuracy: true, data.MetricPositionAccuracy: true, data.MetricEditDistance: true}

// answerPositions returns how many answer positions a cell's position_accuracy curves cover on
// split (0 when it has none).
func answerPositions(cs *curves, cell, split string) int {
	n := 0
	for k, c := range cs.byKey {
		if k.cell == cell && c.series.Kind == data.KindTask && c.series.Split == split && c.series.Metric == data.MetricPositionAccuracy {
			n++
		}
	}
	return n
}

// schaefferGaps are the mean |EM − Π_j p_j| and |EM − p̄^L| over the checkpoints in [lo, hi] of a
// cell (Schaeffer et al. 2023, §2: exact match over an L-token answer is p^L when tokens are right
// independently with probability p). ok is false when the cell has no per-position accuracies.
func schaefferGaps(cs *curves, cell, split string, lo, hi float64) (indep, power float64, ok bool) {
	em := cs.get(cell, taskSeries(split, data.MetricExactMatch))
	tok := cs.get(cell, taskSeries(split, data.MetricTokenAccuracy))
	var pos [][]float64
	for j := int32(0); ; j++ {
		s := taskSeries(split, data.MetricPositionAccuracy)
		s.Position = j
		c := cs.get(cell, s)
		if c == nil || len(c.values) != len(em.values) {
			break
		}
		pos = append(pos, c.values)
	}
	if len(pos) == 0 || tok == nil || len(tok.values) != len(em.values) {
		return 0, 0, false
	}
	var gi, gp []float64
	L := float64(len(pos))
	for t, s := range em.steps {
		x := logStep(s)
		if x < lo || x > hi {
			continue
		}
		prod := 1.0
		for j := range pos {
			prod *= pos[j][t]
		}
		gi = append(gi, math.Abs(em.values[t]-prod))
		gp = append(gp, math.Abs(em.values[t]-math.Pow(tok.values[t], L)))
	}
	if len(gi) == 0 {
		return 0, 0, false
	}
	return mean(gi), mean(gp), true
}

// fisherCombine is Fisher's method: X = −2 Σ ln p_i is χ² with 2k degrees of freedom when the k
// p-values are independent and uniform under the null (Fisher 1932, §21.1).
func fisherCombine(p []float64) float64 {
	var x float64
	for _, v := range p {
		x -= 2 * math.Log(math.Max(v, 1e-300))
	}
	return distuv.ChiSquared{K: float64(2 * len(p))}.Survival(x)
}

func scoringIndex(m string) int {
	if m == data.MetricExactMatch {
		return -1
	}
	if i := slices.Index(continuousScorings, m); i >= 0 {
		return i
	}
	return len(continuousScorings)
}

// sortedCells returns the cell IDs in order.
func sortedCells(cs *curves) []string {
	cells := make([]string, 0, len(cs.cells))
	for c := range cs.cells {
		cells = append(cells, c)
	}
	slices.Sort(cells)
	return cells
}

func deref(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// mirageVerdict reduces a shape's mirage rows to its verdict: a genuine jump when any continuous
// scoring jumps with exact match, a scoring artefact only when every one is shown smooth across the
// window, undetermined otherwise.
func mirageVerdict(rows []data.MirageRow) (verdict, reason string) {
	var jumps, smooth, other []string
	for _, r := range rows {
		if r.Discrete {
			continue
		}
		name := r.Metric
		if r.Position != data.NA {
			name = fmt.Sprintf("%s[%d]", r.Metric, r.Position)
		}
		switch r.Reading {
		case readJumps:
			jumps = append(jumps, name)
		case readSmooth:
			smooth = append(smooth, name)
		default:
			other = append(other, name)
		}
	}
	note := ""
	if !slices.ContainsFunc(rows, func(r data.MirageRow) bool { return sameAsExactMatch[r.Metric] }) &&
		slices.ContainsFunc(rows, func(r data.MirageRow) bool { return !r.Discrete }) {
		note = " (a one-token answer: token and position accuracy and edit distance are exact match itself and are not asked)"
	}
	switch {
	case len(jumps) > 0:
		verdict, reason = verdictGenuine, "continuous scorings that jump with exact match (q ≤ FDR): "+joinNames(jumps)
	case len(smooth) > 0 && len(other) == 0:
		verdict, reason = verdictMirage, "every continuous scoring is shown smooth across exact match's jump window: "+joinNames(smooth)
	case len(smooth)+len(other) == 0:
		verdict, reason = verdictUndetermined, "no continuous scoring could be tested across the window"
	default:
		verdict, reason = verdictUndetermined, "neither shown smooth nor shown to jump: "+joinNames(other)
	}
	return verdict, reason + note
}
