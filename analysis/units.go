package analysis

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/transition"
)

// familyUnits lists the units of a family (one measure group at one site, layer, head and
// concept) over its internal curves. Probe accuracy and log-loss are left out: a probe counts
// through its selectivity (probe − control), never alone. Controls are not internal curves.
func familyUnits(cs *curves, f familyKey) []unitMetrics {
	units := map[unitKey]map[string]bool{}
	for k, c := range cs.byKey {
		if c.series.Kind != data.KindInternal || familyOf(cs.cells[k.cell]) != f {
			continue
		}
		if m := c.series.Metric; m == data.MetricProbeAccuracy || m == data.MetricProbeLogLoss {
			continue
		}
		u := unitOf(c.series)
		if units[u] == nil {
			units[u] = map[string]bool{}
		}
		units[u][c.series.Metric] = true
	}
	out := make([]unitMetrics, 0, len(units))
	for u, ms := range units {
		um := unitMetrics{unit: u}
		for m := range ms {
			um.metrics = append(um.metrics, m)
		}
		slices.Sort(um.metrics)
		out = append(out, um)
	}
	slices.SortFunc(out, func(a, b unitMetrics) int { return compareUnits(a.unit, b.unit) })
	return out
}

// unitMetrics is a unit and the metrics of its group present in the family.
type unitMetrics struct {
	unit    unitKey
	metrics []string
}

func (u unitMetrics) series(metric string) data.Series {
	return data.Series{Kind: data.KindInternal, Split: u.unit.split, Site: u.unit.site, Layer: u.unit.layer, Head: u.unit.head,
		Position: data.NA, Concept: u.unit.concept, Metric: metric}
}

// unitQuestions holds the evidence of one unit's coupling, specificity and lead–lag questions
// until the FDR step of each question's family has run.
type unitQuestions struct {
	metric     string // the group's member that carried the coupling test
	coupling   transition.Coupling
	cRow       int
	cP         float64 // Bonferroni over the group's members; NaN when insufficient
	spec       *transition.Specificity
	specMetric string // the group's member that carried the specificity test
	sRow       int
	sP         float64
	leadLag    []leadLagRow
	groupSize  int
}

// leadLagRow is one shape's lead–lag tests of a unit, one per onset definition (onsetDefs order).
type leadLagRow struct {
	row   int
	tests []transition.LeadLag
}

// askUnit computes the evidence of one unit: coupling across the family's cells whose task jumps
// (stratified by width), specificity against the task's never-learning cells, and lead–lag per
// shape under every onset definition. It adds the rows; their verdicts come from decideUnits.
// It returns nil when no learning cell has a transition in the unit (nothing to ask).
func askUnit(b *verdictBuilder, cs *curves, res map[curveKey]*curveResult, classes map[string]cellClass, f familyKey, fs shapeKey,
	um unitMetrics, shapeList []shapeKey, shapes map[shapeKey][]string, jumpCells, neverCells []string, tol float64, opt Options) *unitQuestions {
	a := &unitAsk{b: b, cs: cs, res: res, classes: classes, f: f, fs: fs, um: um, opt: opt}
	if !a.hasTransition(jumpCells) {
		return nil
	}
	// The probe's control at ceiling: its selectivity cannot be read.
	if um.unit.group == data.GroupProbe && controlAtCeiling(cs, jumpCells, um.unit, opt.Decisions.ControlCeiling) {
		a.ceilingRow(len(jumpCells))
		return nil
	}
	uq := &unitQuestions{groupSize: len(um.metrics), cP: math.NaN(), sP: math.NaN()}
	if !a.coupling(uq, jumpCells) {
		return nil
	}
	a.specificity(uq, jumpCells, neverCells)
	a.leadLag(uq, shapeList, shapes, tol)
	return uq
}

// unitAsk is what the questions of one unit are asked with.
type unitAsk struct {
	b       *verdictBuilder
	cs      *curves
	res     map[curveKey]*curveResult
	classes map[string]cellClass
	f       familyKey
	fs      shapeKey // the family as a shape (d_model NA)
	um      unitMetrics
	opt     Options
}

