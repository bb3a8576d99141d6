package transition

import (
	"math"
	"slices"
)

// logiComp is one logistic step b·σ((x−m)/s) of a logisticSum.
type logiComp struct{ m, s, b float64 }

// logisticSum is y = c + Σ_k b_k·σ((x−m_k)/s_k), the jump model of TestCurve
// (one or two components) and, with a scale bounded from below, the
// wide-sigmoid null.
type logisticSum struct {
	c     float64
	comps []logiComp
	rss   float64
}

func (f logisticSum) at(x float64) float64 {
	v := f.c
	for _, q := range f.comps {
		v += q.b * logistic((x-q.m)/q.s)
	}
	return v
}

// jacTo returns the columns of the Jacobian of f at x: ∂/∂c, then per
// component ∂/∂b, ∂/∂m, ∂/∂s.
func (f logisticSum) jacTo(x []float64) [][]float64 {
	n := len(x)
	one := make([]float64, n)
	for i := range one {
		one[i] = 1
	}
	cols := [][]float64{one}
	for _, q := range f.comps {
		cb, cm, cs := make([]float64, n), make([]float64, n), make([]float64, n)
		for i, xi := range x {
			z := (xi - q.m) / q.s
			v := logistic(z)
			w := q.b * v * (1 - v)
			cb[i], cm[i], cs[i] = v, -w/q.s, -w*z/q.s
		}
		cols = append(cols, cb, cm, cs)
	}
	return cols
}

// compBox bounds one component's midpoint and scale.
type compBox struct{ mLo, mHi, sLo, sHi float64 }

// solveLS fills coef with the least-squares coefficients of y on the columns
// (at most 5; normal equations with a 1e-12 relative ridge, solved by
// Gaussian elimination with partial pivoting) and returns the RSS; +Inf when
// the system is singular.
func solveLS(y []float64, cols [][]float64, coef []float64) float64 {
	k := len(cols)
	const w = 6
	var m [5 * w]float64 // augmented k×(k+1) system, row stride w
	for j := 0; j < k; j++ {
		cj := cols[j]
		for l := 0; l <= j; l++ {
			cl := cols[l]
			var s float64
			for i := range y {
				s += cj[i] * cl[i]
			}
			m[j*w+l], m[l*w+j] = s, s
		}
		var s float64
		for i := range y {
			s += cj[i] * y[i]
		}
		m[j*w+k] = s
		m[j*w+j] *= 1 + 1e-12
	}
	for c := 0; c < k; c++ {
		piv := c
		for r := c + 1; r < k; r++ {
			if math.Abs(m[r*w+c]) > math.Abs(m[piv*w+c]) {
				piv = r
			}
		}
		if !(math.Abs(m[piv*w+c]) > 0) {
			return math.Inf(1)
		}
		if piv != c {
			for l := 0; l <= k; l++ {
				m[c*w+l], m[piv*w+l] = m[piv*w+l], m[c*w+l]
			}
		}
		for r := c + 1; r < k; r++ {
			f := m[r*w+c] / m[c*w+c]
			for l := c; l <= k; l++ {
				m[r*w+l] -= f * m[c*w+l]
			}
		}
	}
	for c := k - 1; c >= 0; c-- {
		s := m[c*w+k]
		for l := c + 1; l < k; l++ {
			s -= m[c*w+l] * coef[l]
		}
		coef[c] = s / m[c*w+c]
	}
	var rss float64
	for i := range y {
		f := 0.0
		for j := 0; j < k; j++ {
			f += coef[j] * cols[j][i]
		}
		r := y[i] - f
		rss += r * r
	}
	if math.IsNaN(rss) {
		return math.Inf(1)
	}
	return rss
}

// guardedModel wraps a levMar model with a stall guard. levMar stops only
// on a relative RSS change of 1e-12, which a near-step or a redundant
// component approaches over hundreds of iterations. After maxEvals
// evaluations, or stallEvals evaluations without a relative improvement of
// stallTol on the best RSS seen, eval fills f with NaN and reports the model
// spent, and levMar stops with its best point: the point and RSS it would
// reach by rejecting every further (NaN) trial until it gave up.
type guardedModel struct {
	y                []float64
	model            lmModel
	evals, sinceBest int
	best             float64
}

const maxEvals, stallEvals, stallTol = 200, 12, 1e-7

