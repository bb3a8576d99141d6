package analysis

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/internal/nanstat"
	"github.com/phaseprobe/phaseprobe/transition"
)

// Verdict strings of the verdicts table.
const (
	verdictJumps        = "jumps"
	verdictSomeSeeds    = "jumps in some seeds"
	verdictNoJump       = "learned without a detected jump"
	verdictSmallRise    = "small rise only (not the capability)"
	verdictNeverLearns  = "never learns"
	verdictGenuine      = "genuine jump"
	verdictMirage       = "scoring artefact (mirage)"
	verdictUndetermined = "undetermined"
	verdictCeiling      = "control at ceiling (cannot calibrate the probe)"
)

// Decisions are the levels and thresholds every verdict is decided by: the one place where α and
// the FDR level are applied.
type Decisions struct {
	// DecisionConfig holds α (0.05, the level of a single test) and the Benjamini–Hochberg level
	// (0.05). The families of the FDR step are: the sweep's curves of one kind (task, internal,
	// control: is there a transition);
	// the mirage table; and, over the whole sweep, each verdict question (coupling, specificity,
	// lead–lag per onset definition, scale).
	DecisionConfig
	// Learned is the final exact match at or above which a cell has the capability (0.5): only
	// then is an abrupt rise of exact match the capability jump (a 1-layer control that rises
	// 0.02 → 0.10 has none). NeverLearned is the final exact match below which a cell never
	// learned (0.1), the baseline for specificity.
	Learned, NeverLearned float64
	// ControlCeiling is the control-task probe accuracy (median over checkpoints after step 0) at
	// which the control cannot calibrate a probe (0.95): any function of the current token is
	// decodable from a residual stream that holds its embedding.
	ControlCeiling float64
	// MinCells is the fewest paired cells a coupling test needs (6); MinWidths the fewest widths a
	// scale-axis verdict needs (5).
	MinCells, MinWidths int
}

// DefaultDecisions returns the levels and thresholds documented on Decisions.
func DefaultDecisions() Decisions {
	return Decisions{DecisionConfig: DefaultDecisionConfig(), Learned: 0.5, NeverLearned: 0.1, ControlCeiling: 0.95, MinCells: 6, MinWidths: 5}
}

// measureGroup is the group of near-identical measures a metric belongs to (MetricInfo.Group):
// one finding is not counted twice because effective rank and RankMe of one site move together.
// A metric in no group is its own.
func measureGroup(metric string) string {
	if info, ok := data.LookupMetric(metric); ok && info.Group != "" {
		return info.Group
	}
	return metric
}

// unitKey is what a coupling, specificity or lead–lag question is asked of: one measure group at
// one site, layer, head and concept.
type unitKey struct {
	split, site string
	layer, head int32
	concept     string
	group       string
}

func unitOf(s data.Series) unitKey {
	g := measureGroup(s.Metric)
	return unitKey{split: s.Split, site: s.Site, layer: s.Layer, head: s.Head, concept: s.Concept, group: g}
}

func compareUnits(a, b unitKey) int {
	return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.site, b.site), cmp.Compare(a.layer, b.layer), cmp.Compare(a.head, b.head),
		cmp.Compare(a.concept, b.concept), cmp.Compare(a.split, b.split))
}

// verdictTest is one p-value of a verdict row entering the scale family's BH step (coupling,
// specificity and lead–lag have their own families, in decideUnits).
type verdictTest struct {
	row int
	p   float64
}

// verdictBuilder collects the rows and their tests before the FDR step.
type verdictBuilder struct {
	rows  []data.VerdictRow
	tests []verdictTest
	// pending decisions, run after BH: row index → decide(q)
	decide map[int]func(q float64)
	sweep  string // the sweep's name, for every row
}

func (b *verdictBuilder) add(r data.VerdictRow) int {
	b.rows = append(b.rows, r)
	return len(b.rows) - 1
}

func (b *verdictBuilder) test(row int, p float64) {
	if !math.IsNaN(p) {
		b.tests = append(b.tests, verdictTest{row, p})
	}
}

