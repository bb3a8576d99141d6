package analysis

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/phaseprobe/phaseprobe/transition"
)

func TestDecideCoupling(t *testing.T) {
	cfg := DefaultDecisionConfig()
	rng := rand.New(rand.NewPCG(1, 1))
	// 9 cells in 3 strata of 3, perfectly concordant: exact P = MinP = 1/216.
	task := []float64{1, 1.1, 1.2, 2, 2.1, 2.2, 3, 3.1, 3.2}
	c9, err := transition.Couple(task, task, []int{0, 0, 0, 1, 1, 1, 2, 2, 2}, transition.DefaultCoupleConfig(), rng)
	if err != nil {
		t.Fatal(err)
	}
	// 6 cells in 3 strata of 2: MinP = 1/8 > α whatever the data.
	c6, _ := transition.Couple(task[:6], task[:6], []int{0, 0, 1, 1, 2, 2}, transition.DefaultCoupleConfig(), rng)
	// 5 paired cells: below MinCells.
	c5, _ := transition.Couple(task[:5], task[:5], nil, transition.DefaultCoupleConfig(), rng)
	for _, tc := range []struct {
		name, metric string
		c            transition.Coupling
		q            float64
		want         string
	}{
		{"q below level", "probe_accuracy", c9, 0.04, VerdictCoupled},
		{"q at level", "probe_accuracy", c9, 0.05, VerdictCoupled},
		{"q above level", "probe_accuracy", c9, 0.06, VerdictNotCoupled},
		{"control", "probe_control_accuracy", c9, 0.001, VerdictControl},
		{"shuffled", "probe_shuffled_accuracy", c9, 0.001, VerdictControl},
		{"too few cells", "probe_accuracy", c5, math.NaN(), "insufficient cells (need 6)"},
		// (1/3!)³ = 1/216 ≤ 0.05 < (1/2!)³: 3 strata need 3 cells each.
		{"strata too small", "probe_accuracy", c6, 0.001, "insufficient cells (need 9)"},
	} {
		if got := DecideCoupling(tc.metric, tc.c, tc.q, cfg); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	if math.Abs(c9.P-1.0/216) > 1e-15 {
		t.Errorf("concordant 3×3: P = %v, want 1/216", c9.P)
	}
}

func TestDecideLeadLag(t *testing.T) {
	cfg := DefaultDecisionConfig()
	lead := transition.LeadLag{N: 10, MeanLag: -0.1}
	lag := transition.LeadLag{N: 10, MeanLag: 0.1}
	few := transition.LeadLag{N: 5, MeanLag: -0.1}
	ev := func(r transition.LeadLag, q, tq float64) LeadLagEvidence {
		return LeadLagEvidence{Onset: "sigmoid midpoint", Result: r, Q: q, TOSTQ: tq}
	}
	for _, tc := range []struct {
		name, metric, coupling string
		ev                     []LeadLagEvidence
		want                   string
		robust                 bool
	}{
		{"precedes", "m", VerdictCoupled, []LeadLagEvidence{ev(lead, 0.01, 0.5)}, VerdictPrecedes, true},
		{"follows", "m", VerdictCoupled, []LeadLagEvidence{ev(lag, 0.01, 0.5)}, VerdictFollows, true},
		{"coincides", "m", VerdictCoupled, []LeadLagEvidence{ev(lag, 0.3, 0.01)}, VerdictCoincides, true},
		{"directional wins over coincides", "m", VerdictCoupled, []LeadLagEvidence{ev(lead, 0.01, 0.01)}, VerdictPrecedes, true},
		{"nothing shown", "m", VerdictCoupled, []LeadLagEvidence{ev(lead, 0.2, 0.3)}, VerdictNoLeadLag, false},
		{"no coupling shown", "m", VerdictNotCoupled, []LeadLagEvidence{ev(lead, 0.001, 0.001)}, VerdictNotTested, false},
		{"insufficient cells is not coupled", "m", "insufficient cells (need 6)", []LeadLagEvidence{ev(lead, 0.001, 0.001)}, VerdictNotTested, false},
		// 5 seeds: 2/2⁵ = 0.0625 > α, so no verdict even with a tiny q.
		{"too few seeds", "m", VerdictCoupled, []LeadLagEvidence{ev(few, 0.001, 0.001)}, "insufficient seeds (need 6)", false},
		{"too few seeds before the gate", "m", VerdictNotCoupled, []LeadLagEvidence{ev(few, 0.001, 0.001)}, "insufficient seeds (need 6)", false},
		{"control", "probe_control_accuracy", VerdictCoupled, []LeadLagEvidence{ev(lead, 0.001, 0.5)}, VerdictControl, false},
		{"robust over three onsets", "m", VerdictCoupled, []LeadLagEvidence{ev(lead, 0.01, 0.5), ev(lead, 0.02, 0.5), ev(lead, 0.04, 0.5)}, VerdictPrecedes, true},
		{"one onset disagrees", "m", VerdictCoupled, []LeadLagEvidence{ev(lead, 0.01, 0.5), ev(lead, 0.02, 0.5), ev(lead, 0.2, 0.5)}, VerdictPrecedes, false},
		{"opposite sign under another onset", "m", VerdictCoupled, []LeadLagEvidence{ev(lead, 0.01, 0.5), ev(lag, 0.01, 0.5)}, VerdictPrecedes, false},
	} {
		d := DecideLeadLag(tc.metric, tc.coupling, tc.ev, cfg)
		if d.Verdict != tc.want || d.Robust != tc.robust || len(d.PerOnset) != len(tc.ev) {
			t.Errorf("%s: %+v, want verdict %q robust %v", tc.name, d, tc.want, tc.robust)
		}
	}
}

func TestDecideSpecificity(t *testing.T) {
	cfg := DefaultDecisionConfig()
	for _, tc := range []struct {
		name, metric string
		s            transition.Specificity
		q            float64
		want         string
	}{
		// scipy fisher_exact([[7, 2], [1, 5]], "greater") = 0.035 (transition/fisher_test.go).
		{"specific", "m", transition.SpecificityTest(7, 2, 1, 5), 0.035, VerdictSpecific},
		{"not shown specific", "m", transition.SpecificityTest(3, 3, 3, 3), 0.72, VerdictNotSpecific},
		{"no non-learning cells", "m", transition.SpecificityTest(6, 0, 0, 0), math.NaN(), VerdictNoNonLearning},
		{"no learning cells", "m", transition.SpecificityTest(0, 0, 2, 4), math.NaN(), VerdictNoLearning},
		{"control", "probe_shuffled_accuracy", transition.SpecificityTest(7, 2, 1, 5), 0.035, VerdictControl},
	} {
		if got := DecideSpecificity(tc.metric, tc.s, tc.q, cfg); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
