package probes

import (
	"math"

	"gonum.org/v1/gonum/floats"
)

// This file holds a small L-BFGS minimiser (Nocedal & Wright 2006, Numerical Optimization,
// 2nd ed.: Algorithm 7.4 with the two-loop recursion of Algorithm 7.5, and the strong-Wolfe line
// search of Algorithms 3.5 and 3.6). gonum/optimize would serve, but it imports
// gonum/stat/distmv and through it golang.org/x/tools/container/intsets: x/tools is in this
// module's requirement graph (through GoMLX) but no package of it is built, and go.sum does not
// hold its code's hash; a minimiser of this size is less to vet than that dependency.

// lbfgsSettings are the stopping rules, as scipy's L-BFGS-B names them.
type lbfgsSettings struct {
	gtol    float64 // stop when ‖g‖∞ ≤ gtol
	ftol    float64 // stop when f_k − f_{k+1} ≤ ftol·max(|f_k|, |f_{k+1}|, 1); 0 disables
	maxIter int     // stop after maxIter iterations; 0 means no bound
	memory  int     // stored (s, y) pairs
}

type lbfgsStatus int

const (
	lbfgsGradient   lbfgsStatus = iota // ‖g‖∞ ≤ gtol
	lbfgsFunction                      // relative decrease ≤ ftol
	lbfgsMaxIter                       // iteration bound reached
	lbfgsNoProgress                    // the line search found no lower point (precision exhausted)
	lbfgsNotFinite                     // the objective or gradient became NaN or infinite
)

type lbfgsResult struct {
	x, g   []float64
	f      float64
	iter   int
	status lbfgsStatus
}

// objective evaluates f(x), writing ∇f(x) into grad.
type objective func(grad, x []float64) float64

const (
	wolfeC1     = 1e-4 // sufficient decrease
	wolfeC2     = 0.9  // curvature, the usual value for quasi-Newton methods
	maxLineEval = 20   // evaluations per line search, as scipy's maxls
)

// minimizeLBFGS minimises fg from x0 (which it does not modify).
func minimizeLBFGS(fg objective, x0 []float64, set lbfgsSettings) lbfgsResult {
	dim := len(x0)
	x := append([]float64(nil), x0...)
	g := make([]float64, dim)
	f := fg(g, x)
	res := lbfgsResult{}
	finish := func(st lbfgsStatus) lbfgsResult {
		res.x, res.g, res.f, res.status = x, g, f, st
		return res
	}
	if !finite(f) || !allFinite(g) {
		return finish(lbfgsNotFinite)
	}
	if floats.Norm(g, math.Inf(1)) <= set.gtol {
		return finish(lbfgsGradient)
	}

	mem := newLBFGSMemory(set.memory, dim)
	d := make([]float64, dim)
	xt := make([]float64, dim)
	gt := make([]float64, dim)
	ls := lineSearch{fg: fg, x: x, d: d, xt: xt, gt: gt}

	for {
		step := mem.direction(d, g)
		dg := floats.Dot(d, g)
		if !(dg < 0) {
			// Not a descent direction (rounding in a badly scaled memory): restart from −g.
			mem.reset()
			copy(d, g)
			floats.Scale(-1, d)
			dg = floats.Dot(d, g)
			step = min(1, 1/floats.Norm(g, 2))
		}

		ls.x = x
		a, ft, ok := ls.search(f, dg, step)
		if !ok && mem.stored > 0 {
			// Retry once along steepest descent with an empty memory.
			mem.reset()
			copy(d, g)
			floats.Scale(-1, d)
			a, ft, ok = ls.search(f, floats.Dot(d, g), min(1, 1/floats.Norm(g, 2)))
		}
		if !ok {
			return finish(lbfgsNoProgress)
		}
		res.iter++
		mem.store(a, d, gt, g)

		fPrev := f
		x, xt = xt, x
		g, gt = gt, g
		ls.xt, ls.gt = xt, gt
		f = ft
		if !finite(f) || !allFinite(g) {
			return finish(lbfgsNotFinite)
		}
		if floats.Norm(g, math.Inf(1)) <= set.gtol {
			return finish(lbfgsGradient)
		}
		if set.ftol > 0 && fPrev-f <= set.ftol*max(math.Abs(fPrev), math.Abs(f), 1) {
			return finish(lbfgsFunction)
		}
		if set.maxIter > 0 && res.iter >= set.maxIter {
			return finish(lbfgsMaxIter)
		}
	}
}

// lbfgsMemory holds the stored (s, y) pairs of L-BFGS in a ring of m slots:
// stored pairs, the newest in slot newest (−1 when empty), with
// rho = 1/sᵀy and alpha scratch for the two-loop recursion.
type lbfgsMemory struct {
	s, y           [][]float64
	rho, alpha     []float64
	stored, newest int
}

// newLBFGSMemory returns an empty memory of m pairs of length dim.
func newLBFGSMemory(m, dim int) *lbfgsMemory {
	h := &lbfgsMemory{s: make([][]float64, m), y: make([][]float64, m),
		rho: make([]float64, m), alpha: make([]float64, m), newest: -1}
	for i := range h.s {
		h.s[i] = make([]float64, dim)
		h.y[i] = make([]float64, dim)
	}
	return h
}

// reset empties the memory.
func (h *lbfgsMemory) reset() { h.stored, h.newest = 0, -1 }