// verdicts asks every question of the sweep and decides every verdict (see docs/inference.md):
// per shape the task jump and the mirage; per family of widths coupling, specificity and (per
// shape) lead–lag of every internal unit, then the scale axis; last the FDR step of each
// question's family.
func verdicts(cs *curves, res map[curveKey]*curveResult, classes map[string]cellClass, mir []data.MirageRow, split string, opt Options) []data.VerdictRow {
	b := &verdictBuilder{decide: map[int]func(q float64){}, sweep: cs.sweep}
	g := groupShapes(cs)
	for _, s := range g.shapes {
		learned, jumpSeeds := taskJumpRow(b, s, g.cells[s], classes, split, opt.Decisions)
		if learned > 0 {
			mirageRow(b, s, len(g.cells[s]), learned, jumpSeeds, mir)
		}
	}
	tol := checkpointTolerance(cs)
	var pend []*unitQuestions
	for _, f := range g.families {
		pend = append(pend, familyRows(b, cs, res, classes, g, f, split, tol, opt)...)
	}
	decideUnits(b, pend, opt.Decisions)
	b.decideScale()
	return b.rows
}

// sweepShapes are a sweep's model shapes and families of widths, each in a fixed order.
type sweepShapes struct {
	cells    map[shapeKey][]string    // the cells of each shape (its seeds), sorted
	shapes   []shapeKey               // compareShapes order
	byFamily map[familyKey][]shapeKey // the shapes of each family, in shapes order
	families []familyKey              // compareFamilies order
}

// groupShapes groups the sweep's cells by shape and the shapes by family.
func groupShapes(cs *curves) sweepShapes {
	g := sweepShapes{cells: map[shapeKey][]string{}, byFamily: map[familyKey][]shapeKey{}}
	for cell, c := range cs.cells {
		g.cells[shapeOf(c)] = append(g.cells[shapeOf(c)], cell)
	}
	for s := range g.cells {
		slices.Sort(g.cells[s])
		g.shapes = append(g.shapes, s)
	}
	slices.SortFunc(g.shapes, compareShapes)
	for _, s := range g.shapes {
		f := familyKey{s.task, s.nLayers, s.nHeads}
		g.byFamily[f] = append(g.byFamily[f], s)
	}
	for f := range g.byFamily {
		g.families = append(g.families, f)
	}
	slices.SortFunc(g.families, compareFamilies)
	return g
}

// base is a verdict row of shape s (width dModel, data.NA for a family) asking question q, about
// exact match unless the caller says otherwise.
func (b *verdictBuilder) base(s shapeKey, dModel int32, q string) data.VerdictRow {
	return data.VerdictRow{Sweep: b.sweep, Task: s.task, DModel: dModel, NLayers: s.nLayers, NHeads: s.nHeads, Question: q,
		Layer: data.NA, Head: data.NA, TaskMetric: data.MetricExactMatch}
}

// taskJumpRow adds the task_jump row of a shape from its cells' classes and returns how many of
// its seeds learn the task and how many have the capability jump.
func taskJumpRow(b *verdictBuilder, s shapeKey, cells []string, classes map[string]cellClass, split string, d Decisions) (learned, jumpSeeds int) {
	r := b.base(s, s.dModel, data.QuestionTaskJump)
	r.Subject, r.Metric, r.Seeds = "exact match ("+split+")", data.MetricExactMatch, int32(len(cells))
	var small, never, warm, diverged int
	var sizes, finals []float64
	for _, c := range cells {
		cl := classes[c]
		if cl.warmupJump && cl.learned {
			warm++
		}
		if cl.diverged {
			diverged++
		}
		finals = append(finals, cl.final)
		switch {
		case cl.jump:
			jumpSeeds++
			sizes = append(sizes, cl.onset.test.Jumps[cl.jumpIdx].Size)
		case cl.smallJump:
			small++
		}
		if cl.learned {
			learned++
		}
		if cl.neverLearned {
			never++
		}
	}
	r.Cells = int32(jumpSeeds)
	r.Method = "transition.TestCurve per seed (q ≤ FDR over the sweep's task curves); a rising jump in a seed that learns (final exact match ≥ Learned)"
	r.NullHyp = "exact match changes smoothly (line, power law, power-law-loss accuracy, relaxation in cumulative lr, wide sigmoid)"
	if len(sizes) > 0 {
		r.Effect, r.EffectLo, r.EffectHi = data.F(nanstat.Median(sizes)), data.F(slices.Min(sizes)), data.F(slices.Max(sizes))
	}
	switch {
	case jumpSeeds == len(cells):
		r.Verdict = verdictJumps
	case jumpSeeds > 0:
		r.Verdict = verdictSomeSeeds
	case never == len(cells):
		r.Verdict = verdictNeverLearns
	case diverged > 0 && learned == 0:
		r.Verdict = verdictUndetermined // a training failure is not a negative result
	case small > 0 && learned == 0:
		r.Verdict = verdictSmallRise
	case learned > 0 && warm > 0:
		r.Verdict = verdictUndetermined // a jump in the warm-up may be the schedule's: not "without a jump"
	case learned > 0:
		r.Verdict = verdictNoJump
	default:
		r.Verdict = verdictUndetermined
	}
	r.Reason = fmt.Sprintf("capability jump in %d of %d seeds (abrupt exact match in a seed that ends ≥ %.2g); final exact match %s", jumpSeeds, len(cells), d.Learned, rangeText(finals))
	if diverged > 0 {
		r.Reason += fmt.Sprintf("; training diverged in %d of %d seeds (not counted as never learning)", diverged, len(cells))
	}
	if warm > 0 {
		r.Reason += fmt.Sprintf("; in %d seeds that learn, exact match is abrupt but rises only during the learning-rate warm-up, where the schedule can make a jump: not assessed", warm)
	}
	if learned < len(cells) {
		r.Reason += fmt.Sprintf("; %d of %d seeds learn (final exact match ≥ %.2g)", learned, len(cells), d.Learned)
	}
	if jumpSeeds < len(cells) && learned > jumpSeeds {
		r.Reason += "; a seed without a detected jump is not shown to rise smoothly (the curve test's power in one seed is limited)"
	}
	b.add(r)
	return learned, jumpSeeds
}

