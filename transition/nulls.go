package transition

import (
	"math"

	"github.com/phaseprobe/phaseprobe/internal/f64"
)

// Names of the smooth null families of TestCurve, reported in CurveTest.Null.
const (
	NullLine       = "line"          // y = a + b·x
	NullPower      = "power"         // y = A + B·(step+1)^c, |c| ≤ MaxExponent (FitPower)
	NullGompertz   = "gompertz"      // y = a + b·exp(−D·(step+1)^−α), 0 < α ≤ MaxExponent
	NullRelaxation = "relaxation"    // y = a + b·exp(−c·η(step))
	NullWide       = "wide-logistic" // logistic in x with 10→90% width ≥ MinNullWidth
)

// smoothFit is one fitted null family: its name, the fitted values at the
// checkpoints, its RSS and its number of fitted parameters (σ² not counted).
type smoothFit struct {
	name string
	fit  []float64
	rss  float64
	k    int
	jac  func() [][]float64 // the Jacobian's columns at the fit
}

// fitNulls fits every smooth null family to (x, y) and returns the best one
// (lowest RSS). eta is the cumulative learning rate at each checkpoint.
func fitNulls(x, y, eta []float64, cfg CurveConfig, g grids) smoothFit {
	n := len(x)
	best := smoothFit{rss: math.Inf(1)}
	consider := func(name string, k int, rss float64, at func(i int) float64, jac func(i int, row []float64)) {
		if !(rss < best.rss) {
			return
		}
		f := make([]float64, n)
		for i := range f {
			f[i] = at(i)
		}
		best = smoothFit{name: name, fit: f, rss: rss, k: k, jac: func() [][]float64 {
			cols := make([][]float64, k)
			for j := range cols {
				cols[j] = make([]float64, n)
			}
			row := make([]float64, k)
			for i := 0; i < n; i++ {
				jac(i, row)
				for j := range cols {
					cols[j][i] = row[j]
				}
			}
			return cols
		}}
	}
	if lin, err := FitLinear(x, y); err == nil {
		consider(NullLine, 2, lin.RSS, func(i int) float64 { return lin.At(x[i]) },
			func(i int, row []float64) { row[0], row[1] = 1, x[i] })
	}
	pg := g.power
	if pg == nil {
		pg = newPowerGrid(x, cfg.MaxExponent*math.Ln10)
	}
	if err := checkCurve(x, y, 4); err == nil { // FitPower's own check
		pw := fitPower(x, y, pg)
		consider(NullPower, 3, pw.RSS, func(i int) float64 { return pw.At(x[i]) },
			func(i int, row []float64) {
				e := math.Exp(pw.Rate * (x[i] - pw.XRef))
				row[0], row[1], row[2] = 1, e, pw.B*(x[i]-pw.XRef)*e
			})
	}
	if gp, ok := fitGompertz(x, y, g.gomp); ok {
		consider(NullGompertz, 4, gp.rss, func(i int) float64 { return gp.at(x[i]) },
			func(i int, row []float64) {
				e := math.Exp(-gp.r * (x[i] - gp.x0))
				v := math.Exp(-e)
				row[0], row[1], row[2], row[3] = 1, v, -gp.b*v*e*gp.r, gp.b*v*e*(x[i]-gp.x0)
			})
	}
	rg := g.relax
	if rg == nil {
		rg = newRelaxGrid(eta)
	}
	if r, ok := fitRelaxation(eta, y, rg); ok {
		consider(NullRelaxation, 3, r.rss, func(i int) float64 { return r.at(eta[i]) },
			func(i int, row []float64) {
				e := math.Exp(-r.c * eta[i])
				row[0], row[1], row[2] = 1, e, -r.b*eta[i]*e
			})
	}
	if w := fitWide(x, y, g); !math.IsInf(w.rss, 1) {
		consider(NullWide, 4, w.rss, func(i int) float64 { return w.at(x[i]) },
			func(i int, row []float64) {
				q := w.comps[0]
				z := (x[i] - q.m) / q.s
				v := logistic(z)
				d := q.b * v * (1 - v)
				row[0], row[1], row[2], row[3] = 1, v, -d/q.s, -d*z/q.s
			})
	}
	return best
}

