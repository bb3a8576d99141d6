package transition

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// WindowConfig holds the settings of TestWindow. DefaultWindowConfig gives the
// values calibrated in window_test.go on the demo's checkpoint grid.
type WindowConfig struct {
	// Degree is the degree of the smooth model, a polynomial in x fitted to
	// the window and Side checkpoints on each side of it.
	Degree int
	// Side is how many checkpoints on each side of [lo, hi] join the fitted
	// segment (more are added, on both sides, until it has Degree+5). They pin
	// the smooth trend down outside the window.
	Side int
	// SideWidth widens the segment further: every checkpoint within
	// SideWidth (units of x) before the window's first checkpoint or after
	// its last joins it. It makes the segment's reach outside the window, and
	// so how much of a smooth curve's bend the polynomial must follow, about
	// the same on a sparse and a dense checkpoint grid; 0 leaves Side alone.
	SideWidth float64
	// MaxWidth bounds the step's 10→90% width, in units of x (decades on
	// log10(step+1)): a jump as sharp as the exact-match jumps it is compared
	// with (0.2–0.4 decade in the demo), not a smooth S-curve.
	MaxWidth float64
	// Mids and Scales are the sizes of the grid over the step's midpoint
	// (evenly over [lo, hi]) and scale (log-spaced, from a tenth of the
	// segment's median checkpoint spacing to the MaxWidth limit).
	Mids, Scales int
	// Boot is the number of parametric bootstrap replicates, used once for
	// the p-value and once for the confidence interval.
	Boot int
	// Level is the two-sided confidence level of the interval on the excess
	// jump. 0.90 makes "shown smooth" a two one-sided tests (TOST) decision at
	// 5% (Schuirmann 1987).
	Level float64
	// Delta is the equivalence margin, as a fraction of the curve's range over
	// training (WindowTest.Range): the curve is "shown smooth across the window" when the whole
	// confidence interval of the excess jump lies inside (−Delta, +Delta).
	Delta float64
	// MaxAR caps the AR(1) coefficient estimated from the residuals.
	MaxAR float64
}

// DefaultWindowConfig returns Degree 3, Side 2, SideWidth 0.48, MaxWidth 0.2,
// a 25×6 grid, 499 replicates, a 90% interval, Delta 0.2 and MaxAR 0.9,
// chosen on the tuning seeds of window_test.go (AR(1) noise of sd 1–3% of the
// range, φ ≤ 0.5). Degree, Side, MaxWidth, Delta and MaxAR were chosen on the
// 16-checkpoint demo grid among Degree 2–3, Side 1–4 and MaxWidth 0.2–0.5: a
// quadratic or a wider step turned the bend of a 1-decade sigmoid into a
// "jump" in 10–30% of smooth curves. SideWidth was chosen on the 32-checkpoint
// grid (train.LogSpacedSteps(600, 32), 0.09 decade apart late in training)
// among segments reaching 2–7 checkpoints (0.18–0.63 decade) past the window,
// Degree 3–4 and MaxWidth 0.2–0.4: 2 checkpoints left the cubic free to absorb
// a 0.2–0.3-decade jump (power 31–61%), 6 or more let a smooth sigmoid's bend
// read as a jump (false jumps 8–11%). 0.48 decade is 5 checkpoints there; on
// the 16-checkpoint grid it is 2 late in training (0.18 decade apart), as Side
// alone, and can add one early, where that grid is denser.
func DefaultWindowConfig() WindowConfig {
	return WindowConfig{Degree: 3, Side: 2, SideWidth: 0.48, MaxWidth: 0.2, Mids: 25, Scales: 6, Boot: 499, Level: 0.90, Delta: 0.2, MaxAR: 0.9}
}

