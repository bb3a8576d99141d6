package analysis

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/internal/nanstat"
	"github.com/phaseprobe/phaseprobe/transition"
)

// Readings of one scoring across exact match's jump window (MirageRow.Reading).
const (
	readJumps        = "jumps with exact match"
	readSmooth       = "smooth across the jump"
	readUndetermined = "undetermined"
)

// continuousScorings are the task metrics that score the same outputs and are not
// all-or-nothing (not MetricInfo.Discrete), in the vocabulary's order, which is the order the
// mirage table lists them; position_accuracy has one row per answer position.
var continuousScorings = func() []string {
	var out []string
	for _, m := range data.MetricNames(data.KindTask) {
		if info, _ := data.LookupMetric(m); !info.Discrete {
			out = append(out, m)
		}
	}
	return out
}()

// mirageAtJump asks, per shape, of every continuous scoring of the same outputs whether it jumps
// across the window where exact match rises from 10 % to 90 % of its range (transition.TestWindow
// in each seed that learns the task). Seeds are combined by Fisher's method (independent seeds); a scoring
// is "smooth across the jump" only when every such seed shows it smooth (an intersection–union
// test); BH runs over all rows of the table. Exact match's own row carries Schaeffer et al.'s
// predictions: its distance from the product of per-position accuracies and from p̄^L across the
// window.
func mirageAtJump(cs *curves, classes map[string]cellClass, split string, opt Options) []data.MirageRow {
	byShape := map[shapeKey]map[scoring]*scoringEvidence{}
	for _, cell := range sortedCells(cs) {
		// Every cell that learns is asked, whether or not its exact match passes the curve test
		// (a rise that a researcher reads as a jump deserves the question too); the task_jump
		// verdict says separately whether it is abrupt.
		if classes[cell].learned {
			windowTests(byShape, cs, cell, split, opt)
		}
	}
	out := mirageRows(byShape, cs.sweep, split)
	mirageReadings(out, opt.Decisions.FDRLevel)
	return out
}

// scoring is one row's scoring of the mirage table: a task metric at an answer position (data.NA
// for a whole-answer metric).
type scoring struct {
	metric string
	pos    int32
}

// scoringEvidence gathers a scoring's window tests over a shape's seeds.
type scoringEvidence struct {
	seeds                 int
	p, pX, pU             []float64 // the seeds' window-test p, and its parts on log step and on log η
	excess, frac          []float64
	upper                 float64
	jumpSeeds, smoothSeed int
	lo, hi                []float64
	indep, power          []float64
}

// windowTests adds one learning cell's evidence to its shape's: exact match's jump window and
// Schaeffer et al.'s gaps, and the window test of every continuous scoring. A cell whose exact
// match has no jump window adds nothing.
func windowTests(byShape map[shapeKey]map[scoring]*scoringEvidence, cs *curves, cell, split string, opt Options) {
	shape := shapeOf(cs.cells[cell])
	em := cs.get(cell, taskSeries(split, data.MetricExactMatch))
	x, y, _ := em.finite()
	lo, hi, err := transition.JumpWindow(x, y, transition.Increasing)
	if err != nil {
		return
	}
	if byShape[shape] == nil {
		byShape[shape] = map[scoring]*scoringEvidence{}
	}
	get := func(s scoring) *scoringEvidence {
		a := byShape[shape][s]
		if a == nil {
			a = &scoringEvidence{}
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
	cfg := transition.DefaultWindowConfig()
	for k, c := range cs.byKey {
		if k.cell != cell || c.series.Kind != data.KindTask || c.series.Split != split || !slices.Contains(continuousScorings, c.series.Metric) {
			continue
		}
		if oneToken && sameAsExactMatch[c.series.Metric] {
			continue
		}
		a := get(scoring{c.series.Metric, c.series.Position})
		a.seeds++
		a.lo, a.hi = append(a.lo, stepOf(lo)), append(a.hi, stepOf(hi))
		cx, cy, steps := c.finite()
		// The window test asks on log step and on the log cumulative learning rate, so a scoring
		// that changes smoothly with the schedule (the bend at a warm-up's end) is no jump.
		var u []float64
		if sch := cs.schedules[cell]; sch != nil {
			if ax, ok := transition.CumLRAxis(sch.CumulativeTo(nil, steps)); ok {
				u = ax
			}
		}
		rng := rand.New(rand.NewPCG(opt.Seed, streamSeed("window|"+k.String())))
		w, err := transition.TestWindowAxes(cx, u, cy, lo, hi, cfg, rng)
		if err != nil {
			continue
		}
		a.p, a.pX = append(a.p, w.P), append(a.pX, w.PLogStep)
		if !math.IsNaN(w.PCumLR) {
			a.pU = append(a.pU, w.PCumLR)
		}
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

// mirageRows turns the evidence into the mirage table's rows, shapes in compareShapes order and
// scorings in the table's order, before the FDR step.
func mirageRows(byShape map[shapeKey]map[scoring]*scoringEvidence, sweep, split string) []data.MirageRow {
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
			row := data.MirageRow{Sweep: sweep, Task: shape.task, DModel: shape.dModel, NLayers: shape.nLayers, NHeads: shape.nHeads,
				Split: split, Metric: s.metric, Position: s.pos, Discrete: isDiscrete(s.metric), Seeds: int32(a.seeds),
				WindowLo: data.F(nanstat.Median(a.lo)), WindowHi: data.F(nanstat.Median(a.hi))}
			if row.Discrete {
				row.IndepGap, row.PowerGap = data.F(nanstat.Mean(a.indep)), data.F(nanstat.Mean(a.power))
				row.Reading = "the jump (all-or-nothing scoring)"
				out = append(out, row)
				continue
			}
			row.Excess, row.ExcessFrac = data.F(nanstat.Median(a.excess)), data.F(nanstat.Median(a.frac))
			if len(a.p) > 0 {
				row.ExcessUpper = data.F(a.upper)
				row.P = data.F(fisherCombine(a.p))
				row.PLogStep = data.F(fisherCombine(a.pX))
				if len(a.pU) > 0 {
					row.PCumLR = data.F(fisherCombine(a.pU))
				}
			}
			row.JumpSeeds, row.SmoothSeeds = int32(a.jumpSeeds), int32(a.smoothSeed)
			out = append(out, row)
		}
	}
	return out
}

// mirageReadings runs BH over every window test of the table and sets each continuous scoring's
// reading: jumps (q ≤ fdr), smooth (every seed shown smooth) or undetermined.
func mirageReadings(out []data.MirageRow, fdr float64) {
	p := make([]float64, len(out))
	for i, r := range out {
		p[i] = data.Float(r.P)
	}
	q := transition.BHTo(nil, p)
	for i := range out {
		r := &out[i]
		if r.Discrete {
			continue
		}
		r.Q = data.F(q[i])
		switch {
		case r.Q != nil && *r.Q <= fdr:
			r.Reading = readJumps
		case r.P != nil && r.SmoothSeeds == r.Seeds && r.Seeds > 0:
			r.Reading = readSmooth
		default:
			r.Reading = readUndetermined
		}
	}
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
	return nanstat.Mean(gi), nanstat.Mean(gp), true
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

// isDiscrete reports whether a task metric moves in whole steps by construction
// (MetricInfo.Discrete): exact match, the all-or-nothing scoring.
func isDiscrete(metric string) bool {
	info, _ := data.LookupMetric(metric)
	return info.Discrete
}

// scoringIndex orders the rows of the mirage table: exact match, then continuousScorings, then
// any other name.
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
