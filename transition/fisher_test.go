package transition

import (
	"math"
	"testing"
)

func TestSpecificityTest(t *testing.T) {
	// want: scipy 1.10.1 stats.fisher_exact([[a, b], [c, d]], alternative="greater")[1]
	// via /usr/bin/python3 (scripts/goldens_coupling.py).
	for _, tc := range []struct {
		a, b, c, d int
		want       float64
	}{
		{7, 2, 1, 5, 0.034965034965034975},
		{3, 3, 3, 3, 0.7164502164502164},
		{0, 5, 4, 1, 1.0},
		{10, 0, 0, 10, 5.412544112234515e-06},
		{5, 10, 2, 20, 0.07869848026394514},
		{1, 0, 0, 1, 0.5},
		{12, 3, 4, 9, 0.0117198366760892},
	} {
		s := SpecificityTest(tc.a, tc.b, tc.c, tc.d)
		if math.Abs(s.P-tc.want) > 1e-10*math.Max(1, tc.want) || math.Abs(s.P-tc.want)/tc.want > 1e-9 {
			t.Errorf("%v: P = %.15g, want %.15g", tc, s.P, tc.want)
		}
		if s.N != tc.a+tc.b+tc.c+tc.d || s.Null == "" || s.Method == "" {
			t.Errorf("%v: incomplete result %+v", tc, s)
		}
	}
	// Empty comparison group: no p-value, rates as counted.
	s := SpecificityTest(4, 1, 0, 0)
	if !math.IsNaN(s.P) || s.RateJump != 0.8 || !math.IsNaN(s.RateNoJump) {
		t.Errorf("no non-learning cells: %+v, want NaN P, RateJump 0.8", s)
	}
}

// TestSpecificityMinP: the smallest attainable one-sided Fisher p given the margins, and the
// never-learning cells a design needs (closed forms: with 10 of 12 learning cells transitioning
// and none of 2 never-learning ones, the most extreme table is the observed one, p =
// C(12,10)/C(14,10) = 66/1001; 3 never-learning cells give 66/3003 ≤ 0.05, 4 give 66/8008 ≤ 0.01).
func TestSpecificityMinP(t *testing.T) {
	s := SpecificityTest(10, 2, 0, 2)
	if want := 66.0 / 1001; math.Abs(s.MinP-want) > 1e-12 || math.Abs(s.P-want) > 1e-12 {
		t.Errorf("(10,2;0,2): P %v MinP %v, want both %v", s.P, s.MinP, want)
	}
	s = SpecificityTest(5, 7, 1, 5) // margins: 6 transitions, 12 + 6 cells; best table (6,6;0,6)
	if want := 924.0 / 18564; math.Abs(s.MinP-want) > 1e-12 || !(s.P > s.MinP) {
		t.Errorf("(5,7;1,5): P %v MinP %v, want MinP %v < P", s.P, s.MinP, want)
	}
	for _, tc := range []struct {
		a, r1 int
		alpha float64
		want  int
	}{{10, 12, 0.05, 3}, {10, 12, 0.01, 4}, {0, 12, 0.05, 0}, {1, 1, 0.05, 19}, {1, 13, 0.01, 1287}} {
		if got := NoJumpCellsFor(tc.a, tc.r1, tc.alpha); got != tc.want {
			t.Errorf("NoJumpCellsFor(%d, %d, %v) = %d, want %d", tc.a, tc.r1, tc.alpha, got, tc.want)
		}
	}
}