// gompertzFit is y = a + b·exp(−exp(−r·(x−x0))): on x = log10(step+1) the
// accuracy exp(−n·L) implied by a loss L = A·(step+1)^−α + B, with r = α·ln 10
// and x0 = ln(n·A)/r (Schaeffer et al. 2023, §2: p^n for an n-token answer
// with per-token p = e^−L). Its 10→90% width is (ln ln 10 − ln ln(10/9))/r ≈
// 3.084/r = 1.339/α decades.
type gompertzFit struct{ a, b, x0, r, rss float64 }

func (g gompertzFit) at(x float64) float64 {
	return g.a + g.b*math.Exp(-math.Exp(-g.r*(x-g.x0)))
}

// gompGrid is the (x0, r) grid of the Gompertz null on a fixed x, with each
// point's column exp(−exp(−r·(x−x0))) precomputed: x0 at 20 steps (at least
// one checkpoint spacing) from one range below to one range above the data,
// and 5 rates log-spaced over [maxRate/100, maxRate].
type gompGrid struct {
	maxRate float64
	x0, r   []float64
	cols    []basisCol
}

func newGompGrid(x []float64, maxRate float64) *gompGrid {
	n := len(x)
	rg := x[n-1] - x[0]
	sp := CheckpointSpacing(x)
	g := &gompGrid{maxRate: maxRate}
	for x0 := x[0] - rg; x0 <= x[n-1]+rg+1e-12; x0 += math.Max(sp, 3*rg/20) {
		for j := 0; j < 5; j++ {
			r := maxRate * math.Pow(0.01, float64(j)/4)
			col := make([]float64, n)
			for i, xi := range x {
				col[i] = math.Exp(-math.Exp(-r * (xi - x0)))
			}
			g.x0 = append(g.x0, x0)
			g.r = append(g.r, r)
			g.cols = append(g.cols, newBasisCol(col))
		}
	}
	return g
}

// fitGompertz fits a gompertzFit with 0 < r ≤ maxRate: the grid of gg with
// (a, b) solved linearly, then Levenberg–Marquardt on (a, b, x0, log r) with
// x0 within one range of the data and r ≥ maxRate/1000.
func fitGompertz(x, y []float64, gg *gompGrid) (gompertzFit, bool) {
	n := len(x)
	ym, ysd := meanSD(y)
	if ysd == 0 {
		return gompertzFit{}, false
	}
	ys := make([]float64, n)
	for i := range y {
		ys[i] = (y[i] - ym) / ysd
	}
	rg := x[n-1] - x[0]
	yb := meanOf(ys)
	yc := make([]float64, n)
	for i, v := range ys {
		yc[i] = v - yb
	}
	bj, gBest := bestBasisCol(gg.cols, ys, yc, yb)
	a, b := linearOnBasis(ys, gg.cols[bj].b)
	gx0, gr := gg.x0[bj], gg.r[bj]
	p := []float64{a, b, gx0, math.Log(gr)}
	lower := []float64{-1e3, -1e3, x[0] - rg, math.Log(gg.maxRate / 1000)}
	upper := []float64{1e3, 1e3, x[n-1] + rg, math.Log(gg.maxRate)}
	ex := make([]float64, n)
	model := func(p, f, jac []float64) {
		a, b, x0, r := p[0], p[1], p[2], math.Exp(p[3])
		// e = exp(−r(x−x0)) and g = exp(−e), each 4 at a time (f64.Exp); g is jac's column 1.
		for i, xi := range x {
			ex[i] = -r * (xi - x0)
		}
		f64.Exp(ex)
		gs := jac[n : 2*n]
		for i, e := range ex {
			gs[i] = -e
		}
		f64.Exp(gs)
		for i, xi := range x {
			e, g := ex[i], gs[i]
			f[i] = a + b*g
			jac[i] = 1
			jac[2*n+i] = -b * g * e * r
			jac[3*n+i] = b * g * e * (xi - x0) * r
		}
	}
	rss := levMar(ys, p, stallGuard(ys, newFullModel(model, n, 4)), lower, upper)
	if gBest < rss || math.IsNaN(rss) {
		p = []float64{a, b, gx0, math.Log(gr)}
		rss = gBest
	}
	return gompertzFit{a: p[0]*ysd + ym, b: p[1] * ysd, x0: p[2], r: math.Exp(p[3]), rss: rss * ysd * ysd}, true
}