// mirageRow adds the mirage row of a shape whose seeds learn the task (learned of seeds, jumpSeeds
// with the capability jump), reduced from the shape's rows of the mirage table; none when the
// table has none.
func mirageRow(b *verdictBuilder, s shapeKey, seeds, learned, jumpSeeds int, mir []data.MirageRow) {
	var rows []data.MirageRow
	for _, m := range mir {
		if m.Task == s.task && m.DModel == s.dModel && m.NLayers == s.nLayers && m.NHeads == s.nHeads {
			rows = append(rows, m)
		}
	}
	if len(rows) == 0 {
		return
	}
	mr := b.base(s, s.dModel, data.QuestionMirage)
	mr.Subject, mr.Metric, mr.Seeds, mr.Cells = "exact match's rise", data.MetricExactMatch, int32(seeds), int32(learned)
	mr.Method = "transition.TestWindow on every continuous scoring across exact match's jump window, seeds combined by Fisher's method, BH over the mirage table"
	mr.NullHyp = "the continuous scorings change smoothly (local quadratic) across the window"
	mr.Verdict, mr.Reason = mirageVerdict(rows)
	var minQ = math.NaN()
	for _, m := range rows {
		if m.Q != nil && (math.IsNaN(minQ) || *m.Q < minQ) {
			minQ = *m.Q
		}
		if m.Discrete {
			mr.Effect = m.IndepGap
			if m.IndepGap != nil {
				mr.Reason += fmt.Sprintf("; exact match is within %.3f of Π position accuracies and %.3f of p̄^L across the window (Schaeffer et al.'s prediction)", *m.IndepGap, data.Float(m.PowerGap))
			}
		}
	}
	if mr.Verdict == verdictGenuine {
		mr.Q = data.F(minQ) // the q of the scoring that jumps most clearly; no single q stands for the other readings
	}
	if jumpSeeds == 0 {
		mr.Reason += "; exact match's rise was not called abrupt outside the learning-rate warm-up in any seed (task_jump row)"
	}
	b.add(mr)
}

// familyRows asks the questions of one family of widths: coupling and specificity of every
// internal unit with a transition, lead–lag per shape (returned undecided, for the FDR step of
// decideUnits), then the scale axis.
func familyRows(b *verdictBuilder, cs *curves, res map[curveKey]*curveResult, classes map[string]cellClass, g sweepShapes, f familyKey,
	split string, tol float64, opt Options) []*unitQuestions {
	var jumpCells []string
	for _, s := range g.byFamily[f] {
		for _, c := range g.cells[s] {
			if classes[c].jump {
				jumpCells = append(jumpCells, c)
			}
		}
	}
	// The specificity baseline: every cell of the task that never learns, whatever its shape
	// (the 1-layer control is a baseline for the 2-layer family on the sites both have).
	var neverCells []string
	for _, c := range sortedCells(cs) {
		if cs.cells[c].Task == f.task && classes[c].neverLearned {
			neverCells = append(neverCells, c)
		}
	}
	fs := shapeKey{f.task, data.NA, f.nLayers, f.nHeads}
	var pend []*unitQuestions
	for _, u := range familyUnits(cs, f) {
		uq := askUnit(b, cs, res, classes, f, fs, u, g.byFamily[f], g.cells, jumpCells, neverCells, tol, opt)
		if uq != nil {
			pend = append(pend, uq)
		}
	}
	scaleRow(b, cs, g.byFamily[f], g.cells, fs, split, opt)
	return pend
}

