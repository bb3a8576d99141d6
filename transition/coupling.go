package transition

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// CoupleConfig holds the parameters of Couple.
type CoupleConfig struct {
	// MinCells is the smallest number of paired cells (cells with both an
	// internal and a task onset, in strata of at least 2 such cells) for
	// which Couple computes a p-value; it must be at least 6.
	MinCells int
	// Level is the confidence level of the slope interval, in (0, 1).
	Level float64
	// Resamples is the number of random within-stratum permutations when
	// onsets tie and the exact null distribution does not apply.
	Resamples int
}

// DefaultCoupleConfig returns Couple's defaults: at least 6 paired cells, a
// 95% slope interval, and 9999 permutations when the exact test does not
// apply.
func DefaultCoupleConfig() CoupleConfig {
	return CoupleConfig{MinCells: 6, Level: 0.95, Resamples: 9999}
}

// Coupling is the result of Couple.
type Coupling struct {
	// Cells is the number of cells given; N the paired cells used and Strata
	// the strata they fall in (strata with fewer than 2 paired cells carry no
	// within-stratum information and are dropped).
	Cells, N, Strata int
	// S = Σ_strata Σ_{i<j} sgn(tᵢ−tⱼ)·sgn(uᵢ−uⱼ) is the stratified Kendall
	// statistic (t task, u internal onset) and Tau = S / Pairs its
	// normalisation to [−1, 1] (τ_a within strata, pooled), Pairs the number
	// of within-stratum pairs.
	S, Tau float64
	Pairs  int
	// P is the one-sided permutation p-value of H0 (see Couple) against a
	// positive association; MinP is the smallest P the strata can give
	// (Π 1/n_s! when exact). Both are NaN when Insufficient.
	P, MinP float64
	// Exact says whether P comes from the exact null distribution (no ties)
	// rather than from cfg.Resamples random permutations.
	Exact bool
	// Slope is the stratified Theil–Sen slope of internal on task onset: the
	// median of the within-stratum pairwise slopes (uⱼ−uᵢ)/(tⱼ−tᵢ). SlopeLow
	// and SlopeHigh bound its interval at Level, obtained by inverting the
	// Kendall test (Sen 1968); ±Inf when the strata are too small to bound it,
	// NaN without slopes.
	Slope, SlopeLow, SlopeHigh, Level float64
	// Insufficient reports N < MinCells: no p-value is computed.
	Insufficient bool
	MinCells     int
	// Method names the test; Null states its null hypothesis.
	Method, Null string
}