// row is a verdict row about the unit asking question q (at width dModel, data.NA for the family).
func (a *unitAsk) row(q string, dModel int32) data.VerdictRow {
	u := a.um.unit
	r := a.b.base(a.fs, dModel, q)
	r.Site, r.Layer, r.Head, r.Concept, r.Group = u.site, u.layer, u.head, u.concept, u.group
	r.Subject = unitLabel(u, a.um.metrics)
	return r
}

// onsetIn is the onset of the unit's curve of metric in cell under an onset definition.
func (a *unitAsk) onsetIn(cell, metric, def string) float64 {
	return a.res[curveKey{cell, a.um.series(metric)}].onsetOf(def)
}

// hasTransition reports whether any member of the unit has an onset in any of cells.
func (a *unitAsk) hasTransition(cells []string) bool {
	for _, c := range cells {
		for _, m := range a.um.metrics {
			if !math.IsNaN(a.onsetIn(c, m, onsetMid)) {
				return true
			}
		}
	}
	return false
}

// ceilingRow adds the coupling row of a probe unit whose control task is decoded at ceiling.
func (a *unitAsk) ceilingRow(cells int) {
	r := a.row(data.QuestionCoupling, data.NA)
	r.Metric, r.Verdict, r.Cells = data.MetricProbeSelectivity, verdictCeiling, int32(cells)
	r.Reason = fmt.Sprintf("the control task is decoded at ≥ %.2f: any function of the current token is decodable here, so the control cannot tell what the probe learned", a.opt.Decisions.ControlCeiling)
	a.b.add(r)
}

// coupling tests each member of the group across jumpCells, keeps the one with the smallest p
// (Bonferroni-corrected for the group's size) and adds its row; false when no member could be
// tested.
func (a *unitAsk) coupling(uq *unitQuestions, jumpCells []string) bool {
	d := a.opt.Decisions
	u := a.um.unit
	cfg := transition.DefaultCoupleConfig() // a 95 % slope interval, 9999 permutations when onsets tie
	cfg.MinCells = d.MinCells
	first := true
	for _, m := range a.um.metrics {
		in, ta := make([]float64, len(jumpCells)), make([]float64, len(jumpCells))
		strata := make([]int, len(jumpCells))
		for i, c := range jumpCells {
			ta[i] = a.classes[c].taskOnset(onsetMid)
			in[i] = a.onsetIn(c, m, onsetMid)
			strata[i] = int(a.cs.cells[c].DModel)
		}
		rng := rand.New(rand.NewPCG(a.opt.Seed, streamSeed(fmt.Sprintf("couple|%v|%v|%s", a.f, u, m))))
		c, err := transition.Couple(in, ta, strata, cfg, rng)
		if err != nil {
			continue
		}
		better := first || (!c.Insufficient && (uq.coupling.Insufficient || c.P < uq.coupling.P)) ||
			(c.Insufficient && uq.coupling.Insufficient && c.N > uq.coupling.N)
		if better {
			uq.metric, uq.coupling, first = m, c, false
		}
	}
	if first {
		return false
	}
	c := uq.coupling
	r := a.row(data.QuestionCoupling, data.NA)
	r.Metric, r.Cells, r.Seeds = uq.metric, int32(c.N), int32(len(jumpCells))
	r.Onset, r.Method, r.NullHyp = onsetMid, c.Method, c.Null
	r.Stat, r.Effect, r.EffectLo, r.EffectHi = data.F(c.Tau), data.F(c.Slope), data.F(c.SlopeLow), data.F(c.SlopeHigh)
	if !c.Insufficient {
		uq.cP = math.Min(1, c.P*float64(uq.groupSize))
		r.P = data.F(uq.cP)
	}
	uq.cRow = a.b.add(r)
	return true
}