// scaleRow asks the scale question of a family: "not assessed" below MinWidths widths, else the
// scale test of every task metric (scaleRows).
func scaleRow(b *verdictBuilder, cs *curves, shapes []shapeKey, cells map[shapeKey][]string, fs shapeKey, split string, opt Options) {
	d := opt.Decisions
	widths := map[int32]bool{}
	for _, s := range shapes {
		widths[s.dModel] = true
	}
	sr := b.base(fs, data.NA, data.QuestionScale)
	sr.Subject, sr.Metric, sr.Cells = "exact match and the continuous scorings over d_model", data.MetricExactMatch, int32(len(widths))
	if len(widths) < d.MinWidths {
		sr.Verdict = fmt.Sprintf("not assessed: %d widths (need %d)", len(widths), d.MinWidths)
		sr.Need = data.I(int32(d.MinWidths))
		sr.Reason = "with fewer widths a jump over width cannot be told from a smooth trend; BIG-bench linearity and breakthroughness are not reported as measures of suddenness"
		b.add(sr)
		return
	}
	scaleRows(b, cs, shapes, cells, split, sr, opt)
}

// decideScale runs the scale family's BH step over the tests of b and decides their rows.
func (b *verdictBuilder) decideScale() {
	p := make([]float64, len(b.tests))
	for i, t := range b.tests {
		p[i] = t.p
	}
	q := transition.BHTo(nil, p)
	for i, t := range b.tests {
		b.rows[t.row].Q = data.F(q[i])
		b.decide[t.row](q[i])
	}
}

// checkpointTolerance is the lead–lag equivalence margin: one checkpoint spacing on log10(step+1),
// the median over the sweep's curves (onsets are not resolved more finely than that).
func checkpointTolerance(cs *curves) float64 {
	var spacings []float64
	for _, c := range cs.byKey {
		if len(c.steps) > 2 {
			xs := make([]float64, len(c.steps))
			for i, s := range c.steps {
				xs[i] = logStep(s)
			}
			spacings = append(spacings, transition.CheckpointSpacing(xs))
		}
	}
	return nanstat.Median(spacings)
}

// controlAtCeiling reports whether the control-task probe of a probe unit is decoded at or above
// the ceiling (median over checkpoints after step 0, median over the learning cells).
func controlAtCeiling(cs *curves, cells []string, u unitKey, ceiling float64) bool {
	var meds []float64
	for _, cell := range cells {
		c := cs.get(cell, data.Series{Kind: data.KindControl, Split: u.split, Site: u.site, Layer: u.layer, Head: u.head, Position: data.NA, Concept: u.concept, Metric: data.MetricProbeControlAccuracy})
		if c == nil {
			continue
		}
		var v []float64
		for i, s := range c.steps {
			if s > 0 {
				v = append(v, c.values[i])
			}
		}
		meds = append(meds, nanstat.Median(v))
	}
	return len(meds) > 0 && nanstat.Median(meds) >= ceiling
}

// unitLabel names a unit in words: "rank (effective_rank, rankme, …) of blocks.0.hook_resid_post".
func unitLabel(u unitKey, metrics []string) string {
	var b strings.Builder
	if len(metrics) == 1 {
		b.WriteString(metrics[0])
	} else {
		b.WriteString(u.group + " (" + strings.Join(metrics, ", ") + ")")
	}
	if u.site != "" {
		b.WriteString(" of " + u.site)
	}
	if u.head != data.NA {
		fmt.Fprintf(&b, " L%dH%d", u.layer, u.head)
	} else if u.layer != data.NA {
		fmt.Fprintf(&b, " layer %d", u.layer)
	}
	if u.concept != "" {
		b.WriteString(" for " + u.concept)
	}
	return b.String()
}

func joinNames(v []string) string { return strings.Join(v, ", ") }

// rangeText is "0.95" or "0.91–0.98".
func rangeText(v []float64) string {
	v = slices.DeleteFunc(slices.Clone(v), math.IsNaN)
	if len(v) == 0 {
		return "—"
	}
	lo, hi := slices.Min(v), slices.Max(v)
	if hi-lo < 0.005 {
		return fmt.Sprintf("%.2f", lo)
	}
	return fmt.Sprintf("%.2f–%.2f", lo, hi)
}
