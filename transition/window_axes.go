package transition

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Time axes of a window test (WindowTest.Axis).
const (
	AxisLogStep  = "log step"                     // x = log10(step + 1)
	AxisLogCumLR = "log cumulative learning rate" // u = log10(η(t) + η(1))
)

// CumLRAxis returns the cumulative-learning-rate axis u_i = log10(η_i + η₁) of checkpoints whose
// cumulative learning rates are eta (η(t) = Σ_{s ≤ t} lr(s), non-decreasing; η₁ the first
// positive one, the first step's rate, as log10(step + 1) adds one step), and whether it is
// strictly increasing: it is not where the learning rate is 0 between two checkpoints, or where
// eta is empty, all 0 or not finite.
func CumLRAxis(eta []float64) ([]float64, bool) {
	first := math.NaN()
	for _, e := range eta {
		if e > 0 {
			first = e
			break
		}
	}
	if math.IsNaN(first) {
		return nil, false
	}
	u := make([]float64, len(eta))
	for i, e := range eta {
		u[i] = math.Log10(e + first)
		if math.IsNaN(u[i]) || math.IsInf(u[i], 0) || i > 0 && !(u[i] > u[i-1]) {
			return nil, false
		}
	}
	return u, true
}

// TestWindowAxes is TestWindow asked on two time axes of the same checkpoints: log step x, and the
// log cumulative learning rate u (CumLRAxis; nil for x alone). A curve that changes smoothly in
// the cumulative learning rate — the relaxation the curve test's null holds (Schedule) — bends in
// log step where the schedule does: at the end of a linear warm-up, where η(t) ∝ t² turns into
// η(t) ∝ t, and where a cosine decay slows learning down. A local polynomial in x reads that bend
// as a step. On the demo's schedule (30 warm-up steps, cosine decay to step 600), per-position
// accuracies that relax exponentially in η "jumped" with exact match in 23–25 % of trials
// (window_axes_test.go), most with the window at the warm-up's end.
//
// The null is the union "smooth in x, or smooth in u" on the segment; it is rejected only when
// both are (an intersection–union test, level α without correction: Berger 1982), so P is the
// larger of the two p-values. The curve is ShownSmooth when it is shown smooth on either axis: no
// step beyond Delta of the range on top of a smooth trend in log step, or in the cumulative
// learning rate. The other numbers (jump, interval, fit) are those of one axis, named in Axis: an
// axis the curve is shown smooth on (the one with the larger p if both), else the one with the
// larger p. The window [lo, hi] is given on x and mapped to u through the checkpoints (linear
// interpolation between neighbouring checkpoints when lo or hi is not one). With u nil, or when
// the test on u fails (too few checkpoints on that axis's segment), the result is x's. x and u
// must have y's length.
func TestWindowAxes(x, u, y []float64, lo, hi float64, cfg WindowConfig, rng *rand.Rand) (WindowTest, error) {
	wx, err := TestWindow(x, y, lo, hi, cfg, rng)
	if err != nil {
		return wx, err
	}
	wx.Axis = AxisLogStep
	if u == nil {
		return wx, nil
	}
	if len(u) != len(x) {
		panic("transition: x and u lengths differ")
	}
	wu, err := TestWindow(u, y, mapAxis(x, u, lo), mapAxis(x, u, hi), cfg, rng)
	if err != nil {
		return wx, nil
	}
	wu.Axis = AxisLogCumLR
	p := math.Max(wx.P, wu.P)
	shown := wx.ShownSmooth || wu.ShownSmooth
	out, other := wx, wu
	if wu.ShownSmooth && !wx.ShownSmooth || wu.ShownSmooth == wx.ShownSmooth && wu.P > wx.P {
		out, other = wu, wx
	}
	out.Smooth += fmt.Sprintf(" on %s (on %s: p = %.3g)", out.Axis, other.Axis, other.P)
	out.P, out.ShownSmooth = p, shown
	return out, nil
}

// mapAxis maps v on axis x to axis u through the checkpoints: u[i] where v = x[i], linear
// interpolation between neighbours, the end values beyond the ends.
func mapAxis(x, u []float64, v float64) float64 {
	n := len(x)
	switch {
	case v <= x[0]:
		return u[0]
	case v >= x[n-1]:
		return u[n-1]
	}
	for i := 1; i < n; i++ {
		if v <= x[i] {
			f := (v - x[i-1]) / (x[i] - x[i-1])
			return u[i-1] + f*(u[i]-u[i-1])
		}
	}
	return u[n-1]
}
