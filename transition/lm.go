package transition

import "math"

// levMar minimises Σ (y[i] − f_i(p))² over p by Levenberg–Marquardt with
// Marquardt's diagonal scaling (Moré 1978), starting from p, which it updates
// in place. model fills f (length n) with the predictions at p and jac
// (row-major n×k) with ∂f_i/∂p_j. It returns the RSS at the final p.
//
// It stops when an accepted step lowers the RSS by less than a relative 1e-12,
// when the step is shorter than 1e-10·‖p‖, when the gradient Jᵀr vanishes, or
// after 500 iterations.
//
// The problems here have k ≤ 4 parameters, so the damped normal equations are
// solved by Gaussian elimination with partial pivoting.
func levMar(y, p []float64, model func(p, f, jac []float64), lower, upper []float64) float64 {
	n, k := len(y), len(p)
	f := make([]float64, n)
	jac := make([]float64, n*k)
	trial := make([]float64, k)
	a := make([]float64, k*k)
	g := make([]float64, k)
	delta := make([]float64, k)
	res := make([]float64, n)

	rssAt := func(q []float64) float64 {
		model(q, f, jac)
		var s float64
		for i := range y {
			r := y[i] - f[i]
			s += r * r
		}
		if math.IsNaN(s) {
			return math.Inf(1)
		}
		return s
	}
	rss := rssAt(p)
	lambda := 1e-3
	for iter := 0; iter < 500; iter++ {
		// Normal equations at p (f and jac hold the values at p).
		for i := range y {
			res[i] = y[i] - f[i]
		}
		gmax := lmNormalEquations(a, g, jac, res)
		if lower != nil {
			gmax = lmHoldBounds(a, g, p, lower, upper)
		}
		if gmax <= 1e-15*(1+rss) {
			break
		}
		improved := false
		for lambda < 1e16 {
			if !solveDamped(a, g, lambda, delta) {
				lambda *= 10
				continue
			}
			for j := range p {
				trial[j] = p[j] + delta[j]
				if lower != nil {
					trial[j] = math.Min(math.Max(trial[j], lower[j]), upper[j])
				}
				delta[j] = trial[j] - p[j]
			}
			rt := rssAt(trial)
			if rt < rss {
				copy(p, trial)
				improved = true
				rel := (rss - rt) / math.Max(rss, 1e-300)
				rss = rt
				lambda = math.Max(lambda/10, 1e-12)
				var dn, pn float64
				for j := range p {
					dn += delta[j] * delta[j]
					pn += p[j] * p[j]
				}
				if rel < 1e-12 || math.Sqrt(dn) <= 1e-10*(math.Sqrt(pn)+1e-10) {
					return rss
				}
				break
			}
			lambda *= 10
		}
		if !improved {
			break
		}
		// rssAt(trial) left f and jac at the accepted point.
	}
	model(p, f, jac)
	return rss
}

// lmNormalEquations fills a (k×k, row-major) with JᵀJ and g with Jᵀr for the
// Jacobian jac (row-major n×k, k = len(g)) and residuals res, and returns
// ‖g‖∞. Each entry is summed over the points in order, in a register.
func lmNormalEquations(a, g, jac, res []float64) (gmax float64) {
	k := len(g)
	for j := 0; j < k; j++ {
		var sg float64
		for i, r := range res {
			sg += jac[i*k+j] * r
		}
		g[j] = sg
		for l := 0; l <= j; l++ {
			var s float64
			for i := range res {
				s += jac[i*k+j] * jac[i*k+l]
			}
			a[j*k+l] = s
		}
	}
	for j := 0; j < k; j++ {
		for l := 0; l < j; l++ {
			a[l*k+j] = a[j*k+l]
		}
		gmax = math.Max(gmax, math.Abs(g[j]))
	}
	return gmax
}

// lmHoldBounds applies the active set of the box [lower, upper] to the normal
// equations a, g at p: a parameter on its bound whose descent direction points
// out of the box is held fixed (its row and column of a become the identity,
// its entry of g zero). It returns ‖g‖∞ afterwards.
func lmHoldBounds(a, g, p, lower, upper []float64) (gmax float64) {
	k := len(g)
	for j := 0; j < k; j++ {
		if (p[j] <= lower[j] && g[j] < 0) || (p[j] >= upper[j] && g[j] > 0) {
			for l := 0; l < k; l++ {
				a[j*k+l], a[l*k+j] = 0, 0
			}
			a[j*k+j] = 1
			g[j] = 0
		}
	}
	for j := 0; j < k; j++ {
		gmax = math.Max(gmax, math.Abs(g[j]))
	}
	return gmax
}

// maxLMParams is the most parameters levMar and solveDamped take: the models
// here have at most 7.
const maxLMParams = 8

// solveDamped solves (A + λ·diag(A)) δ = g for δ, with A k×k symmetric
// positive semi-definite, by Gaussian elimination with partial pivoting.
// Zero diagonal entries are damped by λ alone. It reports false if the system
// is singular. It panics if k > maxLMParams.
func solveDamped(a, g []float64, lambda float64, delta []float64) bool {
	k := len(g)
	if k > maxLMParams {
		panic("transition: solveDamped: more than 8 parameters")
	}
	var m [maxLMParams][maxLMParams]float64 // A + λ·diag(A), row by row
	var rhs [maxLMParams]float64
	for j := 0; j < k; j++ {
		copy(m[j][:k], a[j*k:(j+1)*k])
		d := a[j*k+j]
		if d == 0 {
			d = 1
		}
		m[j][j] += lambda * d
		rhs[j] = g[j]
	}
	for c := 0; c < k; c++ {
		piv := c
		for r := c + 1; r < k; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[piv][c]) {
				piv = r
			}
		}
		if m[piv][c] == 0 || math.IsNaN(m[piv][c]) {
			return false
		}
		if piv != c {
			m[c], m[piv] = m[piv], m[c]
			rhs[c], rhs[piv] = rhs[piv], rhs[c]
		}
		mc := &m[c]
		for r := c + 1; r < k; r++ {
			mr := &m[r]
			fct := mr[c] / mc[c]
			for l := c; l < k; l++ {
				mr[l] -= fct * mc[l]
			}
			rhs[r] -= fct * rhs[c]
		}
	}
	for c := k - 1; c >= 0; c-- {
		s := rhs[c]
		for l := c + 1; l < k; l++ {
			s -= m[c][l] * delta[l]
		}
		delta[c] = s / m[c][c]
		if math.IsNaN(delta[c]) || math.IsInf(delta[c], 0) {
			return false
		}
	}
	return true
}
