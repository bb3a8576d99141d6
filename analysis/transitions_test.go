package analysis

import (
	"math"
	"testing"

	"github.com/phaseprobe/phaseprobe/transition"
)

// TestChangeNear: on a two-phase curve whose first (larger) jump lies in the warm-up, the change
// point that stands for the onset is the one of the onset jump's stretch, not the whole curve's.
func TestChangeNear(t *testing.T) {
	steps := []float64{0, 1, 2, 4, 8, 16, 32, 64, 128, 181, 256, 362, 512, 724, 1024}
	x := make([]float64, len(steps))
	y := make([]float64, len(steps))
	for i, s := range steps {
		x[i] = math.Log10(s + 1)
		switch {
		case s < 8: // before the first jump
			y[i] = 0
		case s < 256: // plateau after a jump of 0.6 at step ~6
			y[i] = 0.6
		default: // the second jump, of 0.3, between steps 181 and 256
			y[i] = 0.9
		}
	}
	whole, err := transition.MostSignificantChange(y, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got := steps[whole.Index]; got != 8 {
		t.Fatalf("whole-curve change point at step %v, want 8 (the test's premise)", got)
	}
	jumps := []transition.Jump{{Mid: math.Log10(7), InWarmup: true}, {Mid: math.Log10(220)}}
	r := &curveResult{x: x, y: y, abrupt: true, main: 1, test: transition.CurveTest{Jumps: jumps}, warm: math.Log10(31) + 0.3}
	if got := math.Pow(10, changeNear(r)) - 1; math.Abs(got-256) > 1e-9 {
		t.Errorf("changeNear = step %v, want 256 (the first checkpoint after the onset jump)", got)
	}
	// Without an onset jump the whole curve after the warm-up is searched: the same stretch here.
	r.main = -1
	if got := math.Pow(10, changeNear(r)) - 1; math.Abs(got-256) > 1e-9 {
		t.Errorf("changeNear without onset = step %v, want 256", got)
	}
	// Onset jump 0 of the pair (outside a warm-up): its stretch ends halfway to jump 1.
	r.main, r.warm = 0, math.Inf(-1)
	if got := math.Pow(10, changeNear(r)) - 1; math.Abs(got-8) > 1e-9 {
		t.Errorf("changeNear for the first jump = step %v, want 8", got)
	}
	r.err = transition.ErrFlat
	if got := changeNear(r); !math.IsNaN(got) {
		t.Errorf("changeNear of a failed test = %v, want NaN", got)
	}
}