// Couple asks whether an internal transition moves with the task-level one
// across cells: do cells whose task jumps later also reorganise internally
// later?
//
// internal[i] and task[i] are the onsets of cell i (x units, usually
// log10(step+1); NaN for no transition) and strata[i] its stratum, normally
// the model shape, so that cells of a stratum differ only by seed. A nil
// strata puts every cell in one stratum. Only cells with both onsets enter.
//
// Statistic: the stratified Kendall S (Kendall 1938; the stratified sum is
// the seasonal Kendall statistic of Hirsch, Slack & Smith 1982, Water Resour.
// Res. 18(1)), which compares cells only within a stratum. A width effect that
// moves both onsets (wider models learning earlier) therefore does not count
// as coupling: only the seed-to-seed variation of onsets within a shape does.
//
// H0: within each stratum the internal onsets are exchangeable among the
// cells given the task onsets (no association beyond the strata's own
// levels). H1: a positive association. The test is one-sided because coupling
// means the internal change is tied to the task jump, which moves both onsets
// the same way; a negative association is not evidence for it, and the
// one-sided test spends all of α on the direction the hypothesis predicts.
// P = P(S* ≥ S) under random permutations of the internal onsets within
// strata. Without ties it is exact: S = Pairs − 2D with D the number of
// discordant pairs, D in a stratum of n has the distribution of the
// inversions of a random permutation (Mahonian numbers, Kendall 1938 §4), and
// the strata's distributions are convolved. With ties P is the Monte Carlo
// estimate (1 + #{S* ≥ S}) / (1 + cfg.Resamples).
//
// Assumptions: cells are independent (separate seeds), and within a stratum
// they are identically distributed under H0. The strata's own onset levels
// may differ arbitrarily.
//
// Slope: the stratified Theil–Sen estimator (Theil 1950; Sen 1968, JASA
// 63(324), §3), the median of within-stratum pairwise slopes of internal on
// task onset, with the interval {β : the stratified Kendall test of
// u − β·t is not significant at 1 − Level two-sided}: with D* the largest d
// such that P(D ≤ d) ≤ (1−Level)/2 under H0 and the M slopes sorted,
// [slope_(D*+1), slope_(M−D*)]. The interval assumes the residuals u − β·t
// are exchangeable within strata (fixed task onsets, error in the internal
// onset only); with ties it uses the normal approximation of Var S =
// Σ n(n−1)(2n+5)/18. In simulation (coupling_test.go: 3 strata, internal =
// task − 0.1 + N(0, 0.05²), 2000 trials) the 95% interval covered the true
// slope 1 in 95.4% of trials at 10 cells per stratum and 99.0% at 3 (the
// coarse null distribution makes it conservative). Noise in the task onsets
// themselves (detection error) biases the slope towards 0, as in any
// regression with error in the regressor; the test's p is unaffected.
//
// With fewer than cfg.MinCells paired cells the result is Insufficient with
// NaN P; S, Tau and the slope are still given as descriptions. Couple panics
// if the lengths differ, rng is nil or cfg is invalid (MinCells < 6, Level
// outside (0, 1), Resamples < 1), and returns an error for an infinite onset.
func Couple(internal, task []float64, strata []int, cfg CoupleConfig, rng *rand.Rand) (Coupling, error) {
	if len(internal) != len(task) || (strata != nil && len(strata) != len(task)) {
		panic("transition: internal, task and strata lengths differ")
	}
	if rng == nil {
		panic("transition: Couple needs a non-nil rng")
	}
	if cfg.MinCells < 6 || !(cfg.Level > 0 && cfg.Level < 1) || cfg.Resamples < 1 {
		panic("transition: invalid CoupleConfig")
	}
	nan := math.NaN()
	c := Coupling{
		Cells: len(task), P: nan, MinP: nan, Tau: nan, Slope: nan, SlopeLow: nan, SlopeHigh: nan,
		Level: cfg.Level, MinCells: cfg.MinCells,
		Method: "stratified Kendall rank correlation, exact within-stratum permutation test (one-sided); stratified Theil–Sen slope",
		Null:   "internal onsets exchangeable among the cells of each stratum (no within-stratum association with task onsets)",
	}
	used, ties, err := pairedStrata(internal, task, strata)
	if err != nil {
		return Coupling{}, err
	}
	for _, g := range used {
		c.N += len(g)
	}
	c.Strata = len(used)
	c.Insufficient = c.N < cfg.MinCells
	if c.Strata == 0 {
		return c, nil
	}
	var slopes []float64
	var varS float64
	c.S, c.Pairs, varS, slopes = stratifiedKendall(internal, task, used)
	disc := int(math.Round((float64(c.Pairs) - c.S) / 2)) // discordant pairs (ties count half)
	c.Tau = c.S / float64(c.Pairs)

	var pmf []float64 // exact null distribution of the total D, without ties
	if !ties {
		pmf = []float64{1}
		for _, g := range used {
			pmf = convolve(pmf, mahonian(len(g)))
		}
	}
	if len(slopes) > 0 {
		slices.Sort(slopes)
		c.Slope = median(slopes)
		c.SlopeLow, c.SlopeHigh = senInterval(slopes, pmf, c.Pairs, varS, cfg.Level)
	}
	if c.Insufficient {
		return c, nil
	}
	if pmf != nil {
		c.Exact = true
		c.MinP = pmf[0]
		var p float64
		for d := 0; d <= disc && d < len(pmf); d++ {
			p += pmf[d]
		}
		c.P = math.Min(1, p)
		return c, nil
	}
	c.Method = "stratified Kendall rank correlation, Monte Carlo within-stratum permutation test (one-sided); stratified Theil–Sen slope"
	// With ties the permutation distribution is estimated, but the strata still bound how small P
	// can be: P ≥ Π_s f_s, f_s the fraction of stratum s's n_s! equally likely permutations that
	// reach its largest S_s (the total reaches its largest value only when every stratum does).
	// f_s is counted exactly up to maxExactStratum cells (stratumExtremeFrac); above, it is
	// bounded below by max(Π t_task!, Π t_internal!)/n_s!, t the sizes of either variable's
	// groups of equal onsets — a lower bound, not tight with ties in both variables. A stratum
	// whose task onsets are all equal has f_s = 1: it carries no information.
	lnMin := 0.0
	for _, g := range used {
		if len(g) <= maxExactStratum {
			lnMin += math.Log(stratumExtremeFrac(internal, task, g))
			continue
		}
		lg, _ := math.Lgamma(float64(len(g) + 1))
		lnMin -= lg - math.Max(lnTieFactorial(task, g), lnTieFactorial(internal, g))
	}
	c.MinP = math.Max(1/float64(1+cfg.Resamples), math.Exp(lnMin))
	c.P = permutationP(internal, task, used, c.S, cfg.Resamples, rng)
	return c, nil
}