// WindowTest is the result of TestWindow.
type WindowTest struct {
	// Jump is the fitted excess jump Â (signed, y units): the amplitude
	// Hi − Lo of the logistic step added to the smooth model. JumpLow and
	// JumpHigh bound it at confidence Level.
	Jump, JumpLow, JumpHigh float64
	// Range is max − min over the whole curve after a running median of 3
	// (robustRange: a single-checkpoint spike, such as a loss spike late in
	// training, does not widen the margin Delta·Range); RelJump, RelLow and
	// RelHigh are Jump, JumpLow and JumpHigh divided by Range.
	Range                    float64
	RelJump, RelLow, RelHigh float64
	Level                    float64
	// Mid and Scale are the fitted step's midpoint and scale (units of x).
	Mid, Scale float64
	// Statistic is T = RSS_smooth/RSS_step − 1 on the segment.
	Statistic float64
	// P is the parametric-bootstrap p-value of T under the smooth model.
	P float64
	// Smooth names the smooth model; Degree, From and To (indices into x,
	// inclusive) give the fitted segment.
	Smooth      string
	Degree      int
	From, To    int
	ARNull      float64 // AR(1) coefficient of the null bootstrap (smooth-fit residuals)
	Sigma, AR   float64 // marginal noise sd and AR(1) coefficient of the step-fit residuals (interval bootstrap)
	Delta       float64 // the equivalence margin used
	ShownSmooth bool    // max(|RelLow|, |RelHigh|) < Delta
	// PLogStep and PCumLR are TestWindowAxes's p-values on log step and on the log cumulative
	// learning rate (P is the larger); NaN from TestWindow, and PCumLR NaN where that axis was
	// not asked.
	PLogStep, PCumLR float64
	Method, Null     string
	Replicates       int
	SegmentPoints    int
	CandidateSteps   int // grid points (midpoint, scale) that were fitted
}

