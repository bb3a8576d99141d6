package transition

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// ScaleConfig holds the settings of TestScale.
type ScaleConfig struct {
	Degree    int // degree of the smooth model, a polynomial in log2 width (default 1)
	MinWidths int // fewest widths accepted; at least Degree+3 (default 5)
	Boot      int // Monte Carlo replicates of the null (default 999)
}

// DefaultScaleConfig returns Degree 1, MinWidths 5 and 999 replicates.
func DefaultScaleConfig() ScaleConfig { return ScaleConfig{Degree: 1, MinWidths: 5, Boot: 999} }

// ScaleTest is the result of TestScale.
type ScaleTest struct {
	Statistic float64 // max over gaps of F_j = ΔRSS_j / σ̂²_pure
	P         float64 // Monte Carlo p-value of Statistic under the smooth model
	Gap       int     // the step lies between widths[Gap] and widths[Gap+1]
	Jump      float64 // fitted step size at Gap (y units), beyond the smooth trend
	Sigma     float64 // pure-error sd from the seeds
	DF        int     // pure-error degrees of freedom, N − K
	Widths    int
	Degree    int
	Method    string
	Null      string
}

// TestScale asks whether a metric measured over model widths at a fixed
// training step (values[k] holds the seeds' values at widths[k]) jumps between
// two adjacent widths, beyond a smooth trend in log width.
//
// With few widths a sigmoid fit over width is meaningless, so the test is a
// lack-of-fit test with seeds as replicates: the smooth model is a polynomial
// of degree cfg.Degree in log2 width fitted to every value; the alternative
// adds a step 1[log2 w > (log2 w_j + log2 w_{j+1})/2] at one of the K − 1 gaps.
// For each gap F_j = ΔRSS_j/σ̂², with σ̂² the pure-error variance of the seeds
// around their width's mean (N − K degrees of freedom, free of any smooth
// model), and the statistic is max_j F_j. Under the null the statistic does
// not depend on the polynomial or on σ, so its distribution is simulated
// exactly from standard Gaussian values (cfg.Boot replicates; the parametric
// bootstrap from the smooth fit): p = (1 + #{T* ≥ T})/(1 + Boot).
//
// Null hypothesis: the seed values at each width are independent Gaussian
// with a common variance around a polynomial of degree cfg.Degree in log2
// width. Alternative: a step between two adjacent widths. Seeds must be
// independent training runs. A smooth curve that is not a polynomial (a
// saturating power law seen with little noise) is lack of fit, and the test
// can call it a step: the step is then only "sharper than degree Degree
// allows".
//
// At least cfg.MinWidths widths (≥ Degree+3, so that a step is not the same
// as the polynomial's remaining freedom) and 2 values at each width are
// required; fewer are refused with an error, as are non-finite values and
// widths that are not positive and increasing. TestScale panics if
// len(values) != len(widths) or cfg is invalid.
func TestScale(widths []float64, values [][]float64, cfg ScaleConfig, rng *rand.Rand) (ScaleTest, error) {
	if len(values) != len(widths) {
		panic("transition: widths and values lengths differ")
	}
	if cfg.Degree < 0 || cfg.Boot < 19 || cfg.MinWidths < cfg.Degree+3 {
		panic("transition: invalid ScaleConfig (MinWidths must be at least Degree+3)")
	}
	k := len(widths)
	if k < cfg.MinWidths {
		return ScaleTest{}, fmt.Errorf("transition: %d widths, need at least %d for a step test over width", k, cfg.MinWidths)
	}
	xs, ys, group, err := scaleValues(widths, values)
	if err != nil {
		return ScaleTest{}, err
	}
	n := len(ys)
	f, err := newScaleFit(widths, xs, cfg.Degree)
	if err != nil {
		return ScaleTest{}, err
	}
	sf := scaleStat{f: f, group: group, k: k, df: n - k}
	t, j, amp := sf.stat(ys)
	res := ScaleTest{Statistic: t, Gap: j, Jump: amp, Sigma: math.Sqrt(sf.pure(ys)), DF: sf.df, Widths: k, Degree: cfg.Degree,
		Method: "max over adjacent-width gaps of a step F against pure error; Monte Carlo null",
		Null:   fmt.Sprintf("seed values Gaussian, common variance, around a degree-%d polynomial in log2 width", cfg.Degree)}
	sim := make([]float64, n)
	exceed := 0
	for b := 0; b < cfg.Boot; b++ {
		for i := range sim {
			sim[i] = rng.NormFloat64()
		}
		if ts, _, _ := sf.stat(sim); ts >= t {
			exceed++
		}
	}
	res.P = float64(1+exceed) / float64(1+cfg.Boot)
	return res, nil
}