// maxExactStratum is the largest stratum whose extreme fraction is counted by enumerating its
// permutations (8! = 40,320).
const maxExactStratum = 8

// stratumExtremeFrac returns the fraction of the permutations of the internal onsets of the
// cells g (against their fixed task onsets) whose Kendall S, Σ_{a<b} sgn(Δtask)·sgn(Δinternal),
// equals its largest value over all permutations. Heap's algorithm visits each once.
func stratumExtremeFrac(internal, task []float64, g []int) float64 {
	n := len(g)
	t, u := make([]float64, n), make([]float64, n)
	for k, i := range g {
		t[k], u[k] = task[i], internal[i]
	}
	sOf := func() float64 {
		var s float64
		for a := 0; a < n; a++ {
			for b := a + 1; b < n; b++ {
				s += sgn(t[b]-t[a]) * sgn(u[b]-u[a])
			}
		}
		return s
	}
	best, count, total := math.Inf(-1), 0, 0
	visit := func() {
		total++
		switch s := sOf(); {
		case s > best:
			best, count = s, 1
		case s == best:
			count++
		}
	}
	c := make([]int, n)
	visit()
	for i := 0; i < n; {
		if c[i] < i {
			if i%2 == 0 {
				u[0], u[i] = u[i], u[0]
			} else {
				u[c[i]], u[i] = u[i], u[c[i]]
			}
			visit()
			c[i]++
			i = 0
		} else {
			c[i] = 0
			i++
		}
	}
	return float64(count) / float64(total)
}

// lnTieFactorial returns Σ ln t! over the groups of equal values among v[i], i in idx (0
// without ties).
func lnTieFactorial(v []float64, idx []int) float64 {
	w := make([]float64, len(idx))
	for k, i := range idx {
		w[k] = v[i]
	}
	slices.Sort(w)
	var s float64
	for a := 0; a < len(w); {
		b := a + 1
		for b < len(w) && w[b] == w[a] {
			b++
		}
		lg, _ := math.Lgamma(float64(b - a + 1))
		s += lg
		a = b
	}
	return s
}

// pairedStrata groups the cells with both onsets by stratum (all in stratum 0
// when strata is nil), in increasing stratum order, and keeps the strata of at
// least 2 such cells. ties reports whether a kept stratum holds two equal task
// or two equal internal onsets. It returns an error for an infinite onset.
func pairedStrata(internal, task []float64, strata []int) (used [][]int, ties bool, err error) {
	groups := map[int][]int{}
	var keys []int
	for i := range task {
		if math.IsInf(internal[i], 0) || math.IsInf(task[i], 0) {
			return nil, false, fmt.Errorf("transition: infinite onset in cell %d", i)
		}
		if math.IsNaN(internal[i]) || math.IsNaN(task[i]) {
			continue
		}
		s := 0
		if strata != nil {
			s = strata[i]
		}
		if _, ok := groups[s]; !ok {
			keys = append(keys, s)
		}
		groups[s] = append(groups[s], i)
	}
	slices.Sort(keys)
	for _, k := range keys {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		used = append(used, g)
		if hasTies(task, g) || hasTies(internal, g) {
			ties = true
		}
	}
	return used, ties, nil
}