func stallGuard(y []float64, model lmModel) *guardedModel {
	return &guardedModel{y: y, model: model, best: math.Inf(1)}
}

func (g *guardedModel) reset() { g.evals, g.sinceBest, g.best = 0, 0, math.Inf(1) }

// eval is lmModel's eval. Once the guard trips it stays tripped until reset,
// since evals and sinceBest only grow until then.
func (g *guardedModel) eval(p, f []float64) bool {
	g.evals++
	g.sinceBest++
	if g.evals > maxEvals || g.sinceBest > stallEvals {
		for i := range f {
			f[i] = math.NaN()
		}
		return false
	}
	if !g.model.eval(p, f) {
		return false
	}
	var rss float64
	for i := range f {
		d := g.y[i] - f[i]
		rss += d * d
	}
	if rss < g.best*(1-stallTol) {
		g.best, g.sinceBest = rss, 0
	}
	return true
}

func (g *guardedModel) jacobian(jac []float64) { g.model.jacobian(jac) }

// maxPolish is how many starts fitLogisticSum polishes by Levenberg–Marquardt.
const maxPolish = 2

// cmpFloat orders floats ascending.
func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// fitLogisticSum fits c + Σ b_k σ((x−m_k)/s_k) with component k confined to
// boxes[k], by least squares on standardised y. Each start gives (m_k, s_k);
// c and b_k are solved linearly, then Levenberg–Marquardt polishes all
// parameters (m, log s, b, and c) inside the boxes. The best fit is returned;
// rss is +Inf if every start failed. With more than maxPolish starts, only
// the maxPolish of lowest RSS after the linear solve are polished.
func fitLogisticSum(x, y []float64, boxes []compBox, starts [][]logiComp) logisticSum {
	n, K := len(x), len(boxes)
	ym, ysd := meanSD(y)
	if ysd == 0 {
		ysd = 1
	}
	ys := make([]float64, n)
	for i := range y {
		ys[i] = (y[i] - ym) / ysd
	}
	np := 1 + 3*K
	// A step is at most twice the curve's range: beyond that two components
	// only cancel each other in a bump.
	bMax := 2 * (slices.Max(ys) - slices.Min(ys))
	lower, upper := logisticSumBox(boxes, bMax)
	model := stallGuard(ys, newLogisticSumModel(x, K))
	cols := make([][]float64, 1+K)
	for j := range cols {
		cols[j] = make([]float64, n)
	}
	for i := range cols[0] {
		cols[0][i] = 1
	}
	coef := make([]float64, 1+K)
	best := logisticSum{rss: math.Inf(1)}
	p := make([]float64, np)
	if len(starts) > maxPolish {
		starts = lowestStarts(x, ys, boxes, starts, cols, coef)
	}
	for _, st := range starts {
		for k, q := range st {
			m := math.Min(math.Max(q.m, boxes[k].mLo), boxes[k].mHi)
			s := math.Min(math.Max(q.s, boxes[k].sLo), boxes[k].sHi)
			p[1+3*k], p[2+3*k] = m, math.Log(s)
			for i, xi := range x {
				cols[1+k][i] = logistic((xi - m) / s)
			}
		}
		if math.IsInf(solveLS(ys, cols, coef), 1) {
			continue
		}
		p[0] = coef[0]
		for k := 0; k < K; k++ {
			p[3+3*k] = math.Min(math.Max(coef[1+k], -bMax), bMax)
		}
		rss := levMar(ys, p, model, lower, upper)
		model.reset()
		if !(rss < best.rss) {
			continue
		}
		best.rss = rss
		best.c = p[0]
		best.comps = best.comps[:0]
		for k := 0; k < K; k++ {
			best.comps = append(best.comps, logiComp{m: p[1+3*k], s: math.Exp(p[2+3*k]), b: p[3+3*k]})
		}
	}
	if math.IsInf(best.rss, 1) {
		return best
	}
	best.c = best.c*ysd + ym
	for k := range best.comps {
		best.comps[k].b *= ysd
	}
	best.rss *= ysd * ysd
	return best
}

