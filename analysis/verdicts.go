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
	verdictCoupled      = "coupled"
	verdictNotCoupled   = "not coupled"
	verdictSpecific     = "specific"
	verdictNotSpecific  = "not specific"
	verdictPrecedes     = "precedes"
	verdictFollows      = "follows"
	verdictCoincides    = "coincides"
	verdictNoLeadLag    = "no lead or lag shown"
	verdictNotCoupledLL = "not assessed (not coupled)"
	verdictCeiling      = "control at ceiling (cannot calibrate the probe)"
)

// Decisions are the levels and thresholds every verdict is decided by: the one place where α and
// the FDR level are applied.
type Decisions struct {
	// Alpha is the level of a single test (0.05); FDR the Benjamini–Hochberg level over a family of
	// tests (0.05): every curve of the sweep is one family, every verdict test another.
	Alpha, FDR float64
	// MinJump is the smallest jump of exact match (in its own units, 0..1) that counts as the
	// capability (0.3): a control cell that rises 0.02 → 0.10 has none.
	MinJump float64
	// Learned is the final exact match at or above which a cell has learned the task (0.5);
	// NeverLearned the one below which it never did (0.1), the baseline for specificity.
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
	return Decisions{Alpha: 0.05, FDR: 0.05, MinJump: 0.3, Learned: 0.5, NeverLearned: 0.1, ControlCeiling: 0.95, MinCells: 6, MinWidths: 5}
}

// measureGroup is the group of near-identical measures a metric belongs to: one finding is not
// counted twice because effective rank and RankMe of one site move together.
func measureGroup(metric string) string {
	switch metric {
	case "effective_rank", "rankme", "participation_ratio", "stable_rank", "numerical_rank":
		return "rank"
	case "probe_accuracy", "probe_logloss", "probe_selectivity":
		return "probe"
	}
	return metric
}

// unitKey is what a coupling, specificity or lead–lag question is asked of: one measure group at
// one site, layer, head and concept.
type unitKey struct {
	split, site   string
	layer, head   int32
	concept       string
	group         string
	metricsInUnit string // for single-metric groups, the metric
}

func unitOf(s data.Series) unitKey {
	g := measureGroup(s.Metric)
	return unitKey{split: s.Split, site: s.Site, layer: s.Layer, head: s.Head, concept: s.Concept, group: g}
}

func compareUnits(a, b unitKey) int {
	return cmp.Or(cmp.Compare(a.group, b.group), cmp.Compare(a.site, b.site), cmp.Compare(a.layer, b.layer), cmp.Compare(a.head, b.head),
		cmp.Compare(a.concept, b.concept), cmp.Compare(a.split, b.split))
}

// verdictTest is one p-value of a verdict row entering the BH family.
type verdictTest struct {
	row int
	p   float64
	tag string // "" for the row's own test; "tost" for a lead–lag row's equivalence test
}

// verdictBuilder collects the rows and their tests before the FDR step.
type verdictBuilder struct {
	rows  []data.VerdictRow
	tests []verdictTest
	// pending decisions, run after BH: row index → decide(q, qTOST)
	decide map[int]func(q, qTOST float64)
}

func (b *verdictBuilder) add(r data.VerdictRow) int {
	b.rows = append(b.rows, r)
	return len(b.rows) - 1
}

func (b *verdictBuilder) test(row int, p float64, tag string) {
	if !math.IsNaN(p) {
		b.tests = append(b.tests, verdictTest{row, p, tag})
	}
}

