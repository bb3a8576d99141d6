//go:build !noasm && !purego

package cpu

// erfConsts are P's coefficients, constant term first, then 1/2 and 1.
var erfConsts = [12]float32{-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807,
	-1.13520398, 1.48851587, -0.82215223, 0.17087277, 0.5, 1}

// erf32 writes out[i] = erf(x[i]) in float32 from the Chebyshev-fitted erfc of Press et al.,
// Numerical Recipes in C, 2nd ed., §6.2 (erfcc): erfc(z) ≈ t·exp(-z² + P(t)), t = 1/(1 + z/2), z ≥ 0,
// with fractional error below 1.2e-7 everywhere; erf(x) = ±(1 - erfc(|x|)). t, the polynomial and the result
// are computed 8 lanes at a time (erfArg8AVX2, erfFinish8AVX2), the exponential by exp32. It reports false when there is no vector exp (the caller then uses
// math.Erf). Absolute error: below 5e-7 (TestErf32Accuracy; relative error is therefore
// larger near 0, which GELU, x·(1+erf(x/√2))/2, does not feel).
func erf32(out, x []float32) bool {
	if !useAVX2 {
		return false
	}
	x = x[:len(out)]
	var tb, eb [256]float32
	n8 := len(out) &^ 7
	for i0 := 0; i0 < n8; i0 += len(tb) {
		n := min(len(tb), n8-i0)
		o, xs := out[i0:i0+n], x[i0:i0+n]
		erfArg8AVX2(eb[:n], tb[:n], xs, &erfConsts)
		exp32(eb[:n], eb[:n])
		erfFinish8AVX2(o, tb[:n], eb[:n], xs)
	}
	if len(out) > n8 { // the tail through the same kernels, padded (see exp32)
		var xb, tb8, eb8, ob [8]float32
		copy(xb[:], x[n8:])
		erfArg8AVX2(eb8[:], tb8[:], xb[:], &erfConsts)
		exp32(eb8[:], eb8[:])
		erfFinish8AVX2(ob[:], tb8[:], eb8[:], xb[:])
		copy(out[n8:], ob[:])
	}
	return true
}