// logisticSumBox returns fitLogisticSum's bounds on p = (c, then m_k, log s_k,
// b_k for each component): c within ±1e3, (m_k, s_k) within boxes[k] and b_k
// within ±bMax (all on standardised y).
func logisticSumBox(boxes []compBox, bMax float64) (lower, upper []float64) {
	np := 1 + 3*len(boxes)
	lower = make([]float64, np)
	upper = make([]float64, np)
	lower[0], upper[0] = -1e3, 1e3
	for k, bx := range boxes {
		lower[1+3*k], upper[1+3*k] = bx.mLo, bx.mHi
		lower[2+3*k], upper[2+3*k] = math.Log(bx.sLo), math.Log(bx.sHi)
		lower[3+3*k], upper[3+3*k] = -bMax, bMax
	}
	return lower, upper
}

// logisticSumModel is the levMar model of K logistic components at x:
// f_i = c + Σ_k b_k σ((x_i − m_k)/s_k), with its Jacobian in
// p = (c, then m_k, log s_k, b_k for each component). eval keeps s_k, b_k,
// z = (x_i − m_k)/s_k and σ(z), from which jacobian builds the Jacobian
// without another exponential, and only at the points levMar accepts.
type logisticSumModel struct {
	x     []float64
	K     int
	scale []float64 // s_k = exp(log s_k), computed once per evaluation
	b     []float64 // b_k
	z, q  []float64 // z and σ(z) of point i and component k at [i·K+k]
}

func newLogisticSumModel(x []float64, K int) *logisticSumModel {
	n := len(x)
	return &logisticSumModel{x: x, K: K, scale: make([]float64, K), b: make([]float64, K),
		z: make([]float64, n*K), q: make([]float64, n*K)}
}

func (m *logisticSumModel) eval(p, f []float64) bool {
	K := m.K
	for k := 0; k < K; k++ {
		m.scale[k] = math.Exp(p[2+3*k])
		m.b[k] = p[3+3*k]
	}
	for i, xi := range m.x {
		zi := m.z[i*K : i*K+K]
		for k := range zi {
			zi[k] = (xi - p[1+3*k]) / m.scale[k]
		}
	}
	logisticVec(m.q, m.z) // the fit's hot loop: its exponentials 4 at a time
	for i := range m.x {
		v := p[0]
		for k, q := range m.q[i*K : i*K+K] {
			v += m.b[k] * q
		}
		f[i] = v
	}
	return true
}

func (m *logisticSumModel) jacobian(jac []float64) {
	n, K := len(m.x), m.K
	c := jac[:n]
	for i := range c {
		c[i] = 1
	}
	for k := 0; k < K; k++ {
		s, b := m.scale[k], m.b[k]
		cm, cs, cb := jac[(1+3*k)*n:(2+3*k)*n], jac[(2+3*k)*n:(3+3*k)*n], jac[(3+3*k)*n:(4+3*k)*n]
		for i := range cm {
			z, q := m.z[i*K+k], m.q[i*K+k]
			w := b * q * (1 - q)
			cm[i] = -w / s
			cs[i] = -w * z
			cb[i] = q
		}
	}
}

// lowestStarts returns the maxPolish starts whose components, clamped to
// boxes, give the lowest RSS of ys after the linear solve for c and b (ties
// keep the starts' order). cols (the constant column, then one per
// component) and coef are scratch for solveLS.
func lowestStarts(x, ys []float64, boxes []compBox, starts [][]logiComp, cols [][]float64, coef []float64) [][]logiComp {
	rs := make([]float64, len(starts))
	for j, st := range starts {
		for k, q := range st {
			m := math.Min(math.Max(q.m, boxes[k].mLo), boxes[k].mHi)
			s := math.Min(math.Max(q.s, boxes[k].sLo), boxes[k].sHi)
			for i, xi := range x {
				cols[1+k][i] = logistic((xi - m) / s)
			}
		}
		rs[j] = solveLS(ys, cols, coef)
	}
	idx := make([]int, len(starts))
	for j := range idx {
		idx[j] = j
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmpFloat(rs[a], rs[b]) })
	kept := make([][]logiComp, 0, maxPolish)
	for _, j := range idx[:maxPolish] {
		kept = append(kept, starts[j])
	}
	return kept
}

// compGrid is the grid of one logistic component's (m, s) within a box on a
// fixed x, with each grid point's column σ((x−m)/s) precomputed, so that a
// grid search on many curves over the same x costs dot products only.
type compGrid struct {
	box     compBox
	pts     []logiComp
	cols    [][]float64
	sum, sq []float64 // Σ col[i] and Σ col[i]² of each column
}