// relaxFit is y = a + b·exp(−c·η), exponential relaxation in the cumulative
// learning rate η.
type relaxFit struct{ a, b, c, rss float64 }

func (r relaxFit) at(eta float64) float64 { return r.a + r.b*math.Exp(-r.c*eta) }

// relaxGrid is fitRelaxation's grid on a fixed η: 48 log-rates lc spaced
// evenly over [ln(0.03/η_max), ln(300/η_min)], each with its column
// exp(−e^lc·η). ok is false when η has no positive spread.
type relaxGrid struct {
	lo, hi, step float64
	cols         []basisCol
	ok           bool
}

func newRelaxGrid(eta []float64) *relaxGrid {
	etaMax, etaMin := 0.0, math.Inf(1)
	for _, e := range eta {
		etaMax = math.Max(etaMax, e)
		if e > 0 {
			etaMin = math.Min(etaMin, e)
		}
	}
	if !(etaMax > 0) || !(etaMax > etaMin) {
		return &relaxGrid{}
	}
	const nGrid = 48
	g := &relaxGrid{lo: math.Log(0.03 / etaMax), hi: math.Log(300 / etaMin), ok: true}
	g.step = (g.hi - g.lo) / (nGrid - 1)
	for i := 0; i < nGrid; i++ {
		c := math.Exp(g.lo + float64(i)*g.step)
		basis := make([]float64, len(eta))
		for j, e := range eta {
			basis[j] = math.Exp(-c * e)
		}
		g.cols = append(g.cols, newBasisCol(basis))
	}
	return g
}

// fitRelaxation fits a relaxFit with c·η_max between 0.03 and 300·η_max/η_min
// (η_min the smallest positive η): the grid rg of eta (48 log-spaced rates),
// refined by golden-section search on the reduced RSS. It reports false when
// η has no positive spread.
func fitRelaxation(eta, y []float64, rg *relaxGrid) (relaxFit, bool) {
	if !rg.ok {
		return relaxFit{}, false
	}
	basis := make([]float64, len(eta))
	reduced := func(lc float64) (rss, a, b float64) {
		c := math.Exp(lc)
		for i, e := range eta {
			basis[i] = -c * e
		}
		f64.Exp(basis)
		a, b = linearOnBasis(y, basis)
		for i := range y {
			d := y[i] - a - b*basis[i]
			rss += d * d
		}
		return rss, a, b
	}
	lo, hi, step := rg.lo, rg.hi, rg.step
	yb := meanOf(y)
	yc := make([]float64, len(y))
	for i, v := range y {
		yc[i] = v - yb
	}
	bi, bRSS := bestBasisCol(rg.cols, y, yc, yb)
	a0 := math.Max(lo, lo+float64(bi-1)*step)
	b0 := math.Min(hi, lo+float64(bi+1)*step)
	lc := goldenMin(func(v float64) float64 { r, _, _ := reduced(v); return r }, a0, b0, 1e-8)
	rss, a, b := reduced(lc)
	if g := lo + float64(bi)*step; bRSS < rss {
		lc = g
		rss, a, b = reduced(lc)
	}
	return relaxFit{a: a, b: b, c: math.Exp(lc), rss: rss}, true
}

// bestBasisCol fits y = a + b·col on every grid column (yc is y minus its mean yb) and returns the
// first column with the least residual sum of squares, and that sum.
func bestBasisCol(cols []basisCol, y, yc []float64, yb float64) (best int, bestRSS float64) {
	bestRSS = math.Inf(1)
	for j := range cols {
		c := &cols[j]
		a, b := c.fit(yc, yb)
		var rss float64
		for i := range y {
			d := y[i] - a - b*c.b[i]
			rss += d * d
		}
		if rss < bestRSS {
			best, bestRSS = j, rss
		}
	}
	return best, bestRSS
}
