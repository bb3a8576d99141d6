package cpu

import "math"

// erf32 writes out[i] = erf(x[i]) in float32 from the Chebyshev-fitted erfc of Press et al.,
// Numerical Recipes in C, 2nd ed., §6.2 (erfcc): erfc(z) ≈ t·exp(-z² + P(t)), t = 1/(1 + z/2), z ≥ 0,
// with fractional error below 1.2e-7 everywhere; erf(x) = ±(1 - erfc(|x|)). The exponential is
// exp32's vector kernel. It reports false when there is no vector exp (the caller then uses
// math.Erf). Absolute error: below 5e-7 (TestErf32Accuracy; relative error is therefore
// larger near 0, which GELU, x·(1+erf(x/√2))/2, does not feel).
func erf32(out, x []float32) bool {
	if !useAVX2 {
		return false
	}
	x = x[:len(out)]
	var tb [256]float32
	for i0 := 0; i0 < len(out); i0 += len(tb) {
		n := min(len(tb), len(out)-i0)
		o, xs, ts := out[i0:i0+n], x[i0:i0+n], tb[:n]
		for i, v := range xs {
			z := float32(math.Abs(float64(v)))
			t := 1 / (1 + 0.5*z)
			ts[i] = t
			o[i] = -z*z - 1.26551223 + t*(1.00002368+t*(0.37409196+t*(0.09678418+
				t*(-0.18628806+t*(0.27886807+t*(-1.13520398+t*(1.48851587+
					t*(-0.82215223+t*0.17087277))))))))
		}
		exp32(o, o)
		for i, v := range xs {
			c := ts[i] * o[i] // erfc(|x|)
			if v >= 0 {
				o[i] = 1 - c
			} else if v < 0 {
				o[i] = c - 1
			} else {
				o[i] = v // NaN
			}
		}
	}
	return true
}
