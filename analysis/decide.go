package analysis

import (
	"fmt"
	"math"
	"slices"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/transition"
)

// DecisionConfig holds the levels at which test results become verdicts.
// These functions are the only place where α and the FDR level are applied:
// the tests in package transition return p-values, and q-values come from
// transition.BHTo over each family of rows.
type DecisionConfig struct {
	// Alpha is the per-test level: a design whose smallest attainable p is
	// above it cannot give a verdict ("insufficient ...").
	Alpha float64
	// FDRLevel is the Benjamini–Hochberg level: a row is a discovery when its
	// q ≤ FDRLevel.
	FDRLevel float64
	// Controls are the metric names of baselines (control-task and
	// shuffled-label probes): they never get a verdict.
	Controls []string
}

// DefaultDecisionConfig returns α = 0.05, FDR level 0.05, and the control
// metrics of data's vocabulary (data.MetricNames(data.KindControl): the probe
// baselines probe_control_accuracy, the Hewitt & Liang 2019 control task, and
// probe_shuffled_accuracy) as controls.
func DefaultDecisionConfig() DecisionConfig {
	return DecisionConfig{
		Alpha:    0.05,
		FDRLevel: 0.05,
		Controls: data.MetricNames(data.KindControl),
	}
}

// Verdict strings. Those with a count are built by the functions below.
const (
	VerdictControl        = "no verdict (control)"
	VerdictCoupled        = "coupled"
	VerdictNotCoupled     = "no coupling shown"
	VerdictNotTested      = "not tested (no coupling shown)"
	VerdictPrecedes       = "precedes"
	VerdictFollows        = "follows"
	VerdictCoincides      = "coincides"
	VerdictNoLeadLag      = "no lead or lag shown"
	VerdictSpecific       = "specific"
	VerdictNotSpecific    = "not shown specific"
	VerdictNoNonLearning  = "undetermined (no non-learning cells)"
	VerdictTiedOnsets     = "insufficient cells (tied onsets)"
	VerdictNoLearning     = "undetermined (no learning cells)"
	verdictInsufficientFm = "insufficient %s (need %d)"
)

// IsControl reports whether metric is one of cfg.Controls.
func (cfg DecisionConfig) IsControl(metric string) bool { return slices.Contains(cfg.Controls, metric) }

// DecideCoupling turns the coupling test of an (internal, task) curve pair
// across cells into a verdict, the first that applies of
//
//	VerdictControl                   metric is a control
//	"insufficient cells (need N)"    fewer paired cells than c.MinCells (N = c.MinCells)
//	"insufficient cells (need N)"    enough cells, but the strata are so small that
//	                                 the smallest attainable p exceeds Alpha; N is the
//	                                 number of cells in as many strata, of equal size,
//	                                 that would reach it
//	VerdictTiedOnsets                as many cells as that, but tied onsets within widths
//	                                 leave too few distinct orderings to reach Alpha
//	VerdictCoupled                   q ≤ FDRLevel (q: BH over the family of coupling rows)
//	VerdictNotCoupled                otherwise.
//
// The second rule is a refinement of the design rule "paired cells ≥ min":
// 6 cells in 3 strata of 2 allow only 2³ permutations, so P ≥ 1/8.
func DecideCoupling(metric string, c transition.Coupling, q float64, cfg DecisionConfig) string {
	switch {
	case cfg.IsControl(metric):
		return VerdictControl
	case c.Insufficient:
		return fmt.Sprintf(verdictInsufficientFm, "cells", c.MinCells)
	case !(c.MinP <= cfg.Alpha):
		if need := couplingCellsFor(c, cfg.Alpha); need > 0 {
			return fmt.Sprintf(verdictInsufficientFm, "cells", need)
		}
		return VerdictTiedOnsets
	case q <= cfg.FDRLevel:
		return VerdictCoupled
	}
	return VerdictNotCoupled
}

// couplingCellsFor is the number of cells, in c.Strata strata of equal size without ties, whose
// permutation test can reach alpha; 0 when c already has that many, so that ties among its
// onsets, not the count of cells, keep its smallest p above alpha.
func couplingCellsFor(c transition.Coupling, alpha float64) int {
	if need := c.Strata * seedsPerStratumFor(alpha, c.Strata); need > c.N {
		return need
	}
	return 0
}

// seedsPerStratumFor returns the smallest n with (1/n!)^strata ≤ alpha: the
// seeds per stratum an exact within-stratum permutation test needs to reach
// alpha.
func seedsPerStratumFor(alpha float64, strata int) int {
	n := 2
	for {
		lg, _ := math.Lgamma(float64(n + 1))
		if -float64(strata)*lg <= math.Log(alpha) {
			return n
		}
		n++
	}
}

// LeadLagEvidence is the lead–lag test of one (internal, task) curve pair in
// one shape under one onset definition, with its q-values.
type LeadLagEvidence struct {
	// Onset names the onset definition (sigmoid midpoint, 10 % point, change
	// point).
	Onset  string
	Result transition.LeadLag
	// Q and TOSTQ are the BH q-values of Result.P and Result.TOSTP over the
	// family of lead–lag rows that receive a verdict (the coupled curves').
	Q, TOSTQ float64
}

