package analysis

import (
	"fmt"
	"math"
	"slices"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/transition"
)

// DesignFamily is one family of widths of a planned sweep (shapes that differ only by d_model: one
// task, n_layers and n_heads): its widths, ascending, and the seeds at each.
type DesignFamily struct {
	Task            string
	NLayers, NHeads int
	Widths          []int
	Seeds           []int // Seeds[k]: the seeds at Widths[k]
	// Checkpoints is the number of distinct checkpoints of a cell (step 0 included); 0 when not
	// known.
	Checkpoints int
}

// Reach is what a planned grid allows one verdict question before anything is trained: whether
// the grid meets the question's minimum, and what it needs. A grid that meets it can still get
// "insufficient ..." when too few cells learn or jump; one that misses it cannot get a verdict.
type Reach struct {
	Question string // data.Question*
	// OK reports that the grid meets the minimum. Where the minimum depends on results (cells
	// that never learn, seeds that learn), Known is false and OK says nothing.
	OK, Known bool
	Text      string
}

// leadLagAdvised is the number of seeds a shape needs in practice for a lead–lag verdict
// (docs/inference.md §5: with BH over the coupled units, the chain simulation found a true
// 0.1-decade lead in 11 % of units at 6 seeds and 95 % at 10).
const leadLagAdvised = 8

// DesignReach returns, for each verdict question asked of family f, what the grid allows under
// d's levels and minimums: the same rules that decide the verdicts (coupling's smallest
// stratified permutation p, lead–lag's sign-flip minimum, scale's widths and seeds), applied to the
// grid as if every cell had the capability jump — so an OK is necessary, never sufficient. The
// questions come in the order coupling, lead–lag, scale, specificity, mirage.
func (d Decisions) DesignReach(f DesignFamily) []Reach {
	cells, minSeeds := 0, 0
	for k, n := range f.Seeds {
		cells += n
		if k == 0 || n < minSeeds {
			minSeeds = n
		}
	}
	g := maxGroupSize()
	// Below the curve test's minimum no curve is found abrupt: no cell has the capability jump or
	// an internal onset, so nothing that needs them can be decided (scale is asked at the final
	// checkpoint and mirage of the seeds that learn, not of abrupt curves).
	if f.Checkpoints > 0 && f.Checkpoints < transition.MinCurvePoints {
		no := func(q string) Reach {
			return Reach{Question: q, Known: true, Text: fmt.Sprintf("%d checkpoints: the curve test needs %d, so no cell can have the capability jump", f.Checkpoints, transition.MinCurvePoints)}
		}
		return []Reach{no(data.QuestionCoupling), no(data.QuestionLeadLag), d.scaleReach(f, minSeeds), no(data.QuestionSpecificity), d.mirageReach(f)}
	}
	return []Reach{d.couplingReach(f, cells, minSeeds, g), d.leadLagReach(minSeeds), d.scaleReach(f, minSeeds), d.specificityReach(f, cells, g), d.mirageReach(f)}
}

// reach is a Reach with its text formatted.
func reach(q string, ok, known bool, format string, a ...any) Reach {
	return Reach{Question: q, OK: ok, Known: known, Text: fmt.Sprintf(format, a...)}
}

// couplingReach: exact permutations within widths, the smallest p Π 1/n_k! (no ties),
// Bonferroni-corrected over the largest measure group (g measures); and, since a narrowest width
// meant as the never-learning baseline adds no coupling evidence, what the other widths reach
// alone.
func (d Decisions) couplingReach(f DesignFamily, cells, minSeeds, g int) Reach {
	q := data.QuestionCoupling
	minP := couplingMinP(f.Seeds)
	var r Reach
	switch {
	case cells < d.MinCells:
		return reach(q, false, true, "%d cells (need %d with the capability jump)", cells, d.MinCells)
	case minP > d.Alpha:
		return reach(q, false, true, "%s of %d seeds: the permutation test's smallest p is %.3g > α %g (need %d seeds a width)",
			widths(len(f.Widths)), minSeeds, minP, d.Alpha, seedsPerStratumFor(d.Alpha, len(f.Widths)))
	case minP*float64(g) > d.Alpha:
		r = reach(q, true, true, "%d cells in %s, if ≥ %d have the capability jump; smallest p %.3g reaches α for a single measure, not for the %d rank measures (Bonferroni; need %d seeds a width)",
			cells, widths(len(f.Widths)), d.MinCells, minP, g, seedsPerStratumFor(d.Alpha/float64(g), len(f.Widths)))
	default:
		r = reach(q, true, true, "%d cells in %s, if ≥ %d have the capability jump (smallest p %.3g)", cells, widths(len(f.Widths)), d.MinCells, minP)
	}
	if len(f.Widths) < 2 {
		return r
	}
	rest := f.Seeds[1:]
	n, p := 0, couplingMinP(rest)
	for _, k := range rest {
		n += k
	}
	switch {
	case n < d.MinCells:
		r.Text += fmt.Sprintf("; if d_model %d never learns, %d cells: too few", f.Widths[0], n)
	case p > d.Alpha:
		r.Text += fmt.Sprintf("; if d_model %d never learns, smallest p %.3g: none", f.Widths[0], p)
	case p*float64(g) > d.Alpha:
		r.Text += fmt.Sprintf("; if d_model %d never learns, smallest p %.3g: not for the %d rank measures", f.Widths[0], p, g)
	}
	return r
}