// specificity tests each member of the group for transitions in the learning cells (jumpCells)
// against the never-learning ones, keeps the smallest p (Bonferroni-corrected) and adds its row.
func (a *unitAsk) specificity(uq *unitQuestions, jumpCells, neverCells []string) {
	var best *transition.Specificity
	bestMetric := uq.metric
	for _, m := range a.um.metrics {
		count := func(cells []string) (with, without int) {
			for _, cell := range cells {
				rr := a.res[curveKey{cell, a.um.series(m)}]
				switch {
				case !counted(rr):
					continue // no such curve (another shape), or one that could not be tested: no evidence either way
				case rr.err != nil: // flat, or moving by fewer steps than its resolution shows: no transition
					without++
				case rr.abrupt && rr.main >= 0:
					with++
				default:
					without++
				}
			}
			return with, without
		}
		a1, b1 := count(jumpCells)
		c1, d1 := count(neverCells)
		s := transition.SpecificityTest(a1, b1, c1, d1)
		if best == nil || (!math.IsNaN(s.P) && (math.IsNaN(best.P) || s.P < best.P)) {
			best, bestMetric = &s, m
			uq.spec = best
		}
	}
	sr := a.row(data.QuestionSpecificity, data.NA)
	sr.Metric, sr.Cells, sr.Method, sr.NullHyp = bestMetric, int32(best.N), best.Method, best.Null
	uq.specMetric = bestMetric
	sr.Effect = data.F(best.RateJump - best.RateNoJump)
	if !math.IsNaN(best.P) {
		uq.sP = math.Min(1, best.P*float64(uq.groupSize))
		sr.P = data.F(uq.sP)
	}
	sr.Reason = fmt.Sprintf("transition in %d/%d learning cells and %d/%d never-learning cells of the task", best.JumpWith, best.JumpWith+best.JumpWithout,
		best.NoJumpWith, best.NoJumpWith+best.NoJumpWithout)
	if other := baselineShapes(a, bestMetric, jumpCells, neverCells); other != "" {
		sr.Reason += "; " + data.ReasonOtherShapeBaseline + " (" + other +
			"): a smaller model, not the same model on a task it cannot learn, so a measure that differs with size can differ without learning"
	}
	uq.sRow = a.b.add(sr)
}

// leadLag adds, per shape with learning cells, the lead–lag tests under every onset definition of
// the member that carried the coupling.
func (a *unitAsk) leadLag(uq *unitQuestions, shapeList []shapeKey, shapes map[shapeKey][]string, tol float64) {
	for _, s := range shapeList {
		var cells []string
		for _, c := range shapes[s] {
			if a.classes[c].jump {
				cells = append(cells, c)
			}
		}
		if len(cells) == 0 {
			continue
		}
		var tests []transition.LeadLag
		for _, def := range onsetDefs {
			in, ta := make([]float64, len(cells)), make([]float64, len(cells))
			for i, c := range cells {
				ta[i] = a.classes[c].taskOnset(def)
				in[i] = a.onsetIn(c, uq.metric, def)
			}
			rng := rand.New(rand.NewPCG(a.opt.Seed, streamSeed(fmt.Sprintf("leadlag|%v|%v|%s|%s", s, a.um.unit, uq.metric, def))))
			t, err := transition.LeadLagTest(in, ta, transition.DefaultLeadLagConfig(tol), rng)
			if err != nil {
				t = transition.LeadLag{P: math.NaN(), TOSTP: math.NaN(), MeanLag: math.NaN()}
			}
			tests = append(tests, t)
		}
		if tests[0].N == 0 {
			continue // the unit has no transition in this shape's learning cells
		}
		lr := a.row(data.QuestionLeadLag, s.dModel)
		lr.Metric, lr.Seeds, lr.Cells, lr.Onset = uq.metric, int32(len(shapes[s])), int32(tests[0].N), onsetMid
		lr.Effect, lr.Method, lr.NullHyp = data.F(tests[0].MeanLag), tests[0].Method, tests[0].Null
		uq.leadLag = append(uq.leadLag, leadLagRow{row: a.b.add(lr), tests: tests})
	}
}

// decideUnits runs the FDR step of each question's family over the whole sweep — every coupling
// test, every specificity test, and (per onset definition) every lead–lag test that can receive a
// verdict (coupled units with enough seeds), the sign-flip and the equivalence p-values separately
// — and writes the verdicts with DecideCoupling, DecideSpecificity and DecideLeadLag. This is the
// procedure the whole-chain simulation (decide_sim_test.go) measures.
func decideUnits(b *verdictBuilder, units []*unitQuestions, d Decisions) {
	decideCouplingRows(b, units, d.DecisionConfig)
	decideLeadLagRows(b, units, d.DecisionConfig)
}

