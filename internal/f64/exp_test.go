package f64

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ulps is the distance between two non-negative floats in units in the last place (their bit
// patterns are ordered like their values).
func ulps(a, b float64) uint64 {
	x, y := math.Float64bits(a), math.Float64bits(b)
	if x > y {
		return x - y
	}
	return y - x
}

// TestExp checks Exp against math.Exp: within 2 ulps over the whole range of normal results (a
// million random arguments in [-708.3, 709.78], and the softmax's range [-40, 0] densely), 0
// below -708.3, and exactly at the special values: exp(0) = 1, 0 at -Inf, +Inf above 709.79 and
// at +Inf, NaN for NaN.
// Every length 0–9 is run, so that the padded tail goes through the kernel too.
func TestExp(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var xs []float64
	for range 1_000_000 {
		xs = append(xs, -708.3+rng.Float64()*(709.78+708.3))
	}
	for range 200_000 {
		xs = append(xs, -40*rng.Float64())
	}
	for range 10_000 {
		xs = append(xs, -745.2+rng.Float64()*(745.2-708.3)) // flushed to 0
	}
	xs = append(xs, 0, math.Copysign(0, -1), 1, -1, 1e-300, -1e-300, math.Ln2/2, -math.Ln2/2, 709.78, 709.7827, -708.39, -745.13)
	got := append([]float64(nil), xs...)
	Exp(got)
	for i, x := range xs {
		want, tol := math.Exp(x), uint64(2)
		if x > 709 {
			// math.Exp on amd64 overflows to +Inf from about 709.4 (its reduction squares an
			// intermediate); e²·exp(x−2) is within 2 more ulps of the true value.
			want, tol = math.E*math.E*math.Exp(x-2), 4
		}
		if x < expLow {
			want, tol = 0, 0
		}
		if u := ulps(got[i], want); u > tol {
			t.Fatalf("Exp(%v) = %v, want %v: %d ulps apart", x, got[i], want, u)
		}
	}
	special := []struct{ x, want float64 }{{0, 1}, {-708.31, 0}, {-746, 0}, {-1e308, 0}, {math.Inf(-1), 0}, {709.8, math.Inf(1)},
		{1e308, math.Inf(1)}, {math.Inf(1), math.Inf(1)}}
	for n := 0; n <= 9; n++ {
		for _, s := range special {
			v := make([]float64, n)
			for i := range v {
				v[i] = s.x
			}
			Exp(v)
			for i := range v {
				if v[i] != s.want {
					t.Fatalf("length %d: Exp(%v)[%d] = %v, want %v", n, s.x, i, v[i], s.want)
				}
			}
		}
		v := make([]float64, n)
		for i := range v {
			v[i] = math.NaN()
		}
		Exp(v)
		for i := range v {
			if !math.IsNaN(v[i]) {
				t.Fatalf("length %d: Exp(NaN)[%d] = %v", n, i, v[i])
			}
		}
	}
}

// TestExpPositionIndependent checks that a value's exponential does not depend on where it lies
// in the slice (the tail is padded through the same kernel).
func TestExpPositionIndependent(t *testing.T) {
	const x = -3.3
	ref := []float64{x}
	Exp(ref)
	for n := 1; n <= 9; n++ {
		for at := range n {
			v := make([]float64, n)
			v[at] = x
			Exp(v)
			if v[at] != ref[0] {
				t.Fatalf("length %d, index %d: %v, want %v", n, at, v[at], ref[0])
			}
		}
	}
}

func BenchmarkExp(b *testing.B) {
	x := make([]float64, 1024)
	for b.Loop() {
		for i := range x {
			x[i] = -float64(i%40) - 0.5
		}
		Exp(x)
	}
}