// TestWindow asks whether a curve y jumps inside the window [lo, hi] of x,
// beyond what a smooth trend through the window explains. It is meant for the
// continuous scorings of the same outputs whose exact match jumps in [lo, hi]
// (pass the 10%→90% span of exact match, widened to a checkpoint on each
// side: JumpWindow): under the mirage view (Schaeffer et al. 2023, §2) they
// change smoothly there; under an internal transition they jump with it.
//
// The smooth model is a polynomial of degree cfg.Degree in x fitted by least
// squares to the segment made of the checkpoints in [lo, hi] and, on each
// side, cfg.Side checkpoints or those within cfg.SideWidth of the window's
// outermost checkpoint, whichever are more. A local polynomial rather than one
// smooth family over the whole curve: a curve that is smooth where exact
// match jumps but changes shape elsewhere (a two-phase token accuracy, an
// early plateau) is fitted where it matters and judged only there, and no
// global family (line, power law, sigmoid) has to be right everywhere. The
// step model adds
//
//	A · logistic((x − m)/s),   m ∈ [lo', hi'],   s ≤ cfg.MaxWidth/(2 ln 9),
//
// where [lo', hi'] is [lo, hi] widened to the midpoints of the checkpoint
// intervals just outside it (per-token accuracy reaches half its jump before
// exact match reaches 10% of its own, since p^L lags p), with at least 2
// segment checkpoints on each side of m; (m, s) are searched on
// a grid and, for each, the polynomial and A are solved by least squares. The
// statistic is T = RSS_smooth/RSS_step − 1.
//
// Null hypothesis: on the segment, y is the polynomial plus stationary
// Gaussian AR(1) noise (coefficient φ, taken over checkpoint index). T does not
// depend on the polynomial or on the noise scale (both models contain the
// polynomial; T is a ratio), so the parametric bootstrap from the smooth fit
// reduces to simulating AR(1) noise with φ̂ estimated from the smooth fit's
// residuals: p = (1 + #{T* ≥ T})/(1 + cfg.Boot). φ̂ and σ̂ are moment
// estimates that account for the fit: φ̂ solves
// E[Σ e_i e_{i+1}]/E[Σ e_i²] = observed ratio for residuals e = M ε of the
// least-squares residual maker M, and σ̂² = Σ e_i²/tr(M Σ_φ̂) (plain
// residual autocorrelations are biased low by about (Degree+1)/n).
//
// The interval on A is a parametric-bootstrap percentile interval
// (Efron & Tibshirani 1993, ch. 13): data are simulated from the fitted step
// model with the AR(1) noise (σ̂, φ̂) of its residuals, refitted, and the
// (1±Level)/2 quantiles of Â* are reported. The curve is ShownSmooth when
// both ends lie inside ±cfg.Delta·Range: an equivalence statement, which
// needs enough data; a small P is the opposite statement, that y jumps with
// the window. Neither is made when the data support neither.
//
// Assumptions: checkpoints are treated as equally spaced for the AR(1) noise
// (true on a log-spaced grid); noise is Gaussian and homoscedastic on the
// segment (accuracies near 0 or 1 have less noise: the test is then
// conservative where the noise is overestimated). A misfit of the polynomial
// shows up as residual autocorrelation and inflates φ̂, which makes p larger,
// not smaller.
//
// TestWindow panics if len(x) != len(y), cfg.Degree < 0, cfg.Side < 1,
// cfg.Mids or cfg.Scales < 1, cfg.Boot < 19, cfg.Level not in (0, 1),
// cfg.MaxAR not in [0, 1), cfg.MaxWidth ≤ 0 or cfg.SideWidth < 0. It returns an error for non-finite values, x not
// increasing, lo ≥ hi, a flat curve (ErrFlat), or a segment with fewer than
// cfg.Degree+5 points or no admissible step midpoint.
func TestWindow(x, y []float64, lo, hi float64, cfg WindowConfig, rng *rand.Rand) (WindowTest, error) {
	if len(x) != len(y) {
		panic("transition: x and y lengths differ")
	}
	if cfg.Degree < 0 || cfg.Side < 1 || cfg.Mids < 1 || cfg.Scales < 1 || cfg.Boot < 19 ||
		!(cfg.Level > 0 && cfg.Level < 1) || !(cfg.MaxAR >= 0 && cfg.MaxAR < 1) || !(cfg.MaxWidth > 0) || !(cfg.SideWidth >= 0) {
		panic("transition: invalid WindowConfig")
	}
	if err := checkCurve(x, y, 2); err != nil {
		return WindowTest{}, err
	}
	if !(lo < hi) || math.IsNaN(lo) || math.IsNaN(hi) {
		return WindowTest{}, fmt.Errorf("transition: window [%v, %v] is empty", lo, hi)
	}
	ymin, ymax := y[0], y[0]
	for _, v := range y {
		ymin, ymax = math.Min(ymin, v), math.Max(ymax, v)
	}
	if ymax == ymin {
		return WindowTest{}, ErrFlat
	}
	yRange := robustRange(y)
	a, b, mLo, mHi, err := windowSegment(x, lo, hi, cfg)
	if err != nil {
		return WindowTest{}, err
	}
	n := b - a + 1
	xs, ys := x[a:b+1], y[a:b+1]
	f, err := newWindowFit(xs, mLo, mHi, cfg)
	if err != nil {
		return WindowTest{}, err
	}

	e := f.resid(nil, ys)
	rss0 := dot(e, e)
	j, amp, rss1 := f.best(e)
	if rss0 <= 1e-24*dot(ys, ys) { // the polynomial fits to rounding error
		rss0, rss1 = 0, 0
	}
	t := windowStat(rss0, rss1)

	res := WindowTest{
		PLogStep: math.NaN(), PCumLR: math.NaN(),
		Jump: amp, Range: yRange, Level: cfg.Level,
		Mid: f.mids[j], Scale: f.scales[j], Statistic: t,
		Smooth:     fmt.Sprintf("polynomial of degree %d in x over x[%d..%d] (%d checkpoints)", cfg.Degree, a, b, n),
		Degree:     cfg.Degree,
		From:       a,
		To:         b,
		Delta:      cfg.Delta,
		Method:     "local polynomial vs polynomial + logistic step in the window; AR(1) parametric bootstrap",
		Null:       "y is a polynomial in x on the segment plus stationary Gaussian AR(1) noise: no step in the window",
		Replicates: cfg.Boot, SegmentPoints: n, CandidateSteps: len(f.mids),
	}

	// Null bootstrap: AR(1) noise only (T is invariant to the polynomial and
	// to the noise scale).
	e1 := make([]float64, n)
	for i := range e1 {
		e1[i] = e[i] - amp*f.norms[j]*f.units[j][i]
	}
	m1 := f.residMaker(j)
	res.AR, res.Sigma = arMoments(e1, m1, cfg.MaxAR)
	res.ARNull, _ = arMoments(e, f.residMaker(-1), cfg.MaxAR)
	eps := make([]float64, n)
	es := make([]float64, n)
	res.P = f.nullP(eps, es, t, res.ARNull, cfg.Boot, rng)

	// Interval bootstrap from the fitted step model.
	boot := f.jumpBoot(eps, es, j, amp, res.Sigma, res.AR, cfg.Boot, rng)
	alpha := (1 - cfg.Level) / 2
	res.JumpLow = stat.Quantile(alpha, stat.Empirical, boot, nil)
	res.JumpHigh = stat.Quantile(1-alpha, stat.Empirical, boot, nil)
	res.RelJump = res.Jump / res.Range
	res.RelLow = res.JumpLow / res.Range
	res.RelHigh = res.JumpHigh / res.Range
	res.ShownSmooth = math.Max(math.Abs(res.RelLow), math.Abs(res.RelHigh)) < cfg.Delta
	return res, nil
}

