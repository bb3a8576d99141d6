package analysis

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/phaseprobe/phaseprobe/data"
	"github.com/phaseprobe/phaseprobe/transition"
)

func reachOf(rs []Reach, q string) Reach {
	for _, r := range rs {
		if r.Question == q {
			return r
		}
	}
	return Reach{}
}

// TestDesignReachAgreesWithTheTests: what plan says a grid can reach must be what the tests can
// give on that grid. For each design, perfectly concordant onsets (the strongest coupling the
// cells can show) are run through transition.Couple: the coupling reach is yes exactly when that
// smallest p reaches α, and it names the rank group exactly when the Bonferroni factor of the
// largest measure group lifts it above α. The lead–lag and scale reaches follow the sign-flip
// minimum (2/2ⁿ ≤ α) and TestScale's MinWidths and MinSeeds. The expected cases are the ones
// docs/inference.md §3 quotes: 3 widths of 2 seeds cannot (p ≥ 1/8), 2 widths of 3 seeds reach
// 1/36 alone but not 5 × 1/36.
func TestDesignReachAgreesWithTheTests(t *testing.T) {
	d := DefaultDecisions()
	g := float64(maxGroupSize())
	if g != 5 {
		t.Fatalf("largest measure group %g, want the 5 rank measures", g)
	}
	for _, tc := range []struct {
		widths, seeds                  int
		coupling, group, leadLag, scal bool
	}{
		{3, 2, false, false, false, false},
		{2, 3, true, false, false, false},
		{3, 3, true, true, false, false},
		{1, 5, false, false, false, false}, // 5 cells < 6
		{3, 8, true, true, true, false},    // the demo
		{5, 3, true, true, false, true},
		{8, 8, true, true, true, true},
	} {
		f := DesignFamily{Task: "addition", NLayers: 2, NHeads: 4}
		var task, internal []float64
		var strata []int
		for w := range tc.widths {
			f.Widths = append(f.Widths, 16<<w)
			f.Seeds = append(f.Seeds, tc.seeds)
			for s := range tc.seeds {
				v := 2 + 0.1*float64(s) + 0.01*float64(w)
				task, internal, strata = append(task, v), append(internal, v-0.05), append(strata, w)
			}
		}
		rs := d.DesignReach(f)
		c, err := transition.Couple(internal, task, strata, transition.DefaultCoupleConfig(), rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		testOK := !c.Insufficient && c.MinP <= d.Alpha
		cr := reachOf(rs, data.QuestionCoupling)
		if cr.OK != testOK || cr.OK != tc.coupling {
			t.Errorf("%d widths × %d seeds: coupling reach %v (%s); the test's smallest p %.3g (insufficient %v); want %v", tc.widths, tc.seeds, cr.OK, cr.Text, c.MinP, c.Insufficient, tc.coupling)
		}
		groupOK := testOK && c.MinP*g <= d.Alpha
		head, _, _ := strings.Cut(cr.Text, "; if d_model") // the full design's clause
		if named := strings.Contains(head, "not for the"); cr.OK && named == groupOK || groupOK != tc.group {
			t.Errorf("%d widths × %d seeds: coupling text %q, the group's smallest p %.3g", tc.widths, tc.seeds, cr.Text, c.MinP*g)
		}
		if lr := reachOf(rs, data.QuestionLeadLag); lr.OK != tc.leadLag || lr.OK != (2/float64(uint64(1)<<tc.seeds) <= d.Alpha) {
			t.Errorf("%d seeds: lead–lag reach %v (%s), want %v", tc.seeds, lr.OK, lr.Text, tc.leadLag)
		}
		if sr := reachOf(rs, data.QuestionScale); sr.OK != tc.scal || !sr.Known {
			t.Errorf("%d widths × %d seeds: scale reach %v (%s), want %v", tc.widths, tc.seeds, sr.OK, sr.Text, tc.scal)
		}
		for _, q := range []string{data.QuestionSpecificity, data.QuestionMirage} {
			if r := reachOf(rs, q); r.Known || r.Text == "" {
				t.Errorf("%s reach %+v: depends on which cells learn, so it must be unknown, with what it needs", q, r)
			}
		}
		// With the narrowest width as the never-learning baseline: coupling on the other widths
		// (transition.Couple on their cells) and the best specificity split (SpecificityTest).
		if tc.widths >= 2 && cr.OK {
			n := tc.seeds * (tc.widths - 1)
			rc, err := transition.Couple(internal[tc.seeds:], task[tc.seeds:], strata[tc.seeds:], transition.DefaultCoupleConfig(), rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			restGroup := !rc.Insufficient && rc.MinP*g <= d.Alpha
			if said := strings.Contains(cr.Text, "if d_model 16 never learns"); said == restGroup {
				t.Errorf("%d widths × %d seeds without d_model 16: smallest p %.3g (insufficient %v), text %q", tc.widths, tc.seeds, rc.MinP, rc.Insufficient, cr.Text)
			}
			sp := transition.SpecificityTest(n, 0, 0, tc.seeds).P
			if sr := reachOf(rs, data.QuestionSpecificity); !strings.Contains(sr.Text, fmt.Sprintf("best split gives p %.3g", sp)) || strings.Contains(sr.Text, "not for the") != (sp <= d.Alpha && sp*g > d.Alpha) {
				t.Errorf("%d widths × %d seeds: specificity text %q, best split p %.3g", tc.widths, tc.seeds, sr.Text, sp)
			}
		}
	}
}

// TestDesignReachFewCheckpoints: with fewer checkpoints than the window test's segment needs, no
// mirage verdict can be reached, and plan says so.
func TestDesignReachFewCheckpoints(t *testing.T) {
	f := DesignFamily{Task: "addition", NLayers: 2, NHeads: 4, Widths: []int{32}, Seeds: []int{8}, Checkpoints: transition.DefaultWindowConfig().Degree + 4}
	if r := reachOf(DefaultDecisions().DesignReach(f), data.QuestionMirage); !r.Known || r.OK {
		t.Errorf("%d checkpoints: mirage reach %+v, want a known no", f.Checkpoints, r)
	}
	// Below the curve test's minimum nothing that needs a capability jump can be decided either.
	f.Checkpoints = transition.MinCurvePoints - 1
	// (mirage is asked of the seeds that learn, not of abrupt curves: its limit is the window test's)
	for q, test := range map[string]string{data.QuestionCoupling: "curve test needs", data.QuestionLeadLag: "curve test needs",
		data.QuestionSpecificity: "curve test needs", data.QuestionMirage: "window test needs"} {
		if r := reachOf(DefaultDecisions().DesignReach(f), q); !r.Known || r.OK || !strings.Contains(r.Text, test) {
			t.Errorf("%d checkpoints: %s reach %+v, want a known no naming %q", f.Checkpoints, q, r, test)
		}
	}
	f.Checkpoints = 29
	if r := reachOf(DefaultDecisions().DesignReach(f), data.QuestionMirage); r.Known {
		t.Errorf("29 checkpoints: mirage reach %+v, want unknown (it depends on which seeds learn)", r)
	}
}

// TestCheckpointSpacing: the median log10 gap after step 0 (closed forms: steps 9, 99, 999 are one
// decade apart in step+1).
func TestCheckpointSpacing(t *testing.T) {
	if got := CheckpointSpacing([]int{0, 9, 99, 999}); got < 1-1e-12 || got > 1+1e-12 {
		t.Errorf("spacing of 0, 9, 99, 999: %g, want 1", got)
	}
	if got := CheckpointSpacing([]int{0, 9, 99, 999, 1999}); got < 1-1e-12 || got > 1+1e-12 {
		t.Errorf("median spacing: %g, want 1", got)
	}
	if got := CheckpointSpacing([]int{0}); got == got {
		t.Errorf("one checkpoint: %g, want NaN", got)
	}
}