// decideCouplingRows runs the BH step over the coupling and over the specificity tests of every
// unit and decides their rows.
func decideCouplingRows(b *verdictBuilder, units []*unitQuestions, cfg DecisionConfig) {
	cp := make([]float64, len(units))
	sp := make([]float64, len(units))
	for i, u := range units {
		cp[i], sp[i] = u.cP, u.sP
	}
	cq, sq := transition.BHTo(nil, cp), transition.BHTo(nil, sp)
	specTests := 0 // the specificity family's size (a NaN p is a test not run: not in the family)
	for _, p := range sp {
		if !math.IsNaN(p) {
			specTests++
		}
	}
	for i, u := range units {
		r := &b.rows[u.cRow]
		r.Q = data.F(cq[i])
		c := u.coupling
		// The row's p is Bonferroni-corrected over the group (min(1, P·groupSize)), so the
		// smallest p it can reach is MinP·groupSize: the design can show coupling only if that
		// is ≤ α, i.e. MinP ≤ α/groupSize.
		g := float64(max(u.groupSize, 1))
		cu := cfg
		cu.Alpha = cfg.Alpha / g
		r.Verdict = DecideCoupling(u.metric, c, cq[i], cu)
		switch {
		case c.Insufficient:
			r.Need = data.I(int32(c.MinCells))
			r.Reason = fmt.Sprintf("%d cells have both an internal and a task transition", c.N)
		case !(c.MinP <= cu.Alpha):
			if need := couplingCellsFor(c, cu.Alpha); need > 0 {
				r.Need = data.I(int32(need))
				r.Reason = fmt.Sprintf("%d cells in %d widths: the strata are too small for the permutation test to reach α (smallest p %.3g)", c.N, c.Strata, math.Min(1, c.MinP*g))
			} else {
				r.Reason = fmt.Sprintf("%d cells in %d widths, but tied onsets within widths leave too few distinct orderings for the permutation test to reach α (smallest p %.3g)", c.N, c.Strata, math.Min(1, c.MinP*g))
			}
		default:
			r.Reason = fmt.Sprintf("stratified Kendall τ = %.2f over %d cells in %d widths; slope %.2f [%.2f, %.2f]", c.Tau, c.N, c.Strata, c.Slope, c.SlopeLow, c.SlopeHigh)
		}
		if u.groupSize > 1 {
			r.Reason += fmt.Sprintf("; p Bonferroni-corrected over the group's %d measures", u.groupSize)
		}
		s := &b.rows[u.sRow]
		s.Q = data.F(sq[i])
		s.Verdict = DecideSpecificity(u.specMetric, *u.spec, sq[i], cu) // cu: its p is Bonferroni-corrected too
		if s.Verdict == VerdictNotSpecific && sp[i] <= cfg.Alpha {
			s.Reason += fmt.Sprintf("; p %.3g ≤ α, but q %.3g > FDR over the sweep's %d specificity tests", sp[i], sq[i], specTests)
		}
		if sp := u.spec; strings.HasPrefix(s.Verdict, "insufficient") {
			s.Need = data.I(int32(transition.NoJumpCellsFor(sp.JumpWith, sp.JumpWith+sp.JumpWithout, cu.Alpha)))
			s.Reason += fmt.Sprintf("; even with no transition in any never-learning cell, %d of them cannot reach α", sp.NoJumpWith+sp.NoJumpWithout)
		}
	}
}