// LeadLagDecision is the verdict on one (internal, task) pair in one shape.
type LeadLagDecision struct {
	// Verdict is the verdict under the first onset definition.
	Verdict string
	// Robust reports that Verdict is precedes, follows or coincides and every
	// onset definition gives the same verdict.
	Robust bool
	// PerOnset holds the verdict under each definition, in the order given.
	PerOnset []string
}

// DecideLeadLag turns lead–lag tests into a verdict. ev holds one entry per
// onset definition (the first is the primary one); coupling is the
// DecideCoupling verdict of the same curve pair. For each definition the
// verdict is the first that applies of
//
//	VerdictControl                    metric is a control
//	"insufficient seeds (need N)"     fewer paired seeds than N = MinSeedsFor(Alpha):
//	                                  the sign-flip test cannot reach Alpha
//	VerdictNotTested                  coupling is not VerdictCoupled
//	VerdictPrecedes / VerdictFollows  Q ≤ FDRLevel; the sign of the mean lag says which
//	VerdictCoincides                  TOSTQ ≤ FDRLevel: the lag is within ±Tol
//	"insufficient seeds (need N)"     MinP > Alpha: lags exactly 0 leave too few
//	                                  informative ones (N counts the zeros on top)
//	VerdictNoLeadLag                  otherwise.
//
// The gate on coupling keeps onsets that are unrelated but merely differ, or
// share a mean, from earning a directional or "coincides" verdict: a lag is
// only read for curves whose onsets move together across cells. A lead
// smaller than Tol but shown by the sign-flip test is "precedes" (the row's
// lag says how large it is). The seed rule comes first so that a design that
// cannot support a lead–lag claim says so whatever the data. The verdict is
// "robust" only if every definition agrees.
//
// DecideLeadLag panics if ev is empty.
func DecideLeadLag(metric, coupling string, ev []LeadLagEvidence, cfg DecisionConfig) LeadLagDecision {
	if len(ev) == 0 {
		panic("analysis: DecideLeadLag needs at least one onset definition")
	}
	d := LeadLagDecision{PerOnset: make([]string, len(ev))}
	need := transition.MinSeedsFor(cfg.Alpha)
	for i, e := range ev {
		r := e.Result
		switch {
		case cfg.IsControl(metric):
			d.PerOnset[i] = VerdictControl
		case r.N < need:
			d.PerOnset[i] = fmt.Sprintf(verdictInsufficientFm, "seeds", need)
		case coupling != VerdictCoupled:
			d.PerOnset[i] = VerdictNotTested
		case e.Q <= cfg.FDRLevel && r.MeanLag < 0:
			d.PerOnset[i] = VerdictPrecedes
		case e.Q <= cfg.FDRLevel && r.MeanLag > 0:
			d.PerOnset[i] = VerdictFollows
		case e.TOSTQ <= cfg.FDRLevel:
			d.PerOnset[i] = VerdictCoincides
		case !(r.MinP <= cfg.Alpha):
			// Enough seeds, but some lags are exactly 0: the sign-flip test could not reach α,
			// so "no lead or lag shown" would claim what the design cannot show.
			d.PerOnset[i] = fmt.Sprintf(verdictInsufficientFm, "seeds", need+r.N-r.NonZero)
		default:
			d.PerOnset[i] = VerdictNoLeadLag
		}
	}
	d.Verdict = d.PerOnset[0]
	switch d.Verdict {
	case VerdictPrecedes, VerdictFollows, VerdictCoincides:
		d.Robust = true
		for _, v := range d.PerOnset {
			if v != d.Verdict {
				d.Robust = false
			}
		}
	}
	return d
}

// DecideSpecificity turns a specificity test into a verdict, the first that
// applies of
//
//	VerdictControl          metric is a control
//	VerdictNoNonLearning    no cell whose task never jumps
//	VerdictNoLearning       no cell whose task jumps
//	VerdictSpecific         q ≤ FDRLevel (q: BH over the family of specificity rows)
//	"insufficient non-learning cells (need N)"
//	                        some learning cells transition, no table with the observed
//	                        margins reaches Alpha (s.MinP > Alpha), and there are fewer
//	                        never-learning cells than N = transition.NoJumpCellsFor, the
//	                        number that would reach Alpha were none of them to transition
//	                        (the caller passes Alpha divided by a Bonferroni group's size)
//	VerdictNotSpecific      otherwise.
func DecideSpecificity(metric string, s transition.Specificity, q float64, cfg DecisionConfig) string {
	switch {
	case cfg.IsControl(metric):
		return VerdictControl
	case s.NoJumpWith+s.NoJumpWithout == 0:
		return VerdictNoNonLearning
	case s.JumpWith+s.JumpWithout == 0:
		return VerdictNoLearning
	case q <= cfg.FDRLevel:
		return VerdictSpecific
	case s.JumpWith > 0 && !(s.MinP <= cfg.Alpha):
		// No table with the observed margins reaches α. That is a shortage of never-learning
		// cells only if a clean baseline (none of them transitioning) could not reach α
		// either; otherwise their own transitions are the reason, evidence against
		// specificity, and the verdict is "not shown specific".
		if need := transition.NoJumpCellsFor(s.JumpWith, s.JumpWith+s.JumpWithout, cfg.Alpha); need > s.NoJumpWith+s.NoJumpWithout {
			return fmt.Sprintf(verdictInsufficientFm, "non-learning cells", need)
		}
	}
	return VerdictNotSpecific
}