// newCompGrid lays the grid: m at the checkpoints and half-way between them
// inside [bx.mLo, bx.mHi], plus every two checkpoint spacings beyond the
// data, and 5 scales log-spaced over [max(bx.sLo, spacing/8),
// min(bx.sHi, 2·range)].
func newCompGrid(x []float64, bx compBox) *compGrid {
	n := len(x)
	sp := CheckpointSpacing(x)
	r := x[n-1] - x[0]
	gLo := math.Max(bx.sLo, sp/8)
	gHi := math.Min(bx.sHi, 2*r)
	if gHi < gLo {
		gHi = gLo
	}
	var ms []float64
	for m := x[0] - 2*sp; m >= bx.mLo; m -= 2 * sp {
		ms = append(ms, m)
	}
	for i := range x {
		if x[i] >= bx.mLo && x[i] <= bx.mHi {
			ms = append(ms, x[i])
		}
		if i+1 < n {
			if m := 0.5 * (x[i] + x[i+1]); m >= bx.mLo && m <= bx.mHi {
				ms = append(ms, m)
			}
		}
	}
	for m := x[n-1] + 2*sp; m <= bx.mHi; m += 2 * sp {
		ms = append(ms, m)
	}
	const nScales = 5
	g := &compGrid{box: bx}
	for _, m := range ms {
		for j := 0; j < nScales; j++ {
			s := gLo * math.Pow(gHi/gLo, float64(j)/(nScales-1))
			col := make([]float64, n)
			for i, xi := range x {
				col[i] = logistic((xi - m) / s)
			}
			g.pts = append(g.pts, logiComp{m: m, s: s})
			g.cols = append(g.cols, col)
			var sum, sq float64
			for _, v := range col {
				sum += v
				sq += v * v
			}
			g.sum = append(g.sum, sum)
			g.sq = append(g.sq, sq)
		}
	}
	return g
}

// search returns the grid point that minimises the RSS of y on [1, the fixed
// components' steps, the grid point's step]. It projects y and each column
// off the span of the constant and the fixed steps (Gram–Schmidt), so that a
// grid point costs 1 + len(fixed) dot products: RSS = ‖ỹ‖² − (q·ỹ)²/‖q̃‖².
func (g *compGrid) search(x, y []float64, fixed []logiComp) logiComp {
	q, _ := g.searchRSS(x, y, fixed)
	return q
}

// searchRSS is search that also returns the best point's RSS.
func (g *compGrid) searchRSS(x, y []float64, fixed []logiComp) (logiComp, float64) {
	n := len(x)
	var colBuf [2][]float64
	cols := colBuf[:0]
	if len(fixed) > 0 {
		buf := make([]float64, n*len(fixed))
		for k, q := range fixed {
			u := buf[k*n : (k+1)*n]
			for i, xi := range x {
				u[i] = logistic((xi - q.m) / q.s)
			}
			cols = append(cols, u)
		}
	}
	return g.searchCols(y, cols)
}

// searchCols is searchRSS with the fixed components given as their columns σ((x−m)/s), which
// it overwrites.
func (g *compGrid) searchCols(y []float64, fixed [][]float64) (logiComp, float64) {
	us, qq := g.offBasis(len(y), fixed)
	return g.scan(y, us, qq)
}

// offBasis returns the orthonormal basis that searchCols projects off — the constant, then
// each fixed column (overwritten) orthogonalised against the basis so far and kept when its
// norm exceeds 1e-9 — and each grid column's squared norm off that span, qq[j].
func (g *compGrid) offBasis(n int, fixed [][]float64) (us [][]float64, qq []float64) {
	us = make([][]float64, 0, 1+len(fixed))
	u0 := make([]float64, n)
	for i := range u0 {
		u0[i] = 1 / math.Sqrt(float64(n))
	}
	us = append(us, u0)
	for _, u := range fixed {
		for _, v := range us {
			d := dot(u, v)
			for i := range u {
				u[i] -= d * v[i]
			}
		}
		if nu := math.Sqrt(dot(u, u)); nu > 1e-9 {
			for i := range u {
				u[i] /= nu
			}
			us = append(us, u)
		}
	}
	qq = make([]float64, len(g.cols))
	for j := range g.cols {
		s0 := g.sum[j] / math.Sqrt(float64(n))
		qq[j] = g.sq[j] - s0*s0
	}
	// Each column's q loses d² for each basis vector in turn, as one column at a time would;
	// the dot products are taken four columns at a time (each summed in order: same bits).
	for _, v := range us[1:] {
		eachDot(g.cols, v, func(j int, d float64) { qq[j] -= d * d })
	}
	return us, qq
}

