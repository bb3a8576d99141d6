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
