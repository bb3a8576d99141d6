package transition

import (
	"math"
	"slices"
)

// BHTo puts the Benjamini–Hochberg adjusted p-values (q-values) of p into dst
// and returns dst; a nil dst is allocated.
//
// With the m non-NaN p-values sorted as p_(1) ≤ … ≤ p_(m),
//
//	q_(i) = min_{j ≥ i} min(1, m·p_(j) / j),
//
// so q is monotone in p and tied p-values get the same q. Rejecting every
// hypothesis with q ≤ level controls the false discovery rate at level·m₀/m
// when the p-values are independent or positively regression dependent
// (Benjamini & Hochberg 1995, JRSS B 57(1), §3; Benjamini & Yekutieli 2001,
// Ann. Statist. 29(4), for PRDS). This is statsmodels'
// multipletests(p, method="fdr_bh")[1]. A NaN p (a test that was not run) gives
// a NaN q and does not count in m. The decision (the level) is the caller's.
//
// BHTo panics if dst is not nil and len(dst) != len(p), or if a p-value is
// outside [0, 1]. dst may be p itself.
func BHTo(dst, p []float64) []float64 {
	if dst == nil {
		dst = make([]float64, len(p))
	}
	if len(dst) != len(p) {
		panic("transition: BHTo dst and p lengths differ")
	}
	idx := make([]int, 0, len(p))
	for i, v := range p {
		if math.IsNaN(v) {
			continue
		}
		if v < 0 || v > 1 {
			panic("transition: p-value outside [0, 1]")
		}
		idx = append(idx, i)
	}
	vals := make([]float64, len(p))
	copy(vals, p)
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case vals[a] < vals[b]:
			return -1
		case vals[a] > vals[b]:
			return 1
		}
		return 0
	})
	for i, v := range vals {
		if math.IsNaN(v) {
			dst[i] = math.NaN()
		}
	}
	m := float64(len(idx))
	run := 1.0
	for r := len(idx) - 1; r >= 0; r-- {
		i := idx[r]
		run = math.Min(run, m*vals[i]/float64(r+1))
		dst[i] = run
	}
	return dst
}