// direction writes d = −H·g by the two-loop recursion (N&W Algorithm 7.5),
// H₀ = γI with γ = sᵀy/yᵀy of the newest pair, and returns the first trial
// step: 1 with stored pairs, min(1, 1/‖g‖₂) without.
func (h *lbfgsMemory) direction(d, g []float64) (step float64) {
	m, s, y, rho, alpha := len(h.s), h.s, h.y, h.rho, h.alpha
	copy(d, g)
	for j := 0; j < h.stored; j++ {
		i := (h.newest - j + m) % m
		alpha[i] = rho[i] * floats.Dot(s[i], d)
		floats.AddScaled(d, -alpha[i], y[i])
	}
	step = 1.0
	if h.stored > 0 {
		floats.Scale(floats.Dot(s[h.newest], y[h.newest])/floats.Dot(y[h.newest], y[h.newest]), d)
	} else {
		step = min(1, 1/floats.Norm(g, 2))
	}
	for j := h.stored - 1; j >= 0; j-- {
		i := (h.newest - j + m) % m
		beta := rho[i] * floats.Dot(y[i], d)
		floats.AddScaled(d, alpha[i]-beta, s[i])
	}
	floats.Scale(-1, d)
	return step
}

// store writes s = a·d and y = gt − g into the slot after the newest and
// makes it the newest pair when the curvature sᵀy exceeds 1e-10·yᵀy.
func (h *lbfgsMemory) store(a float64, d, gt, g []float64) {
	m := len(h.s)
	next := (h.newest + 1) % m
	floats.ScaleTo(h.s[next], a, d)
	floats.SubTo(h.y[next], gt, g)
	if sy := floats.Dot(h.s[next], h.y[next]); sy > 1e-10*floats.Dot(h.y[next], h.y[next]) {
		h.rho[next] = 1 / sy
		h.newest = next
		h.stored = min(h.stored+1, m)
	}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func allFinite(v []float64) bool {
	for _, e := range v {
		if !finite(e) {
			return false
		}
	}
	return true
}

// lineSearch finds a step a along d from x satisfying the strong Wolfe conditions
//
//	f(x+a·d) ≤ f(x) + c₁·a·∇f(x)ᵀd,   |∇f(x+a·d)ᵀd| ≤ c₂·|∇f(x)ᵀd|.
//
// On success the accepted point and its gradient are in xt and gt.
type lineSearch struct {
	fg     objective
	x, d   []float64
	xt, gt []float64
}

// eval evaluates the objective at x + a·d into xt and gt, returning f and the slope gtᵀd.
func (l *lineSearch) eval(a float64) (f, dg float64) {
	floats.AddScaledTo(l.xt, l.x, a, l.d)
	f = l.fg(l.gt, l.xt)
	return f, floats.Dot(l.gt, l.d)
}

// search returns the accepted step and the objective there, or ok = false when no step gives a
// sufficient decrease within maxLineEval evaluations.
func (l *lineSearch) search(f0, dg0, a float64) (step, f float64, ok bool) {
	aPrev, fPrev, dgPrev := 0.0, f0, dg0
	for i := 0; i < maxLineEval; i++ {
		fa, dga := l.eval(a)
		if !finite(fa) || fa > f0+wolfeC1*a*dg0 || (i > 0 && fa >= fPrev) {
			return l.zoom(f0, dg0, aPrev, fPrev, dgPrev, a, fa, dga, maxLineEval-i-1)
		}
		if math.Abs(dga) <= -wolfeC2*dg0 {
			return a, fa, true
		}
		if dga >= 0 {
			return l.zoom(f0, dg0, a, fa, dga, aPrev, fPrev, dgPrev, maxLineEval-i-1)
		}
		aPrev, fPrev, dgPrev = a, fa, dga
		a *= 4
	}
	return 0, f0, false
}

// zoom narrows [lo, hi] (lo has the lower objective and satisfies sufficient decrease) until a
// point satisfies the strong Wolfe conditions. When the evaluations run out it accepts lo if lo
// decreased the objective.
func (l *lineSearch) zoom(f0, dg0, lo, flo, dglo, hi, fhi, dghi float64, evals int) (float64, float64, bool) {
	for ; evals > 0; evals-- {
		a := interpolate(lo, flo, dglo, hi, fhi, dghi)
		fa, dga := l.eval(a)
		if !finite(fa) || fa > f0+wolfeC1*a*dg0 || fa >= flo {
			hi, fhi, dghi = a, fa, dga
		} else {
			if math.Abs(dga) <= -wolfeC2*dg0 {
				return a, fa, true
			}
			if dga*(hi-lo) >= 0 {
				hi, fhi, dghi = lo, flo, dglo
			}
			lo, flo, dglo = a, fa, dga
		}
		if math.Abs(hi-lo) <= 1e-16*max(math.Abs(lo), math.Abs(hi)) {
			break
		}
	}
	if lo > 0 && flo < f0 {
		fa, _ := l.eval(lo)
		return lo, fa, true
	}
	return 0, f0, false
}

// interpolate returns the minimiser of the cubic through (lo, flo, dglo) and (hi, fhi, dghi),
// kept at least a tenth of the interval away from both ends; bisection when the cubic has no
// usable minimiser (N&W eq. 3.59).
func interpolate(lo, flo, dglo, hi, fhi, dghi float64) float64 {
	width := hi - lo
	mid := lo + width/2
	if !finite(fhi) || !finite(dghi) {
		return lo + width/10 // the upper end blew up: step back hard
	}
	d1 := dglo + dghi - 3*(flo-fhi)/(lo-hi)
	disc := d1*d1 - dglo*dghi
	if disc < 0 {
		return mid
	}
	d2 := math.Copysign(math.Sqrt(disc), hi-lo)
	a := hi - (hi-lo)*(dghi+d2-d1)/(dghi-dglo+2*d2)
	lower, upper := min(lo, hi), max(lo, hi)
	margin := 0.1 * math.Abs(width)
	if !finite(a) || a < lower+margin || a > upper-margin {
		return mid
	}
	return a
}
