package transition

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
)

// LeadLagConfig holds the parameters of LeadLagTest.
type LeadLagConfig struct {
	// Tol is the equivalence margin of the "coincides" question, in units of
	// x (decades on log10(step+1)): lags within ±Tol count as simultaneous.
	// The natural choice is one checkpoint spacing (CheckpointSpacing).
	Tol float64
	// MaxExactSeeds is the largest number of paired seeds for which the
	// sign-flip tests enumerate all 2ⁿ sign vectors (at most 30 are ever
	// enumerated); above it they draw Resamples random sign vectors.
	MaxExactSeeds int
	// Resamples is the number of random sign vectors of the Monte Carlo tests.
	Resamples int
}

// DefaultLeadLagConfig returns LeadLagTest's defaults with the given margin:
// exact tests up to 16 paired seeds, 9999 random sign vectors above that.
func DefaultLeadLagConfig(tol float64) LeadLagConfig {
	return LeadLagConfig{Tol: tol, MaxExactSeeds: 16, Resamples: 9999}
}

// LeadLag is the result of LeadLagTest.
type LeadLag struct {
	// Lags are internal − task onsets of the seeds where both are finite, in
	// seed order; N = len(Lags) and Seeds the number of seeds given.
	Lags     []float64
	N, Seeds int
	// MeanLag is the mean of Lags (NaN without pairs); negative means the
	// internal transition comes first.
	MeanLag float64
	// P is the two-sided sign-flip p-value of the mean lag being 0, and MinP
	// = 2/2ᴺ' the smallest P the N seeds can give (MinSeedsFor), N' =
	// NonZero the lags that are not 0: flipping the sign of a zero lag changes
	// no sum, so each halves the number of distinct sign vectors (onsets on a
	// checkpoint grid, such as change points, coincide exactly). At most 1.
	P, MinP float64
	NonZero int
	// Tol is the equivalence margin; TOSTLowerP tests H0: mean ≤ −Tol,
	// TOSTUpperP tests H0: mean ≥ +Tol, and TOSTP = max of the two is the
	// p-value of H0: |mean lag| ≥ Tol (Schuirmann 1987).
	Tol                           float64
	TOSTP, TOSTLowerP, TOSTUpperP float64
	// Exact says whether all 2ᴺ sign vectors were enumerated.
	Exact bool
	// Method names the tests; Null and TOSTNull state their null hypotheses.
	Method, Null, TOSTNull string
}

// MinSeedsFor returns the smallest number of paired seeds n whose exact
// two-sided sign-flip test can reach alpha: the smallest attainable p is
// 2/2ⁿ (all lags of one sign), so n is the smallest with 2/2ⁿ ≤ alpha
// (6 for alpha = 0.05, 8 for 0.01). With fewer seeds no lead–lag claim can be
// made at that level, whatever the data. It panics unless 0 < alpha ≤ 1.
func MinSeedsFor(alpha float64) int {
	if !(alpha > 0 && alpha <= 1) {
		panic("transition: alpha must be in (0, 1]")
	}
	n := 1
	for 2/math.Exp2(float64(n)) > alpha {
		n++
	}
	return n
}