// eachDot calls f(j, Σ_i v[i]·cols[j][i]) for every column in order, each sum taken over i in
// order (so with dot's bits), four columns at a time for the instruction-level parallelism a
// single running sum lacks. Every column is at least as long as v.
func eachDot(cols [][]float64, v []float64, f func(j int, d float64)) {
	j := 0
	for ; j+4 <= len(cols); j += 4 {
		d := lmDot4(v, cols[j], cols[j+1], cols[j+2], cols[j+3])
		f(j, d[0])
		f(j+1, d[1])
		f(j+2, d[2])
		f(j+3, d[3])
	}
	for ; j < len(cols); j++ {
		f(j, dot(cols[j][:len(v)], v))
	}
}

// scan returns the grid point whose column most reduces the RSS of y projected off the
// orthonormal basis us (qq as offBasis returns it for us) and that RSS.
func (g *compGrid) scan(y []float64, us [][]float64, qq []float64) (logiComp, float64) {
	yt := make([]float64, len(y))
	copy(yt, y)
	for _, v := range us {
		d := dot(yt, v)
		for i := range yt {
			yt[i] -= d * v[i]
		}
	}
	best := g.pts[0]
	bestGain := -1.0
	eachDot(g.cols, yt, func(j int, d float64) {
		if !(qq[j] > 1e-12*g.sq[j]) {
			return
		}
		if gain := d * d / qq[j]; gain > bestGain {
			bestGain, best = gain, g.pts[j]
		}
	})
	return best, dot(yt, yt) - math.Max(bestGain, 0)
}

// dot returns Σ a[i]·b[i].
func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// meanSD returns the mean and the (population) standard deviation of v.
func meanSD(v []float64) (m, sd float64) {
	m = meanOf(v)
	for _, a := range v {
		sd += (a - m) * (a - m)
	}
	return m, math.Sqrt(sd / float64(len(v)))
}

// jumpBox is the box of a free jump component: midpoint inside the data,
// scale from a fiftieth of a checkpoint spacing (a step, to 10⁻⁵, at half a
// spacing) to ten ranges.
func jumpBox(x []float64) compBox {
	n := len(x)
	sp := CheckpointSpacing(x)
	return compBox{mLo: x[0], mHi: x[n-1], sLo: sp / 50, sHi: 10 * (x[n-1] - x[0])}
}

// wideBox is the box of the wide-sigmoid null: 10→90% width at least w0,
// midpoint up to one range outside the data (so that its tails cover
// exponential-in-x bends).
func wideBox(x []float64, w0 float64) compBox {
	n := len(x)
	r := x[n-1] - x[0]
	return compBox{mLo: x[0] - r, mHi: x[n-1] + r, sLo: w0 / WidthPerScale, sHi: math.Max(10*r, 2*w0/WidthPerScale)}
}

// secondBox is the box of the second component of the two-jump model: any
// scale, midpoint up to one range outside the data, so that the model
// contains one logistic plus a wide one.
func secondBox(x []float64) compBox {
	n := len(x)
	r := x[n-1] - x[0]
	return compBox{mLo: x[0] - r, mHi: x[n-1] + r, sLo: CheckpointSpacing(x) / 50, sHi: 10 * r}
}

// sharpBox is jumpBox with scales up to one checkpoint spacing: the grid of
// a second start for the two-jump fits.
func sharpBox(x []float64) compBox {
	b := jumpBox(x)
	b.sHi = CheckpointSpacing(x)
	return b
}

// newStepGrid lays near-steps half-way between consecutive checkpoints, with
// scale a tenth of the gap.
func newStepGrid(x []float64) *compGrid {
	g := &compGrid{box: jumpBox(x)}
	for i := 0; i+1 < len(x); i++ {
		q := logiComp{m: 0.5 * (x[i] + x[i+1]), s: (x[i+1] - x[i]) / 10}
		col := make([]float64, len(x))
		var sum, sq float64
		for j, xj := range x {
			col[j] = logistic((xj - q.m) / q.s)
			sum += col[j]
			sq += col[j] * col[j]
		}
		g.pts = append(g.pts, q)
		g.cols = append(g.cols, col)
		g.sum = append(g.sum, sum)
		g.sq = append(g.sq, sq)
	}
	return g
}