// scaleValues flattens values into one observation per seed: xs the log2
// width, ys the value and group the width's index. It returns an error for
// widths that are not positive and increasing, a width with fewer than 2
// values, or a non-finite value.
func scaleValues(widths []float64, values [][]float64) (xs, ys []float64, group []int, err error) {
	group = []int{}
	for i, w := range widths {
		if !(w > 0) || math.IsInf(w, 0) || (i > 0 && !(w > widths[i-1])) {
			return nil, nil, nil, fmt.Errorf("transition: widths must be positive and increasing (index %d)", i)
		}
		if len(values[i]) < 2 {
			return nil, nil, nil, fmt.Errorf("transition: width %v has %d values, need at least 2 seeds", w, len(values[i]))
		}
		for _, v := range values[i] {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, nil, nil, fmt.Errorf("transition: value %v at width %v", v, w)
			}
			xs = append(xs, math.Log2(w))
			ys = append(ys, v)
			group = append(group, i)
		}
	}
	return xs, ys, group, nil
}

// newScaleFit returns TestScale's design on the observations at log2 widths
// xs: an orthonormal basis of the polynomials of the given degree in log2
// width (rescaled to [−1, 1] over widths), and for each of the gaps between
// adjacent widths the unit vector along its step column with the polynomial
// projected out, and that column's norm. It returns an error when the
// polynomial basis is degenerate on these widths.
func newScaleFit(widths, xs []float64, degree int) (*windowFit, error) {
	n, k := len(xs), len(widths)
	x0, x1 := math.Log2(widths[0]), math.Log2(widths[k-1])
	f := &windowFit{}
	for d := 0; d <= degree; d++ {
		c := make([]float64, n)
		for i, xi := range xs {
			c[i] = math.Pow((2*xi-x0-x1)/(x1-x0), float64(d))
		}
		if !f.orthonormalize(c) {
			return nil, fmt.Errorf("transition: polynomial of degree %d is degenerate on these widths", degree)
		}
		f.q = append(f.q, c)
	}
	for j := 0; j+1 < k; j++ {
		cut := 0.5 * (math.Log2(widths[j]) + math.Log2(widths[j+1]))
		g := make([]float64, n)
		for i, xi := range xs {
			if xi > cut {
				g[i] = 1
			}
		}
		f.resid(g, g)
		nrm := math.Sqrt(dot(g, g))
		for i := range g {
			g[i] /= nrm
		}
		f.units = append(f.units, g)
		f.norms = append(f.norms, nrm)
	}
	return f, nil
}

// scaleStat computes TestScale's statistic on the design f, for observations
// in the k width groups group (df = N − k pure-error degrees of freedom).
type scaleStat struct {
	f     *windowFit
	group []int
	k, df int
}

// pure returns the pure-error variance of y: the seeds' squared deviations
// from their width's mean, over df.
func (s scaleStat) pure(y []float64) float64 {
	sum := make([]float64, s.k)
	cnt := make([]float64, s.k)
	for i, v := range y {
		sum[s.group[i]] += v
		cnt[s.group[i]]++
	}
	var ss float64
	for i, v := range y {
		d := v - sum[s.group[i]]/cnt[s.group[i]]
		ss += d * d
	}
	return ss / float64(s.df)
}

// stat returns max_j F_j = ΔRSS_j/σ̂²_pure for y, the gap j attaining it and
// the step's fitted size there; F is 0 when y has no pure error and no step
// component, +Inf when it has no pure error but a step component.
func (s scaleStat) stat(y []float64) (float64, int, float64) {
	s2 := s.pure(y)
	e := s.f.resid(nil, y)
	j, amp, _ := s.f.best(e)
	d := dot(s.f.units[j], e)
	if s2 == 0 {
		if d == 0 {
			return 0, j, amp
		}
		return math.Inf(1), j, amp
	}
	return d * d / s2, j, amp
}