// decideLeadLagRows runs, per onset definition, the BH step over the lead–lag tests that can get a
// verdict (of coupled units, with enough seeds), the sign-flip and the equivalence p-values
// separately, and decides the lead–lag rows (after decideCouplingRows: they read its verdicts).
func decideLeadLagRows(b *verdictBuilder, units []*unitQuestions, cfg DecisionConfig) {
	need := transition.MinSeedsFor(cfg.Alpha)
	type ref struct{ u, l int }
	var refs []ref
	for i, u := range units {
		for j := range u.leadLag {
			refs = append(refs, ref{i, j})
		}
	}
	q := make([][2][]float64, len(onsetDefs)) // [def][P or TOST][ref]
	for k := range onsetDefs {
		lp, tp := make([]float64, len(refs)), make([]float64, len(refs))
		for i, rf := range refs {
			u := units[rf.u]
			t := u.leadLag[rf.l].tests[k]
			lp[i], tp[i] = math.NaN(), math.NaN()
			if b.rows[u.cRow].Verdict == VerdictCoupled && t.N >= need {
				lp[i], tp[i] = t.P, t.TOSTP
			}
		}
		q[k] = [2][]float64{transition.BHTo(nil, lp), transition.BHTo(nil, tp)}
	}
	for i, rf := range refs {
		u := units[rf.u]
		ll := u.leadLag[rf.l]
		ev := make([]LeadLagEvidence, len(onsetDefs))
		for k, def := range onsetDefs {
			ev[k] = LeadLagEvidence{Onset: def, Result: ll.tests[k], Q: q[k][0][i], TOSTQ: q[k][1][i]}
		}
		dec := DecideLeadLag(u.metric, b.rows[u.cRow].Verdict, ev, cfg)
		r := &b.rows[ll.row]
		r.Verdict, r.Robust = dec.Verdict, dec.Robust
		t := ll.tests[0]
		switch {
		case t.N < need:
			r.Need = data.I(int32(need))
			r.Reason = fmt.Sprintf("%d paired seeds: the smallest attainable sign-flip p is %.3g > α = %.2g", t.N, t.MinP, cfg.Alpha)
		case dec.Verdict == VerdictNotTested:
			r.Reason = "lead–lag is asked only of internal transitions coupled to the task jump across cells (coupling: " + b.rows[u.cRow].Verdict + ")"
		case strings.HasPrefix(dec.Verdict, "insufficient"): // enough seeds, but lags of exactly 0
			r.Need = data.I(int32(need + t.N - t.NonZero))
			r.Reason = fmt.Sprintf("%d paired seeds, %d with a lag of exactly 0 (a sign flip changes nothing): the smallest attainable sign-flip p is %.3g > α = %.2g", t.N, t.N-t.NonZero, t.MinP, cfg.Alpha)
		default:
			r.P, r.Q = data.F(t.P), data.F(q[0][0][i])
			if dec.Verdict == VerdictCoincides {
				r.P, r.Q = data.F(t.TOSTP), data.F(q[0][1][i])
			}
			r.Reason = fmt.Sprintf("mean lag %+.3f decades over %d seeds (equivalence margin ±%.3f)", t.MeanLag, t.N, t.Tol)
			switch {
			case dec.Robust:
				r.Reason += "; the same verdict under the 10 % point and the change point"
			case dec.Verdict == VerdictPrecedes || dec.Verdict == VerdictFollows || dec.Verdict == VerdictCoincides:
				r.Reason += fmt.Sprintf("; NOT robust to the onset definition (per definition: %v)", dec.PerOnset)
			}
		}
	}
}

// counted reports whether a cell's curve counts in a specificity test: it exists and was tested,
// or is flat (no transition); a curve that could not be tested is no evidence either way.
func counted(rr *curveResult) bool {
	return rr != nil && (rr.err == nil || errors.Is(rr.err, transition.ErrFlat))
}

// baselineShapes lists the shapes of the never-learning cells that have metric m's curve, when
// none of them is a shape of the learning cells ("" when one is, or when there are none).
func baselineShapes(a *unitAsk, m string, jumpCells, neverCells []string) string {
	if a.cs == nil {
		return "" // no cell coordinates to compare shapes by
	}
	learning := map[shapeKey]bool{}
	for _, c := range jumpCells {
		learning[shapeOf(a.cs.cells[c])] = true
	}
	seen := map[shapeKey]bool{}
	var shapes []shapeKey
	for _, c := range neverCells {
		if !counted(a.res[curveKey{c, a.um.series(m)}]) {
			continue
		}
		sh := shapeOf(a.cs.cells[c])
		if learning[sh] {
			return ""
		}
		if !seen[sh] {
			seen[sh] = true
			shapes = append(shapes, sh)
		}
	}
	slices.SortFunc(shapes, compareShapes)
	var names []string
	for _, sh := range shapes {
		names = append(names, fmt.Sprintf("d_model %d L%d H%d", sh.dModel, sh.nLayers, sh.nHeads))
	}
	return strings.Join(names, ", ")
}