// pairSearch returns the pair of near-steps of g.steps that fits y best with
// a constant (an exhaustive search over pairs): the start that finds two
// jumps of similar size, which a greedy one-at-a-time search misses.
func (g grids) pairSearch(x, y []float64) []logiComp {
	best := []logiComp{g.steps.pts[0], g.steps.pts[len(g.steps.pts)-1]}
	bestRSS := math.Inf(1)
	for j, p := range g.steps.pts {
		// The search given p (searchRSS with p fixed) from its basis and column norms, which
		// do not depend on y.
		if q, rss := g.steps.scan(y, g.stepPairs[j].us, g.stepPairs[j].qq); rss < bestRSS {
			bestRSS = rss
			best = []logiComp{p, q}
		}
	}
	return best
}

// stepPair is what searchCols computes for the step grid given one of its own near-steps
// fixed: the basis it projects off and the grid's column norms off it (offBasis).
type stepPair struct {
	us [][]float64
	qq []float64
}

// newStepPairs lays a stepPair for every near-step of the step grid g (n points).
func newStepPairs(g *compGrid, n int) []stepPair {
	ps := make([]stepPair, len(g.pts))
	for j := range g.pts {
		col := slices.Clone(g.cols[j]) // σ((x−m)/s) of the near-step, as searchRSS computes it
		ps[j].us, ps[j].qq = g.offBasis(n, [][]float64{col})
	}
	return ps
}

// grids holds the precomputed component grids of one x.
type grids struct {
	jump, sharp, wide, second *compGrid
	steps                     *compGrid  // near-steps half-way between checkpoints, for pairSearch
	stepPairs                 []stepPair // pairSearch's search given each near-step
	gomp                      *gompGrid
	power                     *powerGrid // FitPower's grid at MaxExponent
	relax                     *relaxGrid // fitRelaxation's grid on the curve's η; nil: fitNulls lays it
}

func newGrids(x []float64, cfg CurveConfig) grids {
	steps := newStepGrid(x)
	return grids{
		stepPairs: newStepPairs(steps, len(x)),
		jump:      newCompGrid(x, jumpBox(x)),
		sharp:     newCompGrid(x, sharpBox(x)),
		steps:     steps,
		wide:      newCompGrid(x, wideBox(x, cfg.MinNullWidth)),
		second:    newCompGrid(x, secondBox(x)),
		gomp:      newGompGrid(x, cfg.MaxExponent*math.Ln10),
		power:     newPowerGrid(x, cfg.MaxExponent*math.Ln10),
	}
}

// fitOneJump fits the one-logistic jump model (any width, midpoint inside the
// data): grid, then Levenberg–Marquardt from the grid's best point and from
// the steepest slope.
func fitOneJump(x, y []float64, g grids) logisticSum {
	st := g.jump.search(x, y, nil)
	starts := [][]logiComp{{st}}
	if m, _, err := SteepestSlope(x, y); err == nil {
		starts = append(starts, []logiComp{{m: m, s: CheckpointSpacing(x) / 4}})
	}
	return fitLogisticSum(x, y, []compBox{g.jump.box}, starts)
}

// fitWide fits the wide-sigmoid null: one logistic with 10→90% width ≥ w0.
func fitWide(x, y []float64, g grids) logisticSum {
	st := g.wide.search(x, y, nil)
	return fitLogisticSum(x, y, []compBox{g.wide.box}, [][]logiComp{{st}})
}

// fitTwo fits two logistic components, the first on grid g0's box and the
// second on g1's. For each of firsts it makes two starts: that first with a
// grid search for the second given it, and a grid search for the first given
// that second (one back-fitting pass); each extra with two components (fits of
// nested models) is a start too, so that the result is at least as good as
// they are.
func fitTwo(x, y []float64, g0, g1 *compGrid, firsts []logiComp, extra ...[]logiComp) logisticSum {
	var starts [][]logiComp
	for _, first := range firsts {
		second := g1.search(x, y, []logiComp{first})
		refit := g0.search(x, y, []logiComp{second})
		starts = append(starts, []logiComp{first, second}, []logiComp{refit, second})
	}
	for _, e := range extra {
		if len(e) == 2 {
			starts = append(starts, e)
		}
	}
	return fitLogisticSum(x, y, []compBox{g0.box, g1.box}, starts)
}
