package transition

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// CumLRAxis returns the cumulative-learning-rate axis u_i = log10(η_i + η₁) of checkpoints whose
// cumulative learning rates are eta (η(t) = Σ_{s ≤ t} lr(s), non-decreasing; η₁ the first
// positive one, the first step's rate, as log10(step + 1) adds one step), and whether there is
// one: there is not where eta is empty, never positive, not finite or decreasing. u is
// non-decreasing; it is flat between checkpoints with no learning between them (a schedule that
// ends at lr 0 gives the last two steps one η), which TestWindowAxes handles.
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
		if math.IsNaN(u[i]) || math.IsInf(u[i], 0) || i > 0 && u[i] < u[i-1] {
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
// as a step: on the demo's schedule (30 warm-up steps, cosine decay to step 600), per-position
// accuracies that relax exponentially in η "jumped" with exact match on x alone in 26–29 % of
// trials, 43–50 % of windows that start in the warm-up (TestWindowAxesSchedule's check seeds; 24–26
// and 39–50 % on its tuning seeds).
//
// The jump claim's null is the union "smooth in x, or smooth in u" on the segment; it is rejected
// only when both are (an intersection–union test, level α without correction: Berger 1982), so P
// is the larger of the two p-values (PLogStep, PCumLR). Everything else — the excess jump, its
// interval, ShownSmooth — is x's: exact match's window and jump are on x, and an equivalence
// shown on u, where a warm-up stretches x about twice, would bound a narrower kind of jump (and
// "smooth on either axis" would be a test of size up to 2α). The window [lo, hi] is given on x and
// mapped to u through the checkpoints (linear interpolation between neighbouring checkpoints
// when lo or hi is not one). Checkpoints with the same η as the one before them (no learning in
// between) are left out of the test on u. u is not asked when it is x shifted by a constant (a
// constant learning rate without warm-up: the same test twice), when fewer than two checkpoints
// remain, or when the test on u fails (too few checkpoints on that axis's segment); P is then x's
// alone. x and u must have y's length.
func TestWindowAxes(x, u, y []float64, lo, hi float64, cfg WindowConfig, rng *rand.Rand) (WindowTest, error) {
	wx, err := TestWindow(x, y, lo, hi, cfg, rng)
	if err != nil {
		return wx, err
	}
	wx.PLogStep = wx.P
	if u == nil {
		return wx, nil
	}
	if len(u) != len(x) {
		panic("transition: x and u lengths differ")
	}
	if shifted(x, u) {
		return wx, nil
	}
	uLo, uHi := mapAxis(x, u, lo), mapAxis(x, u, hi)
	var us, ys []float64
	for i := range u {
		if i == 0 || u[i] > u[i-1] {
			us, ys = append(us, u[i]), append(ys, y[i])
		}
	}
	if len(us) < 2 {
		return wx, nil
	}
	wu, err := TestWindow(us, ys, uLo, uHi, cfg, rng)
	if err != nil {
		return wx, nil
	}
	wx.PCumLR = wu.P
	wx.P = math.Max(wx.P, wu.P)
	wx.Smooth += fmt.Sprintf("; the same on the log cumulative learning rate: p = %.3g (P is the larger)", wu.P)
	return wx, nil
}

// shifted reports whether u − x is the same at every checkpoint (to 1e-9).
func shifted(x, u []float64) bool {
	d := u[0] - x[0]
	for i := range x {
		if math.Abs(u[i]-x[i]-d) > 1e-9 {
			return false
		}
	}
	return true
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
