package transition

import (
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// demoEta is the cumulative learning rate of the demo's schedule (peak lr 1, a linear warm-up
// over 30 steps, cosine decay to 0 at step 600: examples/demo.yaml, data.LRSchedule.At) at each
// step of steps.
func demoEta(steps []int) []float64 {
	lr := func(s int) float64 {
		if s <= 30 {
			return float64(s) / 30
		}
		return 0.5 * (1 + math.Cos(math.Pi*float64(s-30)/570))
	}
	out := make([]float64, len(steps))
	eta, t := 0.0, 0
	for i, st := range steps {
		for ; t < st; t++ {
			eta += lr(t + 1)
		}
		out[i] = eta
	}
	return out
}

// scheduleFamily draws the per-position accuracies (10 positions, from 0.1) of one family:
//
//	eta-relax      smooth in the cumulative learning rate: 1 − exp(−η/τ), τ 10^0.8–10^2.2,
//	               position offsets ±0.1 decade (the curve test's relaxation null)
//	eta-logistic   smooth in log η: a logistic 1–2 decades wide (10→90 %)
//	step-logistic  smooth in log step: the same logistic on x
//	step-jump      a jump where exact match jumps: an early 1-decade rise to 0.25, then 0.74
//	               more within 0.1–0.3 decade (10→90 %) at x 1.3–2.3 (jumpFamily's shape)
//	eta-jump       the same jump on log η
func scheduleFamily(fam string, rng *rand.Rand, x, u []float64) [][]float64 {
	s := (1 + rng.Float64()) / WidthPerScale
	off := make([]float64, answerLen)
	for j := range off {
		off[j] = 0.2 * (rng.Float64() - 0.5)
	}
	var c, tau, sj float64
	switch fam {
	case "eta-logistic":
		c = 1.0 + 1.6*rng.Float64()
	case "step-logistic":
		c = 1.2 + 1.6*rng.Float64()
	case "eta-relax":
		tau = math.Pow(10, 0.8+1.4*rng.Float64())
	case "eta-jump", "step-jump":
		c = 1.3 + rng.Float64()
		sj = (0.1 + 0.2*rng.Float64()) / WidthPerScale
		for j := range off {
			off[j] /= 2
		}
	default:
		panic(fam)
	}
	p := make([][]float64, len(x))
	for i := range x {
		p[i] = make([]float64, answerLen)
		t := x[i]
		if fam[:3] == "eta" {
			t = u[i]
		}
		for j := range p[i] {
			switch fam {
			case "eta-logistic", "step-logistic":
				p[i][j] = 0.1 + 0.9*logistic((t-c-off[j])/s)
			case "eta-relax":
				p[i][j] = 0.1 + 0.9*(1-math.Exp(-math.Pow(10, u[i])/(tau*math.Pow(10, off[j]))))
			default:
				p[i][j] = 0.1 + 0.15*logistic((t-1)*WidthPerScale) + 0.74*logistic((t-c-off[j])/sj)
			}
		}
	}
	return p
}

// scheduleRates are a family's rates per scoring, apart for windows that start in the warm-up
// (before x = log10(61): the warm-up's end, 30 steps, times 2, the curve test's WarmupMargin)
// and after it.
type scheduleRates struct {
	n, jumps, smooth, jumpsX [2]map[string]int
}

func runScheduleFamily(t *testing.T, fam string, seed uint64, trials int, withX bool) scheduleRates {
	x := logSpacedX(600, 32)
	steps := make([]int, len(x))
	for i, xi := range x {
		steps[i] = int(math.Round(math.Pow(10, xi) - 1))
	}
	u, ok := CumLRAxis(demoEta(steps))
	if !ok {
		t.Fatal("CumLRAxis: the demo's schedule gives no increasing axis")
	}
	cfg := DefaultWindowConfig()
	cfg.Boot = 199
	var r scheduleRates
	for k := range 2 {
		r.n[k], r.jumps[k], r.smooth[k], r.jumpsX[k] = map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	}
	for trial := 0; trial < trials; trial++ {
		rng := rand.New(rand.NewPCG(seed, uint64(trial)))
		cs := scoreFamily(scheduleFamily(fam, rng, x, u))
		em := addAR1(rng, cs.em, 0.01)
		if cs.em[len(x)-1]-cs.em[0] < 0.3 {
			continue // exact match barely rises: no seed that learns
		}
		lo, hi, err := JumpWindow(x, em, Increasing)
		if err != nil {
			continue
		}
		k := 0
		if lo >= math.Log10(61) {
			k = 1
		}
		for _, name := range []string{"token_accuracy", "position_0", "position_9", "log_prob", "edit_distance", "brier"} {
			y := addAR1(rng, cs.continuous[name], 0.01+0.02*rng.Float64())
			w, err := TestWindowAxes(x, u, y, lo, hi, cfg, rng)
			if err != nil {
				t.Fatalf("%s trial %d %s: %v", fam, trial, name, err)
			}
			r.n[k][name]++
			if w.P <= 0.05 {
				r.jumps[k][name]++
			}
			if w.ShownSmooth {
				r.smooth[k][name]++
			}
			if withX {
				if wx, err := TestWindow(x, y, lo, hi, cfg, rng); err == nil && wx.P <= 0.05 {
					r.jumpsX[k][name]++
				}
			}
		}
	}
	return r
}

func rate(m [2]map[string]int, n [2]map[string]int, name string, parts ...int) float64 {
	var a, b int
	for _, k := range parts {
		a, b = a+m[k][name], b+n[k][name]
	}
	return float64(a) / float64(max(b, 1))
}

// TestWindowAxesSchedule: the mirage window test on the demo's grid and schedule (32 log-spaced
// checkpoints of 600 steps, 30 warm-up steps, cosine decay), 200 trials a family on seeds
// (12, trial); the bounds were read off seeds (11, trial) (PHASEPROBE_TUNE=1 runs those). Curves
// smooth in the cumulative learning rate must not "jump with exact match": on log step alone
// they did (the eta-relax family: 24–26 % of windows, 39–50 % of those that start in the warm-up,
// on the tuning seeds; asserted ≥ 25 % of warm-up windows here so the test shows what
// TestWindowAxes fixes), on both axes in 0–4 %. Measured on the tuning seeds (false jumps /
// shown smooth, which is log step's alone):
//
//	                 eta-relax        eta-logistic     step-logistic
//	token accuracy   0.03 / 0.36–0.40 0.02 / 0.66      0.01 / 0.76
//	log-probability  0.02 / 0.80      0.00 / 0.90      0.00 / 0.78
//	Brier score      0.01 / 0.51      0.00 / 0.62      0.01 / 0.78
//
// A curve smooth in η is seldom shown smooth on log step near the warm-up's end: it reads
// "undetermined", not "smooth across the jump" — the conservative side for the mirage verdict,
// which needs every scoring shown smooth. Power (jumps with exact match) for jumps after the
// warm-up: 0.93–0.97 for token and position accuracy and edit distance, 0.84–0.89 for
// log-probability and Brier score (0.87–0.94 and 0.68–0.85 on the check seeds), never shown smooth; for
// windows that start inside the warm-up 0.53–0.83 for a jump on log step (0.55–0.85 on the check
// seeds; a jump on log η 0.95–1.00) (a linear warm-up makes η ∝ t², so the jump is twice as wide on log η and the union
// null can hold it; the review measured 0.31–0.53 for jumps at steps 7–24): a jump there cannot
// be told from the schedule's, as the curve test's warm-up rule says.
func TestWindowAxesSchedule(t *testing.T) {
	const trials = 200
	seedSet := uint64(12)
	if os.Getenv("PHASEPROBE_TUNE") != "" {
		seedSet = 11
	}
	names := []string{"token_accuracy", "position_0", "position_9", "log_prob", "edit_distance", "brier"}
	for _, fam := range []string{"eta-relax", "eta-logistic", "step-logistic"} {
		r := runScheduleFamily(t, fam, seedSet, trials, fam == "eta-relax")
		for _, name := range names {
			fj, sm := rate(r.jumps, r.n, name, 0, 1), rate(r.smooth, r.n, name, 0, 1)
			t.Logf("%-13s %-14s false jumps %.3f, shown smooth %.3f (%d windows, %d in the warm-up)", fam, name, fj, sm, r.n[0][name]+r.n[1][name], r.n[0][name])
			if fj > 0.08 {
				t.Errorf("%s, %s: smooth family jumps with exact match in %.3f of windows, want ≤ 0.08", fam, name, fj)
			}
			if minShown := map[string]float64{"eta-relax": 0.25, "eta-logistic": 0.45, "step-logistic": 0.65}[fam]; sm < minShown {
				t.Errorf("%s, %s: smooth family shown smooth in %.3f of windows, want ≥ %.2f", fam, name, sm, minShown)
			}
			if fam == "eta-relax" {
				x0 := rate(r.jumpsX, r.n, name, 0)
				t.Logf("%-13s %-14s on log step alone: false jumps %.3f of all windows, %.3f of warm-up ones", fam, name, rate(r.jumpsX, r.n, name, 0, 1), x0)
				if x0 < 0.25 && name != "log_prob" && name != "brier" {
					t.Errorf("%s, %s: on log step alone, false jumps in %.3f of warm-up windows: the flaw this test guards against is no longer shown (want ≥ 0.25)", fam, name, x0)
				}
			}
		}
	}
	for _, fam := range []string{"step-jump", "eta-jump"} {
		r := runScheduleFamily(t, fam, seedSet, trials, false)
		for _, name := range names {
			pw, pw0, sm := rate(r.jumps, r.n, name, 1), rate(r.jumps, r.n, name, 0), rate(r.smooth, r.n, name, 1)
			t.Logf("%-13s %-14s power after the warm-up %.3f (%d windows), in it %.3f (%d); shown smooth after %.3f", fam, name, pw, r.n[1][name], pw0, r.n[0][name], sm)
			want := 0.85
			if name == "log_prob" || name == "brier" {
				want = 0.60 // 0.84–0.89 on the tuning seeds, 0.68–0.85 on these: a guard, not a target
			}
			if pw < want {
				t.Errorf("%s, %s: jumps after the warm-up found in %.3f, want ≥ %.2f", fam, name, pw, want)
			}
			if sm > 0.02 {
				t.Errorf("%s, %s: a jump shown smooth in %.3f of windows after the warm-up, want ≤ 0.02", fam, name, sm)
			}
		}
	}
}

// TestCumLRAxis: u = log10(η + η₁) (closed form on a constant rate: η = t, u = log10(t + 1), the
// log-step axis), and no axis where the rate is 0 between checkpoints or never positive.
func TestCumLRAxis(t *testing.T) {
	u, ok := CumLRAxis([]float64{0, 1, 9, 99})
	if !ok {
		t.Fatal("constant rate: no axis")
	}
	for i, want := range []float64{0, math.Log10(2), 1, 2} {
		if math.Abs(u[i]-want) > 1e-12 {
			t.Errorf("u[%d] = %g, want %g", i, u[i], want)
		}
	}
	for _, eta := range [][]float64{{0, 2, 1}, {0, 0}, {}, {0, math.Inf(1)}} {
		if _, ok := CumLRAxis(eta); ok {
			t.Errorf("CumLRAxis(%v): an axis, want none", eta)
		}
	}
	if u, ok := CumLRAxis([]float64{0, 1, 1, 2}); !ok || u[1] != u[2] {
		t.Errorf("no learning between two checkpoints: axis %v (%v), want one flat there", u, ok)
	}
	if got := mapAxis([]float64{0, 1, 2}, []float64{0, 10, 40}, 1.5); got != 25 {
		t.Errorf("mapAxis between checkpoints: %g, want 25", got)
	}
}

// TestCurveEtaSmoothNulls: the curve test's nulls are smooth in log step except the relaxation,
// which is in the cumulative learning rate η. Curves smooth in η of other shapes — the accuracy
// of a power-law loss in η (a Gompertz in log η), a logistic 0.5–2.5 decades wide in log η, the
// power-law loss itself — bend at the warm-up's end, where η ∝ t² turns into η ∝ t. On the demo's
// grid and schedule (150 trials a family, sd 1–3 % of the range, AR(1) φ ≤ 0.5) the curve is
// rejected in 3–9 % of trials on the tuning seeds (21, trial), 2–13 % on seeds (22, trial), but
// its jump lies in the warm-up every time: no rejection had a significant jump outside it (0 of
// 426 curves on either seed set), and only such a jump is ever an onset or a capability jump.
// Asserted on seeds (22, trial): at most 2 % with a significant jump outside the warm-up.
func TestCurveEtaSmoothNulls(t *testing.T) {
	x := logSpacedX(600, 32)
	steps := make([]int, len(x))
	for i, xi := range x {
		steps[i] = int(math.Round(math.Pow(10, xi) - 1))
	}
	eta := demoEta(steps)
	u, _ := CumLRAxis(eta)
	cfg := DefaultCurveConfig()
	sch := Schedule{CumLR: eta, Warmup: 30}
	warmEnd := math.Log10(31) + cfg.WarmupMargin
	for _, fam := range []string{"gompertz-eta", "logistic-eta", "power-eta"} {
		rej, outside, n := 0, 0, 0
		for trial := 0; trial < 150; trial++ {
			rng := rand.New(rand.NewPCG(22, uint64(trial)))
			y := make([]float64, len(x))
			switch fam {
			case "gompertz-eta": // exp(−D·η^−α): exact match of a power-law loss in η
				alpha, d := 0.3+1.2*rng.Float64(), math.Pow(10, 0.5+2*rng.Float64())
				for i := range x {
					y[i] = 0.05 + 0.9*math.Exp(-d*math.Pow(10, -alpha*u[i]))
				}
			case "logistic-eta":
				w, c := 0.5+2*rng.Float64(), 0.8+1.8*rng.Float64()
				for i := range x {
					y[i] = 0.05 + 0.9*logistic((u[i]-c)*WidthPerScale/w)
				}
			case "power-eta":
				alpha := 0.2 + 0.8*rng.Float64()
				for i := range x {
					y[i] = 0.5 + 2*math.Pow(10, -alpha*u[i])
				}
			}
			lo, hi := y[0], y[0]
			for _, v := range y {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
			if hi-lo < 0.1 {
				continue
			}
			noise := make([]float64, len(x))
			arNoiseTo(noise, (0.01+0.02*rng.Float64())*(hi-lo), 0.5*rng.Float64(), rng)
			for i := range y {
				y[i] += noise[i]
			}
			r, err := TestCurve(x, y, sch, cfg, rng)
			if err != nil {
				continue
			}
			n++
			if r.P > 0.05 {
				continue
			}
			rej++
			for _, j := range r.Jumps {
				if j.Mid >= warmEnd && j.P <= 0.05 {
					outside++
					break
				}
			}
		}
		t.Logf("%s: rejected %d of %d, with a significant jump outside the warm-up %d", fam, rej, n, outside)
		if n < 100 {
			t.Errorf("%s: only %d usable trials", fam, n)
		}
		if f := float64(outside) / float64(n); f > 0.02 {
			t.Errorf("%s: a significant jump outside the warm-up in %.3f of smooth-in-η curves, want ≤ 0.02", fam, f)
		}
	}
}

// TestWindowAxesCases: P is the larger of the two axes' p-values and everything else is log
// step's; a constant learning rate without warm-up (u = x + constant) asks x alone; checkpoints
// with no learning between them (η tied at the end of a schedule that decays to 0) leave the u
// axis in use, without the tied checkpoint.
func TestWindowAxesCases(t *testing.T) {
	x := logSpacedX(600, 32)
	steps := make([]int, len(x))
	for i, xi := range x {
		steps[i] = int(math.Round(math.Pow(10, xi) - 1))
	}
	rng := rand.New(rand.NewPCG(5, 5))
	cs := scoreFamily(scheduleFamily("step-jump", rng, x, x))
	y := addAR1(rng, cs.continuous["token_accuracy"], 0.02)
	lo, hi, err := JumpWindow(x, addAR1(rng, cs.em, 0.01), Increasing)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultWindowConfig()
	cfg.Boot = 99
	u, _ := CumLRAxis(demoEta(steps))
	w, err := TestWindowAxes(x, u, y, lo, hi, cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	wx, _ := TestWindow(x, y, lo, hi, cfg, rand.New(rand.NewPCG(1, 1)))
	if w.P != math.Max(w.PLogStep, w.PCumLR) || math.IsNaN(w.PCumLR) || w.PLogStep != wx.P || w.Jump != wx.Jump || w.ShownSmooth != wx.ShownSmooth {
		t.Errorf("two axes: P %g, PLogStep %g, PCumLR %g; log step alone P %g, jump %g vs %g", w.P, w.PLogStep, w.PCumLR, wx.P, w.Jump, wx.Jump)
	}
	// Constant rate 0.003 from step 1: η = 0.003·t, u = log10(0.003) + x.
	eta := make([]float64, len(x))
	for i, st := range steps {
		eta[i] = 0.003 * float64(st)
	}
	uc, ok := CumLRAxis(eta)
	if !ok {
		t.Fatal("constant rate: no axis")
	}
	if w, _ := TestWindowAxes(x, uc, y, lo, hi, cfg, rand.New(rand.NewPCG(1, 1))); !math.IsNaN(w.PCumLR) || w.P != wx.P {
		t.Errorf("constant rate: PCumLR %g, P %g, want NaN and log step's %g", w.PCumLR, w.P, wx.P)
	}
	// The schedule's last step has lr 0: η(599) = η(600).
	st := append(slices.Clone(steps[:len(steps)-1]), 599, 600)
	xt := make([]float64, len(st))
	for i, s := range st {
		xt[i] = math.Log10(float64(s) + 1)
	}
	yt := append(slices.Clone(y[:len(y)-1]), y[len(y)-1], y[len(y)-1])
	et := demoEta(st)
	et[len(et)-1] = et[len(et)-2]
	ut, ok := CumLRAxis(et)
	if !ok {
		t.Fatal("tied η: no axis")
	}
	if w, err := TestWindowAxes(xt, ut, yt, lo, hi, cfg, rand.New(rand.NewPCG(1, 1))); err != nil || math.IsNaN(w.PCumLR) {
		t.Errorf("tied η at the end: PCumLR %g (err %v), want the u axis asked", w.PCumLR, err)
	}
}