// LeadLagTest asks whether an internal transition leads or lags a task-level
// one across seeds, and whether it coincides with it within ±cfg.Tol.
//
// internal[i] and task[i] are the onsets of seed i (x units, NaN for no
// transition); the lag is Δᵢ = internal[i] − task[i] over the N seeds where
// both are finite.
//
// Lead or lag: H0 is that the lags are symmetric about 0 (in particular a
// mean lag of 0), H1 that the mean lag differs from 0. The exact sign-flip
// permutation test (Fisher 1935, §21; Good 2005, Permutation, Parametric and
// Bootstrap Tests of Hypotheses, §3.6.1) gives
//
//	P = #{s ∈ {±1}ᴺ : |Σ sᵢΔᵢ| ≥ |Σ Δᵢ|} / 2ᴺ,
//
// whose smallest value is 2/2ᴺ: 0.25 for 3 seeds, 0.031 for 6.
//
// Coincides: an equivalence test (two one-sided tests, TOST; Schuirmann 1987,
// J. Pharmacokin. Biopharm. 15(6)). H0 is |mean lag| ≥ Tol, H1 |mean lag| <
// Tol. The lower test shifts the lags to dᵢ = Δᵢ + Tol and asks whether their
// centre exceeds 0 (H0: mean ≤ −Tol), with one-sided sign-flip p
// #{s : Σ sᵢdᵢ ≥ Σ dᵢ}/2ᴺ; the upper test does the same with Δᵢ − Tol in the
// other direction; TOSTP is the larger of the two. A small TOSTP is evidence
// that the lag is within the margin; a noisy lag gives a large TOSTP however
// close its mean is to 0, so "coincides" can never be read off a failure to
// find a lead. The smallest TOSTP is 1/2ᴺ.
//
// Assumptions: seeds are independent, and the lags are a location family
// symmetric about their mean (the sign-flip null at the boundary ±Tol); the
// tests are exact under them. Above cfg.MaxExactSeeds the p-values are Monte
// Carlo estimates (1 + #{≥}) / (1 + cfg.Resamples).
//
// With no pairs every p is NaN; with MinP above the caller's α the design
// cannot support a lead–lag claim (see MinSeedsFor). LeadLagTest panics if
// the slices differ in length, rng is nil or cfg is invalid (Tol < 0,
// Resamples < 1), and returns an error for an infinite onset.
func LeadLagTest(internal, task []float64, cfg LeadLagConfig, rng *rand.Rand) (LeadLag, error) {
	if len(internal) != len(task) {
		panic("transition: internal and task onset counts differ")
	}
	if rng == nil {
		panic("transition: LeadLagTest needs a non-nil rng")
	}
	if !(cfg.Tol >= 0) || cfg.Resamples < 1 {
		panic("transition: invalid LeadLagConfig")
	}
	nan := math.NaN()
	r := LeadLag{
		Seeds: len(internal), MeanLag: nan, P: nan, MinP: nan, Tol: cfg.Tol,
		TOSTP: nan, TOSTLowerP: nan, TOSTUpperP: nan,
		Method:   "exact sign-flip permutation test of the mean lag (two-sided); TOST of ±Tol by one-sided sign-flip tests",
		Null:     "lags symmetric about 0 (mean lag 0)",
		TOSTNull: fmt.Sprintf("|mean lag| ≥ %.4g", cfg.Tol),
	}
	for i := range internal {
		if math.IsInf(internal[i], 0) || math.IsInf(task[i], 0) {
			return LeadLag{}, fmt.Errorf("transition: infinite onset in seed %d", i)
		}
		if !math.IsNaN(internal[i]) && !math.IsNaN(task[i]) {
			r.Lags = append(r.Lags, internal[i]-task[i])
		}
	}
	r.N = len(r.Lags)
	if r.N == 0 {
		return r, nil
	}
	r.MeanLag = meanOf(r.Lags)
	var scale float64
	for _, d := range r.Lags {
		scale += math.Abs(d)
	}
	for _, d := range r.Lags {
		if math.Abs(d) > 1e-12*scale { // signFlipP's tie tolerance
			r.NonZero++
		}
	}
	r.MinP = math.Min(1, 2/math.Exp2(float64(r.NonZero)))
	r.Exact = r.N <= cfg.MaxExactSeeds && r.N < 31
	if !r.Exact {
		r.Method = "Monte Carlo sign-flip permutation test of the mean lag (two-sided); TOST of ±Tol by one-sided sign-flip tests"
	}
	lo := make([]float64, r.N)
	hi := make([]float64, r.N)
	for i, d := range r.Lags {
		lo[i] = d + cfg.Tol
		hi[i] = d - cfg.Tol
	}
	r.P = signFlipP(r.Lags, twoSided, r.Exact, cfg.Resamples, rng)
	r.TOSTLowerP = signFlipP(lo, greater, r.Exact, cfg.Resamples, rng)
	r.TOSTUpperP = signFlipP(hi, less, r.Exact, cfg.Resamples, rng)
	r.TOSTP = math.Max(r.TOSTLowerP, r.TOSTUpperP)
	return r, nil
}

// alternative is the direction of a one- or two-sided test.
type alternative int

const (
	twoSided alternative = iota
	greater
	less
)

// signFlipP returns the sign-flip permutation p-value of Σ v against the
// given alternative: the fraction of sign vectors s with Σ sᵢvᵢ at least as
// extreme as Σ vᵢ, over all 2ⁿ vectors when exact, otherwise
// (1 + #{extreme}) / (1 + resamples) over random ones. Sums within
// 1e-12·Σ|vᵢ| of the observed one count as extreme.
func signFlipP(v []float64, alt alternative, exact bool, resamples int, rng *rand.Rand) float64 {
	var obs, scale float64
	for _, d := range v {
		obs += d
		scale += math.Abs(d)
	}
	if scale == 0 {
		return 1
	}
	eps := 1e-12 * scale
	extreme := func(s float64) bool {
		switch alt {
		case greater:
			return s >= obs-eps
		case less:
			return s <= obs+eps
		}
		return math.Abs(s) >= math.Abs(obs)-eps
	}
	n := len(v)
	if exact {
		// Visit the 2ⁿ sign vectors in Gray-code order: step i flips the sign
		// of element TrailingZeros(i), so the flipped sum updates in O(1).
		total := uint64(1) << uint(n)
		s, count := obs, uint64(0)
		neg := make([]bool, n)
		if extreme(s) {
			count++
		}
		for i := uint64(1); i < total; i++ {
			b := bits.TrailingZeros64(i)
			if neg[b] {
				s += 2 * v[b]
			} else {
				s -= 2 * v[b]
			}
			neg[b] = !neg[b]
			if i%1024 == 0 { // bound the rounding drift of the running sum
				s = 0
				for j, d := range v {
					if neg[j] {
						s -= d
					} else {
						s += d
					}
				}
			}
			if extreme(s) {
				count++
			}
		}
		return float64(count) / float64(total)
	}
	count := 0
	for range resamples {
		var s float64
		var flips uint64
		for i, d := range v {
			if i%64 == 0 {
				flips = rng.Uint64()
			}
			if flips&1 == 1 {
				s -= d
			} else {
				s += d
			}
			flips >>= 1
		}
		if extreme(s) {
			count++
		}
	}
	return float64(1+count) / float64(1+resamples)
}