// windowSegment returns the segment x[a..b] that TestWindow fits (the
// checkpoints in [lo, hi] and, on each side, cfg.Side checkpoints or those
// within cfg.SideWidth of the window's outermost checkpoint, whichever are
// more, widened until it has cfg.Degree+5 points where the curve allows) and
// the range [mLo, mHi] of step midpoints. It returns an error when no
// checkpoint lies in the window or the segment stays shorter than
// cfg.Degree+5 points.
func windowSegment(x []float64, lo, hi float64, cfg WindowConfig) (a, b int, mLo, mHi float64, err error) {
	iLo, iHi := -1, -1
	for i, xi := range x {
		if xi >= lo && iLo < 0 {
			iLo = i
		}
		if xi <= hi {
			iHi = i
		}
	}
	if iLo < 0 || iHi < 0 || iLo > iHi {
		return 0, 0, 0, 0, fmt.Errorf("transition: no checkpoint in the window [%v, %v]", lo, hi)
	}
	a, b = max(0, iLo-cfg.Side), min(len(x)-1, iHi+cfg.Side)
	for a > 0 && x[a-1] >= x[iLo]-cfg.SideWidth {
		a--
	}
	for b < len(x)-1 && x[b+1] <= x[iHi]+cfg.SideWidth {
		b++
	}
	for b-a+1 < cfg.Degree+5 && (a > 0 || b < len(x)-1) {
		a, b = max(0, a-1), min(len(x)-1, b+1)
	}
	if n := b - a + 1; n < cfg.Degree+5 {
		return 0, 0, 0, 0, fmt.Errorf("transition: window segment has %d points, need at least %d", n, cfg.Degree+5)
	}
	// Step midpoints may lie up to half a checkpoint interval outside the
	// window: a step centred between the window's first checkpoint and the
	// one before still changes y inside the window.
	mLo, mHi = lo, hi
	if iLo > 0 {
		mLo = math.Min(lo, 0.5*(x[iLo-1]+x[iLo]))
	}
	if iHi < len(x)-1 {
		mHi = math.Max(hi, 0.5*(x[iHi]+x[iHi+1]))
	}
	return a, b, mLo, mHi, nil
}

