package transition

import (
	"errors"
	"math"

	"github.com/phaseprobe/phaseprobe/internal/f64"
)

// WidthPerScale is 2·ln 9, the ratio of a logistic curve's 10→90% width to
// its scale: the logistic reaches 10% of its rise at x0 − s·ln 9 and 90% at
// x0 + s·ln 9.
const WidthPerScale = 2 * 2.1972245773362196

// Sigmoid is a logistic curve
//
//	y(x) = Lo + (Hi−Lo) / (1 + exp(−(x−X0)/Scale)),   Scale > 0,
//
// as returned by FitSigmoid. Hi < Lo describes a decreasing curve.
type Sigmoid struct {
	X0    float64 // midpoint: y(X0) = (Lo+Hi)/2, in units of x
	Scale float64 // s > 0, in units of x
	Width float64 // 10→90% width = 2·ln(9)·Scale, in units of x
	Lo    float64 // asymptote as x → −∞
	Hi    float64 // asymptote as x → +∞
	RSS   float64 // residual sum of squares of the fit
}

// At returns the curve's value at x.
func (s Sigmoid) At(x float64) float64 {
	return s.Lo + (s.Hi-s.Lo)*logistic((x-s.X0)/s.Scale)
}

// Amplitude returns Hi − Lo.
func (s Sigmoid) Amplitude() float64 { return s.Hi - s.Lo }

// logisticSat is where logistic saturates: for z ≥ logisticSat, exp(−z) <
// 5e-18, far below half an ulp of 1 (2⁻⁵³ ≈ 1.1e-16), so 1 + exp(−z) rounds
// to 1 and 1/(1+exp(−z)) is exactly 1. The fits meet such z at every point
// far above a sharp step, and logistic skips the exponential there.
const logisticSat = 40