// leadLagReach: per shape, exact sign flips, smallest p 2/2ⁿ.
func (d Decisions) leadLagReach(minSeeds int) Reach {
	q, need := data.QuestionLeadLag, transition.MinSeedsFor(d.Alpha)
	switch {
	case minSeeds < need:
		return reach(q, false, true, "%d seeds a shape (need %d: the sign-flip test's smallest p is 2/2ⁿ; %d–10 advised)", minSeeds, need, leadLagAdvised)
	case minSeeds < leadLagAdvised:
		return reach(q, true, true, "%d seeds a shape meets the minimum of %d (if every one has the capability jump, in a coupled unit), with little power after the FDR step (%d–10 advised: a true 0.1-decade lead was found in 11 %% of units at 6 seeds, 95 %% at 10)", minSeeds, need, leadLagAdvised)
	}
	return reach(q, true, true, "%d seeds a shape (a verdict needs %d of them with the capability jump, in a coupled unit)", minSeeds, need)
}

// scaleReach: widths and seeds at each.
func (d Decisions) scaleReach(f DesignFamily, minSeeds int) Reach {
	q, sc := data.QuestionScale, transition.DefaultScaleConfig()
	switch {
	case len(f.Widths) < d.MinWidths:
		return reach(q, false, true, "not assessed: %d widths (need %d)", len(f.Widths), d.MinWidths)
	case minSeeds < sc.MinSeeds:
		return reach(q, false, true, "%d seeds at a width (need %d)", minSeeds, sc.MinSeeds)
	case minSeeds < 8 || len(f.Widths) < 8:
		return reach(q, true, true, "%d widths × %d seeds: meets the minimum; a modest step on a rising trend needs about 8 × 8", len(f.Widths), minSeeds)
	}
	return reach(q, true, true, "%d widths × %d seeds", len(f.Widths), minSeeds)
}

// specificityReach depends on which cells never learn; it gives the best the narrowest width can
// give as the only baseline: every other cell transitions, none of its cells does.
func (d Decisions) specificityReach(f DesignFamily, cells, g int) Reach {
	spec := fmt.Sprintf("needs cells of the task that never learn (final exact match < %g): a narrower width or a 1-layer shape", d.NeverLearned)
	if len(f.Widths) >= 2 {
		nl := cells - f.Seeds[0]
		p := transition.SpecificityTest(nl, 0, 0, f.Seeds[0]).P
		spec += fmt.Sprintf("; with d_model %d as the only baseline the best split gives p %.3g", f.Widths[0], p)
		switch {
		case p > d.Alpha:
			spec += fmt.Sprintf(": none (need %d never-learning cells)", transition.NoJumpCellsFor(nl, nl, d.Alpha))
		case p*float64(g) > d.Alpha:
			spec += fmt.Sprintf(": not for the %d rank measures (need %d never-learning cells)", g, transition.NoJumpCellsFor(nl, nl, d.Alpha/float64(g)))
		}
	}
	return Reach{Question: data.QuestionSpecificity, Text: spec}
}

// mirageReach depends on which seeds learn, unless the cells have fewer checkpoints than the
// window test's segment needs.
func (d Decisions) mirageReach(f DesignFamily) Reach {
	if win := windowPoints(); f.Checkpoints > 0 && f.Checkpoints < win {
		return reach(data.QuestionMirage, false, true, "%d checkpoints: the window test needs %d on its segment", f.Checkpoints, win)
	}
	return reach(data.QuestionMirage, false, false, "needs seeds that learn (final exact match ≥ %g), with checkpoints on both sides of exact match's rise", d.Learned)
}

// widths is "1 width" or "n widths".
func widths(n int) string {
	if n == 1 {
		return "1 width"
	}
	return fmt.Sprintf("%d widths", n)
}

// couplingMinP is the stratified permutation test's smallest p with seeds[k] cells in width k
// and no tied onsets: Π 1/n_k!.
func couplingMinP(seeds []int) float64 {
	ln := 0.0
	for _, n := range seeds {
		lg, _ := math.Lgamma(float64(n + 1))
		ln -= lg
	}
	return math.Exp(ln)
}

// windowPoints is the fewest checkpoints the mirage window test's segment needs
// (Degree + 5 of transition.DefaultWindowConfig).
func windowPoints() int { return transition.DefaultWindowConfig().Degree + 5 }

// maxGroupSize is the size of the largest group of near-identical internal measures (the rank
// measures): the Bonferroni factor on the smallest p of a unit.
func maxGroupSize() int {
	n := map[string]int{}
	for _, m := range data.MetricNames(data.KindInternal) {
		if info, ok := data.LookupMetric(m); ok && info.Group != "" {
			n[info.Group]++
		}
	}
	g := 1
	for _, v := range n {
		g = max(g, v)
	}
	return g
}

// CheckpointSpacing is the median distance in decades of step+1 between consecutive checkpoints
// after step 0: on the demo's log-spaced grid 0.1. A jump narrower than about one spacing is
// resolved only when a checkpoint falls near its midpoint (docs/inference.md §1).
func CheckpointSpacing(steps []int) float64 {
	var gaps []float64
	for i := 1; i < len(steps); i++ {
		if steps[i-1] > 0 {
			gaps = append(gaps, math.Log10(float64(steps[i]+1))-math.Log10(float64(steps[i-1]+1)))
		}
	}
	if len(gaps) == 0 {
		return math.NaN()
	}
	slices.Sort(gaps)
	if n := len(gaps); n%2 == 1 {
		return gaps[n/2]
	} else {
		return (gaps[n/2-1] + gaps[n/2]) / 2
	}
}
