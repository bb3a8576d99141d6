package cpu

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
)

// TestBinaryFast32MatchesScalar: the AVX element-wise kernels give bit-identical results to the Go
// loops (IEEE addition, subtraction, multiplication and division are correctly rounded either way)
// for every length 0..100 (covering the 32-wide, 8-wide and scalar tails), vector and scalar operands.
func TestBinaryFast32MatchesScalar(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, op := range []backends.OpType{backends.OpTypeAdd, backends.OpTypeSub, backends.OpTypeMul, backends.OpTypeDiv} {
		for n := 0; n <= 100; n++ {
			x, y := make([]float32, n), make([]float32, n)
			for i := range x {
				x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())+3
			}
			s := []float32{float32(rng.NormFloat64()) + 3}
			for _, c := range []struct{ a, b []float32 }{{x, y}, {x, s}, {s, y}} {
				got, want := make([]float32, n), make([]float32, n)
				if !binaryFast32(op, got, c.a, c.b) {
					if useAVX2 {
						t.Fatalf("%s n=%d: no fast path", op, n)
					}
					return
				}
				for i := range want {
					a, b := c.a[0], c.b[0]
					if len(c.a) == n {
						a = c.a[i]
					}
					if len(c.b) == n {
						b = c.b[i]
					}
					want[i] = binaryOne(op, a, b)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("%s n=%d lens %d,%d: element %d got %v want %v", op, n, len(c.a), len(c.b), i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestMicroKernelsAgree: the assembly micro-kernels (packed and strided A) against the pure-Go one
// on random panels, k = 1..40 (chunk boundaries at multiples of 8). FMA rounds once per step where
// the Go kernel rounds twice, so they agree to a few float32 ulps of the sum of |terms|.
func TestMicroKernelsAgree(t *testing.T) {
	if !useAVX2 {
		t.Skip("no AVX2/FMA on this CPU (or built with noasm): only the Go kernel exists")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for k := 1; k <= 40; k++ {
		// A is stored row-major [mr, k] (rs = k, ks = 1); ap is its packed panel.
		a := make([]float32, mr*k)
		for i := range a {
			a[i] = float32(rng.NormFloat64())
		}
		ap := make([]float32, k*mr)
		packA(ap, a, matView{rs: k, cs: 1}, mr, k)
		bp := make([]float32, k*nr)
		for i := range bp {
			bp[i] = float32(rng.NormFloat64())
		}
		var want, got, gotS [mr * nr]float32
		microKernelGo(k, ap, bp, &want)
		microKernel32(k, ap, bp, &got)
		if !microKernelStrided32(k, a, k, 1, bp, &gotS) {
			t.Fatal("strided kernel unavailable")
		}
		for i := range want {
			var mag float32
			r, c := i/nr, i%nr
			for kk := range k {
				v := a[r*k+kk] * bp[kk*nr+c]
				if v < 0 {
					v = -v
				}
				mag += v
			}
			tol := 4 * mag * (1.0 / (1 << 23))
			for _, g := range []float32{got[i], gotS[i]} {
				if d := g - want[i]; d > tol || -d > tol {
					t.Fatalf("k=%d element %d: asm %v, Go %v (tol %g)", k, i, g, want[i], tol)
				}
			}
		}
		if got != gotS {
			t.Fatalf("k=%d: packed and strided kernels differ", k)
		}
	}
}