// logistic returns 1/(1+exp(−z)); it is 0 or 1, never NaN, for large |z|.
func logistic(z float64) float64 {
	if z >= 0 {
		if z >= logisticSat {
			return 1 // what the formula gives: see logisticSat
		}
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

// logisticVec sets q[i] = logistic(z[i]) for every element, its exponentials through
// f64.Exp (4 at a time with AVX2; within 2 ulps of math.Exp), so within a few ulps of logistic
// (TestLogisticVec): exactly 1 where z ≥ logisticSat, as logistic, and 0 below z = −708.3, where
// logistic gives a subnormal. q and z have the same length and may not overlap unless equal.
func logisticVec(q, z []float64) {
	for i, v := range z {
		q[i] = -math.Abs(v)
	}
	f64.Exp(q)
	for i, e := range q {
		if z[i] >= 0 {
			q[i] = 1 / (1 + e)
		} else {
			q[i] = e / (1 + e)
		}
	}
}

// FitSigmoid fits a logistic curve (see Sigmoid) to the points (x[i], y[i]) by
// least squares, minimising RSS = Σ (y[i] − y(x[i]))².
//
// The fit runs in two stages, on x and y standardised to unit range and unit
// standard deviation. First a global search over the nonlinear parameters:
// for fixed (X0, Scale) the curve is linear in (Lo, Hi), which are solved in
// closed form (variable projection, Golub & Pereyra 1973), and the reduced RSS
// is evaluated on a grid of X0 every half checkpoint spacing across the data
// and ten Scales from a quarter spacing to the whole range. Then
// Levenberg–Marquardt on all four parameters (X0, log Scale, Lo, Hi) polishes
// the best grid point and starts seeded from the data: X0 at the half-way
// crossing (ThresholdCrossing with frac 0.5) and at the steepest slope, with
// Scale one checkpoint spacing. The lowest RSS wins. The search is confined
// to X0 within one x-range of the data, Scale from a thousandth of a
// checkpoint spacing to ten x-ranges, and Lo, Hi within 20 standard deviations
// of the mean of y; a curve whose best fit sits on that box has no transition
// inside the data. The grid makes the cost O(n²) in the number of points.
//
// A curve whose jump falls between two checkpoints has no unique X0 or Scale:
// the fit then returns some X0 in that gap and a Scale well below the spacing.
// The best fit may put X0 outside the data range (a curve seen only on one side
// of its midpoint); Detect treats that as no transition.
//
// FitSigmoid panics if len(x) != len(y). It returns an error for fewer than 5
// points, non-finite values, x not strictly increasing, or a constant y
// (ErrFlat).
func FitSigmoid(x, y []float64) (Sigmoid, error) {
	if err := checkCurve(x, y, 5); err != nil {
		return Sigmoid{}, err
	}
	n := len(x)
	xm, xr := 0.5*(x[0]+x[n-1]), x[n-1]-x[0]
	ym := meanOf(y)
	var yr float64
	for _, v := range y {
		yr += (v - ym) * (v - ym)
	}
	yr = math.Sqrt(yr / float64(n))
	if yr == 0 {
		return Sigmoid{}, ErrFlat
	}
	xs := make([]float64, n)
	ys := make([]float64, n)
	for i := range x {
		xs[i] = (x[i] - xm) / xr
		ys[i] = (y[i] - ym) / yr
	}
	f := sigmoidFit{xs: xs, ys: ys, sig: make([]float64, n)}
	spacing := CheckpointSpacing(xs)
	best, bestRSS := f.polish(f.starts(spacing), spacing)
	if math.IsInf(bestRSS, 1) {
		return Sigmoid{}, errors.New("transition: sigmoid fit failed")
	}
	scale := math.Exp(best[1]) * xr
	return Sigmoid{
		X0:    best[0]*xr + xm,
		Scale: scale,
		Width: WidthPerScale * scale,
		Lo:    best[2]*yr + ym,
		Hi:    best[3]*yr + ym,
		RSS:   bestRSS * yr * yr,
	}, nil
}

// sigmoidFit holds FitSigmoid's standardised curve (xs, ys) and scratch sig
// for the logistic column.
type sigmoidFit struct {
	xs, ys, sig []float64
}

// reduced returns the RSS of the logistic with midpoint x0 and scale s after
// solving for (lo, hi) in closed form, and those lo and hi.
func (f sigmoidFit) reduced(x0, s float64) (rss, lo, hi float64) {
	for i, xi := range f.xs {
		f.sig[i] = logistic((xi - x0) / s)
	}
	a, d := linearOnBasis(f.ys, f.sig)
	for i, yi := range f.ys {
		r := yi - (a + d*f.sig[i])
		rss += r * r
	}
	return rss, a, a + d
}

// starts returns the (x0, s) starts of FitSigmoid's second stage: the best
// point of the stage-1 grid over (x0, log s) on the reduced RSS, then the
// half-way crossing and the steepest slope with s = spacing when they exist.
func (f sigmoidFit) starts(spacing float64) [][2]float64 {
	xs, n := f.xs, len(f.xs)
	const nScales = 10
	sMin, sMax := spacing/4, 1.0
	gridBest := math.Inf(1)
	var gx0, gs float64
	for x0 := xs[0]; x0 <= xs[n-1]+1e-12; x0 += spacing / 2 {
		for j := 0; j < nScales; j++ {
			s := sMin * math.Pow(sMax/sMin, float64(j)/(nScales-1))
			if rss, _, _ := f.reduced(x0, s); rss < gridBest {
				gridBest, gx0, gs = rss, x0, s
			}
		}
	}
	starts := [][2]float64{{gx0, gs}}
	if c, err := ThresholdCrossing(xs, f.ys, 0.5, Auto); err == nil {
		starts = append(starts, [2]float64{c, spacing})
	}
	if m, _, err := SteepestSlope(xs, f.ys); err == nil {
		starts = append(starts, [2]float64{m, spacing})
	}
	return starts
}

// polish runs FitSigmoid's second stage, Levenberg–Marquardt on
// p = (x0, log s, lo, hi) in the box of its doc comment from each start, and
// returns the p of lowest RSS and that RSS (+Inf when every start failed).
func (f sigmoidFit) polish(starts [][2]float64, spacing float64) (best [4]float64, bestRSS float64) {
	xs, n := f.xs, len(f.xs)
	model := func(p, fv, jac []float64) {
		x0, s, lo, hi := p[0], math.Exp(p[1]), p[2], p[3]
		d := hi - lo
		for i, xi := range xs {
			z := (xi - x0) / s
			q := logistic(z)
			fv[i] = lo + d*q
			w := d * q * (1 - q)
			jac[i] = -w / s
			jac[n+i] = -w * z
			jac[2*n+i] = 1 - q
			jac[3*n+i] = q
		}
	}
	lm := newFullModel(model, n, 4)
	// Box: X0 within one range of the data, Scale between a thousandth of a
	// spacing and ten ranges, Lo and Hi within 20 standard deviations of the
	// mean of y. Beyond it the curve is a step, a line or an exponential tail,
	// and an unbounded fit would only drift along a flat valley.
	lower := []float64{xs[0] - 1, math.Log(spacing / 1000), -20, -20}
	upper := []float64{xs[n-1] + 1, math.Log(10), 20, 20}
	bestRSS = math.Inf(1)
	for _, st := range starts {
		_, lo, hi := f.reduced(st[0], st[1])
		p := []float64{st[0], math.Log(st[1]), lo, hi}
		for j := range p {
			p[j] = math.Min(math.Max(p[j], lower[j]), upper[j])
		}
		if rss := levMar(f.ys, p, lm, lower, upper); rss < bestRSS && !math.IsNaN(p[0]+p[1]+p[2]+p[3]) {
			bestRSS = rss
			copy(best[:], p)
		}
	}
	return best, bestRSS
}

// linearOnBasis returns the least-squares a and d of y ≈ a + d·b. It returns
// d = 0 when b is (numerically) constant.
func linearOnBasis(y, b []float64) (a, d float64) {
	yb, bb := meanOf(y), meanOf(b)
	var sbb, sby float64
	for i := range y {
		db := b[i] - bb
		sbb += db * db
		sby += db * (y[i] - yb)
	}
	if sbb < 1e-24*float64(len(y)) {
		return yb, 0
	}
	d = sby / sbb
	return yb - d*bb, d
}

// basisCol is a fixed column b of linearOnBasis with the parts of the fit that
// do not depend on y, for grid searches that fit many curves on the same b.
type basisCol struct {
	b, db    []float64 // b and b − mean(b)
	mean, ss float64   // mean(b) and Σ (b − mean(b))²
}

func newBasisCol(b []float64) basisCol {
	c := basisCol{b: b, db: make([]float64, len(b)), mean: meanOf(b)}
	for i, v := range b {
		c.db[i] = v - c.mean
		c.ss += c.db[i] * c.db[i]
	}
	return c
}

// fit returns linearOnBasis(y, c.b), the same values, from yb = meanOf(y) and
// yc = y − yb.
func (c *basisCol) fit(yc []float64, yb float64) (a, d float64) {
	if c.ss < 1e-24*float64(len(yc)) {
		return yb, 0
	}
	var sby float64
	for i, v := range c.db {
		sby += v * yc[i]
	}
	d = sby / c.ss
	return yb - d*c.mean, d
}
