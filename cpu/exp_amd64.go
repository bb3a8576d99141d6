//go:build !noasm && !purego

package cpu

import "math"

// expConsts are exp8AVX2's constants (see its comment), then +Inf.
var expConsts = [13]float32{
	math.Log2E, 0.693359375, -2.12194440e-4,
	1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1,
	88.72, -87.33, float32(math.Inf(1)),
}

//go:noescape
func exp8AVX2(out, x []float32, c *[13]float32)

// exp32 writes out[i] = e^x[i]; it reports false when there is no vector kernel. The last
// len(out) mod 8 elements go through the vector kernel too, padded, so that an element's result
// does not depend on its position (a member's slice of an ensemble's tensor gives the same values
// as the whole tensor: TestExp32PositionIndependent).
func exp32(out, x []float32) bool {
	if !useAVX2 {
		return false
	}
	n := len(out) &^ 7
	x = x[:len(out)]
	if n > 0 {
		exp8AVX2(out[:n], x[:n], &expConsts)
	}
	if len(out) > n {
		var xb, ob [8]float32
		copy(xb[:], x[n:])
		exp8AVX2(ob[:], xb[:], &expConsts)
		copy(out[n:], ob[:])
	}
	return true
}

//go:noescape
func erfArg8AVX2(arg, t, x []float32, c *[12]float32)

//go:noescape
func erfFinish8AVX2(out, t, e, x []float32)
