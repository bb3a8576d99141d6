package transition

import "math"

// lmModel is a model that levMar fits. eval fills f (length n) with the
// predictions at p; it reports false when the model is spent: f is then NaN,
// and stays NaN at every later evaluation, so that levMar can stop at once
// with the point it has (it would only reject every further trial).
// jacobian fills jac (column-major: column j, ∂f/∂p_j at the n points, is
// jac[j·n:(j+1)·n]) at the p of the last eval. levMar asks for the Jacobian
// only at the points it accepts, so a model that derives it from values kept
// by eval spends nothing on it at the trial points levMar rejects.
type lmModel interface {
	eval(p, f []float64) bool
	jacobian(jac []float64)
}

// levMar minimises Σ (y[i] − f_i(p))² over p by Levenberg–Marquardt with
// Marquardt's diagonal scaling (Moré 1978), starting from p, which it updates
// in place, and returns the RSS at the final p.
//
// It stops when an accepted step lowers the RSS by less than a relative 1e-12,
// when the step is shorter than 1e-10·‖p‖, when the gradient Jᵀr vanishes,
// when the model is spent, or after 500 iterations.
//
// The problems here have k ≤ 7 parameters, so the damped normal equations are
// solved by Gaussian elimination with partial pivoting.
func levMar(y, p []float64, model lmModel, lower, upper []float64) float64 {
	n, k := len(y), len(p)
	if k > maxLMParams {
		panic("transition: levMar: more than 8 parameters")
	}
	buf := make([]float64, n*(k+2)+k) // f, jac, res and trial: one allocation
	f, jac, res, trial := buf[:n], buf[n:n*(k+1)], buf[n*(k+1):n*(k+2)], buf[n*(k+2):]
	var aBuf [maxLMParams * maxLMParams]float64
	var gBuf, deltaBuf [maxLMParams]float64
	a, g, delta := aBuf[:k*k], gBuf[:k], deltaBuf[:k]

	if !model.eval(p, f) {
		return math.Inf(1)
	}
	rss := lmRSS(y, f)
	model.jacobian(jac)
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
			if !model.eval(trial, f) {
				return rss
			}
			rt := lmRSS(y, f)
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
				model.jacobian(jac) // f already holds the accepted point's values
				break
			}
			lambda *= 10
		}
		if !improved {
			break
		}
	}
	return rss
}

// lmRSS returns Σ (y[i] − f[i])², or +Inf when it is NaN.
func lmRSS(y, f []float64) float64 {
	f = f[:len(y)]
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

// fullModel is an lmModel from a function that fills f and the Jacobian
// (column-major, as lmModel's) together; jac holds the Jacobian of the last
// evaluation until levMar asks for it.
type fullModel struct {
	fn  func(p, f, jac []float64)
	jac []float64
}

func newFullModel(fn func(p, f, jac []float64), n, k int) *fullModel {
	return &fullModel{fn: fn, jac: make([]float64, n*k)}
}

func (m *fullModel) eval(p, f []float64) bool {
	m.fn(p, f, m.jac)
	return true
}

func (m *fullModel) jacobian(jac []float64) { copy(jac, m.jac) }

// lmNormalEquations fills a (k×k, row-major) with JᵀJ and g with Jᵀr for the
// Jacobian jac (column-major: column j, ∂f/∂p_j at the n points, is
// jac[j·n:(j+1)·n], with k = len(g) and n = len(res)) and residuals res, and
// returns ‖g‖∞. Each entry is summed over the points in order, in a register;
// lmDot4 sums four entries at once, so that four independent sums overlap
// instead of each waiting on its own previous addition.
func lmNormalEquations(a, g, jac, res []float64) (gmax float64) {
	k, n := len(g), len(res)
	// Row j of JᵀJ (entries l ≤ j) and then g_j are the sums of column j
	// with the columns 0..j and then with res: j+2 sums, taken four at a
	// time, the last block padded with repeats of its last sum.
	other := func(l, j int) []float64 {
		if l > j {
			return res
		}
		return jac[l*n : l*n+n]
	}
	for j := 0; j < k; j++ {
		cj := jac[j*n : j*n+n]
		for l := 0; l <= j+1; l += 4 {
			s := lmDot4(cj, other(l, j), other(min(l+1, j+1), j), other(min(l+2, j+1), j), other(min(l+3, j+1), j))
			for t := 0; t < 4 && l+t <= j+1; t++ {
				if l+t > j {
					g[j] = s[t]
				} else {
					a[j*k+l+t], a[(l+t)*k+j] = s[t], s[t]
				}
			}
		}
	}
	for j := 0; j < k; j++ {
		gmax = math.Max(gmax, math.Abs(g[j]))
	}
	return gmax
}

// lmDot4 returns Σ_i c[i]·x_t[i] for the four x_t (each as long as c), each
// summed over i in order.
func lmDot4(c, x0, x1, x2, x3 []float64) [4]float64 {
	x0, x1, x2, x3 = x0[:len(c)], x1[:len(c)], x2[:len(c)], x3[:len(c)]
	var s0, s1, s2, s3 float64
	for i, v := range c {
		s0 += v * x0[i]
		s1 += v * x1[i]
		s2 += v * x2[i]
		s3 += v * x3[i]
	}
	return [4]float64{s0, s1, s2, s3}
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
