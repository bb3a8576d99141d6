package f64

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naive4x8 is the definition: c[8r+j] += Σ_l a[4l+r]·b(l, j), b(l, j) = b0[4l+j] for j < 4 and
// b1[4l+j−4] otherwise.
func naive4x8(a, b0, b1 []float64, c *[32]float64) {
	for r := 0; r < Width; r++ {
		for j := 0; j < 2*Width; j++ {
			var s float64
			for l := 0; l < len(a)/Width; l++ {
				b := b0[Width*l+j%Width]
				if j >= Width {
					b = b1[Width*l+j-Width]
				}
				s += a[Width*l+r] * b
			}
			c[8*r+j] += s
		}
	}
}

// TestKernel4x8 checks the dispatched kernel (the assembly one on amd64 with AVX2) and the portable
// one against the definition, for every reduction length 0–67 (the assembly unrolls by 2), with b0
// and b1 longer than a (only len(a) counts) and a tile that already holds values (the kernel adds).
func TestKernel4x8(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for L := 0; L <= 67; L++ {
		a := make([]float64, Width*L)
		b0 := make([]float64, Width*(L+3))
		b1 := make([]float64, Width*(L+3))
		for _, v := range [][]float64{a, b0, b1} {
			for i := range v {
				v[i] = rng.NormFloat64()
			}
		}
		var start [32]float64
		for i := range start {
			start[i] = rng.NormFloat64()
		}
		want := start
		naive4x8(a, b0, b1, &want)
		for name, k := range map[string]func(a, b0, b1 []float64, c *[32]float64){"Kernel4x8": Kernel4x8, "Kernel4x8Go": Kernel4x8Go} {
			got := start
			k(a, b0, b1, &got)
			for i := range got {
				// Summation order and FMA differ from the definition's: a few ulps of Σ|a·b|.
				var scale float64
				for l := 0; l < L; l++ {
					r, j := i/8, i%8
					b := b0[Width*l+j%Width]
					if j >= Width {
						b = b1[Width*l+j-Width]
					}
					scale += math.Abs(a[Width*l+r] * b)
				}
				if d := math.Abs(got[i] - want[i]); d > 1e-14*(scale+math.Abs(start[i])) {
					t.Fatalf("%s, L=%d: c[%d] = %v, want %v", name, L, i, got[i], want[i])
				}
			}
		}
	}
}