// verdicts asks every question of the sweep and decides every verdict (see docs/inference.md).
func verdicts(cs *curves, res map[curveKey]*curveResult, classes map[string]cellClass, mir []data.MirageRow, split string, opt Options) []data.VerdictRow {
	d := opt.Decisions
	b := &verdictBuilder{decide: map[int]func(q, qTOST float64){}}
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
			Layer: data.NA, Head: data.NA, TaskMetric: "exact_match"}
	}

	// 1. Task jump and 2. mirage, per shape.
	for _, s := range shapeList {
		cells := shapes[s]
		r := base(s, s.dModel, data.QuestionTaskJump)
		r.Subject, r.Metric, r.Seeds = "exact match ("+split+")", "exact_match", int32(len(cells))
		var jumpSeeds, small, learned, never int
		var sizes, finals []float64
		for _, c := range cells {
			cl := classes[c]
			finals = append(finals, cl.final)
			switch {
			case cl.jump:
				jumpSeeds++
				sizes = append(sizes, cl.onset.test.Jumps[cl.onset.main].Size)
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
		r.Method = "transition.TestCurve per seed (q ≤ FDR over the sweep's curves), jump ≥ MinJump"
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
		r.Reason = fmt.Sprintf("capability jump (≥ %.2g) in %d of %d seeds; final exact match %s", d.MinJump, jumpSeeds, len(cells), rangeText(finals))
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
		mr.Subject, mr.Metric, mr.Seeds, mr.Cells = "exact match's rise", "exact_match", int32(len(cells)), int32(learned)
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
		mr.Q = data.F(minQ)
		b.add(mr)
	}

	// 3–5. Coupling and specificity per family; lead–lag per shape.
	for _, f := range famList {
		var jumpCells, neverCells []string
		for _, s := range families[f] {
			for _, c := range shapes[s] {
				if classes[c].jump {
					jumpCells = append(jumpCells, c)
				} else if classes[c].neverLearned {
					neverCells = append(neverCells, c)
				}
			}
		}
		fs := shapeKey{f.task, data.NA, f.nLayers, f.nHeads}
		// Units: every internal series of the family, grouped.
		units := map[unitKey]map[string]bool{} // unit → metrics
		for k, c := range cs.byKey {
			if c.series.Kind != data.KindInternal || familyOf(cs.cells[k.cell]) != f {
				continue
			}
			if m := c.series.Metric; m == "probe_accuracy" || m == "probe_logloss" {
				continue // a probe counts through its selectivity (probe − control), never alone
			}
			u := unitOf(c.series)
			if units[u] == nil {
				units[u] = map[string]bool{}
			}
			units[u][c.series.Metric] = true
		}
		unitList := make([]unitKey, 0, len(units))
		for u := range units {
			unitList = append(unitList, u)
		}
		slices.SortFunc(unitList, compareUnits)
		for _, u := range unitList {
			metrics := make([]string, 0, len(units[u]))
			for m := range units[u] {
				metrics = append(metrics, m)
			}
			slices.Sort(metrics)
			seriesOf := func(metric string) data.Series {
				return data.Series{Kind: data.KindInternal, Split: u.split, Site: u.site, Layer: u.layer, Head: u.head, Position: data.NA, Concept: u.concept, Metric: metric}
			}
			unitRow := func(q string, dModel int32) data.VerdictRow {
				r := base(fs, dModel, q)
				r.Site, r.Layer, r.Head, r.Concept, r.Group = u.site, u.layer, u.head, u.concept, u.group
				r.Subject = unitLabel(u, metrics)
				return r
			}
			// The probe's control at ceiling: the selectivity cannot be read.
			if u.group == "probe" && controlAtCeiling(cs, jumpCells, u, d.ControlCeiling) {
				r := unitRow(data.QuestionCoupling, data.NA)
				r.Metric, r.Verdict, r.Cells = "probe_selectivity", verdictCeiling, int32(len(jumpCells))
				r.Reason = fmt.Sprintf("the control task is decoded at ≥ %.2f: any function of the current token is decodable here, so the control cannot tell what the probe learned", d.ControlCeiling)
				b.add(r)
				continue
			}
			// Coupling: per metric of the group, Bonferroni within the group.
			type cpl struct {
				metric string
				c      transition.Coupling
			}
			var best *cpl
			anyTransition := false
			for _, m := range metrics {
				in, ta := make([]float64, len(jumpCells)), make([]float64, len(jumpCells))
				strata := make([]int, len(jumpCells))
				for i, c := range jumpCells {
					ta[i] = classes[c].onset.onsetOf(onsetMid)
					in[i] = res[curveKey{c, seriesOf(m)}].onsetOf(onsetMid)
					strata[i] = int(cs.cells[c].DModel)
					if !math.IsNaN(in[i]) {
						anyTransition = true
					}
				}
				rng := rand.New(rand.NewPCG(opt.Seed, streamSeed(fmt.Sprintf("couple|%v|%v|%s", f, u, m))))
				c, err := transition.Couple(in, ta, strata, transition.CoupleConfig{MinCells: d.MinCells, Level: 0.95, Resamples: 9999}, rng)
				if err != nil {
					continue
				}
				if best == nil || (!c.Insufficient && (best.c.Insufficient || c.P < best.c.P)) || (c.Insufficient && best.c.Insufficient && c.N > best.c.N) {
					best = &cpl{m, c}
				}
			}
			if !anyTransition || best == nil {
				continue // no transition in any learning cell: nothing to couple
			}
			r := unitRow(data.QuestionCoupling, data.NA)
			r.Metric, r.Cells, r.Seeds = best.metric, int32(best.c.N), int32(len(jumpCells))
			r.Onset, r.Method, r.NullHyp = onsetMid, best.c.Method, best.c.Null
			r.Stat, r.Effect, r.EffectLo, r.EffectHi = data.F(best.c.Tau), data.F(best.c.Slope), data.F(best.c.SlopeLow), data.F(best.c.SlopeHigh)
			coupled := false
			if best.c.Insufficient {
				r.Verdict = fmt.Sprintf("insufficient cells (need %d)", d.MinCells)
				r.Need = data.I(int32(d.MinCells))
				r.Reason = fmt.Sprintf("%d cells have both an internal and a task transition", best.c.N)
				b.add(r)
			} else {
				p := math.Min(1, best.c.P*float64(len(metrics)))
				r.P = data.F(p)
				i := b.add(r)
				b.test(i, p, "")
				b.decide[i] = func(q, _ float64) {
					row := &b.rows[i]
					if q <= d.FDR {
						row.Verdict = verdictCoupled
						row.Reason = fmt.Sprintf("stratified Kendall τ = %.2f over %d cells in %d widths", best.c.Tau, best.c.N, best.c.Strata)
					} else {
						row.Verdict = verdictNotCoupled
						row.Reason = fmt.Sprintf("τ = %.2f over %d cells; q > %.2g", best.c.Tau, best.c.N, d.FDR)
					}
				}
				_ = coupled
			}
			couplingRow := len(b.rows) - 1

			// Specificity.
			if len(neverCells) == 0 {
				sr := unitRow(data.QuestionSpecificity, data.NA)
				sr.Metric, sr.Verdict = best.metric, verdictUndetermined+" (no non-learning cells)"
				sr.Reason = "every cell of the family learns or is in between: no baseline where the task never jumps"
				b.add(sr)
			} else {
				var bestS *transition.Specificity
				bestM := ""
				for _, m := range metrics {
					a, bb, c, dd := 0, 0, 0, 0
					for _, cell := range jumpCells {
						if r := res[curveKey{cell, seriesOf(m)}]; r != nil && r.abrupt && r.main >= 0 {
							a++
						} else {
							bb++
						}
					}
					for _, cell := range neverCells {
						if r := res[curveKey{cell, seriesOf(m)}]; r != nil && r.abrupt && r.main >= 0 {
							c++
						} else {
							dd++
						}
					}
					s := transition.SpecificityTest(a, bb, c, dd)
					if bestS == nil || s.P < bestS.P {
						bestS, bestM = &s, m
					}
				}
				sr := unitRow(data.QuestionSpecificity, data.NA)
				sr.Metric, sr.Cells, sr.Method, sr.NullHyp = bestM, int32(bestS.N), bestS.Method, bestS.Null
				sr.Effect = data.F(bestS.RateJump - bestS.RateNoJump)
				p := math.Min(1, bestS.P*float64(len(metrics)))
				sr.P = data.F(p)
				i := b.add(sr)
				b.test(i, p, "")
				bs := *bestS
				b.decide[i] = func(q, _ float64) {
					row := &b.rows[i]
					row.Reason = fmt.Sprintf("transition in %d/%d learning cells and %d/%d never-learning cells", bs.JumpWith, bs.JumpWith+bs.JumpWithout, bs.NoJumpWith, bs.NoJumpWith+bs.NoJumpWithout)
					if q <= d.FDR {
						row.Verdict = verdictSpecific
					} else {
						row.Verdict = verdictNotSpecific
					}
				}
			}

			// Lead–lag per shape of the family, gated on coupling.
			for _, s := range families[f] {
				var cells []string
				for _, c := range shapes[s] {
					if classes[c].jump {
						cells = append(cells, c)
					}
				}
				if len(cells) == 0 {
					continue
				}
				lr := unitRow(data.QuestionLeadLag, s.dModel)
				lr.Metric, lr.Seeds, lr.Onset = best.metric, int32(len(shapes[s])), onsetMid
				need := transition.MinSeedsFor(d.Alpha)
				type ll struct {
					def string
					t   transition.LeadLag
				}
				var tests []ll
				for _, def := range onsetDefs {
					in, ta := make([]float64, len(cells)), make([]float64, len(cells))
					for i, c := range cells {
						ta[i] = classes[c].onset.onsetOf(def)
						in[i] = res[curveKey{c, seriesOf(best.metric)}].onsetOf(def)
					}
					rng := rand.New(rand.NewPCG(opt.Seed, streamSeed(fmt.Sprintf("leadlag|%v|%v|%s|%s", s, u, best.metric, def))))
					t, err := transition.LeadLagTest(in, ta, transition.DefaultLeadLagConfig(tol), rng)
					if err == nil {
						tests = append(tests, ll{def, t})
					}
				}
				if len(tests) == 0 || tests[0].def != onsetMid {
					continue
				}
				mid := tests[0].t
				lr.Cells = int32(mid.N)
				lr.Effect = data.F(mid.MeanLag)
				lr.Method, lr.NullHyp = mid.Method, mid.Null
				if mid.N == 0 {
					continue
				}
				if mid.N < need {
					lr.Verdict = fmt.Sprintf("insufficient seeds (need %d)", need)
					lr.Need = data.I(int32(need))
					lr.Reason = fmt.Sprintf("%d paired seeds: the smallest attainable sign-flip p is %.3g > α = %.2g", mid.N, mid.MinP, d.Alpha)
					b.add(lr)
					continue
				}
				lr.P = data.F(mid.P)
				i := b.add(lr)
				b.test(i, mid.P, "")
				b.test(i, mid.TOSTP, "tost")
				cr := couplingRow
				b.decide[i] = func(q, qT float64) {
					row := &b.rows[i]
					if b.rows[cr].Verdict != verdictCoupled {
						row.Verdict = verdictNotCoupledLL
						row.Reason = "lead–lag is asked only of internal transitions coupled to the task jump across cells (coupling: " + b.rows[cr].Verdict + ")"
						return
					}
					v := leadLagVerdict(mid, q, qT, d)
					robust := true
					for _, t := range tests[1:] {
						// The other onset definitions, at the uncorrected level: a verdict that does not
						// survive them depends on which point of the transition is called its onset.
						if leadLagVerdict(t.t, t.t.P, t.t.TOSTP, d) != v {
							robust = false
						}
					}
					row.Verdict = v
					row.Q = data.F(q)
					if v == verdictCoincides {
						row.Q = data.F(qT)
					}
					row.Reason = fmt.Sprintf("mean lag %+.3f decades over %d seeds (tolerance ±%.3f)", mid.MeanLag, mid.N, tol)
					if v != verdictNoLeadLag {
						if robust {
							row.Reason += "; the same verdict under the 10 % point and the change point"
						} else {
							row.Reason += "; NOT robust: another onset definition gives another verdict"
						}
					}
				}
			}
		}

		// 6. The scale axis.
		widths := map[int32]bool{}
		for _, s := range families[f] {
			widths[s.dModel] = true
		}
		sr := base(fs, data.NA, data.QuestionScale)
		sr.Subject, sr.Metric, sr.Cells = "exact match and the continuous scorings over d_model", "exact_match", int32(len(widths))
		if len(widths) < d.MinWidths {
			sr.Verdict = fmt.Sprintf("not assessed: %d widths (need %d)", len(widths), d.MinWidths)
			sr.Need = data.I(int32(d.MinWidths))
			sr.Reason = "with fewer widths a jump over width cannot be told from a smooth trend; BIG-bench linearity and breakthroughness are not reported as measures of suddenness"
			b.add(sr)
		} else {
			scaleRows(b, cs, families[f], shapes, split, sr, opt)
		}
	}

	// FDR over every verdict test, then the pending decisions.
	p := make([]float64, len(b.tests))
	for i, t := range b.tests {
		p[i] = t.p
	}
	q := transition.BHTo(nil, p)
	qOf := map[int][2]float64{}
	for i, t := range b.tests {
		v := qOf[t.row]
		if _, ok := qOf[t.row]; !ok {
			v = [2]float64{math.NaN(), math.NaN()}
		}
		if t.tag == "tost" {
			v[1] = q[i]
		} else {
			v[0] = q[i]
		}
		qOf[t.row] = v
	}
	// Coupling decisions first: lead–lag decisions read them.
	order := make([]int, 0, len(b.decide))
	for i := range b.decide {
		order = append(order, i)
	}
	slices.SortFunc(order, func(x, y int) int {
		qx, qy := b.rows[x].Question == data.QuestionLeadLag, b.rows[y].Question == data.QuestionLeadLag
		if qx != qy {
			if qx {
				return 1
			}
			return -1
		}
		return cmp.Compare(x, y)
	})
	for _, i := range order {
		v := qOf[i]
		if b.rows[i].Q == nil {
			b.rows[i].Q = data.F(v[0])
		}
		b.decide[i](v[0], v[1])
	}
	return b.rows
}

// leadLagVerdict reads a lead–lag test at the given q-values.
func leadLagVerdict(t transition.LeadLag, q, qTOST float64, d Decisions) string {
	switch {
	case q <= d.FDR && t.MeanLag < 0:
		return verdictPrecedes
	case q <= d.FDR && t.MeanLag > 0:
		return verdictFollows
	case qTOST <= d.FDR:
		return verdictCoincides
	}
	return verdictNoLeadLag
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
		c := cs.get(cell, data.Series{Kind: data.KindControl, Split: u.split, Site: u.site, Layer: u.layer, Head: u.head, Position: data.NA, Concept: u.concept, Metric: "probe_control_accuracy"})
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

// scaleMetrics are the task metrics asked the scale question, all-or-nothing first.
var scaleMetrics = []string{"exact_match", "token_accuracy", "logprob", "brier", "edit_distance"}

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
		b.test(i, t.P, "")
		gap := [2]float64{widths[t.Gap], widths[t.Gap+1]}
		b.decide[i] = func(q, _ float64) {
			row := &b.rows[i]
			if q <= d.FDR {
				row.Verdict = "jumps with width"
				row.Reason = fmt.Sprintf("a step of %+.3f between d_model %g and %g beyond a line in log2 width", t.Jump, gap[0], gap[1])
			} else {
				row.Verdict = "smooth over width"
				row.Reason = fmt.Sprintf("no step between adjacent widths beyond a line in log2 width (largest at d_model %g→%g, %+.3f)", gap[0], gap[1], t.Jump)
			}
			if bbErr == nil {
				row.Reason += fmt.Sprintf("; BIG-bench linearity %.2f, breakthroughness %.2f of the seed means", bb.Linearity, bb.Breakthroughness)
			}
		}
	}
}