// stratifiedKendall returns, over the within-stratum pairs (i, j) of used, the
// stratified Kendall statistic s = Σ sgn(tⱼ−tᵢ)·sgn(uⱼ−uᵢ) (t task, u internal
// onset), the number of pairs, the no-ties variance of s, Σ n(n−1)(2n+5)/18,
// and the pairwise slopes (uⱼ−uᵢ)/(tⱼ−tᵢ) of the pairs with tᵢ ≠ tⱼ, unsorted.
func stratifiedKendall(internal, task []float64, used [][]int) (s float64, pairs int, varS float64, slopes []float64) {
	for _, g := range used {
		n := len(g)
		pairs += n * (n - 1) / 2
		varS += float64(n*(n-1)*(2*n+5)) / 18
		for a := 0; a < n; a++ {
			for b := a + 1; b < n; b++ {
				i, j := g[a], g[b]
				s += sgn(task[j]-task[i]) * sgn(internal[j]-internal[i])
				if task[j] != task[i] {
					slopes = append(slopes, (internal[j]-internal[i])/(task[j]-task[i]))
				}
			}
		}
	}
	return s, pairs, varS, slopes
}

// senInterval returns the Theil–Sen interval [slope_(D*+1), slope_(M−D*)] at
// level from the M sorted slopes (Sen 1968, §3). D* is the largest d with
// P(D ≤ d) ≤ (1−level)/2 under the exact null pmf of the discordant pairs
// when pmf is non-nil and every one of the pairs has a slope; otherwise it is
// Sen's normal-approximation rank from varS. It returns (−Inf, +Inf) when no
// such d exists.
func senInterval(slopes, pmf []float64, pairs int, varS, level float64) (low, high float64) {
	m := len(slopes)
	half := (1 - level) / 2
	dstar := -1
	if pmf != nil && m == pairs {
		var cum float64
		for d, pd := range pmf {
			cum += pd
			if cum > half*(1+1e-12) {
				break
			}
			dstar = d
		}
	} else {
		z := distuv.UnitNormal.Quantile(1 - half)
		// Sen's lower rank (M − z·√Var S)/2, rounded down, 1-based.
		dstar = max(-1, min(int(math.Floor((float64(m)-z*math.Sqrt(varS))/2))-1, (m-1)/2))
	}
	if dstar < 0 {
		return math.Inf(-1), math.Inf(1)
	}
	return slopes[dstar], slopes[m-1-dstar]
}

// permutationP returns the Monte Carlo p-value (1 + #{S* ≥ s}) / (1 + resamples)
// of the stratified Kendall statistic s, with S* computed after shuffling the
// internal onsets within each stratum of used, resamples times, drawing from rng.
func permutationP(internal, task []float64, used [][]int, s float64, resamples int, rng *rand.Rand) float64 {
	perm := slices.Clone(internal)
	count := 0
	for range resamples {
		var sp float64
		for _, g := range used {
			for a := len(g) - 1; a > 0; a-- {
				b := rng.IntN(a + 1)
				perm[g[a]], perm[g[b]] = perm[g[b]], perm[g[a]]
			}
			for a := 0; a < len(g); a++ {
				for b := a + 1; b < len(g); b++ {
					i, j := g[a], g[b]
					sp += sgn(task[j]-task[i]) * sgn(perm[j]-perm[i])
				}
			}
		}
		if sp >= s-1e-9 {
			count++
		}
	}
	return float64(1+count) / float64(1+resamples)
}

// sgn returns −1, 0 or +1.
func sgn(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// hasTies reports whether two of v[g] are equal.
func hasTies(v []float64, g []int) bool {
	s := make([]float64, len(g))
	for k, i := range g {
		s[k] = v[i]
	}
	slices.Sort(s)
	for k := 1; k < len(s); k++ {
		if s[k] == s[k-1] {
			return true
		}
	}
	return false
}

// mahonian returns the distribution of the number of inversions of a
// uniformly random permutation of n items, on 0..n(n−1)/2: adding the k-th
// item adds 0..k−1 inversions with equal probability.
func mahonian(n int) []float64 {
	f := []float64{1}
	for k := 2; k <= n; k++ {
		g := make([]float64, len(f)+k-1)
		for d, p := range f {
			for j := range k {
				g[d+j] += p / float64(k)
			}
		}
		f = g
	}
	return f
}

// convolve returns the distribution of the sum of two independent
// non-negative integer variables with distributions a and b.
func convolve(a, b []float64) []float64 {
	out := make([]float64, len(a)+len(b)-1)
	for i, p := range a {
		for j, q := range b {
			out[i+j] += p * q
		}
	}
	return out
}