// nullP returns TestWindow's bootstrap p-value (1 + #{T* ≥ t})/(1 + boot),
// T* the statistic of boot unit-variance AR(1) series of coefficient phi
// drawn from rng; eps and es are scratch of the segment's length.
func (f *windowFit) nullP(eps, es []float64, t, phi float64, boot int, rng *rand.Rand) float64 {
	exceed := 0
	for r := 0; r < boot; r++ {
		arNoiseTo(eps, 1, phi, rng)
		f.resid(es, eps)
		_, _, r1 := f.best(es)
		if windowStat(dot(es, es), r1) >= t {
			exceed++
		}
	}
	return float64(1+exceed) / float64(1+boot)
}

// jumpBoot returns boot refitted step amplitudes, sorted, of curves simulated
// from candidate step j with amplitude amp plus AR(1) noise (sigma, phi)
// drawn from rng (the polynomial is projected out and does not enter); eps
// and es are scratch of the segment's length.
func (f *windowFit) jumpBoot(eps, es []float64, j int, amp, sigma, phi float64, boot int, rng *rand.Rand) []float64 {
	out := make([]float64, boot)
	for r := range out {
		arNoiseTo(eps, sigma, phi, rng)
		f.resid(es, eps)
		for i := range es {
			es[i] += amp * f.norms[j] * f.units[j][i]
		}
		_, out[r], _ = f.best(es)
	}
	slices.Sort(out)
	return out
}

// windowStat returns T = rss0/rss1 − 1, with 0 for a curve the polynomial
// fits exactly and +Inf for one the step fits exactly.
func windowStat(rss0, rss1 float64) float64 {
	if rss0 <= 0 {
		return 0
	}
	if rss1 <= 0 {
		return math.Inf(1)
	}
	return rss0/rss1 - 1
}

// windowFit holds the design of TestWindow on one segment: an orthonormal
// basis q of the polynomial, and for every candidate step (m, s) the unit
// vector along its logistic column with the polynomial projected out, and
// that column's norm.
type windowFit struct {
	q      [][]float64
	mids   []float64
	scales []float64
	units  [][]float64
	norms  []float64
}

func newWindowFit(xs []float64, lo, hi float64, cfg WindowConfig) (*windowFit, error) {
	n := len(xs)
	xc, h := 0.5*(xs[0]+xs[n-1]), 0.5*(xs[n-1]-xs[0])
	f := &windowFit{}
	for k := 0; k <= cfg.Degree; k++ {
		c := make([]float64, n)
		for i, xi := range xs {
			c[i] = math.Pow((xi-xc)/h, float64(k))
		}
		if !f.orthonormalize(c) {
			return nil, errors.New("transition: window polynomial basis is degenerate")
		}
		f.q = append(f.q, c)
	}
	sMin := CheckpointSpacing(xs) / 10
	sMax := cfg.MaxWidth / WidthPerScale
	scales := []float64{sMin}
	if sMax > sMin && cfg.Scales > 1 {
		scales = scales[:0]
		for k := 0; k < cfg.Scales; k++ {
			scales = append(scales, sMin*math.Pow(sMax/sMin, float64(k)/float64(cfg.Scales-1)))
		}
	}
	for k := 0; k < cfg.Mids; k++ {
		m := 0.5 * (lo + hi)
		if cfg.Mids > 1 {
			m = lo + (hi-lo)*float64(k)/float64(cfg.Mids-1)
		}
		var below, above int
		for _, xi := range xs {
			if xi < m {
				below++
			} else if xi > m {
				above++
			}
		}
		if below < 2 || above < 2 {
			continue
		}
		for _, s := range scales {
			g := make([]float64, n)
			for i, xi := range xs {
				g[i] = logistic((xi - m) / s)
			}
			f.resid(g, g)
			nrm := math.Sqrt(dot(g, g))
			if !(nrm > 1e-9) {
				continue
			}
			for i := range g {
				g[i] /= nrm
			}
			f.mids = append(f.mids, m)
			f.scales = append(f.scales, s)
			f.units = append(f.units, g)
			f.norms = append(f.norms, nrm)
		}
	}
	if len(f.units) == 0 {
		return nil, fmt.Errorf("transition: no step midpoint in [%v, %v] has 2 checkpoints on each side", lo, hi)
	}
	return f, nil
}

