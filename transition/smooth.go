package transition

import (
	"math"

	"github.com/phaseprobe/phaseprobe/internal/f64"
)

// AIC returns Akaike's information criterion of a least-squares fit with
// Gaussian errors of unknown variance (Akaike 1974):
//
//	AIC = n·ln(RSS/n) + 2k,
//
// the −2·log-likelihood at the maximum-likelihood variance RSS/n, dropping the
// constant n·(1 + ln 2π) that is common to every model fitted to the same n
// points. k counts every estimated parameter, the error variance included (a
// straight line has k = 3). An RSS of 0 gives −Inf. AIC panics if n < 1 or
// rss < 0.
func AIC(rss float64, n, k int) float64 {
	if n < 1 || rss < 0 {
		panic("transition: AIC needs n ≥ 1 and rss ≥ 0")
	}
	return float64(n)*math.Log(rss/float64(n)) + 2*float64(k)
}

// Parameter counts used by Detect, the error variance included.
const (
	KLinear  = 3 // intercept, slope, σ²
	KPower   = 4 // A, B, Rate, σ²
	KSigmoid = 5 // X0, Scale, Lo, Hi, σ²
)

// LinearFit is the least-squares line y = Intercept + Slope·x. On x =
// log10(step+1) it is the log-linear curve y = a + b·log10(step+1).
type LinearFit struct {
	Intercept, Slope float64
	RSS              float64
}

// At returns the line's value at x.
func (l LinearFit) At(x float64) float64 { return l.Intercept + l.Slope*x }

// FitLinear fits y = Intercept + Slope·x by ordinary least squares. It panics
// if len(x) != len(y) and returns an error for fewer than 3 points, non-finite
// values or x not strictly increasing.
func FitLinear(x, y []float64) (LinearFit, error) {
	if err := checkCurve(x, y, 3); err != nil {
		return LinearFit{}, err
	}
	a, b := linearOnBasis(y, x)
	var rss float64
	for i := range x {
		r := y[i] - (a + b*x[i])
		rss += r * r
	}
	return LinearFit{Intercept: a, Slope: b, RSS: rss}, nil
}

// PowerFit is the smooth saturating curve
//
//	y = A + B·exp(Rate·(x − XRef)),
//
// with XRef the mean of the fitted x (a reference point that keeps A and B well
// conditioned). On x = log10(step+1) it is the power law
// y = A + B'·(step+1)^c with c = Rate/ln 10: Rate < 0 is a curve saturating
// towards A (a loss falling as step^−α, an accuracy approaching its ceiling),
// Rate > 0 a curve accelerating on the log axis.
type PowerFit struct {
	A, B, Rate, XRef float64
	RSS              float64
}

// At returns the curve's value at x.
func (p PowerFit) At(x float64) float64 { return p.A + p.B*math.Exp(p.Rate*(x-p.XRef)) }

// FitPower fits a PowerFit with |Rate| ≤ maxRate by least squares. For fixed
// Rate the curve is linear in (A, B), solved in closed form; the reduced RSS
// is minimised over Rate by a grid of 64 points on [−maxRate, maxRate]
// followed by golden-section search around the best one (to 1e-10·maxRate).
// maxRate bounds how fast the curve may bend: 1/maxRate is its shortest
// e-folding distance in units of x. The limit Rate → 0 is the straight line,
// which FitLinear covers.
//
// FitPower panics if len(x) != len(y) or maxRate ≤ 0, and returns an error
// for fewer than 4 points, non-finite values or x not strictly increasing.
func FitPower(x, y []float64, maxRate float64) (PowerFit, error) {
	if !(maxRate > 0) {
		panic("transition: maxRate must be positive")
	}
	if err := checkCurve(x, y, 4); err != nil {
		return PowerFit{}, err
	}
	return fitPower(x, y, newPowerGrid(x, maxRate)), nil
}

// powerGrid is FitPower's grid on a fixed x: the 64 rates on [−maxRate, maxRate]
// and each one's column exp(rate·(x − xref)), xref the mean of x.
type powerGrid struct {
	maxRate, xref float64
	rates         []float64
	cols          []basisCol
}

func newPowerGrid(x []float64, maxRate float64) *powerGrid {
	const nGrid = 64 // even, so that Rate = 0 (degenerate) is not a grid point
	g := &powerGrid{maxRate: maxRate, xref: meanOf(x)}
	step := 2 * maxRate / (nGrid - 1)
	for i := 0; i < nGrid; i++ {
		rate := -maxRate + float64(i)*step
		e := make([]float64, len(x))
		for j, xj := range x {
			e[j] = math.Exp(rate * (xj - g.xref))
		}
		g.rates = append(g.rates, rate)
		g.cols = append(g.cols, newBasisCol(e))
	}
	return g
}

// fitPower is FitPower on the grid pg of x (checked by the caller).
func fitPower(x, y []float64, pg *powerGrid) PowerFit {
	maxRate, xref := pg.maxRate, pg.xref
	e := make([]float64, len(x))
	reduced := func(rate float64) (rss, a, b float64) {
		for i, xi := range x {
			e[i] = rate * (xi - xref)
		}
		f64.Exp(e)
		a, b = linearOnBasis(y, e)
		for i, yi := range y {
			r := yi - (a + b*e[i])
			rss += r * r
		}
		return rss, a, b
	}
	yb := meanOf(y)
	yc := make([]float64, len(y))
	for i, v := range y {
		yc[i] = v - yb
	}
	bestI, bestRSS := 0, math.Inf(1)
	for i := range pg.cols {
		c := &pg.cols[i]
		a, b := c.fit(yc, yb)
		var rss float64
		for j, yj := range y {
			r := yj - (a + b*c.b[j])
			rss += r * r
		}
		if rss < bestRSS {
			bestI, bestRSS = i, rss
		}
	}
	step := 2 * maxRate / float64(len(pg.rates)-1)
	lo := math.Max(-maxRate, -maxRate+float64(bestI-1)*step)
	hi := math.Min(maxRate, -maxRate+float64(bestI+1)*step)
	rate := goldenMin(func(r float64) float64 { rss, _, _ := reduced(r); return rss }, lo, hi, 1e-10*maxRate)
	rss, a, b := reduced(rate)
	if grid := -maxRate + float64(bestI)*step; bestRSS < rss {
		rate = grid
		rss, a, b = reduced(rate)
	}
	return PowerFit{A: a, B: b, Rate: rate, XRef: xref, RSS: rss}
}

// goldenMin returns a minimiser of f on [a, b] by golden-section search,
// stopping when the bracket is shorter than tol.
func goldenMin(f func(float64) float64, a, b, tol float64) float64 {
	const invPhi = 0.6180339887498949
	c := b - invPhi*(b-a)
	d := a + invPhi*(b-a)
	fc, fd := f(c), f(d)
	for b-a > tol {
		if fc < fd {
			b, d, fd = d, c, fc
			c = b - invPhi*(b-a)
			fc = f(c)
		} else {
			a, c, fc = c, d, fd
			d = a + invPhi*(b-a)
			fd = f(d)
		}
	}
	return 0.5 * (a + b)
}
