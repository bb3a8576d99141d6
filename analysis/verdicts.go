package analysis

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/phaseprobe/phaseprobe/data"
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

// measureGroup is the group of near-identical measures a metric belongs to: one finding is not
// counted twice because effective rank and RankMe of one site move together.
func measureGroup(metric string) string {
	switch metric {
	case data.MetricEffectiveRank, data.MetricRankMe, data.MetricParticipationRatio, data.MetricStableRank, data.MetricNumericalRank:
		return data.GroupRank
	case data.MetricProbeAccuracy, data.MetricProbeLogLoss, data.MetricProbeSelectivity:
		return data.GroupProbe
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

// verdicts asks every question of the sweep and decides every verdict (see docs/inference.md).
func verdicts(cs *curves, res map[curveKey]*curveResult, classes map[string]cellClass, mir []data.MirageRow, split string, opt Options) []data.VerdictRow {
	d := opt.Decisions
	b := &verdictBuilder{decide: map[int]func(q float64){}}
	tol := checkpointTolerance(cs)

	// Shapes and families.
	shapes := map[shapeKey][]string{}
	for cell, c := range cs.cells {
		shapes[shapeOf(c)] = append(shapes[shapeOf(c)], cell)
	}
	shapeList := make([]shapeKey, 0, len(shapes))
	for s := range shapes {
		slices.Sort(shapes[s])
		shapeList = append(shapeList, s)
	}
	slices.SortFunc(shapeList, compareShapes)
	families := map[familyKey][]shapeKey{}
	for _, s := range shapeList {
		f := familyKey{s.task, s.nLayers, s.nHeads}
		families[f] = append(families[f], s)
	}
	famList := make([]familyKey, 0, len(families))
	for f := range families {
		famList = append(famList, f)
	}
	slices.SortFunc(famList, compareFamilies)

	base := func(s shapeKey, dModel int32, q string) data.VerdictRow {
		return data.VerdictRow{Sweep: cs.sweep, Task: s.task, DModel: dModel, NLayers: s.nLayers, NHeads: s.nHeads, Question: q,
			Layer: data.NA, Head: data.NA, TaskMetric: data.MetricExactMatch}
	}

	// 1. Task jump and 2. mirage, per shape.
	for _, s := range shapeList {
		cells := shapes[s]
		r := base(s, s.dModel, data.QuestionTaskJump)
		r.Subject, r.Metric, r.Seeds = "exact match ("+split+")", data.MetricExactMatch, int32(len(cells))
		var jumpSeeds, small, learned, never int
		var sizes, finals []float64
		for _, c := range cells {
			cl := classes[c]
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
			r.Effect, r.EffectLo, r.EffectHi = data.F(median(sizes)), data.F(slices.Min(sizes)), data.F(slices.Max(sizes))
		}
		switch {
		case jumpSeeds == len(cells):
			r.Verdict = verdictJumps
		case jumpSeeds > 0:
			r.Verdict = verdictSomeSeeds
		case never == len(cells):
			r.Verdict = verdictNeverLearns
		case small > 0 && learned == 0:
			r.Verdict = verdictSmallRise
		case learned > 0:
			r.Verdict = verdictNoJump
		default:
			r.Verdict = verdictUndetermined
		}
		r.Reason = fmt.Sprintf("capability jump in %d of %d seeds (abrupt exact match in a seed that ends ≥ %.2g); final exact match %s", jumpSeeds, len(cells), d.Learned, rangeText(finals))
		b.add(r)

		var rows []data.MirageRow
		for _, m := range mir {
			if m.Task == s.task && m.DModel == s.dModel && m.NLayers == s.nLayers && m.NHeads == s.nHeads {
				rows = append(rows, m)
			}
		}
		if learned == 0 || len(rows) == 0 {
			continue // nothing learnt: no rise to explain
		}
		mr := base(s, s.dModel, data.QuestionMirage)
		mr.Subject, mr.Metric, mr.Seeds, mr.Cells = "exact match's rise", data.MetricExactMatch, int32(len(cells)), int32(learned)
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
					mr.Reason += fmt.Sprintf("; exact match is within %.3f of Π position accuracies and %.3f of p̄^L across the window (Schaeffer et al.'s prediction)", *m.IndepGap, deref(m.PowerGap))
				}
			}
		}
		if mr.Verdict == verdictGenuine {
			mr.Q = data.F(minQ) // the q of the scoring that jumps most clearly; no single q stands for the other readings
		}
		if jumpSeeds == 0 {
			mr.Reason += "; exact match's rise was not called abrupt by the curve test in any seed (task_jump row)"
		}
		b.add(mr)
	}

	// 3–5. Coupling and specificity per family; lead–lag per shape (decided below, after the FDR
	// step of each question's family).
	var pend []*unitQuestions
	for _, f := range famList {
		var jumpCells []string
		for _, s := range families[f] {
			for _, c := range shapes[s] {
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
		for _, u := range familyUnits(cs, f) {
			uq := askUnit(b, cs, res, classes, f, fs, u, families[f], shapes, jumpCells, neverCells, tol, base, opt)
			if uq != nil {
				pend = append(pend, uq)
			}
		}

		// 6. The scale axis.
		widths := map[int32]bool{}
		for _, s := range families[f] {
			widths[s.dModel] = true
		}
		sr := base(fs, data.NA, data.QuestionScale)
		sr.Subject, sr.Metric, sr.Cells = "exact match and the continuous scorings over d_model", data.MetricExactMatch, int32(len(widths))
		if len(widths) < d.MinWidths {
			sr.Verdict = fmt.Sprintf("not assessed: %d widths (need %d)", len(widths), d.MinWidths)
			sr.Need = data.I(int32(d.MinWidths))
			sr.Reason = "with fewer widths a jump over width cannot be told from a smooth trend; BIG-bench linearity and breakthroughness are not reported as measures of suddenness"
			b.add(sr)
		} else {
			scaleRows(b, cs, families[f], shapes, split, sr, opt)
		}
	}

	decideUnits(b, pend, d)
	// The scale family.
	p := make([]float64, len(b.tests))
	for i, t := range b.tests {
		p[i] = t.p
	}
	q := transition.BHTo(nil, p)
	for i, t := range b.tests {
		b.rows[t.row].Q = data.F(q[i])
		b.decide[t.row](q[i])
	}
	return b.rows
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
	return median(spacings)
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
		meds = append(meds, median(v))
	}
	return len(meds) > 0 && median(meds) >= ceiling
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

// betterSign is +1 for the task metrics where higher is better and −1 where lower is: a step with
// width is emergence only in the improving direction.
var betterSign = map[string]float64{data.MetricExactMatch: 1, data.MetricTokenAccuracy: 1, data.MetricLogprob: 1, data.MetricBrier: -1, data.MetricEditDistance: -1}

// oneSeedStep returns which seed the scale test's step rests on: the first value of the two widths
// beside the step whose removal leaves the step non-significant (the test rerun: p > alpha, and
// more than ten times the full data's p, so that the loss of one seed's degrees of freedom alone
// does not count), as
// "d_model W seed value V"; "" when no single seed carries it. TestScale's pure error assumes
// Gaussian seeds, and one seed that fails to learn (a bimodal width) can make a step on its own.
func oneSeedStep(widths []float64, values [][]float64, t transition.ScaleTest, alpha float64, rng *rand.Rand) string {
	for _, k := range []int{t.Gap, t.Gap + 1} {
		if len(values[k]) < 3 {
			continue
		}
		for j := range values[k] {
			vs := slices.Clone(values)
			vs[k] = slices.Delete(slices.Clone(values[k]), j, j+1)
			r, err := transition.TestScale(widths, vs, transition.DefaultScaleConfig(), rng)
			if err == nil && r.P > alpha && r.P > 10*t.P {
				return fmt.Sprintf("the d_model %g seed at %.2f", widths[k], values[k][j])
			}
		}
	}
	return ""
}

// scaleMetrics are the task metrics asked the scale question, all-or-nothing first.
var scaleMetrics = []string{data.MetricExactMatch, data.MetricTokenAccuracy, data.MetricLogprob, data.MetricBrier, data.MetricEditDistance}

// scaleRows asks, for a family of at least MinWidths widths, whether each task metric jumps with
// d_model at the final checkpoint (transition.TestScale: a step between adjacent widths against a
// line in log2 width, seeds as replicates), adding BIG-bench's linearity and breakthroughness of
// the seed means (Srivastava et al. 2022) to the reason.
func scaleRows(b *verdictBuilder, cs *curves, shapes []shapeKey, cells map[shapeKey][]string, split string, base data.VerdictRow, opt Options) {
	d := opt.Decisions
	for _, m := range scaleMetrics {
		var widths []float64
		var values [][]float64
		var means []float64
		for _, s := range shapes {
			var v []float64
			for _, c := range cells[s] {
				if cv := cs.get(c, taskSeries(split, m)); cv != nil {
					if x := cv.last(); !math.IsNaN(x) {
						v = append(v, x)
					}
				}
			}
			if len(v) == 0 {
				continue
			}
			widths = append(widths, float64(s.dModel))
			values = append(values, v)
			means = append(means, mean(v))
		}
		r := base
		r.Metric, r.TaskMetric, r.Subject = m, m, m+" at the final checkpoint over d_model"
		r.Cells = int32(len(widths))
		rng := rand.New(rand.NewPCG(opt.Seed, streamSeed(fmt.Sprintf("scale|%s|%d|%d|%s", base.Task, base.NLayers, base.NHeads, m))))
		t, err := transition.TestScale(widths, values, transition.DefaultScaleConfig(), rng)
		if err != nil {
			r.Verdict = verdictUndetermined
			r.Reason = err.Error()
			b.add(r)
			continue
		}
		r.Stat, r.P, r.Effect = data.F(t.Statistic), data.F(t.P), data.F(t.Jump)
		r.Method, r.NullHyp = t.Method, t.Null
		bb, bbErr := transition.BigBench(means)
		i := b.add(r)
		b.test(i, t.P)
		gap := [2]float64{widths[t.Gap], widths[t.Gap+1]}
		oneSeed := oneSeedStep(widths, values, t, d.Alpha, rng)
		b.decide[i] = func(q float64) {
			row := &b.rows[i]
			improves := t.Jump*betterSign[m] > 0
			switch {
			case q <= d.FDRLevel && oneSeed != "":
				row.Verdict = verdictUndetermined
				row.Reason = fmt.Sprintf("a step of %+.3f between d_model %g and %g beyond a line in log2 width, but it rests on one seed: without %s it is not significant (p > α)", t.Jump, gap[0], gap[1], oneSeed)
			case q <= d.FDRLevel && improves:
				row.Verdict = "jumps with width"
				row.Reason = fmt.Sprintf("a step of %+.3f between d_model %g and %g beyond a line in log2 width", t.Jump, gap[0], gap[1])
			case q <= d.FDRLevel:
				row.Verdict = "drops at a width (not emergence)"
				row.Reason = fmt.Sprintf("a step of %+.3f between d_model %g and %g beyond a line in log2 width, in the worsening direction", t.Jump, gap[0], gap[1])
			default:
				row.Verdict = "smooth over width"
				row.Reason = fmt.Sprintf("no step between adjacent widths beyond a line in log2 width (largest at d_model %g→%g, %+.3f)", gap[0], gap[1], t.Jump)
			}
			if bbErr == nil {
				row.Reason += fmt.Sprintf("; BIG-bench linearity %.2f, breakthroughness %.2f of the seed means", bb.Linearity, bb.Breakthroughness)
			}
		}
	}
}