// orthonormalize makes c orthogonal to f.q (Gram–Schmidt, twice) and of unit
// norm; it reports false if c lies in their span.
func (f *windowFit) orthonormalize(c []float64) bool {
	n0 := math.Sqrt(dot(c, c))
	for pass := 0; pass < 2; pass++ {
		for _, q := range f.q {
			d := dot(q, c)
			for i := range c {
				c[i] -= d * q[i]
			}
		}
	}
	nrm := math.Sqrt(dot(c, c))
	if !(nrm > 1e-10*n0) {
		return false
	}
	for i := range c {
		c[i] /= nrm
	}
	return true
}

// resid puts in dst (allocated if nil; may be v) v minus its projection on
// the polynomial.
func (f *windowFit) resid(dst, v []float64) []float64 {
	if dst == nil {
		dst = make([]float64, len(v))
	}
	copy(dst, v)
	for _, q := range f.q {
		d := dot(q, dst)
		for i := range dst {
			dst[i] -= d * q[i]
		}
	}
	return dst
}

// best returns the candidate step that most reduces the RSS of the
// polynomial residuals e, its amplitude and the RSS of the step model.
func (f *windowFit) best(e []float64) (j int, amp, rss1 float64) {
	bestC := -1.0
	var bestD float64
	for k, u := range f.units {
		d := dot(u, e)
		if d*d > bestC {
			bestC, bestD, j = d*d, d, k
		}
	}
	rss1 = math.Max(dot(e, e)-bestC, 0)
	return j, bestD / f.norms[j], rss1
}

// residMaker returns the n×n residual-maker matrix of the polynomial fit
// (j < 0) or of the polynomial plus candidate step j.
func (f *windowFit) residMaker(j int) [][]float64 {
	n := len(f.q[0])
	cols := f.q
	if j >= 0 {
		cols = append(append([][]float64(nil), f.q...), f.units[j])
	}
	m := make([][]float64, n)
	for i := range m {
		m[i] = make([]float64, n)
		m[i][i] = 1
		for _, c := range cols {
			for k := range m[i] {
				m[i][k] -= c[i] * c[k]
			}
		}
	}
	return m
}

// arMoments estimates the AR(1) coefficient φ ∈ [0, maxAR] and the marginal
// sd σ of the noise behind least-squares residuals e = Mε, by matching
// Σ e_i e_{i+1} / Σ e_i² to E[εᵀMDMε]/E[εᵀMε] = tr(MDMΣ_φ)/tr(MΣ_φ), with D
// the symmetric lag-one matrix (½ off the diagonal) and Σ_φ[i][k] = φ^|i−k|;
// then σ² = Σ e_i² / tr(MΣ_φ). The ratio increases with φ and is solved by
// bisection.
func arMoments(e []float64, m [][]float64, maxAR float64) (phi, sigma float64) {
	ee := dot(e, e)
	if ee == 0 {
		return 0, 0
	}
	var lag float64
	for i := 0; i+1 < len(e); i++ {
		lag += e[i] * e[i+1]
	}
	obs := lag / ee
	ratio := func(p float64) (r, trMS float64) {
		ms := arTimes(m, p) // M Σ
		b := matMul(ms, m)  // M Σ M
		var off float64
		for i := 0; i+1 < len(b); i++ {
			off += b[i][i+1]
		}
		for i := range ms {
			trMS += ms[i][i]
		}
		return off / trMS, trMS
	}
	lo, hi := 0.0, maxAR
	rlo, tr := ratio(lo)
	if obs <= rlo || maxAR == 0 {
		return 0, math.Sqrt(ee / tr)
	}
	if rhi, trh := ratio(hi); obs >= rhi {
		return hi, math.Sqrt(ee / trh)
	}
	for it := 0; it < 40; it++ {
		mid := 0.5 * (lo + hi)
		if r, _ := ratio(mid); r < obs {
			lo = mid
		} else {
			hi = mid
		}
	}
	phi = 0.5 * (lo + hi)
	_, tr = ratio(phi)
	return phi, math.Sqrt(ee / tr)
}

