package f64

import "math"

// Exp sets x[i] = exp(x[i]) for every element: 4 at a time with AVX2 and FMA where the CPU has
// them (within 2 ulps of math.Exp, TestExp), with math.Exp otherwise. Results below 2.4e−308
// (x < −708.3, next to the smallest normal float64) are 0 on either path, not subnormal: a
// subnormal costs the AVX2 kernel a microcode assist per element. A value does not depend on its
// position in x: the last len(x) mod 4 elements go through the same kernel, padded.
func Exp(x []float64) {
	n4 := len(x) &^ 3
	expBlocks(x[:n4])
	if n4 < len(x) {
		var buf [4]float64
		copy(buf[:], x[n4:])
		expBlocks(buf[:])
		copy(x[n4:], buf[:])
	}
}

// expLow is the argument below which Exp gives 0.
const expLow = -708.3

// expGo is the portable Exp: math.Exp on every element, 0 below expLow. Above 709 it is
// e·exp(x−1): math.Exp's amd64 assembly overflows to +Inf from about 709.4, short of the
// overflow threshold 709.78 (golang/go#14932 discusses its documented looseness there).
func expGo(x []float64) {
	for i, v := range x {
		switch {
		case v < expLow:
			x[i] = 0
		case v > 709:
			x[i] = math.E * math.Exp(v-1)
		default:
			x[i] = math.Exp(v)
		}
	}
}
