package transition

import (
	"math"
	"math/rand/v2"
	"testing"
)

// lmNormalEquationsRef is lmNormalEquations as first written, on a row-major
// Jacobian: entry by entry, each summed over the points in order.
// lmNormalEquations must give the same bits.
func lmNormalEquationsRef(a, g, jac, res []float64) (gmax float64) {
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

// TestLMNormalEquationsSameBits checks lmNormalEquations against the
// entry-by-entry sums bit for bit, on Jacobians of every size levMar takes
// with entries spread over many magnitudes, signed zeros and infinities.
func TestLMNormalEquationsSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	special := []float64{0, math.Copysign(0, -1), 1e-300, -1e300, math.Inf(1), math.Inf(-1)}
	for trial := 0; trial < 2000; trial++ {
		n, k := 1+rng.IntN(64), 1+rng.IntN(maxLMParams)
		jac, res := make([]float64, n*k), make([]float64, n)
		fill := func(v []float64) {
			for i := range v {
				v[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(30)-15))
				if trial%4 == 0 && rng.IntN(20) == 0 {
					v[i] = special[rng.IntN(len(special))]
				}
			}
		}
		fill(jac)
		fill(res)
		a, g := make([]float64, k*k), make([]float64, k)
		ar, gr := make([]float64, k*k), make([]float64, k)
		gmax, gmaxRef := lmNormalEquations(a, g, byColumns(jac, n, k), res), lmNormalEquationsRef(ar, gr, jac, res)
		same := math.Float64bits(gmax) == math.Float64bits(gmaxRef)
		for j := range a {
			same = same && math.Float64bits(a[j]) == math.Float64bits(ar[j])
		}
		for j := range g {
			same = same && math.Float64bits(g[j]) == math.Float64bits(gr[j])
		}
		if !same {
			t.Fatalf("n=%d k=%d: lmNormalEquations differs from the entry-by-entry sums", n, k)
		}
	}
}

// byColumns returns the n×k row-major jac column by column.
func byColumns(jac []float64, n, k int) []float64 {
	t := make([]float64, len(jac))
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			t[j*n+i] = jac[i*k+j]
		}
	}
	return t
}

func benchNormalEquations(b *testing.B, ne func(a, g, jac, res []float64) float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	n, k := 40, 7
	jac, res := make([]float64, n*k), make([]float64, n)
	for i := range jac {
		jac[i] = rng.NormFloat64()
	}
	for i := range res {
		res[i] = rng.NormFloat64()
	}
	a, g := make([]float64, k*k), make([]float64, k)
	for b.Loop() {
		ne(a, g, jac, res)
	}
}

// BenchmarkLMNormalEquations compares lmNormalEquations with the
// entry-by-entry sums (lmNormalEquationsRef) on 40 points and 7 parameters.
func BenchmarkLMNormalEquations(b *testing.B) {
	b.Run("by-four", func(b *testing.B) {
		benchNormalEquations(b, func(a, g, jac, res []float64) float64 {
			return lmNormalEquations(a, g, jac, res) // the layout does not matter to the time
		})
	})
	b.Run("by-entry", func(b *testing.B) { benchNormalEquations(b, lmNormalEquationsRef) })
}

// TestLogisticSaturates checks logisticSat: from it up, 1/(1+exp(−z)) is
// exactly 1, as logistic returns without the exponential.
func TestLogisticSaturates(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	check := func(z float64) {
		if v := 1 / (1 + math.Exp(-z)); v != 1 || logistic(z) != 1 {
			t.Fatalf("z=%v: 1/(1+exp(−z)) = %v, logistic = %v, want 1", z, v, logistic(z))
		}
	}
	for z := float64(logisticSat); z < 800; z = math.Nextafter(z, 801) + 1e-3 {
		check(z)
	}
	for range 100000 {
		check(logisticSat * math.Exp(20*rng.Float64()))
	}
	check(math.MaxFloat64)
	check(math.Inf(1))
}

// TestLogisticVec: the vector logistic of the logistic-sum fits is within 4 ulps of logistic
// (its exponential is within 2 ulps of math.Exp, and 1+e and the division add one rounding
// each) on z from −800 to 800 (log-spaced magnitudes, both signs, odd lengths for the padded
// tail), exactly 1 from logisticSat up and 0 (not subnormal) below −708.3; NaN stays NaN.
func TestLogisticVec(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 1, 3, 4, 7, 64, 1001} {
		z := make([]float64, n)
		for i := range z {
			z[i] = math.Copysign(math.Exp(rng.Float64()*13-6.3), rng.Float64()-0.5) // |z| 0.002..800
		}
		if n > 3 {
			z[0], z[1], z[2], z[3] = 0, math.Copysign(0, -1), logisticSat, -709
		}
		q := make([]float64, n)
		logisticVec(q, z)
		for i, v := range z {
			want := logistic(v)
			switch {
			case v >= logisticSat && q[i] != 1:
				t.Fatalf("z=%v: %v, want exactly 1", v, q[i])
			case v < -708.3 && q[i] != 0:
				t.Fatalf("z=%v: %v, want 0", v, q[i])
			case v >= -708.3 && ulpDist(q[i], want) > 4:
				t.Fatalf("z=%v: %v, logistic %v (%d ulps)", v, q[i], want, ulpDist(q[i], want))
			}
		}
	}
	q := []float64{0}
	logisticVec(q, []float64{math.NaN()})
	if !math.IsNaN(q[0]) {
		t.Fatalf("logisticVec(NaN) = %v", q[0])
	}
}

// ulpDist is the number of float64s between positive a and b.
func ulpDist(a, b float64) uint64 {
	ia, ib := math.Float64bits(a), math.Float64bits(b)
	if ia > ib {
		return ia - ib
	}
	return ib - ia
}