// arTimes returns M·Σ_φ with Σ_φ[i][k] = φ^|i−k|.
func arTimes(m [][]float64, phi float64) [][]float64 {
	n := len(m)
	pw := make([]float64, n)
	pw[0] = 1
	for k := 1; k < n; k++ {
		pw[k] = pw[k-1] * phi
	}
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, n)
		for k := 0; k < n; k++ {
			var s float64
			for l := 0; l < n; l++ {
				d := l - k
				if d < 0 {
					d = -d
				}
				s += m[i][l] * pw[d]
			}
			out[i][k] = s
		}
	}
	return out
}

func matMul(a, b [][]float64) [][]float64 {
	n := len(a)
	out := make([][]float64, n)
	for i := range out {
		out[i] = make([]float64, len(b[0]))
		for l := range b {
			if a[i][l] == 0 {
				continue
			}
			for k := range out[i] {
				out[i][k] += a[i][l] * b[l][k]
			}
		}
	}
	return out
}

// JumpWindow returns the window TestWindow expects for a curve that jumps,
// such as exact match: the 10% and 90% crossings of its range
// (ThresholdCrossing with frac 0.1 and 0.9 in direction dir), widened to the
// last checkpoint strictly before the first crossing and the first checkpoint
// strictly after the second (or the ends of the curve). It returns the
// errors of ThresholdCrossing, and an error if the curve reaches 90% before
// 10%.
func JumpWindow(x, y []float64, dir Direction) (lo, hi float64, err error) {
	c10, err := ThresholdCrossing(x, y, 0.1, dir)
	if err != nil {
		return math.NaN(), math.NaN(), err
	}
	c90, err := ThresholdCrossing(x, y, 0.9, dir)
	if err != nil {
		return math.NaN(), math.NaN(), err
	}
	if c90 < c10 {
		return math.NaN(), math.NaN(), fmt.Errorf("transition: 90%% crossing %v before 10%% crossing %v", c90, c10)
	}
	lo, hi = x[0], x[len(x)-1]
	for _, xi := range x {
		if xi < c10 {
			lo = xi
		}
	}
	for i := len(x) - 1; i >= 0; i-- {
		if x[i] > c90 {
			hi = x[i]
		}
	}
	return lo, hi, nil
}

// robustRange is max − min of y smoothed by a running median of 3 over its
// interior, the two end values kept as they are: a monotone curve keeps its
// range exactly (the median of three consecutive values of a monotone sequence
// is the middle one), an isolated spike at an interior checkpoint is removed (a
// spike at the first or last checkpoint is not). With fewer than 3 points it is
// the plain range. It can be 0 only for a constant curve with one interior spike;
// TestWindow then gives infinite relative bounds (no equivalence can be shown).
func robustRange(y []float64) float64 {
	n := len(y)
	if n < 3 {
		return slices.Max(y) - slices.Min(y)
	}
	med3 := func(a, b, c float64) float64 { return math.Max(math.Min(a, b), math.Min(math.Max(a, b), c)) }
	lo, hi := math.Min(y[0], y[n-1]), math.Max(y[0], y[n-1])
	for i := 1; i < n-1; i++ {
		v := med3(y[i-1], y[i], y[i+1])
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return hi - lo
}
